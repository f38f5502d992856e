"""Self-play preference losses as pure NumPy functions of summed log-probabilities.

Every log-probability is ``log pi(y | x)`` **summed over the response tokens** (RSPO notes,
"Pitfalls"). Each function returns ``(loss, grad)``: the loss averaged over the batch and its
gradient with respect to the trainable log-probabilities ``logp`` (same shape as ``logp``),
so a tabular learner can chain it through ``log_softmax``. The torch versions in
:mod:`saddlepoint.preference.torch_losses` compute the same values (tested against these).

Symbols: ``logp`` = l_theta, ``logp_t`` = l_t (frozen snapshot pi_t), ``logp_ref`` = l_ref,
``p_hat`` = estimated win rate P(y > pi_t), ``eta`` = 1 / beta, ``reg_coef`` = lambda,
``delta = logp - logp_ref``.

Scaling: the SPPO term is **halved**, ``1/2 (l - l_t - eta (p_hat - 1/2))^2``, so in the
exact tabular limit RSPO with reverse KL is magnetic mirror descent with tau = 2 lambda / eta
and RSPO with importance-sampled forward KL has the forward-KL equilibrium with
tau = lambda / eta (see :func:`equivalent_regularization`).
"""

from __future__ import annotations

import numpy as np

from saddlepoint.errors import InvalidInputError

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

#: Regulariser surrogates rho(theta; y) of the RSPO notes' table (official-code options).
REGULARIZERS = (
    "none",                      # plain SPPO
    "reverse_kl",                # delta^2; its gradient at theta_t, y ~ pi_t, is 2 grad KL(pi||ref)
    "reverse_kl_no_entropy",     # -l_theta * l_ref
    "forward_kl_is",             # exp(min(-delta, clip)) = pi_ref / pi_theta, clipped exponent
    "chi2",                      # exp(min(delta, clip))
    "chi2_smooth",               # rho / (1 + rho), rho = exp(min(delta, clip))
    "entropy",                   # l_theta^2
    "forward_kl_is+reverse_kl",  # forward_kl_is + mix_coef * reverse_kl
)


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
    r = logp - logp_t - eta * (p_hat - 0.5)
    n = r.size
    return float(0.5 * np.sum(r**2) / n), r / n


def penalty_derivatives(
    logp: np.ndarray, logp_ref: np.ndarray, regularizer: str, *, clip: float = 10.0, mix_coef: float = 1.0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Elementwise rho, d rho / d l and d^2 rho / d l^2 of a regulariser surrogate.

    ``logp`` and ``logp_ref`` of any (equal) shape. ``clip`` caps the exponent of the
    exponential surrogates (the official code uses 10); beyond it the gradient is zero.
    """
    delta = logp - logp_ref
    zeros = np.zeros_like(delta)
    if regularizer == "none":
        return zeros, zeros, zeros
    if regularizer == "reverse_kl":
        return delta**2, 2.0 * delta, np.full_like(delta, 2.0)
    if regularizer == "reverse_kl_no_entropy":
        return -logp * logp_ref, -logp_ref * np.ones_like(logp), zeros
    if regularizer == "forward_kl_is":
        active = -delta < clip
        rho = np.exp(np.minimum(-delta, clip))
        return rho, np.where(active, -rho, 0.0), np.where(active, rho, 0.0)
    if regularizer in ("chi2", "chi2_smooth"):
        active = delta < clip
        rho = np.exp(np.minimum(delta, clip))
        if regularizer == "chi2":
            return rho, np.where(active, rho, 0.0), np.where(active, rho, 0.0)
        d1 = rho / (1.0 + rho) ** 2
        d2 = rho * (1.0 - rho) / (1.0 + rho) ** 3
        return rho / (1.0 + rho), np.where(active, d1, 0.0), np.where(active, d2, 0.0)
    if regularizer == "entropy":
        return logp**2, 2.0 * logp, np.full_like(logp, 2.0)
    if regularizer == "forward_kl_is+reverse_kl":
        f0, f1, f2 = penalty_derivatives(logp, logp_ref, "forward_kl_is", clip=clip)
        r0, r1, r2 = penalty_derivatives(logp, logp_ref, "reverse_kl")
        return f0 + mix_coef * r0, f1 + mix_coef * r1, f2 + mix_coef * r2
    raise InvalidInputError(f"regularizer must be one of {', '.join(REGULARIZERS)}; got {regularizer!r}")


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
    """RSPO: SPPO term + lambda * mean rho (RSPO notes, step 4). Shapes ``(B,)``.

    With ``reg_coef = 0`` (or ``regularizer="none"``) it is exactly :func:`sppo_loss`.
    """
    base, g_base = sppo_loss(logp, logp_t, p_hat, eta)
    pen, g_pen = regularizer_penalty(logp, logp_ref, regularizer, clip=clip, mix_coef=mix_coef)
    return base + reg_coef * pen, g_base + reg_coef * g_pen


def inpo_loss(logp: object, logp_t: object, logp_ref: object, eta: float, tau: float) -> tuple[float, np.ndarray]:
    """INPO (Zhang et al. 2025): mean over pairs of
    (h - eta tau h_ref - (1 - eta tau) h_t - eta / 2)^2 with h = l(y_w) - l(y_l).

    Shapes ``(B, 2)``: column 0 the preferred response y_w, column 1 the other y_l.
    Returns the gradient with respect to ``logp`` (``(B, 2)``; note its norm per pair is
    2 * sqrt(2) |residual| / B, which makes large steps oscillate — RSPO notes, "Pitfalls").
    """
    logp, logp_t, logp_ref = _arrays(logp, logp_t, logp_ref)
    if logp.ndim != 2 or logp.shape[1] != 2:
        raise InvalidInputError(f"INPO log-probabilities must have shape (B, 2), got {logp.shape}")

    def h(a):
        return a[:, 0] - a[:, 1]

    r = h(logp) - eta * tau * h(logp_ref) - (1.0 - eta * tau) * h(logp_t) - eta / 2.0
    n = r.size
    g = np.stack([2.0 * r / n, -2.0 * r / n], axis=1)
    return float(np.sum(r**2) / n), g


def nash_md_pg_loss(logp: object, logp_ref: object, p: object, beta: float,
                    mask: object | None = None) -> tuple[float, np.ndarray]:
    """Nash-MD policy gradient (Munos et al. 2024; Nash-MD-PG as TRL <= 1.13 implemented it):
    mean over responses y ~ pi_theta of

        beta * sum_j sg(l_j - l_ref_j) * l_j  -  (p - 1/2) * sum_j l_j

    with ``p`` = P(y > y'), y' from the geometric mixture, and sg = stop-gradient: REINFORCE
    with the preference as reward (1/2 the control variate) and a KL penalty.

    Shapes: ``logp`` and ``logp_ref`` are ``(B, T)`` per-token log-probs with ``mask`` ``(B, T)``
    marking response tokens (default: all), as TRL sums the KL term per token; or ``(B,)``
    summed log-probs, the one-token case, where the KL term is sg(l - l_ref) * l (a
    sequence-level REINFORCE estimate of grad KL). ``p`` is ``(B,)``. Returns the loss and its
    gradient with respect to ``logp`` (shape of ``logp``): ``m (beta (l - l_ref) - (p - 1/2)) / B``.
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
    n = tok.shape[0]
    kl_term = beta * np.sum(m * (tok - tok_ref) * tok, axis=1)
    score = (p - 0.5) * np.sum(m * tok, axis=1)
    grad = m * (beta * (tok - tok_ref) - (p - 0.5)[:, None]) / n
    return float(np.sum(kl_term - score) / n), grad.reshape(logp.shape)


def forward_kl_sft_loss(logp_ref_samples: object) -> tuple[float, np.ndarray]:
    """Forward KL with reference samples: mean of -l_theta(y_ref), y_ref ~ pi_ref. ``(B,)``."""
    (lp,) = _arrays(logp_ref_samples)
    return float(-lp.mean()), np.full_like(lp, -1.0 / lp.size)


def equivalent_regularization(eta: float, reg_coef: float, regularizer: str, mix_coef: float = 1.0) -> tuple[float, float] | None:
    """``(tau_reverse, tau_forward)`` of the game whose equilibrium RSPO's exact-regression
    limit reaches (RSPO notes, "Idealised tabular limit", halved SPPO term), or None when the
    surrogate has no such game (chi^2, entropy, no-entropy reverse KL)."""
    if regularizer == "none" or reg_coef == 0:
        return 0.0, 0.0
    if regularizer == "reverse_kl":
        return 2.0 * reg_coef / eta, 0.0
    if regularizer == "forward_kl_is":
        return 0.0, reg_coef / eta
    if regularizer == "forward_kl_is+reverse_kl":
        return 2.0 * mix_coef * reg_coef / eta, reg_coef / eta
    return None
