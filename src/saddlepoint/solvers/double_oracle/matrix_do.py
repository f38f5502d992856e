"""Double oracle (McMahan, Gordon & Blum 2003) under one name on matrix games and on
extensive-form games.

:class:`DOConfig` (``do``) is one config for both kinds: :func:`DoubleOracle` runs
:class:`MatrixDoubleOracle` on a :class:`~saddlepoint.games.normal_form.NormalFormGame` and
exact PSRO (:class:`~saddlepoint.solvers.double_oracle.psro.PSRO`, normal-form DO over the
pure strategies) on an extensive-form game. ``double_oracle`` is the same method with the
tighter stopping tolerance it always had (:class:`DoubleOracleConfig`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from saddlepoint.errors import InvalidInputError
from saddlepoint.games.normal_form import NormalFormGame
from saddlepoint.method import CountsIterations, Trace
from saddlepoint.solvers.base import SolveResult
from saddlepoint.solvers.double_oracle.psro import PSRO, PSROConfig
from saddlepoint.solvers.lp import maximin_strategy

__all__ = ["DOConfig", "DoubleOracle", "DoubleOracleConfig", "MatrixDoubleOracle"]


@dataclass(frozen=True)
class DOConfig(PSROConfig):
    """Normal-form double oracle: on a zero-sum matrix game, LP-solve the game restricted to the
    strategies found so far and add both best responses; on an extensive-form game, the same
    loop over its pure strategies (exact PSRO with a Nash meta-solver). Stops when neither best
    response improves on the restricted game (NashConv <= ``tol``); then the restricted
    equilibrium is a full one. ``max_nodes`` applies to extensive-form games only."""

    algo: ClassVar[str] = "do"
    method: ClassVar[str] = "saddlepoint.solvers.double_oracle.matrix_do:DoubleOracle"


@dataclass(frozen=True)
class DoubleOracleConfig(DOConfig):
    """Double oracle under its long name, stopping at NashConv <= 1e-12 (its tolerance since
    it was a matrix-only solver)."""

    algo: ClassVar[str] = "double_oracle"
    tol: float = 1e-12
    """Stop when NashConv (in payoff units) is at most this."""


def DoubleOracle(game: Any, config: DOConfig, rng: Any = None) -> MatrixDoubleOracle | PSRO:  # noqa: N802
    """The double-oracle method for the kind of ``game``: matrix DO or exact PSRO."""
    if isinstance(game, NormalFormGame):
        return MatrixDoubleOracle(game, config, rng)
    return PSRO(game, config, rng)


class MatrixDoubleOracle(CountsIterations):
    """Double oracle on a zero-sum matrix game as a method (deterministic; ``rng`` unused).

    Starts from the first row and column; each ``step()`` LP-solves the restricted game, takes
    the NashConv of its equilibrium in the full game (the row: :meth:`metrics`) and adds the
    best responses to it (ties: lowest index); ``done`` once neither adds anything.
    """

    curve_per_step = True
    """Each step ends with the best responses that give its exploitability: a row each."""

    def __init__(self, game: NormalFormGame, config: DOConfig, rng: Any = None) -> None:
        if not game.is_zero_sum:
            raise InvalidInputError(f"double oracle needs a zero-sum game; {game.name!r} is general-sum")
        if config.max_nodes is not None:
            raise InvalidInputError("max_nodes applies to extensive-form games; a matrix game counts iterations only")
        self.game, self.config = game, config
        m, n = game.shape
        self.rows, self.columns = [0], [0]
        self._x, self._y = np.zeros(m), np.zeros(n)
        self._x[0], self._y[0] = 1.0, 1.0
        self._t = 0
        self.done = False
        self._row: dict[str, Any] = {}

    def output(self) -> tuple[np.ndarray, np.ndarray]:
        """The last restricted equilibrium, as full-game strategies (copies)."""
        return self._x.copy(), self._y.copy()

    def step(self) -> None:
        """Solve the restricted game, measure it, add the best responses."""
        a, rows, cols = self.game.row_payoffs, self.rows, self.columns
        self._t += 1
        sub = a[np.ix_(rows, cols)]
        p, _ = maximin_strategy(sub)
        q, _ = maximin_strategy(-sub.T)
        self._x, self._y = np.zeros(a.shape[0]), np.zeros(a.shape[1])
        self._x[rows], self._y[cols] = p, q
        ay, xa = a @ self._y, self._x @ a
        nc = float(ay.max() - xa.min())
        br_row, br_col = int(np.argmax(ay)), int(np.argmin(xa))
        self._row = {"exploitability": nc / 2, "nash_conv": nc, "restricted_actions": len(rows) + len(cols)}
        self.done = nc <= self.config.tol or (br_row in rows and br_col in cols)
        if not self.done:
            if br_row not in rows:
                rows.append(br_row)
            if br_col not in cols:
                cols.append(br_col)

    def metrics(self) -> dict[str, Any]:
        """The last step's row: ``exploitability``, ``nash_conv``, ``restricted_actions``."""
        return dict(self._row)

    def result(self, trace: Trace) -> SolveResult:
        a, x, y = self.game.row_payoffs, self._x, self._y
        nc = float((a @ y).max() - (x @ a).min())
        return SolveResult(self.game.name, self.config.algo, self._t, (x, y), nc / 2, nc, trace.seconds,
                           value=float(x @ a @ y), last_strategies=(x, y), last_exploitability=nc / 2,
                           last_nash_conv=nc, curve=trace.rows,
                           extra={"restricted_actions": len(self.rows) + len(self.columns),
                                  "rows": sorted(self.rows), "columns": sorted(self.columns)})
