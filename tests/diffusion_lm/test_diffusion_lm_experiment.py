"""The wd1 reproduction's smoke preset end to end, and import hygiene of the family."""

import json
import subprocess
import sys

import pytest

pytest.importorskip("torch")

from saddlepoint.experiments import run_experiment


@pytest.mark.slow
def test_smoke_preset_writes_a_complete_run(tmp_path):
    run = run_experiment("wd1", preset="smoke", out=tmp_path)
    summary = run.summary()
    names = [c["claim"] for c in summary["claims"]]
    assert len(names) == 5 and all(isinstance(c["passed"], bool) for c in summary["claims"])
    passes = summary["claims"][0]["measured"]
    assert passes == {"wd1": 2.0, "diffu_grpo": 6.0}  # mu = 2: one vs three per inner update
    rows = run.metrics()
    assert {r["algo"] for r in rows} == {"wd1", "wd1_positive", "diffu_grpo"}
    assert all(0 <= r["test_cell_accuracy"] <= 1 for r in rows)
    assert (run.path / "report.md").read_text().startswith("# wd1 vs diffu-GRPO")
    assert json.loads((run.path / "config.json").read_text())["experiment"] == "wd1"


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
