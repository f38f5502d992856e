"""LLaDA's semi-autoregressive low-confidence remasking sampler.

The completion region is split into blocks filled left to right. Inside a block, each step
predicts every masked position (Gumbel-max sampling at temperature T, or greedy at T = 0),
then commits the k most confident predictions and leaves the rest masked; k spreads the
block's masked count evenly over its steps (LLaDA, Nie et al. 2025, Alg. "low_confidence"
remasking). Positions that are not masked are never changed.
"""

from __future__ import annotations

from dataclasses import dataclass

from saddlepoint.config import check_choice, check_positive, check_positive_int
from saddlepoint.diffusion_lm.model import token_log_probs
from saddlepoint.errors import InvalidInputError, require

torch = require("torch", "torch")

__all__ = ["SamplerConfig", "fill_masked", "sample", "transfer_schedule"]


@dataclass(frozen=True)
class SamplerConfig:
    """Settings of the low-confidence remasking sampler."""

    gen_length: int = 16
    """Completion length C (paper: 256; Sudoku: 16)."""
    block_length: int = 16
    """Length of a semi-autoregressive block (paper: 32); must divide ``gen_length``."""
    steps: int = 8
    """Total denoising steps over all blocks (paper: 128; notes: 8 for Sudoku)."""
    temperature: float = 0.9
    """Gumbel-max temperature T (paper: 0.9); 0 gives greedy decoding."""
    remasking: str = "low_confidence"
    """``low_confidence`` (commit the most probable predictions) or ``random``."""

    def __post_init__(self) -> None:
        check_positive_int("gen_length", self.gen_length)
        check_positive_int("block_length", self.block_length)
        check_positive_int("steps", self.steps)
        check_positive("temperature", self.temperature, allow_zero=True)
        check_choice("remasking", self.remasking, ("low_confidence", "random"))
        if self.gen_length % self.block_length:
            raise InvalidInputError(f"block_length={self.block_length} must divide gen_length={self.gen_length}")
        n_blocks = self.gen_length // self.block_length
        if self.steps % n_blocks:
            raise InvalidInputError(f"steps={self.steps} must be a multiple of the number of blocks ({n_blocks})")


def transfer_schedule(n_masked: torch.Tensor, steps: int) -> torch.Tensor:
    """How many tokens to commit at each of ``steps`` steps, shape ``(B,) -> (B, steps)``.

    ``n_masked // steps`` per step, the remainder going to the first steps (rows sum to
    ``n_masked``).
    """
    base = n_masked // steps
    rem = n_masked % steps
    return base[:, None] + (torch.arange(steps, device=n_masked.device)[None, :] < rem[:, None]).long()


@torch.no_grad()
def fill_masked(model: torch.nn.Module, x: torch.Tensor, start: int, config: SamplerConfig,
                generator: torch.Generator | None = None) -> torch.Tensor:
    """Fill every masked position of ``x[:, start:]`` (``(B, L)`` ids) and return the result.

    ``x[:, start:]`` must have length ``config.gen_length``; unmasked positions anywhere are
    returned unchanged. ``generator`` drives the Gumbel noise (and random remasking).
    """
    if x.dim() != 2 or x.shape[1] - start != config.gen_length:
        raise InvalidInputError(f"x must be (B, start + gen_length={config.gen_length}); got {tuple(x.shape)}")
    x = x.clone()
    mask_id = model.mask_id
    n_blocks = config.gen_length // config.block_length
    steps_per_block = config.steps // n_blocks
    for b in range(n_blocks):
        lo = start + b * config.block_length
        hi = lo + config.block_length
        schedule = transfer_schedule((x[:, lo:hi] == mask_id).sum(dim=1), steps_per_block)
        for s in range(steps_per_block):
            masked = x == mask_id
            logp = token_log_probs(model, x)
            if config.temperature > 0:
                u = torch.rand(logp.shape, generator=generator, dtype=torch.float64, device=x.device)
                gumbel = -torch.log(-torch.log(u.clamp_min(1e-300)))
                pred = (logp.double() + config.temperature * gumbel).argmax(dim=-1)
            else:
                pred = logp.argmax(dim=-1)
            if config.remasking == "low_confidence":
                conf = logp.gather(-1, pred[..., None]).squeeze(-1).double()
            else:
                conf = torch.rand(x.shape, generator=generator, dtype=torch.float64, device=x.device)
            in_block = torch.zeros_like(masked)
            in_block[:, lo:hi] = True
            conf = conf.masked_fill(~(masked & in_block), float("-inf"))
            k = schedule[:, s]
            order = conf.argsort(dim=1, descending=True)
            rank = torch.empty_like(order)
            rank.scatter_(1, order, torch.arange(x.shape[1], device=x.device).expand_as(order))
            commit = (rank < k[:, None]) & masked & in_block
            x = torch.where(commit, pred, x)
    return x


def sample(model: torch.nn.Module, prompt: torch.Tensor, config: SamplerConfig,
           generator: torch.Generator | None = None) -> torch.Tensor:
    """Completions ``(B, C)`` for prompts ``(B, P)``: a fully masked completion, filled."""
    masks = torch.full((prompt.shape[0], config.gen_length), model.mask_id, dtype=prompt.dtype,
                       device=prompt.device)
    x = fill_masked(model, torch.cat([prompt, masks], dim=1), prompt.shape[1], config, generator)
    return x[:, prompt.shape[1]:]
