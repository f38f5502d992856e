"""Stationary ARD kernels (squared exponential and Matérn 5/2) and their gradients.

A product kernel k_X(a, a') k_P(xi, xi') of two squared-exponential kernels equals one ARD
squared-exponential kernel on the concatenated input (a, xi) with one lengthscale per
dimension, which is how the mean-field surrogate uses it.
"""

from __future__ import annotations

import numpy as np

from saddlepoint.config import check_choice

KERNELS = ("rbf", "matern52")
_SQRT5 = np.sqrt(5.0)


def _scaled_sqdist(x1: np.ndarray, x2: np.ndarray, lengthscales: np.ndarray) -> np.ndarray:
    """Squared distances ``sum_d ((x1_d - x2_d) / l_d)^2``; shapes (a, d), (b, d) -> (a, b)."""
    a, b = x1 / lengthscales, x2 / lengthscales
    sq = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * a @ b.T
    return np.maximum(sq, 0.0)


def kernel_matrix(
    kind: str, x1: np.ndarray, x2: np.ndarray, lengthscales: np.ndarray, outputscale: float
) -> np.ndarray:
    """Kernel matrix K[i, j] = k(x1_i, x2_j); shapes (a, d), (b, d) -> (a, b).

    ``rbf``: s * exp(-r^2 / 2); ``matern52``: s * (1 + sqrt5 r + 5 r^2 / 3) exp(-sqrt5 r),
    with r the lengthscale-scaled distance (Rasmussen & Williams 2006, eqs. 4.9 and 4.17).
    """
    check_choice("kernel", kind, KERNELS)
    sq = _scaled_sqdist(x1, x2, lengthscales)
    if kind == "rbf":
        return outputscale * np.exp(-0.5 * sq)
    r = np.sqrt(sq)
    return outputscale * (1.0 + _SQRT5 * r + (5.0 / 3.0) * sq) * np.exp(-_SQRT5 * r)


def kernel_grad_log_lengthscales(
    kind: str, x: np.ndarray, lengthscales: np.ndarray, outputscale: float, shared: bool
) -> np.ndarray:
    """dK/d log l for K = k(x, x); shape (a, d) -> (d, a, a), or (1, a, a) when one lengthscale
    is shared by every dimension.

    With u_d = (x_d - x'_d)^2 / l_d^2: rbf gives K * u_d; matern52 gives
    s (5/3) (1 + sqrt5 r) exp(-sqrt5 r) u_d (the derivative through r, which has no
    singularity at r = 0).
    """
    check_choice("kernel", kind, KERNELS)
    diff = (x[:, None, :] - x[None, :, :]) / lengthscales
    u = np.moveaxis(diff * diff, -1, 0)  # (d, a, a)
    if shared:
        u = u.sum(0, keepdims=True)
    sq = u.sum(0)
    if kind == "rbf":
        factor = outputscale * np.exp(-0.5 * sq)
    else:
        r = np.sqrt(sq)
        factor = outputscale * (5.0 / 3.0) * (1.0 + _SQRT5 * r) * np.exp(-_SQRT5 * r)
    return factor[None] * u
