"""The weight player of RMOD: worst-case objective weights on the simplex (pure NumPy).

Given a block's K candidate continuations scored by G value functions, ``values[k, g]``,
RMOD's adversary solves the convex problem (arXiv 2503.08796, weight player's dual)

    w* = argmin_{w in simplex}  phi(w),   phi(w) = log (1/K) sum_k exp(lam * w . V[k])

whose gradient ``grad phi(w) = lam * E_{p_w}[V]`` is the mean value under the tilted
distribution ``p_w(k) ~ exp(lam * w . V[k])``. Everything here works in log space
(``logsumexp``), so it stays finite for ``lam * V`` up to 1e4 and beyond.

Solvers:

* ``"eg"`` (default): exponentiated gradient (entropic mirror descent) with a backtracking
  step size, stopped when the Frank-Wolfe gap ``<grad, w> - min_g grad_g`` (an upper bound on
  ``phi(w) - phi(w*)`` by convexity) is below ``tol``. Convergent for any lam; when lam * V is
  so large that phi is nearly a maximum of lines and ``max_iter`` runs out, the point is
  polished by SLSQP and the lower of the two is kept.
* ``"slsqp"``: SciPy's SLSQP on the same objective (a cross-check; slower).
* ``"pgd10"``: mimics the official 10-step solver as described in the paper notes:
  ``w = softmax(u)``, ``u_0 = 0``, 10 gradient steps on ``mean_k exp(lam * V[k] . w)`` with the
  gradient clipped to +-10, step ``s / sqrt(i)``, exponent capped at ``cap``. It need not reach
  ``w*``; offered for faithfulness to the paper's runs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import logsumexp, softmax

from saddlepoint.config import check_choice, check_positive, check_positive_int
from saddlepoint.errors import InvalidInputError

__all__ = [
    "SOLVERS", "WeightSolution", "phi", "phi_grad", "tilted_distribution", "frank_wolfe_gap",
    "solve_weights", "select_branch",
]

SOLVERS = ("eg", "slsqp", "pgd10")


def _check_values(values: np.ndarray) -> np.ndarray:
    v = np.asarray(values, dtype=float)
    if v.ndim != 2 or v.shape[0] < 1 or v.shape[1] < 1:
        raise InvalidInputError(f"values must be a non-empty (K, G) matrix, got shape {v.shape}")
    if not np.all(np.isfinite(v)):
        raise InvalidInputError("values must be finite")
    return v


def _check_weights(weights: np.ndarray, g: int) -> np.ndarray:
    w = np.asarray(weights, dtype=float)
    if w.shape != (g,) or np.any(w < 0) or not np.isclose(w.sum(), 1.0, atol=1e-8):
        raise InvalidInputError(f"weights must be a probability vector of length {g}, got {weights!r}")
    return w


def phi(weights: np.ndarray, values: np.ndarray, lam: float) -> float:
    """Empirical log-partition ``phi(w) = log (1/K) sum_k exp(lam * w . V[k])``.

    ``weights``: (G,), ``values``: (K, G). The weight player's objective (RMOD, eq. for w*).
    """
    v = np.asarray(values, dtype=float)
    return float(logsumexp(lam * (v @ np.asarray(weights, dtype=float))) - np.log(v.shape[0]))


def tilted_distribution(weights: np.ndarray, values: np.ndarray, lam: float) -> np.ndarray:
    """The tilted branch distribution ``p_w(k) ~ exp(lam * w . V[k])``, shape (K,).

    It is the best-response policy ``pi_w ~ pi_ref * exp(lam * w . V)`` restricted to the K
    reference samples.
    """
    return softmax(lam * (np.asarray(values, dtype=float) @ np.asarray(weights, dtype=float)))


def phi_grad(weights: np.ndarray, values: np.ndarray, lam: float) -> np.ndarray:
    """``grad phi(w) = lam * E_{p_w}[V]``, shape (G,): lam times the tilted mean value."""
    v = np.asarray(values, dtype=float)
    return lam * (tilted_distribution(weights, v, lam) @ v)


def frank_wolfe_gap(weights: np.ndarray, grad: np.ndarray) -> float:
    """``<grad, w> - min_g grad_g`` >= ``phi(w) - phi(w*)`` (convexity); zero exactly at a
    KKT point of the simplex-constrained problem."""
    return float(np.dot(grad, weights) - grad.min())


@dataclass(frozen=True)
class WeightSolution:
    """The adversary's weights for one block."""

    weights: np.ndarray
    """w*, shape (G,), on the simplex."""
    phi: float
    """phi(w*)."""
    gap: float
    """Frank-Wolfe gap at w* (an upper bound on the suboptimality in phi)."""
    iterations: int
    """Iterations used."""
    converged: bool
    """Whether the gap is at most ``tol * min(1, lam R)`` (measured the same way for every solver)."""
    solver: str
    """Which solver produced it."""


def _solve_eg(v: np.ndarray, lam: float, tol: float, max_iter: int) -> tuple[np.ndarray, int]:
    g, log_k = v.shape[1], np.log(v.shape[0])
    lv = lam * v

    def value_and_grad(w: np.ndarray) -> tuple[float, np.ndarray]:
        a = lv @ w
        top = a.max()
        e = np.exp(a - top)
        z = e.sum()
        return float(top + np.log(z) - log_k), (e / z) @ lv  # phi(w), lam * E_{p_w}[V]

    logw = np.full(g, -np.log(g))
    w = np.exp(logw)
    f, grad = value_and_grad(w)
    # Initial step: 1/L with L = lam^2 R^2, R the largest per-objective value range, a bound on
    # the Hessian lam^2 Cov_{p_w}(V) in the l1 geometry; backtracking adapts it from there.
    spread = float(np.max(v.max(axis=0) - v.min(axis=0)))
    eta = 1.0 / max(lam * lam * spread * spread, 1e-12)
    for it in range(max_iter):
        if float(grad @ w - grad.min()) <= tol:  # tol already scaled by min(1, lam R)
            return w, it
        while True:
            cand = logw - eta * grad
            cand -= cand.max() + np.log(np.exp(cand - cand.max()).sum())
            w_new = np.exp(cand)
            f_new, grad_new = value_and_grad(w_new)
            # Bregman (KL) sufficient-decrease test of mirror descent with step eta.
            kl = float(w_new @ (cand - logw))
            if f_new <= f + float(grad @ (w_new - w)) + kl / eta + 1e-15 or eta < 1e-300:
                break
            eta *= 0.5
        logw, w, f, grad = cand, w_new, f_new, grad_new
        eta *= 1.5
    return w, max_iter


def _solve_slsqp(
    v: np.ndarray, lam: float, tol: float, max_iter: int, start: np.ndarray | None = None
) -> tuple[np.ndarray, int]:
    from scipy.optimize import minimize

    g = v.shape[1]
    res = minimize(
        lambda w: phi(w, v, lam), np.full(g, 1.0 / g) if start is None else start,
        jac=lambda w: phi_grad(w, v, lam),
        method="SLSQP", bounds=[(0.0, 1.0)] * g,
        constraints=[{"type": "eq", "fun": lambda w: w.sum() - 1.0, "jac": lambda w: np.ones(g)}],
        options={"ftol": tol, "maxiter": max_iter},
    )
    w = np.clip(res.x, 0.0, None)
    return w / w.sum(), int(res.nit)


def _solve_pgd10(v: np.ndarray, lam: float, steps: int, step_size: float, cap: float) -> np.ndarray:
    u = np.zeros(v.shape[1])
    for i in range(1, steps + 1):
        w = softmax(u)
        with np.errstate(over="ignore", invalid="ignore"):
            e = np.exp(np.minimum(lam * (v @ w), cap))  # (K,), official objective, not log-space
            grad_w = lam * (e @ v) / v.shape[0]
            grad_u = w * (grad_w - w @ grad_w)  # chain rule through softmax
        grad_u = np.nan_to_num(grad_u, nan=0.0, posinf=10.0, neginf=-10.0)
        u = u - step_size / np.sqrt(i) * np.clip(grad_u, -10.0, 10.0)
    return softmax(u)


def solve_weights(
    values: np.ndarray,
    lam: float,
    *,
    solver: str = "eg",
    tol: float = 1e-6,
    max_iter: int = 1_000,
    pgd_steps: int = 10,
    pgd_step_size: float = 1.0,
    pgd_cap: float = 5e4,
) -> WeightSolution:
    """Worst-case weights ``w* = argmin_{w in simplex} phi(w)`` for a (K, G) value matrix.

    ``lam`` is RMOD's lambda (>= 0; at 0 every w is optimal and uniform is returned). ``tol``
    bounds the Frank-Wolfe gap, hence ``phi(w) - phi(w*)``, in units of ``min(1, lam R)`` with
    R the largest per-objective value range (``eg``), or is SLSQP's ``ftol``; ``pgd_*`` set the ``pgd10``
    mimic (steps, step size s, exponent cap).
    """
    v = _check_values(values)
    check_positive("lam", lam, allow_zero=True)
    check_choice("solver", solver, SOLVERS)
    check_positive("tol", tol)
    check_positive_int("max_iter", max_iter)
    g = v.shape[1]
    # phi varies by at most lam R over the simplex: for small lam the tolerance is relative.
    scale = min(1.0, lam * float(np.max(v.max(axis=0) - v.min(axis=0))) or 1.0)
    if g == 1 or lam == 0.0:
        w, iters = np.full(g, 1.0 / g), 0
    elif solver == "eg":
        w, iters = _solve_eg(v, float(lam), tol * scale, max_iter)
        if iters == max_iter:
            # Nearly non-smooth phi (huge lam * V): polish with SLSQP from the EG point and
            # keep whichever is lower.
            w2, extra = _solve_slsqp(v, float(lam), 1e-12, max_iter, start=w)
            iters += extra
            if phi(w2, v, lam) < phi(w, v, lam):
                w = w2
    elif solver == "slsqp":
        w, iters = _solve_slsqp(v, float(lam), tol, max_iter)
    else:
        check_positive_int("pgd_steps", pgd_steps)
        check_positive("pgd_step_size", pgd_step_size)
        w, iters = _solve_pgd10(v, float(lam), pgd_steps, pgd_step_size, pgd_cap), pgd_steps
    gap = frank_wolfe_gap(w, phi_grad(w, v, lam))
    return WeightSolution(w.copy(), phi(w, v, lam), gap, iters, bool(gap <= tol * scale), solver)


def select_branch(
    values: np.ndarray, weights: np.ndarray, lam: float, mode: str, rng: np.random.Generator
) -> int:
    """Pick a branch under weights ``w``: ``"argmax"`` of ``w . V[k]`` (ties to the lowest
    index; the official rule) or ``"sample"`` from the tilted ``p_w`` (closer to pi_w)."""
    v = _check_values(values)
    w = _check_weights(weights, v.shape[1])
    check_choice("selection", mode, ("argmax", "sample"))
    if mode == "argmax":
        return int(np.argmax(v @ w))
    return int(rng.choice(v.shape[0], p=tilted_distribution(w, v, lam)))
