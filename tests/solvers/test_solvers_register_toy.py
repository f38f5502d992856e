"""docs/contributing.md's recipe for a solver, followed to the letter: a toy solver in one file
(this one) plus its registry line is reachable by ``saddlepoint solve``, the generic ``solve``
and ``check_solver``."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pytest

from saddlepoint import cli, registry
from saddlepoint.config import check_choice, check_positive, check_positive_int
from saddlepoint.errors import InvalidInputError
from saddlepoint.games import make_game
from saddlepoint.solvers.base import solve, solver_config
from saddlepoint.solvers.check import check_solver
from saddlepoint.solvers.matrix import MatrixDynamics


# ---------------------------------------------------------------------- the one-file solver
@dataclass(frozen=True)
class DampedBestResponseConfig:
    """Damped best responses: each player moves a fraction ``mix`` of the way to its best
    response to the other's current strategy; the average is uniform over iterations."""

    algo: ClassVar[str] = "toy_damped_br"
    method: ClassVar[str] = f"{__name__}:DampedBestResponse"
    iterations: int = 1000
    """Number of iterations T."""
    init: str = "uniform"
    """Initial strategies: ``uniform`` or ``random`` (Dirichlet(1) draws from the generator)."""
    mix: float = 0.1
    """Fraction of the way to the best response taken each iteration, in (0, 1]."""

    def __post_init__(self) -> None:
        check_positive_int("iterations", self.iterations, allow_zero=True)
        check_choice("init", self.init, ("uniform", "random"))
        check_positive("mix", self.mix)
        if self.mix > 1:
            raise InvalidInputError(f"mix must be in (0, 1], got {self.mix!r}")


class DampedBestResponse(MatrixDynamics):
    """The method: only the update is new (``MatrixDynamics`` brings the rest)."""

    def _update(self) -> tuple[np.ndarray, np.ndarray]:
        x, y, a = self._x, self._y, self.config.mix
        bx, by = np.zeros_like(x), np.zeros_like(y)
        bx[np.argmax(self._a @ y)] = 1.0
        by[np.argmax(self._bt @ x)] = 1.0
        self._x, self._y = (1 - a) * x + a * bx, (1 - a) * y + a * by
        return x, y


# ---------------------------------------------------------------------- its registry line
@pytest.fixture
def registered(monkeypatch):
    entry = registry.Entry(f"{__name__}:DampedBestResponseConfig", "matrix", "works", "Damped best responses (toy)")
    monkeypatch.setitem(registry.SOLVERS, "toy_damped_br", entry)


def test_generic_solve_and_solver_check_accept_it(registered):
    config = solver_config("toy_damped_br", "matrix", iterations=400)
    assert config == DampedBestResponseConfig(iterations=400)
    res = solve(make_game("biased_rps"), config, 0, eval_every=100)
    assert res.algo == "toy_damped_br" and [row["iteration"] for row in res.curve] == [100, 200, 300, 400]
    assert res.exploitability < solve(make_game("biased_rps"), DampedBestResponseConfig(iterations=1), 0).exploitability
    summary = check_solver("biased_rps", "toy_damped_br", iterations=50, seed=1)
    assert np.isfinite(summary["exploitability"])
    with pytest.raises(InvalidInputError, match="does not solve efg games"):
        solver_config("toy_damped_br", "efg")


def test_cli_solves_with_it(registered, capsys):
    assert cli.main(["solve", "rock_paper_scissors", "--algo", "toy_damped_br", "--iterations", "200",
                     "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["algo"] == "toy_damped_br" and out["iterations"] == 200 and out["nash_conv"] < 1.0


def test_unregistered_it_is_unknown(capsys):
    assert cli.main(["solve", "rock_paper_scissors", "--algo", "toy_damped_br"]) == 2
    assert "unknown solver 'toy_damped_br'" in capsys.readouterr().err
