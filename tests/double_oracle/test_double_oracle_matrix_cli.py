"""Normal-form double oracle against the LP, and the CLI/registry entry points."""

import json
import subprocess
import sys

import numpy as np
import pytest

from saddlepoint.games.normal_form import random_zero_sum, zero_sum_game
from saddlepoint.solvers.double_oracle import DoubleOracleConfig, solve_matrix
from saddlepoint.solvers.efg import solve_by_name as efg_solve_by_name
from saddlepoint.solvers.lp import solve_zero_sum
from saddlepoint.solvers.matrix import solve_by_name as matrix_solve_by_name


@pytest.mark.parametrize("seed", range(8))
def test_double_oracle_matches_lp_value(seed):
    rng = np.random.default_rng(seed)
    m, n = (int(v) for v in rng.integers(2, 40, size=2))
    game = random_zero_sum(m, n, seed)
    _, _, value = solve_zero_sum(game)
    res = solve_matrix(game, DoubleOracleConfig())
    assert res.value == pytest.approx(value, abs=1e-8)
    assert res.nash_conv < 1e-8
    assert res.extra["restricted_actions"] <= m + n


def test_double_oracle_keeps_the_support_small():
    # A dominant row and column: DO needs at most the first strategies plus the saddle point.
    a = np.full((50, 50), 0.5)
    a[7, :] = 1.0
    a[:, 3] = np.minimum(a[:, 3], 0.75)
    res = solve_matrix(zero_sum_game(a), DoubleOracleConfig())
    assert res.value == pytest.approx(0.75)
    assert res.extra["restricted_actions"] <= 4


def test_matrix_backend_reaches_double_oracle():
    res = matrix_solve_by_name(random_zero_sum(12, 9, 0), "double_oracle", iterations=100)
    assert res.algo == "double_oracle" and res.nash_conv < 1e-8


def test_efg_backend_reports_restricted_actions():
    from saddlepoint.games.zoo import kuhn_poker

    res = efg_solve_by_name(kuhn_poker(), "xodo", iterations=500, seed=0)
    summary = res.summary(include_strategies=False)
    assert summary["algo"] == "xodo" and 0 < summary["restricted_actions"] <= 24


def test_cli_solve_json_has_restricted_actions():
    out = subprocess.run([sys.executable, "-m", "saddlepoint", "solve", "kuhn_poker", "--algo", "adado",
                          "--iterations", "300", "--json"], capture_output=True, text=True, check=True)
    data = json.loads(out.stdout)
    assert data["restricted_actions"] <= data["full_actions"] == 24
    assert data["curve"][-1]["nodes_visited"] == data["nodes_visited"]
