"""The AdaDO reproduction: analysis helpers on hand-made curves, and the smoke preset end to end."""

import math

import pytest

from saddlepoint.experiments import adado


def rows(pairs):
    return [{"nodes_visited": n, "exploitability": e} for n, e in pairs]


def test_nodes_to_threshold():
    c = rows([(10, 1.0), (20, 0.3), (40, 0.01), (80, 0.02), (160, 1e-4)])
    assert adado.nodes_to(c, 0.5) == 20
    assert adado.nodes_to(c, 0.01) == 40
    assert adado.nodes_to(c, 1e-3) == 160
    assert adado.nodes_to(c, 1e-5) == math.inf


def test_claim_threshold_prefers_1e3_then_smallest_reached():
    good = rows([(10, 1e-4)])
    poor = rows([(10, 0.3), (20, 0.05)])
    assert adado.claim_threshold(good, poor) == 1e-3
    assert adado.claim_threshold(poor, poor) == 0.09
    assert adado.claim_threshold(rows([(1, 0.9)]), rows([(1, 0.8)])) == 0.5


def test_restart_rises_counts_saw_teeth():
    assert adado.restart_rises(rows([(1, 1.0), (2, 0.5), (3, 0.6), (4, 0.2), (5, 0.21)])) == 1
    assert adado.restart_rises(rows([(1, 1.0), (2, 0.5)])) == 0


def test_thin_keeps_first_and_last():
    c = rows([(n, 1.0 / n) for n in range(1, 5000)])
    t = adado._thin(c, 50)
    assert t[0] is c[0] and t[-1] is c[-1] and len(t) <= 51
    assert [r["nodes_visited"] for r in t] == sorted(r["nodes_visited"] for r in t)


@pytest.mark.slow
@pytest.mark.repro
def test_smoke_preset_runs_and_checks_claims(tmp_path):
    run = adado.run("smoke", out=tmp_path, show_progress=False)
    summary = run.summary()
    names = {(r["game"], r["algo"]) for r in summary["final"]}
    for algo in adado.DETERMINISTIC:
        assert ("leduc", algo) in names and ("kuhn", algo) in names
    assert ("kuhn", "adado_stochastic") in names and ("kuhn", "mccfr_outcome") in names
    claims = {c["claim"]: c for c in summary["claims"]}
    assert any("Leduc" in k for k in claims) and any("restarts" in k for k in claims)
    assert all(isinstance(c["passed"], bool) for c in claims.values())
    report = (run.path / "report.md").read_text()
    assert "Paper's claim" in report and "Claim checks" in report
    metrics = run.metrics()
    assert {"game", "algo", "seed", "nodes_visited", "exploitability"} <= set(metrics[0])
    # Every curve is ordered by nodes visited.
    for key in {(r["game"], r["algo"], r["seed"]) for r in metrics}:
        xs = [r["nodes_visited"] for r in metrics if (r["game"], r["algo"], r["seed"]) == key]
        assert xs == sorted(xs)


def test_same_seed_same_stochastic_curve(tmp_path):
    from saddlepoint.games import zoo
    from saddlepoint.games.extensive_form import compile_game

    cg = compile_game(zoo.kuhn_poker())
    a = adado._run_double_oracle(cg, "adado_stochastic", 20_000, 3, 10)
    b = adado._run_double_oracle(cg, "adado_stochastic", 20_000, 3, 10)
    assert [r["exploitability"] for r in a] == [r["exploitability"] for r in b]
