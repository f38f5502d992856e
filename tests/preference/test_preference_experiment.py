"""The rspo reproduction: the smoke preset writes a complete run directory."""

import json

import pytest

from saddlepoint.experiments import run_experiment
from saddlepoint.experiments.rspo import RSPO, RSPOPreset
from saddlepoint.registry import EXPERIMENTS


def test_rspo_is_registered_as_the_class():
    entry = EXPERIMENTS["rspo"]
    assert entry.target == "saddlepoint.experiments.rspo:RSPO" and entry.status in ("works", "partial")
    assert isinstance(RSPO.presets["paper"], RSPOPreset)


def test_cells_are_one_per_eta_and_game_and_per_seed_and_arm():
    p = RSPOPreset(seeds=(0, 1), e1_games=(0, 7), e1_iterations=10, e1_etas=(0.1, 1.0), e2_prompts=2,
                   e2_iterations=2, e2_inner_steps=1, e3_iterations=2, e4_iterations=1)
    keys = [c.key for c in RSPO().cells(p)]
    assert keys[:4] == ["E1/eta=0.1/game=0", "E1/eta=0.1/game=7", "E1/eta=1/game=0", "E1/eta=1/game=7"]
    assert sum(k.startswith("E2/") for k in keys) == 2 * 4 and keys[-1] == "E4"


@pytest.mark.slow
def test_smoke_preset_writes_results(tmp_path):
    run = run_experiment("rspo", preset="smoke", out=tmp_path)
    for name in ("config.json", "env.json", "metrics.csv", "summary.json", "report.md"):
        assert (run.path / name).is_file()
    summary = json.loads((run.path / "summary.json").read_text())
    claims = summary["claims"]
    assert len(claims) >= 5
    assert all({"claim", "criterion", "passed", "measured"} <= set(c) for c in claims)
    by_name = {c["claim"]: c for c in claims}
    assert by_name["SPPO's last iterate does not converge (it cycles)"]["passed"]
    assert by_name["SPPO's average iterate converges (no-regret bound)"]["passed"]
    report = (run.path / "report.md").read_text()
    assert "E1: exact games" in report and "E3: length-bias toy" in report
    experiments = {row["experiment"] for row in run.metrics()}
    assert {"E1", "E2", "E3"} <= experiments
    pytest.importorskip("matplotlib")
    assert any(p.suffix == ".png" for p in run.figures.iterdir())
