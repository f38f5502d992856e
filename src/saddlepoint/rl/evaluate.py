"""Evaluate any policy on a set of maze levels: success rate, mean return, episode length.

A policy is anything with ``act(obs, rng) -> actions``: obs ``(B, *obs_shape)`` as the vector
env returns it, ``rng`` a ``numpy.random.Generator`` for stochastic policies, actions ``(B,)``
int. :class:`GreedyPolicy` and :class:`SampledPolicy` wrap a torch network whose output is one
logit (or Q-value) per action.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from saddlepoint.errors import InvalidInputError


class Policy(Protocol):
    def act(self, obs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """obs (B, *obs_shape) -> actions (B,) int."""


class GreedyPolicy:
    """argmax of a network's per-action output (BC logits, CQL Q-values, PPO logits)."""

    def __init__(self, network, head=None):
        self.network = network
        self.head = head if head is not None else (lambda out: out[0] if isinstance(out, tuple) else out)

    def act(self, obs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        import torch

        with torch.no_grad():
            out = self.head(self.network(torch.from_numpy(np.asarray(obs))))
        return out.argmax(1).numpy()


class SampledPolicy(GreedyPolicy):
    """Samples from softmax of a network's logits with the caller's NumPy generator."""

    def act(self, obs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        import torch

        with torch.no_grad():
            logits = self.head(self.network(torch.from_numpy(np.asarray(obs)))).double().numpy()
        p = np.exp(logits - logits.max(1, keepdims=True))
        cdf = np.cumsum(p / p.sum(1, keepdims=True), axis=1)
        return np.minimum((rng.random((len(cdf), 1)) > cdf).sum(1), cdf.shape[1] - 1)


class RandomPolicy:
    """Uniform over the four moves."""

    def act(self, obs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return rng.integers(0, 4, size=len(obs))


@dataclass(frozen=True)
class EvalResult:
    """Outcome of one episode per (level, repeat): arrays are (n_levels * episodes_per_level,)."""

    success: np.ndarray
    returns: np.ndarray
    lengths: np.ndarray

    @property
    def success_rate(self) -> float:
        return float(self.success.mean())

    @property
    def success_se(self) -> float:
        """Binomial standard error of the success rate."""
        p = self.success_rate
        return math.sqrt(p * (1 - p) / len(self.success))

    @property
    def mean_return(self) -> float:
        return float(self.returns.mean())

    @property
    def mean_length(self) -> float:
        return float(self.lengths.mean())

    def as_dict(self) -> dict[str, float]:
        return {"success_rate": self.success_rate, "success_se": self.success_se,
                "mean_return": self.mean_return, "mean_length": self.mean_length}


def evaluate_policy(policy: Policy, levels: Sequence, *, episodes_per_level: int = 1, max_steps: int = 64,
                    obs_mode: str = "symbolic", seed: int = 0, batch_size: int = 1024) -> EvalResult:
    """Play ``episodes_per_level`` episodes on every level (in order) and record the first episode per slot.

    ``seed`` seeds the env and the generator passed to ``policy.act``; the same seed gives the same
    result. Levels are played in batches of at most ``batch_size`` slots.
    """
    from saddlepoint.envs.vector import MazeVectorEnv

    levels = list(levels)
    if not levels:
        raise InvalidInputError("evaluate_policy needs at least one level")
    if episodes_per_level < 1:
        raise InvalidInputError(f"episodes_per_level must be >= 1, got {episodes_per_level}")
    jobs = [lv for lv in levels for _ in range(episodes_per_level)]
    rng = np.random.default_rng(seed)
    success, returns, lengths = [], [], []
    for start in range(0, len(jobs), batch_size):
        chunk = jobs[start:start + batch_size]
        b = len(chunk)
        env = MazeVectorEnv(chunk, num_envs=b, max_steps=max_steps, obs_mode=obs_mode,
                            seed=int(rng.integers(2**31)))
        env.reset(seed=int(rng.integers(2**31)))
        obs = env.set_levels(np.arange(b), chunk)
        done = np.zeros(b, bool)
        ret = np.zeros(b, np.float32)
        length = np.zeros(b, np.int64)
        succ = np.zeros(b, bool)
        t = 0
        while not done.all():
            obs, reward, term, trunc, _ = env.step(np.asarray(policy.act(obs, rng), dtype=np.int64))
            t += 1
            live = ~done
            ret[live] += reward[live]
            finished = live & (term | trunc)
            length[finished] = t
            succ[finished] = term[finished]
            done |= finished
            if t > max_steps + 1:
                raise RuntimeError("environment did not truncate at max_steps")
        success.append(succ)
        returns.append(ret)
        lengths.append(length)
    return EvalResult(np.concatenate(success), np.concatenate(returns), np.concatenate(lengths))
