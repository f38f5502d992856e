"""A local ``transformers`` chat model as a back end (extra ``llm``); SmolLM2-135M-Instruct
by default through :mod:`saddlepoint.lm`. Requests are rendered with the tokenizer's chat
template and generated in left-padded batches."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from saddlepoint.agents.backends.base import BackendError, ChatRequest
from saddlepoint.config import check_positive_int
from saddlepoint.errors import InvalidInputError, require

log = logging.getLogger(__name__)

__all__ = ["TransformersChatConfig", "TransformersChatBackend"]


@dataclass(frozen=True)
class TransformersChatConfig:
    """Which local model to run and how."""

    model: str = "smollm2"
    """Hugging Face name, local folder, or a SmolLM2 alias of :func:`saddlepoint.lm.resolve`."""
    dtype: str = "float32"
    """Weights dtype: float32, bfloat16, float16 or auto."""
    device: str = "cpu"
    """Torch device."""
    batch_size: int = 8
    """Requests generated together."""
    max_prompt_tokens: int = 1536
    """Prompts are cut to their last this-many tokens (small models have short contexts)."""
    seed: int = 0
    """Seed of sampling (temperature > 0); batch ``k`` of this back end uses ``seed + k``."""
    num_threads: int | None = None
    """Torch CPU threads during generation (restored afterwards); ``None`` leaves torch's
    setting. One thread is much faster than several on a busy machine."""

    def __post_init__(self) -> None:
        if not self.model:
            raise InvalidInputError("model must not be empty")
        check_positive_int("batch_size", self.batch_size)
        check_positive_int("max_prompt_tokens", self.max_prompt_tokens)
        check_positive_int("seed", self.seed, allow_zero=True)
        if self.num_threads is not None:
            check_positive_int("num_threads", self.num_threads)


class TransformersChatBackend:
    """:class:`~saddlepoint.agents.backends.base.ChatBackend` on a local causal LM. Pass
    ``model`` and ``tokenizer`` to use objects already built (tests build tiny ones)."""

    def __init__(self, config: TransformersChatConfig | None = None, *, model: Any = None,
                 tokenizer: Any = None) -> None:
        self.config = config or TransformersChatConfig()
        self.name = f"transformers:{self.config.model}"
        self._torch = require("torch", "llm")
        if model is None or tokenizer is None:
            from saddlepoint.lm import load_model, load_tokenizer

            model = model or load_model(self.config.model, dtype=self.config.dtype, device=self.config.device)
            tokenizer = tokenizer or load_tokenizer(self.config.model)
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token
        tokenizer.padding_side = "left"
        if not getattr(tokenizer, "chat_template", None):
            raise InvalidInputError(f"tokenizer of {self.config.model!r} has no chat template")
        self.model = model.eval()
        self.tokenizer = tokenizer
        self._batches = 0

    def complete(self, requests: Sequence[ChatRequest]) -> list[str]:
        out: list[str | None] = [None] * len(requests)
        groups: dict[tuple[float, int], list[int]] = {}
        for i, r in enumerate(requests):
            groups.setdefault((r.temperature, r.max_tokens), []).append(i)
        bs = self.config.batch_size
        for (temperature, max_tokens), idx in groups.items():
            for start in range(0, len(idx), bs):
                chunk = idx[start:start + bs]
                texts = self._generate([requests[i] for i in chunk], temperature, max_tokens)
                for i, text in zip(chunk, texts):
                    out[i] = text
        return [t if t is not None else "" for t in out]

    def _generate(self, requests: list[ChatRequest], temperature: float, max_tokens: int) -> list[str]:
        torch, tok = self._torch, self.tokenizer
        prompts = [tok.apply_chat_template([m.as_dict() for m in r.messages], tokenize=False,
                                           add_generation_prompt=True) for r in requests]
        tok.truncation_side = "left"
        enc = tok(prompts, return_tensors="pt", padding=True, truncation=True,
                  max_length=self.config.max_prompt_tokens, add_special_tokens=False)
        enc = {k: v.to(self.model.device) for k, v in enc.items()}
        kwargs: dict[str, Any] = {"max_new_tokens": max_tokens, "pad_token_id": tok.pad_token_id}
        if temperature > 0:
            kwargs.update(do_sample=True, temperature=temperature, top_p=1.0, top_k=0)
        else:
            kwargs.update(do_sample=False)
        seed = self.config.seed + self._batches
        self._batches += 1
        threads = torch.get_num_threads()
        try:
            if self.config.num_threads is not None:
                torch.set_num_threads(self.config.num_threads)
            # sampling draws from torch's global generator: fork it so the caller's state is untouched
            with torch.random.fork_rng(devices=[]), torch.no_grad():
                torch.manual_seed(seed)
                ids = self.model.generate(**enc, **kwargs)
        except RuntimeError as exc:
            raise BackendError(f"{self.name}: generation failed: {exc}") from exc
        finally:
            torch.set_num_threads(threads)
        new = ids[:, enc["input_ids"].shape[1]:]
        return [t.strip() for t in tok.batch_decode(new, skip_special_tokens=True)]
