"""The blockwise decoding engine (RMOD's practical algorithm and its baselines).

One prompt at a time::

    rows <- [prompt]
    repeat until every surviving row ended or max_new_tokens:
        grow K children of B tokens from each surviving row (batched, KV cache reused)
        V <- value_fn(candidates)              # (M*K, G), skipped if the rule needs none
        rows <- rule.select(V, parents, rng)   # CD / RMOD keep one row; a beam keeps several

The policy (:mod:`saddlepoint.decoding.policy`), the value function
(:mod:`saddlepoint.decoding.values`) and the selection rule
(:mod:`saddlepoint.decoding.rules`) are plug-ins. Methods as settings:

=================  ============  =========  ===========================  =====================
method             policy        K          block B                      rule
=================  ============  =========  ===========================  =====================
pi_ref sampling    CausalPolicy  1          any                          ReferenceRule
best-of-N          CausalPolicy  N          max_new_tokens               FixedWeightsRule(w)
CD, fixed w        CausalPolicy  K          B                            FixedWeightsRule(w)
MOD                MixturePolicy 1          any                          ReferenceRule
RMOD               CausalPolicy  K          B                            RobustRule(lam)
=================  ============  =========  ===========================  =====================

Tokens are drawn by the library's one sampling loop (:func:`saddlepoint.lm.sampling.sample`,
through :func:`extend_rows`). Randomness: :meth:`BlockwiseDecoder.decode` takes a
``numpy.random.Generator``; token sampling uses a ``torch.Generator`` seeded from it
(``rng.integers(2**62)``, :func:`~saddlepoint.lm.sampling.torch_generator_from`), so same seed,
same text.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import torch

from saddlepoint.config import check_positive, check_positive_int
from saddlepoint.decoding.rules import SelectionRule
from saddlepoint.errors import InvalidInputError
from saddlepoint.lm.sampling import LogitsHook, sample, torch_generator_from

__all__ = [
    "DecodeConfig", "Candidates", "ValueFunction", "BlockTrace", "DecodeResult", "BlockwiseDecoder",
    "eos_ids", "encode_prompt", "extend_rows", "Grown", "response_texts",
]


@dataclass(frozen=True)
class DecodeConfig:
    """Settings of the blockwise decoder."""

    num_candidates: int = 8
    """K: candidates sampled per block from each surviving row (paper code ``num_branches``, default
    8); the built-in rules keep one row, so K candidates per block, as in InferenceGuard's search."""
    block_size: int = 8
    """B: tokens per block (paper code default 8); best-of-N uses B = max_new_tokens."""
    max_new_tokens: int = 128
    """Response length limit in tokens."""
    temperature: float = 1.0
    """Sampling temperature of pi_ref (0 means greedy)."""
    top_k: int = 0
    """Keep only the k most likely tokens when sampling (0 keeps all)."""

    def __post_init__(self) -> None:
        check_positive_int("num_candidates", self.num_candidates)
        check_positive_int("block_size", self.block_size)
        check_positive_int("max_new_tokens", self.max_new_tokens)
        check_positive("temperature", self.temperature, allow_zero=True)
        check_positive_int("top_k", self.top_k, allow_zero=True)


@dataclass(frozen=True)
class Candidates:
    """What a value function sees after a block: N candidate rows."""

    sequences: torch.Tensor
    """(N, T0 + t) token ids: the prompt, then the response so far (padding after an end token)."""
    prompt_length: int
    """T0, the prompt's length in tokens."""
    lengths: torch.Tensor
    """(N,) response lengths in tokens, the end token included."""
    finished: torch.Tensor
    """(N,) bool: the row has produced an end token."""
    hidden: torch.Tensor
    """(N, d) the reference model's last hidden state at each row's last real token."""
    texts: list[str]
    """The N decoded responses so far (special tokens dropped)."""
    generator: torch.Generator
    """The decoder's torch generator, for value functions that sample (Monte-Carlo roll-outs)."""
    max_new_tokens: int
    """The decoder's response length limit (roll-outs stop there)."""


class ValueFunction(Protocol):
    """Scores candidates: ``(N, G)`` values V_g(x, y + z), G = ``len(names)``."""

    names: tuple[str, ...]

    def __call__(self, candidates: Candidates) -> np.ndarray: ...


@dataclass(frozen=True)
class BlockTrace:
    """What happened in one block."""

    values: np.ndarray | None
    """(N, G) values of the candidates, or None."""
    weights: np.ndarray | None
    """(G,) weights used (w* for RMOD)."""
    kept: np.ndarray
    """Indices of the kept candidates."""
    info: dict[str, Any]


@dataclass(frozen=True)
class DecodeResult:
    """A decoded response, its per-block trace and its cost."""

    text: str
    token_ids: list[int]
    """Response token ids (end token included if produced)."""
    blocks: list[BlockTrace]
    tokens_forwarded: int
    """Tokens pushed through the policy's model(s), roll-outs of Monte-Carlo values included."""
    value_rows: int
    """Candidate rows scored by the value function."""
    seconds: float
    finished: bool
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def weight_trace(self) -> np.ndarray:
        """(blocks, G) weights used per block (empty if the rule used none)."""
        rows = [b.weights for b in self.blocks if b.weights is not None]
        return np.array(rows) if rows else np.zeros((0, 0))


def eos_ids(tokenizer: Any, model: Any = None) -> list[int]:
    """End-of-response token ids: the tokenizer's EOS plus the model's generation-config EOS."""
    ids = set()
    if tokenizer.eos_token_id is not None:
        ids.add(int(tokenizer.eos_token_id))
    gen = getattr(model, "generation_config", None)
    extra = getattr(gen, "eos_token_id", None) if gen is not None else None
    if extra is not None:
        ids.update(int(i) for i in (extra if isinstance(extra, (list, tuple)) else [extra]))
    if not ids:
        raise InvalidInputError("the tokenizer has no EOS token; set tokenizer.eos_token")
    return sorted(ids)


def encode_prompt(tokenizer: Any, prompt: str, *, chat: bool | None = None) -> torch.Tensor:
    """Token ids (1, T) of a prompt; ``chat=None`` applies the chat template if there is one."""
    if not isinstance(prompt, str) or not prompt.strip():
        raise InvalidInputError("prompt must be a non-empty string")
    use_chat = bool(getattr(tokenizer, "chat_template", None)) if chat is None else chat
    if use_chat:
        ids = tokenizer.apply_chat_template([{"role": "user", "content": prompt}], add_generation_prompt=True,
                                            tokenize=True, return_dict=False)
        if hasattr(ids, "input_ids"):
            ids = ids["input_ids"]
    else:
        ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    if len(ids) == 0:
        raise InvalidInputError(f"prompt {prompt!r} encodes to no tokens")
    return torch.tensor([list(ids)], dtype=torch.long)


@dataclass
class Grown:
    """Rows after :func:`extend_rows`."""

    tokens: torch.Tensor
    """(R, s) the new tokens (padding after an end token)."""
    state: Any
    finished: torch.Tensor
    lengths: torch.Tensor
    hidden: torch.Tensor
    """(R, d) hidden state at each row's last real token."""
    step_hidden: list[torch.Tensor]
    """Per step, (R, d) hidden state after reading that step's token."""
    step_active: list[torch.Tensor]
    """Per step, (R,) bool: the row's token at that step is real (not padding)."""


def extend_rows(policy: Any, state: Any, finished: torch.Tensor, lengths: torch.Tensor, hidden: torch.Tensor,
                steps: int, generator: torch.Generator, temperature: float, top_k: int, eos: torch.Tensor,
                pad: int, *, logits_hook: LogitsHook | None = None, stop_when_finished: bool = True) -> Grown:
    """Sample up to ``steps`` tokens for every row of ``state`` (R rows) with the shared loop
    (:func:`saddlepoint.lm.sampling.sample`), feeding padding to finished rows and stopping
    early once all rows have ended (unless ``stop_when_finished`` is False: exactly R x steps
    tokens); ``logits_hook`` changes the log-probabilities before each draw."""
    step_hidden: list[torch.Tensor] = []
    step_active: list[torch.Tensor] = []
    last = [hidden]

    def track(state: Any, active: torch.Tensor) -> None:
        # Values are read at each row's last real token (as value heads are trained).
        last[0] = torch.where(active[:, None], state.hidden, last[0])
        step_hidden.append(state.hidden)
        step_active.append(active)

    out = sample(policy, state, steps, generator, temperature=temperature, top_k=top_k, eos=eos, pad=pad,
                 finished=finished, logits_hook=logits_hook, stop_when_finished=stop_when_finished, on_step=track)
    return Grown(out.tokens, out.state, out.finished, lengths + out.counts, last[0], step_hidden, step_active)


def response_texts(tokenizer: Any, seqs: torch.Tensor, prompt_length: int, lengths: torch.Tensor) -> list[str]:
    """Decoded responses: row i's tokens ``prompt_length : prompt_length + lengths[i]``."""
    return [tokenizer.decode(seqs[i, prompt_length:prompt_length + int(n)].tolist(), skip_special_tokens=True)
            for i, n in enumerate(lengths)]


class BlockwiseDecoder:
    """Blockwise decoding with a pluggable policy, value function and selection rule.

    ``policy``: :class:`~saddlepoint.decoding.policy.CausalPolicy` (pi_ref) or
    :class:`~saddlepoint.decoding.policy.MixturePolicy` (MOD); ``rule``: a
    :class:`~saddlepoint.decoding.rules.SelectionRule`; ``value_fn``: required when
    ``rule.needs_values``.
    """

    def __init__(self, policy: Any, tokenizer: Any, rule: SelectionRule, config: DecodeConfig,
                 value_fn: ValueFunction | None = None, model_for_eos: Any = None) -> None:
        if rule.needs_values and value_fn is None:
            raise InvalidInputError(f"{type(rule).__name__} needs a value function (value_fn)")
        self.policy, self.tokenizer, self.rule, self.config, self.value_fn = policy, tokenizer, rule, config, value_fn
        model = model_for_eos if model_for_eos is not None else getattr(policy, "model", None)
        self.eos = torch.tensor(eos_ids(tokenizer, model))
        pad = tokenizer.pad_token_id
        self.pad = int(pad if pad is not None else self.eos[0])

    def decode(self, prompt: str | torch.Tensor, rng: np.random.Generator) -> DecodeResult:
        """Decode one prompt (a string, or token ids of shape (1, T) or (T,))."""
        start, cfg = time.perf_counter(), self.config
        ids = encode_prompt(self.tokenizer, prompt) if isinstance(prompt, str) else torch.as_tensor(prompt).long()
        ids = ids.view(1, -1)
        t0 = ids.shape[1]
        gen = torch_generator_from(rng)
        forwarded0 = self.policy.tokens_forwarded
        state = self.policy.prefill(ids)
        seqs, finished, lengths = ids, torch.zeros(1, dtype=torch.bool), torch.zeros(1, dtype=torch.long)
        hidden = state.hidden
        blocks: list[BlockTrace] = []
        value_rows = 0
        while int(lengths.max()) < cfg.max_new_tokens and not bool(finished.all()):
            # Grow K children per surviving row (shared prefix cache duplicated, not recomputed).
            parents = torch.arange(seqs.shape[0]).repeat_interleave(cfg.num_candidates)
            state = self.policy.reindex(state, parents)
            seqs, finished, lengths, hidden = seqs[parents], finished[parents], lengths[parents], hidden[parents]
            steps = min(cfg.block_size, cfg.max_new_tokens - int(lengths.max()))
            grown = extend_rows(self.policy, state, finished, lengths, hidden, steps, gen, cfg.temperature,
                                cfg.top_k, self.eos, self.pad)
            state, finished, lengths, hidden = grown.state, grown.finished, grown.lengths, grown.hidden
            seqs = torch.cat([seqs, grown.tokens], dim=1)
            values = None
            if self.rule.needs_values:
                texts = response_texts(self.tokenizer, seqs, t0, lengths)
                cand = Candidates(seqs, t0, lengths.clone(), finished.clone(), hidden, texts, gen, cfg.max_new_tokens)
                values = np.asarray(self.value_fn(cand), dtype=float)  # type: ignore[misc]
                value_rows += seqs.shape[0]
                if values.shape != (seqs.shape[0], len(self.value_fn.names)):  # type: ignore[union-attr]
                    raise InvalidInputError(f"value function returned shape {values.shape}, expected "
                                            f"({seqs.shape[0]}, {len(self.value_fn.names)})")  # type: ignore[union-attr]
            sel = self.rule.select(values, parents.numpy(), rng)
            keep = torch.as_tensor(np.asarray(sel.indices, dtype=np.int64))
            if keep.numel() == 0 or int(keep.min()) < 0 or int(keep.max()) >= seqs.shape[0]:
                raise InvalidInputError(f"selection rule returned invalid rows {sel.indices!r}")
            blocks.append(BlockTrace(values, sel.weights, np.asarray(sel.indices), dict(sel.info)))
            state = self.policy.reindex(state, keep)
            seqs, finished, lengths, hidden = seqs[keep], finished[keep], lengths[keep], hidden[keep]
        n = int(lengths[0])
        response = seqs[0, t0:t0 + n].tolist()
        text = self.tokenizer.decode(response, skip_special_tokens=True)
        return DecodeResult(text, response, blocks, self.policy.tokens_forwarded - forwarded0, value_rows,
                            time.perf_counter() - start, bool(finished[0]))

    def decode_many(self, prompts: Sequence[str | torch.Tensor], rng: np.random.Generator) -> list[DecodeResult]:
        """Decode several prompts in turn with one generator."""
        return [self.decode(p, rng) for p in prompts]
