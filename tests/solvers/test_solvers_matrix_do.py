"""Normal-form double oracle against the LP, one name (``do``) on matrix and extensive-form
games, and the CLI/registry entry points."""

import json
import subprocess
import sys

import numpy as np
import pytest

from saddlepoint.games import make_game
from saddlepoint.games.normal_form import random_zero_sum, zero_sum_game
from saddlepoint.solvers.base import solve, solver_config
from saddlepoint.solvers.double_oracle import DoubleOracleConfig
from saddlepoint.solvers.lp import solve_zero_sum


@pytest.mark.parametrize("seed", range(8))
def test_double_oracle_matches_lp_value(seed):
    rng = np.random.default_rng(seed)
    m, n = (int(v) for v in rng.integers(2, 40, size=2))
    game = random_zero_sum(m, n, seed)
    _, _, value = solve_zero_sum(game)
    res = solve(game, DoubleOracleConfig())
    assert res.value == pytest.approx(value, abs=1e-8)
    assert res.nash_conv < 1e-8
    assert res.extra["restricted_actions"] <= m + n


def test_double_oracle_keeps_the_support_small():
    # A dominant row and column: DO needs at most the first strategies plus the saddle point.
    a = np.full((50, 50), 0.5)
    a[7, :] = 1.0
    a[:, 3] = np.minimum(a[:, 3], 0.75)
    res = solve(zero_sum_game(a), DoubleOracleConfig())
    assert res.value == pytest.approx(0.75)
    assert res.extra["restricted_actions"] <= 4


def test_matrix_solve_reaches_double_oracle():
    res = solve(random_zero_sum(12, 9, 0), solver_config("double_oracle", "matrix", iterations=100))
    assert res.algo == "double_oracle" and res.nash_conv < 1e-8


@pytest.mark.parametrize("algo", ["do", "double_oracle"])
def test_one_name_solves_matrix_and_extensive_form_games(algo):
    matrix = solve(random_zero_sum(12, 9, 0), solver_config(algo, "matrix", iterations=100))
    _, _, value = solve_zero_sum(random_zero_sum(12, 9, 0))
    assert matrix.algo == algo and matrix.value == pytest.approx(value, abs=1e-8) and "rows" in matrix.extra
    efg = solve(make_game("kuhn_poker"), solver_config(algo, "efg", iterations=200))
    assert efg.value == pytest.approx(-1 / 18, abs=1e-9) and "population" in efg.extra
    with pytest.raises(Exception, match="max_nodes"):
        solve(random_zero_sum(3, 3, 0), solver_config(algo, "matrix", max_nodes=10))


def test_cli_do_on_a_matrix_game():
    out = subprocess.run([sys.executable, "-m", "saddlepoint", "solve", "rock_paper_scissors", "--algo", "do",
                          "--json"], capture_output=True, text=True, check=True)
    data = json.loads(out.stdout)
    assert data["algo"] == "do" and data["nash_conv"] < 1e-12 and data["value"] == 0.0


def test_efg_solve_reports_restricted_actions():
    from saddlepoint.games.zoo import kuhn_poker

    res = solve(kuhn_poker(), solver_config("xodo", "efg", iterations=500), 0)
    summary = res.summary(include_strategies=False)
    assert summary["algo"] == "xodo" and 0 < summary["restricted_actions"] <= 24


def test_cli_solve_json_has_restricted_actions():
    out = subprocess.run([sys.executable, "-m", "saddlepoint", "solve", "kuhn_poker", "--algo", "adado",
                          "--iterations", "300", "--json"], capture_output=True, text=True, check=True)
    data = json.loads(out.stdout)
    assert data["restricted_actions"] <= data["full_actions"] == 24
    assert data["curve"][-1]["nodes_visited"] == data["nodes_visited"]
