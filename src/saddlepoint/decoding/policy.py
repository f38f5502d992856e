"""Token policies the decoder samples from: one causal LM (pi_ref), or MOD's mixture of G LMs.

A policy keeps a key/value cache per row, so a block of K branches reuses the shared prefix:
the prompt is read once, its cache is copied to K rows, each block adds one token per row per
step, and the surviving row's cache carries on into the next block. Rows all have the same
length (one prompt at a time; finished rows are fed padding), so no attention mask is needed.

Every policy counts the tokens it pushes through a model (``tokens_forwarded``), the compute
measure used to match methods.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from saddlepoint.errors import InvalidInputError

__all__ = ["PolicyState", "CausalPolicy", "MixturePolicy"]


@dataclass
class PolicyState:
    """Per-row decoding state: next-token log-probabilities and last hidden states."""

    logprobs: torch.Tensor
    """(R, V) log pi(next token | row)."""
    hidden: torch.Tensor
    """(R, d) last-layer hidden state of the last token read (the reference model's)."""
    caches: list[Any]
    """One key/value cache per underlying model."""


class CausalPolicy:
    """pi_ref: a ``transformers`` causal LM read with a key/value cache."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self.tokens_forwarded = 0
        # Only the last position's logits are needed (saves a T x vocab projection on prefill).
        params = inspect.signature(model.forward).parameters
        self._extra = {"logits_to_keep": 1} if "logits_to_keep" in params else {}

    def _forward(self, ids: torch.Tensor, cache: Any) -> tuple[torch.Tensor, torch.Tensor, Any]:
        """Inputs go to the model's device; log-probs and hidden states come back on the CPU,
        where the search keeps its bookkeeping (the KV cache stays on the model's device)."""
        device = self.model.get_input_embeddings().weight.device
        with torch.no_grad():
            out = self.model(input_ids=ids.to(device), past_key_values=cache, use_cache=True,
                             output_hidden_states=True, **self._extra)
        self.tokens_forwarded += int(ids.numel())
        logits = out.logits[:, -1, :].float()
        return (torch.log_softmax(logits, dim=-1).cpu(), out.hidden_states[-1][:, -1, :].float().cpu(),
                out.past_key_values)

    def logits(self, state: PolicyState) -> torch.Tensor:
        """(R, V) next-token log-probabilities (the token source of :func:`saddlepoint.lm.sampling.sample`)."""
        return state.logprobs

    def prefill(self, ids: torch.Tensor) -> PolicyState:
        """Read ``ids`` (R, T) from scratch."""
        logp, hidden, cache = self._forward(ids, None)
        return PolicyState(logp, hidden, [cache])

    def advance(self, state: PolicyState, tokens: torch.Tensor) -> PolicyState:
        """Read one token per row, ``tokens`` (R,)."""
        logp, hidden, cache = self._forward(tokens[:, None], state.caches[0])
        return PolicyState(logp, hidden, [cache])

    def reindex(self, state: PolicyState, rows: torch.Tensor) -> PolicyState:
        """Keep (and duplicate) rows: the new row i is the old row ``rows[i]``."""
        for cache in state.caches:
            cache.reorder_cache(rows)
        return PolicyState(state.logprobs[rows], state.hidden[rows], state.caches)


class MixturePolicy:
    """MOD (Shi et al. 2024, reverse-KL case): ``pi(y_t | .) ~ prod_g pi_g(y_t | .)^{w_g}``,
    i.e. the softmax of the w-weighted sum of the G models' log-probabilities. The models must
    share one tokenizer and vocabulary (checked on the output size)."""

    def __init__(self, models: Sequence[Any], weights: Sequence[float]) -> None:
        if len(models) < 1 or len(models) != len(weights):
            raise InvalidInputError(f"MOD needs one weight per model; got {len(models)} models, {len(weights)} weights")
        w = torch.tensor([float(x) for x in weights])
        if torch.any(w < 0) or abs(float(w.sum()) - 1.0) > 1e-6:
            raise InvalidInputError(f"MOD weights must be on the simplex, got {list(weights)}")
        sizes = {m.get_output_embeddings().weight.shape[0] for m in models}
        if len(sizes) != 1:
            raise InvalidInputError(f"MOD models must share one vocabulary; output sizes {sorted(sizes)}")
        self.policies = [CausalPolicy(m) for m in models]
        self.weights = w

    @property
    def tokens_forwarded(self) -> int:
        return sum(p.tokens_forwarded for p in self.policies)

    def _mix(self, states: list[PolicyState]) -> PolicyState:
        mixed = sum(w * s.logprobs for w, s in zip(self.weights.tolist(), states))
        return PolicyState(torch.log_softmax(mixed, dim=-1), states[0].hidden, [s.caches[0] for s in states])

    def _split(self, state: PolicyState) -> list[PolicyState]:
        return [PolicyState(state.logprobs, state.hidden, [c]) for c in state.caches]

    def logits(self, state: PolicyState) -> torch.Tensor:
        return state.logprobs

    def prefill(self, ids: torch.Tensor) -> PolicyState:
        return self._mix([p.prefill(ids) for p in self.policies])

    def advance(self, state: PolicyState, tokens: torch.Tensor) -> PolicyState:
        return self._mix([p.advance(s, tokens) for p, s in zip(self.policies, self._split(state))])

    def reindex(self, state: PolicyState, rows: torch.Tensor) -> PolicyState:
        for cache in state.caches:
            cache.reorder_cache(rows)
        return PolicyState(state.logprobs[rows], state.hidden[rows], state.caches)
