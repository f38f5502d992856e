"""Self-play preference losses in NumPy: the objectives of
:mod:`saddlepoint.preference.objectives` (which define them, with their symbols and scaling)
with their analytic gradients.

Each function returns ``(loss, grad)``: the loss averaged over the batch and its gradient with
respect to the trainable log-probabilities ``logp`` (same shape as ``logp``), so a tabular
learner can chain it through ``log_softmax``. The torch versions in
:mod:`saddlepoint.preference.torch_losses` return the same values with autograd. In the exact
tabular limit RSPO with reverse KL is magnetic mirror descent with tau = 2 lambda / eta and
RSPO with importance-sampled forward KL has the forward-KL equilibrium with tau = lambda / eta
(see :func:`equivalent_regularization`).
"""

from __future__ import annotations

import numpy as np

from saddlepoint.errors import InvalidInputError
from saddlepoint.preference.objectives import (
    REGULARIZERS,
    equivalent_regularization,
    inpo_objective,
    inpo_residual,
    nash_md_pg_objective,
    regularizer_rho,
    rspo_objective,
    sppo_objective,
    sppo_residual,
)

__all__ = [
    "REGULARIZERS",
    "equivalent_regularization",
    "forward_kl_sft_loss",
    "inpo_loss",
    "nash_md_pg_loss",
    "penalty_derivatives",
    "regularizer_penalty",
    "rspo_loss",
    "sppo_loss",
]

def _arrays(*arrays: object) -> list[np.ndarray]:
    out = [np.asarray(a, dtype=float) for a in arrays]
    shape = out[0].shape
    for a in out[1:]:
        if a.shape != shape and a.shape != ():
            raise InvalidInputError(f"log-probability arrays must share shape {shape}, got {a.shape}")
    if out[0].size == 0:
        raise InvalidInputError("the batch of log-probabilities is empty")
    return out


def sppo_loss(logp: object, logp_t: object, p_hat: object, eta: float) -> tuple[float, np.ndarray]:
    """SPPO: mean of 1/2 (l - l_t - eta (p_hat - 1/2))^2 over responses (RSPO notes, step 4).

    Shapes: all ``(B,)`` (or broadcastable scalars); returns ``(loss, dloss/dlogp (B,))``.
    Zero exactly when the log-ratio l - l_t equals eta (p_hat - 1/2).
    """
    logp, logp_t, p_hat = _arrays(logp, logp_t, p_hat)
    r = sppo_residual(logp, logp_t, p_hat, eta)
    return float(sppo_objective(logp, logp_t, p_hat, eta)), r / r.size


def penalty_derivatives(
    logp: np.ndarray, logp_ref: np.ndarray, regularizer: str, *, clip: float = 10.0, mix_coef: float = 1.0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Elementwise rho, d rho / d l and d^2 rho / d l^2 of a regulariser surrogate.

    ``logp`` and ``logp_ref`` of any (equal) shape. ``clip`` caps the exponent of the
    exponential surrogates (the official code uses 10); beyond it the gradient is zero.
    """
    rho = regularizer_rho(logp, logp_ref, regularizer, clip=clip, mix_coef=mix_coef)
    delta = logp - logp_ref
    zeros = np.zeros_like(delta)
    if regularizer == "none":
        return rho, zeros, zeros
    if regularizer == "reverse_kl":
        return rho, 2.0 * delta, np.full_like(delta, 2.0)
    if regularizer == "reverse_kl_no_entropy":
        return rho, -logp_ref * np.ones_like(logp), zeros
    if regularizer == "forward_kl_is":
        active = -delta < clip
        return rho, np.where(active, -rho, 0.0), np.where(active, rho, 0.0)
    if regularizer in ("chi2", "chi2_smooth"):
        active = delta < clip
        e = np.exp(np.minimum(delta, clip))
        if regularizer == "chi2":
            return rho, np.where(active, e, 0.0), np.where(active, e, 0.0)
        d1 = e / (1.0 + e) ** 2
        d2 = e * (1.0 - e) / (1.0 + e) ** 3
        return rho, np.where(active, d1, 0.0), np.where(active, d2, 0.0)
    if regularizer == "entropy":
        return rho, 2.0 * logp, np.full_like(logp, 2.0)
    # forward_kl_is+reverse_kl (regularizer_rho has refused any other name)
    _, f1, f2 = penalty_derivatives(logp, logp_ref, "forward_kl_is", clip=clip)
    return rho, f1 + mix_coef * (2.0 * delta), f2 + mix_coef * 2.0


def regularizer_penalty(
    logp: object, logp_ref: object, regularizer: str, *, clip: float = 10.0, mix_coef: float = 1.0
) -> tuple[float, np.ndarray]:
    """Mean surrogate penalty rho over responses and its gradient. Shapes ``(B,)``."""
    logp, logp_ref = _arrays(logp, logp_ref)
    rho, d1, _ = penalty_derivatives(logp, logp_ref, regularizer, clip=clip, mix_coef=mix_coef)
    return float(rho.mean()), d1 / rho.size


def rspo_loss(
    logp: object,
    logp_t: object,
    logp_ref: object,
    p_hat: object,
    eta: float,
    reg_coef: float,
    regularizer: str = "reverse_kl",
    *,
    clip: float = 10.0,
    mix_coef: float = 1.0,
) -> tuple[float, np.ndarray]:
    """:func:`~saddlepoint.preference.objectives.rspo_objective` and its gradient. ``(B,)``.

    With ``reg_coef = 0`` (or ``regularizer="none"``) it is exactly :func:`sppo_loss`.
    """
    _, g_base = sppo_loss(logp, logp_t, p_hat, eta)
    _, g_pen = regularizer_penalty(logp, logp_ref, regularizer, clip=clip, mix_coef=mix_coef)
    logp, logp_t, logp_ref, p_hat = _arrays(logp, logp_t, logp_ref, p_hat)
    loss = rspo_objective(logp, logp_t, logp_ref, p_hat, eta, reg_coef, regularizer, clip=clip, mix_coef=mix_coef)
    return float(loss), g_base + reg_coef * g_pen


def inpo_loss(logp: object, logp_t: object, logp_ref: object, eta: float, tau: float) -> tuple[float, np.ndarray]:
    """:func:`~saddlepoint.preference.objectives.inpo_objective` (Zhang et al. 2025) and its
    gradient. Shapes ``(B, 2)``: column 0 the preferred response y_w, column 1 the other y_l.

    The gradient with respect to ``logp`` is ``(B, 2)``; note its norm per pair is
    2 * sqrt(2) |residual| / B, which makes large steps oscillate (RSPO notes, "Pitfalls").
    """
    logp, logp_t, logp_ref = _arrays(logp, logp_t, logp_ref)
    r = inpo_residual(logp, logp_t, logp_ref, eta, tau)
    n = r.size
    g = np.stack([2.0 * r / n, -2.0 * r / n], axis=1)
    return float(inpo_objective(logp, logp_t, logp_ref, eta, tau)), g


def nash_md_pg_loss(logp: object, logp_ref: object, p: object, tau: float,
                    mask: object | None = None) -> tuple[float, np.ndarray]:
    """:func:`~saddlepoint.preference.objectives.nash_md_pg_objective` (Munos et al. 2024;
    Nash-MD-PG as TRL <= 1.13 implemented it) and its gradient.

    Shapes: ``logp`` and ``logp_ref`` are ``(B, T)`` per-token log-probs with ``mask`` ``(B, T)``
    marking response tokens (default: all), as TRL sums the KL term per token; or ``(B,)``
    summed log-probs, the one-token case, where the KL term is sg(l - l_ref) * l (a
    sequence-level REINFORCE estimate of grad KL). ``p`` is ``(B,)``. Returns the loss and its
    gradient with respect to ``logp`` (shape of ``logp``): ``m (tau (l - l_ref) - (p - 1/2)) / B``.
    """
    logp, logp_ref = _arrays(logp, logp_ref)
    logp_ref = np.broadcast_to(logp_ref, logp.shape)
    if logp.ndim not in (1, 2):
        raise InvalidInputError(f"Nash-MD log-probabilities must have shape (B,) or (B, T), got {logp.shape}")
    tok, tok_ref = (logp[:, None], logp_ref[:, None]) if logp.ndim == 1 else (logp, logp_ref)
    m = np.ones_like(tok) if mask is None else np.asarray(mask, dtype=float).reshape(tok.shape[0], -1)
    p = np.asarray(p, dtype=float)
    p = np.full(tok.shape[0], float(p)) if p.shape == () else p
    if m.shape != tok.shape or p.shape != (tok.shape[0],):
        raise InvalidInputError(f"Nash-MD needs mask of shape {tok.shape} and p of shape ({tok.shape[0]},); "
                                f"got {m.shape} and {p.shape}")
    grad = m * (tau * (tok - tok_ref) - (p - 0.5)[:, None]) / tok.shape[0]
    return float(nash_md_pg_objective(tok, tok_ref, p, tau, m)), grad.reshape(logp.shape)


def forward_kl_sft_loss(logp_ref_samples: object) -> tuple[float, np.ndarray]:
    """Forward KL with reference samples: mean of -l_theta(y_ref), y_ref ~ pi_ref. ``(B,)``."""
    (lp,) = _arrays(logp_ref_samples)
    return float(-lp.mean()), np.full_like(lp, -1.0 / lp.size)
