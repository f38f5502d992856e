"""Value functions V_g(x, y + z): what scores a block's candidates.

* :class:`RewardValues` - the rewards of the text so far (exact for best-of-N, whose block is
  the whole response; a cheap proxy mid-response).
* :class:`MonteCarloValues` - the mean final reward of ``n`` roll-outs from pi_ref (an unbiased
  estimate of the true value; costs n roll-outs per candidate, counted in the policy's tokens).
* :class:`ValueHeads` + :class:`HeadValues` - the paper's learned values: one small head with G
  outputs on the reference model's last hidden state, trained by Monte-Carlo regression of
  the final rewards onto *every* prefix of sampled responses (:func:`train_value_heads`),
  saved and reloaded with :meth:`ValueHeads.save` / :meth:`ValueHeads.load`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from saddlepoint.config import check_positive, check_positive_int
from saddlepoint.decoding.engine import (
    Candidates,
    eos_ids,
    extend_rows,
    response_texts,
)
from saddlepoint.decoding.objectives import RewardModel
from saddlepoint.decoding.policy import CausalPolicy
from saddlepoint.errors import InvalidInputError
from saddlepoint.lm.sampling import torch_generator_from
from saddlepoint.progress import progress

__all__ = ["RewardValues", "MonteCarloValues", "ValueHeads", "HeadValues", "ValueTrainingConfig",
           "train_value_heads", "score", "sample_reference", "scale_from_scores", "reference_scale"]


def score(rewards: Sequence[RewardModel], texts: Sequence[str]) -> np.ndarray:
    """(N, G) matrix of the G rewards of N texts."""
    return np.stack([np.asarray(r(list(texts)), dtype=float) for r in rewards], axis=1)


def sample_reference(policy: Any, tokenizer: Any, prompts: Sequence[torch.Tensor], samples_per_prompt: int,
                     max_new_tokens: int, rng: np.random.Generator, temperature: float = 1.0) -> list[str]:
    """``samples_per_prompt`` responses of ``policy`` (pi_ref, or an expert) to each prompt, in prompt order."""
    from saddlepoint.decoding.engine import BlockwiseDecoder, DecodeConfig
    from saddlepoint.decoding.rules import ReferenceRule

    check_positive_int("samples_per_prompt", samples_per_prompt)
    sampler = BlockwiseDecoder(policy, tokenizer, ReferenceRule(),
                               DecodeConfig(1, max_new_tokens, max_new_tokens, temperature=temperature))
    return [sampler.decode(x, rng).text for x in prompts for _ in range(samples_per_prompt)]


def scale_from_scores(scores: np.ndarray, names: Sequence[str] = (), min_scale: float = 1e-6
                      ) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-objective (mean, s.d.) of an (N, G) score matrix: the ``value_scale`` that
    standardises the objectives (``(r - mean) / sd``) so that none dominates the min-max by scale.

    An objective whose s.d. is below ``min_scale`` cannot be standardised: InvalidInputError
    (named by ``names`` when given).
    """
    a = np.asarray(scores, dtype=float)
    if a.ndim != 2 or a.shape[0] < 2:
        raise InvalidInputError(f"scale_from_scores needs an (N, G) matrix with N >= 2, got shape {a.shape}")
    loc, sd = a.mean(axis=0), a.std(axis=0, ddof=1)
    flat = [names[g] if g < len(names) else str(g) for g in np.flatnonzero(~(sd >= min_scale))]
    if flat:
        raise InvalidInputError(f"objective(s) {', '.join(flat)} are constant under the reference samples "
                                f"(s.d. < {min_scale:g}); they cannot be standardised")
    return tuple(float(x) for x in loc), tuple(float(x) for x in sd)


def reference_scale(policy: Any, tokenizer: Any, prompts: Sequence[torch.Tensor], rewards: Sequence[RewardModel],
                    rng: np.random.Generator, samples_per_prompt: int = 8, max_new_tokens: int = 32,
                    temperature: float = 1.0) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Standardisation of the objectives under pi_ref: (mean, s.d.) of each reward over
    ``samples_per_prompt`` reference responses per prompt. Pass it as ``value_scale`` to the
    rules (``RobustRule``, ``FixedWeightsRule``, ``MaxMinRule``) and standardise final rewards
    with :func:`saddlepoint.decoding.rules.standardise` to read results on the same scale."""
    texts = sample_reference(policy, tokenizer, prompts, samples_per_prompt, max_new_tokens, rng, temperature)
    return scale_from_scores(score(rewards, texts), [r.name for r in rewards])


class RewardValues:
    """V_g = r_g(text so far)."""

    def __init__(self, rewards: Sequence[RewardModel]) -> None:
        if not rewards:
            raise InvalidInputError("RewardValues needs at least one reward")
        self.rewards = list(rewards)
        self.names = tuple(r.name for r in self.rewards)

    def __call__(self, candidates: Candidates) -> np.ndarray:
        return score(self.rewards, candidates.texts)


class MonteCarloValues:
    """V_g = mean of r_g over ``n_rollouts`` completions sampled from pi_ref to the end
    (finished candidates are scored as they are). The policy must be the decoder's reference
    policy object so that roll-out tokens are counted with the rest."""

    def __init__(self, policy: CausalPolicy, tokenizer: Any, rewards: Sequence[RewardModel], n_rollouts: int = 32,
                 temperature: float = 1.0) -> None:
        check_positive_int("n_rollouts", n_rollouts)
        self.policy, self.tokenizer, self.rewards, self.n, self.temperature = policy, tokenizer, list(rewards), n_rollouts, temperature
        self.names = tuple(r.name for r in self.rewards)
        self.eos = torch.tensor(eos_ids(tokenizer, policy.model))
        self.pad = int(tokenizer.pad_token_id if tokenizer.pad_token_id is not None else self.eos[0])

    def __call__(self, candidates: Candidates) -> np.ndarray:
        out = score(self.rewards, candidates.texts)
        todo = torch.nonzero(~candidates.finished).flatten()
        budget = candidates.max_new_tokens - int(candidates.lengths[todo].min()) if todo.numel() else 0
        if todo.numel() == 0 or budget <= 0:
            return out
        rows = todo.repeat_interleave(self.n)
        seqs = candidates.sequences[rows]
        state = self.policy.prefill(seqs)
        lengths = candidates.lengths[rows].clone()
        # Rows already at the length limit are treated as ended.
        done = lengths >= candidates.max_new_tokens
        grown = extend_rows(self.policy, state, done, lengths, state.hidden, budget, candidates.generator,
                            self.temperature, 0, self.eos, self.pad)
        # Respect each row's own limit: cut responses at max_new_tokens.
        full = torch.cat([seqs, grown.tokens], dim=1)
        texts = response_texts(self.tokenizer, full, candidates.prompt_length,
                               grown.lengths.clamp(max=candidates.max_new_tokens))
        rolled = score(self.rewards, texts).reshape(todo.numel(), self.n, len(self.rewards)).mean(axis=1)
        out[todo.numpy()] = rolled
        return out


class ValueHeads(torch.nn.Module):
    """G value heads on a d-dimensional hidden state: ``Linear(d, h) -> tanh -> Linear(h, G)``
    (``h = 0`` gives one linear layer). Input (N, d), output (N, G)."""

    def __init__(self, hidden_size: int, names: Sequence[str], width: int = 64) -> None:
        super().__init__()
        check_positive_int("hidden_size", hidden_size)
        check_positive_int("width", width, allow_zero=True)
        if not names:
            raise InvalidInputError("ValueHeads needs at least one objective name")
        self.names, self.hidden_size, self.width = tuple(names), hidden_size, width
        g = len(self.names)
        self.net = (torch.nn.Linear(hidden_size, g) if width == 0 else
                    torch.nn.Sequential(torch.nn.Linear(hidden_size, width), torch.nn.Tanh(), torch.nn.Linear(width, g)))

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        return self.net(hidden.float())

    def save(self, path: str | Path, base_model: str = "") -> Path:
        """Write ``heads.pt`` (weights) and ``heads.json`` (sizes, names, base model) in ``path``."""
        out = Path(path)
        out.mkdir(parents=True, exist_ok=True)
        torch.save(self.state_dict(), out / "heads.pt")
        meta = {"hidden_size": self.hidden_size, "names": list(self.names), "width": self.width, "base_model": base_model}
        (out / "heads.json").write_text(json.dumps(meta, indent=2) + "\n")
        return out

    @classmethod
    def load(cls, path: str | Path) -> ValueHeads:
        """Heads saved by :meth:`save` (in eval mode)."""
        p = Path(path)
        if not (p / "heads.json").is_file() or not (p / "heads.pt").is_file():
            raise InvalidInputError(f"{p} holds no saved value heads (heads.json and heads.pt)")
        meta = json.loads((p / "heads.json").read_text())
        heads = cls(int(meta["hidden_size"]), meta["names"], int(meta["width"]))
        heads.load_state_dict(torch.load(p / "heads.pt", map_location="cpu", weights_only=True))
        return heads.eval()


class HeadValues:
    """V = heads(h), h the reference model's hidden state at each candidate's last token (the
    engine supplies it; the heads must be trained on the same model)."""

    def __init__(self, heads: ValueHeads) -> None:
        self.heads = heads
        self.names = heads.names

    def __call__(self, candidates: Candidates) -> np.ndarray:
        with torch.no_grad():
            return self.heads(candidates.hidden).double().numpy()


@dataclass(frozen=True)
class ValueTrainingConfig:
    """Monte-Carlo regression of value heads."""

    samples_per_prompt: int = 8
    """Responses sampled from pi_ref per training prompt."""
    max_new_tokens: int = 32
    """Response length limit of the sampled responses (match the decoder's)."""
    epochs: int = 50
    """Passes over the (prefix, final reward) pairs."""
    batch_size: int = 256
    """Pairs per Adam step."""
    lr: float = 3e-3
    """Adam learning rate."""
    width: int = 64
    """Hidden width of the heads (0: linear)."""
    temperature: float = 1.0
    """Sampling temperature of pi_ref."""

    def __post_init__(self) -> None:
        for name in ("samples_per_prompt", "max_new_tokens", "epochs", "batch_size"):
            check_positive_int(name, getattr(self, name))
        check_positive("lr", self.lr)
        check_positive_int("width", self.width, allow_zero=True)
        check_positive("temperature", self.temperature)


def train_value_heads(model: Any, tokenizer: Any, prompts: Sequence[torch.Tensor], rewards: Sequence[RewardModel],
                      config: ValueTrainingConfig, rng: np.random.Generator,
                      show_progress: bool | None = None) -> tuple[ValueHeads, dict[str, Any]]:
    """Sample responses from pi_ref, label each with the G final rewards, and regress the heads'
    output at *every* response prefix (hidden state after each token) onto those rewards.

    ``prompts``: token-id tensors of shape (1, T) or (T,). Returns the heads and a history
    (``loss`` per epoch, ``pairs``, ``responses``, and the mean final reward).
    """
    if not prompts:
        raise InvalidInputError("train_value_heads needs at least one prompt")
    policy = CausalPolicy(model)
    eos = torch.tensor(eos_ids(tokenizer, model))
    pad = int(tokenizer.pad_token_id if tokenizer.pad_token_id is not None else eos[0])
    gen = torch_generator_from(rng)
    feats, targets, finals = [], [], []
    for prompt in progress(prompts, desc="value roll-outs", enabled=show_progress):
        ids = torch.as_tensor(prompt).long().view(1, -1).repeat(config.samples_per_prompt, 1)
        state = policy.prefill(ids)
        r = ids.shape[0]
        grown = extend_rows(policy, state, torch.zeros(r, dtype=torch.bool), torch.zeros(r, dtype=torch.long),
                            state.hidden, config.max_new_tokens, gen, config.temperature, 0, eos, pad)
        texts = response_texts(tokenizer, torch.cat([ids, grown.tokens], 1), ids.shape[1], grown.lengths)
        y = torch.tensor(score(rewards, texts), dtype=torch.float32)  # (r, G) final rewards
        finals.append(y)
        for h, active in zip(grown.step_hidden, grown.step_active):
            feats.append(h[active])
            targets.append(y[active])
    x, y = torch.cat(feats), torch.cat(targets)
    with torch.random.fork_rng(devices=[]):  # deterministic head initialisation, global state restored
        torch.manual_seed(int(rng.integers(0, 2**62)))
        heads = ValueHeads(x.shape[1], [rw.name for rw in rewards], config.width)
    opt = torch.optim.Adam(heads.parameters(), lr=config.lr)
    losses = []
    heads.train()
    for _ in range(config.epochs):
        perm = torch.randperm(x.shape[0], generator=gen)
        total = 0.0
        for start in range(0, x.shape[0], config.batch_size):
            idx = perm[start:start + config.batch_size]
            loss = torch.mean((heads(x[idx]) - y[idx]) ** 2)  # MC regression (squared error)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach()) * idx.numel()
        losses.append(total / x.shape[0])
    heads.eval()
    history = {"loss": losses, "pairs": int(x.shape[0]), "responses": int(sum(f.shape[0] for f in finals)),
               "mean_final_reward": torch.cat(finals).mean(0).tolist()}
    return heads, history
