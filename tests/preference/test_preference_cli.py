"""`saddlepoint solve` on preference games: end to end through the CLI, checked independently."""

import json

import numpy as np
import pytest

from saddlepoint.cli import main
from saddlepoint.errors import InvalidInputError
from saddlepoint.games import make_game
from saddlepoint.preference import RSPOConfig, random_preference_game
from saddlepoint.registry import GAMES, SOLVERS, load
from saddlepoint.solvers.base import solve, solver_config

GAME = "random_preference(n_responses=8,seed=3)"


def _cli_json(capsys, *argv):
    code = main(["solve", GAME, *argv, "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    return json.loads(out)


def _gap(p, pi):
    """DG(pi) = 2 max_y (P pi)_y - 1, written out again here."""
    return 2 * max(sum(p[i][j] * pi[j] for j in range(len(pi))) for i in range(len(pi))) - 1


def test_registered_as_a_preference_kind():
    assert GAMES["random_preference"].kind == "preference"
    names = {"sppo", "rspo", "inpo", "nash_md", "nash_mirror_prox", "preference_lp"}
    assert all(SOLVERS[n].kind == "preference" and SOLVERS[n].status == "works" for n in names)
    assert load(SOLVERS["rspo"].target) is RSPOConfig
    assert RSPOConfig.method == "saddlepoint.preference.dynamics:RSPODynamics"
    game = make_game(GAME)
    np.testing.assert_array_equal(game.preferences, random_preference_game(8, 1, seed=3).preferences)


def test_lp_value_is_one_half_and_its_policy_is_an_equilibrium(capsys):
    data = _cli_json(capsys, "--algo", "lp")
    assert data["algo"] == "preference_lp"
    assert data["value"] == pytest.approx(0.5, abs=1e-9)
    p = random_preference_game(8, 1, seed=3).preferences[0].tolist()
    pi = data["strategies"][0][0]
    assert sum(pi) == pytest.approx(1.0) and min(pi) >= -1e-12
    assert _gap(p, pi) == pytest.approx(data["nash_conv"], abs=1e-12)
    assert _gap(p, pi) < 1e-8  # a Nash equilibrium: no response beats it


def test_rspo_last_iterate_reaches_the_regularised_equilibrium(capsys):
    data = _cli_json(capsys, "--algo", "rspo", "--iterations", "1500", "--eval-every", "500")
    assert data["algo"] == "rspo" and data["target_regularization"] == [0.05, 0.0]
    game = random_preference_game(8, 1, seed=3)
    p, ref = game.preferences[0], game.reference[0]
    last = np.array(data["last_strategies"][0][0])
    # pi*_tau is characterised by pi ∝ ref exp(P pi / tau) (RSPO notes): check it on the CLI's policy
    fixed = ref * np.exp(p @ last / 0.05)
    np.testing.assert_allclose(last, fixed / fixed.sum(), atol=1e-10)
    assert data["kl_to_equilibrium"] < 1e-15
    assert _gap(p.tolist(), last.tolist()) == pytest.approx(data["duality_gap"], abs=1e-12)
    assert _gap(p.tolist(), data["strategies"][0][0]) == pytest.approx(data["avg_duality_gap"], abs=1e-12)
    assert [row["iteration"] for row in data["curve"]] == [500, 1000, 1500]
    assert data["curve"][-1]["exploitability"] == pytest.approx(data["exploitability"])


def test_sppo_has_no_regularised_target_and_text_output(capsys):
    data = _cli_json(capsys, "--algo", "sppo", "--iterations", "200")
    assert data["target_regularization"] == [0.0, 0.0] and "kl_to_equilibrium" not in data
    assert main(["solve", GAME, "--algo", "nash_mirror_prox", "--iterations", "300"]) == 0
    out = capsys.readouterr().out
    assert "kl_to_equilibrium" in out and "duality_gap" in out and "last policy" in out


def test_out_writes_a_run_directory(capsys, tmp_path):
    code = main(["solve", GAME, "--algo", "inpo", "--iterations", "100", "--out", str(tmp_path), "--json"])
    data = json.loads(capsys.readouterr().out)
    assert code == 0 and (tmp_path / "solve").is_dir()
    assert "run_dir" in data


@pytest.mark.parametrize("argv, message", [
    ([GAME, "--algo", "cfr"], "solver 'cfr' does not solve preference games"),
    (["kuhn_poker", "--algo", "rspo"], "solver 'rspo' does not solve efg games"),
    (["rock_paper_scissors", "--algo", "nash_md"], "solver 'nash_md' does not solve matrix games"),
])
def test_wrong_kind_is_one_clear_line(capsys, argv, message):
    code = main(["solve", *argv])
    err = capsys.readouterr().err
    assert code == 2 and message in err and err.count("\n") == 1


def test_generic_solve_refuses_other_kinds_and_is_deterministic():
    game = make_game(GAME)
    with pytest.raises(InvalidInputError, match="solver 'hedge' does not solve preference games"):
        solver_config("hedge", "preference", iterations=10)
    config = solver_config("nash_md", "preference", iterations=50)
    a, b = solve(game, config, 1), solve(game, config, 1)
    np.testing.assert_array_equal(a.last_strategies[0], b.last_strategies[0])
    assert solver_config("lp", "preference").algo == "preference_lp"
