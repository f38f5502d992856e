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
    assert sum(k.startswith("E2/") for k in keys) == 2 * 6 and keys[-1] == "E4"
    assert "E2/rspo_reverse_0.05_x16/seed=1" in keys and "E2/rspo_reverse_0.2_x16/seed=0" in keys


def test_log_kl_slope_recovers_a_geometric_decay():
    from saddlepoint.experiments.rspo import log_kl_slope

    points = [(t, -0.03 * t + 2.0) for t in range(1, 50)]
    assert log_kl_slope(points) == pytest.approx(-0.03) and log_kl_slope(points[:1]) is None


def test_e3_claims_compare_length_controlled_win_rate_and_length_growth():
    from saddlepoint.experiments.base import Cell
    from saddlepoint.experiments.rspo import E3_LENGTH_ARMS, RSPO, RSPOPreset, _e3_checks

    p = RSPOPreset(e1_games=(0,), e1_iterations=10, e2_prompts=2, e2_iterations=2, e2_inner_steps=1,
                   e3_iterations=20, e4_iterations=1)
    rows = [r for arm in ("sppo",) + E3_LENGTH_ARMS
            for r in RSPO().run_cell(p, Cell(f"E3/{arm}", params={"part": "E3", "arm": arm}))]
    lc, grow = _e3_checks(p, rows)
    assert set(lc.measured) == {"sppo", *E3_LENGTH_ARMS}
    assert lc.passed == all(lc.measured[a] > lc.measured["sppo"] for a in E3_LENGTH_ARMS)
    assert grow.passed == all(grow.measured[a] < grow.measured["sppo"] for a in E3_LENGTH_ARMS)
    last = [r for r in rows if r["iteration"] == 20]
    assert all(0 < r["lc_win_rate"] < 1 and r["fitted_length_bias"] > 2 for r in last)


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
    assert by_name["E1's KL falls at the linear rate predicted at pi*_tau"]["passed"]
    assert set(by_name["RSPO's last iterate sits at a sampling-noise floor that more pairs lower"]["measured"]) == {
        "lambda=0.05", "lambda=0.2"}
    assert all(f["holds"] for f in summary["facts"]) and len(summary["facts"]) == 2
    report = (run.path / "report.md").read_text()
    assert "E1: exact games" in report and "E3: a judge with a verbosity bias" in report
    assert "Reading the checks" in report and "Notes' criteria and ours" in report
    experiments = {row["experiment"] for row in run.metrics()}
    assert {"E1", "E2", "E3"} <= experiments
    pytest.importorskip("matplotlib")
    assert any(p.suffix == ".png" for p in run.figures.iterdir())
