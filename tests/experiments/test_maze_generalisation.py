"""The maze-generalisation reproduction: presets, cells, smoke run end to end."""

import json

import pytest

from saddlepoint.experiments import run_experiment
from saddlepoint.experiments.maze_generalisation import (
    ARMS, LEVEL_SETS, MazeGeneralisation, level_sets,
)
from saddlepoint.registry import EXPERIMENTS


def test_registry_and_cells():
    assert EXPERIMENTS["maze-generalisation"].target.endswith(":MazeGeneralisation")
    exp = MazeGeneralisation()
    paper = exp.presets["paper"]
    assert paper.seeds == (0, 1, 2) and paper.train_levels == 200 and paper.transitions == 50_000
    keys = [c.key for c in exp.cells(paper)]
    assert len(keys) == len(set(keys)) == 9 and keys[0] == "ppo/seed=0"


def test_level_sets_are_disjoint_and_seeded():
    a = level_sets(11, 10, 10, 3)
    level_sets.cache_clear()
    b = level_sets(11, 10, 10, 3)
    assert [lv.key for lv in a["train"]] == [lv.key for lv in b["train"]]
    train = {lv.key for lv in a["train"]}
    assert not train & {lv.key for lv in a["unseen_narrow"]}
    assert not train & {lv.key for lv in a["broad"]}
    assert all(8 <= lv.shortest_path_length() <= 20 for lv in a["broad"])
    assert all(lv.shortest_path_length() <= 6 for lv in a["train"])


@pytest.mark.slow
@pytest.mark.repro
def test_smoke_preset_end_to_end(tmp_path):
    run = run_experiment("maze-generalisation", "smoke", out=tmp_path)
    summary = json.loads((run.path / "summary.json").read_text())
    assert summary["claims_total"] == 2
    assert {c["claim"].split()[0] for c in summary["claims"]} == {"BC", "CQL"}
    rows = [r for r in run.metrics() if r["section"] == "eval"]
    assert {(r["arm"], r["level_set"]) for r in rows} == {(a, ls) for a in ARMS for ls in LEVEL_SETS}
    assert all(0.0 <= float(r["success_rate"]) <= 1.0 for r in rows)
    # offline agents trained on the training levels do better there than on broad ones
    table = {(r["arm"], r["level_set"]): r["success_mean"] for r in summary["success"]}
    assert table[("bc", "train")] > table[("bc", "broad")]
    assert (run.path / "figures" / "success_by_level_set.png").is_file()
    report = (run.path / "report.md").read_text()
    assert "notes' criterion" in report and "Generalisation gap" in report
