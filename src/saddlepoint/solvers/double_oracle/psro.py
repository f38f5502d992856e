"""PSRO (Lanctot et al. 2017) with an exact meta-game over an extensive-form game's pure
strategies and an LP Nash meta-solver (= normal-form double oracle on the EFG).

Nodes visited: the best responses' memoised-traversal counts plus the meta-game entries
(histories consistent with both pure strategies of an entry).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from saddlepoint.config import check_positive, check_positive_int
from saddlepoint.games.extensive_form import CompiledGame
from saddlepoint.solvers.double_oracle.restricted_game import Masks, initial_masks, restricted_actions
from saddlepoint.solvers.efg import EFGMethod, as_compiled
from saddlepoint.solvers.efg_best_response import (
    behaviour_from_weights,
    best_response,
    best_response_nodes,
    nash_conv,
    realization_plan,
)
from saddlepoint.solvers.lp import maximin_strategy

__all__ = ["PSRO", "PSROConfig"]


@dataclass(frozen=True)
class PSROConfig:
    """PSRO (Lanctot et al. 2017) with an exact meta-game ``M = Xᵀ A Y`` over pure strategies
    (sequence-form vectors) and a Nash meta-solver by LP; each player adds an exact best
    response to the opponent's meta-mixture. Stops at ``iterations`` or when no best response
    improves on the meta-game (NashConv <= ``tol``)."""

    algo: ClassVar[str] = "psro"
    method: ClassVar[str] = "saddlepoint.solvers.double_oracle.psro:PSRO"
    iterations: int = 1000
    """Maximum number of PSRO iterations (each adds up to one pure strategy per player)."""
    max_nodes: int | None = None
    """Optional budget of nodes visited."""
    tol: float = 1e-9
    """Stop when the meta-mixture's NashConv is at most this."""

    def __post_init__(self) -> None:
        check_positive_int("iterations", self.iterations)
        if self.max_nodes is not None:
            check_positive_int("max_nodes", self.max_nodes)
        check_positive("tol", self.tol, allow_zero=True)


class PSRO(EFGMethod):
    """PSRO / normal-form DO with an exact meta-game over pure strategies of an EFG, as a method.

    Populations hold pure realization plans (0/1 per sequence); ``M[i, k] = x_iᵀ A y_k``. Each
    ``step()`` solves the meta-game by LP and adds both best responses to the populations; its
    row (:meth:`metrics`) holds the exploitability of the meta-mixture before the addition.
    ``done`` says whether it converged or spent the config's budget. ``rng`` is unused.
    """

    curve_per_step = True
    """Every iteration ends with the best responses that give its exploitability: a row each."""

    def __init__(self, game: Any, config: PSROConfig, rng: Any = None) -> None:
        cg = as_compiled(game)
        self.cg, self.config = cg, config
        masks = initial_masks(cg)
        uniform = [realization_plan(cg, p, cg.players[p].uniform()) for p in (0, 1)]
        self.nodes_visited = sum(best_response_nodes(cg, p, uniform[1 - p]) for p in (0, 1))
        self._pops: list[list[np.ndarray]] = [[], []]
        self._used = [np.zeros(tp.num_sequences, dtype=bool) for tp in cg.players]
        self._counts = _pair_counts(cg)
        self._meta = np.zeros((0, 0))
        for p in (0, 1):
            self._add(p, realization_plan(cg, p, masks[p].astype(float)))
        self.iterations = 0
        self.last_nash_conv = math.inf
        self.converged = False
        self._mixture = (self._pops[0][0].copy(), self._pops[1][0].copy())
        self._row: dict[str, Any] | None = None

    @property
    def iteration(self) -> int:
        """PSRO iterations so far."""
        return self.iterations

    @property
    def done(self) -> bool:
        """Converged, or the config's iteration or node budget spent."""
        return self.exhausted

    def metrics(self) -> dict[str, Any]:
        """The last iteration's row: ``window`` (= iteration), ``exploitability`` and ``nash_conv``
        of the meta-mixture, ``population``, ``restricted_actions``."""
        if self._row is None:
            nc = nash_conv(self.cg, *self._mixture)
            return {"window": 0, "exploitability": nc / 2, "nash_conv": nc, "population": sum(self.population_sizes),
                    "restricted_actions": restricted_actions(self.restricted_masks())}
        return dict(self._row)

    def average_plans(self) -> tuple[np.ndarray, np.ndarray]:
        """The meta-mixtures' realization plans (the solution; copies)."""
        return self.output_plans()

    def average_behaviour(self) -> tuple[np.ndarray, np.ndarray]:
        x, y = self._mixture
        return behaviour_from_weights(self.cg, 0, x), behaviour_from_weights(self.cg, 1, y)

    def _extra(self) -> dict[str, Any]:
        full = sum(tp.num_sequences - 1 for tp in self.cg.players)
        return {"restricted_actions": restricted_actions(self.restricted_masks()), "full_actions": full,
                **super()._extra(), "population": list(self.population_sizes)}

    @property
    def exhausted(self) -> bool:
        c = self.config
        return (self.converged or self.iterations >= c.iterations
                or (c.max_nodes is not None and self.nodes_visited >= c.max_nodes))

    @property
    def population_sizes(self) -> tuple[int, int]:
        return len(self._pops[0]), len(self._pops[1])

    def meta_game(self) -> np.ndarray:
        """The meta-game payoff ``M`` (player 0's), shape ``(k0, k1)`` (a copy)."""
        return self._meta.copy()

    def output_plans(self) -> tuple[np.ndarray, np.ndarray]:
        """The last meta-mixtures as realization plans ``Σ_i p_i x_i`` (copies)."""
        return self._mixture[0].copy(), self._mixture[1].copy()

    def restricted_masks(self) -> Masks:
        """Actions used by some population member, per player (``(m_p,)`` booleans, copies)."""
        return self._used[0].copy(), self._used[1].copy()

    def _add(self, p: int, plan: np.ndarray) -> bool:
        """Add a pure plan unless present; fill the meta-game's new row/column and count the
        histories each new entry's evaluation visits (``x_iᵀ W y_k``, ``W`` = histories per
        sequence pair)."""
        if any(np.array_equal(plan, q) for q in self._pops[p]):
            return False
        cg = self.cg
        others = self._pops[1 - p]
        if others:
            opp = np.stack(others, axis=1)  # (m_opp, k)
            if p == 0:
                values, visits = plan @ (cg.payoff @ opp), plan @ (self._counts @ opp)
            else:
                values, visits = opp.T @ (cg.payoff @ plan), opp.T @ (self._counts @ plan)
            self.nodes_visited += int(np.rint(visits.sum()))
            if p == 0:
                self._meta = np.vstack([self._meta, values[None, :]])
            else:
                self._meta = np.hstack([self._meta, values[:, None]])
        elif p == 0:
            self._meta = np.zeros((1, 0))
        else:
            self._meta = np.zeros((self._meta.shape[0], 1))
        self._pops[p].append(plan)
        self._used[p] |= plan > 0
        self._used[p][0] = True
        return True

    def step(self) -> None:
        """Meta-solve, best-respond, expand (the row: :meth:`metrics`)."""
        p0, _ = maximin_strategy(self._meta)
        p1, _ = maximin_strategy(-self._meta.T)
        x = np.stack(self._pops[0], axis=1) @ p0
        y = np.stack(self._pops[1], axis=1) @ p1
        self._mixture = (x, y)
        br = (best_response(self.cg, 0, y), best_response(self.cg, 1, x))
        self.nodes_visited += best_response_nodes(self.cg, 0, y) + best_response_nodes(self.cg, 1, x)
        nc = br[0].value + br[1].value
        self.last_nash_conv = nc
        self.iterations += 1
        if nc <= self.config.tol:
            self.converged = True
        else:
            for p in (0, 1):
                self._add(p, realization_plan(self.cg, p, br[p].behaviour))
        self._row = {"window": self.iterations, "exploitability": nc / 2, "nash_conv": nc,
                     "population": sum(self.population_sizes),
                     "restricted_actions": restricted_actions(self.restricted_masks())}


def _pair_counts(cg: CompiledGame):
    """Sparse ``W`` ``(m0, m1)``: number of histories whose last sequences are ``(s0, s1)``; for
    pure plans ``x``, ``y``, ``xᵀ W y`` counts the histories consistent with both (cached)."""
    key = ("pair_counts",)
    if key not in cg._cache:
        import scipy.sparse as sp

        shape = (cg.players[0].num_sequences, cg.players[1].num_sequences)
        w = sp.csr_matrix((np.ones(cg.num_histories), (cg.h_seq[0], cg.h_seq[1])), shape=shape)
        w.sum_duplicates()
        cg._cache[key] = w
    return cg._cache[key]
