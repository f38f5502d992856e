import json

import pytest

from saddlepoint.experiments import run_experiment


@pytest.mark.slow
def test_matrix_games_smoke_writes_results_and_passes_checks(tmp_path):
    run = run_experiment("matrix-games", preset="smoke", seeds=[0, 1], out=tmp_path, show_progress=False)
    summary = json.loads((run.path / "summary.json").read_text())
    assert summary["all_claims_passed"], [c for c in summary["claims"] if not c["passed"]]
    assert len(summary["claims"]) == 5
    assert (run.path / "report.md").read_text().startswith("# Matrix-game solvers")
    assert len(list((run.path / "figures").glob("*.png"))) == 4
    assert {row["algo"] for row in run.metrics()} >= {"hedge", "extragradient", "fictitious_play"}
