import json

import pytest

from saddlepoint.experiments import run_experiment
from saddlepoint.experiments.matrix_games import SOLVERS, MatrixGames, MatrixGamesPreset
from saddlepoint.registry import EXPERIMENTS


def test_registry_target_is_the_class_and_cells_cover_every_solver():
    assert EXPERIMENTS["matrix-games"].target == "saddlepoint.experiments.matrix_games:MatrixGames"
    cells = MatrixGames().cells(MatrixGamesPreset(iterations=10, seeds=(0, 3)))
    assert len(cells) == 2 * len(SOLVERS) * 2 and {c.seed for c in cells} == {0, 3}


def test_a_cell_is_a_pure_function_of_preset_and_seed():
    exp, p = MatrixGames(), MatrixGamesPreset(iterations=50, seeds=(1,))
    cell = exp.cells(p)[len(SOLVERS)]  # random_zero_sum, first solver
    a, b = exp.run_cell(p, cell), exp.run_cell(p, cell)
    strip = lambda rows: [{k: v for k, v in r.items() if k != "seconds"} for r in rows]
    assert strip(a) == strip(b) and a[-1]["section"] == "final"


@pytest.mark.slow
def test_matrix_games_smoke_writes_results_and_passes_checks(tmp_path):
    run = run_experiment("matrix-games", preset="smoke", seeds=[0, 1], out=tmp_path, show_progress=False)
    summary = json.loads((run.path / "summary.json").read_text())
    claims = {c["claim"]: c for c in summary["claims"]}
    assert len(claims) == 5 and all(c["passed"] for c in claims.values()), claims
    assert claims["Hedge's last iterate does not converge"]["measured"] > 1e-2
    assert (run.path / "report.md").read_text().startswith("# Matrix-game solvers")
    assert len(list((run.path / "figures").glob("*.png"))) == 4
    assert {row["algo"] for row in run.metrics()} >= {"hedge", "extragradient", "fictitious_play"}
