"""wd1 vs d1 (diffu-GRPO) on a small masked diffusion LM solving generated 4x4 Sudoku.

Laptop-scale version of wd1 (Tang et al., arXiv 2507.08838), following the paper notes:
pretrain a bidirectional transformer with LLaDA's objective until a modest solve rate (the
"instruct" checkpoint, also d1's reference), then run the shared RL loop with three losses
(wd1, wd1 without the negative term, diffu-GRPO) from that checkpoint over several seeds,
evaluating greedy test cell accuracy and solve rate on held-out grids against steps and
wall-clock, counting likelihood-estimator passes. Claim criteria are fixed below, before
running.
"""

from __future__ import annotations

import copy
import math
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from saddlepoint.errors import require
from saddlepoint.experiments import claims_markdown, markdown_table
from saddlepoint.plotting import aggregate, plot_series, plots_available
from saddlepoint.progress import progress
from saddlepoint.results import ClaimCheck, RunDir

PRESETS = ("smoke", "paper")
ARMS = ("wd1", "wd1_positive", "diffu_grpo")
# Paper (wd1 comparison figure, RL without SFT, LLaDA-8B): Sudoku accuracy in percent.
PAPER_SUDOKU = {"base": 6.7, "diffu_grpo": 17.6, "wd1": 25.2}


@dataclass(frozen=True)
class _Preset:
    d_model: int
    n_layers: int
    n_heads: int
    pretrain_max_steps: int
    pretrain_batch: int
    pretrain_lr: float
    pretrain_eval_every: int
    pretrain_target: float
    rl_steps: int
    prompts_per_step: int
    group_size: int
    inner_updates: int
    rl_lr: float
    sampler_steps: int
    eval_every: int
    test_prompts: int
    puzzles_per_grid: int
    seeds: tuple[int, ...]


_PRESETS = {
    "smoke": _Preset(32, 2, 2, 40, 32, 2e-3, 20, 1.0, 3, 4, 4, 2, 1e-4, 4, 3, 48, 1, (0,)),
    "paper": _Preset(64, 4, 4, 1500, 64, 2e-3, 25, 0.2, 100, 8, 6, 4, 1e-4, 8, 20, 232, 4, (0, 1, 2)),
}


def run(preset: str = "smoke", seeds: list[int] | None = None, out: str | Path | None = None,
        show_progress: bool | None = None) -> RunDir:
    """Pretrain, run the three arms over the seeds, write metrics, figures, claims and report."""
    torch = require("torch", "torch")
    from saddlepoint.diffusion_lm.likelihood import OnePassEstimator
    from saddlepoint.diffusion_lm.model import DiffusionLMConfig, MaskedDiffusionLM
    from saddlepoint.diffusion_lm.pretrain import PretrainConfig, pretrain
    from saddlepoint.diffusion_lm.rl import DiffusionRLTrainer, RLConfig, evaluate
    from saddlepoint.diffusion_lm.sampler import SamplerConfig, sample
    from saddlepoint.diffusion_lm.tasks import TokenTask, sudoku_task

    p = _PRESETS[preset]
    seeds = tuple(seeds) if seeds is not None else p.seeds
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        train, test = sudoku_task(np.random.default_rng(0), puzzles_per_grid=p.puzzles_per_grid)
        test = TokenTask(test.name, test.prompts[:p.test_prompts], test.answers[:p.test_prompts], test.vocab,
                         test.mask_id, test.pad_id, test.sep_id)
        probe = TokenTask(train.name, train.prompts[:200], train.answers[:200], train.vocab, train.mask_id,
                          train.pad_id, train.sep_id)
        model_cfg = DiffusionLMConfig(len(train.vocab), train.prompt_length + train.completion_length,
                                      train.mask_id, d_model=p.d_model, n_layers=p.n_layers, n_heads=p.n_heads,
                                      d_ff=4 * p.d_model)
        pre_cfg = PretrainConfig(max_steps=p.pretrain_max_steps, batch_size=p.pretrain_batch, lr=p.pretrain_lr,
                                 eval_every=p.pretrain_eval_every, target=p.pretrain_target)
        rollout = SamplerConfig(gen_length=16, block_length=16, steps=p.sampler_steps, temperature=0.9)
        greedy = SamplerConfig(gen_length=16, block_length=16, steps=p.sampler_steps, temperature=0.0)
        rl_cfgs = {arm: RLConfig(loss=arm, prompts_per_step=p.prompts_per_step, group_size=p.group_size,
                                 inner_updates=p.inner_updates, lr=p.rl_lr, sampler=rollout) for arm in ARMS}
        config = {"preset": preset, "seeds": list(seeds), "preset_settings": asdict(p), "model": asdict(model_cfg),
                  "pretrain": asdict(pre_cfg), "rl": {arm: asdict(c) for arm, c in rl_cfgs.items()},
                  "eval_sampler": asdict(greedy), "train_prompts": len(train), "test_prompts": len(test),
                  "torch_threads": 1}
        run_dir = RunDir.create("wd1", config, root=out)

        # "Instruct" stage: one checkpoint shared by every arm and seed (RL start and d1's reference).
        base = MaskedDiffusionLM(model_cfg, torch.Generator().manual_seed(0))
        pre_rows = pretrain(base, train, pre_cfg, lambda: evaluate(base, probe, greedy)["solve_rate"], seed=0,
                            show_progress=show_progress)
        base_eval = evaluate(base, test, greedy)
        variance = _estimator_spread(base, train, rollout, OnePassEstimator(0.15), sample, torch)

        rows: list[dict] = []
        finals: dict[str, list[dict]] = {arm: [] for arm in ARMS}
        jobs = [(arm, s) for s in seeds for arm in ARMS]
        for arm, seed in progress(jobs, desc="wd1 arms", enabled=show_progress):
            model = copy.deepcopy(base)
            trainer = DiffusionRLTrainer(model, train, rl_cfgs[arm], seed=seed)
            seconds, cpu, passes, rewards = 0.0, 0.0, 0, []
            rows.append({"step": 0, "algo": arm, "seed": seed, "train_seconds": 0.0, "train_cpu_seconds": 0.0,
                         "estimator_passes": 0,
                         "test_cell_accuracy": base_eval["reward"], "test_solve_rate": base_eval["solve_rate"]})
            for _ in range(p.rl_steps):
                stats = trainer.step()
                seconds += stats["seconds"]
                cpu += stats["cpu_seconds"]
                passes += stats["estimator_passes"]
                rewards.append(stats["reward"])
                if stats["step"] % p.eval_every == 0 or stats["step"] == p.rl_steps:
                    ev = evaluate(model, test, greedy)
                    rows.append({"step": stats["step"], "algo": arm, "seed": seed, "train_seconds": seconds,
                                 "train_cpu_seconds": cpu,
                                 "estimator_passes": passes, "train_reward": float(np.mean(rewards)),
                                 "test_cell_accuracy": ev["reward"], "test_solve_rate": ev["solve_rate"]})
                    rewards = []
            finals[arm].append({**rows[-1], "seconds_per_step": seconds / p.rl_steps,
                                "cpu_seconds_per_step": cpu / p.rl_steps,
                                "passes_per_step": passes / p.rl_steps})
        run_dir.write_metrics(rows)
    finally:
        torch.set_num_threads(threads)

    claims = _claims(finals, base_eval, len(seeds))
    claim_dicts = [c.as_dict() for c in claims]
    table = _final_table(finals, base_eval)
    run_dir.write_summary({
        "experiment": "wd1", "preset": preset, "seeds": list(seeds), "pretrain": pre_rows, "base": base_eval,
        "estimator_spread": variance, "final": finals, "table": table, "claims": claim_dicts,
        "all_claims_passed": all(c.passed for c in claims)})
    figures = _figures(run_dir, rows) if plots_available() else []
    run_dir.write_text("report.md", _report(preset, p, seeds, pre_rows, base_eval, variance, table, claim_dicts,
                                            figures, len(train), len(test)))
    return run_dir


def _estimator_spread(model, task, sampler, estimator, sample, torch) -> dict[str, float]:
    """Spread of the one-pass estimate over 16 prompt-mask draws on 48 fixed samples."""
    gen = torch.Generator().manual_seed(123)
    prompts = torch.as_tensor(task.prompts[:8]).repeat_interleave(6, dim=0)
    with torch.no_grad():
        comp = sample(model, prompts, sampler, gen)
        draws = torch.stack([estimator(model, prompts, comp, estimator.draw_mask(prompts, gen)).sum(dim=1)
                             for _ in range(16)])  # (16, 48)
    return {"mean_logp": float(draws.mean()), "mean_std_over_masks": float(draws.std(dim=0).mean()),
            "mean_std_over_samples": float(draws.std(dim=1).mean()), "mask_draws": 16, "samples": 48}


def _mean_se(values: list[float]) -> tuple[float, float]:
    arr = np.asarray(values, dtype=float)
    se = float(arr.std(ddof=1) / math.sqrt(len(arr))) if len(arr) > 1 else 0.0
    return float(arr.mean()), se


def _claims(finals: dict[str, list[dict]], base: dict[str, float], n: int) -> list[ClaimCheck]:
    """The claim checks; criteria written before running (paper notes, "Success criterion")."""
    acc = {arm: _mean_se([f["test_cell_accuracy"] for f in finals[arm]]) for arm in ARMS}
    passes = {arm: max(f["passes_per_step"] for f in finals[arm]) for arm in ARMS}
    secs = {arm: _mean_se([f["cpu_seconds_per_step"] for f in finals[arm]])[0] for arm in ARMS}
    (w, w_se), (d, d_se) = acc["wd1"], acc["diffu_grpo"]
    se_diff = math.sqrt(w_se ** 2 + d_se ** 2)
    base_acc = base["reward"]
    return [
        ClaimCheck("wd1 needs fewer likelihood-estimator passes than diffu-GRPO",
                   "estimator passes per step: wd1 <= 1/2 of diffu-GRPO (exact counts)",
                   2 * passes["wd1"] <= passes["diffu_grpo"], {"wd1": passes["wd1"], "diffu_grpo": passes["diffu_grpo"]},
                   "1 vs 3 per inner update", "exact", n),
        ClaimCheck("wd1 learns at least as fast per step as diffu-GRPO",
                   "final test cell accuracy, seed mean: wd1 >= diffu-GRPO - 1 s.e. of the difference",
                   w >= d - se_diff, {"wd1": w, "diffu_grpo": d, "se_diff": se_diff},
                   f"{PAPER_SUDOKU['wd1']} vs {PAPER_SUDOKU['diffu_grpo']} (%, Sudoku)", "1 s.e.", n),
        ClaimCheck("wd1 beats diffu-GRPO (reported, not assumed)",
                   "final test cell accuracy, seed mean: wd1 - diffu-GRPO > 1 s.e. of the difference",
                   w - d > se_diff, {"difference": w - d, "se_diff": se_diff},
                   f"+{PAPER_SUDOKU['wd1'] - PAPER_SUDOKU['diffu_grpo']:.1f} points", "1 s.e.", n),
        ClaimCheck("RL with wd1 improves on the pretrained model",
                   "wd1 final test cell accuracy, seed mean > base + 1 s.e.",
                   w > base_acc + w_se, {"wd1": w, "base": base_acc, "se": w_se},
                   f"{PAPER_SUDOKU['base']} -> {PAPER_SUDOKU['wd1']} (%)", "1 s.e.", n),
        ClaimCheck("wd1 takes less training time per step than diffu-GRPO",
                   "mean CPU seconds per RL step (one thread, sampling included): wd1 < diffu-GRPO",
                   secs["wd1"] < secs["diffu_grpo"], {"wd1": secs["wd1"], "diffu_grpo": secs["diffu_grpo"]},
                   "less time per step", "strict", n),
    ]


def _final_table(finals: dict[str, list[dict]], base: dict[str, float]) -> list[dict]:
    out = [{"arm": "base (pretrained)", "test_cell_accuracy": base["reward"], "test_cell_accuracy_se": 0.0,
            "test_solve_rate": base["solve_rate"], "passes_per_step": 0.0, "seconds_per_step": 0.0,
            "cpu_seconds_per_step": 0.0,
            "paper_percent": PAPER_SUDOKU["base"]}]
    for arm in ARMS:
        acc, se = _mean_se([f["test_cell_accuracy"] for f in finals[arm]])
        out.append({"arm": arm, "test_cell_accuracy": acc, "test_cell_accuracy_se": se,
                    "test_solve_rate": _mean_se([f["test_solve_rate"] for f in finals[arm]])[0],
                    "passes_per_step": _mean_se([f["passes_per_step"] for f in finals[arm]])[0],
                    "seconds_per_step": _mean_se([f["seconds_per_step"] for f in finals[arm]])[0],
                    "cpu_seconds_per_step": _mean_se([f["cpu_seconds_per_step"] for f in finals[arm]])[0],
                    "paper_percent": PAPER_SUDOKU.get(arm, "-")})
    return out


def _figures(run_dir: RunDir, rows: list[dict]) -> list[str]:
    names = []
    for y, label in (("test_cell_accuracy", "test cell accuracy (greedy)"),
                     ("test_solve_rate", "test solve rate (greedy)")):
        by_step = aggregate(rows, "step", y, "algo")
        path = run_dir.figures / f"{y}_vs_step.png"
        plot_series(by_step, path, xlabel="RL step", ylabel=label, title="4x4 Sudoku", logx=False, logy=False)
        names.append(path.name)
    # Training time: seeds differ, so x is the seed-mean CPU time at each step (one thread;
    # wall-clock is in metrics.csv but depends on other load on the machine).
    secs = aggregate(rows, "step", "train_cpu_seconds", "algo")
    acc = aggregate(rows, "step", "test_cell_accuracy", "algo")
    by_time = {arm: {**acc[arm], "x": secs[arm]["mean"]} for arm in acc if arm in secs}
    path = run_dir.figures / "test_cell_accuracy_vs_cpu_seconds.png"
    plot_series(by_time, path, xlabel="training CPU seconds, one thread (seed mean)",
                ylabel="test cell accuracy (greedy)",
                title="4x4 Sudoku, against training time", logx=False, logy=False)
    names.append(path.name)
    return names


def _report(preset, p, seeds, pre_rows, base, variance, table, claims, figures, n_train, n_test) -> str:
    rows = [[t["arm"], t["test_cell_accuracy"], t["test_cell_accuracy_se"], t["test_solve_rate"],
             t["passes_per_step"], t["cpu_seconds_per_step"], t["seconds_per_step"], t["paper_percent"]]
            for t in table]
    last = pre_rows[-1]
    lines = [
        f"# wd1 vs diffu-GRPO on 4x4 Sudoku ({preset} preset, {len(seeds)} seed(s))\n",
        *(["**Smoke preset: a tiny model and a few steps; it checks the pipeline, not the paper's claims.**\n"]
          if preset == "smoke" else []),
        (f"Model: bidirectional transformer, {p.n_layers} layers, d = {p.d_model}, {p.n_heads} heads. "
         f"Data: {n_train} train puzzles, {n_test} test puzzles on held-out grids. Pretraining (LLaDA objective) "
         f"stopped at step {last['step']} with greedy solve rate {last['score']:.3f} on 200 train puzzles "
         f"({last['seconds']:.0f} s). RL: {p.rl_steps} steps, {p.prompts_per_step} prompts x G = {p.group_size}, "
         f"mu = {p.inner_updates}, lr {p.rl_lr}, {p.sampler_steps} sampling steps at T = 0.9.\n"),
        ("Final numbers (seed mean; accuracy on blank cells with greedy decoding). The paper column is "
         "LLaDA-8B Sudoku accuracy in percent (wd1 comparison figure), a different scale and model.\n"),
        markdown_table(["arm", "test cell acc.", "s.e.", "test solve rate", "estimator passes / step",
                        "CPU s / step", "wall s / step", "paper (%)"], rows),
        (f"\nOne-pass estimator at the pretrained model, 48 fixed samples x 16 prompt-mask draws (p = 0.15): "
         f"mean log-likelihood {variance['mean_logp']:.3f}, std over mask draws "
         f"{variance['mean_std_over_masks']:.4f}, std over samples {variance['mean_std_over_samples']:.3f}.\n"),
        "\n## Claims (criteria fixed before running)\n",
        claims_markdown(claims),
    ]
    if figures:
        lines.append("\n## Figures\n" + "".join(f"\n![{f}](figures/{f})\n" for f in figures))
    return "\n".join(lines)
