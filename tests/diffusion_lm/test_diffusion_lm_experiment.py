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
    assert len(claims) == 5 and all(isinstance(c["passed"], bool) for c in claims.values())
    passes = claims["wd1 needs fewer likelihood-estimator passes than diffu-GRPO"]["measured"]
    assert passes == {"wd1": 2.0, "diffu_grpo": 6.0}  # mu = 2: one vs three per inner update
    rows = [r for r in run.metrics() if r["part"] == "rl"]
    assert {r["algo"] for r in rows} == {"wd1", "wd1_positive", "diffu_grpo"}
    assert all(0 <= r["test_cell_accuracy"] <= 1 for r in rows)
    assert (run.path / "report.md").read_text().startswith("# wd1 vs diffu-GRPO")
    assert json.loads((run.path / "config.json").read_text())["experiment"] == "wd1"


def test_wd1_is_registered_as_the_class_with_one_cell_per_arm_and_seed():
    from saddlepoint.experiments.wd1 import ARMS, WD1, WD1Preset
    from saddlepoint.registry import EXPERIMENTS

    assert EXPERIMENTS["wd1"].target == "saddlepoint.experiments.wd1:WD1"
    p = WD1.presets["smoke"].with_seeds([3, 4])
    assert isinstance(p, WD1Preset)
    keys = [c.key for c in WD1().cells(p)]
    assert keys == ["base"] + [f"{a}/seed={s}" for s in (3, 4) for a in ARMS]


def test_token_task_subset_keeps_rows_in_order():
    from saddlepoint.diffusion_lm.tasks import sudoku_task

    train, _ = sudoku_task(np.random.default_rng(0), puzzles_per_grid=1)
    sub = train.subset([3, 1])
    assert len(sub) == 2 and (sub.prompts[0] == train.prompts[3]).all() and (sub.answers[1] == train.answers[1]).all()


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
