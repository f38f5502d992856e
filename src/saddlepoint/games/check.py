"""A conformance check anyone can run on their own game (as PettingZoo's ``api_test``).

:func:`check_game` walks an extensive-form game (every history while there are at most
``max_histories``, then random playthroughs) and checks what the compiler and the solvers rely
on: chance probabilities are positive and sum to 1, decision nodes have distinct legal actions,
terminal returns are zero-sum, information sets are consistent (same player, same legal actions)
and have perfect recall (the owner's own earlier (infoset, action) pairs agree), ``child`` never
changes its parent, and a random playthrough ends. A matrix game is checked for finite payoffs
(and zero sum where it claims it). Every problem found is listed in one error.
"""

from __future__ import annotations

import math
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from saddlepoint.errors import InvalidInputError

PROBABILITY_TOLERANCE = 1e-9
MAX_PROBLEMS_SHOWN = 5


class GameCheckError(InvalidInputError):
    """The game breaks the protocol; the message lists the problems found."""


@dataclass
class GameCheckReport:
    """What :func:`check_game` visited."""

    histories: int = 0
    terminals: int = 0
    infosets: tuple[int, int] = (0, 0)
    exhaustive: bool = True
    playthroughs: int = 0
    problems: list[str] = field(default_factory=list)


def check_game(game: Any, *, max_histories: int = 200_000, playthroughs: int = 100, max_depth: int = 10_000,
               rng: np.random.Generator | None = None) -> GameCheckReport:
    """Check ``game`` and return what was visited; raise :class:`GameCheckError` on any problem."""
    if hasattr(game, "row_payoffs"):
        return _check_matrix(game)
    if not hasattr(game, "new_initial_state"):
        raise InvalidInputError(f"{type(game).__name__} is neither a matrix game nor an extensive-form game "
                                "(no new_initial_state())")
    rng = rng or np.random.default_rng(0)
    report = GameCheckReport()
    walker = _Walker(report, max_depth)
    walker.exhaustive(game.new_initial_state(), max_histories)
    if not report.exhaustive:
        for _ in range(playthroughs):
            walker.playthrough(game.new_initial_state(), rng)
            report.playthroughs += 1
    report.infosets = (len(walker.infosets[0]), len(walker.infosets[1]))
    if report.problems:
        shown = "; ".join(report.problems[:MAX_PROBLEMS_SHOWN])
        more = f" (and {len(report.problems) - MAX_PROBLEMS_SHOWN} more)" if len(report.problems) > MAX_PROBLEMS_SHOWN else ""
        raise GameCheckError(f"{getattr(game, 'name', type(game).__name__)} fails the game check: {shown}{more}")
    return report


class _Walker:
    """Visits histories, remembering per player each infoset's player, actions and own past."""

    def __init__(self, report: GameCheckReport, max_depth: int) -> None:
        self.report = report
        self.max_depth = max_depth
        self.infosets: tuple[dict[Hashable, tuple], dict[Hashable, tuple]] = ({}, {})

    def problem(self, text: str) -> None:
        if text not in self.report.problems:
            self.report.problems.append(text)

    def exhaustive(self, root: Any, limit: int) -> None:
        stack = [(root, ((), ()), 0)]
        while stack:
            if self.report.histories >= limit:
                self.report.exhaustive = False
                return
            state, past, depth = stack.pop()
            for action, child_past in self.visit(state, past, depth):
                stack.append((state.child(action), child_past, depth + 1))

    def playthrough(self, state: Any, rng: np.random.Generator) -> None:
        past: tuple[tuple, tuple] = ((), ())
        for depth in range(self.max_depth + 1):
            moves = self.visit(state, past, depth)
            if not moves:
                return
            if state.is_chance_node():
                probs = np.array([p for _, p in state.chance_outcomes()], dtype=float)
                i = int(rng.choice(len(moves), p=probs / probs.sum()))
            else:
                i = int(rng.integers(len(moves)))
            action, past = moves[i]
            state = state.child(action)

    def visit(self, state: Any, past: tuple[tuple, tuple], depth: int) -> list[tuple[int, tuple[tuple, tuple]]]:
        """Check one history; return its (action, own-past after it) moves."""
        self.report.histories += 1
        if depth > self.max_depth:
            self.problem(f"a history is deeper than {self.max_depth} moves (does the game end?)")
            return []
        if state.is_terminal():
            self.report.terminals += 1
            returns = [float(r) for r in state.returns()]
            if len(returns) != 2 or not all(math.isfinite(r) for r in returns):
                self.problem(f"terminal returns must be two finite numbers, got {returns}")
            elif abs(returns[0] + returns[1]) > 1e-9 * max(1.0, abs(returns[0])):
                self.problem(f"terminal returns are not zero-sum: {returns}")
            return []
        if state.is_chance_node():
            outcomes = state.chance_outcomes()
            actions = [a for a, _ in outcomes]
            probs = [p for _, p in outcomes]
            if not outcomes:
                self.problem("a chance node has no outcomes")
            if any(not (p > 0) for p in probs):
                self.problem(f"chance probabilities must be positive, got {probs}")
            if abs(sum(probs) - 1.0) > PROBABILITY_TOLERANCE:
                self.problem(f"chance probabilities sum to {sum(probs):.12g}, not 1")
            if len(set(actions)) != len(actions):
                self.problem(f"a chance node repeats an outcome: {actions}")
            return [(a, past) for a in actions]
        player = state.current_player()
        if player not in (0, 1):
            self.problem(f"current_player() must be 0, 1, CHANCE or TERMINAL, got {player}")
            return []
        actions = list(state.legal_actions())
        if not actions:
            self.problem("a decision node has no legal actions")
        if len(set(actions)) != len(actions):
            self.problem(f"legal actions repeat: {actions}")
        key = state.information_state_key(player)
        seen = self.infosets[player].get(key)
        mine = (tuple(actions), past[player])
        if seen is None:
            self.infosets[player][key] = mine
        else:
            if seen[0] != mine[0]:
                self.problem(f"infoset {key!r} of player {player} has different legal actions in two histories: "
                             f"{list(seen[0])} and {actions}")
            if seen[1] != mine[1]:
                self.problem(f"infoset {key!r} of player {player} breaks perfect recall (the player's own earlier "
                             "choices differ between two of its histories)")
        if actions:
            state.child(actions[0])
            if state.information_state_key(player) != key:
                self.problem("child() changed its parent state (states must be immutable)")
                return []  # its subtree can no longer be trusted (and may never end)
        moves = []
        for a in actions:
            own = list(past)
            own[player] = past[player] + ((key, a),)
            moves.append((a, (own[0], own[1])))
        return moves


def _check_matrix(game: Any) -> GameCheckReport:
    problems = []
    a, b = np.asarray(game.row_payoffs, dtype=float), np.asarray(game.col_payoffs, dtype=float)
    if a.ndim != 2 or a.shape != b.shape or 0 in a.shape:
        problems.append(f"payoff matrices must be non-empty and of one 2-D shape, got {a.shape} and {b.shape}")
    elif not (np.isfinite(a).all() and np.isfinite(b).all()):
        problems.append("payoffs must be finite")
    elif getattr(game, "is_zero_sum", False) and not np.array_equal(b, -a):
        problems.append("the game says it is zero-sum but column payoffs are not minus row payoffs")
    if problems:
        raise GameCheckError(f"{getattr(game, 'name', 'matrix game')} fails the game check: " + "; ".join(problems))
    return GameCheckReport(histories=int(a.size), terminals=int(a.size), infosets=(1, 1))
