"""IMAC reproduction: smoke preset end to end, presets public, clear errors for bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest

from saddlepoint.errors import InvalidInputError
from saddlepoint.experiments.imac import IMAC, IMACPreset, horizon_rise, train_arm


def test_bad_inputs_get_one_clear_error():
    with pytest.raises(InvalidInputError, match="unknown arm"):
        IMACPreset(arms=("U", "PAIRED++"))
    with pytest.raises(InvalidInputError, match="horizons must be positive"):
        IMACPreset(u_horizon=0)
    with pytest.raises(InvalidInputError, match="horizons must be positive"):
        IMACPreset(h_range=(-1, 8))
    with pytest.raises(InvalidInputError, match="unknown arm"):
        train_arm(IMAC.presets["smoke"], "bogus", 0)


def test_empty_dataset_is_refused():
    from saddlepoint.ued.world_model import world_model_data

    class Empty:
        def __len__(self):
            return 0

    with pytest.raises(InvalidInputError, match="empty"):
        world_model_data(Empty(), 64)


def test_horizon_rise_is_late_minus_early_over_replayed_updates():
    rows = [{"section": "trace", "arm": "IMAC", "seed": 0, "update": u, "replay": u != 2, "mean_horizon": h}
            for u, h in zip(range(1, 7), [10, 99, 12, 14, 20, 22])]
    assert horizon_rise(rows, 0) == pytest.approx(21 - 10)
    assert np.isnan(horizon_rise(rows, 1))


@pytest.mark.slow
def test_smoke_preset_end_to_end(tmp_path):
    from saddlepoint.experiments import run_experiment

    run = run_experiment("imac", "smoke", out=tmp_path)
    summary = json.loads((run.path / "summary.json").read_text())
    names = {c["claim"] for c in summary["claims"]}
    assert "IMAC > U on broad held-out success by more than 2 s.e." in names
    assert "the mean horizon of replayed levels rises over training" in names
    assert "IMAC > the better of BC and CQL on broad held-out success" in names
    assert {(t["arm"], t["level_set"]) for t in summary["success"]} >= {("IMAC", "broad"), ("CQL", "narrow_unseen")}
    assert all(0 <= t["mean"] <= 1 for t in summary["success"])
    assert (run.path / "figures" / "curriculum.png").exists()
    assert (run.path / "figures" / "world_model.png").exists()
