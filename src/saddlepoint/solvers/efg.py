"""One call to solve an extensive-form game with any of saddlepoint's EFG solvers.

:func:`solve` compiles the game (cached), runs the solver for ``config.iterations`` with a
progress bar, evaluates the average strategies' exploitability (NashConv / 2) and NashConv on a
schedule, and returns a :class:`~saddlepoint.solvers.base.SolveResult` whose ``strategies`` are
the two behaviour strategies (one probability per sequence, see
:mod:`saddlepoint.solvers.efg_best_response`), whose ``curve`` rows hold ``iteration``,
``nodes_visited``, ``exploitability``, ``nash_conv`` and ``seconds`` (solver time, evaluations
excluded) and whose ``extra`` holds ``nodes_visited`` and the game's sizes.
:func:`solve_by_name` is the CLI's backend (``registry.SOLVE_BACKENDS["efg"]``).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from saddlepoint.config import check_positive_int
from saddlepoint.errors import InvalidInputError
from saddlepoint.games.extensive_form import CompiledGame, compile_game
from saddlepoint.rng import make_rng
from saddlepoint.solvers import double_oracle
from saddlepoint.solvers.base import SolveResult, run_with_evaluations, solve_registered
from saddlepoint.solvers.cfr import CFRConfig, CFRPlusConfig, CFRSolver, DCFRConfig, LinearCFRConfig
from saddlepoint.solvers.efg_best_response import game_value, nash_conv, realization_plan
from saddlepoint.solvers.mccfr import ExternalSamplingConfig, OutcomeSamplingConfig, make_mccfr
from saddlepoint.solvers.sequence_form_lp import SequenceFormLPConfig, solve_sequence_form_lp

__all__ = ["CONFIGS", "as_compiled", "solve", "solve_by_name"]

CONFIGS: dict[str, type] = {
    cls.algo: cls for cls in (CFRConfig, CFRPlusConfig, LinearCFRConfig, DCFRConfig,
                              ExternalSamplingConfig, OutcomeSamplingConfig, SequenceFormLPConfig,
                              *double_oracle.EFG_CONFIGS)
}
"""Config class of every EFG solver, by algorithm name."""

_ALIASES = {"lp": "sequence_form_lp"}


def as_compiled(game: Any) -> CompiledGame:
    """``game`` itself if already compiled, else :func:`compile_game` of it (cached)."""
    return game if isinstance(game, CompiledGame) else compile_game(game)


def solve(
    game: Any,
    config: Any,
    rng: np.random.Generator | int | None = None,
    *,
    eval_every: int | None = None,
    show_progress: bool | None = None,
) -> SolveResult:
    """Run ``config``'s solver on ``game`` (a zoo/OpenSpiel game or a :class:`CompiledGame`).

    ``eval_every`` evaluates every that many iterations (None: ~50 log-spaced points); the
    last iteration is always evaluated. Same ``rng`` seed, same result.
    """
    if eval_every is not None:
        check_positive_int("eval_every", eval_every)
    cg = as_compiled(game)
    if isinstance(config, double_oracle.EFG_CONFIGS):
        return double_oracle.solve(cg, config, rng, eval_every=eval_every, show_progress=show_progress)
    sizes = {"histories": cg.num_histories, "infosets": sum(cg.num_infosets)}
    start = time.perf_counter()
    if isinstance(config, SequenceFormLPConfig):
        behaviour, value = solve_sequence_form_lp(cg)
        x, y = realization_plan(cg, 0, behaviour[0]), realization_plan(cg, 1, behaviour[1])
        nc = nash_conv(cg, x, y)
        seconds = time.perf_counter() - start
        row = {"iteration": 1, "nodes_visited": 0, "exploitability": nc / 2, "nash_conv": nc, "seconds": seconds}
        return SolveResult(cg.name, config.algo, 1, behaviour, nc / 2, nc, seconds, value=value,
                           curve=(row,), extra={"nodes_visited": 0, **sizes})
    if isinstance(config, CFRConfig):
        solver: Any = CFRSolver(cg, config)
    elif isinstance(config, (ExternalSamplingConfig, OutcomeSamplingConfig)):
        solver = make_mccfr(cg, config, make_rng(rng))
    else:
        raise InvalidInputError(f"not an extensive-form solver config: {type(config).__name__}")

    def evaluate() -> dict[str, Any]:
        nc = solver.nash_conv()
        return {"nodes_visited": solver.nodes_visited, "exploitability": nc / 2, "nash_conv": nc}

    curve = run_with_evaluations(solver, config.iterations, eval_every, evaluate, desc=config.algo,
                                 show_progress=show_progress)
    x, y = solver.average_plans()
    nc = nash_conv(cg, x, y)
    return SolveResult(
        cg.name, config.algo, config.iterations, solver.average_behaviour(), nc / 2, nc,
        time.perf_counter() - start, value=game_value(cg, x, y), curve=tuple(curve),
        extra={"nodes_visited": solver.nodes_visited, **sizes},
    )


def solve_by_name(
    game: Any,
    algo: str,
    *,
    iterations: int,
    seed: int = 0,
    eval_every: int | None = None,
    show_progress: bool | None = None,
) -> SolveResult:
    """The CLI's entry point: ``algo`` is an EFG solver name from the registry (``lp`` means
    ``sequence_form_lp`` here); runs it for ``iterations`` with generator seed ``seed``."""
    return solve_registered(game, algo, kind="efg", label="extensive-form", solve=solve, iterations=iterations,
                            seed=seed, eval_every=eval_every, show_progress=show_progress, aliases=_ALIASES)
