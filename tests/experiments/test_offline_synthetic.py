"""The offline-synthetic reproduction: presets, cells, JS divergence, smoke run end to end."""

import json

import numpy as np
import pytest

from saddlepoint.experiments import run_experiment
from saddlepoint.experiments.offline_synthetic import ARMS, OfflineSynthetic, js_on_grid
from saddlepoint.registry import EXPERIMENTS


def test_registry_and_cells():
    assert EXPERIMENTS["offline-synthetic"].target.endswith(":OfflineSynthetic")
    exp = OfflineSynthetic()
    paper = exp.presets["paper"]
    assert paper.seeds == (0, 1, 2) and paper.n_train_levels == 100 and paper.algos == ("bc", "cql")
    keys = [c.key for c in exp.cells(paper)]
    assert len(keys) == len(set(keys)) == 6 and keys[0] == "bc/seed=0"


def test_js_on_grid():
    rng = np.random.default_rng(0)
    train = rng.standard_normal((500, 4))
    same, se = js_on_grid(train, rng.standard_normal((500, 4)), np.random.default_rng(1), 50)
    far, _ = js_on_grid(train, rng.standard_normal((500, 4)) + 3.0, np.random.default_rng(1), 50)
    assert 0 <= same < 0.3 and se > 0
    assert far > 0.5 and far <= np.log(2) + 1e-9


@pytest.mark.slow
@pytest.mark.repro
def test_smoke_preset_end_to_end(tmp_path):
    run = run_experiment("offline-synthetic", "smoke", out=tmp_path)
    summary = json.loads((run.path / "summary.json").read_text())
    assert summary["claims_total"] == 12
    rows = run.metrics()
    assert {(r["algo"], r["arm"]) for r in rows} == {(a, arm) for a in ("bc", "cql") for arm in ARMS}
    assert all(0.0 <= float(r[f"{s}_success"]) <= 1.0 for r in rows for s in ("train", "visual", "layout"))
    assert all(0.0 <= float(r["js_visual"]) <= np.log(2) + 1e-9 for r in rows)
    report = (run.path / "report.md").read_text()
    assert "notes' criterion" in report and "Augmented-large" in report
