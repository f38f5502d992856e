"""Load a pretrained masked diffusion LM (LLaDA-style) from Hugging Face by name or local path.

The loaded model is wrapped to the library's protocol (``forward(ids) -> logits (B, L, V)``
and an integer ``mask_id``), so the sampler, the estimators and the RL loop take it as they
take :class:`~saddlepoint.diffusion_lm.model.MaskedDiffusionLM`. LLaDA ships its modelling
code with the weights: load it with ``trust_remote_code=True`` and ``mask_id=126336``.
Needs the ``llm`` extra (transformers).
"""

from __future__ import annotations

from dataclasses import dataclass

from saddlepoint.config import check_choice, check_positive_int
from saddlepoint.errors import InvalidInputError, require

torch = require("torch", "torch")

__all__ = ["LLADA_MASK_ID", "PretrainedConfig", "PretrainedDiffusionLM", "load_pretrained"]

LLADA_MASK_ID = 126336
"""The mask token id of LLaDA-8B-Base / -Instruct."""

_AUTO_CLASSES = ("AutoModel", "AutoModelForMaskedLM", "AutoModelForCausalLM")
_DTYPES = ("float32", "bfloat16", "float16", "auto")


@dataclass(frozen=True)
class PretrainedConfig:
    """Where a pretrained masked diffusion LM comes from and how to load it."""

    name_or_path: str
    """Hugging Face model id (e.g. ``GSAI-ML/LLaDA-8B-Instruct``) or a local directory."""
    mask_id: int = LLADA_MASK_ID
    """Id of the mask token (LLaDA: 126336)."""
    auto_class: str = "AutoModel"
    """transformers auto class used to load (LLaDA's README uses ``AutoModel``)."""
    trust_remote_code: bool = True
    """Run the modelling code shipped with the checkpoint (LLaDA needs it)."""
    dtype: str = "float32"
    """Weight dtype: ``float32``, ``bfloat16`` (paper), ``float16`` or ``auto``."""
    load_tokenizer: bool = False
    """Also load the tokenizer with ``AutoTokenizer``."""

    def __post_init__(self) -> None:
        if not isinstance(self.name_or_path, str) or not self.name_or_path:
            raise InvalidInputError("name_or_path must be a non-empty string")
        check_positive_int("mask_id", self.mask_id, allow_zero=True)
        check_choice("auto_class", self.auto_class, _AUTO_CLASSES)
        check_choice("dtype", self.dtype, _DTYPES)


class PretrainedDiffusionLM(torch.nn.Module):
    """A transformers model behind the library's protocol: ``forward(ids) -> logits``.

    Attention is bidirectional only if the wrapped model is (LLaDA, Dream, BERT-style
    masked LMs); no attention mask is passed, as in LLaDA's sampler.
    """

    def __init__(self, model: torch.nn.Module, mask_id: int, tokenizer: object | None = None) -> None:
        super().__init__()
        self.model = model
        self.mask_id = int(mask_id)
        self.tokenizer = tokenizer
        vocab = getattr(getattr(model, "config", None), "vocab_size", None)
        if vocab is not None and self.mask_id >= vocab:
            raise InvalidInputError(f"mask_id={self.mask_id} is outside the model's vocabulary of {vocab}")

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        """Logits ``(B, L, V)`` for ids ``(B, L)``."""
        out = self.model(input_ids=ids)
        logits = getattr(out, "logits", None)
        if logits is None:
            raise InvalidInputError(
                f"{type(self.model).__name__} returns no logits; load it with an auto_class that has an LM head "
                "(e.g. AutoModelForMaskedLM)")
        return logits


def load_pretrained(config: PretrainedConfig) -> PretrainedDiffusionLM:
    """Load the model (and optionally the tokenizer) named by ``config``, wrapped."""
    transformers = require("transformers", "llm")
    auto = getattr(transformers, config.auto_class)
    dtype = config.dtype if config.dtype == "auto" else getattr(torch, config.dtype)
    major, minor = (int(v) for v in transformers.__version__.split(".")[:2])
    dtype_key = "dtype" if (major, minor) >= (4, 56) else "torch_dtype"  # renamed in 4.56
    try:
        model = auto.from_pretrained(config.name_or_path, trust_remote_code=config.trust_remote_code,
                                     **{dtype_key: dtype})
    except (OSError, ValueError) as exc:
        raise InvalidInputError(f"cannot load {config.name_or_path!r} with {config.auto_class}: {exc}") from exc
    tokenizer = None
    if config.load_tokenizer:
        tokenizer = transformers.AutoTokenizer.from_pretrained(config.name_or_path,
                                                               trust_remote_code=config.trust_remote_code)
    return PretrainedDiffusionLM(model.eval(), config.mask_id, tokenizer)
