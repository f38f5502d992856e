"""The latent critic V_psi(h, z) of InferenceGuard, trained on roll-outs of the frozen model.

The inputs are the model's last hidden state h and the remaining budget z at every chunk
boundary where the search would ask the critic (row not ended, z >= 0, not the last chunk).
Two heads on one trunk: a safety head P(z_T >= 0 | h, z) (cross-entropy on whether the roll-out
ended safe) and a reward head E[r | h, z, safe] (squared error on the safe roll-outs' final
reward). The critic's value is the expected Sauté augmented return,
``P(safe) * E[r | safe] - (1 - P(safe)) * n``, the scale on which the search scores finished
rows exactly (r if z_T >= 0 else -n), so live and finished rows are compared on one scale.

The roll-outs are split *by roll-out* into training, validation (early stopping: the epoch with
the lowest validation error of the value is kept) and held-out parts; the held-out error, never
used in training or stopping, measures generalisation to new responses.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from saddlepoint.config import check_positive, check_positive_int
from saddlepoint.decoding.guard import ChunkSampler, TextScorer
from saddlepoint.decoding.safety import augmented_reward, is_safe, safety_step
from saddlepoint.errors import InvalidInputError
from saddlepoint.lm.sampling import torch_generator_from
from saddlepoint.progress import progress

__all__ = ["CriticConfig", "LatentCritic", "RolloutData", "collect_rollouts", "train_critic"]


@dataclass(frozen=True)
class RolloutData:
    """Critic training pairs."""

    hidden: torch.Tensor
    """(n, d) hidden state at a chunk boundary."""
    z: np.ndarray
    """(n,) remaining budget there."""
    target: np.ndarray
    """(n,) augmented return of the roll-out it belongs to."""
    reward: np.ndarray
    """(n,) final reward of that roll-out."""
    safe: np.ndarray
    """(n,) whether that roll-out ended with z_T >= 0 (bool)."""
    group: np.ndarray
    """(n,) roll-out index (for splitting by roll-out)."""
    unsafe_rate: float
    """Share of roll-outs that ended with z_T < 0."""


def collect_rollouts(policy: Any, tokenizer: Any, prompts: Sequence[torch.Tensor],
                     reward_fn: TextScorer | Sequence[TextScorer], cost_fn: TextScorer, *, samples_per_prompt: int,
                     block_size: int, max_new_tokens: int, budget: float, penalty: float, rng: np.random.Generator,
                     discount: float = 1.0, temperature: float = 1.0, show_progress: bool | None = None) -> RolloutData:
    """``samples_per_prompt`` plain roll-outs of D = ``max_new_tokens`` tokens per prompt, with
    the safety state tracked per chunk of ``block_size`` exactly as the search tracks it.
    ``reward_fn`` is one scorer for every prompt or a sequence of one scorer per prompt (for
    prompt-dependent rewards such as relevance)."""
    check_positive_int("samples_per_prompt", samples_per_prompt)
    check_positive_int("block_size", block_size)
    check_positive_int("max_new_tokens", max_new_tokens)
    if not prompts:
        raise InvalidInputError("collect_rollouts needs at least one prompt")
    rewards = list(reward_fn) if isinstance(reward_fn, Sequence) else [reward_fn] * len(prompts)
    if len(rewards) != len(prompts):
        raise InvalidInputError(f"reward_fn has {len(rewards)} scorers for {len(prompts)} prompts")
    sampler = ChunkSampler(policy, tokenizer, temperature)
    gen = torch_generator_from(rng)
    hs, zs, ts, rs, ss, gs, unsafe = [], [], [], [], [], [], []
    for i, prompt in enumerate(progress(prompts, desc="critic roll-outs", enabled=show_progress)):
        ids = torch.as_tensor(prompt).long().view(1, -1)
        rows = sampler.start(ids)
        parents = torch.zeros(samples_per_prompt, dtype=torch.long)
        z, cost = np.full(samples_per_prompt, float(budget)), np.zeros(samples_per_prompt)
        t, points = 0, []
        while t < max_new_tokens:
            steps = min(block_size, max_new_tokens - t)
            rows = sampler.grow(rows, parents, steps, gen)
            parents = torch.arange(samples_per_prompt)
            c_new = np.maximum(np.asarray(cost_fn(sampler.texts(rows, ids.shape[1])), dtype=float), cost)
            z, cost = safety_step(z, c_new - cost, discount), c_new
            t += steps
            if t < max_new_tokens:
                ask = ~rows.finished.numpy() & is_safe(z)
                points.append((rows.hidden[ask], z[ask], np.flatnonzero(ask)))
        final = np.asarray(rewards[i](sampler.texts(rows, ids.shape[1])), dtype=float)
        target = augmented_reward(final, z, penalty)
        unsafe.append(~is_safe(z))
        for h, zz, idx in points:
            hs.append(h)
            zs.append(zz)
            ts.append(target[idx])
            rs.append(final[idx])
            ss.append(is_safe(z)[idx])
            gs.append(i * samples_per_prompt + idx)
    return RolloutData(torch.cat(hs).float(), np.concatenate(zs), np.concatenate(ts), np.concatenate(rs),
                       np.concatenate(ss).astype(bool), np.concatenate(gs), float(np.mean(np.concatenate(unsafe))))


@dataclass(frozen=True)
class CriticConfig:
    """Critic network and training settings."""

    hidden_units: int = 64
    """Width of the two hidden layers of the MLP."""
    epochs: int = 60
    """At most this many passes over the training pairs (early stopping may end sooner)."""
    batch_size: int = 256
    """Minibatch size."""
    lr: float = 3e-3
    """Adam learning rate."""
    weight_decay: float = 1e-4
    """AdamW weight decay."""
    holdout: float = 0.2
    """Share of roll-outs held out to measure generalisation (never trained or stopped on)."""
    validation: float = 0.2
    """Share of the other roll-outs used for early stopping."""
    patience: int = 10
    """Stop after this many epochs without a lower validation error (the best epoch is kept)."""
    penalty: float = 10.0
    """n: the value of an unsafe ending, -n (the search's penalty)."""

    def __post_init__(self) -> None:
        check_positive_int("hidden_units", self.hidden_units)
        check_positive_int("epochs", self.epochs)
        check_positive_int("batch_size", self.batch_size)
        check_positive("lr", self.lr)
        check_positive("weight_decay", self.weight_decay, allow_zero=True)
        for name in ("holdout", "validation"):
            if not 0 < getattr(self, name) < 1:
                raise InvalidInputError(f"{name} must be in (0, 1), got {getattr(self, name)}")
        check_positive_int("patience", self.patience)
        check_positive("penalty", self.penalty)


class LatentCritic(torch.nn.Module):
    """V_psi(h, z) = P(safe) * E[r | safe] - (1 - P(safe)) * n: a trunk MLP on the standardised
    hidden state and the remaining budget, a safety head (logit of P(safe)) and a reward head."""

    def __init__(self, dim: int, hidden_units: int, mean: torch.Tensor, scale: torch.Tensor, penalty: float) -> None:
        super().__init__()
        self.register_buffer("mean", mean.float())
        self.register_buffer("scale", scale.float())
        self.penalty = float(penalty)
        self.trunk = torch.nn.Sequential(torch.nn.Linear(dim + 1, hidden_units), torch.nn.Tanh(),
                                         torch.nn.Linear(hidden_units, hidden_units), torch.nn.Tanh())
        self.safety_head = torch.nn.Linear(hidden_units, 1)
        self.reward_head = torch.nn.Linear(hidden_units, 1)

    def heads(self, hidden: torch.Tensor, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(safety logit, reward given safe), each (N,)."""
        x = torch.cat([(hidden.float() - self.mean) / self.scale, z.float()[:, None]], dim=1)
        t = self.trunk(x)
        return self.safety_head(t).squeeze(1), self.reward_head(t).squeeze(1)

    def forward(self, hidden: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        logit, reward = self.heads(hidden, z)
        p = torch.sigmoid(logit)
        return p * reward - (1 - p) * self.penalty

    def predict(self, hidden: torch.Tensor, z: np.ndarray) -> np.ndarray:
        """Values (N,) for ``hidden`` (N, d) and ``z`` (N,)."""
        with torch.no_grad():
            return self(hidden.to(self.mean.device), torch.as_tensor(np.asarray(z, dtype=np.float32))).cpu().numpy()


def _mse(critic: LatentCritic, h: torch.Tensor, z: torch.Tensor, y: torch.Tensor) -> float:
    with torch.no_grad():
        return float(torch.mean((critic(h, z) - y) ** 2))


def _split(data: RolloutData, config: CriticConfig, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """Pair indices of the training, validation and held-out roll-outs."""
    groups = np.unique(data.group)
    if groups.size < 3:
        raise InvalidInputError("train_critic needs at least three roll-outs (train, validation, held out)")
    order = rng.permutation(groups)
    n_ho = max(1, round(config.holdout * groups.size))
    n_val = max(1, round(config.validation * (groups.size - n_ho)))
    held, val = order[:n_ho], order[n_ho:n_ho + n_val]
    parts = (np.flatnonzero(~np.isin(data.group, np.r_[held, val])), np.flatnonzero(np.isin(data.group, val)),
             np.flatnonzero(np.isin(data.group, held)))
    if any(p.size == 0 for p in parts):
        raise InvalidInputError("train_critic needs training, validation and held-out pairs")
    return parts


def train_critic(data: RolloutData, config: CriticConfig, rng: np.random.Generator) -> tuple[LatentCritic, dict]:
    """Fit the two heads (cross-entropy for safety, squared error on safe roll-outs for reward)
    with early stopping on the validation roll-outs; returns the critic (its best epoch) and a
    history: training losses per epoch, the validation error per epoch, the best epoch, and the
    held-out error of the value before and after training and of predicting the training mean
    (a constant baseline)."""
    tr, va, ho = _split(data, config, rng)
    h, z, y = data.hidden, torch.as_tensor(data.z, dtype=torch.float32), torch.as_tensor(data.target, dtype=torch.float32)
    r = torch.as_tensor(data.reward, dtype=torch.float32)
    safe = torch.as_tensor(data.safe, dtype=torch.float32)
    gen = torch_generator_from(rng)
    htr = h[tr]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(torch.randint(0, 2**62, (1,), generator=gen)))
        critic = LatentCritic(h.shape[1], config.hidden_units, htr.mean(0), htr.std(0) + 1e-6, config.penalty)
    opt = torch.optim.AdamW(critic.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    tr_t, va_t, ho_t = torch.as_tensor(tr), torch.as_tensor(va), torch.as_tensor(ho)
    initial = _mse(critic, h[ho_t], z[ho_t], y[ho_t])
    constant = float(torch.mean((y[ho_t] - y[tr_t].mean()) ** 2))
    losses, val_losses = [], []
    best, best_state = np.inf, copy.deepcopy(critic.state_dict())
    for _ in range(config.epochs):
        critic.train()
        order = tr_t[torch.randperm(tr.size, generator=gen)]
        total = 0.0
        for b in range(0, tr.size, config.batch_size):
            idx = order[b:b + config.batch_size]
            logit, rhat = critic.heads(h[idx], z[idx])
            loss = torch.nn.functional.binary_cross_entropy_with_logits(logit, safe[idx])
            mask = safe[idx] > 0
            if bool(mask.any()):
                loss = loss + torch.mean((rhat[mask] - r[idx][mask]) ** 2)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach()) * idx.numel()
        losses.append(total / tr.size)
        critic.eval()
        val_losses.append(_mse(critic, h[va_t], z[va_t], y[va_t]))
        if val_losses[-1] < best:
            best, best_state = val_losses[-1], copy.deepcopy(critic.state_dict())
        elif len(val_losses) - 1 - int(np.argmin(val_losses)) >= config.patience:
            break
    critic.load_state_dict(best_state)
    critic.eval()
    history = {"train_loss": losses, "val_loss": val_losses, "best_epoch": int(np.argmin(val_losses)) + 1,
               "epochs_run": len(val_losses), "heldout_loss_initial": initial,
               "heldout_loss": _mse(critic, h[ho_t], z[ho_t], y[ho_t]), "heldout_loss_constant": constant,
               "pairs": int(y.numel()), "train_pairs": int(tr.size), "val_pairs": int(va.size),
               "heldout_pairs": int(ho.size), "unsafe_rate": data.unsafe_rate}
    return critic, history
