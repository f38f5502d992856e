"""An exact Gaussian process in NumPy/SciPy, with observations of linear functionals.

Each observation ``i`` is a noisy weighted sum of the latent function at ``q`` points,
``y_i = sum_j W[i, j] f(P[i, j]) + e_i`` with ``e_i ~ N(0, noise * noise_scale_i)``. With
``q = 1`` and weight 1 this is ordinary regression; the mean-field method uses ``q = K`` to
observe the team payoff ``F(xi) = sum_a xi_a f(a, xi)`` (its "aggregate" feedback model), and
``noise_scale = 1 / n`` for a payoff averaged over ``n`` agents.

The Cholesky factor of the training covariance is extended block by block as data arrive
(a rank-one update when one observation is added), with diagonal jitter escalated by
factors of ten when a factorisation fails and :class:`CholeskyError` once it exceeds
``max_jitter``. Hyper-parameters are fitted by maximising the log marginal likelihood with
L-BFGS-B and analytic gradients (Rasmussen & Williams 2006, eqs. 2.30 and 5.9).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.linalg import LinAlgError, cho_solve, cholesky, solve_triangular
from scipy.optimize import minimize

from saddlepoint.bayesopt.kernels import KERNELS, kernel_grad_log_lengthscales, kernel_matrix
from saddlepoint.config import check_choice, check_positive, check_positive_int
from saddlepoint.errors import InvalidInputError, SaddlepointError

log = logging.getLogger(__name__)

__all__ = [
    "CholeskyError",
    "ExactGP",
    "FitConfig",
    "GPHyperparameters",
    "fit_hyperparameters",
    "robust_cholesky",
]


class CholeskyError(SaddlepointError):
    """The covariance stayed numerically indefinite even with the largest allowed jitter."""


@dataclass(frozen=True)
class GPHyperparameters:
    """Kernel and likelihood hyper-parameters of :class:`ExactGP`."""

    lengthscales: tuple[float, ...] = (1.0,)
    """Lengthscale per input dimension (ARD), or one value shared by every dimension."""
    outputscale: float = 1.0
    """Prior variance of f, s (the kernel's value at distance zero)."""
    noise: float = 1e-2
    """Observation noise variance per unit of ``noise_scale``, sigma^2."""
    mean: float = 0.0
    """Constant prior mean of f."""

    def __post_init__(self) -> None:
        ls = tuple(float(v) for v in np.atleast_1d(np.asarray(self.lengthscales, dtype=float)))
        object.__setattr__(self, "lengthscales", ls)
        if not ls or not all(math.isfinite(v) and v > 0 for v in ls):
            raise InvalidInputError(f"lengthscales must be finite and positive, got {ls}")
        check_positive("outputscale", float(self.outputscale))
        check_positive("noise", float(self.noise))
        if not math.isfinite(self.mean):
            raise InvalidInputError(f"mean must be finite, got {self.mean!r}")


@dataclass(frozen=True)
class FitConfig:
    """What :func:`fit_hyperparameters` learns, and how (maximum marginal likelihood)."""

    ard: bool = True
    """One lengthscale per input dimension (True) or one shared lengthscale (False)."""
    fit_noise: bool = True
    """Learn sigma^2 (otherwise keep the current value, e.g. a known noise level)."""
    fit_mean: bool = True
    """Learn the constant prior mean."""
    lengthscale_bounds: tuple[float, float] = (1e-2, 1e2)
    """Box for every lengthscale."""
    outputscale_bounds: tuple[float, float] = (1e-4, 1e2)
    """Box for the outputscale."""
    noise_bounds: tuple[float, float] = (1e-6, 1e1)
    """Box for sigma^2."""
    restarts: int = 2
    """Random restarts besides the start from the current hyper-parameters."""
    maxiter: int = 200
    """L-BFGS-B iterations per start."""

    def __post_init__(self) -> None:
        check_positive_int("restarts", self.restarts, allow_zero=True)
        check_positive_int("maxiter", self.maxiter)
        for name in ("lengthscale_bounds", "outputscale_bounds", "noise_bounds"):
            lo, hi = getattr(self, name)
            if not (0 < lo < hi < math.inf):
                raise InvalidInputError(f"{name} must satisfy 0 < low < high < inf, got {(lo, hi)}")


def robust_cholesky(
    matrix: np.ndarray, *, jitter: float = 1e-10, max_jitter: float = 1e-3
) -> tuple[np.ndarray, float]:
    """Lower Cholesky factor of a symmetric matrix (n, n), adding ``j * mean(diag)`` to the
    diagonal with ``j = 0, jitter, 10 jitter, ...`` until it succeeds. Returns (L, j used).

    Raises :class:`CholeskyError` past ``max_jitter`` (relative to the mean diagonal) or when
    the matrix has non-finite entries.
    """
    if not np.all(np.isfinite(matrix)):
        raise CholeskyError("covariance matrix has non-finite entries")
    n = matrix.shape[0]
    if n == 0:
        return np.zeros((0, 0)), 0.0
    scale = float(np.mean(np.diag(matrix))) or 1.0
    j = 0.0
    while True:
        try:
            return cholesky(matrix + (j * scale) * np.eye(n), lower=True, check_finite=False), j
        except LinAlgError:
            j = jitter if j == 0.0 else 10.0 * j
            if j > max_jitter:
                raise CholeskyError(
                    f"Cholesky failed with relative jitter up to {max_jitter:g}; the kernel matrix "
                    "is numerically indefinite (duplicate inputs with zero noise, or a lengthscale "
                    "far too long). Raise the noise or max_jitter."
                ) from None
            log.debug("Cholesky failed; retrying with relative jitter %g", j)


@dataclass
class _Data:
    points: np.ndarray  # (n, q, d)
    weights: np.ndarray  # (n, q)
    y: np.ndarray  # (n,)
    noise_scale: np.ndarray  # (n,)


class ExactGP:
    """Exact GP regression with linear-functional observations and incremental Cholesky.

    Parameters: ``dim`` (d, input dimension), ``kernel`` (``rbf`` or ``matern52``),
    ``hyper`` (:class:`GPHyperparameters`; one lengthscale is broadcast to all dimensions),
    ``jitter`` and ``max_jitter`` (see :func:`robust_cholesky`).
    """

    def __init__(
        self,
        dim: int,
        *,
        kernel: str = "rbf",
        hyper: GPHyperparameters | None = None,
        jitter: float = 1e-10,
        max_jitter: float = 1e-3,
    ) -> None:
        check_positive_int("dim", dim)
        check_choice("kernel", kernel, KERNELS)
        self.dim = dim
        self.kernel = kernel
        self.jitter = jitter
        self.max_jitter = max_jitter
        self._hyper = self._checked(hyper or GPHyperparameters())
        self._data: _Data | None = None
        self._chol = np.zeros((0, 0))
        self._alpha = np.zeros(0)
        self._jitter_used = 0.0

    # ----------------------------------------------------------------- accessors
    @property
    def hyper(self) -> GPHyperparameters:
        return self._hyper

    @property
    def n_observations(self) -> int:
        return 0 if self._data is None else self._data.y.shape[0]

    @property
    def jitter_used(self) -> float:
        """Relative jitter added to the diagonal by the last full factorisation."""
        return self._jitter_used

    def training_data(self) -> dict[str, np.ndarray]:
        """Copies of the training data: points (n, q, d), weights (n, q), y (n,), noise_scale (n,)."""
        if self._data is None:
            return {"points": np.zeros((0, 1, self.dim)), "weights": np.zeros((0, 1)),
                    "y": np.zeros(0), "noise_scale": np.zeros(0)}
        d = self._data
        return {"points": d.points.copy(), "weights": d.weights.copy(), "y": d.y.copy(),
                "noise_scale": d.noise_scale.copy()}

    def _checked(self, hyper: GPHyperparameters) -> GPHyperparameters:
        ls = hyper.lengthscales
        if len(ls) not in (1, self.dim):
            raise InvalidInputError(f"lengthscales must have 1 or {self.dim} entries, got {len(ls)}")
        return hyper

    def _ls(self, hyper: GPHyperparameters | None = None) -> np.ndarray:
        ls = np.asarray((hyper or self._hyper).lengthscales)
        return np.broadcast_to(ls, (self.dim,)).astype(float)

    # ----------------------------------------------------------------- data
    def add(
        self,
        points: np.ndarray,
        y: np.ndarray,
        *,
        weights: np.ndarray | None = None,
        noise_scale: np.ndarray | float = 1.0,
    ) -> None:
        """Add observations and extend the Cholesky factor by their block.

        ``points``: (m, d) for direct observations, or (m, q, d) with ``weights`` (m, q) for
        weighted sums; ``y``: (m,); ``noise_scale``: scalar or (m,), multiplies sigma^2.
        """
        pts = np.asarray(points, dtype=float)
        if pts.ndim == 2:
            pts = pts[:, None, :]
        if pts.ndim != 3 or pts.shape[2] != self.dim:
            raise InvalidInputError(f"points must have shape (m, {self.dim}) or (m, q, {self.dim}), "
                                    f"got {np.shape(points)}")
        m, q = pts.shape[:2]
        w = np.ones((m, q)) if weights is None else np.asarray(weights, dtype=float)
        yv = np.asarray(y, dtype=float).reshape(-1)
        r = np.broadcast_to(np.asarray(noise_scale, dtype=float), (m,)).copy()
        if w.shape != (m, q):
            raise InvalidInputError(f"weights must have shape {(m, q)}, got {w.shape}")
        if yv.shape != (m,):
            raise InvalidInputError(f"y must have shape ({m},), got {np.shape(y)}")
        for name, arr in (("points", pts), ("weights", w), ("y", yv), ("noise_scale", r)):
            if not np.all(np.isfinite(arr)):
                raise InvalidInputError(f"{name} contains NaN or infinite values")
        if np.any(r <= 0):
            raise InvalidInputError("noise_scale must be positive")
        if m == 0:
            return
        if self._data is not None and self._data.points.shape[1] != q:
            raise InvalidInputError(f"every observation must sum over q={self._data.points.shape[1]} "
                                    f"points, got q={q}")
        old = self._data
        if old is None:
            self._data = _Data(pts, w, yv, r)
            self._refactor()
            return
        self._data = _Data(np.concatenate([old.points, pts]), np.concatenate([old.weights, w]),
                           np.concatenate([old.y, yv]), np.concatenate([old.noise_scale, r]))
        self._extend(old, pts, w, r)

    def _obs_cov(self, pa: np.ndarray, wa: np.ndarray, pb: np.ndarray, wb: np.ndarray,
                 hyper: GPHyperparameters | None = None) -> np.ndarray:
        """Prior covariance of two sets of weighted-sum observations: (na, nb)."""
        h = hyper or self._hyper
        na, qa, _ = pa.shape
        nb, qb, _ = pb.shape
        k = kernel_matrix(self.kernel, pa.reshape(na * qa, -1), pb.reshape(nb * qb, -1),
                          self._ls(h), h.outputscale)
        if qa == 1 and qb == 1:
            return k * wa[:, 0][:, None] * wb[:, 0][None, :]
        return np.einsum("iq,iqjr,jr->ij", wa, k.reshape(na, qa, nb, qb), wb)

    def _train_cov(self, hyper: GPHyperparameters | None = None) -> np.ndarray:
        h = hyper or self._hyper
        d = self._data
        assert d is not None
        k = self._obs_cov(d.points, d.weights, d.points, d.weights, h)
        return k + np.diag(h.noise * d.noise_scale)

    def _residual(self) -> np.ndarray:
        d = self._data
        assert d is not None
        return d.y - self._hyper.mean * d.weights.sum(1)

    def _refactor(self) -> None:
        self._chol, self._jitter_used = robust_cholesky(
            self._train_cov(), jitter=self.jitter, max_jitter=self.max_jitter)
        self._alpha = cho_solve((self._chol, True), self._residual(), check_finite=False)

    def _extend(self, old: _Data, pts: np.ndarray, w: np.ndarray, r: np.ndarray) -> None:
        """Block Cholesky update: [[L, 0], [B^T, L22]] with B = L^{-1} K_12 and
        L22 L22^T = K_22 + noise - B^T B (a rank-one update when one row is added)."""
        k12 = self._obs_cov(old.points, old.weights, pts, w)
        k22 = self._obs_cov(pts, w, pts, w) + np.diag(self._hyper.noise * r)
        scale = float(np.mean(np.diag(self._chol) ** 2)) if self._chol.size else 1.0
        k22 = k22 + self._jitter_used * scale * np.eye(k22.shape[0])
        b = solve_triangular(self._chol, k12, lower=True, check_finite=False)
        schur = k22 - b.T @ b
        try:
            l22 = cholesky(schur, lower=True, check_finite=False)
        except LinAlgError:
            log.debug("block Cholesky update failed; refactorising with jitter")
            self._refactor()
            return
        n, m = self._chol.shape[0], l22.shape[0]
        chol = np.zeros((n + m, n + m))
        chol[:n, :n] = self._chol
        chol[n:, :n] = b.T
        chol[n:, n:] = l22
        self._chol = chol
        self._alpha = cho_solve((chol, True), self._residual(), check_finite=False)

    def set_mean(self, mean: float) -> None:
        """Change only the constant prior mean: alpha is re-solved with the existing factor
        (O(n^2)), so data-driven means keep the incremental updates cheap."""
        self._hyper = GPHyperparameters(self._hyper.lengthscales, self._hyper.outputscale,
                                        self._hyper.noise, float(mean))
        if self._data is not None:
            self._alpha = cho_solve((self._chol, True), self._residual(), check_finite=False)

    def set_hyperparameters(self, hyper: GPHyperparameters) -> None:
        """Replace the hyper-parameters and refactorise (O(n^3))."""
        self._hyper = self._checked(hyper)
        if self._data is not None:
            self._refactor()

    # ----------------------------------------------------------------- posterior
    def posterior(self, x: np.ndarray, *, full_cov: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """Posterior of f at ``x`` (m, d): mean (m,) and variance (m,), or covariance (m, m)."""
        xs = self._as_points(x, "x")
        return self.posterior_linear(xs[:, None, :], np.ones((xs.shape[0], 1)), full_cov=full_cov)

    def posterior_linear(
        self, points: np.ndarray, weights: np.ndarray, *, full_cov: bool = False
    ) -> tuple[np.ndarray, np.ndarray]:
        """Posterior of the weighted sums ``g_c = sum_j weights[c, j] f(points[c, j])``.

        ``points`` (c, q, d), ``weights`` (c, q) -> mean (c,), variance (c,) (or cov (c, c)).
        """
        pts = np.asarray(points, dtype=float)
        w = np.asarray(weights, dtype=float)
        if pts.ndim != 3 or pts.shape[2] != self.dim or w.shape != pts.shape[:2]:
            raise InvalidInputError(f"points must be (c, q, {self.dim}) and weights (c, q); got "
                                    f"{pts.shape} and {w.shape}")
        h = self._hyper
        c, q, _ = pts.shape
        mean = h.mean * w.sum(1)
        if full_cov:
            prior = self._obs_cov(pts, w, pts, w)
        else:
            if q == 1:
                prior = np.full(c, h.outputscale) * w[:, 0] ** 2
            else:  # within-candidate blocks k(points[c, j], points[c, j']): (c, q, q)
                diff = (pts[:, :, None, :] - pts[:, None, :, :]) / self._ls()
                prior = np.einsum("cq,cqr,cr->c", w, self._kernel_from_sqdist((diff * diff).sum(-1)), w)
        if self._data is None:
            return mean, prior
        d = self._data
        cross = self._obs_cov(d.points, d.weights, pts, w)  # (n, c)
        mean = mean + cross.T @ self._alpha
        v = solve_triangular(self._chol, cross, lower=True, check_finite=False)
        if full_cov:
            return mean, prior - v.T @ v
        return mean, np.maximum(prior - (v * v).sum(0), 0.0)

    def _kernel_from_sqdist(self, sq: np.ndarray) -> np.ndarray:
        s = self._hyper.outputscale
        if self.kernel == "rbf":
            return s * np.exp(-0.5 * sq)
        r = np.sqrt(sq)
        return s * (1.0 + np.sqrt(5.0) * r + (5.0 / 3.0) * sq) * np.exp(-np.sqrt(5.0) * r)

    def _as_points(self, x: np.ndarray, name: str) -> np.ndarray:
        xs = np.asarray(x, dtype=float)
        if xs.ndim == 1 and self.dim == 1:
            xs = xs[:, None]
        if xs.ndim != 2 or xs.shape[1] != self.dim:
            raise InvalidInputError(f"{name} must have shape (m, {self.dim}), got {np.shape(x)}")
        return xs

    # ----------------------------------------------------------------- evidence
    def log_marginal_likelihood(self) -> float:
        """log p(y | hyper) = -r^T alpha / 2 - sum log diag L - n log(2 pi) / 2 (R&W eq. 2.30)."""
        if self._data is None:
            return 0.0
        res = self._residual()
        n = res.shape[0]
        return float(-0.5 * res @ self._alpha - np.log(np.diag(self._chol)).sum()
                     - 0.5 * n * np.log(2 * np.pi))

    def information_gain(self) -> float:
        """Realised information gain 0.5 log det(I + Sigma^{-1} K) of the observations so far,
        the quantity whose maximum gamma_t enters the GP-UCB confidence width."""
        if self._data is None:
            return 0.0
        noise = self._hyper.noise * self._data.noise_scale
        return float(np.log(np.diag(self._chol)).sum() - 0.5 * np.log(noise).sum())

    # ----------------------------------------------------------------- state
    def state_dict(self) -> dict[str, Any]:
        """A JSON-friendly snapshot (data and hyper-parameters)."""
        data = self.training_data()
        return {
            "dim": self.dim, "kernel": self.kernel, "jitter": self.jitter,
            "max_jitter": self.max_jitter,
            "hyper": {"lengthscales": list(self._hyper.lengthscales),
                      "outputscale": self._hyper.outputscale, "noise": self._hyper.noise,
                      "mean": self._hyper.mean},
            **{k: v.tolist() for k, v in data.items()},
            "jitter_used": self._jitter_used,
            "cholesky": self._chol.tolist(),
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> ExactGP:
        """Rebuild a GP saved with :meth:`state_dict`. The saved Cholesky factor is reused, so
        the copy is bit-identical (refactorising would differ by round-off, enough to flip
        near-ties of an acquisition); without one, the data are refactorised."""
        gp = cls(int(state["dim"]), kernel=state["kernel"], hyper=GPHyperparameters(**state["hyper"]),
                 jitter=float(state["jitter"]), max_jitter=float(state["max_jitter"]))
        y = np.asarray(state["y"], dtype=float)
        if y.size:
            pts = np.asarray(state["points"], dtype=float).reshape(y.size, -1, gp.dim)
            gp.add(pts, y, weights=np.asarray(state["weights"], dtype=float).reshape(y.size, -1),
                   noise_scale=np.asarray(state["noise_scale"], dtype=float))
            chol = np.asarray(state.get("cholesky", []), dtype=float)
            if chol.shape == (y.size, y.size):
                gp._chol, gp._jitter_used = chol, float(state["jitter_used"])
                gp._alpha = cho_solve((chol, True), gp._residual(), check_finite=False)
        return gp


# --------------------------------------------------------------------------- fitting
@dataclass
class _Packing:
    n_ls: int
    fit_noise: bool
    fit_mean: bool

    def pack(self, h: GPHyperparameters) -> np.ndarray:
        ls = np.asarray(h.lengthscales)
        if ls.size != self.n_ls:  # broadcast one value, or share the geometric mean
            ls = np.full(self.n_ls, np.exp(np.mean(np.log(ls))))
        parts = [np.log(ls), [np.log(h.outputscale)]]
        if self.fit_noise:
            parts.append([np.log(h.noise)])
        if self.fit_mean:
            parts.append([h.mean])
        return np.concatenate([np.asarray(p, dtype=float) for p in parts])

    def unpack(self, theta: np.ndarray, base: GPHyperparameters) -> GPHyperparameters:
        i = self.n_ls
        ls = tuple(np.exp(theta[:i]))
        s = float(np.exp(theta[i]))
        i += 1
        noise = base.noise
        if self.fit_noise:
            noise = float(np.exp(theta[i]))
            i += 1
        mean = float(theta[i]) if self.fit_mean else base.mean
        return GPHyperparameters(lengthscales=ls, outputscale=s, noise=noise, mean=mean)


def _neg_mll_and_grad(theta: np.ndarray, gp: ExactGP, pack: _Packing,
                      base: GPHyperparameters) -> tuple[float, np.ndarray]:
    """Negative log marginal likelihood and its gradient in the packed parameters (R&W eq. 5.9:
    d log p / d theta = tr((alpha alpha^T - K^{-1}) dK/d theta) / 2)."""
    h = pack.unpack(theta, base)
    d = gp._data
    assert d is not None
    n, q, _ = d.points.shape
    flat = d.points.reshape(n * q, -1)
    ls = gp._ls(h)
    kf = kernel_matrix(gp.kernel, flat, flat, ls, h.outputscale)
    dkf = kernel_grad_log_lengthscales(gp.kernel, flat, ls, h.outputscale, shared=pack.n_ls == 1)
    if q == 1:
        ww = d.weights[:, 0][:, None] * d.weights[:, 0][None, :]
        k_obs, dk_ls = kf * ww, dkf * ww[None]
    else:
        k_obs = np.einsum("iq,iqjr,jr->ij", d.weights, kf.reshape(n, q, n, q), d.weights)
        dk_ls = np.einsum("iq,liqjr,jr->lij", d.weights, dkf.reshape(-1, n, q, n, q), d.weights)
    cov = k_obs + np.diag(h.noise * d.noise_scale)
    try:
        chol, _ = robust_cholesky(cov, jitter=gp.jitter, max_jitter=gp.max_jitter)
    except CholeskyError:
        return 1e25, np.zeros_like(theta)
    res = d.y - h.mean * d.weights.sum(1)
    alpha = cho_solve((chol, True), res, check_finite=False)
    mll = -0.5 * res @ alpha - np.log(np.diag(chol)).sum() - 0.5 * n * np.log(2 * np.pi)
    kinv = cho_solve((chol, True), np.eye(n), check_finite=False)
    a = np.outer(alpha, alpha) - kinv
    grads = [0.5 * np.einsum("ij,lij->l", a, dk_ls), [0.5 * np.sum(a * k_obs)]]
    if pack.fit_noise:
        grads.append([0.5 * np.sum(np.diag(a) * h.noise * d.noise_scale)])
    if pack.fit_mean:
        grads.append([alpha @ d.weights.sum(1)])
    grad = np.concatenate([np.asarray(g, dtype=float) for g in grads])
    return float(-mll), -grad


def fit_hyperparameters(
    gp: ExactGP, config: FitConfig | None = None, rng: np.random.Generator | None = None
) -> GPHyperparameters:
    """Maximise the log marginal likelihood over (log lengthscales, log outputscale[, log
    noise][, mean]) with L-BFGS-B from the current values and ``config.restarts`` random
    starts drawn from ``rng``; sets and returns the best hyper-parameters.
    """
    cfg = config or FitConfig()
    if gp.n_observations == 0:
        raise InvalidInputError("cannot fit hyper-parameters without observations")
    if cfg.restarts and rng is None:
        raise InvalidInputError("rng is required when restarts > 0")
    base = gp.hyper
    pack = _Packing(n_ls=gp.dim if cfg.ard else 1, fit_noise=cfg.fit_noise, fit_mean=cfg.fit_mean)
    bounds = [tuple(np.log(cfg.lengthscale_bounds))] * pack.n_ls + [tuple(np.log(cfg.outputscale_bounds))]
    if cfg.fit_noise:
        bounds.append(tuple(np.log(cfg.noise_bounds)))
    if cfg.fit_mean:
        y = gp._data.y if gp._data is not None else np.zeros(1)
        span = float(np.ptp(y)) + float(np.abs(y).max()) + 1.0
        bounds.append((-span * 10, span * 10))
    lo, hi = np.array([b[0] for b in bounds]), np.array([b[1] for b in bounds])
    start = np.clip(pack.pack(base), lo, hi)
    starts = [start] + [rng.uniform(lo, hi) if rng is not None else start for _ in range(cfg.restarts)]
    if cfg.fit_mean and len(starts) > 1:  # the mean's box is wide: restart it at its current value
        for s in starts[1:]:
            s[-1] = start[-1]
    best_theta, best_val = start, np.inf
    for theta0 in starts:
        res = minimize(_neg_mll_and_grad, theta0, args=(gp, pack, base), jac=True, method="L-BFGS-B",
                       bounds=bounds, options={"maxiter": cfg.maxiter})
        if np.isfinite(res.fun) and res.fun < best_val:
            best_theta, best_val = res.x, float(res.fun)
    best = pack.unpack(best_theta, base)
    gp.set_hyperparameters(best)
    return best

