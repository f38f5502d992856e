"""Upper-confidence-bound acquisitions and the confidence-width schedule.

Convention: every parameter named ``beta_sqrt`` is beta^{1/2}, the multiplier of the
posterior *standard deviation* (UCB = mu + beta^{1/2} sigma). BoTorch's
``UpperConfidenceBound(beta=...)`` takes beta itself and multiplies sigma by sqrt(beta); pass
``beta_sqrt ** 2`` there.
"""

from __future__ import annotations

import math

import numpy as np

from saddlepoint.config import check_choice

__all__ = ["BETA_SCHEDULES", "beta_sqrt_at", "loose_mean_field_ucb", "ucb"]

BETA_SCHEDULES = ("constant", "theory")


def beta_sqrt_at(schedule: str, *, beta_sqrt: float, rkhs_bound: float, noise_sd: float,
                 delta: float, information_gain: float) -> float:
    """beta_t^{1/2} for round t.

    ``constant``: ``beta_sqrt`` (practical choice, 1 to 3). ``theory``: the GP-UCB width for
    f with RKHS norm at most B (Chowdhury & Gopalan 2017, Thm. 2 form):
    beta_t^{1/2} = B + sigma sqrt(2 (gamma_t + 1 + ln(1/delta))), with gamma_t replaced by the
    realised information gain of the data so far (a lower bound on the maximal gain).
    """
    check_choice("beta", schedule, BETA_SCHEDULES)
    if schedule == "constant":
        return float(beta_sqrt)
    return float(rkhs_bound + noise_sd * math.sqrt(2.0 * (information_gain + 1.0 + math.log(1.0 / delta))))


def ucb(mean: np.ndarray, variance: np.ndarray, beta_sqrt: float) -> np.ndarray:
    """GP-UCB score mu + beta^{1/2} sigma (Srinivas et al. 2010, eq. 6); shapes (m,) -> (m,)."""
    return mean + beta_sqrt * np.sqrt(np.maximum(variance, 0.0))


def loose_mean_field_ucb(xi: np.ndarray, mean: np.ndarray, variance: np.ndarray,
                         beta_sqrt: float) -> np.ndarray:
    """Loose mean-field UCB of F(xi) = sum_a xi_a f(a, xi): sum_a xi_a [mu(a, xi) +
    beta^{1/2} sigma(a, xi)], from per-action posterior means and variances (m, K) at
    candidates xi (m, K) -> (m,).

    The tight version is :func:`ucb` applied to the posterior of the weighted sum itself,
    xi^T mu(xi) + beta^{1/2} sqrt(xi^T Sigma(xi) xi); by the triangle inequality for standard
    deviations it is never larger than the loose one.
    """
    return (xi * (mean + beta_sqrt * np.sqrt(np.maximum(variance, 0.0)))).sum(-1)
