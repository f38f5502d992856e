"""wd1 vs d1 (diffu-GRPO) on a small masked diffusion LM solving generated 4x4 Sudoku.

Laptop-scale version of wd1 (Tang et al., arXiv 2507.08838), following the paper notes:
pretrain a bidirectional transformer with LLaDA's objective until a modest solve rate (the
"instruct" checkpoint, also d1's reference), then run the shared RL loop with three losses
(wd1, wd1 without the negative term, diffu-GRPO) from that checkpoint over several seeds,
evaluating greedy test cell accuracy and solve rate on held-out grids against steps and
wall-clock, counting likelihood-estimator passes.

Cells: one ``base`` cell (pretraining curve, the checkpoint's test numbers, the one-pass
estimator's spread) and one per (arm, seed) of RL. The checkpoint every cell starts from is
pretrained deterministically (seed 0, one torch thread) and cached per process. Claim criteria
are fixed below, before running.
"""

from __future__ import annotations

import copy
import functools
import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from saddlepoint.errors import require
from saddlepoint.experiments.base import Cell, Experiment, Preset, Summary
from saddlepoint.experiments.report import markdown_table
from saddlepoint.experiments.stats import exceeds, mean_se
from saddlepoint.plotting import aggregate, plot_series
from saddlepoint.results import ClaimCheck, RunDir

ARMS = ("wd1", "wd1_positive", "diffu_grpo")
# Paper (wd1 comparison figure, RL without SFT, LLaDA-8B): Sudoku accuracy in percent.
PAPER_SUDOKU = {"base": 6.7, "diffu_grpo": 17.6, "wd1": 25.2}
PROBE_PROMPTS = 200
"""Train puzzles on which the pretraining stop score (greedy solve rate) is measured."""


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
    rl_steps: int
    """RL steps per arm and seed."""
    prompts_per_step: int
    """Prompts per RL step (B)."""
    group_size: int
    """Completions per prompt (G)."""
    inner_updates: int
    """Gradient updates per RL step (mu)."""
    rl_lr: float
    """RL learning rate (both arms)."""
    sampler_steps: int
    """Denoising steps of the sampler."""
    eval_every: int
    """RL steps between test evaluations."""
    test_prompts: int
    """Test puzzles (held-out grids)."""
    puzzles_per_grid: int
    """Puzzles generated per 4x4 grid."""


def _model_parts(p: WD1Preset) -> dict[str, Any]:
    """Task splits and configs of a preset (cheap; rebuilt in every process)."""
    from saddlepoint.diffusion_lm.model import DiffusionLMConfig
    from saddlepoint.diffusion_lm.pretrain import PretrainConfig
    from saddlepoint.diffusion_lm.rl import RLConfig
    from saddlepoint.diffusion_lm.sampler import SamplerConfig
    from saddlepoint.diffusion_lm.tasks import sudoku_task

    train, test = sudoku_task(np.random.default_rng(0), puzzles_per_grid=p.puzzles_per_grid)
    test, probe = test.subset(range(min(p.test_prompts, len(test)))), train.subset(range(PROBE_PROMPTS))
    model_cfg = DiffusionLMConfig(len(train.vocab), train.prompt_length + train.completion_length,
                                  train.mask_id, d_model=p.d_model, n_layers=p.n_layers, n_heads=p.n_heads,
                                  d_ff=4 * p.d_model)
    pre_cfg = PretrainConfig(max_steps=p.pretrain_max_steps, batch_size=p.pretrain_batch, lr=p.pretrain_lr,
                             eval_every=p.pretrain_eval_every, target=p.pretrain_target)
    rollout = SamplerConfig(gen_length=16, block_length=16, steps=p.sampler_steps, temperature=0.9)
    greedy = SamplerConfig(gen_length=16, block_length=16, steps=p.sampler_steps, temperature=0.0)
    rl = {arm: RLConfig(loss=arm, prompts_per_step=p.prompts_per_step, group_size=p.group_size,
                        inner_updates=p.inner_updates, lr=p.rl_lr, sampler=rollout) for arm in ARMS}
    return {"train": train, "test": test, "probe": probe, "model": model_cfg, "pretrain": pre_cfg,
            "rollout": rollout, "greedy": greedy, "rl": rl}


@functools.lru_cache(maxsize=2)
def _pretrained(p: WD1Preset) -> tuple[Any, list[dict], dict[str, float]]:
    """The "instruct" checkpoint (RL start and d1's reference), its pretraining rows and its
    greedy test numbers; deterministic (seed 0, call under one torch thread), so every process
    that needs it computes the same model once."""
    torch = require("torch", "torch")
    from saddlepoint.diffusion_lm.model import MaskedDiffusionLM
    from saddlepoint.diffusion_lm.pretrain import pretrain
    from saddlepoint.diffusion_lm.rl import evaluate

    parts = _model_parts(p)
    base = MaskedDiffusionLM(parts["model"], torch.Generator().manual_seed(0))
    rows = pretrain(base, parts["train"], parts["pretrain"],
                    lambda: evaluate(base, parts["probe"], parts["greedy"])["solve_rate"], seed=0, show_progress=False)
    return base, rows, evaluate(base, parts["test"], parts["greedy"])


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


def _run_base(p: WD1Preset) -> list[dict]:
    base, pre_rows, base_eval = _pretrained(p)
    parts = _model_parts(p)
    spread = _estimator_spread(base, parts["train"], parts["rollout"])
    return ([{"part": "pretrain", **r} for r in pre_rows]
            + [{"part": "base", "test_cell_accuracy": base_eval["reward"], "test_solve_rate": base_eval["solve_rate"],
                **{f"estimator_{k}": v for k, v in spread.items()}}])


def _run_arm(p: WD1Preset, arm: str, seed: int) -> list[dict]:
    from saddlepoint.diffusion_lm.rl import DiffusionRLTrainer, evaluate

    base, _, base_eval = _pretrained(p)
    parts = _model_parts(p)
    model = copy.deepcopy(base)
    trainer = DiffusionRLTrainer(model, parts["train"], parts["rl"][arm], seed=seed)
    seconds, cpu, passes, rewards = 0.0, 0.0, 0, []
    rows = [{"part": "rl", "step": 0, "algo": arm, "seed": seed, "train_seconds": 0.0, "train_cpu_seconds": 0.0,
             "estimator_passes": 0, "test_cell_accuracy": base_eval["reward"],
             "test_solve_rate": base_eval["solve_rate"]}]
    for _ in range(p.rl_steps):
        stats = trainer.step()
        seconds += stats["seconds"]
        cpu += stats["cpu_seconds"]
        passes += stats["estimator_passes"]
        rewards.append(stats["reward"])
        if stats["step"] % p.eval_every == 0 or stats["step"] == p.rl_steps:
            ev = evaluate(model, parts["test"], parts["greedy"])
            rows.append({"part": "rl", "step": stats["step"], "algo": arm, "seed": seed, "train_seconds": seconds,
                         "train_cpu_seconds": cpu, "estimator_passes": passes,
                         "train_reward": float(np.mean(rewards)), "test_cell_accuracy": ev["reward"],
                         "test_solve_rate": ev["solve_rate"]})
            rewards = []
    return rows + [{**rows[-1], "part": "final", "seconds_per_step": seconds / p.rl_steps,
                    "cpu_seconds_per_step": cpu / p.rl_steps, "passes_per_step": passes / p.rl_steps}]


class WD1(Experiment):
    """wd1, wd1 without its negative term, and diffu-GRPO from one pretrained checkpoint."""

    name = "wd1"
    title = "wd1 vs diffu-GRPO on 4x4 Sudoku"
    presets = {
        "smoke": WD1Preset(seeds=(0,), d_model=32, n_layers=2, n_heads=2, pretrain_max_steps=40, pretrain_batch=32,
                           pretrain_lr=2e-3, pretrain_eval_every=20, pretrain_target=1.0, rl_steps=3,
                           prompts_per_step=4, group_size=4, inner_updates=2, rl_lr=1e-4, sampler_steps=4,
                           eval_every=3, test_prompts=48, puzzles_per_grid=1),
        "paper": WD1Preset(seeds=(0, 1, 2), d_model=64, n_layers=4, n_heads=4, pretrain_max_steps=1500,
                           pretrain_batch=64, pretrain_lr=2e-3, pretrain_eval_every=25, pretrain_target=0.2,
                           rl_steps=100, prompts_per_step=8, group_size=6, inner_updates=4, rl_lr=1e-4,
                           sampler_steps=8, eval_every=20, test_prompts=232, puzzles_per_grid=4),
    }
    timing_fields = frozenset({"seconds", "train_seconds", "train_cpu_seconds", "seconds_per_step",
                               "cpu_seconds_per_step"})

    def config(self, p: WD1Preset) -> dict:
        parts = _model_parts(p)
        return {"model": asdict(parts["model"]), "pretrain": asdict(parts["pretrain"]),
                "rl": {arm: asdict(c) for arm, c in parts["rl"].items()}, "eval_sampler": asdict(parts["greedy"]),
                "train_prompts": len(parts["train"]), "test_prompts": len(parts["test"]), "torch_threads": 1}

    def cells(self, p: WD1Preset) -> list[Cell]:
        return [Cell("base", params={"part": "base"})] + [
            Cell(f"{arm}/seed={s}", seed=s, params={"part": "rl", "arm": arm}) for s in p.seeds for arm in ARMS]

    def run_cell(self, p: WD1Preset, cell: Cell) -> list[dict]:
        torch = require("torch", "torch")
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            if cell.params["part"] == "base":
                return _run_base(p)
            return _run_arm(p, cell.params["arm"], cell.seed)
        finally:
            torch.set_num_threads(threads)

    def summarise(self, p: WD1Preset, rows: list[dict]) -> Summary:
        pre_rows = [r for r in rows if r["part"] == "pretrain"]
        base = next(r for r in rows if r["part"] == "base")
        finals = {arm: [r for r in rows if r["part"] == "final" and r["algo"] == arm] for arm in ARMS}
        table = _final_table(finals, base)
        parts = _model_parts(p)
        return Summary(claims=_claims(finals, base, len(p.seeds)),
                       values={"pretrain": pre_rows, "base": base, "final": finals, "table": table},
                       intro=_intro(p, pre_rows, base, len(parts["train"]), len(parts["test"]), table))

    def plot(self, run_dir: RunDir) -> list[str]:
        rows = [r for r in run_dir.metrics() if r["part"] == "rl"]
        names = []
        for y, label in (("test_cell_accuracy", "test cell accuracy (greedy)"),
                         ("test_solve_rate", "test solve rate (greedy)")):
            path = run_dir.figures / f"{y}_vs_step.png"
            plot_series(aggregate(rows, "step", y, "algo"), path, xlabel="RL step", ylabel=label, title="4x4 Sudoku",
                        logx=False, logy=False)
            names.append(path.name)
        # Training time: seeds differ, so x is the seed-mean CPU time at each step (one thread;
        # wall-clock is in metrics.csv but depends on other load on the machine).
        secs = aggregate(rows, "step", "train_cpu_seconds", "algo")
        acc = aggregate(rows, "step", "test_cell_accuracy", "algo")
        by_time = {arm: {**acc[arm], "x": secs[arm]["mean"]} for arm in acc if arm in secs}
        path = run_dir.figures / "test_cell_accuracy_vs_cpu_seconds.png"
        plot_series(by_time, path, xlabel="training CPU seconds, one thread (seed mean)",
                    ylabel="test cell accuracy (greedy)", title="4x4 Sudoku, against training time", logx=False,
                    logy=False)
        names.append(path.name)
        return names


def _claims(finals: dict[str, list[dict]], base: dict, n: int) -> list[ClaimCheck]:
    """The claim checks; criteria written before running (paper notes, "Success criterion")."""
    acc = {arm: mean_se(f["test_cell_accuracy"] for f in finals[arm]) for arm in ARMS}
    passes = {arm: max(f["passes_per_step"] for f in finals[arm]) for arm in ARMS}
    secs = {arm: mean_se(f["cpu_seconds_per_step"] for f in finals[arm])[0] for arm in ARMS}
    (w, w_se), (d, d_se) = acc["wd1"], acc["diffu_grpo"]
    se_diff = math.hypot(w_se, d_se)
    base_acc = base["test_cell_accuracy"]
    return [
        ClaimCheck("wd1 needs fewer likelihood-estimator passes than diffu-GRPO",
                   "estimator passes per step: wd1 <= 1/2 of diffu-GRPO (exact counts)",
                   2 * passes["wd1"] <= passes["diffu_grpo"], {"wd1": passes["wd1"], "diffu_grpo": passes["diffu_grpo"]},
                   "1 vs 3 per inner update", "exact", n),
        ClaimCheck("wd1 learns at least as fast per step as diffu-GRPO",
                   "final test cell accuracy, seed mean: wd1 >= diffu-GRPO - 1 s.e. of the difference "
                   "(diffu-GRPO - wd1 does not exceed 1 s.e.)",
                   not exceeds(d - w, se_diff, 1.0), {"wd1": w, "diffu_grpo": d, "se_diff": se_diff},
                   f"{PAPER_SUDOKU['wd1']} vs {PAPER_SUDOKU['diffu_grpo']} (%, Sudoku)", "1 s.e.", n),
        ClaimCheck("wd1 beats diffu-GRPO (reported, not assumed)",
                   "final test cell accuracy, seed mean: wd1 - diffu-GRPO > 1 s.e. of the difference",
                   exceeds(w - d, se_diff, 1.0), {"difference": w - d, "se_diff": se_diff},
                   f"+{PAPER_SUDOKU['wd1'] - PAPER_SUDOKU['diffu_grpo']:.1f} points", "1 s.e.", n),
        ClaimCheck("RL with wd1 improves on the pretrained model",
                   "wd1 final test cell accuracy, seed mean > base + 1 s.e.",
                   exceeds(w - base_acc, w_se, 1.0), {"wd1": w, "base": base_acc, "se": w_se},
                   f"{PAPER_SUDOKU['base']} -> {PAPER_SUDOKU['wd1']} (%)", "1 s.e.", n),
        ClaimCheck("wd1 takes less training time per step than diffu-GRPO",
                   "mean CPU seconds per RL step (one thread, sampling included): wd1 < diffu-GRPO",
                   secs["wd1"] < secs["diffu_grpo"], {"cpu_seconds_per_step": secs}, "less time per step", "strict", n),
    ]


def _final_table(finals: dict[str, list[dict]], base: dict) -> list[dict]:
    out = [{"arm": "base (pretrained)", "test_cell_accuracy": base["test_cell_accuracy"],
            "test_cell_accuracy_se": None, "test_solve_rate": base["test_solve_rate"], "passes_per_step": 0.0,
            "seconds_per_step": 0.0, "cpu_seconds_per_step": 0.0, "paper_percent": PAPER_SUDOKU["base"]}]
    for arm in ARMS:
        acc, se = mean_se(f["test_cell_accuracy"] for f in finals[arm])
        out.append({"arm": arm, "test_cell_accuracy": acc, "test_cell_accuracy_se": se,
                    **{k: mean_se(f[k] for f in finals[arm])[0]
                       for k in ("test_solve_rate", "passes_per_step", "seconds_per_step", "cpu_seconds_per_step")},
                    "paper_percent": PAPER_SUDOKU.get(arm, "-")})
    return out


def _intro(p: WD1Preset, pre_rows: list[dict], base: dict, n_train: int, n_test: int, table: list[dict]) -> list[str]:
    rows = [[t["arm"], t["test_cell_accuracy"], "-" if t["test_cell_accuracy_se"] is None else t["test_cell_accuracy_se"],
             t["test_solve_rate"], t["passes_per_step"], t["cpu_seconds_per_step"], t["seconds_per_step"],
             t["paper_percent"]] for t in table]
    last = pre_rows[-1]
    return [
        *(["**Smoke preset: a tiny model and a few steps; it checks the pipeline, not the paper's claims.**\n"]
          if p.rl_steps < 10 else []),
        (f"Model: bidirectional transformer, {p.n_layers} layers, d = {p.d_model}, {p.n_heads} heads. "
         f"Data: {n_train} train puzzles, {n_test} test puzzles on held-out grids. Pretraining (LLaDA objective) "
         f"stopped at step {int(last['step'])} with greedy solve rate {last['score']:.3f} on {PROBE_PROMPTS} train "
         f"puzzles ({last['seconds']:.0f} s). RL: {p.rl_steps} steps, {p.prompts_per_step} prompts x G = "
         f"{p.group_size}, mu = {p.inner_updates}, lr {p.rl_lr}, {p.sampler_steps} sampling steps at T = 0.9; "
         f"seeds {list(p.seeds)}.\n"),
        ("Final numbers (seed mean; accuracy on blank cells with greedy decoding). The paper column is "
         "LLaDA-8B Sudoku accuracy in percent (wd1 comparison figure), a different scale and model.\n"),
        markdown_table(["arm", "test cell acc.", "s.e.", "test solve rate", "estimator passes / step",
                        "CPU s / step", "wall s / step", "paper (%)"], rows),
        (f"\nOne-pass estimator at the pretrained model, 48 fixed samples x 16 prompt-mask draws (p = 0.15): "
         f"mean log-likelihood {base['estimator_mean_logp']:.3f}, std over mask draws "
         f"{base['estimator_mean_std_over_masks']:.4f}, std over samples "
         f"{base['estimator_mean_std_over_samples']:.3f}.\n"),
    ]
