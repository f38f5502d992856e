"""The AdaDO reproduction: analysis helpers on hand-made curves, and the smoke preset end to end."""

import math

import numpy as np
import pytest

from saddlepoint.experiments import adado, run_experiment
from saddlepoint.experiments.adado import AdaDO, AdaDOPreset


def rows(pairs):
    return [{"nodes_visited": n, "exploitability": e} for n, e in pairs]


def test_nodes_to_threshold():
    c = rows([(10, 1.0), (20, 0.3), (40, 0.01), (80, 0.02), (160, 1e-4)])
    assert adado.nodes_to(c, 0.5) == 20
    assert adado.nodes_to(c, 0.01) == 40
    assert adado.nodes_to(c, 1e-3) == 160
    assert adado.nodes_to(c, 1e-5) == math.inf


def test_mccfr_nodes_to_extrapolates_a_run_that_stops_short():
    reached = {"nodes_to_0.005": 400.0, "nodes_visited": 1000, "exploitability": 0.004}
    assert adado.mccfr_nodes_to(reached, 0.005) == (400.0, True)
    short = {"nodes_to_0.005": math.inf, "nodes_visited": 1000, "exploitability": 0.05}
    nodes, measured = adado.mccfr_nodes_to(short, 0.005)
    assert not measured and nodes == pytest.approx(1000 * 100)


def test_beats_counts_a_threshold_only_the_first_reaches_and_nothing_when_neither_does():
    assert adado.beats(10.0, math.inf) and adado.beats(10.0, 20.0)
    assert not adado.beats(math.inf, math.inf) and not adado.beats(20.0, 10.0) and not adado.beats(10.0, 10.0)


def test_support_shares_fall_with_the_level():
    from saddlepoint.games import zoo
    from saddlepoint.games.extensive_form import compile_game

    cg = compile_game(zoo.kuhn_poker())
    uniform = tuple(tp.uniform() for tp in cg.players)
    sup = adado.support(cg, uniform)
    assert sup["support_gt_0"] == 1.0 and sup["support_gt_0.1"] == 1.0  # Kuhn: two actions, 0.5 each
    pure = tuple(np.where(np.arange(tp.num_sequences) % 2 == 0, 1.0, 0.0) for tp in cg.players)
    assert adado.support(cg, pure)["support_gt_0"] < 1.0


def test_warm_start_arms_keep_regrets_and_xdo_cfr_uses_cfr():
    assert adado.RMDO_ARMS["adado_ws"].warm_start and adado.RMDO_ARMS["pdo_ws"].warm_start
    assert not adado.RMDO_ARMS["adado"].warm_start and adado.RMDO_ARMS["xdo_cfr"].inner == "cfr"
    assert adado.RMDO_ARMS["adado_allowed"].unreachable == "allowed" and adado.RMDO_ARMS["adado"].unreachable == "uniform_all"
    p = AdaDOPreset(budgets=(("kuhn", 30_000),), stochastic_budgets=(), psro_iterations=5)
    cells = {c.params["algo"]: c for c in AdaDO().cells(p)}
    assert {"adado_ws", "pdo_ws", "xdo_cfr"} <= set(cells)
    curves = {a: [r["exploitability"] for r in AdaDO().run_cell(p, cells[a]) if r["section"] == "curve"]
              for a in ("adado", "adado_ws")}
    # the same windows until the first expansion, then warm-started regrets change the outputs
    assert curves["adado"][0] == curves["adado_ws"][0] and curves["adado"] != curves["adado_ws"]


def test_restart_rises_counts_saw_teeth():
    assert adado.restart_rises(rows([(1, 1.0), (2, 0.5), (3, 0.6), (4, 0.2), (5, 0.21)])) == 1
    assert adado.restart_rises(rows([(1, 1.0), (2, 0.5)])) == 0


def test_cells_run_deterministic_methods_once_and_stochastic_ones_per_seed():
    p = AdaDOPreset(budgets=(("kuhn", 1000),), stochastic_budgets=(("kuhn", 1000),), seeds=(0, 4), psro_iterations=2)
    cells = AdaDO().cells(p)
    assert len(cells) == len(adado.DETERMINISTIC) + 2 * len(adado.STOCHASTIC)
    ext = AdaDOPreset(budgets=(("kuhn", 1000),), stochastic_budgets=(), psro_iterations=2, extension_games=("kuhn",))
    assert len(AdaDO().cells(ext)) == len(adado.DETERMINISTIC) + len(adado.EXTENSION)
    assert {c.seed for c in cells if c.params["algo"] == "adado_stochastic"} == {0, 4}


def test_a_cell_keeps_the_full_curves_threshold_nodes_and_a_thinned_curve():
    p = AdaDOPreset(budgets=(("kuhn", 200_000),), stochastic_budgets=(), psro_iterations=5)
    cell = next(c for c in AdaDO().cells(p) if c.params["algo"] == "cfr_plus")
    out = AdaDO().run_cell(p, cell)
    curve, last = [r for r in out if r["section"] == "curve"], out[-1]
    assert last["section"] == "final" and last["histories"] == 58
    assert last["nodes_to_0.5"] <= last["nodes_to_0.02"]
    assert [r["nodes_visited"] for r in curve] == sorted(r["nodes_visited"] for r in curve)


@pytest.mark.slow
@pytest.mark.repro
def test_smoke_preset_runs_and_checks_claims(tmp_path):
    run = run_experiment("adado", "smoke", out=tmp_path, show_progress=False)
    summary = run.summary()
    names = {(r["game"], r["algo"]) for r in summary["final"]}
    for algo in adado.DETERMINISTIC:
        assert ("leduc", algo) in names and ("kuhn", algo) in names
    assert ("kuhn", "adado_stochastic") in names and ("kuhn", "mccfr_outcome") in names
    claims = {c["claim"]: c for c in summary["claims"]}
    assert any("Leduc" in k for k in claims) and any("restarts" in f["statement"] for f in summary["facts"])
    assert all(isinstance(c["passed"], bool) for c in claims.values())
    report = (run.path / "report.md").read_text()
    assert "Paper's claim" in report and "## Claims" in report and "## Reading the checks" in report
    assert "implemented criterion" in report and "uniform extension changes" in report
    metrics = run.metrics()
    assert {"game", "algo", "seed", "nodes_visited", "exploitability"} <= set(metrics[0])
    # Every curve is ordered by nodes visited.
    curve = [r for r in metrics if r["section"] == "curve"]
    for key in {(r["game"], r["algo"], r["seed"]) for r in curve}:
        xs = [r["nodes_visited"] for r in curve if (r["game"], r["algo"], r["seed"]) == key]
        assert xs == sorted(xs)


def test_same_seed_same_stochastic_curve():
    p = AdaDOPreset(budgets=(), stochastic_budgets=(("kuhn", 20_000),), seeds=(3,), psro_iterations=10)
    cell = next(c for c in AdaDO().cells(p) if c.params["algo"] == "adado_stochastic")
    a, b = AdaDO().run_cell(p, cell), AdaDO().run_cell(p, cell)
    assert cell.seed == 3 and [r["exploitability"] for r in a] == [r["exploitability"] for r in b]
