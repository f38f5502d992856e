"""Solvers for two-player normal-form games.

Every method is a small class following :mod:`saddlepoint.method`'s protocol (built as
``Method(game, config, rng)`` with an explicit :meth:`MatrixDynamics.step`, read-only
accessors for the last and the average iterate) named by its config's ``method`` class
variable. Use :func:`~saddlepoint.solvers.base.solve` for one call that returns a
:class:`~saddlepoint.solvers.base.SolveResult`, or :func:`saddlepoint.method.make_method` and
``step()`` / ``snapshot()`` to watch the iterates one step at a time. All methods work on
general-sum games (each player follows its own payoffs); the LP needs a zero-sum game.

Payoff gradients: the row player sees ``u_x = A y`` and the column player ``u_y = B^T x``.
Step sizes are given relative to the game's payoff range, so they do not depend on its scale.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from saddlepoint.config import check_choice, check_positive, check_positive_int
from saddlepoint.errors import InvalidInputError
from saddlepoint.games.normal_form import NormalFormGame
from saddlepoint.method import CountsIterations, Trace
from saddlepoint.solvers.base import SolveResult, solve
from saddlepoint.solvers.exploitability import _nash_conv_unchecked
from saddlepoint.solvers.lp import solve_zero_sum

__all__ = [
    "LPConfig", "RegretMatchingConfig", "RegretMatchingPlusConfig", "HedgeConfig",
    "OptimisticHedgeConfig", "ExtragradientConfig", "FictitiousPlayConfig", "MatrixDynamics",
    "Iterate", "LinearProgram", "RegretMatching", "RegretMatchingPlus", "Hedge", "OptimisticHedge",
    "Extragradient", "FictitiousPlay", "solve", "regret_matching_strategy",
]


# --------------------------------------------------------------------------- pure updates
def regret_matching_strategy(cum_regret: np.ndarray) -> np.ndarray:
    """Strategy proportional to positive cumulative regret; uniform when none is positive.

    Shape ``(k,)`` -> ``(k,)``. (Hart & Mas-Colell 2000, eq. 2.1.)
    """
    pos = np.maximum(cum_regret, 0.0)
    total = pos.sum()
    return pos / total if total > 0 else np.full(cum_regret.shape, 1.0 / cum_regret.size)


def softmax(logits: np.ndarray) -> np.ndarray:
    """Numerically stable softmax of a 1-D array."""
    z = np.exp(logits - logits.max())
    return z / z.sum()


# --------------------------------------------------------------------------- configs
@dataclass(frozen=True)
class _IterativeConfig:
    """Fields shared by every iterative solver."""

    iterations: int = 1000
    """Number of iterations T."""
    init: str = "uniform"
    """Initial strategies: ``uniform``, or ``random`` (Dirichlet(1) draws from the generator)."""

    def __post_init__(self) -> None:
        check_positive_int("iterations", self.iterations, allow_zero=True)
        check_choice("init", self.init, ("uniform", "random"))


@dataclass(frozen=True)
class _StepSizeConfig(_IterativeConfig):
    step_size: float = 0.1
    """Learning rate eta, in units of 1 / payoff range."""
    schedule: str = "constant"
    """``constant`` (eta) or ``sqrt`` (eta / sqrt(t)), the no-regret schedule for averages."""

    def __post_init__(self) -> None:
        super().__post_init__()
        check_positive("step_size", self.step_size)
        check_choice("schedule", self.schedule, ("constant", "sqrt"))


@dataclass(frozen=True)
class LPConfig:
    """Exact solution of a zero-sum game by linear programming (HiGHS). No settings."""

    algo: ClassVar[str] = "lp"
    method: ClassVar[str] = "saddlepoint.solvers.matrix:LinearProgram"


@dataclass(frozen=True)
class RegretMatchingConfig(_IterativeConfig):
    """Regret matching: simultaneous updates, uniform average of the played strategies."""

    algo: ClassVar[str] = "regret_matching"
    method: ClassVar[str] = "saddlepoint.solvers.matrix:RegretMatching"


@dataclass(frozen=True)
class RegretMatchingPlusConfig(_IterativeConfig):
    """Regret matching+ (Tammelin 2014): regrets floored at zero, alternating updates,
    linearly weighted average (iteration t has weight t)."""

    algo: ClassVar[str] = "regret_matching_plus"
    method: ClassVar[str] = "saddlepoint.solvers.matrix:RegretMatchingPlus"


@dataclass(frozen=True)
class HedgeConfig(_StepSizeConfig):
    """Multiplicative weights / Hedge; the average converges, the last iterate cycles."""

    algo: ClassVar[str] = "hedge"
    method: ClassVar[str] = "saddlepoint.solvers.matrix:Hedge"
    step_size: float = 1.0
    """Learning rate eta, in units of 1 / payoff range."""
    schedule: str = "constant"
    """``constant`` (default; measured faster on random 10x10 games) or ``sqrt`` (eta / sqrt(t),
    the anytime no-regret schedule). Either way the average converges at about O(1/sqrt(T))."""


@dataclass(frozen=True)
class OptimisticHedgeConfig(_StepSizeConfig):
    """Optimistic multiplicative weights (Daskalakis & Panageas 2019): the gradient step uses
    ``2 u_t - u_{t-1}``; the last iterate converges in zero-sum games."""

    algo: ClassVar[str] = "optimistic_hedge"
    method: ClassVar[str] = "saddlepoint.solvers.matrix:OptimisticHedge"
    step_size: float = 0.5
    """Learning rate eta, in units of 1 / payoff range (1.0 is unstable on rock-paper-scissors)."""


@dataclass(frozen=True)
class ExtragradientConfig(_StepSizeConfig):
    """Extragradient / mirror prox with the entropic mirror map (Nemirovski 2004): an
    extrapolation step, then the update with the gradient at the extrapolated point. The
    average of the extrapolated points converges at O(1/T); the last iterate converges too."""

    algo: ClassVar[str] = "extragradient"
    method: ClassVar[str] = "saddlepoint.solvers.matrix:Extragradient"
    step_size: float = 1.0
    """Learning rate eta, in units of 1 / payoff range."""


@dataclass(frozen=True)
class FictitiousPlayConfig(_IterativeConfig):
    """Fictitious play (Brown 1951): both players best-respond to the other's empirical
    average, simultaneously; ties go to the lowest action index."""

    algo: ClassVar[str] = "fictitious_play"
    method: ClassVar[str] = "saddlepoint.solvers.matrix:FictitiousPlay"


# --------------------------------------------------------------------------- dynamics
@dataclass(frozen=True)
class Iterate:
    """A snapshot: the iteration, the last iterate and the average iterate (copies)."""

    iteration: int
    last: tuple[np.ndarray, np.ndarray]
    average: tuple[np.ndarray, np.ndarray]


class MatrixDynamics(CountsIterations):
    """Base class: keeps the current strategies and the (weighted) running average.

    Subclasses implement :meth:`_update`, which advances the current strategies and returns
    the pair of strategies that enters the average this iteration.
    """

    linear_averaging: bool = False

    def __init__(self, game: NormalFormGame, config: _IterativeConfig, rng: np.random.Generator) -> None:
        if not isinstance(game, NormalFormGame):
            raise InvalidInputError(f"expected a NormalFormGame, got {type(game).__name__}")
        self.game = game
        self.config = config
        m, n = game.shape
        if config.init == "random":
            self._x, self._y = rng.dirichlet(np.ones(m)), rng.dirichlet(np.ones(n))
        else:
            self._x, self._y = np.full(m, 1.0 / m), np.full(n, 1.0 / n)
        self._a = game.row_payoffs
        self._bt = game.col_payoffs.T
        self._t = 0
        self._sum_x = np.zeros(m)
        self._sum_y = np.zeros(n)
        self._weight = 0.0

    def output(self) -> tuple[np.ndarray, np.ndarray]:
        """The average strategies (copies)."""
        x, y = self.average()
        return x.copy(), y.copy()

    def metrics(self) -> dict[str, float]:
        """NashConv and exploitability of the average and of the last iterate."""
        nc_avg, nc_last = _nash_conv_unchecked(self.game, *self.average()), _nash_conv_unchecked(self.game, self._x, self._y)
        return {"nash_conv": nc_avg, "exploitability": nc_avg / 2, "last_nash_conv": nc_last,
                "last_exploitability": nc_last / 2}

    def result(self, trace: Trace) -> SolveResult:
        """The average strategies, their and the last iterate's exploitability, the curve."""
        game = self.game
        x, y = self.average()
        lx, ly = self.last()
        nc, nc_last = _nash_conv_unchecked(game, x, y), _nash_conv_unchecked(game, lx, ly)
        return SolveResult(game.name, self.config.algo, self._t, (x, y), nc / 2, nc, trace.seconds,
                           value=_value(game, x, y), last_strategies=(lx, ly), last_exploitability=nc_last / 2,
                           last_nash_conv=nc_last, curve=trace.rows)

    def step(self) -> None:
        """Advance one iteration."""
        self._t += 1
        px, py = self._update()
        w = float(self._t) if self.linear_averaging else 1.0
        self._sum_x += w * px
        self._sum_y += w * py
        self._weight += w

    def advance(self, max_steps: int) -> int:
        """Advance by at least one and at most ``max_steps`` iterations; return how many.
        Methods with a closed form for several steps (fictitious play) take more than one."""
        self.step()
        return 1

    def _update(self) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def last(self) -> tuple[np.ndarray, np.ndarray]:
        """The current strategies (copies)."""
        return self._x.copy(), self._y.copy()

    def average(self) -> tuple[np.ndarray, np.ndarray]:
        """The weighted average of the averaged strategies so far (the current ones before
        the first step)."""
        if self._weight == 0:
            return self.last()
        return self._sum_x / self._weight, self._sum_y / self._weight

    def snapshot(self) -> Iterate:
        return Iterate(self._t, self.last(), self.average())


class RegretMatching(MatrixDynamics):
    def __init__(self, game, config, rng) -> None:
        super().__init__(game, config, rng)
        self._rx = np.zeros(game.shape[0])
        self._ry = np.zeros(game.shape[1])

    def _update(self):
        x, y = self._x, self._y
        ux, uy = self._a @ y, self._bt @ x
        self._rx += ux - x @ ux
        self._ry += uy - y @ uy
        self._x, self._y = regret_matching_strategy(self._rx), regret_matching_strategy(self._ry)
        return x, y


class RegretMatchingPlus(RegretMatching):
    linear_averaging = True

    def _update(self):
        ux = self._a @ self._y
        self._rx = np.maximum(self._rx + ux - self._x @ ux, 0.0)
        self._x = regret_matching_strategy(self._rx)
        uy = self._bt @ self._x
        self._ry = np.maximum(self._ry + uy - self._y @ uy, 0.0)
        self._y = regret_matching_strategy(self._ry)
        return self._x, self._y


class _StepSizeDynamics(MatrixDynamics):
    def __init__(self, game, config, rng) -> None:
        super().__init__(game, config, rng)
        self._lx = np.log(np.maximum(self._x, 1e-300))
        self._ly = np.log(np.maximum(self._y, 1e-300))

    def _eta(self) -> float:
        eta = self.config.step_size / self.game.payoff_range
        return eta / np.sqrt(self._t) if self.config.schedule == "sqrt" else eta

    def _set_logits(self, lx: np.ndarray, ly: np.ndarray) -> None:
        self._lx, self._ly = lx - lx.max(), ly - ly.max()
        self._x, self._y = softmax(self._lx), softmax(self._ly)


class Hedge(_StepSizeDynamics):
    """Hedge needs ~10^6 steps for a 1e-3 average, so :meth:`advance` runs a tight loop
    (about 2x faster than stepping through the generic bookkeeping)."""

    def step(self) -> None:
        self.advance(1)

    def advance(self, max_steps: int) -> int:
        a, bt, sx, sy = self._a, self._bt, self._sum_x, self._sum_y
        x, y, lx, ly, t = self._x, self._y, self._lx, self._ly, self._t
        eta0 = self.config.step_size / self.game.payoff_range
        decay = self.config.schedule == "sqrt"
        for _ in range(max_steps):
            t += 1
            eta = eta0 / np.sqrt(t) if decay else eta0
            sx += x
            sy += y
            lx = lx + eta * (a @ y)
            ly = ly + eta * (bt @ x)
            lx -= lx.max()
            ly -= ly.max()
            x = np.exp(lx)
            x /= x.sum()
            y = np.exp(ly)
            y /= y.sum()
        self._x, self._y, self._lx, self._ly, self._t = x, y, lx, ly, t
        self._weight += max_steps
        return max_steps


class OptimisticHedge(_StepSizeDynamics):
    def __init__(self, game, config, rng) -> None:
        super().__init__(game, config, rng)
        self._prev: tuple[np.ndarray, np.ndarray] | None = None

    def _update(self):
        x, y, eta = self._x, self._y, self._eta()
        ux, uy = self._a @ y, self._bt @ x
        px, py = self._prev if self._prev is not None else (ux, uy)
        self._prev = (ux, uy)
        self._set_logits(self._lx + eta * (2 * ux - px), self._ly + eta * (2 * uy - py))
        return x, y


class Extragradient(_StepSizeDynamics):
    def _update(self):
        eta = self._eta()
        xh = softmax(self._lx + eta * (self._a @ self._y))
        yh = softmax(self._ly + eta * (self._bt @ self._x))
        self._set_logits(self._lx + eta * (self._a @ yh), self._ly + eta * (self._bt @ xh))
        return xh, yh


class FictitiousPlay(MatrixDynamics):
    """Fictitious play. Best responses stay fixed for long phases, so :meth:`advance` plays a
    whole phase at once: the cumulative payoffs move linearly, and the step at which another
    action overtakes the current best response has a closed form. Same iterates as stepping
    one at a time (up to rounding at exact ties), at a cost per phase instead of per step."""

    def __init__(self, game, config, rng) -> None:
        super().__init__(game, config, rng)
        self._cum_row = np.zeros(game.shape[0])  # A @ (sum of the column's plays)
        self._cum_col = np.zeros(game.shape[1])  # B^T @ (sum of the row's plays)

    def step(self) -> None:
        self.advance(1)

    def advance(self, max_steps: int) -> int:
        x, y = self._x, self._y
        k = 1
        if self._t > 0 and max_steps > 1:  # after the first step both strategies are pure
            i, j = int(np.argmax(x)), int(np.argmax(y))
            k = min(max_steps, _phase_length(self._cum_row, self._a[:, j], i),
                    _phase_length(self._cum_col, self._bt[:, i], j))
        self._t += k
        self._sum_x += k * x
        self._sum_y += k * y
        self._weight += k
        self._cum_row += k * (self._a @ y)
        self._cum_col += k * (self._bt @ x)
        self._x = np.zeros_like(x)
        self._x[np.argmax(self._cum_row)] = 1.0
        self._y = np.zeros_like(y)
        self._y[np.argmax(self._cum_col)] = 1.0
        return k


def _phase_length(cum: np.ndarray, slope: np.ndarray, best: int) -> int:
    """Steps ``s >= 1`` until ``argmax(cum + s * slope)`` (lowest index on ties) leaves ``best``.

    ``cum[best]`` is the maximum now. Action ``a`` overtakes when ``cum[best] - cum[a]`` falls
    to 0 (``a < best``, which wins ties) or below 0 (``a > best``).
    """
    gap = cum[best] - cum
    rate = slope - slope[best]
    rising = rate > 0
    if not rising.any():
        return np.iinfo(np.int64).max
    ratio = gap[rising] / rate[rising]
    lower = np.flatnonzero(rising) < best
    steps = np.where(lower, np.ceil(ratio), np.floor(ratio) + 1.0)
    return max(1, int(min(steps.min(), 2**62)))


def _value(game: NormalFormGame, x: np.ndarray, y: np.ndarray) -> float | None:
    return float(x @ game.row_payoffs @ y) if game.is_zero_sum else None


class LinearProgram(CountsIterations):
    """The exact LP as a one-step method: ``step()`` solves the game (zero-sum only)."""

    def __init__(self, game: NormalFormGame, config: LPConfig, rng: Any = None) -> None:
        if not isinstance(game, NormalFormGame):
            raise InvalidInputError(f"expected a NormalFormGame, got {type(game).__name__}")
        if not game.is_zero_sum:
            raise InvalidInputError(f"the LP solver needs a zero-sum game; {game.name!r} is general-sum")
        self.game, self.config = game, config
        m, n = game.shape
        self._solution: tuple[np.ndarray, np.ndarray, float] = (np.full(m, 1.0 / m), np.full(n, 1.0 / n), 0.0)
        self._t = 0

    def step(self) -> None:
        """Solve the LP (once)."""
        self._solution = solve_zero_sum(self.game)
        self._t += 1

    def output(self) -> tuple[np.ndarray, np.ndarray]:
        x, y, _ = self._solution
        return x.copy(), y.copy()

    def metrics(self) -> dict[str, float]:
        nc = _nash_conv_unchecked(self.game, *self._solution[:2])
        return {"nash_conv": nc, "exploitability": nc / 2, "last_nash_conv": nc, "last_exploitability": nc / 2}

    def result(self, trace: Trace) -> SolveResult:
        """The LP's equilibrium and value (no curve: one exact step)."""
        x, y, value = self._solution
        nc = _nash_conv_unchecked(self.game, x, y)
        return SolveResult(self.game.name, self.config.algo, 1, (x, y), nc / 2, nc, trace.seconds, value=value,
                           last_strategies=(x, y), last_exploitability=nc / 2, last_nash_conv=nc)
