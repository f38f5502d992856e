"""RSPO vs SPPO on SmolLM2-135M-Instruct under a judge with a verbosity bias (RSPO notes, E4 on
a real model; issue 20, item 5).

The paper (Tang et al., arXiv 2503.00030) reports that regularised self-play raises the
length-controlled (LC) win rate while lengthening responses less than SPPO, whose judge
(PairRM / GPT-4) likes long answers. Here the preference oracle is a Bradley-Terry model over
an offline text score (:func:`saddlepoint.preference.toy_lm.text_reward`: a complete,
non-repetitive sentence of about 12 words) plus a verbosity bias ``verbosity * words``, so the
judge prefers longer responses beyond their quality. SPPO and three RSPO regularisers (reverse
KL, forward KL by importance sampling, their mixture) self-play for a few iterations on 64
generated prompts; after every iteration the policy's samples are judged against fixed
samples of pi_ref: win rate, LC win rate (the judge's length term, fitted by least squares of
its log-odds on the length difference as in :func:`fit_length_bias`, removed), the unbiased
score's win rate, and mean length.

Cells: one per (arm, seed). Criteria fixed before the run (issue 20).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from saddlepoint.experiments.base import Cell, Experiment, Preset, Summary, torch_cell
from saddlepoint.experiments.report import markdown_table
from saddlepoint.experiments.stats import mean_se
from saddlepoint.plotting import aggregate, plot_series
from saddlepoint.results import ClaimCheck, Fact, RunDir

ARMS = {
    "sppo": {"loss": "sppo", "regularizer": "none"},
    "rspo_reverse": {"loss": "rspo", "regularizer": "reverse_kl"},
    "rspo_forward_is": {"loss": "rspo", "regularizer": "forward_kl_is"},
    "rspo_mixed": {"loss": "rspo", "regularizer": "forward_kl_is+reverse_kl"},
}
"""The arms: SPPO and RSPO with each regulariser of the claim."""

TOPICS = ("the sea", "a forest", "the moon", "fresh bread", "music", "a cat", "rain", "a garden", "a big city",
          "winter", "coffee", "a library", "the wind", "a mountain", "a river", "friendship")
TEMPLATES = ("Describe {} in one sentence.", "Give one fact about {}.", "Why do people like {}?",
             "Write a short line about {}.")
PROMPTS = tuple(t.format(topic) for t in TEMPLATES for topic in TOPICS)
"""64 generated prompts (4 templates x 16 topics)."""


@dataclass(frozen=True, kw_only=True)
class RSPOSmolLM2Preset(Preset):
    """Settings of the SmolLM2 self-play comparison."""

    n_prompts: int
    """Prompts used for training and evaluation (the first of :data:`PROMPTS`)."""
    iterations: int
    """Self-play iterations per arm."""
    num_responses: int
    """K, responses sampled per prompt per iteration."""
    max_new_tokens: int
    """Longest response in tokens."""
    eval_samples: int
    """Policy and reference samples per prompt in each evaluation."""
    verbosity: float
    """The judge's bias per word: judge score = text_reward + verbosity * words."""
    eta: float
    """SPPO's eta = 1 / beta."""
    reg_coef: float
    """RSPO's lambda."""
    learning_rate: float
    """AdamW step size."""
    batch_size: int
    """Pairs per gradient step."""


def judge_score(prompt: str, response: str, verbosity: float) -> float:
    """The biased judge's score: :func:`text_reward` plus ``verbosity`` per word."""
    from saddlepoint.preference.toy_lm import text_reward

    return text_reward(prompt, response) + verbosity * len(response.split())


def _win_rates(prompts: list[str], policy: list[list[str]], reference: list[list[str]], verbosity: float) -> dict:
    """Per-prompt win rate, LC win rate and unbiased win rate of ``policy`` samples against
    ``reference`` samples. Each prompt's 2m responses form one Bradley-Terry judge matrix; the
    length bias is fitted once over all prompts and pairs (:func:`fit_length_bias`)."""
    from saddlepoint.preference.length_control import fit_length_bias, length_controlled_preferences
    from saddlepoint.preference.toy_lm import text_reward

    m = len(policy[0])
    texts = [pol + ref for pol, ref in zip(policy, reference)]
    judged = np.array([[judge_score(x, y, verbosity) for y in row] for x, row in zip(prompts, texts)])
    unbiased = np.array([[text_reward(x, y) for y in row] for x, row in zip(prompts, texts)])
    lengths = np.array([[len(y.split()) for y in row] for row in texts], dtype=float)

    def prefs(score: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-(score[:, :, None] - score[:, None, :])))

    p_judge = prefs(judged)
    same_length = bool((lengths.max(axis=1) == lengths.min(axis=1)).all())
    gamma = 0.0 if same_length else fit_length_bias(p_judge, lengths)  # no length term to remove
    p_lc = length_controlled_preferences(p_judge, lengths, gamma)
    block = (slice(None), slice(0, m), slice(m, 2 * m))
    return {"win_rate": p_judge[block].mean(axis=(1, 2)), "lc_win_rate": p_lc[block].mean(axis=(1, 2)),
            "unbiased_win_rate": prefs(unbiased)[block].mean(axis=(1, 2)), "gamma": gamma,
            "words": lengths[:, :m].mean(axis=1), "reference_words": lengths[:, m:].mean(axis=1)}


def _samples(trainer: Any, enc: list[list[int]], m: int, max_new_tokens: int, seed: int, model: Any) -> list[list[str]]:
    from saddlepoint.lm.logprobs import sample_responses

    flat = [p for p in enc for _ in range(m)]
    out = sample_responses(model, flat, max_new_tokens=max_new_tokens, pad_id=trainer.pad_id, eos_id=trainer.eos_id,
                           seed=seed, batch_size=16)
    texts = [trainer.tokenizer.decode(r, skip_special_tokens=True) for r in out]
    return [texts[i * m:(i + 1) * m] for i in range(len(enc))]


def run_arm(p: RSPOSmolLM2Preset, arm: str, seed: int) -> list[dict[str, Any]]:
    """Self-play ``arm`` for ``p.iterations`` iterations; one row per evaluation (iteration 0 is
    pi_ref itself), with per-prompt values for standard errors."""
    from saddlepoint.preference.oracle import BradleyTerryOracle
    from saddlepoint.preference.trainer import SelfPlayConfig, SelfPlayTrainer

    prompts = list(PROMPTS[: p.n_prompts])
    config = SelfPlayConfig(**ARMS[arm], iterations=p.iterations, num_responses=p.num_responses,
                            max_new_tokens=p.max_new_tokens, eta=p.eta, reg_coef=p.reg_coef,
                            learning_rate=p.learning_rate, optimizer="adamw", batch_size=p.batch_size, epochs=1,
                            generation_batch_size=16, seed=seed)
    oracle = BradleyTerryOracle(lambda x, y: judge_score(x, y, p.verbosity))
    trainer = SelfPlayTrainer.from_pretrained("smollm2", oracle, config, show_progress=False)
    enc = trainer.encode_prompts(prompts)
    reference = _samples(trainer, enc, p.eval_samples, p.max_new_tokens, 1_000_003 + seed, trainer.ref_model)
    rows = []
    for t in range(p.iterations + 1):
        if t > 0:
            stats = trainer.step(prompts)
        policy = _samples(trainer, enc, p.eval_samples, p.max_new_tokens, 2_000_003 + 101 * t + seed, trainer.model)
        rates = _win_rates(prompts, policy, reference, p.verbosity)
        rows.append({"arm": arm, "seed": seed, "iteration": t, "gamma": rates["gamma"],
                     **{k: float(np.mean(v)) for k, v in rates.items() if k != "gamma"},
                     "per_prompt": {k: [float(x) for x in v] for k, v in rates.items() if k != "gamma"},
                     "loss": stats["loss"] if t > 0 else None,
                     "seconds": stats["seconds"] if t > 0 else 0.0,
                     "example": policy[0][0]})
    return rows


class RSPOSmolLM2(Experiment):
    """SPPO vs RSPO (reverse, forward-IS, mixed) on SmolLM2 under a verbosity-biased judge."""

    name = "rspo-smollm2"
    title = "RSPO vs SPPO on SmolLM2-135M-Instruct, verbosity-biased judge"
    criteria_commit = "06db7afaf60065b0771c3de4c80e60780a8e8ae2"
    presets = {
        "smoke": RSPOSmolLM2Preset(seeds=(0,), n_prompts=4, iterations=1, num_responses=2, max_new_tokens=8,
                                   eval_samples=2, verbosity=0.5, eta=10.0, reg_coef=0.1, learning_rate=2e-5,
                                   batch_size=2),
        # issue 20 item 5: 3 iterations on 64 prompts. Responses cut to 24 tokens and 2 evaluation
        # samples per side (criteria commit: 48 and 4) before any cell finished: at 48 tokens a cell
        # needed ~30 CPU-minutes, more than the session had
        "paper": RSPOSmolLM2Preset(seeds=(0,), n_prompts=64, iterations=3, num_responses=4, max_new_tokens=24,
                                   eval_samples=2, verbosity=0.5, eta=10.0, reg_coef=0.1, learning_rate=2e-5,
                                   batch_size=8),
    }

    def cells(self, p: RSPOSmolLM2Preset) -> list[Cell]:
        return [Cell(f"{arm}/seed={s}", seed=s, params={"arm": arm}) for s in p.seeds for arm in ARMS]

    def run_cell(self, p: RSPOSmolLM2Preset, cell: Cell) -> list[dict]:
        with torch_cell(cell.seed):
            return run_arm(p, cell.params["arm"], cell.seed)

    def summarise(self, p: RSPOSmolLM2Preset, rows: list[dict]) -> Summary:
        claims, facts, table = _checks(p, rows)
        return Summary(claims=claims, facts=facts, criteria=_criteria(p), values={"table": table},
                       intro=[_intro(p)], sections=[_table_section(table), _reading(claims)])

    def plot(self, run_dir: RunDir) -> list[str]:
        rows = run_dir.metrics()
        names = []
        for y, label in (("lc_win_rate", "LC win rate vs pi_ref"), ("words", "mean response length (words)")):
            path = run_dir.figures / f"{y}_vs_iteration.png"
            plot_series(aggregate(rows, "iteration", y, "arm"), path, xlabel="self-play iteration", ylabel=label,
                        title="SmolLM2-135M, verbosity-biased judge", logx=False, logy=False)
            names.append(path.name)
        return names


def _per_prompt(row: dict) -> dict:
    pp = row["per_prompt"]
    return pp if isinstance(pp, dict) else __import__("json").loads(pp)


def _final(rows: list[dict], arm: str, p: RSPOSmolLM2Preset) -> tuple[dict | None, dict | None]:
    mine = {r["iteration"]: r for r in rows if r["arm"] == arm}
    return mine.get(0), mine.get(p.iterations)


def _checks(p: RSPOSmolLM2Preset, rows: list[dict]) -> tuple[list[ClaimCheck], list[Fact], list[dict]]:
    table = []
    for arm in ARMS:
        start, end = _final(rows, arm, p)
        if start is None or end is None:
            continue
        pp0, pp = _per_prompt(start), _per_prompt(end)
        lc, lc_se = mean_se(pp["lc_win_rate"])
        growth, growth_se = mean_se(np.subtract(pp["words"], pp0["words"]))
        table.append({"arm": arm, "win_rate": end["win_rate"], "lc_win_rate": lc, "lc_se": lc_se,
                      "unbiased_win_rate": end["unbiased_win_rate"], "words_start": start["words"],
                      "words_end": end["words"], "length_increase": growth, "length_increase_se": growth_se})
    by_arm = {r["arm"]: r for r in table}
    claims = []
    if "sppo" in by_arm and all(a in by_arm for a in ARMS):
        s = by_arm["sppo"]
        each = {arm: {"length_increase": by_arm[arm]["length_increase"], "lc_win_rate": by_arm[arm]["lc_win_rate"],
                      "shorter_growth": bool(by_arm[arm]["length_increase"] < s["length_increase"]),
                      "lc_not_worse": bool(by_arm[arm]["lc_win_rate"] >= s["lc_win_rate"] - 2 * s["lc_se"])}
                for arm in ARMS if arm != "sppo"}
        passed = all(v["shorter_growth"] and v["lc_not_worse"] for v in each.values()) and math.isfinite(s["lc_se"])
        claims.append(ClaimCheck(
            "every RSPO regulariser lengthens responses less than SPPO at no loss of LC win rate (length)",
            f"for each RSPO arm: mean increase in words from iteration 0 to {p.iterations} < SPPO's, and LC win "
            f"rate at iteration {p.iterations} >= SPPO's minus 2 s.e. (s.e. over {p.n_prompts} prompts)",
            passed, {"sppo": {"length_increase": s["length_increase"], "lc_win_rate": s["lc_win_rate"],
                              "lc_se": s["lc_se"]}, **each},
            "RSPO: higher LC win rate, shorter responses than SPPO", "2 s.e.", len(p.seeds)))
    facts = []
    zero = [r for r in rows if r["iteration"] == 0]
    if zero:
        same = len({round(r["words"], 9) for r in zero}) == 1
        facts.append(Fact("every arm starts from the same policy: iteration-0 evaluations are identical across arms "
                          "(same model, same sampling seed)", same, sorted({r["words"] for r in zero})))
    return claims, facts, table


def _criteria(p: RSPOSmolLM2Preset) -> list[tuple[str, str, bool]]:
    return [("every RSPO arm increases mean length less than SPPO at a length-controlled win rate no lower than "
             "SPPO's minus 2 s.e. (issue 20, SmolLM2, 3 iterations, 64 prompts)",
             f"length in words of {p.eval_samples} samples per prompt vs {p.eval_samples} fixed pi_ref samples; LC "
             f"win rate = judge preferences with the least-squares length term removed; s.e. over {p.n_prompts} "
             f"prompts; {p.iterations} iterations, one seed", True)]


def _intro(p: RSPOSmolLM2Preset) -> str:
    return (f"SmolLM2-135M-Instruct self-plays for {p.iterations} iterations on {p.n_prompts} generated prompts "
            f"(K = {p.num_responses} responses of at most {p.max_new_tokens} tokens, eta = {p.eta:g}, lambda = "
            f"{p.reg_coef:g}, AdamW lr {p.learning_rate:g}, batch {p.batch_size}, one epoch). The judge is "
            f"Bradley-Terry over text_reward + {p.verbosity:g} x words (a verbosity bias); each evaluation "
            f"judges {p.eval_samples} policy samples per prompt against {p.eval_samples} fixed pi_ref samples.")


def _table_section(table: list[dict]) -> str:
    body = [[r["arm"], r["win_rate"], r["lc_win_rate"], r["lc_se"], r["unbiased_win_rate"], r["words_start"],
             r["words_end"], r["length_increase"]] for r in table]
    return "## Final iteration\n\n" + markdown_table(
        ["arm", "win rate", "LC win rate", "s.e.", "unbiased win rate", "words (it. 0)", "words (final)",
         "length increase"], body)


def _reading(claims: list[ClaimCheck]) -> str:
    if not claims:
        return "## Reading the checks\n\nNo claim could be evaluated (an arm is missing)."
    c = claims[0]
    misses = [arm for arm, v in c.measured.items() if arm != "sppo" and not (v["shorter_growth"] and v["lc_not_worse"])]
    text = "passes for every RSPO arm" if c.passed else f"misses for {', '.join(misses) or 'SPPO s.e. undefined'}"
    return ("## Reading the checks\n\nThe length claim " + text + ". Three iterations of a 135M model at a small "
            "learning rate move the policy little, so length changes are a few words at most; a miss may mean "
            "SPPO itself did not lengthen responses, not that RSPO lengthens them.")
