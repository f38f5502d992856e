"""A small bidirectional transformer masked diffusion LM (LLaDA-style, trained from scratch).

The model maps token ids ``(B, L)`` with some positions set to the mask token to logits
``(B, L, V)``. There is no causal mask and no time conditioning (as in LLaDA): the number of
masked tokens tells the model how far along the diffusion it is. Every model used by the
sampler, the estimators and the RL loop follows the same protocol: an ``nn.Module`` with an
integer attribute ``mask_id`` whose ``forward(ids)`` returns logits; the Hugging Face loader
(:mod:`saddlepoint.diffusion_lm.hf`) wraps a pretrained model to the same protocol.
"""

from __future__ import annotations

from dataclasses import dataclass

from saddlepoint.config import check_positive, check_positive_int
from saddlepoint.errors import InvalidInputError, require

torch = require("torch", "torch")
nn = torch.nn

__all__ = ["DiffusionLMConfig", "MaskedDiffusionLM", "token_log_probs"]


@dataclass(frozen=True)
class DiffusionLMConfig:
    """Size of the bidirectional transformer."""

    vocab_size: int
    """Number of token ids V (the mask token included)."""
    max_length: int
    """Longest sequence L (prompt + completion); positions are learned embeddings."""
    mask_id: int
    """Id of the mask token (LLaDA: 126336)."""
    d_model: int = 128
    """Width d of the residual stream (notes: 128)."""
    n_layers: int = 4
    """Number of transformer blocks (notes: 4)."""
    n_heads: int = 4
    """Attention heads per block (notes: 4); must divide ``d_model``."""
    d_ff: int = 512
    """Hidden width of the feed-forward block."""
    init_std: float = 0.02
    """Standard deviation of the normal initialisation of weight matrices and embeddings."""

    def __post_init__(self) -> None:
        for name in ("vocab_size", "max_length", "d_model", "n_layers", "n_heads", "d_ff"):
            check_positive_int(name, getattr(self, name))
        check_positive_int("mask_id", self.mask_id, allow_zero=True)
        if self.mask_id >= self.vocab_size:
            raise InvalidInputError(f"mask_id must be < vocab_size={self.vocab_size}, got {self.mask_id}")
        if self.d_model % self.n_heads:
            raise InvalidInputError(f"n_heads={self.n_heads} must divide d_model={self.d_model}")
        check_positive("init_std", self.init_std)


class MaskedDiffusionLM(nn.Module):
    """Pre-norm transformer encoder (no dropout) with token and position embeddings.

    ``generator`` seeds the initialisation, so two models built with equally seeded
    generators are identical and global random state is never touched.
    """

    def __init__(self, config: DiffusionLMConfig, generator: torch.Generator | None = None) -> None:
        super().__init__()
        self.config = config
        self.mask_id = config.mask_id
        self.embed = nn.Embedding(config.vocab_size, config.d_model)
        self.pos = nn.Parameter(torch.zeros(config.max_length, config.d_model))
        layer = nn.TransformerEncoderLayer(config.d_model, config.n_heads, config.d_ff, dropout=0.0,
                                           activation="gelu", batch_first=True, norm_first=True)
        self.blocks = nn.TransformerEncoder(layer, config.n_layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(config.d_model)
        self.head = nn.Linear(config.d_model, config.vocab_size)
        self.reset_parameters(generator)

    @torch.no_grad()
    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        """Normal(0, init_std) weight matrices and embeddings, zero biases, unit norm gains."""
        for name, p in self.named_parameters():
            if p.dim() > 1:
                nn.init.normal_(p, 0.0, self.config.init_std, generator=generator)
            elif "norm" in name and name.endswith("weight"):
                p.fill_(1.0)
            else:
                p.zero_()

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        """Logits ``(B, L, V)`` for ids ``(B, L)``."""
        if ids.dim() != 2 or ids.shape[1] > self.config.max_length:
            raise InvalidInputError(f"ids must be (B, L<={self.config.max_length}), got {tuple(ids.shape)}")
        h = self.embed(ids) + self.pos[: ids.shape[1]]
        return self.head(self.norm(self.blocks(h)))


def token_log_probs(model: nn.Module, ids: torch.Tensor) -> torch.Tensor:
    """Log-probabilities ``(B, L, V)`` of the model at every position, the mask token excluded.

    The mask token is never a valid prediction, so its logit is set to -inf before the
    softmax; the sampler and every estimator share this one normalisation. Half-precision
    logits are upcast to float32 first.
    """
    logits = model(ids)
    if logits.dtype in (torch.float16, torch.bfloat16):
        logits = logits.float()
    mask_col = torch.tensor([model.mask_id], device=logits.device)
    return torch.log_softmax(logits.index_fill(-1, mask_col, float("-inf")), dim=-1)
