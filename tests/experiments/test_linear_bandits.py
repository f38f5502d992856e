"""The linear-bandits reproduction: the smoke preset end to end, and the paper-claim checks."""

import json
import time

import pytest

from saddlepoint.experiments import run_experiment
from saddlepoint.registry import EXPERIMENTS


def test_registry_entry_works():
    entry = EXPERIMENTS["linear-bandits"]
    assert entry.status == "works" and entry.target == "saddlepoint.experiments.linear_bandits:LinearBandits"


@pytest.mark.slow
@pytest.mark.repro
def test_smoke_preset_writes_a_complete_run(tmp_path):
    start = time.perf_counter()
    run = run_experiment("linear-bandits", "smoke", out=tmp_path)
    assert time.perf_counter() - start < 180  # eight families; the machine is shared
    for name in ("config.json", "env.json", "metrics.csv", "summary.json", "report.md"):
        assert (run.path / name).is_file()
    summary = json.loads((run.path / "summary.json").read_text())
    claims = {c["claim"]: c for c in summary["claims"]}
    assert len(claims) == 4 and len(summary["facts"]) == 2
    # the headline contrast of the paper must hold at smoke scale
    assert claims["uniform (non-GAM) misspecification gives LinUCB linear regret (hidden-uniform(0.1))"]["passed"]
    assert claims["realizable LinUCB regret grows like sqrt T (doubling ratio and slope)"]["measured"]["slope"] < 0.6
    assert all(f["holds"] for f in summary["facts"])  # batch counts: facts, not claims
    rows = run.metrics()
    assert {r["section"] for r in rows} == {"curves", "final", "scan", "batches"}
    report = (run.path / "report.md").read_text()
    assert "## Claims" in report and "## Reading the checks" in report and "implemented criterion" in report
    pytest.importorskip("matplotlib")
    assert len(list(run.figures.glob("*.png"))) == 10


def test_instances_are_seeded():
    from saddlepoint.experiments.linear_bandits import make_instance

    a, b = make_instance("gam-split(0.3)", 5, 4), make_instance("gam-split(0.3)", 5, 4)
    assert (a.means == b.means).all() and (a.arms == b.arms).all()
    c = make_instance("realizable", 5, 4)
    assert (c.arms == a.arms).all()  # families share arms for a seed and dimension


def test_matched_uniform_family_has_the_adversarial_families_largest_error():
    from saddlepoint.bandits import sup_misspecification
    from saddlepoint.experiments.linear_bandits import make_instance

    adv, uni = make_instance("gam-adv(0.1)", 2, 5), make_instance("matched-uniform(0.1)", 2, 5)
    assert abs(sup_misspecification(adv) - sup_misspecification(uni)) < 1e-12
    assert (adv.arms == uni.arms).all()


def test_regret_slope_of_a_sqrt_curve_is_one_half():
    from saddlepoint.experiments.linear_bandits import regret_slope

    rows = [{"section": "curves", "instance": "f", "algo": "a", "t": t, "regret": 3 * t ** 0.5}
            for t in (10, 100, 1000, 2000, 4000, 8000)]
    assert abs(regret_slope(rows, "f", "a", 8000) - 0.5) < 1e-9
