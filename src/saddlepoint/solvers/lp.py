"""Exact equilibria of zero-sum matrix games by linear programming (SciPy's HiGHS)."""

from __future__ import annotations

import numpy as np
from scipy.optimize import linprog

from saddlepoint.errors import InvalidInputError, SaddlepointError
from saddlepoint.games.normal_form import NormalFormGame


_HIGHS_OPTIONS = {"primal_feasibility_tolerance": 1e-10, "dual_feasibility_tolerance": 1e-10}


def maximin_strategy(payoffs: np.ndarray) -> tuple[np.ndarray, float]:
    """The row player's maximin strategy and the game value of ``payoffs`` (row maximises).

    Solves ``max_{x in simplex} min_j (x^T A)_j`` as the LP
    ``max v  s.t.  A^T x >= v 1,  1^T x = 1,  x >= 0``. Shapes: ``A (m, n)`` -> ``x (m,)``.
    """
    a = np.asarray(payoffs, dtype=float)
    m, n = a.shape
    # Solve on payoffs rescaled to [-1, 1] so HiGHS's absolute tolerances are relative ones.
    scale = max(float(np.abs(a).max()), 1e-300)
    a = a / scale
    # Variables (x_1..x_m, v); minimise -v.
    c = np.zeros(m + 1)
    c[-1] = -1.0
    a_ub = np.hstack([-a.T, np.ones((n, 1))])  # v - (A^T x)_j <= 0
    b_ub = np.zeros(n)
    a_eq = np.hstack([np.ones((1, m)), np.zeros((1, 1))])
    bounds = [(0.0, None)] * m + [(None, None)]
    res = linprog(c, A_ub=a_ub, b_ub=b_ub, A_eq=a_eq, b_eq=[1.0], bounds=bounds, method="highs",
                  options=_HIGHS_OPTIONS)
    if res.status != 0:
        raise SaddlepointError(f"the equilibrium LP failed: {res.message}")
    x = np.clip(res.x[:m], 0.0, None)
    return x / x.sum(), float(res.x[-1] * scale) + 0.0  # + 0.0 turns -0.0 into 0.0


def solve_zero_sum(game: NormalFormGame) -> tuple[np.ndarray, np.ndarray, float]:
    """An exact equilibrium ``(x, y)`` and the value (row player's) of a zero-sum game."""
    if not game.is_zero_sum:
        raise InvalidInputError(f"the LP solver needs a zero-sum game; {game.name!r} is general-sum")
    x, value = maximin_strategy(game.row_payoffs)
    y, neg_value = maximin_strategy(-game.row_payoffs.T)
    if abs(value + neg_value) > 1e-7 * game.payoff_range:
        raise SaddlepointError(f"primal and dual LP values disagree: {value} vs {-neg_value}")
    return x, y, value
