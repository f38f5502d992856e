"""Summed (and per-token) response log-probabilities and batched sampling (on the shared loop of
:mod:`saddlepoint.lm.sampling`) for causal language models.

Everything works on token ids (lists of ints), so it serves tiny test models without a
tokenizer as well as real ones. Sequences are packed ``prompt + response`` and right-padded,
so positions start at 0 for every row whatever the model's position handling.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from saddlepoint.config import check_positive, check_positive_int
from saddlepoint.errors import InvalidInputError, require
from saddlepoint.lm.sampling import CachedLM, GeometricMixture, LogitsHook, sample

__all__ = ["cut_at_eos", "left_pad", "response_token_logprobs", "sample_mixture_responses", "sample_responses", "seeded_torch",
           "sequence_logprobs"]


def _pack(prompts: Sequence[Sequence[int]], responses: Sequence[Sequence[int]], pad_id: int, device):
    torch = require("torch", "llm")
    if len(prompts) != len(responses):
        raise InvalidInputError(f"got {len(prompts)} prompts but {len(responses)} responses")
    if not prompts:
        raise InvalidInputError("nothing to score: empty batch")
    lengths = [len(p) + len(r) for p, r in zip(prompts, responses)]
    width = max(lengths)
    ids = torch.full((len(prompts), width), pad_id, dtype=torch.long)
    attn = torch.zeros((len(prompts), width), dtype=torch.long)
    resp_mask = torch.zeros((len(prompts), width), dtype=torch.bool)
    for i, (p, r) in enumerate(zip(prompts, responses)):
        if len(p) == 0:
            raise InvalidInputError("every prompt needs at least one token (the response is scored after it)")
        seq = list(p) + list(r)
        ids[i, : len(seq)] = torch.tensor(seq, dtype=torch.long)
        attn[i, : len(seq)] = 1
        resp_mask[i, len(p): len(seq)] = True
    return ids.to(device), attn.to(device), resp_mask.to(device)


def sequence_logprobs(model, prompts: Sequence[Sequence[int]], responses: Sequence[Sequence[int]], *,
                      pad_id: int = 0):
    """log pi(response | prompt) **summed over response tokens**, one per row: tensor ``(B,)``.

    ``prompts`` and ``responses`` are lists of token-id lists (``B`` of each). Gradients flow
    if the caller has them enabled; wrap in ``torch.no_grad()`` for frozen log-probs.
    """
    logp, resp_mask = _shifted_logprobs(model, prompts, responses, pad_id)
    return (logp * resp_mask).sum(dim=1)


def response_token_logprobs(model, prompts: Sequence[Sequence[int]], responses: Sequence[Sequence[int]], *,
                            pad_id: int = 0):
    """Per-token log pi(y_j | x, y_<j) of each response, left-aligned: ``(logp (B, R), mask (B, R))``.

    ``R`` is the longest response; entries past a response's end are 0 with ``mask`` False, so
    ``logp.sum(1)`` equals :func:`sequence_logprobs` (up to summation order). For token-level
    objectives such as Nash-MD-PG's KL term.
    """
    torch = require("torch", "llm")
    logp, _ = _shifted_logprobs(model, prompts, responses, pad_id)
    lengths = torch.tensor([len(r) for r in responses], device=logp.device)
    starts = torch.tensor([len(p) - 1 for p in prompts], device=logp.device)
    width = int(lengths.max())
    steps = torch.arange(width, device=logp.device)
    mask = steps[None, :] < lengths[:, None]
    # row i's response token j is predicted at shifted position len(prompt_i) - 1 + j
    idx = (starts[:, None] + steps[None, :]).clamp(max=max(logp.shape[1] - 1, 0))
    return logp.gather(1, idx) * mask, mask


def _shifted_logprobs(model, prompts, responses, pad_id: int):
    """log-prob of each packed token given its prefix, ``(B, W - 1)``, and the response mask."""
    torch = require("torch", "llm")
    device = next(model.parameters()).device
    ids, attn, resp_mask = _pack(prompts, responses, pad_id, device)
    logits = model(input_ids=ids, attention_mask=attn).logits[:, :-1].float()
    logp = torch.log_softmax(logits, dim=-1).gather(-1, ids[:, 1:, None]).squeeze(-1)
    return logp, resp_mask[:, 1:]


@contextmanager
def seeded_torch(seed: int, device) -> Iterator[None]:
    """Fork torch's global RNG (CPU and ``device``), seed it, restore it on exit: samplers that
    draw from the global generator (as ``generate`` does) stay reproducible without touching the
    caller's random state."""
    torch = require("torch", "llm")
    with torch.random.fork_rng(devices=[] if device.type == "cpu" else [device]):
        torch.manual_seed(seed)
        yield


def left_pad(prompts: Sequence[Sequence[int]], pad_id: int):
    """Left-pad token-id lists for generation: ``(ids (B, W), attention_mask (B, W))`` on CPU."""
    torch = require("torch", "llm")
    width = max(len(p) for p in prompts)
    ids = torch.full((len(prompts), width), pad_id, dtype=torch.long)
    attn = torch.zeros((len(prompts), width), dtype=torch.long)
    for i, p in enumerate(prompts):
        ids[i, width - len(p):] = torch.tensor(list(p), dtype=torch.long)
        attn[i, width - len(p):] = 1
    return ids, attn


def cut_at_eos(row: list[int], eos_id: int | None) -> list[int]:
    """A generated row up to and including its first EOS (the padding after it dropped)."""
    if eos_id is not None and eos_id in row:
        return row[: row.index(eos_id) + 1]
    return row


def sample_responses(model, prompts: Sequence[Sequence[int]], *, max_new_tokens: int, min_new_tokens: int = 0,
                     temperature: float = 1.0, top_k: int = 0, pad_id: int = 0, eos_id: int | None = None,
                     seed: int = 0, batch_size: int = 8, logits_hook: LogitsHook | None = None) -> list[list[int]]:
    """Sample one response per prompt (token-id lists, cut after the first EOS, which is kept).

    Prompts are left-padded in batches of ``batch_size`` and decoded by the shared loop
    (:func:`saddlepoint.lm.sampling.sample`, the tokens ``generate(do_sample=True)`` draws)
    with a ``torch.Generator`` seeded with ``seed`` on the model's device, so the caller's global
    random state is untouched and the same seed gives the same samples. ``logits_hook`` changes
    the next-token logits first (e.g. :class:`~saddlepoint.lm.sampling.GeometricMixture`).
    """
    torch = require("torch", "llm")
    check_positive_int("max_new_tokens", max_new_tokens)
    if not prompts or any(len(p) == 0 for p in prompts):
        raise InvalidInputError("every prompt needs at least one token")
    lm = CachedLM(model)
    gen = torch.Generator(device=lm.device)
    gen.manual_seed(seed)
    eos = [] if eos_id is None else [eos_id]
    out: list[list[int]] = []
    for start in range(0, len(prompts), batch_size):
        ids, attn = left_pad(prompts[start: start + batch_size], pad_id)
        drawn = sample(lm, lm.start(ids, attn), max_new_tokens, gen, temperature=temperature, top_k=top_k,
                       min_new_tokens=min_new_tokens, eos=eos, pad=pad_id, logits_hook=logits_hook)
        out.extend(cut_at_eos(row, eos_id) for row in drawn.tokens.tolist())
    return out


def sample_mixture_responses(policy, reference, prompts: Sequence[Sequence[int]], *, mixture_coef: float,
                             **kw: Any) -> list[list[int]]:
    """One response per prompt from the token-level geometric mixture ref^c policy^(1-c) of two
    causal LMs, Nash-MD's opponent: :func:`sample_responses` of ``policy`` with the
    :class:`~saddlepoint.lm.sampling.GeometricMixture` hook (same keywords, same seeding), so
    c = 0 gives the policy's samples and c = 1 the reference's for the same seed."""
    check_positive("mixture_coef", mixture_coef, allow_zero=True)
    return sample_responses(policy, prompts, logits_hook=GeometricMixture(reference, mixture_coef), **kw)
