"""Shared language-model utilities: loading models and tokenizers (by Hugging Face name,
local path or the built-in SmolLM2 alias, :mod:`~saddlepoint.lm.loading`), summed response
log-probabilities and batched sampling (:mod:`~saddlepoint.lm.logprobs`), and the library's one
token-sampling loop with a logits hook (:mod:`~saddlepoint.lm.sampling`), which the decoders and
the preference trainer all draw tokens with.

Importing this package loads nothing heavy; torch and transformers are imported by the
functions that need them (extra ``llm``).
"""

from saddlepoint.lm.loading import (
    SMOLLM2_ALIASES,
    cache_dir,
    load_model,
    load_tokenizer,
    resolve,
    smollm2_gguf,
    smollm2_installed,
    smollm2_path,
)

__all__ = ["SMOLLM2_ALIASES", "cache_dir", "load_model", "load_tokenizer", "resolve", "smollm2_gguf", "smollm2_installed", "smollm2_path"]
