"""Equilibria of preference games: the Nash equilibrium by LP and the regularised one.

The regularised game (RSPO notes, "Game") is
``J(pi, pi') = P(pi > pi') - R(pi) + R(pi')`` with
``R(pi) = tau_reverse KL(pi || pi_ref) + tau_forward KL(pi_ref || pi)``. It is strongly
monotone, so it has a unique symmetric equilibrium pi*, characterised per prompt by the
stationarity conditions (Lagrange multiplier c for sum(pi) = 1)::

    (P pi)_y - tau_reverse log(pi_y / ref_y) + tau_forward ref_y / pi_y = c     for every y.

For reverse KL alone this is pi* ∝ pi_ref exp(P pi* / tau); for forward KL alone
pi* = tau ref / (c - P pi*). We solve the system with SciPy's MINPACK (``hybr``) from a
warm start, independently of the dynamics in :mod:`saddlepoint.preference.dynamics`, so the
two check each other.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import root

from saddlepoint.errors import InvalidInputError, SaddlepointError
from saddlepoint.preference.game import PreferenceGame
from saddlepoint.solvers.lp import maximin_strategy

__all__ = ["nash_equilibrium", "regularized_equilibrium", "stationarity_residual"]


def nash_equilibrium(game: PreferenceGame) -> tuple[np.ndarray, np.ndarray]:
    """A Nash equilibrium per prompt and the game values (1/2 up to LP tolerance).

    Player 1 maximises ``min_j (pi^T P)_j`` (the LP of :func:`maximin_strategy`); by symmetry
    the same pi is an equilibrium strategy for both players. Returns ``(X, K)`` and ``(X,)``.
    """
    out = np.empty(game.shape)
    values = np.empty(game.n_prompts)
    for x in range(game.n_prompts):
        out[x], values[x] = maximin_strategy(game.preferences[x])
    return out, values


def stationarity_residual(
    game: PreferenceGame, policy: np.ndarray, *, tau_reverse: float = 0.0, tau_forward: float = 0.0
) -> float:
    """Largest deviation of the stationarity terms from their mean over responses (0 at pi*).

    ``g_y = (P pi)_y - tau_r log(pi_y / ref_y) + tau_f ref_y / pi_y`` must be constant in y.
    """
    pi = np.atleast_2d(policy)
    g = _stationarity_terms(game.preferences, game.reference, pi, tau_reverse, tau_forward)
    return float(np.abs(g - g.mean(axis=1, keepdims=True)).max())


def _stationarity_terms(p, ref, pi, tau_r, tau_f):
    return np.einsum("xij,xj->xi", p, pi) - tau_r * np.log(pi / ref) + tau_f * ref / pi


def _warm_start(p: np.ndarray, ref: np.ndarray, tau_r: float, tau_f: float, steps: int) -> np.ndarray:
    """Mirror-prox steps on the regularised game: the reverse-KL part is applied exactly
    (a magnetic mirror-descent step), the forward-KL part as an explicit gradient."""
    tau = tau_r + tau_f
    eta = min(0.5, 1.0 / max(tau, 1e-12)) / 2.0
    log_ref = np.log(ref)
    log_pi = log_ref.copy()

    def half(log_from, pi_at):
        grad = np.einsum("xij,xj->xi", p, pi_at) + tau_f * ref / pi_at
        z = (log_from + eta * tau_r * log_ref + eta * grad) / (1.0 + eta * tau_r)
        z -= z.max(axis=1, keepdims=True)
        return z - np.log(np.exp(z).sum(axis=1, keepdims=True))

    for _ in range(steps):
        mid = half(log_pi, np.exp(log_pi))
        log_pi = half(log_pi, np.exp(mid))
    return np.exp(log_pi)


def regularized_equilibrium(
    game: PreferenceGame,
    *,
    tau_reverse: float = 0.0,
    tau_forward: float = 0.0,
    tol: float = 1e-11,
    warm_steps: int = 2000,
) -> np.ndarray:
    """The unique equilibrium pi*_tau of the regularised game, shape ``(X, K)``.

    ``tau_reverse`` weighs KL(pi || pi_ref) and ``tau_forward`` KL(pi_ref || pi); at least one
    must be positive. Raises :class:`SaddlepointError` if the stationarity residual (see
    :func:`stationarity_residual`) is not below ``tol`` after solving.
    """
    for name, val in (("tau_reverse", tau_reverse), ("tau_forward", tau_forward)):
        if not np.isfinite(val) or val < 0:
            raise InvalidInputError(f"{name} must be a finite non-negative number, got {val!r}")
    if tau_reverse + tau_forward <= 0:
        raise InvalidInputError("tau_reverse + tau_forward must be positive (else use nash_equilibrium)")
    p, ref = game.preferences, game.reference
    start = _warm_start(p, ref, tau_reverse, tau_forward, warm_steps)
    out = np.empty(game.shape)
    k = game.n_responses
    for x in range(game.n_prompts):
        px, rx = p[x], ref[x]

        def fun(v, px=px, rx=rx):
            z, c = v[:k], v[k]
            pi = np.exp(z)
            f = px @ pi - tau_reverse * (z - np.log(rx)) + tau_forward * rx / pi - c
            return np.append(f, pi.sum() - 1.0)

        def jac(v, px=px, rx=rx):
            z = v[:k]
            pi = np.exp(z)
            j = np.zeros((k + 1, k + 1))
            j[:k, :k] = px * pi[None, :] - np.diag(tau_reverse + tau_forward * rx / pi)
            j[:k, k] = -1.0
            j[k, :k] = pi
            return j

        z0 = np.log(start[x])
        c0 = float(np.mean(_stationarity_terms(px[None], rx[None], start[x][None], tau_reverse, tau_forward)))
        sol = root(fun, np.append(z0, c0), jac=jac, method="hybr", options={"xtol": 1e-14})
        pi = np.exp(sol.x[:k])
        out[x] = pi / pi.sum()
    residual = stationarity_residual(game, out, tau_reverse=tau_reverse, tau_forward=tau_forward)
    if not residual < tol:
        raise SaddlepointError(
            f"regularised equilibrium not found: stationarity residual {residual:.3g} >= tol {tol:.3g}"
        )
    return out
