"""The d1 (diffu-GRPO) and wd1 policy losses as pure functions of log-likelihood estimates.

Shapes: ``B`` prompts, ``G`` completions per prompt (the group), ``C`` completion tokens.
Groups are an explicit axis, so the softmax of wd1 runs over one prompt's completions only
(the official code's per-device batch happens to equal the group).
"""

from __future__ import annotations

from saddlepoint.config import check_positive
from saddlepoint.errors import InvalidInputError, require

torch = require("torch", "torch")

__all__ = ["diffu_grpo_loss", "group_advantages", "wd1_loss", "wd1_weights"]


def group_advantages(rewards: torch.Tensor) -> torch.Tensor:
    """``A_i = r_i - mean_j r_j`` within each group, ``(B, G) -> (B, G)``; no std scaling."""
    if rewards.dim() != 2:
        raise InvalidInputError(f"rewards must be (B, G), got {tuple(rewards.shape)}")
    return rewards - rewards.mean(dim=1, keepdim=True)


def wd1_weights(advantages: torch.Tensor, psi: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
    """``w+ = softmax_i(psi A_i)`` and ``w- = softmax_i(-psi A_i)`` per group, each ``(B, G)``."""
    if advantages.dim() != 2:
        raise InvalidInputError(f"advantages must be (B, G), got {tuple(advantages.shape)}")
    check_positive("psi", psi)
    a = advantages.detach()
    return torch.softmax(psi * a, dim=1), torch.softmax(-psi * a, dim=1)


def wd1_loss(seq_logp: torch.Tensor, advantages: torch.Tensor, psi: float = 1.0,
             negative: bool = True) -> torch.Tensor:
    """wd1's ratio-free weighted likelihood loss, a scalar (mean over the B groups).

    ``L = -sum_i w+_i log pi(y_i|x) + sum_i w-_i log pi(y_i|x)`` per group (wd1, Tang et al.
    2025, eq. for L_wd1; ``negative=False`` drops the unlearning term: the positive-only
    ablation). ``seq_logp`` ``(B, G)`` are *summed* token log-likelihood estimates.
    """
    if seq_logp.shape != advantages.shape:
        raise InvalidInputError(
            f"seq_logp and advantages must both be (B, G); got {tuple(seq_logp.shape)}, {tuple(advantages.shape)}")
    w_pos, w_neg = wd1_weights(advantages, psi)
    per_group = -(w_pos * seq_logp).sum(dim=1)
    if negative:
        per_group = per_group + (w_neg * seq_logp).sum(dim=1)
    return per_group.mean()


def diffu_grpo_loss(token_logp: torch.Tensor, old_token_logp: torch.Tensor, ref_token_logp: torch.Tensor,
                    advantages: torch.Tensor, completion_mask: torch.Tensor | None = None,
                    epsilon: float = 0.5, beta: float = 0.04) -> torch.Tensor:
    """diffu-GRPO's clipped surrogate with a k3 KL penalty, a scalar.

    Token ratio ``rho = exp(logp - old)``; per token ``min(rho A, clip(rho, 1-eps, 1+eps) A)
    - beta KL``, ``KL = exp(ref - logp) - (ref - logp) - 1``; averaged over each completion's
    tokens, then over all B*G completions, negated (d1, Zhao et al. 2025, eq. 3).
    Log-prob inputs are ``(B, G, C)``; ``advantages`` ``(B, G)``; ``completion_mask`` ``(B, G, C)``
    marks the tokens that count (default: all).
    """
    if not (token_logp.shape == old_token_logp.shape == ref_token_logp.shape) or token_logp.dim() != 3:
        raise InvalidInputError("token_logp, old_token_logp and ref_token_logp must all be (B, G, C)")
    if advantages.shape != token_logp.shape[:2]:
        raise InvalidInputError(f"advantages must be (B, G)={tuple(token_logp.shape[:2])}, got {tuple(advantages.shape)}")
    check_positive("epsilon", epsilon)
    check_positive("beta", beta, allow_zero=True)
    if completion_mask is None:
        completion_mask = torch.ones_like(token_logp)
    mask = completion_mask.to(token_logp.dtype)
    adv = advantages.detach()[..., None]
    ratio = torch.exp(token_logp - old_token_logp.detach())
    surrogate = torch.minimum(ratio * adv, ratio.clamp(1 - epsilon, 1 + epsilon) * adv)
    delta = ref_token_logp.detach() - token_logp
    kl = torch.exp(delta) - delta - 1
    per_token = -(surrogate - beta * kl)
    per_seq = (per_token * mask).sum(dim=-1) / mask.sum(dim=-1).clamp_min(1)
    return per_seq.mean()
