"""The rspo reproduction: the smoke preset writes a complete run directory."""

import json

import pytest

from saddlepoint.experiments import run_experiment
from saddlepoint.registry import EXPERIMENTS


def test_rspo_is_registered():
    entry = EXPERIMENTS["rspo"]
    assert entry.target == "saddlepoint.experiments.rspo:run" and entry.status in ("works", "partial")


def test_smoke_preset_writes_results(tmp_path):
    run = run_experiment("rspo", preset="smoke", out=tmp_path)
    for name in ("config.json", "env.json", "metrics.csv", "summary.json", "report.md"):
        assert (run.path / name).is_file()
    summary = json.loads((run.path / "summary.json").read_text())
    claims = summary["claims"]
    assert len(claims) >= 5
    assert all({"claim", "criterion", "passed", "measured"} <= set(c) for c in claims)
    # the exact-game facts that hold at any scale
    by_name = {c["claim"]: c for c in claims}
    assert by_name["SPPO's last iterate does not converge (it cycles)"]["passed"]
    assert by_name["SPPO's average iterate converges (no-regret bound)"]["passed"]
    report = (run.path / "report.md").read_text()
    assert "E1: exact games" in report and "E3: length-bias toy" in report
    experiments = {row["experiment"] for row in run.metrics()}
    assert {"E1", "E2", "E3"} <= experiments
    pytest.importorskip("matplotlib")
    assert any(p.suffix == ".png" for p in run.figures.iterdir())
