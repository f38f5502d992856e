"""The wd1 reproduction's smoke preset end to end, and import hygiene of the family."""

import json
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("torch")

from saddlepoint.experiments import run_experiment


@pytest.mark.slow
def test_smoke_preset_writes_a_complete_run(tmp_path):
    run = run_experiment("wd1", preset="smoke", out=tmp_path)
    summary = run.summary()
    claims = {c["claim"]: c for c in summary["claims"]}
    assert set(claims) == {"wd1 learns faster than diffu-GRPO (area under the test-accuracy curve)",
                           "wd1 takes less wall-clock time per step than diffu-GRPO"}
    facts = summary["facts"]
    assert facts[0]["measured"] == {"wd1": [2.0], "diffu_grpo": [6.0]}  # mu = 2: one vs three per update
    assert all(f["holds"] for f in facts) and set(summary["chosen_lr"]) == {"wd1", "diffu_grpo"}
    rows = [r for r in run.metrics() if r["part"] == "rl"]
    assert {(r["algo"], r["lr"]) for r in rows} == {(a, lr) for a in ("wd1", "diffu_grpo") for lr in (1e-4, 3e-4)}
    assert all(0 <= r["test_cell_accuracy"] <= 1 and 0 <= r["val_cell_accuracy"] <= 1 for r in rows)
    report = (run.path / "report.md").read_text()
    assert report.startswith("# wd1 vs diffu-GRPO") and "Reading the checks" in report
    assert json.loads((run.path / "config.json").read_text())["experiment"] == "wd1"


def test_wd1_is_registered_as_the_class_with_one_cell_per_arm_lr_and_seed():
    from saddlepoint.experiments.wd1 import WD1, WD1Preset
    from saddlepoint.registry import EXPERIMENTS

    assert EXPERIMENTS["wd1"].target == "saddlepoint.experiments.wd1:WD1"
    p = WD1.presets["smoke"].with_seeds([3, 4])
    assert isinstance(p, WD1Preset)
    keys = [c.key for c in WD1().cells(p)]
    assert keys[:2] == ["base/seed=3", "base/seed=4"]
    assert keys[2:] == [f"{a}/lr={lr}/seed={s}" for s in (3, 4) for a in ("wd1", "diffu_grpo")
                        for lr in ("0.0001", "0.0003")]
    paper = WD1.presets["paper"]
    assert (paper.rl_steps, paper.d_model, paper.rl_lrs, len(paper.seeds), paper.pretrain_ceiling) == (
        200, 128, (1e-4, 3e-4), 5, 0.25)


def test_auc_and_the_validation_choice_of_learning_rate():
    from saddlepoint.experiments.wd1 import WD1, choose_lrs, curve_auc

    rows = [{"step": 0, "a": 0.2}, {"step": 5, "a": 0.4}, {"step": 10, "a": 0.4}]
    assert curve_auc(rows, "a") == pytest.approx((0.3 * 5 + 0.4 * 5) / 10)
    p = WD1.presets["smoke"]
    finals = [{"algo": a, "lr": lr, "val_auc": v, "test_auc": 1 - v}
              for a, lr, v in (("wd1", 1e-4, 0.3), ("wd1", 3e-4, 0.5), ("diffu_grpo", 1e-4, 0.6),
                               ("diffu_grpo", 3e-4, 0.2))]
    assert choose_lrs(finals, p) == {"wd1": 3e-4, "diffu_grpo": 1e-4}  # by validation, whatever the test says


def test_token_task_subset_and_validation_split():
    from saddlepoint.diffusion_lm.tasks import sudoku_splits, sudoku_task

    train, test = sudoku_task(np.random.default_rng(0), puzzles_per_grid=1)
    sub = train.subset([3, 1])
    assert len(sub) == 2 and (sub.prompts[0] == train.prompts[3]).all() and (sub.answers[1] == train.answers[1]).all()
    same = sudoku_splits(np.random.default_rng(0), puzzles_per_grid=1)
    assert set(same) == {"train", "test"} and (same["train"].prompts == train.prompts).all()
    three = sudoku_splits(np.random.default_rng(0), val_fraction=0.1, puzzles_per_grid=1)
    grids = {k: {t.tobytes() for t in v.answers} for k, v in three.items()}
    assert not (grids["val"] & grids["train"]) and not (grids["val"] & grids["test"]) and len(grids["val"]) == 29


def test_registry_and_family_imports_stay_light():
    code = ("import sys, saddlepoint, saddlepoint.registry, saddlepoint.diffusion_lm, "
            "saddlepoint.diffusion_lm.tasks; "
            "print(sorted(m for m in ('torch', 'transformers', 'matplotlib') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_every_exported_name_resolves():
    import saddlepoint.diffusion_lm as family

    for name in family.__all__:
        assert getattr(family, name) is not None
