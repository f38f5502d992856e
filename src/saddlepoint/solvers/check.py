"""A conformance check for solvers, the companion of :func:`saddlepoint.games.check.check_game`.

:func:`check_solver` runs a registered solver (through the same generic
:func:`~saddlepoint.solvers.base.solve` as ``saddlepoint solve``) twice with one seed and checks that the runs agree (determinism under a
seed), that the output is a valid strategy (non-negative; a distribution per information set,
per matrix player or per prompt) and that its exploitability is finite and non-negative.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from saddlepoint.errors import InvalidInputError

TOLERANCE = 1e-6


class SolverCheckError(InvalidInputError):
    """The solver breaks the contract; the message lists the problems found."""


def check_solver(game_spec: str, algo: str, *, iterations: int = 50, seed: int = 0) -> dict[str, Any]:
    """Check ``algo`` on the game ``game_spec``; return its summary, raise on any problem."""
    from saddlepoint.experiments.sweep import game_kind
    from saddlepoint.games import make_game
    from saddlepoint.solvers import base

    kind = game_kind(game_spec)
    game = make_game(game_spec)
    runs = [base.solve(game, base.solver_config(algo, kind, iterations=iterations), seed, show_progress=False)
            for _ in range(2)]
    problems = []
    a, b = runs
    if not all(np.array_equal(np.asarray(x), np.asarray(y)) for x, y in zip(a.strategies, b.strategies)):
        problems.append("two runs with the same seed returned different strategies")
    if [_untimed(r) for r in a.curve] != [_untimed(r) for r in b.curve]:
        problems.append("two runs with the same seed evaluated differently")
    problems += _strategy_problems(game, kind, a.strategies)
    if not (math.isfinite(a.exploitability) and a.exploitability >= -TOLERANCE):
        problems.append(f"exploitability must be finite and >= 0, got {a.exploitability}")
    if problems:
        raise SolverCheckError(f"{algo} on {game_spec} fails the solver check: " + "; ".join(problems))
    return a.summary(include_strategies=False)


def _untimed(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k != "seconds"}


def _strategy_problems(game: Any, kind: str, strategies: tuple[Any, ...]) -> list[str]:
    problems = []
    arrays = [np.asarray(s, dtype=float) for s in strategies]
    if any((s < -TOLERANCE).any() or not np.isfinite(s).all() for s in arrays):
        problems.append("strategies must be finite and non-negative")
    if kind == "efg":
        from saddlepoint.solvers.efg import as_compiled

        cg = as_compiled(game)
        for player, (plan, tp) in enumerate(zip(arrays, cg.players)):
            if plan.shape != (tp.num_sequences,):
                problems.append(f"player {player}'s strategy has shape {plan.shape}, not ({tp.num_sequences},)")
                continue
            sums = np.zeros(tp.num_infosets)
            np.add.at(sums, tp.seq_infoset[1:], plan[1:])
            if not np.allclose(sums, 1.0, atol=TOLERANCE):
                problems.append(f"player {player}'s behaviour strategy is not a distribution at every infoset")
    else:  # matrix: one distribution per player; preference: one per prompt (rows)
        for player, s in enumerate(arrays):
            if not np.allclose(s.sum(axis=-1), 1.0, atol=TOLERANCE):
                problems.append(f"player {player}'s strategy does not sum to 1")
    return problems
