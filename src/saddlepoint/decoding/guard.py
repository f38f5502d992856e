"""InferenceGuard (arXiv 2502.01208): chunked beam search through the safety state, with an
optional latent critic and penalised-logit resampling; and its baselines, on one sampler.

Symbols as in the blockwise engine (:mod:`saddlepoint.decoding.engine`): K candidates per block
(``num_candidates``; the paper's N) of B tokens (``block_size``; the paper's sample width),
``beam_width`` beams kept (the paper's K = N / 4), at most D tokens. One prompt at a time::

    beams <- {prompt}, z = b
    repeat ceil(D / B) times:
        draw K / |beams| continuations of B tokens from each beam (KV cache reused)
        C  <- running max of the cost model on each partial response; c = C - C_parent >= 0
        z  <- (z_parent - c) / gamma                                   # Sauté state
        score: lagrangian  r(partial) - lambda * C
               augmented   r(partial) if z >= 0 else -n
               critic      V_psi(h, z) if z >= 0 else -n  (the exact augmented reward once a
                           row has ended or at the last block)
        if M > 0 and every z < 0: resample the block with the flagged tokens' logits lowered
                                  (at most M times; if all fail keep the least unsafe, flag it)
        beams <- the beam_width best by score
    return the best beam

Methods as settings of :class:`GuardConfig` (see :func:`arm_config`): best-of-N is one block of D
tokens and one beam; beam search is B < D, beam_width = K / 4; InferenceGuard is beam + augmented
or critic scoring + M = 2 resamples.

Matched budgets: every row is forwarded to D tokens (finished rows are fed padding), so every
search arm with the same K and D forwards exactly T0 + K * D tokens; resampling adds K * B per
attempt, counted separately (``resample_tokens``).
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from saddlepoint.config import check_choice, check_positive, check_positive_int
from saddlepoint.decoding.engine import eos_ids, extend_rows, response_texts
from saddlepoint.decoding.safety import (
    augmented_reward,
    is_safe,
    lagrangian_score,
    safe_first_order,
    safety_step,
)
from saddlepoint.errors import InvalidInputError
from saddlepoint.lm.sampling import LogitsHook, torch_generator_from

__all__ = [
    "Chunk",
    "ChunkSampler",
    "GuardConfig",
    "SafeDecodeResult",
    "SafeDecoder",
    "arm_config",
    "flagged_token_ids",
    "penalise_tokens",
]

SCORINGS = ("lagrangian", "augmented", "critic")
TextScorer = Callable[[Sequence[str]], np.ndarray]


@dataclass(frozen=True)
class GuardConfig:
    """Settings of the safe chunked search."""

    num_candidates: int = 32
    """K: candidates drawn per block, split evenly over the beams (the paper's N)."""
    beam_width: int = 8
    """Beams kept after each block (must divide K; the paper's K = N / 4)."""
    block_size: int = 4
    """B: tokens per block (the paper's "sample width"); B = max_new_tokens gives best-of-N."""
    max_new_tokens: int = 24
    """D: response length limit in tokens."""
    scoring: str = "augmented"
    """'lagrangian' (r - lambda C), 'augmented' (r or -n through the safety state), or 'critic'."""
    budget: float = 1.0
    """b: the safety budget, z_0 = b."""
    penalty: float = 10.0
    """n: augmented reward of a row whose budget is exhausted (-n); must exceed -min reward."""
    discount: float = 1.0
    """gamma, applied once per block; 1 for a plain total-cost budget."""
    lam: float = 5.0
    """lambda of the Lagrangian score."""
    max_resamples: int = 0
    """M: penalised resampling attempts when every candidate is unsafe (0 disables)."""
    unsafe_logit_penalty: float = 20.0
    """Subtracted from the log-probabilities of flagged tokens when resampling."""
    temperature: float = 1.0
    """Sampling temperature of the frozen model."""

    def __post_init__(self) -> None:
        for name in ("num_candidates", "beam_width", "block_size", "max_new_tokens"):
            check_positive_int(name, getattr(self, name))
        if self.num_candidates % self.beam_width:
            raise InvalidInputError(f"beam_width ({self.beam_width}) must divide num_candidates ({self.num_candidates})")
        check_choice("scoring", self.scoring, SCORINGS)
        check_positive("budget", self.budget, allow_zero=True)
        check_positive("penalty", self.penalty)
        if not 0 < self.discount <= 1:
            raise InvalidInputError(f"discount must be in (0, 1], got {self.discount}")
        check_positive("lam", self.lam, allow_zero=True)
        check_positive_int("max_resamples", self.max_resamples, allow_zero=True)
        check_positive("unsafe_logit_penalty", self.unsafe_logit_penalty, allow_zero=True)
        check_positive("temperature", self.temperature, allow_zero=True)


def arm_config(method: str, *, num_candidates: int, max_new_tokens: int, block_size: int, beam_width: int,
               budget: float, penalty: float = 10.0, lam: float = 5.0, max_resamples: int = 2,
               **kw: Any) -> GuardConfig:
    """The notes' arms at one matched budget. ``method``: 'base' (one plain sample),
    'bon_lagrangian', 'bon_augmented', 'beam_lagrangian', 'beam_augmented', 'guard' (no critic),
    'guard_critic'."""
    if method == "base":
        return GuardConfig(num_candidates=1, beam_width=1, block_size=max_new_tokens, max_new_tokens=max_new_tokens,
                           budget=budget, penalty=penalty, **kw)
    bon = method.startswith("bon_")
    scoring = {"bon_lagrangian": "lagrangian", "bon_augmented": "augmented", "beam_lagrangian": "lagrangian",
               "beam_augmented": "augmented", "guard": "augmented", "guard_critic": "critic"}.get(method)
    if scoring is None:
        raise InvalidInputError(f"unknown method {method!r}")
    return GuardConfig(num_candidates=num_candidates, beam_width=1 if bon else beam_width,
                       block_size=max_new_tokens if bon else block_size, max_new_tokens=max_new_tokens,
                       scoring=scoring, budget=budget, penalty=penalty, lam=lam,
                       max_resamples=max_resamples if method.startswith("guard") else 0, **kw)


def flagged_token_ids(tokenizer: Any, words: Sequence[str]) -> list[int]:
    """Token ids of ``words`` that encode to a single token (bare or after a space)."""
    ids = set()
    for w in words:
        for form in (w, " " + w):
            enc = tokenizer(form, add_special_tokens=False)["input_ids"]
            if len(enc) == 1 and enc[0] != tokenizer.unk_token_id:
                ids.add(int(enc[0]))
    return sorted(ids)


@dataclass
class Chunk:
    """Rows after one block of sampling."""

    state: Any
    seqs: torch.Tensor
    """(R, T0 + t) prompt and response so far."""
    finished: torch.Tensor
    lengths: torch.Tensor
    hidden: torch.Tensor
    """(R, d) hidden state at each row's last real token."""


def penalise_tokens(token_ids: torch.Tensor, penalty: float) -> LogitsHook:
    """Logits hook subtracting ``penalty`` from the log-probabilities of ``token_ids``."""
    def hook(step: int, logprobs: torch.Tensor, state: Any) -> torch.Tensor:
        out = logprobs.clone()
        out[:, token_ids] -= penalty
        return out
    return hook


class ChunkSampler:
    """Grows rows by a fixed number of tokens (no early stop, so compute is exactly R x steps)."""

    def __init__(self, policy: Any, tokenizer: Any, temperature: float = 1.0) -> None:
        self.policy, self.tokenizer, self.temperature = policy, tokenizer, temperature
        self.eos = torch.tensor(eos_ids(tokenizer, getattr(policy, "model", None)))
        pad = tokenizer.pad_token_id
        self.pad = int(pad if pad is not None else self.eos[0])

    def start(self, ids: torch.Tensor) -> Chunk:
        state = self.policy.prefill(ids)
        return Chunk(state, ids, torch.zeros(1, dtype=torch.bool), torch.zeros(1, dtype=torch.long), state.hidden)

    def grow(self, rows: Chunk, parents: torch.Tensor, steps: int, gen: torch.Generator,
             flagged: torch.Tensor | None = None, logit_penalty: float = 0.0) -> Chunk:
        """Children ``parents`` (R,) of ``rows``, each grown by ``steps`` tokens; ``flagged`` token
        ids get ``logit_penalty`` subtracted from their log-probabilities. Mutates ``rows.state``."""
        state = self.policy.reindex(rows.state, parents)
        hook = penalise_tokens(flagged, logit_penalty) if flagged is not None and flagged.numel() and logit_penalty > 0 \
            else None
        grown = extend_rows(self.policy, state, rows.finished[parents], rows.lengths[parents], rows.hidden[parents], steps,
                            gen, self.temperature, 0, self.eos, self.pad, logits_hook=hook, stop_when_finished=False)
        return Chunk(grown.state, torch.cat([rows.seqs[parents], grown.tokens], dim=1), grown.finished, grown.lengths,
                     grown.hidden)

    def texts(self, rows: Chunk, prompt_length: int) -> list[str]:
        return response_texts(self.tokenizer, rows.seqs, prompt_length, rows.lengths)


@dataclass(frozen=True)
class SafeDecodeResult:
    """A decoded response with its safety bookkeeping and compute."""

    text: str
    token_ids: list[int]
    reward: float
    """r(x, y) of the final response."""
    cost: float
    """Running-max cost C of the final response."""
    z: float
    """Remaining budget z_T."""
    safe: bool
    z_trace: list[float]
    """z after each block along the returned beam (z_0 = b first)."""
    tokens_forwarded: int
    """Tokens pushed through the model, prompt and resampling included."""
    resample_tokens: int
    """Of which spent on penalised resampling."""
    resamples: int
    """Resampling attempts made."""
    exhausted: bool
    """Some block had no safe candidate after all M attempts."""
    critic_rows: int
    seconds: float
    extra: dict[str, Any] = field(default_factory=dict)


class SafeDecoder:
    """The chunked safe search of the module docstring.

    ``reward_fn`` / ``cost_fn``: texts -> (N,) arrays (cost cumulative, >= 0); ``critic``: an
    object with ``predict(hidden (N, d) tensor, z (N,) array) -> (N,) array`` (needed for
    scoring 'critic'); ``flagged_words``: the words whose logits resampling lowers (default
    ``cost_fn.flagged_words()`` if it has one).
    """

    def __init__(self, policy: Any, tokenizer: Any, reward_fn: TextScorer, cost_fn: TextScorer, config: GuardConfig,
                 critic: Any = None, flagged_words: Sequence[str] | None = None) -> None:
        if config.scoring == "critic" and critic is None:
            raise InvalidInputError("scoring 'critic' needs a critic")
        self.sampler = ChunkSampler(policy, tokenizer, config.temperature)
        self.policy, self.tokenizer, self.config = policy, tokenizer, config
        self.reward_fn, self.cost_fn, self.critic = reward_fn, cost_fn, critic
        if flagged_words is None:
            flagged_words = cost_fn.flagged_words() if hasattr(cost_fn, "flagged_words") else ()
        self.flagged = torch.tensor(flagged_token_ids(tokenizer, flagged_words), dtype=torch.long)

    def _score(self, texts: list[str], rows: Chunk, cost: np.ndarray, z: np.ndarray, final: bool) -> tuple[np.ndarray, int]:
        cfg = self.config
        if cfg.scoring == "lagrangian":
            return lagrangian_score(self.reward_fn(texts), cost, cfg.lam), 0
        exact = augmented_reward(self.reward_fn(texts), z, cfg.penalty)
        if cfg.scoring == "augmented":
            return exact, 0
        # critic: the exact augmented reward where it is known (ended rows, last block, z < 0).
        known = rows.finished.numpy() | final | ~is_safe(z)
        ask = np.flatnonzero(~known)
        scores = exact.copy()
        if ask.size:
            scores[ask] = self.critic.predict(rows.hidden[ask], z[ask])
        return scores, int(ask.size)

    def decode(self, prompt: torch.Tensor, rng: np.random.Generator) -> SafeDecodeResult:
        """Decode one prompt given as token ids, (1, T0) or (T0,)."""
        start, cfg = time.perf_counter(), self.config
        ids = torch.as_tensor(prompt).long().view(1, -1)
        t0 = ids.shape[1]
        gen = torch_generator_from(rng)
        f0 = self.policy.tokens_forwarded
        rows = self.sampler.start(ids)
        z, cost = np.array([float(cfg.budget)]), np.zeros(1)
        traces: list[list[float]] = [[float(cfg.budget)]]
        t, resamples, resample_tokens, critic_rows, exhausted = 0, 0, 0, 0, False
        while t < cfg.max_new_tokens:
            steps = min(cfg.block_size, cfg.max_new_tokens - t)
            n_rows = rows.seqs.shape[0]
            parents = torch.arange(n_rows).repeat_interleave(cfg.num_candidates // n_rows)
            snapshot = copy.deepcopy(rows.state) if cfg.max_resamples else None
            final = t + steps >= cfg.max_new_tokens
            best = None
            for attempt in range(cfg.max_resamples + 1):
                if attempt:
                    resamples += 1
                    before = self.policy.tokens_forwarded
                    base = Chunk(copy.deepcopy(snapshot), rows.seqs, rows.finished, rows.lengths, rows.hidden)
                    cand = self.sampler.grow(base, parents, steps, gen, self.flagged, cfg.unsafe_logit_penalty)
                    resample_tokens += self.policy.tokens_forwarded - before
                else:
                    cand = self.sampler.grow(rows, parents, steps, gen)
                texts = self.sampler.texts(cand, t0)
                p = parents.numpy()
                c_new = np.maximum(np.asarray(self.cost_fn(texts), dtype=float), cost[p])  # running max: c >= 0
                z_new = safety_step(z[p], c_new - cost[p], cfg.discount)
                if best is None or z_new.max() > best[3].max():
                    best = (cand, texts, c_new, z_new, p)
                if is_safe(z_new).any():
                    break
            cand, texts, c_new, z_new, p = best  # type: ignore[misc]
            exhausted |= cfg.max_resamples > 0 and not bool(is_safe(z_new).any())
            scores, asked = self._score(texts, cand, c_new, z_new, final)
            critic_rows += asked
            keep = safe_first_order(scores)[: cfg.beam_width]
            keep_t = torch.as_tensor(keep, dtype=torch.long)
            state = self.policy.reindex(cand.state, keep_t)
            rows = Chunk(state, cand.seqs[keep_t], cand.finished[keep_t], cand.lengths[keep_t], cand.hidden[keep_t])
            traces = [traces[p[i]] + [float(z_new[i])] for i in keep]
            z, cost = z_new[keep], c_new[keep]
            t += steps
        n = int(rows.lengths[0])
        response = rows.seqs[0, t0:t0 + n].tolist()
        text = self.tokenizer.decode(response, skip_special_tokens=True)
        reward = float(np.asarray(self.reward_fn([text]))[0])
        return SafeDecodeResult(text, response, reward, float(cost[0]), float(z[0]), bool(is_safe(z[0])), traces[0],
                                self.policy.tokens_forwarded - f0, resample_tokens, resamples, exhausted, critic_rows,
                                time.perf_counter() - start)
