"""The laptop-scale RMOD task of the paper notes: a tiny GPT-2 trained on a random sparse
Markov chain over ~24 symbols, and three conflicting, exactly computable objectives.

* r_1 = share of response symbols in set A, r_2 = share in a disjoint set B (A and B compete
  for the same positions), r_3 = distinct-symbol ratio (penalises the repetition that pushing
  r_1 or r_2 induces). All in [0, 1]; the worst case is min_g r_g.

Everything is built offline: a word-level tokenizer over the symbols (``tokenizers``), a GPT-2
from a config, trained for a few hundred steps with an explicit torch generator.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from saddlepoint.config import check_positive, check_positive_int
from saddlepoint.errors import InvalidInputError, require

__all__ = [
    "MarkovTask", "make_task", "sample_sequences", "symbol_tokenizer", "tiny_gpt2", "train_lm",
    "SymbolShare", "DistinctRatio", "task_rewards", "reward_filtered_sft", "train_expert",
]

PAD, EOS, UNK = "<pad>", "<eos>", "<unk>"


def _symbol(i: int) -> str:
    return f"s{i}"


@dataclass(frozen=True)
class MarkovTask:
    """A seeded sparse Markov chain over symbols ``s0..s{n-1}`` and the objective sets."""

    transitions: np.ndarray
    """(n, n) row-stochastic, each row with ``branching`` non-zeros."""
    start: np.ndarray
    """(n,) initial distribution."""
    set_a: tuple[str, ...]
    set_b: tuple[str, ...]
    min_length: int
    max_length: int

    @property
    def n_symbols(self) -> int:
        return self.transitions.shape[0]


def make_task(seed: int, n_symbols: int = 24, branching: int = 5, set_size: int = 6, min_length: int = 16,
              max_length: int = 24) -> MarkovTask:
    """A random sparse chain (Dirichlet(0.5) weights on ``branching`` random successors); sets A
    and B are disjoint, of equal size, with matched stationary frequencies."""
    check_positive_int("n_symbols", n_symbols)
    check_positive_int("branching", branching)
    if 2 * set_size > n_symbols or branching > n_symbols or not 1 <= min_length <= max_length:
        raise InvalidInputError("need 2*set_size <= n_symbols, branching <= n_symbols, 1 <= min_length <= max_length")
    rng = np.random.default_rng(seed)
    trans = np.zeros((n_symbols, n_symbols))
    for i in range(n_symbols):
        succ = rng.choice(n_symbols, size=branching, replace=False)
        trans[i, succ] = rng.dirichlet(np.full(branching, 0.5))
    # A and B get symbols of matched stationary frequency (snake order over the most frequent
    # 2*set_size symbols), so neither objective is lagging by construction and they compete.
    evals, evecs = np.linalg.eig(trans.T)
    stationary = np.abs(np.real(evecs[:, np.argmin(np.abs(evals - 1.0))]))
    ranked = np.argsort(-stationary, kind="stable")[: 2 * set_size]
    snake = [i % 4 in (0, 3) for i in range(2 * set_size)]
    set_a = tuple(_symbol(int(s)) for s, a in zip(ranked, snake) if a)
    set_b = tuple(_symbol(int(s)) for s, a in zip(ranked, snake) if not a)
    return MarkovTask(trans, np.full(n_symbols, 1.0 / n_symbols), set_a, set_b, min_length, max_length)


def sample_sequences(task: MarkovTask, n: int, rng: np.random.Generator) -> list[list[str]]:
    """``n`` symbol sequences, lengths uniform in [min_length, max_length]."""
    out = []
    for _ in range(n):
        length = int(rng.integers(task.min_length, task.max_length + 1))
        s = [int(rng.choice(task.n_symbols, p=task.start))]
        for _ in range(length - 1):
            s.append(int(rng.choice(task.n_symbols, p=task.transitions[s[-1]])))
        out.append([_symbol(i) for i in s])
    return out


def symbol_tokenizer(n_symbols: int):
    """A word-level fast tokenizer: ``<pad>``=0, ``<eos>``=1, ``<unk>``=2, then the symbols."""
    tokenizers = require("tokenizers", "llm")
    transformers = require("transformers", "llm")
    vocab = {PAD: 0, EOS: 1, UNK: 2, **{_symbol(i): i + 3 for i in range(n_symbols)}}
    tk = tokenizers.Tokenizer(tokenizers.models.WordLevel(vocab, unk_token=UNK))
    tk.pre_tokenizer = tokenizers.pre_tokenizers.WhitespaceSplit()
    tk.decoder = tokenizers.decoders.WordPiece(prefix="##", cleanup=False)  # joins words with spaces
    return transformers.PreTrainedTokenizerFast(tokenizer_object=tk, pad_token=PAD, eos_token=EOS, unk_token=UNK)


def tiny_gpt2(vocab_size: int, seed: int, n_layer: int = 2, n_embd: int = 64, n_head: int = 2,
              n_positions: int = 64):
    """A GPT-2 built from a config (no dropout), initialised under ``seed``."""
    transformers = require("transformers", "llm")
    cfg = transformers.GPT2Config(vocab_size=vocab_size, n_positions=n_positions, n_embd=n_embd, n_layer=n_layer,
                                  n_head=n_head, resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0,
                                  bos_token_id=1, eos_token_id=1, pad_token_id=0)
    with torch.random.fork_rng(devices=[]):  # the global torch state is restored afterwards
        torch.manual_seed(seed)
        model = transformers.GPT2LMHeadModel(cfg)
    return model.eval()


def train_lm(model, tokenizer, texts: Sequence[str], *, steps: int, batch_size: int = 32, lr: float = 3e-3,
             seed: int = 0) -> list[float]:
    """Maximum-likelihood training on ``texts`` (each followed by EOS); returns the losses."""
    check_positive_int("steps", steps, allow_zero=True)
    check_positive_int("batch_size", batch_size)
    check_positive("lr", lr)
    if not texts:
        raise InvalidInputError("train_lm needs at least one text")
    ids = [tokenizer(t, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id] for t in texts]
    width = max(map(len, ids))
    data = torch.full((len(ids), width), tokenizer.pad_token_id, dtype=torch.long)
    mask = torch.zeros((len(ids), width), dtype=torch.long)
    for i, row in enumerate(ids):
        data[i, :len(row)], mask[i, :len(row)] = torch.tensor(row), 1
    labels = data.masked_fill(mask == 0, -100)
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0)
    model.train()
    losses = []
    for _ in range(steps):
        idx = torch.randint(0, len(ids), (batch_size,), generator=gen)
        loss = model(input_ids=data[idx], attention_mask=mask[idx], labels=labels[idx]).loss
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    model.eval()
    return losses


def _words(text: str) -> list[str]:
    return text.split()


@dataclass(frozen=True)
class SymbolShare:
    """Share of the response's symbols that lie in ``symbols`` (0 for an empty response)."""

    name: str
    symbols: tuple[str, ...]

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        keep = set(self.symbols)
        return np.array([np.mean([w in keep for w in _words(t)]) if _words(t) else 0.0 for t in texts])


@dataclass(frozen=True)
class DistinctRatio:
    """Distinct symbols / symbols in the response (0 for an empty response)."""

    name: str = "distinct"

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        return np.array([len(set(_words(t))) / len(_words(t)) if _words(t) else 0.0 for t in texts])


def task_rewards(task: MarkovTask) -> tuple[SymbolShare, SymbolShare, DistinctRatio]:
    """The three objectives (r_A, r_B, r_distinct)."""
    return SymbolShare("share_a", task.set_a), SymbolShare("share_b", task.set_b), DistinctRatio()


def reward_filtered_sft(base, tokenizer, prompts: Sequence[str], responses: Sequence[str], scores: np.ndarray, *,
                        keep_fraction: float = 0.25, steps: int = 100, lr: float = 1e-3, batch_size: int = 32,
                        seed: int = 0):
    """A copy of ``base`` fine-tuned on the top ``keep_fraction`` of (prompt + response) by
    ``scores`` (one objective): the single-objective policies that MOD mixes."""
    if not 0 < keep_fraction <= 1:
        raise InvalidInputError(f"keep_fraction must be in (0, 1], got {keep_fraction}")
    order = np.argsort(-np.asarray(scores), kind="stable")[: max(1, round(keep_fraction * len(scores)))]
    model = copy.deepcopy(base)
    train_lm(model, tokenizer, [f"{prompts[i]} {responses[i]}".strip() for i in order], steps=steps, lr=lr,
             batch_size=batch_size, seed=seed)
    return model


def train_expert(base, tokenizer, prompts: Sequence[torch.Tensor], reward, scale: tuple[float, float],
                 check_prompts: Sequence[torch.Tensor], rng: np.random.Generator, *, target_sd: float = 1.0,
                 max_rounds: int = 8, samples_per_prompt: int = 8, max_new_tokens: int = 16,
                 keep_fraction: float = 0.25, steps: int = 100, lr: float = 1e-3, batch_size: int = 32,
                 seed: int = 0):
    """A single-objective expert for MOD: rounds of reward-filtered SFT on the expert's own
    samples (round 1 on pi_ref's), until its mean ``reward`` on ``check_prompts`` is at least
    ``target_sd`` reference standard deviations above the reference mean (``scale`` = (mean, s.d.)
    of the reward under pi_ref), or ``max_rounds`` rounds have run.

    Returns the expert and its history: ``improvement_sd`` (the last measurement, in reference
    s.d.), ``per_round``, ``rounds`` and ``reached`` (improvement >= target).
    """
    from saddlepoint.decoding.policy import CausalPolicy
    from saddlepoint.decoding.values import sample_reference

    check_positive_int("max_rounds", max_rounds)
    check_positive("target_sd", target_sd, allow_zero=True)
    loc, sd = float(scale[0]), float(scale[1])
    if not sd > 0:
        raise InvalidInputError(f"scale must be (mean, s.d.) with s.d. > 0, got {scale!r}")
    model, per_round = base, []
    prompt_texts = [tokenizer.decode(torch.as_tensor(x).view(-1).tolist()) for x in prompts
                    for _ in range(samples_per_prompt)]
    for r in range(max_rounds):
        texts = sample_reference(CausalPolicy(model), tokenizer, prompts, samples_per_prompt, max_new_tokens, rng)
        model = reward_filtered_sft(model, tokenizer, prompt_texts, texts, np.asarray(reward(texts)),
                                    keep_fraction=keep_fraction, steps=steps, lr=lr, batch_size=batch_size,
                                    seed=seed + r)
        check = sample_reference(CausalPolicy(model), tokenizer, check_prompts, samples_per_prompt, max_new_tokens,
                                 rng)
        per_round.append((float(np.mean(reward(check))) - loc) / sd)
        if per_round[-1] >= target_sd:
            break
    return model, {"improvement_sd": per_round[-1], "per_round": per_round, "rounds": len(per_round),
                   "reached": bool(per_round[-1] >= target_sd)}
