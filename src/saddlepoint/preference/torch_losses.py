"""The self-play losses of :mod:`saddlepoint.preference.losses` in torch (extra ``torch``).

The objectives of :mod:`saddlepoint.preference.objectives` (which define them, with their
symbols, shapes and scaling) applied to tensors: each function returns only the scalar loss;
autograd gives the gradient. Inputs are summed log-probabilities; only ``logp`` should carry
gradient (``logp_t`` and ``logp_ref`` are precomputed once per response, RSPO notes
"Real-scale use").
"""

from __future__ import annotations

from saddlepoint.errors import InvalidInputError, require
from saddlepoint.preference.objectives import (
    inpo_objective,
    nash_md_pg_objective,
    regularizer_rho,
    rspo_objective,
    sppo_objective,
)

torch = require("torch", "torch")

__all__ = ["forward_kl_sft_loss", "inpo_loss", "nash_md_pg_loss", "regularizer_penalty", "rspo_loss", "sppo_loss"]


def sppo_loss(logp: torch.Tensor, logp_t: torch.Tensor, p_hat: torch.Tensor, eta: float) -> torch.Tensor:
    """mean 1/2 (l - l_t - eta (p_hat - 1/2))^2. Shapes ``(B,)`` -> scalar."""
    return sppo_objective(logp, logp_t, p_hat, eta)


def regularizer_penalty(logp: torch.Tensor, logp_ref: torch.Tensor, regularizer: str, *, clip: float = 10.0,
                        mix_coef: float = 1.0) -> torch.Tensor:
    """Mean surrogate rho over responses (clipped exponents have zero gradient). ``(B,)``."""
    return regularizer_rho(logp, logp_ref, regularizer, clip=clip, mix_coef=mix_coef).mean()


def rspo_loss(logp: torch.Tensor, logp_t: torch.Tensor, logp_ref: torch.Tensor, p_hat: torch.Tensor, eta: float,
              reg_coef: float, regularizer: str = "reverse_kl", *, clip: float = 10.0,
              mix_coef: float = 1.0) -> torch.Tensor:
    """SPPO term + lambda * mean rho. Shapes ``(B,)`` -> scalar."""
    return rspo_objective(logp, logp_t, logp_ref, p_hat, eta, reg_coef, regularizer, clip=clip, mix_coef=mix_coef)


def inpo_loss(logp: torch.Tensor, logp_t: torch.Tensor, logp_ref: torch.Tensor, eta: float, tau: float) -> torch.Tensor:
    """mean (h - eta tau h_ref - (1 - eta tau) h_t - eta/2)^2, h = l(y_w) - l(y_l). ``(B, 2)``."""
    return inpo_objective(logp, logp_t, logp_ref, eta, tau)


def nash_md_pg_loss(logp: torch.Tensor, logp_ref: torch.Tensor, p: torch.Tensor, tau: float,
                    mask: torch.Tensor | None = None) -> torch.Tensor:
    """Nash-MD-PG: mean of tau sum_j sg(l_j - l_ref_j) l_j - (p - 1/2) sum_j l_j.

    ``logp``, ``logp_ref``: ``(B, T)`` per-token with ``mask`` ``(B, T)`` (default all), or
    ``(B,)`` summed; ``p``: ``(B,)`` -> scalar.
    """
    if logp.ndim not in (1, 2):
        raise InvalidInputError(f"Nash-MD log-probabilities must have shape (B,) or (B, T), got {tuple(logp.shape)}")
    tok, tok_ref = (logp[:, None], logp_ref[:, None]) if logp.ndim == 1 else (logp, logp_ref)
    m = torch.ones_like(tok) if mask is None else mask.reshape(tok.shape[0], -1).to(tok.dtype)
    p = p.expand(tok.shape[0]) if p.ndim == 0 else p
    if m.shape != tok.shape or tok_ref.shape != tok.shape or p.shape != (tok.shape[0],):
        raise InvalidInputError(f"Nash-MD needs logp_ref and mask of shape {tuple(tok.shape)} and p of shape "
                                f"({tok.shape[0]},); got {tuple(tok_ref.shape)}, {tuple(m.shape)}, {tuple(p.shape)}")
    return nash_md_pg_objective(tok, tok_ref, p, tau, m)


def forward_kl_sft_loss(logp_ref_samples: torch.Tensor) -> torch.Tensor:
    """mean -l_theta(y_ref) over responses sampled from pi_ref. ``(B,)``."""
    return -logp_ref_samples.mean()
