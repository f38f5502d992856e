"""wd1 vs d1 (diffu-GRPO) on a small masked diffusion LM solving generated 4x4 Sudoku.

Laptop-scale version of wd1 (Tang et al., arXiv 2507.08838), following the paper notes:
pretrain a bidirectional transformer with LLaDA's objective until a modest solve rate (the
"instruct" checkpoint, also d1's reference), then run the shared RL loop with three losses
(wd1, wd1 without the negative term, diffu-GRPO) from that checkpoint over several seeds,
evaluating greedy test cell accuracy and solve rate on held-out grids against steps and
wall-clock, counting likelihood-estimator passes.

Cells: one ``base`` cell per seed (pretraining curve, the checkpoint's numbers, the one-pass
estimator's spread) and one per (arm, learning rate, seed) of RL. Each seed has its own
pretrained checkpoint (pretrained deterministically from the seed under one torch thread and
cached per process), stopped while its solve rate is at most the ceiling. Each arm's learning
rate is chosen on a validation split of puzzles (grids disjoint from train and test), never on
the test split. Claim criteria are fixed below, before running (issue 21).
"""

from __future__ import annotations

import copy
import functools
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from saddlepoint.errors import require
from saddlepoint.experiments.base import Cell, Experiment, Preset, Summary
from saddlepoint.experiments.report import markdown_table
from saddlepoint.experiments.stats import exceeds, mean_se, paired_difference
from saddlepoint.plotting import aggregate, plot_series
from saddlepoint.results import ClaimCheck, Fact, RunDir

ARMS = ("wd1", "wd1_positive", "diffu_grpo")
# Paper (wd1 comparison figure, RL without SFT, LLaDA-8B): Sudoku accuracy in percent.
PAPER_SUDOKU = {"base": 6.7, "diffu_grpo": 17.6, "wd1": 25.2}
PROBE_PROMPTS = 200
"""Train puzzles on which the pretraining stop score (greedy solve rate) is measured."""
SPEEDUP = 1.5
"""wd1's wall-clock per RL step must be at least this many times lower than d1's."""


@dataclass(frozen=True, kw_only=True)
class WD1Preset(Preset):
    """Settings of the wd1 reproduction."""

    d_model: int
    """Transformer width."""
    n_layers: int
    """Transformer layers."""
    n_heads: int
    """Attention heads."""
    pretrain_max_steps: int
    """Most pretraining steps."""
    pretrain_batch: int
    """Pretraining batch size."""
    pretrain_lr: float
    """Pretraining AdamW learning rate."""
    pretrain_eval_every: int
    """Pretraining steps between evaluations of the stop score."""
    pretrain_target: float
    """Pretraining stops at the first evaluation whose probe solve rate reaches this."""
    pretrain_ceiling: float | None = None
    """If a probe solve rate exceeds this, pretraining restores the last weights at or below it
    and stops (None: no ceiling)."""
    arms: tuple[str, ...] = ARMS
    """RL losses compared."""
    rl_steps: int
    """RL steps per arm, learning rate and seed."""
    prompts_per_step: int
    """Prompts per RL step (B)."""
    group_size: int
    """Completions per prompt (G)."""
    inner_updates: int
    """Gradient updates per RL step (mu)."""
    rl_lrs: tuple[float, ...]
    """RL learning rates tried for every arm; each arm's is chosen on the validation split."""
    sampler_steps: int
    """Denoising steps of the sampler."""
    eval_every: int
    """RL steps between evaluations (validation and test)."""
    test_prompts: int
    """Test puzzles (held-out grids)."""
    val_fraction: float = 0.0
    """Share of the grids held out for validation (0: no validation split; the first learning
    rate is used)."""
    val_prompts: int = 0
    """Validation puzzles evaluated (0: none)."""
    puzzles_per_grid: int
    """Puzzles generated per 4x4 grid."""


def _model_parts(p: WD1Preset) -> dict[str, Any]:
    """Task splits and configs of a preset (cheap; rebuilt in every process)."""
    from saddlepoint.diffusion_lm.model import DiffusionLMConfig
    from saddlepoint.diffusion_lm.pretrain import PretrainConfig
    from saddlepoint.diffusion_lm.rl import RLConfig
    from saddlepoint.diffusion_lm.sampler import SamplerConfig
    from saddlepoint.diffusion_lm.tasks import sudoku_splits

    splits = sudoku_splits(np.random.default_rng(0), val_fraction=p.val_fraction, puzzles_per_grid=p.puzzles_per_grid)
    train, test = splits["train"], splits["test"]
    test, probe = test.subset(range(min(p.test_prompts, len(test)))), train.subset(range(PROBE_PROMPTS))
    val = splits["val"].subset(range(min(p.val_prompts, len(splits["val"])))) if "val" in splits else None
    model_cfg = DiffusionLMConfig(len(train.vocab), train.prompt_length + train.completion_length,
                                  train.mask_id, d_model=p.d_model, n_layers=p.n_layers, n_heads=p.n_heads,
                                  d_ff=4 * p.d_model)
    pre_cfg = PretrainConfig(max_steps=p.pretrain_max_steps, batch_size=p.pretrain_batch, lr=p.pretrain_lr,
                             eval_every=p.pretrain_eval_every, target=p.pretrain_target, ceiling=p.pretrain_ceiling)
    rollout = SamplerConfig(gen_length=16, block_length=16, steps=p.sampler_steps, temperature=0.9)
    greedy = SamplerConfig(gen_length=16, block_length=16, steps=p.sampler_steps, temperature=0.0)
    rl = {(arm, lr): RLConfig(loss=arm, prompts_per_step=p.prompts_per_step, group_size=p.group_size,
                              inner_updates=p.inner_updates, lr=lr, sampler=rollout)
          for arm in p.arms for lr in p.rl_lrs}
    return {"train": train, "val": val, "test": test, "probe": probe, "model": model_cfg, "pretrain": pre_cfg,
            "rollout": rollout, "greedy": greedy, "rl": rl}


@functools.lru_cache(maxsize=2)
def _pretrained(p: WD1Preset, seed: int) -> tuple[Any, list[dict], dict[str, float], dict[str, float] | None]:
    """Seed ``seed``'s "instruct" checkpoint (its RL start and d1's reference), its pretraining
    rows and its greedy test (and validation) numbers; deterministic under one torch thread."""
    torch = require("torch", "torch")
    from saddlepoint.diffusion_lm.model import MaskedDiffusionLM
    from saddlepoint.diffusion_lm.pretrain import pretrain
    from saddlepoint.diffusion_lm.rl import evaluate

    parts = _model_parts(p)
    base = MaskedDiffusionLM(parts["model"], torch.Generator().manual_seed(seed))
    rows = pretrain(base, parts["train"], parts["pretrain"],
                    lambda: evaluate(base, parts["probe"], parts["greedy"])["solve_rate"], seed=seed,
                    show_progress=False)
    val = evaluate(base, parts["val"], parts["greedy"]) if parts["val"] is not None else None
    return base, rows, evaluate(base, parts["test"], parts["greedy"]), val


def _estimator_spread(model, task, sampler) -> dict[str, float]:
    """Spread of the one-pass estimate over 16 prompt-mask draws on 48 fixed samples."""
    torch = require("torch", "torch")
    from saddlepoint.diffusion_lm.likelihood import OnePassEstimator
    from saddlepoint.diffusion_lm.sampler import sample

    estimator = OnePassEstimator(0.15)
    gen = torch.Generator().manual_seed(123)
    prompts = torch.as_tensor(task.prompts[:8]).repeat_interleave(6, dim=0)
    with torch.no_grad():
        comp = sample(model, prompts, sampler, gen)
        draws = torch.stack([estimator(model, prompts, comp, estimator.draw_mask(prompts, gen)).sum(dim=1)
                             for _ in range(16)])  # (16, 48)
    return {"mean_logp": float(draws.mean()), "mean_std_over_masks": float(draws.std(dim=0).mean()),
            "mean_std_over_samples": float(draws.std(dim=1).mean()), "mask_draws": 16, "samples": 48}


def _run_base(p: WD1Preset, seed: int) -> list[dict]:
    base, pre_rows, base_eval, val = _pretrained(p, seed)
    parts = _model_parts(p)
    spread = _estimator_spread(base, parts["train"], parts["rollout"])
    last = pre_rows[-1]
    return ([{"part": "pretrain", "seed": seed, **r} for r in pre_rows]
            + [{"part": "base", "seed": seed, "pretrain_steps": last["step"],
                "probe_solve_rate": last["score"], "test_cell_accuracy": base_eval["reward"],
                "test_solve_rate": base_eval["solve_rate"],
                "val_cell_accuracy": val["reward"] if val else None,
                **{f"estimator_{k}": v for k, v in spread.items()}}])


def _run_arm(p: WD1Preset, arm: str, lr: float, seed: int) -> list[dict]:
    from saddlepoint.diffusion_lm.rl import DiffusionRLTrainer, evaluate

    base, _, base_eval, base_val = _pretrained(p, seed)
    parts = _model_parts(p)
    model = copy.deepcopy(base)
    trainer = DiffusionRLTrainer(model, parts["train"], parts["rl"][(arm, lr)], seed=seed)
    seconds, cpu, passes, rewards = 0.0, 0.0, 0, []
    key = {"algo": arm, "lr": lr, "seed": seed}
    rows = [{"part": "rl", "step": 0, **key, "train_seconds": 0.0, "train_cpu_seconds": 0.0,
             "estimator_passes": 0, "test_cell_accuracy": base_eval["reward"],
             "test_solve_rate": base_eval["solve_rate"],
             "val_cell_accuracy": base_val["reward"] if base_val else None}]
    for _ in range(p.rl_steps):
        stats = trainer.step()
        seconds += stats["seconds"]
        cpu += stats["cpu_seconds"]
        passes += stats["estimator_passes"]
        rewards.append(stats["reward"])
        if stats["step"] % p.eval_every == 0 or stats["step"] == p.rl_steps:
            ev = evaluate(model, parts["test"], parts["greedy"])
            val = evaluate(model, parts["val"], parts["greedy"]) if parts["val"] is not None else None
            rows.append({"part": "rl", "step": stats["step"], **key, "train_seconds": seconds,
                         "train_cpu_seconds": cpu, "estimator_passes": passes,
                         "train_reward": float(np.mean(rewards)), "test_cell_accuracy": ev["reward"],
                         "test_solve_rate": ev["solve_rate"], "val_cell_accuracy": val["reward"] if val else None})
            rewards = []
    return rows + [{**rows[-1], "part": "final", "seconds_per_step": seconds / p.rl_steps,
                    "cpu_seconds_per_step": cpu / p.rl_steps, "passes_per_step": passes / p.rl_steps,
                    "test_auc": curve_auc(rows, "test_cell_accuracy"),
                    "val_auc": curve_auc(rows, "val_cell_accuracy") if base_val else None}]


def curve_auc(rows: list[dict], key: str) -> float:
    """Area under ``key`` against ``step`` (trapezoid), divided by the last step: the mean of the
    curve over training (step 0, the checkpoint, included)."""
    steps = np.array([r["step"] for r in rows], dtype=float)
    values = np.array([r[key] for r in rows], dtype=float)
    if steps[-1] <= 0:
        return float(values[-1])
    return float(np.sum((values[1:] + values[:-1]) / 2 * np.diff(steps)) / steps[-1])


def choose_lrs(finals: list[dict], p: WD1Preset) -> dict[str, float]:
    """Per arm, the learning rate with the highest seed-mean validation AUC (the first
    learning rate when there is no validation split); the test split is never read."""
    out = {}
    for arm in p.arms:
        if p.val_fraction <= 0 or p.val_prompts <= 0:
            out[arm] = p.rl_lrs[0]
            continue
        score = {lr: mean_se(f["val_auc"] for f in finals if f["algo"] == arm and f["lr"] == lr)[0] for lr in p.rl_lrs}
        out[arm] = max(p.rl_lrs, key=lambda lr: score[lr])
    return out


class WD1(Experiment):
    """wd1 (and its positive-only ablation) against diffu-GRPO, per seed from its own checkpoint."""

    name = "wd1"
    title = "wd1 vs diffu-GRPO on 4x4 Sudoku"
    criteria_commit = "09bf77bd7167460353f282a3981c1808e3e269c0"
    presets = {
        "smoke": WD1Preset(seeds=(0,), d_model=32, n_layers=2, n_heads=2, pretrain_max_steps=40, pretrain_batch=32,
                           pretrain_lr=2e-3, pretrain_eval_every=20, pretrain_target=0.2, pretrain_ceiling=0.25,
                           arms=("wd1", "diffu_grpo"), rl_steps=3, prompts_per_step=4, group_size=4,
                           inner_updates=2, rl_lrs=(1e-4, 3e-4), sampler_steps=4, eval_every=3, test_prompts=48,
                           val_fraction=0.1, val_prompts=32, puzzles_per_grid=1),
        # issue 21: 200 RL steps, width 128 (the notes), lr in {1e-4, 3e-4} for both arms chosen
        # on validation puzzles, 5 seeds, pretraining stopped at a solve rate <= 0.25
        "paper": WD1Preset(seeds=(0, 1, 2, 3, 4), d_model=128, n_layers=4, n_heads=4, pretrain_max_steps=1500,
                           pretrain_batch=64, pretrain_lr=2e-3, pretrain_eval_every=25, pretrain_target=0.2,
                           pretrain_ceiling=0.25, arms=("wd1", "diffu_grpo"), rl_steps=200, prompts_per_step=8,
                           group_size=6, inner_updates=4, rl_lrs=(1e-4, 3e-4), sampler_steps=8, eval_every=20,
                           test_prompts=232, val_fraction=0.1, val_prompts=100, puzzles_per_grid=4),
    }
    timing_fields = frozenset({"seconds", "train_seconds", "train_cpu_seconds", "seconds_per_step",
                               "cpu_seconds_per_step"})

    def config(self, p: WD1Preset) -> dict:
        parts = _model_parts(p)
        return {"model": asdict(parts["model"]), "pretrain": asdict(parts["pretrain"]),
                "rl": {f"{arm}@lr={lr:g}": asdict(c) for (arm, lr), c in parts["rl"].items()},
                "eval_sampler": asdict(parts["greedy"]), "train_prompts": len(parts["train"]),
                "val_prompts": len(parts["val"]) if parts["val"] is not None else 0,
                "test_prompts": len(parts["test"]), "torch_threads": 1}

    def cells(self, p: WD1Preset) -> list[Cell]:
        cells = [Cell(f"base/seed={s}", seed=s, params={"part": "base"}) for s in p.seeds]
        return cells + [Cell(f"{arm}/lr={lr:g}/seed={s}", seed=s, params={"part": "rl", "arm": arm, "lr": lr})
                        for s in p.seeds for arm in p.arms for lr in p.rl_lrs]

    def run_cell(self, p: WD1Preset, cell: Cell) -> list[dict]:
        torch = require("torch", "torch")
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            if cell.params["part"] == "base":
                return _run_base(p, cell.seed)
            return _run_arm(p, cell.params["arm"], float(cell.params["lr"]), cell.seed)
        finally:
            torch.set_num_threads(threads)

    def summarise(self, p: WD1Preset, rows: list[dict]) -> Summary:
        pre_rows = [r for r in rows if r["part"] == "pretrain"]
        bases = [r for r in rows if r["part"] == "base"]
        all_finals = [r for r in rows if r["part"] == "final"]
        lrs = choose_lrs(all_finals, p)
        finals = {arm: [f for f in all_finals if f["algo"] == arm and f["lr"] == lrs[arm]] for arm in p.arms}
        table = _final_table(finals, bases, lrs)
        claims, facts = _checks(p, finals, bases)
        parts = _model_parts(p)
        return Summary(claims=claims, facts=facts, criteria=_criteria(p),
                       values={"pretrain": pre_rows, "base": bases, "chosen_lr": lrs, "final": finals,
                               "table": table, "lr_table": _lr_table(all_finals, p)},
                       intro=_intro(p, bases, len(parts["train"]),
                                    len(parts["val"]) if parts["val"] is not None else 0, len(parts["test"]), table),
                       sections=[_reading(claims, lrs), _lr_section(all_finals, p)])

    def plot(self, run_dir: RunDir) -> list[str]:
        summary = run_dir.summary()
        chosen = summary.get("chosen_lr", {})
        rows = [r for r in run_dir.metrics() if r["part"] == "rl" and chosen.get(r["algo"]) == r["lr"]]
        names = []
        for y, label in (("test_cell_accuracy", "test cell accuracy (greedy)"),
                         ("test_solve_rate", "test solve rate (greedy)")):
            path = run_dir.figures / f"{y}_vs_step.png"
            plot_series(aggregate(rows, "step", y, "algo"), path, xlabel="RL step", ylabel=label,
                        title="4x4 Sudoku, each arm at its validation-chosen lr", logx=False, logy=False)
            names.append(path.name)
        secs = aggregate(rows, "step", "train_seconds", "algo")
        acc = aggregate(rows, "step", "test_cell_accuracy", "algo")
        by_time = {arm: {**acc[arm], "x": secs[arm]["mean"]} for arm in acc if arm in secs}
        path = run_dir.figures / "test_cell_accuracy_vs_wall_seconds.png"
        plot_series(by_time, path, xlabel="training wall-clock seconds, one thread (seed mean)",
                    ylabel="test cell accuracy (greedy)", title="4x4 Sudoku, against training time", logx=False,
                    logy=False)
        names.append(path.name)
        return names


def _checks(p: WD1Preset, finals: dict[str, list[dict]], bases: list[dict]) -> tuple[list[ClaimCheck], list[Fact]]:
    """Claims of issue 21 (fixed before running) and the facts that cannot fail."""
    n = len(p.seeds)
    claims, facts = [], []
    if "wd1" in finals and "diffu_grpo" in finals:
        auc = {arm: {f["seed"]: f["test_auc"] for f in finals[arm]} for arm in ("wd1", "diffu_grpo")}
        diff, se = paired_difference(auc["wd1"], auc["diffu_grpo"])
        claims.append(ClaimCheck(
            "wd1 learns faster than diffu-GRPO (area under the test-accuracy curve)",
            "mean over seeds of wd1's minus diffu-GRPO's area under the test cell-accuracy curve (steps 0-"
            f"{p.rl_steps}, each arm at its validation-chosen lr; paired by seed) > 2 s.e.", exceeds(diff, se),
            {"difference": diff, "se": se, "wd1": mean_se(auc["wd1"].values())[0],
             "diffu_grpo": mean_se(auc["diffu_grpo"].values())[0]},
            f"{PAPER_SUDOKU['wd1']} vs {PAPER_SUDOKU['diffu_grpo']} (%, Sudoku)", "2 s.e.", n))
        wall = {arm: mean_se(f["seconds_per_step"] for f in finals[arm])[0] for arm in ("wd1", "diffu_grpo")}
        ratio = wall["diffu_grpo"] / wall["wd1"] if wall["wd1"] > 0 else float("nan")
        claims.append(ClaimCheck(
            "wd1 takes less wall-clock time per step than diffu-GRPO",
            f"seed-mean wall-clock seconds per RL step (sampling included, one torch thread, same run): "
            f"diffu-GRPO / wd1 >= {SPEEDUP:g}", bool(ratio >= SPEEDUP), {"seconds_per_step": wall, "ratio": ratio},
            "less time per step", f">= {SPEEDUP:g}x", n))
        passes = {arm: sorted({f["passes_per_step"] for f in finals[arm]}) for arm in ("wd1", "diffu_grpo")}
        facts.append(Fact(f"likelihood-estimator passes per step: wd1 {p.inner_updates} (one per inner update), "
                          f"diffu-GRPO {3 * p.inner_updates} (three), on every seed (counts fixed by the losses)",
                          passes == {"wd1": [p.inner_updates], "diffu_grpo": [3 * p.inner_updates]}, passes))
    if p.pretrain_ceiling is not None:
        probe = [b["probe_solve_rate"] for b in bases]
        facts.append(Fact(f"every seed's checkpoint has a probe solve rate <= {p.pretrain_ceiling:g} (the pretraining "
                          "stop rule)", all(v <= p.pretrain_ceiling for v in probe if v == v), probe))
    return claims, facts


def _criteria(p: WD1Preset) -> list[tuple[str, str, bool]]:
    return [
        ("wd1's area under the test-accuracy curve exceeds d1's by more than 2 s.e.",
         f"AUC over steps 0-{p.rl_steps} (trapezoid / steps) of greedy test cell accuracy, paired by seed, "
         f"{len(p.seeds)} seeds, lr per arm chosen on {p.val_prompts} validation puzzles", True),
        ("wd1's wall-clock per step is at least 1.5x lower than d1's (measured, same machine, same run)",
         f"seed-mean wall seconds per step at the chosen lr, ratio d1 / wd1 >= {SPEEDUP:g}; cells of the two arms "
         "run interleaved in one run on the same machine", True),
        ("fixed before running: 200 RL steps, width 128, lr in {1e-4, 3e-4}, 5 seeds, pretraining stops at solve "
         "rate <= 0.25, one model per seed",
         f"{p.rl_steps} steps, width {p.d_model}, lr in {list(p.rl_lrs)}, {len(p.seeds)} seeds, ceiling "
         f"{p.pretrain_ceiling} (probe solve rate on {PROBE_PROMPTS} train puzzles), one checkpoint per seed",
         p.rl_steps == 200 and p.d_model == 128 and p.rl_lrs == (1e-4, 3e-4) and len(p.seeds) == 5
         and p.pretrain_ceiling == 0.25),
    ]


def _lr_table(finals: list[dict], p: WD1Preset) -> list[dict]:
    return [{"arm": arm, "lr": lr, "val_auc": mean_se(f["val_auc"] for f in sel)[0] if p.val_prompts else None,
             "test_auc": mean_se(f["test_auc"] for f in sel)[0]}
            for arm in p.arms for lr in p.rl_lrs
            for sel in [[f for f in finals if f["algo"] == arm and f["lr"] == lr]]]


def _lr_section(finals: list[dict], p: WD1Preset) -> str:
    rows = [[r["arm"], r["lr"], "-" if r["val_auc"] is None else r["val_auc"], r["test_auc"]]
            for r in _lr_table(finals, p)]
    return ("\n## Learning rates (seed means; the choice reads the validation column only)\n\n"
            + markdown_table(["arm", "lr", "validation AUC", "test AUC"], rows))


def _reading(claims: list[ClaimCheck], lrs: dict[str, float]) -> str:
    lines = ["\n## Reading the checks\n", f"Learning rates chosen on validation puzzles: {lrs}.\n"]
    lines += [f"- **{c.claim}**: {'passed' if c.passed else 'missed'} ({c.measured})." for c in claims]
    return "\n".join(lines) + "\n"


def _final_table(finals: dict[str, list[dict]], bases: list[dict], lrs: dict[str, float]) -> list[dict]:
    out = [{"arm": "base (pretrained)", "lr": "-", "test_auc": None,
            "test_cell_accuracy": mean_se(b["test_cell_accuracy"] for b in bases)[0],
            "test_solve_rate": mean_se(b["test_solve_rate"] for b in bases)[0], "passes_per_step": 0.0,
            "seconds_per_step": 0.0, "cpu_seconds_per_step": 0.0, "paper_percent": PAPER_SUDOKU["base"]}]
    for arm, sel in finals.items():
        auc, auc_se = mean_se(f["test_auc"] for f in sel)
        out.append({"arm": arm, "lr": lrs[arm], "test_auc": auc, "test_auc_se": auc_se,
                    **{k: mean_se(f[k] for f in sel)[0]
                       for k in ("test_cell_accuracy", "test_solve_rate", "passes_per_step", "seconds_per_step",
                                 "cpu_seconds_per_step")},
                    "paper_percent": PAPER_SUDOKU.get(arm, "-")})
    return out


def _intro(p: WD1Preset, bases: list[dict], n_train: int, n_val: int, n_test: int, table: list[dict]) -> list[str]:
    rows = [[t["arm"], t["lr"], "-" if t["test_auc"] is None else t["test_auc"], t["test_cell_accuracy"],
             t["test_solve_rate"], t["passes_per_step"], t["cpu_seconds_per_step"], t["seconds_per_step"],
             t["paper_percent"]] for t in table]
    pre = ", ".join(f"seed {int(b['seed'])}: step {int(b['pretrain_steps'])}, probe {b['probe_solve_rate']:.3f}, "
                    f"test {b['test_solve_rate']:.3f}" for b in bases)
    b0 = bases[0]
    return [
        *(["**Smoke preset: a tiny model and a few steps; it checks the pipeline, not the paper's claims.**\n"]
          if p.rl_steps < 10 else []),
        (f"Model: bidirectional transformer, {p.n_layers} layers, d = {p.d_model}, {p.n_heads} heads, one checkpoint "
         f"per seed. Data (4x4 Sudoku, disjoint grids): {n_train} train, {n_val} validation, {n_test} test puzzles. "
         f"Pretraining (LLaDA objective) stops at a probe solve rate of {p.pretrain_target:g} on {PROBE_PROMPTS} "
         f"train puzzles, restoring the last checkpoint at or below {p.pretrain_ceiling} if it overshoots "
         f"({pre}). RL: {p.rl_steps} steps, {p.prompts_per_step} prompts x G = {p.group_size}, mu = "
         f"{p.inner_updates}, lr in {list(p.rl_lrs)} (chosen per arm on validation), {p.sampler_steps} sampling "
         f"steps at T = 0.9; seeds {list(p.seeds)}.\n"),
        ("Final numbers (seed mean, each arm at its chosen lr; accuracy on blank cells with greedy decoding; AUC = "
         "mean test cell accuracy over the training curve). The paper column is LLaDA-8B Sudoku accuracy in "
         "percent, a different scale and model.\n"),
        markdown_table(["arm", "lr", "test AUC", "final test cell acc.", "test solve rate", "estimator passes / step",
                        "CPU s / step", "wall s / step", "paper (%)"], rows),
        (f"\nOne-pass estimator at seed {int(b0['seed'])}'s checkpoint, 48 fixed samples x 16 prompt-mask draws "
         f"(p = 0.15): mean log-likelihood {b0['estimator_mean_logp']:.3f}, std over mask draws "
         f"{b0['estimator_mean_std_over_masks']:.4f}, std over samples {b0['estimator_mean_std_over_samples']:.3f}.\n"),
    ]
