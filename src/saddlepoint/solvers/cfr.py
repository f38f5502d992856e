"""The CFR family on a compiled extensive-form game: CFR, CFR+, Linear CFR and DCFR.

In sequence form (no per-node Python): a top-down pass builds the realization plans,
``g = A y`` gives each sequence's terminal value, a bottom-up pass with segment sums gives
counterfactual values ``cfv(s)`` and ``V(I) = Σ_a σ(a|I) cfv(I,a)``, and the instantaneous
regret is ``r(I,a) = cfv(I,a) - V(I)`` (Zinkevich et al. 2007, eq. 7 in sequence form). Updates
alternate by default (player 0, then player 1 against player 0's new strategy), as in
OpenSpiel and the CFR+ paper. Each pass is one call of SciPy's compiled CSR kernel on a buffer
that holds its own rows (see :class:`_PassPlan`), so an iteration is about thirty compiled
calls whatever the game's depth, with NumPy's rounding (its segment sums' order) kept exactly.

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

import os
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from saddlepoint.config import check_positive, check_positive_int
from saddlepoint.errors import InvalidInputError
from saddlepoint.games.extensive_form import TERMINAL, CompiledGame, Treeplex
from saddlepoint.solvers.efg import EFGMethod, as_compiled
from saddlepoint.solvers.efg_best_response import (
    _csr_matvec,
    _signed_payoff,
    behaviour_from_weights,
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
    threads: int = 2
    """CPU threads a step may use. With 2, a game with at least 100,000 terms in its node count
    (Liar's Dice, not Leduc) counts nodes on a second thread while player 0's pass runs (10 %
    faster per iteration on Liar's Dice on a quiet 2-core machine; on smaller games the hand-off
    costs more than it saves, so they stay on one thread); 1 keeps every step on the calling
    thread. The iterates do not depend on it."""

    def __post_init__(self) -> None:
        check_positive_int("iterations", self.iterations, allow_zero=True)
        check_positive_int("threads", self.threads)
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

    Histories are grouped by their pair of sequences ``(σ0(h), σ1(h))`` with ``w`` edges per
    pair, so with supports ``a_p = [x_p > 0]`` a count is ``Σ w [a0(s0) ∨ a1(s1)] = a0·(w0 -
    W a1) + w1·a1`` (``W`` the pair weights as a sparse matrix, ``w0``, ``w1`` its row and column
    sums): one sparse product when player 1's plan changes (:meth:`set_plan1`) and one dot
    product per count, exact in float64 (integers below 2^53).
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
        m0, m1 = (tp.num_sequences for tp in cg.players)
        self._a0 = np.zeros(m0 + 1)  # [a0, 1]: the count is one dot product with [w0 - W a1, w1·a1]
        self._a0[m0] = 1.0
        self._a1 = np.zeros(m1)
        self._against = np.zeros(m0 + 1)
        self._dot = (1, m0 + 1, np.array([0, m0 + 1]), np.arange(m0 + 1), self._a0, self._against)
        self._pending: Future | None = None  # set_plan1 running on the background thread
        self.set_masks(masks)

    @property
    def size(self) -> int:
        """Terms of the sparse product :meth:`set_plan1` computes."""
        return int(self._indices.size)

    def set_masks(self, masks: tuple[np.ndarray | None, np.ndarray | None]) -> None:
        """Recompute the per-pair edge weights for new action masks."""
        self._wait()
        cg, inner = self._cg, self._inner
        children = cg.h_num_children[inner].astype(float)
        masked = [p for p in (0, 1) if masks[p] is not None]
        for p in masked:  # allowed actions only ...
            tp = cg.players[p]
            allowed = np.add.reduceat(masks[p][1:].astype(float), tp.infoset_first_seq - 1) if tp.num_infosets else np.zeros(0)
            mine = cg.h_player[inner] == p
            children[mine] = allowed[cg.h_infoset[inner[mine]]]
        for p in masked:  # ... at histories inside the restricted tree
            reach = realization_plan(cg, p, masks[p].astype(float))
            children[reach[cg.h_seq[p, inner]] <= 0] = 0.0
        weight = np.rint(np.bincount(self._inverse, weights=children, minlength=self._pair_seq0_all.size))
        keep = weight > 0
        s0, s1, w = self._pair_seq0_all[keep], self._pair_seq1_all[keep], weight[keep]
        m0 = self._a0.size - 1
        # Rows: -W (pairs are sorted by (s0, s1), so already in CSR order), then the column sums w1.
        w1 = np.bincount(s1, weights=w, minlength=self._a1.size)
        self._indptr = np.r_[0, np.cumsum(np.bincount(s0, minlength=m0)), s0.size + self._a1.size].astype(np.int64)
        self._indices = np.r_[s1, np.arange(self._a1.size)].astype(np.int64)
        self._data = np.r_[-w, w1]
        self._base = np.r_[np.bincount(s0, weights=w, minlength=m0), 0.0]
        self._full = int(w.sum())

    def set_plan0(self, x0: np.ndarray) -> None:
        """Player 0's current realization plan (``>= 0``)."""
        np.sign(x0, out=self._a0[:-1])

    def set_plan1(self, x1: np.ndarray, background: bool = False) -> None:
        """Player 1's current realization plan (``>= 0``); with ``background``, the product runs
        on a second thread until the next count (``x1`` must not change before then)."""
        self._wait()
        if background:
            self._pending = _worker().submit(self._against_plan1, x1)
        else:
            self._against_plan1(x1)

    def _against_plan1(self, x1: np.ndarray) -> None:
        np.sign(x1, out=self._a1)
        self._against[...] = self._base
        _csr_matvec(self._against.size, self._a1.size, self._indptr, self._indices, self._data, self._a1,
                    self._against)

    def add_count(self, total: np.ndarray) -> None:
        """Add the edges one pass follows with the plans last given to :meth:`set_plan0` and
        :meth:`set_plan1` to ``total[0]`` (a single-threaded dot product; BLAS may wake
        threads for one)."""
        self._wait()
        _csr_matvec(*self._dot, total)

    def _wait(self) -> None:
        if self._pending is not None:
            pending, self._pending = self._pending, None
            pending.result()

    def current(self) -> int:
        """Edges followed by one pass with the plans last given to :meth:`set_plan0`/:meth:`set_plan1`."""
        total = np.zeros(1)
        self.add_count(total)
        return int(total[0])

    def count(self, x0: np.ndarray, x1: np.ndarray) -> int:
        """Edges followed by one pass with realization plans ``x0``, ``x1`` (both >= 0)."""
        self.set_plan0(x0)
        self.set_plan1(x1)
        return self.current()

    def full(self) -> int:
        """Edges of the (restricted) tree: one pass with every reach positive."""
        return self._full


_WORKER: tuple[int, ThreadPoolExecutor] | None = None


def _worker() -> ThreadPoolExecutor:
    """The one background thread of this process (a fresh one after a fork)."""
    global _WORKER
    if _WORKER is None or _WORKER[0] != os.getpid():
        _WORKER = (os.getpid(), ThreadPoolExecutor(1, thread_name_prefix="saddlepoint-cfr"))
    return _WORKER[1]


class _Rows:
    """CSR rows of one call of SciPy's kernel ``y += M z`` on a buffer ``z`` that holds its own
    output ``y = z[base:]``: the kernel fills the rows in order and adds each row's terms left to
    right onto ``y``, so a row may read rows above it. A term is a column of ``z`` and a data
    index into an array of coefficients (see :class:`_PassPlan`). Rows are kept in chunks of
    NumPy arrays (lengths, columns, data)."""

    def __init__(self, base: int, one: int) -> None:
        self.base, self.one, self.size = base, one, 0
        self.chunks: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []

    def rows(self, lengths: np.ndarray, cols: np.ndarray, data: np.ndarray) -> np.ndarray:
        """Append rows (terms in order, ``lengths`` per row); return their addresses in ``z``."""
        self.chunks.append((np.asarray(lengths), np.asarray(cols), np.asarray(data)))
        self.size += len(lengths)
        return np.arange(self.base + self.size - len(lengths), self.base + self.size)

    def row(self, terms: list[tuple[int, int]]) -> int:
        return int(self.rows([len(terms)], [c for c, _ in terms], [d for _, d in terms])[0])

    def segment_sums(self, cols: np.ndarray, data: np.ndarray, starts: np.ndarray) -> np.ndarray:
        """Rows holding ``np.add.reduceat``'s sums of the terms' segments beginning at
        ``starts``, bit for bit: a segment ``a0, a1, ..`` is ``a0 + pairwise(a1 ..)`` with
        NumPy's pairwise summation, sequential below 8 terms after the first (one row ``a1 ..,
        a0`` onto 0, built here for all such segments at once), else built term by term."""
        if not len(starts):
            return np.zeros(0, dtype=np.int64)
        ends = np.r_[starts[1:], len(cols)]
        lengths = ends - starts
        order = np.arange(len(cols)) + 1  # a1 .. ak, then a0
        order[ends - 1] = starts
        short = lengths <= 8
        at = np.empty(len(starts), dtype=np.int64)
        take = order[np.repeat(short, lengths)]
        at[short] = self.rows(lengths[short], cols[take], data[take])
        for i in np.flatnonzero(~short):
            terms = list(zip(cols[starts[i]:ends[i]].tolist(), data[starts[i]:ends[i]].tolist()))
            at[i] = self.row([self._pairwise(terms[1:]), terms[0]])
        return at

    def _pairwise(self, terms: list[tuple[int, int]]) -> tuple[int, int]:
        n, one = len(terms), self.one
        if n == 1:
            return terms[0]
        if n < 8:
            return self.row(terms), one
        if n > 128:
            half = n // 2 - (n // 2) % 8
            return self.row([self._pairwise(terms[:half]), self._pairwise(terms[half:])]), one
        tail = n - n % 8
        part = [ts[0] if len(ts) == 1 else (self.row(ts), one) for ts in (terms[j:tail:8] for j in range(8))]
        pairs = [(self.row(part[j:j + 2]), one) for j in range(0, 8, 2)]
        halves = [(self.row(pairs[:2]), one), (self.row(pairs[2:]), one)]
        return self.row(halves + terms[tail:]), one

    def csr(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(indptr, columns, data indices)`` of all rows."""
        lengths, cols, data = (np.concatenate([c[k] for c in self.chunks] or [np.zeros(0, dtype=np.int64)])
                               for k in range(3))
        return (np.r_[0, np.cumsum(lengths)].astype(np.int32), cols.astype(np.int32), data.astype(np.int32))


class _PassPlan:
    """One player's CFR pass as three compiled-kernel calls (built once per game and player).

    A player's work buffer is ``z = [g (m) | pass rows (T) | sum rows (U) | R (m) | pos (m)]``;
    a term's data index points into ``[σ (m), 1, -1]`` (σ is scattered into its terms before
    each pass). After ``g = A y`` (or ``-Aᵀ x``) one call of :class:`_Rows` computes, deepest
    level first, ``V(I) = Σ_{s ∈ I} σ(s) cfv(s)`` and ``cfv(s) = g(s) + Σ_{I below s} V(I)``,
    then ``r(s) = cfv(s) - V(I(s))`` and ``R(s) += r(s)``; a second call gives regret matching's
    per-infoset sums of ``pos``. Every sum is ``np.add.reduceat``'s, in its order, so the
    iterates are bit for bit those of the level-by-level NumPy passes (``cfv + (V1 + V2)``,
    never ``(cfv + V1) + V2``). The realization plan is a third call on ``x`` itself, each row
    reading its parent's row above it.
    """

    def __init__(self, tp: Treeplex, lv) -> None:
        m = tp.num_sequences
        one, minus = m, m + 1  # data indices of the constants 1 and -1 (σ takes 0 .. m-1)
        rows = _Rows(m, one)
        cfv = np.arange(m)  # where each cfv(s) is: g(s) until a row adds what hangs below s
        value = np.zeros(tp.num_infosets, dtype=np.int64)
        for d in range(len(lv.seq) - 1, -1, -1):
            (lo, hi), (ilo, ihi) = lv.seq[d], lv.inf[d]
            seqs = np.arange(lo, hi)
            value[ilo:ihi] = rows.segment_sums(cfv[seqs], seqs, lv.starts[d])
            if d == 0:  # level 0 hangs below the empty sequence: no regret needs it
                break
            groups, parents = lv.groups[d], lv.parents[d]
            sizes = np.diff(np.r_[groups, ihi - ilo])
            below = value[ilo:ihi][groups]  # one infoset below: cfv = g + V ...
            many = sizes > 1  # ... several: cfv = g + (V1 + V2 + ..), the sum in its own row
            starts = groups[many]
            multi = np.repeat(many, sizes)
            below[many] = rows.segment_sums(value[ilo:ihi][multi], np.full(int(multi.sum()), one),
                                            np.searchsorted(np.flatnonzero(multi), starts))
            cfv[parents] = rows.rows(np.full(len(parents), 2), np.stack([parents, below], 1).ravel(),
                                     np.full(2 * len(parents), one))
        seq = np.arange(1, m)
        self.r = rows.rows(np.full(m - 1, 2), np.stack([cfv[seq], value[tp.seq_infoset[seq]]], 1).ravel(),
                           np.tile([one, minus], m - 1)).astype(np.int32)
        self.pass_rows = rows.csr()
        # Regret matching's sums, reading pos from the R block; one copy per sequence at the end.
        t_rows = rows.size
        sums = _Rows(m + t_rows, one)
        source = 1 << 30  # placeholder for R's block, which follows the U sum rows
        at = sums.segment_sums(source + seq, np.full(m - 1, one), tp.infoset_first_seq - 1)
        rep = sums.rows(np.ones(m - 1, dtype=np.int64), at[tp.seq_infoset[seq]], np.full(m - 1, one))
        indptr, cols, _ = sums.csr()
        u = sums.size
        cols[cols >= source] += m + t_rows + u - source
        self.sum_rows, self.t, self.u = (indptr, cols), t_rows, u
        self.sums_rep = (int(rep[0]) - m - t_rows) if rep.size else u
        self.parent = (np.arange(m, dtype=np.int32), tp.seq_parent[1:].astype(np.int32))


def _pass_plan(cg: CompiledGame, player: int) -> _PassPlan:
    key = ("cfr_pass_plan", player)
    if key not in cg._cache:
        cg._cache[key] = _PassPlan(cg.players[player], levels(cg, player))
    return cg._cache[key]


class _Pass:
    """One solver's arrays for player ``p`` and the argument tuples of its kernel calls (see
    :class:`_PassPlan`)."""

    __slots__ = ("sigma_all", "regret", "transient", "put", "gradient", "bottom_up", "sums", "pos", "sums_rep",
                 "positive", "zeros", "maskf", "sigma", "default", "x1", "realize", "rectify")

    def __init__(self, solver: CFRSolver, p: int) -> None:
        cg, plan = solver.cg, _pass_plan(solver.cg, p)
        m, mask = cg.players[p].num_sequences, solver._masks[p]
        t, u = plan.t, plan.u
        self.sigma_all = np.ones(m)
        z = np.zeros(m + t + u + 2 * m)  # g | pass rows | sum rows | R | pos
        self.regret, pos = z[m + t + u:m + t + u + m], z[m + t + u + m:]
        self.transient = z[:m + t + u]  # zeroed before each pass
        mat = _signed_payoff(cg, p)
        self.gradient = (mat.shape[0], mat.shape[1], mat.indptr, mat.indices, mat.data, solver._x[1 - p], z[:m])
        indptr, cols, data_index = plan.pass_rows
        keep = np.ones(m - 1, dtype=bool) if mask is None else mask[1:]  # masked actions keep zero regret
        r_indptr = np.r_[0, 0, np.cumsum(keep)]  # R(0) and masked rows: no term
        indptr = np.r_[indptr, np.full(u, indptr[-1]), indptr[-1] + r_indptr[1:]].astype(np.int32)
        cols = np.r_[cols, plan.r[keep]].astype(np.int32)
        data_index = np.r_[data_index, np.full(int(keep.sum()), m)]
        data = np.r_[self.sigma_all, 1.0, -1.0][data_index]
        sig_pos = np.flatnonzero(data_index < m)  # each σ(s), s >= 1, is read by exactly one term
        sig_pos = sig_pos[np.argsort(data_index[sig_pos])]
        if not np.array_equal(data_index[sig_pos], np.arange(1, m)):  # pragma: no cover - plan invariant
            raise AssertionError("every sequence's σ must be read by exactly one term")
        self.put = (data.__setitem__, (sig_pos, self.sigma_all[1:]))  # data[sig_pos] = σ[1:]
        self.bottom_up = (t + u + m, z.size, indptr, cols, data, z, z[m:m + t + u + m])
        sum_indptr, sum_cols = plan.sum_rows
        self.rectify = not (solver._plus and mask is None)  # else RM+ regrets are already non-negative
        if not self.rectify:
            self.pos = self.regret[1:]
        else:  # pos = [R]⁺ (masked) has its own block after R
            sum_cols = np.where(sum_cols >= m + t + u, sum_cols + m, sum_cols).astype(np.int32)
            self.pos = pos[1:]
        self.sums = (u, z.size, sum_indptr, sum_cols, np.ones(sum_cols.size), z, z[m + t:m + t + u])
        self.sums_rep = z[m + t + plan.sums_rep:m + t + u]
        self.positive, self.zeros = np.empty(m - 1, dtype=bool), np.zeros(m - 1)
        self.maskf = None if mask is None else mask[1:].astype(float)
        self.sigma, self.default = self.sigma_all[1:], solver._default[p]
        x = solver._x[p]
        self.x1 = x[1:]
        self.realize = (m - 1, m, *plan.parent, self.sigma, x, self.x1)


class CFRSolver(EFGMethod):
    """The CFR-family method for one config on a game (compiled on the fly).

    ``step()`` runs one iteration; accessors return copies; ``rng`` is unused (deterministic).
    ``masks`` restricts the game (see the module docstring); ``regrets`` warm-starts the
    cumulative regrets (one ``(m_p,)`` array per player, e.g. scaled old regrets after a
    double-oracle expansion).

    A step is a fixed, small number of compiled calls on preallocated arrays, whatever the
    game's depth (see :class:`_PassPlan`), with the same floating-point operations in the same
    order as the level-by-level NumPy passes.
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
        if masks is not None:
            for p in (0, 1):
                self._set_mask(p, masks[p])
        # Both players' plans and averages are views of one array each: one update per step.
        self._x_all, self._avg_all, self._scaled_all = np.ones(sum(m)), np.zeros(sum(m)), np.empty(sum(m))
        self._avg_weight = np.ones(1)  # an array, not a Python float: no scalar conversion per call
        self._x = [self._x_all[:m[0]], self._x_all[m[0]:]]
        self._avg = [self._avg_all[:m[0]], self._avg_all[m[0]:]]
        self._counter = NodeCounter(cg, (self._masks[0], self._masks[1]))
        self._background = config.threads > 1 and (os.cpu_count() or 1) > 1 and self._counter.size >= 100_000
        self._nodes = np.zeros(1)  # edges counted by the kernel (exact integers in float64)
        self._nodes_offset = 0
        self._weight = 0.0
        self._t = 0
        self._default = [  # regret matching's strategy where no regret is positive
            self._lv[p].nact_rep ** -1.0 if self._masks[p] is None
            else self._masks[p][1:] / self._allowed_rep[p] for p in (0, 1)]
        self._passes = [_Pass(self, p) for p in (0, 1)]
        self._sigma = [ps.sigma_all for ps in self._passes]
        self._regret = [ps.regret for ps in self._passes]
        if regrets is not None:
            for p in (0, 1):
                r = np.asarray(regrets[p], dtype=float)
                if r.shape != (m[p],):
                    raise InvalidInputError(f"regrets[{p}] must have shape ({m[p]},), got {r.shape}")
                self._regret[p][...] = r if self._masks[p] is None else r * self._masks[p]
        for p in (0, 1):
            self._refresh(p)

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

    @property
    def nodes_visited(self) -> int:
        """Tree edges followed so far (see :class:`NodeCounter`)."""
        return self._nodes_offset + int(self._nodes[0])

    @nodes_visited.setter
    def nodes_visited(self, value: int) -> None:
        self._nodes[0] = 0.0
        self._nodes_offset = int(value)

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
        self._counter.set_plan0(self._x[0])
        self._counter.set_plan1(self._x[1])

    def __getstate__(self) -> dict:
        # The pass buffers are views of each other: copies and pickles rebuild them.
        return {"cg": self.cg, "config": self.config, "masks": (self._masks[0], self._masks[1]),
                "state": self.state_dict()}

    def __setstate__(self, saved: dict) -> None:
        self.__init__(saved["cg"], saved["config"], masks=saved["masks"])
        self.load_state_dict(saved["state"])

    # ------------------------------------------------------------------ iteration
    def step(self) -> None:
        """One iteration: both players' regrets and averages are updated."""
        self._t += 1
        t = self._t
        disc = self.config.discounts(t)
        weight = disc[2] if disc is not None else (float(t) if self.config.linear_average else 1.0)
        # Each player's average takes its plan from before its own update: both are known now.
        if weight == 1.0:
            self._avg_all += self._x_all
        else:
            self._avg_weight[0] = weight
            np.multiply(self._x_all, self._avg_weight, out=self._scaled_all)
            self._avg_all += self._scaled_all
        # Node counts are taken where player 0's support changes: one pass before it and, when
        # alternating, one after (player 1's support is the same for both).
        if self.config.alternating:
            self._regret_step(0)
            self._update(0, disc, (1, 1))
            self._regret_step(1)
            self._update(1, disc)
        else:
            self._regret_step(0)
            self._regret_step(1)
            self._update(0, disc, (2, 0))
            self._update(1, disc)
        self._weight += weight

    def _regret_step(self, p: int) -> None:
        """``R(s) += cfv(s) - V(I(s))`` for the allowed non-empty sequences (see :class:`_PassPlan`)."""
        ps = self._passes[p]
        ps.transient.fill(0.0)
        ps.put[0](*ps.put[1])  # σ(s) into the terms σ(s) cfv(s) (the other terms are ±1)
        _csr_matvec(*ps.gradient)  # g = A y (player 0) or -Aᵀ x (player 1)
        _csr_matvec(*ps.bottom_up)

    def _update(self, p: int, disc: tuple[float, float, float] | None, counts: tuple[int, int] = (0, 0)) -> None:
        r = self._regret[p][1:]
        if self._plus:
            np.maximum(r, self._passes[p].zeros, out=r)
        elif disc is not None:
            r *= np.where(r >= 0, disc[0], disc[1])
        self._refresh(p, counts)

    def _refresh(self, p: int, counts: tuple[int, int] = (0, 0)) -> None:
        """Regret matching, σ(a|I) = [R(I,a)]⁺ / Σ_b [R(I,b)]⁺ (uniform over the allowed
        actions where no regret is positive; Hart & Mas-Colell 2000), then the realization plan
        in one call (top-down: each row reads its parent's row) and its support for the node
        counter; for player 0, ``counts`` passes are counted with the old support and with the
        new one."""
        ps = self._passes[p]
        if ps.sigma.size:
            pos = ps.pos
            if ps.rectify:
                np.maximum(self._regret[p][1:], ps.zeros, out=pos)
                if ps.maskf is not None:
                    pos *= ps.maskf
            _csr_matvec(*ps.sums)  # per-infoset sums of pos, one copy per sequence
            np.greater(ps.sums_rep, ps.zeros, out=ps.positive)
            ps.sigma[...] = ps.default
            np.divide(pos, ps.sums_rep, out=ps.sigma, where=ps.positive)
            ps.x1.fill(0.0)
            _csr_matvec(*ps.realize)
        counter = self._counter
        if p:
            counter.set_plan1(self._x[p], self._background)
            return
        for _ in range(counts[0]):
            counter.add_count(self._nodes)
        counter.set_plan0(self._x[p])
        for _ in range(counts[1]):
            counter.add_count(self._nodes)
