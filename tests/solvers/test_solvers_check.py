"""The public solver conformance check: every registered solver passes on a small game of its
kind, and a solver that is not deterministic or returns an invalid strategy fails."""

from __future__ import annotations

import numpy as np
import pytest

from saddlepoint.registry import SOLVERS
from saddlepoint.solvers import check as solver_check
from saddlepoint.solvers.check import SolverCheckError, check_solver

GAME_OF_KIND = {"matrix": "biased_rps", "efg": "kuhn_poker", "preference": "random_preference(n_responses=4,seed=0)"}


@pytest.mark.parametrize("algo", sorted(n for n, e in SOLVERS.items() if e.target))
def test_every_registered_solver_passes(algo):
    for kind in SOLVERS[algo].kind.split(","):
        summary = check_solver(GAME_OF_KIND[kind], algo, iterations=30, seed=3)
        assert np.isfinite(summary["exploitability"])


def test_an_invalid_strategy_fails():
    problems = solver_check._strategy_problems(None, "matrix", (np.array([0.5, 0.6]), np.array([1.0])))
    assert problems == ["player 0's strategy does not sum to 1"]
    from saddlepoint.games import make_game

    kuhn = make_game("kuhn_poker")
    bad = np.ones(13)
    assert "not a distribution at every infoset" in " ".join(solver_check._strategy_problems(kuhn, "efg", (bad, bad)))


def test_a_nondeterministic_solver_fails(monkeypatch):
    import dataclasses

    from saddlepoint.solvers import base

    real = base.solve
    calls = {"n": 0}

    def drifting(game, config, rng, **kw):
        calls["n"] += 1  # drifts between calls
        return real(game, dataclasses.replace(config, iterations=config.iterations + calls["n"]), rng, **kw)

    monkeypatch.setattr(base, "solve", drifting)
    with pytest.raises(SolverCheckError, match="same seed returned different strategies"):
        check_solver("random_zero_sum(m=4,n=4,seed=0)", "fictitious_play", iterations=20)
