"""Preference oracles: who wins between two responses to a prompt, as a probability.

:class:`PreferenceOracle` is the protocol the self-play trainer and the sample-based
experiments use: ``win_matrix(prompt, responses) -> (K, K)`` with entries P(y_i > y_j | x).
Adapters: :class:`MatrixOracle` (a tabular game: prompts and responses are indices),
:class:`CallableOracle` (any function ``f(prompt, a, b) -> P(a > b)``) and
:class:`BradleyTerryOracle` (sigma(beta (r(x, a) - r(x, b))) from a reward function).

Also the SPPO data step (RSPO notes, steps 2-3): win-rate estimates within a sample and the
winner/loser pair.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np
from scipy.special import expit

from saddlepoint.errors import InvalidInputError
from saddlepoint.preference.game import PreferenceGame

__all__ = [
    "BradleyTerryOracle",
    "CallableOracle",
    "MatrixOracle",
    "PreferenceOracle",
    "estimate_win_rates",
    "select_pair",
]


@runtime_checkable
class PreferenceOracle(Protocol):
    """Anything that can say how likely response ``a`` is preferred to ``b`` for a prompt."""

    def win_prob(self, prompt: Any, a: Any, b: Any) -> float:
        """P(a > b | prompt), in [0, 1], with win_prob(x, a, b) + win_prob(x, b, a) = 1."""
        ...

    def win_matrix(self, prompt: Any, responses: Sequence[Any]) -> np.ndarray:
        """``(K, K)`` matrix of P(y_i > y_j | prompt) for K responses (diagonal 1/2)."""
        ...


class _PairwiseOracle:
    """Builds ``win_matrix`` from ``win_prob``, one call per unordered pair."""

    def win_prob(self, prompt: Any, a: Any, b: Any) -> float:
        raise NotImplementedError

    def win_matrix(self, prompt: Any, responses: Sequence[Any]) -> np.ndarray:
        k = len(responses)
        out = np.full((k, k), 0.5)
        for i in range(k):
            for j in range(i + 1, k):
                p = float(self.win_prob(prompt, responses[i], responses[j]))
                if not 0.0 <= p <= 1.0:
                    raise InvalidInputError(f"oracle returned a win probability outside [0, 1]: {p}")
                out[i, j], out[j, i] = p, 1.0 - p
        return out


class MatrixOracle(_PairwiseOracle):
    """The exact oracle of a tabular :class:`PreferenceGame`: prompts and responses are indices."""

    def __init__(self, game: PreferenceGame) -> None:
        self.game = game

    def win_prob(self, prompt: int, a: int, b: int) -> float:
        return float(self.game.preferences[prompt, a, b])

    def win_matrix(self, prompt: int, responses: Sequence[int]) -> np.ndarray:
        idx = np.asarray(responses, dtype=int)
        return self.game.preferences[prompt][np.ix_(idx, idx)].copy()


class CallableOracle(_PairwiseOracle):
    """Wraps ``fn(prompt, a, b) -> P(a > b)``; only pairs i < j are queried, so P + P^T = 1."""

    def __init__(self, fn: Callable[[Any, Any, Any], float]) -> None:
        self.fn = fn

    def win_prob(self, prompt: Any, a: Any, b: Any) -> float:
        return float(self.fn(prompt, a, b))


class BradleyTerryOracle:
    """P(a > b | x) = sigma(beta (r(x, a) - r(x, b))) for a reward function ``r(x, y) -> float``.

    ``win_matrix`` scores each response once. ``scores`` exposes the rewards, which the trainer
    can use to pick the winner/loser pair as SPPO does with PairRM scores.
    """

    def __init__(self, reward: Callable[[Any, Any], float], beta: float = 1.0) -> None:
        if not np.isfinite(beta) or beta <= 0:
            raise InvalidInputError(f"beta must be a positive finite number, got {beta!r}")
        self.reward = reward
        self.beta = float(beta)

    def scores(self, prompt: Any, responses: Sequence[Any]) -> np.ndarray:
        """Rewards r(x, y_i), shape ``(K,)``."""
        s = np.array([float(self.reward(prompt, y)) for y in responses])
        if not np.all(np.isfinite(s)):
            raise InvalidInputError("reward function returned a non-finite value")
        return s

    def win_prob(self, prompt: Any, a: Any, b: Any) -> float:
        return float(expit(self.beta * (self.reward(prompt, a) - self.reward(prompt, b))))

    def win_matrix(self, prompt: Any, responses: Sequence[Any]) -> np.ndarray:
        s = self.scores(prompt, responses)
        return expit(self.beta * (s[:, None] - s[None, :]))


def estimate_win_rates(win_matrix: np.ndarray) -> np.ndarray:
    """p_hat_i = (1/K) sum_j P_ij over the K sampled responses, the j = i term counting 1/2
    (RSPO notes, step 2). ``(..., K, K) -> (..., K)``."""
    w = np.asarray(win_matrix, dtype=float)
    if w.ndim < 2 or w.shape[-1] != w.shape[-2]:
        raise InvalidInputError(f"win matrix must be square in its last two axes, got {w.shape}")
    return w.mean(axis=-1)


def select_pair(scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Winner = argmax and loser = argmin of ``scores`` along the last axis (RSPO notes, step 3;
    ties: the lowest index wins, the highest index loses). ``(..., K) -> (...), (...)``."""
    s = np.asarray(scores, dtype=float)
    k = s.shape[-1]
    return np.argmax(s, axis=-1), k - 1 - np.argmin(s[..., ::-1], axis=-1)
