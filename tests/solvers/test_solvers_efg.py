"""The one-call API on extensive-form games (the CLI's path): result records, curves, names,
determinism."""

import json
import subprocess
import sys

import numpy as np
import pytest

from saddlepoint.errors import InvalidInputError
from saddlepoint.games import make_game
from saddlepoint.registry import GAMES, SOLVERS, load
from saddlepoint.solvers.base import solver_config
from saddlepoint.solvers.cfr import CFRPlusConfig
from saddlepoint.solvers.efg import solve


def solve_named(game, algo, *, iterations, seed=0, eval_every=None):
    return solve(game, solver_config(algo, "efg", iterations=iterations), seed, eval_every=eval_every)


def test_registry_entries_load():
    for name, entry in GAMES.items():
        if entry.kind == "efg":
            assert entry.status == "works" and callable(load(entry.target))
    for name, entry in SOLVERS.items():
        if "efg" in entry.kind.split(",") and entry.target is not None:
            config_cls = load(entry.target)
            assert config_cls.algo == name and callable(load(config_cls.method))


def test_solve_named_result_and_curve():
    res = solve_named(make_game("kuhn_poker"), "cfr_plus", iterations=100, seed=0, eval_every=25)
    out = res.summary()
    json.dumps(out)
    for key in ("game", "algo", "iterations", "exploitability", "nash_conv", "nodes_visited", "seconds", "curve"):
        assert key in out
    assert out["algo"] == "cfr_plus" and out["iterations"] == 100
    assert [row["iteration"] for row in out["curve"]] == [25, 50, 75, 100]
    assert set(out["curve"][0]) == {"iteration", "nodes_visited", "exploitability", "nash_conv", "seconds"}
    nodes = [row["nodes_visited"] for row in out["curve"]]
    assert nodes == sorted(nodes) and nodes[-1] == out["nodes_visited"]
    assert out["exploitability"] == pytest.approx(1.194e-3, rel=1e-3)
    assert out["nash_conv"] == pytest.approx(2 * out["exploitability"])
    assert out["value"] == pytest.approx(-1 / 18, abs=0.01)


def test_lp_alias_and_kind_check():
    res = solve_named(make_game("kuhn_poker"), "lp", iterations=1)
    assert res.algo == "sequence_form_lp" and res.exploitability < 1e-9
    with pytest.raises(InvalidInputError, match="does not solve efg games"):
        solve_named(make_game("kuhn_poker"), "hedge", iterations=10)
    with pytest.raises(InvalidInputError, match="unknown solver"):
        solve_named(make_game("kuhn_poker"), "nope", iterations=10)


@pytest.mark.parametrize("algo", ["mccfr_external", "mccfr_outcome", "dcfr"])
def test_same_seed_same_result(algo):
    game = make_game("leduc_poker")
    a = solve_named(game, algo, iterations=50, seed=3)
    b = solve_named(game, algo, iterations=50, seed=3)
    assert a.exploitability == b.exploitability
    assert all(np.array_equal(u, v) for u, v in zip(a.strategies, b.strategies))


def test_solve_accepts_compiled_games_and_validates(kuhn):
    res = solve(kuhn, CFRPlusConfig(iterations=10), eval_every=5)
    assert len(res.curve) == 2
    with pytest.raises(InvalidInputError):
        solve(kuhn, CFRPlusConfig(iterations=10), eval_every=0)
    with pytest.raises(InvalidInputError):
        solve(kuhn, object())


def test_import_saddlepoint_efg_stays_light():
    code = ("import sys, saddlepoint, saddlepoint.registry, saddlepoint.solvers.efg, saddlepoint.games.zoo;"
            "bad = [m for m in ('torch', 'transformers', 'matplotlib', 'pyspiel') if m in sys.modules];"
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)
