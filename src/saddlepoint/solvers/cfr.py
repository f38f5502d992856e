"""The CFR family on a compiled extensive-form game: CFR, CFR+, Linear CFR and DCFR.

Every iteration is a few array operations per own-depth level of each player's treeplex
(no per-node Python): a top-down pass builds the realization plans, ``g = A y`` gives each
sequence's terminal value, a bottom-up pass with segment sums gives counterfactual values
``cfv(s)`` and ``V(I) = Σ_a σ(a|I) cfv(I,a)``, and the instantaneous regret is
``r(I,a) = cfv(I,a) - V(I)`` (Zinkevich et al. 2007, eq. 7 in sequence form). Updates
alternate by default (player 0, then player 1 against player 0's new strategy), as in
OpenSpiel and the CFR+ paper.

* CFR: ``R += r``, regret matching, uniform average of reach-weighted strategies.
* CFR+ (Tammelin 2014): ``Q = max(Q + r, 0)``, average weighted by ``t`` (the config fields
  ``floor_regrets`` and ``linear_average``; :class:`CFRPlusConfig` sets both).
* DCFR(α, β, γ) (Brown & Sandholm 2019, sec. 4): after adding ``r_t``, positive regrets (zero
  included) are multiplied by ``t^α / (t^α + 1)``, negative ones by ``t^β / (t^β + 1)``; the
  average weights iteration ``t`` by ``t^γ``. Linear CFR is DCFR(1, 1, 1).

Restricted games (double oracle): pass ``masks`` (one boolean array per player over
sequences, ``True`` = allowed; entry 0 ignored); masked actions get probability 0 and keep zero
regret, regret matching is over the allowed actions (uniform over them when no regret is
positive), and nodes are counted in the restricted tree only.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from saddlepoint.config import check_positive, check_positive_int
from saddlepoint.errors import InvalidInputError
from saddlepoint.games.extensive_form import TERMINAL, CompiledGame
from saddlepoint.solvers.efg import EFGMethod, as_compiled
from saddlepoint.solvers.efg_best_response import (
    behaviour_from_weights,
    counterfactual_gradient,
    levels,
    nash_conv,
    realization_plan,
)

__all__ = ["CFRConfig", "CFRPlusConfig", "CFRSolver", "DCFRConfig", "LinearCFRConfig", "NodeCounter"]


@dataclass(frozen=True)
class CFRConfig:
    """Vanilla CFR (Zinkevich et al. 2007): regret matching, uniform averaging."""

    algo: ClassVar[str] = "cfr"
    method: ClassVar[str] = "saddlepoint.solvers.cfr:CFRSolver"
    iterations: int = 1000
    """Number of iterations T (each updates both players)."""
    alternating: bool = True
    """Alternating updates (player 0, then 1 against 0's new strategy), as in OpenSpiel; False
    gives simultaneous updates (both against the same strategies)."""
    floor_regrets: bool = False
    """Regret matching+: cumulative regrets floored at 0 after every update (CFR+)."""
    linear_average: bool = False
    """Weight iteration t's strategy by t in the average (CFR+); False: uniform weights."""

    def __post_init__(self) -> None:
        check_positive_int("iterations", self.iterations, allow_zero=True)
        for name in ("alternating", "floor_regrets", "linear_average"):
            if not isinstance(getattr(self, name), bool):
                raise InvalidInputError(f"{name} must be true or false, got {getattr(self, name)!r}")

    def discounts(self, t: int) -> tuple[float, float, float] | None:
        """``(positive factor, negative factor, average weight)`` at iteration ``t``; None for
        plain regret matching (no discounting, weight 1)."""
        return None


@dataclass(frozen=True)
class CFRPlusConfig(CFRConfig):
    """CFR+ (Tammelin 2014): regret matching+ (regrets floored at 0), alternating updates,
    average weighted by the iteration number t."""

    algo: ClassVar[str] = "cfr_plus"
    floor_regrets: bool = True
    """Regret matching+ (True for CFR+)."""
    linear_average: bool = True
    """Average weighted by t (True for CFR+)."""


@dataclass(frozen=True)
class DCFRConfig(CFRConfig):
    """Discounted CFR (Brown & Sandholm 2019); defaults α = 1.5, β = 0, γ = 2."""

    algo: ClassVar[str] = "dcfr"
    alpha: float = 1.5
    """α: positive regrets are multiplied by t^α / (t^α + 1) after iteration t."""
    beta: float = 0.0
    """β: negative regrets are multiplied by t^β / (t^β + 1) (β = 0 halves them)."""
    gamma: float = 2.0
    """γ: iteration t's strategy enters the average with weight t^γ."""

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in ("alpha", "beta", "gamma"):
            check_positive(name, getattr(self, name), allow_zero=True)
        if self.floor_regrets or self.linear_average:
            raise InvalidInputError("DCFR's discounts (alpha, beta, gamma) replace floor_regrets and linear_average; "
                                    "leave both False")

    def discounts(self, t: int) -> tuple[float, float, float]:
        ta, tb = float(t) ** self.alpha, float(t) ** self.beta
        return ta / (ta + 1.0), tb / (tb + 1.0), float(t) ** self.gamma


@dataclass(frozen=True)
class LinearCFRConfig(DCFRConfig):
    """Linear CFR (Brown & Sandholm 2019) = DCFR(α = 1, β = 1, γ = 1)."""

    algo: ClassVar[str] = "linear_cfr"
    alpha: float = 1.0
    """α (1 for Linear CFR)."""
    beta: float = 1.0
    """β (1 for Linear CFR)."""
    gamma: float = 1.0
    """γ (1 for Linear CFR)."""


class NodeCounter:
    """Counts tree edges a full CFR pass follows, as the double-oracle reference does: every
    edge ``h -> h'`` out of a history that some player reaches with positive probability (chance
    outcomes and allowed actions; ``h'`` itself is not expanded when both players' reach there is
    0). With all reaches positive a pass costs ``H - 1``.

    Histories are grouped by their pair of sequences ``(σ0(h), σ1(h))``, so a count is one
    gather over the distinct pairs.
    """

    def __init__(self, cg: CompiledGame, masks: tuple[np.ndarray | None, np.ndarray | None] = (None, None)) -> None:
        key = ("node_pairs",)
        if key not in cg._cache:
            inner = np.flatnonzero(cg.h_player != TERMINAL)
            m1 = cg.players[1].num_sequences
            code = cg.h_seq[0, inner].astype(np.int64) * m1 + cg.h_seq[1, inner]
            uniq, inverse = np.unique(code, return_inverse=True)
            cg._cache[key] = (inner, inverse, uniq // m1, uniq % m1)
        self._inner, self._inverse, self._pair_seq0_all, self._pair_seq1_all = cg._cache[key]
        self._cg = cg
        self.set_masks(masks)

    def set_masks(self, masks: tuple[np.ndarray | None, np.ndarray | None]) -> None:
        """Recompute the per-pair edge weights for new action masks."""
        cg, inner = self._cg, self._inner
        children = cg.h_num_children[inner].astype(float)
        in_tree = np.ones(inner.size, dtype=bool)
        for p in (0, 1):
            mask = masks[p]
            if mask is None:
                continue
            tp = cg.players[p]
            allowed = np.add.reduceat(mask[1:].astype(float), tp.infoset_first_seq - 1) if tp.num_infosets else np.zeros(0)
            mine = cg.h_player[inner] == p
            children[mine] = allowed[cg.h_infoset[inner[mine]]]
            reach = realization_plan(cg, p, mask.astype(float))
            in_tree &= reach[cg.h_seq[p, inner]] > 0
        weight = np.rint(np.bincount(self._inverse, weights=children * in_tree,
                                     minlength=self._pair_seq0_all.size)).astype(np.int64)
        # Sort the pairs by weight so a count is one count_nonzero per distinct weight.
        order = np.argsort(weight, kind="stable")
        order = order[weight[order] > 0]
        self.pair_seq0, self.pair_seq1 = self._pair_seq0_all[order], self._pair_seq1_all[order]
        self.pair_weight = weight[order]
        bounds = np.flatnonzero(np.r_[True, self.pair_weight[1:] != self.pair_weight[:-1], True])
        self._groups = [(int(self.pair_weight[lo]), int(lo), int(hi)) for lo, hi in itertools.pairwise(bounds)]

    def count(self, x0: np.ndarray, x1: np.ndarray) -> int:
        """Edges followed by one pass with realization plans ``x0``, ``x1`` (both >= 0)."""
        reach = x0[self.pair_seq0]
        reach += x1[self.pair_seq1]
        return sum(k * int(np.count_nonzero(reach[lo:hi])) for k, lo, hi in self._groups)

    def full(self) -> int:
        """Edges of the (restricted) tree: one pass with every reach positive."""
        return int(self.pair_weight.sum())


class CFRSolver(EFGMethod):
    """The CFR-family method for one config on a game (compiled on the fly).

    ``step()`` runs one iteration; accessors return copies; ``rng`` is unused (deterministic).
    ``masks`` restricts the game (see the module docstring); ``regrets`` warm-starts the
    cumulative regrets (one ``(m_p,)`` array per player, e.g. scaled old regrets after a
    double-oracle expansion).
    """

    def __init__(self, game: Any, config: CFRConfig, rng: Any = None, *,
                 masks: tuple[np.ndarray | None, np.ndarray | None] | None = None,
                 regrets: tuple[np.ndarray, np.ndarray] | None = None) -> None:
        if not isinstance(config, CFRConfig):
            raise InvalidInputError(f"expected a CFR-family config, got {type(config).__name__}")
        cg = self.cg = as_compiled(game)
        self.config = config
        self._plus = config.floor_regrets
        self._lv = (levels(cg, 0), levels(cg, 1))
        self._masks: list[np.ndarray | None] = [None, None]
        self._allowed_rep: list[np.ndarray | None] = [None, None]
        m = [tp.num_sequences for tp in cg.players]
        self._regret = [np.zeros(m[0]), np.zeros(m[1])]
        self._sigma = [np.ones(m[0]), np.ones(m[1])]
        self._avg = [np.zeros(m[0]), np.zeros(m[1])]
        self._x = [np.ones(m[0]), np.ones(m[1])]
        self._cfv = [np.empty(m[0]), np.empty(m[1])]
        self._value = [np.empty(tp.num_infosets) for tp in cg.players]
        self._bottom_up = [  # per level, deepest first: slices and index arrays of the pass
            [(*lv.seq[d], *lv.inf[d], lv.starts[d], lv.parents[d] if d else None, lv.groups[d])
             for d in range(len(lv.seq) - 1, -1, -1)] for lv in self._lv]
        self._weight = 0.0
        self._t = 0
        self.nodes_visited = 0
        """Tree edges followed so far (see :class:`NodeCounter`)."""
        if masks is not None:
            for p in (0, 1):
                self._set_mask(p, masks[p])
        if regrets is not None:
            for p in (0, 1):
                r = np.asarray(regrets[p], dtype=float)
                if r.shape != (m[p],):
                    raise InvalidInputError(f"regrets[{p}] must have shape ({m[p]},), got {r.shape}")
                self._regret[p] = r.copy() if self._masks[p] is None else r * self._masks[p]
        self._counter = NodeCounter(cg, (self._masks[0], self._masks[1]))
        self._default = [  # regret matching's strategy where no regret is positive
            self._lv[p].nact_rep ** -1.0 if self._masks[p] is None
            else self._masks[p][1:] / self._allowed_rep[p] for p in (0, 1)]
        for p in (0, 1):
            self._regret_matching(p)
            realization_plan(cg, p, self._sigma[p], out=self._x[p])

    def _set_mask(self, p: int, mask: np.ndarray | None) -> None:
        if mask is None:
            return
        tp = self.cg.players[p]
        mk = np.asarray(mask, dtype=bool).copy()
        if mk.shape != (tp.num_sequences,):
            raise InvalidInputError(f"masks[{p}] must have shape ({tp.num_sequences},), got {mk.shape}")
        mk[0] = True
        if tp.num_infosets:
            allowed = np.add.reduceat(mk[1:].astype(float), tp.infoset_first_seq - 1)
            if np.any(allowed == 0):
                bad = int(np.flatnonzero(allowed == 0)[0])
                raise InvalidInputError(f"masks[{p}] allows no action at infoset {bad} "
                                        f"({tp.infoset_keys[bad]!r})")
            self._allowed_rep[p] = allowed[tp.seq_infoset[1:]]
        self._masks[p] = mk

    # ------------------------------------------------------------------ accessors
    @property
    def iteration(self) -> int:
        """Iterations completed."""
        return self._t

    def current_behaviour(self) -> tuple[np.ndarray, np.ndarray]:
        """The current strategies σ_t, one ``(m_p,)`` array per player (copies)."""
        return self._sigma[0].copy(), self._sigma[1].copy()

    def current_plans(self) -> tuple[np.ndarray, np.ndarray]:
        """Realization plans of the current strategies (copies)."""
        return self._x[0].copy(), self._x[1].copy()

    def average_plans(self) -> tuple[np.ndarray, np.ndarray]:
        """Realization plans of the average strategies (the current ones before any step)."""
        if self._weight == 0:
            return self.current_plans()
        return self._avg[0] / self._weight, self._avg[1] / self._weight

    def average_behaviour(self) -> tuple[np.ndarray, np.ndarray]:
        """Average behaviour strategies; never-reached infosets get uniform over all actions."""
        x, y = self.average_plans()
        return behaviour_from_weights(self.cg, 0, x), behaviour_from_weights(self.cg, 1, y)

    def regrets(self) -> tuple[np.ndarray, np.ndarray]:
        """Cumulative regrets (copies), one ``(m_p,)`` array per player (entry 0 unused)."""
        return self._regret[0].copy(), self._regret[1].copy()

    def nash_conv(self, restricted: bool = False) -> float:
        """NashConv of the average strategies in the full game, or inside the restricted game
        (best responses limited to the allowed actions) with ``restricted=True``."""
        masks = (self._masks[0], self._masks[1]) if restricted else (None, None)
        return nash_conv(self.cg, *self.average_plans(), masks)

    def exploitability(self, restricted: bool = False) -> float:
        """Exploitability (NashConv / 2) of the average strategies (see :meth:`nash_conv`)."""
        return 0.5 * self.nash_conv(restricted)

    # ------------------------------------------------------------------ checkpoints
    def state_dict(self) -> dict[str, np.ndarray]:
        """Everything :meth:`load_state_dict` needs to continue exactly where this solver is
        (copies): regrets, current and average strategies, the iteration and node counters."""
        state = {"t": np.array(self._t), "weight": np.array(self._weight),
                 "nodes_visited": np.array(self.nodes_visited)}
        for p in (0, 1):
            for name in ("regret", "sigma", "avg", "x"):
                state[f"{name}{p}"] = getattr(self, f"_{name}")[p].copy()
        return state

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        """Restore a :meth:`state_dict` taken from a solver of the same game and config."""
        for p in (0, 1):
            for name in ("regret", "sigma", "avg", "x"):
                mine = getattr(self, f"_{name}")[p]
                got = np.asarray(state[f"{name}{p}"], dtype=mine.dtype)
                if got.shape != mine.shape:
                    raise InvalidInputError(f"checkpoint does not fit this game: {name}{p} has shape "
                                            f"{got.shape}, expected {mine.shape}")
                mine[...] = got
        self._t = int(state["t"])
        self._weight = float(state["weight"])
        self.nodes_visited = int(state["nodes_visited"])

    # ------------------------------------------------------------------ iteration
    def step(self) -> None:
        """One iteration: both players' regrets and averages are updated."""
        self._t += 1
        t = self._t
        disc = self.config.discounts(t)
        weight = disc[2] if disc is not None else (float(t) if self.config.linear_average else 1.0)
        if self.config.alternating:
            for p in (0, 1):
                self.nodes_visited += self._counter.count(self._x[0], self._x[1])
                regret = self._instant_regret(p)
                self._avg[p] += weight * self._x[p]
                self._update(p, regret, disc)
        else:
            self.nodes_visited += 2 * self._counter.count(self._x[0], self._x[1])
            regrets = [self._instant_regret(0), self._instant_regret(1)]
            for p in (0, 1):
                self._avg[p] += weight * self._x[p]
                self._update(p, regrets[p], disc)
        self._weight += weight

    def _instant_regret(self, p: int) -> np.ndarray:
        """``r(s) = cfv(s) - V(I(s))`` for the non-empty sequences, shape ``(m_p - 1,)``."""
        lv = self._lv[p]
        sigma, cfv, value = self._sigma[p], self._cfv[p], self._value[p]
        counterfactual_gradient(self.cg, p, self._x[1 - p], out=cfv)
        reduceat = np.add.reduceat
        for lo, hi, ilo, ihi, starts, parents, groups in self._bottom_up[p]:
            v = reduceat(sigma[lo:hi] * cfv[lo:hi], starts)
            value[ilo:ihi] = v
            if parents is not None:  # level 0 hangs below the empty sequence: no regret needs it
                cfv[parents] += reduceat(v, groups)
        return cfv[1:] - value[lv.seq_inf1]

    def _update(self, p: int, regret: np.ndarray, disc: tuple[float, float, float] | None) -> None:
        r = self._regret[p][1:]
        mask = self._masks[p]
        if mask is not None:
            regret *= mask[1:]
        r += regret
        if self._plus:
            np.maximum(r, 0.0, out=r)
        elif disc is not None:
            r *= np.where(r >= 0, disc[0], disc[1])
        self._regret_matching(p)
        realization_plan(self.cg, p, self._sigma[p], out=self._x[p])

    def _regret_matching(self, p: int) -> None:
        """σ(a|I) = [R(I,a)]⁺ / Σ_b [R(I,b)]⁺, uniform over allowed actions when no regret is
        positive (Hart & Mas-Colell 2000)."""
        lv = self._lv[p]
        if self._sigma[p].size == 1:
            return
        mask = self._masks[p]
        if self._plus and mask is None:
            pos = self._regret[p][1:]  # RM+ regrets are already non-negative
        else:
            pos = np.maximum(self._regret[p][1:], 0.0)
            if mask is not None:
                pos *= mask[1:]
        sums = np.add.reduceat(pos, lv.first1)[lv.seq_inf1]
        out = self._sigma[p][1:]
        out[:] = self._default[p]
        np.divide(pos, sums, out=out, where=sums > 0)
