"""G-optimal experimental design on a finite arm set (Frank-Wolfe / Fedorov-Wynn).

The G-optimal design minimises ``g(pi) = max_a ||a||^2_{V(pi)^{-1}}`` with
``V(pi) = sum_a pi(a) a a^T``. By the Kiefer-Wolfowitz theorem its optimum equals the
D-optimal one (maximal ``log det V(pi)``) and ``g = d`` there (Lattimore & Szepesvari,
*Bandit Algorithms*, Thm. 21.1). Frank-Wolfe on ``log det`` with exact line search moves
weight towards the arm of largest leverage; with ``away_steps`` it also moves weight away from
the supported arm of smallest leverage (Wolfe-Atwood, Todd & Yildirim 2007), which converges
much faster near the optimum. Since ``sum_a pi(a) g_a = d`` always, ``max_a g_a <= (1+tol) d``
certifies near-optimality: ``log det V* - log det V(pi) <= tol * d``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from saddlepoint.errors import InvalidInputError

__all__ = ["Design", "span_basis", "leverages", "g_optimal_design"]


@dataclass(frozen=True)
class Design:
    """A design over the arms given to :func:`g_optimal_design`.

    ``weights``: shape ``(k,)``, on the simplex, tiny weights dropped; ``max_leverage``:
    ``max_a ||a||^2_{V(pi)^{-1}}`` in the span of the arms; ``rank``: dimension ``r`` of that
    span (the ``d`` of Kiefer-Wolfowitz); ``iterations``: Frank-Wolfe steps taken;
    ``converged``: whether ``max_leverage <= (1 + tol) rank``.
    """

    weights: np.ndarray
    max_leverage: float
    rank: int
    iterations: int
    converged: bool

    @property
    def support(self) -> np.ndarray:
        """Indices of the arms with positive weight."""
        return np.flatnonzero(self.weights > 0)


def span_basis(arms: np.ndarray, rtol: float = 1e-10) -> np.ndarray:
    """An orthonormal basis of the span of the rows of ``arms``, shape ``(d, r)``.

    From the SVD; singular values below ``rtol * s_max`` count as zero.
    """
    _, s, vt = np.linalg.svd(np.asarray(arms, dtype=float), full_matrices=False)
    if s.size == 0 or s[0] == 0:
        raise InvalidInputError("arms span only the zero vector; no design exists")
    r = int(np.sum(s > rtol * s[0]))
    return vt[:r].T


def leverages(arms: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """``g_a = a^T V(pi)^{-1} a`` for every arm, shape ``(k,)``; ``arms`` of full column rank
    in the support of ``weights``."""
    v = arms.T @ (weights[:, None] * arms)
    sol = np.linalg.solve(v, arms.T)
    return np.einsum("kd,dk->k", arms, sol)


def g_optimal_design(arms: np.ndarray, tol: float = 0.01, max_iter: int = 100_000,
                     away_steps: bool = True, min_weight: float = 1e-6) -> Design:
    """Near-G-optimal design on ``arms`` (shape ``(k, d)``), worked out in their span.

    Stops when ``max_a g_a <= (1 + tol) r`` (``r`` = rank of the arms) or after ``max_iter``
    steps. Weights below ``min_weight`` are dropped at the end (and the rest renormalised)
    when the remaining arms still span the space.
    """
    arms = np.asarray(arms, dtype=float)
    if arms.ndim != 2 or arms.shape[0] == 0:
        raise InvalidInputError(f"arms must be a non-empty (k, d) array, got shape {arms.shape}")
    if not np.all(np.isfinite(arms)):
        raise InvalidInputError("arms must be finite")
    if tol <= 0 or not np.isfinite(tol):
        raise InvalidInputError(f"tol must be a positive number, got {tol!r}")
    z = arms @ span_basis(arms)  # coordinates in the span, shape (k, r)
    k, r = z.shape
    pi = np.full(k, 1.0 / k)
    m_inv = np.linalg.inv(z.T @ z / k)
    g = np.einsum("kr,rs,ks->k", z, m_inv, z)
    it = 0
    while it < max_iter and g.max() > (1 + tol) * r:
        it += 1
        j = int(np.argmax(g))
        gamma = (g[j] / r - 1) / (g[j] - 1)  # exact line search on log det (r = d of the span)
        if away_steps:
            supp = np.flatnonzero(pi > 0)
            i = int(supp[np.argmin(g[supp])])
            if r - g[i] > g[j] - r and pi[i] < 1:  # the away direction is steeper
                j = i
                # log det falls all the way to the boundary when g_i <= 1; else the stationary point
                bound = -pi[i] / (1 - pi[i])
                gamma = bound if g[i] <= 1 else max((g[i] / r - 1) / (g[i] - 1), bound)
        # pi <- (1 - gamma) pi + gamma e_j ; M <- (1 - gamma) M + gamma z_j z_j^T (Sherman-Morrison)
        pi *= 1 - gamma
        pi[j] += gamma
        if pi[j] < 1e-15:
            pi[j] = 0.0
        u = m_inv @ z[j]
        c = gamma / (1 - gamma)
        m_inv = (m_inv - np.outer(u, u) * (c / (1 + c * g[j]))) / (1 - gamma)
        proj = z @ u
        g = (g - proj**2 * (c / (1 + c * g[j]))) / (1 - gamma)
        if it % 200 == 0:  # refresh against drift of the rank-one updates
            m_inv = np.linalg.inv(z.T @ (pi[:, None] * z))
            g = np.einsum("kr,rs,ks->k", z, m_inv, z)
    pi = _drop_small(z, pi, min_weight)
    g = leverages(z, pi)
    gmax = float(g.max())
    return Design(pi, gmax, r, it, gmax <= (1 + tol) * r + 1e-9)


def _drop_small(z: np.ndarray, pi: np.ndarray, min_weight: float) -> np.ndarray:
    kept = np.where(pi >= min_weight, pi, 0.0)
    if np.linalg.matrix_rank(z[kept > 0]) < z.shape[1]:
        kept = pi.copy()
    return kept / kept.sum()
