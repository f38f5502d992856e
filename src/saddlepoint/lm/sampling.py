"""The one token-sampling loop of the library, with a logits hook.

Every sampler draws its tokens here: the decoding engine's blocks and Monte-Carlo roll-outs,
InferenceGuard's chunks (with a penalty hook on flagged tokens), the preference trainer's
policy samples and its Nash-MD opponents (with a geometric-mixture hook,
:class:`GeometricMixture`), and :func:`saddlepoint.lm.logprobs.sample_responses`. Per step::

    scores <- logits_hook(step, source.logits(state), state)     # optional
    scores[eos] <- -inf                       while step < min_new_tokens
    token  <- argmax(scores)                  if temperature == 0
              else one draw from softmax(top_k(scores / temperature)) with ``generator``
    token  <- pad on rows that have already ended; a row ends at its first EOS
    state  <- source.advance(state, token)    # one token per row, key/value cache reused

The order (hook, minimum length, temperature, top-k) is the one of ``transformers``'
``generate(do_sample=True)``, so a :class:`CachedLM` over a left-padded batch samples exactly
the tokens ``generate`` sampled for the same seed.

A token *source* is any object with ``logits(state) -> (R, V)`` and ``advance(state, tokens)
-> state``: :class:`CachedLM` here (a causal LM over a left-padded batch, read lazily, so no
forward pass is spent after the last token) and the decoding policies of
:mod:`saddlepoint.decoding.policy` (one prompt, eager, with hidden states).

Randomness comes only from the explicit ``torch.Generator`` (see :func:`torch_generator_from`);
torch's global random state is never read or changed. Importing this module loads no torch;
the functions do (extra ``llm``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from saddlepoint.errors import InvalidInputError, require

__all__ = ["CachedLM", "GeometricMixture", "LMState", "LogitsHook", "Sampled", "TokenSource", "draw_tokens",
           "sample", "torch_generator_from"]

LogitsHook = Callable[[int, Any, Any], Any]
"""``hook(step, logits (R, V), state) -> logits (R, V)``: ``step`` counts tokens drawn in this
call; ``state`` is the source's state the logits belong to. Must not modify ``logits`` in place."""


class TokenSource(Protocol):
    """What :func:`sample` draws from."""

    def logits(self, state: Any) -> Any:
        """(R, V) next-token scores of every row of ``state`` (logits or log-probabilities)."""
        ...

    def advance(self, state: Any, tokens: Any) -> Any:
        """The state after reading one token per row, ``tokens`` (R,)."""
        ...


@dataclass
class Sampled:
    """What :func:`sample` returns."""

    tokens: Any
    """(R, s) int64 drawn tokens, ``pad`` after a row's end (s < steps after an early stop)."""
    state: Any
    """The source's state after reading them."""
    finished: Any
    """(R,) bool: the row has produced an end token (now or before the call)."""
    counts: Any
    """(R,) int64 real (non-padding) tokens drawn per row, the end token included."""


def torch_generator_from(rng: np.random.Generator, device: Any = "cpu") -> Any:
    """A ``torch.Generator`` on ``device`` seeded by one draw from ``rng``."""
    torch = require("torch", "llm")
    gen = torch.Generator(device=device)
    gen.manual_seed(int(rng.integers(0, 2**62)))
    return gen


def draw_tokens(scores: Any, generator: Any, temperature: float = 1.0, top_k: int = 0) -> Any:
    """One token per row from ``scores`` (R, V): greedy if temperature is 0, else a draw from
    softmax(scores / temperature) restricted to the top-k (0 keeps all), with ``generator``
    (on whose device the draw happens). Returns (R,) int64 on the device of ``scores``."""
    torch = require("torch", "llm")
    if temperature == 0:
        return scores.argmax(dim=-1)
    logits = scores / temperature
    if 0 < top_k < logits.shape[-1]:
        kth = torch.topk(logits, top_k, dim=-1).values[:, -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    probs = torch.softmax(logits, dim=-1)
    return torch.multinomial(probs.to(generator.device), 1, generator=generator).squeeze(1).to(scores.device)


def sample(source: TokenSource, state: Any, steps: int, generator: Any, *, temperature: float = 1.0,
           top_k: int = 0, min_new_tokens: int = 0, eos: Sequence[int] | Any = (), pad: int = 0,
           finished: Any = None, logits_hook: LogitsHook | None = None, stop_when_finished: bool = True,
           on_step: Callable[[Any, Any], None] | None = None) -> Sampled:
    """Draw up to ``steps`` tokens for every row of ``state`` (the loop of the module docstring).

    ``eos``: end-token ids (empty: rows never end); ``finished`` (R,) bool marks rows that ended
    before the call (they are fed ``pad``); ``stop_when_finished``: stop early once every row has
    ended (False keeps the compute at exactly R x steps tokens); ``on_step(state, active)`` is
    called after each advance with the new state and the (R,) mask of rows whose token was real.
    """
    torch = require("torch", "llm")
    if steps < 0:
        raise InvalidInputError(f"steps must be >= 0, got {steps}")
    eos_t = torch.as_tensor(list(eos) if not torch.is_tensor(eos) else eos, dtype=torch.long)
    new: list[Any] = []
    counts = None
    for step in range(steps):
        scores = source.logits(state)
        if logits_hook is not None:
            scores = logits_hook(step, scores, state)
        if finished is None:
            finished = torch.zeros(scores.shape[0], dtype=torch.bool, device=scores.device)
            counts = torch.zeros(scores.shape[0], dtype=torch.long, device=scores.device)
        elif counts is None:
            counts = torch.zeros_like(finished, dtype=torch.long)
        if step < min_new_tokens and eos_t.numel():
            scores = scores.index_fill(-1, eos_t.to(scores.device), float("-inf"))
        active = ~finished
        tok = draw_tokens(scores, generator, temperature, top_k)
        tok = torch.where(active, tok, torch.full_like(tok, pad))
        finished = finished | (active & torch.isin(tok, eos_t.to(tok.device)))
        counts = counts + active.long()
        new.append(tok)
        state = source.advance(state, tok)
        if on_step is not None:
            on_step(state, active)
        if stop_when_finished and bool(finished.all()):
            break
    if not new:
        rows = 0 if finished is None else finished.shape[0]
        empty = torch.zeros((rows, 0), dtype=torch.long)
        fin = torch.zeros(rows, dtype=torch.bool) if finished is None else finished
        return Sampled(empty, state, fin, torch.zeros(rows, dtype=torch.long))
    return Sampled(torch.stack(new, dim=1), state, finished, counts)


@dataclass
class LMState:
    """Rows of a :class:`CachedLM`: the tokens so far and the key/value cache of those read."""

    sequences: Any
    """(R, T) left-padded prompts followed by the tokens appended so far."""
    attention_mask: Any
    """(R, T) 0 on left padding, else 1."""
    cache: Any = None
    """The model's key/value cache of the first ``read`` columns (None before the first read)."""
    read: int = 0
    """Columns of ``sequences`` the model has read."""
    next_logits: Any = None
    """(R, V) float32 logits after the last column, once read."""


class CachedLM:
    """A ``transformers`` causal LM as a token source over a left-padded batch, with a key/value
    cache; read lazily (the model runs when logits are asked for), with the position ids derived
    from the attention mask and the logits of the last position only, as ``generate`` does."""

    def __init__(self, model: Any) -> None:
        import inspect

        self.model = model
        self.device = next(model.parameters()).device
        self._extra = {"logits_to_keep": 1} if "logits_to_keep" in inspect.signature(model.forward).parameters else {}

    def start(self, ids: Any, attention_mask: Any) -> LMState:
        """Rows to read: ``ids`` and ``attention_mask`` (R, T), e.g. from :func:`saddlepoint.lm.logprobs.left_pad`."""
        return LMState(ids.to(self.device), attention_mask.to(self.device))

    def logits(self, state: LMState) -> Any:
        torch = require("torch", "llm")
        if state.next_logits is None:
            attn = state.attention_mask
            positions = (attn.cumsum(-1) - 1).masked_fill(attn == 0, 1)
            with torch.no_grad():
                out = self.model(input_ids=state.sequences[:, state.read:], attention_mask=attn,
                                 position_ids=positions[:, state.read:], past_key_values=state.cache, use_cache=True,
                                 **self._extra)
            state.cache, state.read = out.past_key_values, state.sequences.shape[1]
            state.next_logits = out.logits[:, -1, :].to(dtype=torch.float32)
        return state.next_logits

    def advance(self, state: LMState, tokens: Any) -> LMState:
        torch = require("torch", "llm")
        tokens = tokens.to(self.device)
        attn = state.attention_mask
        return LMState(torch.cat([state.sequences, tokens[:, None]], dim=1),
                       torch.cat([attn, attn.new_ones((attn.shape[0], 1))], dim=1), state.cache, state.read)


class GeometricMixture:
    """Logits hook: the token-level geometric mixture of the sampled model and ``other`` (read
    on the same rows with its own cache), ``log_softmax(c * other_logits + (1 - c) * logits)``,
    i.e. mu(.|ctx) ∝ other^c model^(1-c) (Nash-MD's opponent with ``other`` = pi_ref, as TRL's
    ``GeometricMixtureWrapper``). For a :class:`CachedLM` source; ``other`` is not run when
    c = 0. One instance serves successive :func:`sample` calls (it restarts at step 0)."""

    def __init__(self, other: Any, coef: float) -> None:
        if not 0 <= coef <= 1:
            raise InvalidInputError(f"mixture_coef must lie in [0, 1], got {coef}")
        self.other, self.coef = CachedLM(other), float(coef)
        self._state: LMState | None = None

    def __call__(self, step: int, logits: Any, state: LMState) -> Any:
        torch = require("torch", "llm")
        if self.coef == 0:
            return torch.log_softmax(logits, dim=-1)
        if step == 0 or self._state is None:
            self._state = self.other.start(state.sequences, state.attention_mask)
        else:
            self._state = self.other.advance(self._state, state.sequences[:, -1])
        mixed = self.coef * self.other.logits(self._state).to(logits.device)
        if self.coef != 1:
            mixed = mixed + (1.0 - self.coef) * logits
        return torch.log_softmax(mixed, dim=-1)
