"""The latent critic V_psi(h, z) of InferenceGuard, trained on roll-outs of the frozen model.

Targets are the Sauté augmented return of each roll-out (r(x, y) if z_T >= 0 else -n), and the
inputs are the model's last hidden state h and the remaining budget z at every chunk boundary
where the search would ask the critic (row not ended, z >= 0, not the last chunk). Regression
by mean squared error; the roll-outs are split *by roll-out* into training and held-out parts so
the held-out loss measures generalisation to new responses.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from saddlepoint.config import check_positive, check_positive_int
from saddlepoint.decoding.engine import torch_generator_from
from saddlepoint.decoding.guard import ChunkSampler, TextScorer
from saddlepoint.decoding.safety import augmented_reward, is_safe, safety_step
from saddlepoint.errors import InvalidInputError
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
    group: np.ndarray
    """(n,) roll-out index (for splitting by roll-out)."""
    unsafe_rate: float
    """Share of roll-outs that ended with z_T < 0."""


def collect_rollouts(policy: Any, tokenizer: Any, prompts: Sequence[torch.Tensor],
                     reward_fn: TextScorer | Sequence[TextScorer], cost_fn: TextScorer, *, samples_per_prompt: int,
                     chunk_tokens: int, max_new_tokens: int, budget: float, penalty: float, rng: np.random.Generator,
                     discount: float = 1.0, temperature: float = 1.0, show_progress: bool | None = None) -> RolloutData:
    """``samples_per_prompt`` plain roll-outs of D = ``max_new_tokens`` tokens per prompt, with
    the safety state tracked per chunk of ``chunk_tokens`` exactly as the search tracks it.
    ``reward_fn`` is one scorer for every prompt or a sequence of one scorer per prompt (for
    prompt-dependent rewards such as relevance)."""
    check_positive_int("samples_per_prompt", samples_per_prompt)
    check_positive_int("chunk_tokens", chunk_tokens)
    check_positive_int("max_new_tokens", max_new_tokens)
    if not prompts:
        raise InvalidInputError("collect_rollouts needs at least one prompt")
    rewards = list(reward_fn) if isinstance(reward_fn, Sequence) else [reward_fn] * len(prompts)
    if len(rewards) != len(prompts):
        raise InvalidInputError(f"reward_fn has {len(rewards)} scorers for {len(prompts)} prompts")
    sampler = ChunkSampler(policy, tokenizer, temperature)
    gen = torch_generator_from(rng)
    hs, zs, ts, gs, unsafe = [], [], [], [], []
    for i, prompt in enumerate(progress(prompts, desc="critic roll-outs", enabled=show_progress)):
        ids = torch.as_tensor(prompt).long().view(1, -1)
        rows = sampler.start(ids)
        parents = torch.zeros(samples_per_prompt, dtype=torch.long)
        z, cost = np.full(samples_per_prompt, float(budget)), np.zeros(samples_per_prompt)
        t, points = 0, []
        while t < max_new_tokens:
            steps = min(chunk_tokens, max_new_tokens - t)
            rows = sampler.grow(rows, parents, steps, gen)
            parents = torch.arange(samples_per_prompt)
            c_new = np.maximum(np.asarray(cost_fn(sampler.texts(rows, ids.shape[1])), dtype=float), cost)
            z, cost = safety_step(z, c_new - cost, discount), c_new
            t += steps
            if t < max_new_tokens:
                ask = ~rows.finished.numpy() & is_safe(z)
                points.append((rows.hidden[ask], z[ask], np.flatnonzero(ask)))
        target = augmented_reward(rewards[i](sampler.texts(rows, ids.shape[1])), z, penalty)
        unsafe.append(~is_safe(z))
        for h, zz, idx in points:
            hs.append(h)
            zs.append(zz)
            ts.append(target[idx])
            gs.append(i * samples_per_prompt + idx)
    return RolloutData(torch.cat(hs).float(), np.concatenate(zs), np.concatenate(ts), np.concatenate(gs),
                       float(np.mean(np.concatenate(unsafe))))


@dataclass(frozen=True)
class CriticConfig:
    """Critic network and training settings."""

    hidden_units: int = 64
    """Width of the two hidden layers of the MLP."""
    epochs: int = 60
    """Passes over the training pairs."""
    batch_size: int = 256
    """Minibatch size."""
    lr: float = 3e-3
    """Adam learning rate."""
    weight_decay: float = 1e-4
    """AdamW weight decay."""
    holdout: float = 0.2
    """Share of roll-outs held out to measure generalisation."""

    def __post_init__(self) -> None:
        check_positive_int("hidden_units", self.hidden_units)
        check_positive_int("epochs", self.epochs)
        check_positive_int("batch_size", self.batch_size)
        check_positive("lr", self.lr)
        check_positive("weight_decay", self.weight_decay, allow_zero=True)
        if not 0 < self.holdout < 1:
            raise InvalidInputError(f"holdout must be in (0, 1), got {self.holdout}")


class LatentCritic(torch.nn.Module):
    """V_psi(h, z): an MLP on the standardised hidden state and the remaining budget."""

    def __init__(self, dim: int, hidden_units: int, mean: torch.Tensor, scale: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("mean", mean.float())
        self.register_buffer("scale", scale.float())
        self.net = torch.nn.Sequential(torch.nn.Linear(dim + 1, hidden_units), torch.nn.Tanh(),
                                       torch.nn.Linear(hidden_units, hidden_units), torch.nn.Tanh(),
                                       torch.nn.Linear(hidden_units, 1))

    def forward(self, hidden: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        x = torch.cat([(hidden.float() - self.mean) / self.scale, z.float()[:, None]], dim=1)
        return self.net(x).squeeze(1)

    def predict(self, hidden: torch.Tensor, z: np.ndarray) -> np.ndarray:
        """Values (N,) for ``hidden`` (N, d) and ``z`` (N,)."""
        with torch.no_grad():
            return self(hidden.to(self.mean.device), torch.as_tensor(np.asarray(z, dtype=np.float32))).cpu().numpy()


def _mse(critic: LatentCritic, h: torch.Tensor, z: torch.Tensor, y: torch.Tensor) -> float:
    with torch.no_grad():
        return float(torch.mean((critic(h, z) - y) ** 2))


def train_critic(data: RolloutData, config: CriticConfig, rng: np.random.Generator) -> tuple[LatentCritic, dict]:
    """Fit V_psi by MSE on a roll-out split; returns the critic and a history with the training
    losses per epoch, the held-out loss before and after training, and the held-out loss of
    predicting the training mean (a constant baseline)."""
    groups = np.unique(data.group)
    if groups.size < 2:
        raise InvalidInputError("train_critic needs at least two roll-outs")
    held = rng.permutation(groups)[: max(1, round(config.holdout * groups.size))]
    is_held = np.isin(data.group, held)
    tr, ho = np.flatnonzero(~is_held), np.flatnonzero(is_held)
    if tr.size == 0 or ho.size == 0:
        raise InvalidInputError("train_critic needs training and held-out pairs")
    h, z, y = data.hidden, torch.as_tensor(data.z, dtype=torch.float32), torch.as_tensor(data.target, dtype=torch.float32)
    gen = torch_generator_from(rng)
    htr = h[tr]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(torch.randint(0, 2**62, (1,), generator=gen)))
        critic = LatentCritic(h.shape[1], config.hidden_units, htr.mean(0), htr.std(0) + 1e-6)
    opt = torch.optim.AdamW(critic.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    tr_t, ho_t = torch.as_tensor(tr), torch.as_tensor(ho)
    initial = _mse(critic, h[ho_t], z[ho_t], y[ho_t])
    constant = float(torch.mean((y[ho_t] - y[tr_t].mean()) ** 2))
    losses = []
    for _ in range(config.epochs):
        order = tr_t[torch.randperm(tr.size, generator=gen)]
        total = 0.0
        for b in range(0, tr.size, config.batch_size):
            idx = order[b:b + config.batch_size]
            loss = torch.mean((critic(h[idx], z[idx]) - y[idx]) ** 2)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach()) * idx.numel()
        losses.append(total / tr.size)
    critic.eval()
    history = {"train_loss": losses, "heldout_loss_initial": initial, "heldout_loss": _mse(critic, h[ho_t], z[ho_t], y[ho_t]),
               "heldout_loss_constant": constant, "pairs": int(y.numel()), "train_pairs": int(tr.size),
               "heldout_pairs": int(ho.size), "unsafe_rate": data.unsafe_rate}
    return critic, history
