"""Exact equilibrium of a small two-player zero-sum extensive-form game: the sequence-form
linear program (von Stengel 1996; Koller, Megiddo & von Stengel 1996), solved by HiGHS.

Player 0 solves ``max_{x, v} f^T v`` s.t. ``E x = e``, ``x >= 0``, ``F^T v <= A^T x``: the inner
minimisation over player 1's realization plans ``F y = f, y >= 0`` replaced by its dual. Player 1
solves the mirror program. ``E``/``F`` hold one row for the root (``x[0] = 1``) and one per
infoset (``Σ_a x[Ia] = x[parent(I)]``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp
from scipy.optimize import linprog

from saddlepoint.errors import SaddlepointError
from saddlepoint.games.extensive_form import CompiledGame
from saddlepoint.solvers.efg import EFGMethod, as_compiled
from saddlepoint.solvers.efg_best_response import behaviour_from_weights, realization_plan

__all__ = ["SequenceFormLP", "SequenceFormLPConfig", "constraint_matrix", "solve_sequence_form_lp"]


@dataclass(frozen=True)
class SequenceFormLPConfig:
    """Exact equilibrium by the sequence-form LP (HiGHS dual simplex). No settings."""

    algo: ClassVar[str] = "sequence_form_lp"
    method: ClassVar[str] = "saddlepoint.solvers.sequence_form_lp:SequenceFormLP"


class SequenceFormLP(EFGMethod):
    """The sequence-form LP as a one-step method (no nodes visited); before its step the
    output is uniform play."""

    def __init__(self, game: Any, config: SequenceFormLPConfig, rng: Any = None) -> None:
        self.cg, self.config = as_compiled(game), config
        self.iteration, self.nodes_visited = 0, 0
        self._behaviour = (self.cg.players[0].uniform(), self.cg.players[1].uniform())
        self._game_value: float | None = None

    def step(self) -> None:
        """Solve the LP (once)."""
        self._behaviour, self._game_value = solve_sequence_form_lp(self.cg)
        self.iteration += 1

    def average_behaviour(self) -> tuple[np.ndarray, np.ndarray]:
        return self._behaviour[0].copy(), self._behaviour[1].copy()

    def average_plans(self) -> tuple[np.ndarray, np.ndarray]:
        return realization_plan(self.cg, 0, self._behaviour[0]), realization_plan(self.cg, 1, self._behaviour[1])

    def _solution_value(self, x: np.ndarray, y: np.ndarray) -> float:
        return super()._solution_value(x, y) if self._game_value is None else self._game_value


def constraint_matrix(cg: CompiledGame, player: int) -> sp.csr_matrix:
    """``E`` of shape ``(1 + n, m)``: row 0 is ``x[0]``, row ``1 + I`` is
    ``Σ_{a ∈ A(I)} x[Ia] - x[parent(I)]``; ``E x = e_0`` characterises realization plans."""
    tp = cg.players[player]
    n, m = tp.num_infosets, tp.num_sequences
    seqs = np.arange(1, m)
    rows = np.concatenate(([0], 1 + tp.seq_infoset[1:], 1 + np.arange(n)))
    cols = np.concatenate(([0], seqs, tp.infoset_parent_seq))
    vals = np.concatenate(([1.0], np.ones(m - 1), -np.ones(n)))
    return sp.csr_matrix((vals, (rows, cols)), shape=(1 + n, m))


def _solve_side(cg: CompiledGame, player: int) -> tuple[np.ndarray, float]:
    """Optimal realization plan of ``player`` and the value it guarantees (player 0's payoff)."""
    own, opp = constraint_matrix(cg, player), constraint_matrix(cg, 1 - player)
    # Player p maximises min_y (sign * x^T A y): payoff seen from p is M = A (p=0) or -A^T (p=1).
    m_mat = cg.payoff if player == 0 else -cg.payoff_t
    m_own, n_opp_rows = own.shape[1], opp.shape[0]
    c = np.concatenate((np.zeros(m_own), -np.eye(1, n_opp_rows).ravel()))
    a_ub = sp.hstack([-m_mat.T, opp.T], format="csr")
    a_eq = sp.hstack([own, sp.csr_matrix((own.shape[0], n_opp_rows))], format="csr")
    b_eq = np.eye(1, own.shape[0]).ravel()
    bounds = [(0, None)] * m_own + [(None, None)] * n_opp_rows
    res = linprog(c, A_ub=a_ub, b_ub=np.zeros(a_ub.shape[0]), A_eq=a_eq, b_eq=b_eq, bounds=bounds,
                  method="highs-ds", options={"primal_feasibility_tolerance": 1e-10,
                                              "dual_feasibility_tolerance": 1e-10})
    if res.status != 0:
        raise SaddlepointError(f"sequence-form LP for player {player} failed: {res.message}")
    value = -float(res.fun)
    return np.maximum(res.x[:m_own], 0.0), (value if player == 0 else -value)


def solve_sequence_form_lp(cg: CompiledGame) -> tuple[tuple[np.ndarray, np.ndarray], float]:
    """Equilibrium behaviour strategies (one ``(m_p,)`` array per player; never-reached infosets
    uniform) and the game value for player 0."""
    x, value = _solve_side(cg, 0)
    y, _ = _solve_side(cg, 1)
    return (behaviour_from_weights(cg, 0, x), behaviour_from_weights(cg, 1, y)), value

