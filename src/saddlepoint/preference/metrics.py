"""Metrics of a policy in a preference game: duality gap, KL divergence, win rate.

All take policies of shape ``(X, K)`` and average over prompts (``per_prompt=True`` keeps
the ``(X,)`` values).
"""

from __future__ import annotations

import numpy as np

from saddlepoint.preference.game import PreferenceGame

__all__ = ["duality_gap", "kl_divergence", "win_rate"]


def duality_gap(game: PreferenceGame, policy: np.ndarray, *, per_prompt: bool = False) -> float | np.ndarray:
    """DG(pi) = 2 max_y P(y > pi) - 1 (RSPO notes, "Game"): >= 0, zero only at a Nash equilibrium.

    It is the duality gap of the symmetric zero-sum game with payoff P - 1/2 at the profile
    (pi, pi), i.e. the NashConv of that profile. ``policy (X, K)`` -> mean over prompts.
    """
    gap = 2.0 * game.win_rates(np.atleast_2d(policy)).max(axis=1) - 1.0
    gap = np.maximum(gap, 0.0)
    return gap if per_prompt else float(gap.mean())


def kl_divergence(p: np.ndarray, q: np.ndarray, *, per_prompt: bool = False) -> float | np.ndarray:
    """KL(p || q) = sum_y p log(p / q), row-wise for ``(X, K)`` arrays; terms with p = 0 vanish."""
    p, q = np.atleast_2d(p), np.atleast_2d(q)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, p * (np.log(p) - np.log(q)), 0.0)
    kl = np.maximum(terms.sum(axis=1), 0.0)
    return kl if per_prompt else float(kl.mean())


def win_rate(game: PreferenceGame, policy: np.ndarray, opponent: np.ndarray, *, per_prompt: bool = False) -> float | np.ndarray:
    """P(pi > pi') = sum_ij pi_i P_ij pi'_j, averaged over prompts. Shapes ``(X, K)``."""
    wr = np.einsum("xi,xij,xj->x", np.atleast_2d(policy), game.preferences, np.atleast_2d(opponent))
    return wr if per_prompt else float(wr.mean())
