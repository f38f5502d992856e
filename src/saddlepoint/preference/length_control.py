"""A judge with a verbosity bias, and length-controlled win rates (RSPO notes, E3).

:func:`verbosity_biased_game` draws responses with a quality ``q ~ N(0, 1)`` and a length
``L ~ U(0, 1)`` drawn independently, and a judge that prefers ``y`` to ``y'`` with probability
``sigma(a (q - q') + gamma (L - L') + c A)`` (``A`` skew-symmetric N(0, 1), an intransitive
part): with ``gamma > 0`` the judge prefers longer responses beyond their quality. The
*oracle* is the same judge with ``gamma = 0``.

The length-controlled win rate follows AlpacaEval-2's idea in miniature: regress the judge's
log-odds on the length difference over every pair (quality is independent of length, so the
slope estimates the judge's length bias ``gamma``), remove the fitted length term, and
compute the win rate under the corrected preferences. It uses the judge only, never the
oracle.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from saddlepoint.errors import InvalidInputError
from saddlepoint.preference.game import PreferenceGame, check_policy

__all__ = ["VerbosityGame", "fit_length_bias", "length_controlled_preferences", "length_controlled_win_rate",
           "mean_length", "verbosity_biased_game"]

_EPS = 1e-12


@dataclass(frozen=True)
class VerbosityGame:
    """A judge with a verbosity bias, the unbiased oracle and the response lengths ``(X, K)``."""

    judge: PreferenceGame
    oracle: PreferenceGame
    lengths: np.ndarray
    verbosity: float
    """The judge's true length bias gamma (log-odds per unit of length)."""


def verbosity_biased_game(n_prompts: int, n_responses: int, seed: int, *, verbosity: float = 3.0,
                          quality_weight: float = 2.0, intransitive: float = 0.5) -> VerbosityGame:
    """Judge ``sigma(quality_weight dq + verbosity dL + intransitive A)`` and its oracle
    (``verbosity = 0``) on ``n_prompts`` prompts of ``n_responses`` responses; pi_ref is a
    Dirichlet(1) draw per prompt. All draws come from ``numpy.random.default_rng(seed)``."""
    if n_prompts < 1 or n_responses < 2:
        raise InvalidInputError(f"need n_prompts >= 1 and n_responses >= 2, got {n_prompts}, {n_responses}")
    if verbosity < 0:
        raise InvalidInputError(f"verbosity must be non-negative, got {verbosity}")
    rng = np.random.default_rng(seed)
    q = rng.normal(size=(n_prompts, n_responses))
    length = rng.uniform(size=(n_prompts, n_responses))
    a = np.triu(rng.normal(size=(n_prompts, n_responses, n_responses)), 1)
    a = a - a.transpose(0, 2, 1)
    logits = quality_weight * (q[:, :, None] - q[:, None, :]) + intransitive * a
    ref = rng.dirichlet(np.ones(n_responses), size=n_prompts)
    d_len = length[:, :, None] - length[:, None, :]
    judge = PreferenceGame(_sigmoid(logits + verbosity * d_len), ref, f"verbosity_judge(gamma={verbosity})")
    oracle = PreferenceGame(_sigmoid(logits), ref, "verbosity_oracle")
    return VerbosityGame(judge, oracle, length, verbosity)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, _EPS, 1 - _EPS)
    return np.log(p) - np.log1p(-p)


def _check_lengths(preferences: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    lengths = np.asarray(lengths, dtype=float)
    if lengths.shape != preferences.shape[:2]:
        raise InvalidInputError(f"lengths must have shape {preferences.shape[:2]} (prompts, responses), "
                                f"got {lengths.shape}")
    return lengths


def fit_length_bias(preferences: np.ndarray, lengths: np.ndarray) -> float:
    """Least-squares slope (through the origin) of the judge's log-odds ``logit P[x, i, j]`` on
    ``L[x, i] - L[x, j]`` over every prompt and pair ``i != j``: the judge's length bias.

    ``preferences`` ``(X, K, K)``, ``lengths`` ``(X, K)``."""
    p = np.asarray(preferences, dtype=float)
    lengths = _check_lengths(p, lengths)
    d_len = lengths[:, :, None] - lengths[:, None, :]
    denom = float((d_len ** 2).sum())
    if denom == 0.0:
        raise InvalidInputError("all responses have the same length: the length bias is not identifiable")
    return float((_logit(p) * d_len).sum() / denom)


def length_controlled_preferences(preferences: np.ndarray, lengths: np.ndarray, gamma: float) -> np.ndarray:
    """``sigma(logit P[x, i, j] - gamma (L[x, i] - L[x, j]))``: the judge with its length term
    removed, ``(X, K, K)`` (still skew-symmetric about 1/2)."""
    p = np.asarray(preferences, dtype=float)
    lengths = _check_lengths(p, lengths)
    return _sigmoid(_logit(p) - gamma * (lengths[:, :, None] - lengths[:, None, :]))


def length_controlled_win_rate(judge: PreferenceGame, lengths: np.ndarray, policy: np.ndarray,
                               opponent: np.ndarray, gamma: float | None = None) -> float:
    """Mean over prompts of ``policy^T P_lc opponent``, with ``P_lc`` the judge's preferences
    with the length term removed; ``gamma`` defaults to :func:`fit_length_bias` of the judge."""
    policy = check_policy(policy, judge.shape, "policy")
    opponent = check_policy(opponent, judge.shape, "opponent")
    g = fit_length_bias(judge.preferences, lengths) if gamma is None else gamma
    p_lc = length_controlled_preferences(judge.preferences, lengths, g)
    return float(np.einsum("xi,xij,xj->x", policy, p_lc, opponent).mean())


def mean_length(policy: np.ndarray, lengths: np.ndarray) -> float:
    """Expected response length under ``policy``, averaged over prompts."""
    return float((np.asarray(policy) * np.asarray(lengths)).sum(axis=1).mean())
