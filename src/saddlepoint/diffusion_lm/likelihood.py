"""Likelihood estimators and the LLaDA training objective for masked diffusion LMs.

A masked diffusion LM has no tractable sequence likelihood. Two estimators, named apart
(they are different quantities):

* :class:`OnePassEstimator` -- d1's proxy (Zhao et al. 2025, sec. 3.2): one forward pass with
  **every completion token masked** and each prompt token masked independently with
  probability ``p``; ``log pi(y|x) ~ sum_k log p(y_k | masked input)``. A mean-field proxy:
  exact when the completion tokens are conditionally independent given the prompt and p = 0.
  It counts its forward passes, which is what wd1 saves.
* :func:`mc_elbo_logp` -- LLaDA's Monte-Carlo ELBO (Nie et al. 2025, eq. 6, the variant with
  ``l ~ U{1..C}`` masked tokens weighted ``C / l``); unbiased for ``log p(y|x)`` when the
  model's conditionals are those of one joint distribution.

:func:`llada_loss` is the pretraining ("instruct") objective: ``t ~ U(eps, 1)``, mask each
completion token with probability t, cross-entropy on masked tokens weighted ``1/t``.
"""

from __future__ import annotations

from saddlepoint.config import check_positive
from saddlepoint.diffusion_lm.model import token_log_probs
from saddlepoint.errors import InvalidInputError, require

torch = require("torch", "torch")

__all__ = [
    "OnePassEstimator",
    "draw_prompt_mask",
    "llada_loss",
    "masked_completion_logp",
    "masked_diffusion_loss",
    "mc_elbo_logp",
]


def _check_pair(prompt: torch.Tensor, completion: torch.Tensor) -> None:
    if prompt.dim() != 2 or completion.dim() != 2 or prompt.shape[0] != completion.shape[0]:
        raise InvalidInputError(
            f"prompt and completion must be (B, P) and (B, C); got {tuple(prompt.shape)}, {tuple(completion.shape)}")


def masked_completion_logp(model: torch.nn.Module, prompt: torch.Tensor, completion: torch.Tensor,
                           completion_mask: torch.Tensor, prompt_mask: torch.Tensor | None = None) -> torch.Tensor:
    """``log p(y_k | masked input)`` at masked completion positions, 0 elsewhere; ``(B, C)``.

    One forward pass. ``completion_mask`` ``(B, C)`` and ``prompt_mask`` ``(B, P)`` are bool:
    True = replaced by the mask token in the input.
    """
    _check_pair(prompt, completion)
    mask_id = model.mask_id
    x_p = prompt if prompt_mask is None else prompt.masked_fill(prompt_mask, mask_id)
    x = torch.cat([x_p, completion.masked_fill(completion_mask, mask_id)], dim=1)
    logp = token_log_probs(model, x)[:, prompt.shape[1]:]
    tok = logp.gather(-1, completion[..., None]).squeeze(-1)
    return tok * completion_mask


def draw_prompt_mask(batch: int, prompt_length: int, p: float, generator: torch.Generator | None = None,
                     device: str | torch.device = "cpu") -> torch.Tensor:
    """Independent Bernoulli(p) prompt masks, ``(batch, prompt_length)`` bool."""
    return torch.rand((batch, prompt_length), generator=generator, device=device) < p


class OnePassEstimator:
    """d1's one-pass log-likelihood proxy with a forward-pass counter.

    Call it with a prompt mask drawn by :meth:`draw_mask` (fresh per inner update; d1 shares
    one draw between the current, old and reference estimates of the same update).
    """

    def __init__(self, p_mask_prompt: float = 0.15) -> None:
        check_positive("p_mask_prompt", p_mask_prompt, allow_zero=True)
        if p_mask_prompt >= 1:
            raise InvalidInputError(f"p_mask_prompt must be < 1, got {p_mask_prompt}")
        self.p_mask_prompt = p_mask_prompt
        self.passes = 0
        """Forward passes made so far (one per call, whatever the batch size)."""

    def draw_mask(self, prompt: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """A prompt mask ``(B, P)`` bool with masking probability ``p_mask_prompt``."""
        return draw_prompt_mask(prompt.shape[0], prompt.shape[1], self.p_mask_prompt, generator, prompt.device)

    def __call__(self, model: torch.nn.Module, prompt: torch.Tensor, completion: torch.Tensor,
                 prompt_mask: torch.Tensor) -> torch.Tensor:
        """Per-token ``log p(y_k | prompt masked by prompt_mask, all of y masked)``, ``(B, C)``."""
        self.passes += 1
        all_masked = torch.ones_like(completion, dtype=torch.bool)
        return masked_completion_logp(model, prompt, completion, all_masked, prompt_mask)


def mc_elbo_logp(model: torch.nn.Module, prompt: torch.Tensor, completion: torch.Tensor, n_samples: int,
                 generator: torch.Generator | None = None) -> torch.Tensor:
    """Monte-Carlo ELBO of ``log p(y|x)``, ``(B,)``; ``n_samples`` forward passes.

    Each sample draws ``l ~ U{1..C}`` and a uniformly random set of l completion positions to
    mask, and scores ``(C / l) sum_{k masked} log p(y_k | y_unmasked, x)`` (LLaDA eq. 6 in its
    low-variance form; the expectation equals the continuous-time ELBO).
    """
    _check_pair(prompt, completion)
    b, c = completion.shape
    total = torch.zeros(b, device=completion.device)
    for _ in range(n_samples):
        n_mask = torch.randint(1, c + 1, (b,), generator=generator, device=completion.device)
        scores = torch.rand((b, c), generator=generator, device=completion.device)
        rank = scores.argsort(dim=1).argsort(dim=1)
        cmask = rank < n_mask[:, None]
        tok = masked_completion_logp(model, prompt, completion, cmask)
        total = total + tok.sum(dim=1) * c / n_mask
    return total / n_samples


def masked_diffusion_loss(token_logp: torch.Tensor, masked: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """LLaDA's SFT loss: ``-(1/B) sum_b (1/C) sum_k 1[masked] log p / t_b`` (Nie et al., eq. 5).

    ``token_logp`` and ``masked`` are ``(B, C)``; ``t`` is the masking level ``(B,)``.
    """
    if token_logp.shape != masked.shape or t.shape != token_logp.shape[:1]:
        raise InvalidInputError(
            f"token_logp (B, C), masked (B, C), t (B,) expected; got {tuple(token_logp.shape)}, "
            f"{tuple(masked.shape)}, {tuple(t.shape)}")
    per_seq = (token_logp * masked).sum(dim=1) / t / token_logp.shape[1]
    return -per_seq.mean()


def llada_loss(model: torch.nn.Module, prompt: torch.Tensor, completion: torch.Tensor,
               generator: torch.Generator | None = None, eps: float = 1e-3) -> torch.Tensor:
    """The pretraining objective on prompt/completion pairs (prompt never masked), a scalar."""
    _check_pair(prompt, completion)
    b = completion.shape[0]
    t = eps + (1 - eps) * torch.rand(b, generator=generator, device=completion.device)
    masked = torch.rand(completion.shape, generator=generator, device=completion.device) < t[:, None]
    return masked_diffusion_loss(masked_completion_logp(model, prompt, completion, masked), masked, t)
