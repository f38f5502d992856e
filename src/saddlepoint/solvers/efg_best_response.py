"""Sequence-form tools on a compiled extensive-form game: realization plans, exact best
responses, NashConv and exploitability, and the node counts the double-oracle papers plot.

Notation (von Stengel 1996): a player's *realization plan* ``x`` has one entry per sequence,
``x[0] = 1`` and ``x[s] = x[parent(I(s))] * σ(s)``; a *behaviour strategy* is given per sequence
as ``σ(s) = σ(a|I)`` (``σ[0] = 1``). Player 0's expected return is ``x @ A @ y``.

A best response is one backward pass over the player's levels with a segment max (the same
pass CFR runs with a segment sum): ``cfv(s) = g(s) + Σ_{I' below s} V(I')``,
``V(I) = max_{s ∈ I} cfv(s)`` with ``g = A y`` (player 0) or ``g = -Aᵀ x`` (player 1). The
argmax at *every* infoset, reached or not (ties: lowest action), is the full pure best response
that double oracle adds to its population. Exploitability follows OpenSpiel: NashConv / 2.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from saddlepoint.errors import InvalidInputError
from saddlepoint.games.extensive_form import CompiledGame, Treeplex

try:  # SciPy's compiled CSR kernel ``y += A x``: ~10x less call overhead than ``A @ y`` on small games
    from scipy.sparse._sparsetools import csr_matvec as _csr_matvec
except ImportError:  # pragma: no cover - older/newer SciPy layouts
    def _csr_matvec(n_row, n_col, indptr, indices, data, x, y) -> None:
        """The kernel's semantics, slowly: rows in order, each row's terms added left to right
        onto ``y[i]`` (CFR's passes read rows written earlier in the same call)."""
        for i in range(n_row):
            acc = y[i]
            for jj in range(indptr[i], indptr[i + 1]):
                acc += data[jj] * x[indices[jj]]
            y[i] = acc

__all__ = [
    "BestResponse",
    "Levels",
    "behaviour_from_weights",
    "best_response",
    "best_response_nodes",
    "check_behaviour",
    "counterfactual_gradient",
    "exploitability",
    "exploitability_behaviour",
    "game_value",
    "levels",
    "nash_conv",
    "nash_conv_behaviour",
    "realization_plan",
    "uniform_behaviour",
]


@dataclass(frozen=True, eq=False)
class Levels:
    """Per own depth of one treeplex, the index arrays of the vectorised passes.

    For depth ``d``: ``seq[d] = (lo, hi)`` the sequence range, ``starts[d]`` the infosets'
    first sequences relative to ``lo`` (for ``np.add.reduceat``), ``inf[d]`` the infoset range,
    ``parents[d]`` the distinct parent sequences of the level's infosets and ``groups[d]``
    where each parent's run of infosets starts (relative to the level's first infoset).
    """

    seq: tuple[tuple[int, int], ...]
    starts: tuple[np.ndarray, ...]
    inf: tuple[tuple[int, int], ...]
    parents: tuple[np.ndarray, ...]
    groups: tuple[np.ndarray, ...]
    nact_rep: np.ndarray
    """``(m - 1,)`` number of actions of each non-empty sequence's infoset."""
    seq_inf1: np.ndarray
    """``(m - 1,)`` infoset of each non-empty sequence."""
    first1: np.ndarray
    """``(n,)`` first sequences minus one (reduceat offsets on ``x[1:]``)."""


def levels(cg: CompiledGame, player: int) -> Levels:
    """The (cached) :class:`Levels` of ``player``'s treeplex."""
    key = ("levels", player)
    if key not in cg._cache:
        cg._cache[key] = _build_levels(cg.players[player])
    return cg._cache[key]


def _build_levels(tp: Treeplex) -> Levels:
    starts, parents, groups = [], [], []
    for (ilo, ihi), (slo, _) in zip(tp.level_infosets, tp.level_sequences):
        starts.append(tp.infoset_first_seq[ilo:ihi] - slo)
        par = tp.infoset_parent_seq[ilo:ihi]
        change = np.flatnonzero(np.r_[True, par[1:] != par[:-1]])
        parents.append(par[change])
        groups.append(change)
    seq_inf1 = tp.seq_infoset[1:]
    return Levels(tp.level_sequences, tuple(starts), tp.level_infosets, tuple(parents), tuple(groups),
                  tp.infoset_num_actions[seq_inf1].astype(float), seq_inf1, tp.infoset_first_seq - 1)


def realization_plan(cg: CompiledGame, player: int, behaviour: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Realization plan ``x`` (``(m,)``) of a behaviour strategy given per sequence (``(m,)``)."""
    lv = levels(cg, player)
    seq_parent = cg.players[player].seq_parent
    x = np.empty_like(behaviour, dtype=float) if out is None else out
    x[0] = 1.0
    for d, (lo, hi) in enumerate(lv.seq):
        if d == 0:  # parents are the empty sequence
            x[lo:hi] = behaviour[lo:hi]
        else:
            np.multiply(x[seq_parent[lo:hi]], behaviour[lo:hi], out=x[lo:hi])
    return x


def behaviour_from_weights(cg: CompiledGame, player: int, weights: np.ndarray) -> np.ndarray:
    """Normalise per-sequence weights (e.g. a cumulative realization plan) per infoset into a
    behaviour strategy ``(m,)``; infosets with zero total weight get the uniform strategy over
    all their actions (the double-oracle extension of restricted strategies)."""
    lv = levels(cg, player)
    w = np.asarray(weights, dtype=float)
    if w.shape != (cg.players[player].num_sequences,):
        raise InvalidInputError(f"weights must have shape ({cg.players[player].num_sequences},), got {w.shape}")
    out = np.ones_like(w)
    if w.size == 1:
        return out
    sums = np.add.reduceat(w[1:], lv.first1)[lv.seq_inf1]
    out[1:] = np.divide(w[1:], sums, out=1.0 / lv.nact_rep, where=sums > 0)
    return out


def uniform_behaviour(cg: CompiledGame, player: int) -> np.ndarray:
    """The uniform behaviour strategy ``(m,)`` of ``player``."""
    return cg.players[player].uniform()


def check_behaviour(cg: CompiledGame, player: int, behaviour: np.ndarray, atol: float = 1e-9) -> np.ndarray:
    """Validate a behaviour strategy (shape ``(m,)``, non-negative, sums to 1 per infoset)."""
    b = np.asarray(behaviour, dtype=float)
    m = cg.players[player].num_sequences
    if b.shape != (m,):
        raise InvalidInputError(f"behaviour strategy of player {player} must have shape ({m},), got {b.shape}")
    if not np.all(np.isfinite(b)) or np.any(b < -atol):
        raise InvalidInputError(f"behaviour strategy of player {player} has negative or non-finite entries")
    if m > 1:
        sums = np.add.reduceat(b[1:], levels(cg, player).first1)
        if np.any(np.abs(sums - 1.0) > 1e-6):
            bad = int(np.argmax(np.abs(sums - 1.0)))
            raise InvalidInputError(f"behaviour strategy of player {player} sums to {sums[bad]:.6g} "
                                    f"at infoset {bad} ({cg.players[player].infoset_keys[bad]!r}), not 1")
    return b


def _signed_payoff(cg: CompiledGame, player: int):
    """``A`` for player 0 and ``-Aᵀ`` for player 1 (CSR, cached)."""
    key = ("signed_payoff", player)
    if key not in cg._cache:
        cg._cache[key] = cg.payoff if player == 0 else (-cg.payoff_t).tocsr()
    return cg._cache[key]


def counterfactual_gradient(cg: CompiledGame, player: int, opponent_plan: np.ndarray,
                            out: np.ndarray | None = None) -> np.ndarray:
    """``g = A y`` for player 0 or ``g = -Aᵀ x`` for player 1: each sequence's expected return
    from the terminals right below it, weighted by opponent and chance reach. Shape ``(m,)``."""
    mat = _signed_payoff(cg, player)
    if out is None:
        out = np.zeros(mat.shape[0])
    else:
        out.fill(0.0)
    _csr_matvec(mat.shape[0], mat.shape[1], mat.indptr, mat.indices, mat.data, opponent_plan, out)
    return out


@dataclass(frozen=True)
class BestResponse:
    """An exact best response: its value, the pure strategy at every infoset, and the plan."""

    value: float
    """Expected return of the best response (for the responding player)."""
    actions: np.ndarray
    """``(n,)`` chosen sequence index per infoset (lowest action on ties), reached or not."""
    behaviour: np.ndarray
    """``(m,)`` the pure behaviour strategy (0/1 per sequence)."""


def _allowed(block: np.ndarray, mask: np.ndarray | None, lo: int, hi: int) -> np.ndarray:
    return block if mask is None else np.where(mask[lo:hi], block, -np.inf)


def best_response(cg: CompiledGame, player: int, opponent_plan: np.ndarray,
                  mask: np.ndarray | None = None) -> BestResponse:
    """Exact best response of ``player`` to the opponent's realization plan ``(m_opp,)``.

    ``mask`` (boolean ``(m,)``, optional) restricts the responder to allowed actions: the best
    response inside a restricted game (every infoset must allow an action).
    """
    tp = cg.players[player]
    lv = levels(cg, player)
    cfv = counterfactual_gradient(cg, player, opponent_plan)
    actions = np.empty(tp.num_infosets, dtype=np.int64)
    for d in range(len(lv.seq) - 1, -1, -1):
        (lo, hi), starts, (ilo, ihi) = lv.seq[d], lv.starts[d], lv.inf[d]
        block = _allowed(cfv[lo:hi], mask, lo, hi)
        vmax = np.maximum.reduceat(block, starts)
        if mask is not None and np.isneginf(vmax).any():
            raise InvalidInputError(f"mask allows no action at an infoset of player {player}")
        nact = tp.infoset_num_actions[ilo:ihi]
        idx = np.where(block == np.repeat(vmax, nact), np.arange(lo, hi), hi)
        actions[ilo:ihi] = np.minimum.reduceat(idx, starts)
        cfv[lv.parents[d]] += np.add.reduceat(vmax, lv.groups[d])
    behaviour = np.zeros(tp.num_sequences)
    behaviour[0] = 1.0
    behaviour[actions] = 1.0
    return BestResponse(float(cfv[0]), actions, behaviour)


def _br_value(cg: CompiledGame, player: int, opponent_plan: np.ndarray, mask: np.ndarray | None = None) -> float:
    lv = levels(cg, player)
    cfv = counterfactual_gradient(cg, player, opponent_plan)
    for d in range(len(lv.seq) - 1, -1, -1):
        lo, hi = lv.seq[d]
        vmax = np.maximum.reduceat(_allowed(cfv[lo:hi], mask, lo, hi), lv.starts[d])
        cfv[lv.parents[d]] += np.add.reduceat(vmax, lv.groups[d])
    return float(cfv[0])


def nash_conv(cg: CompiledGame, x: np.ndarray, y: np.ndarray,
              masks: tuple[np.ndarray | None, np.ndarray | None] = (None, None)) -> float:
    """NashConv of realization plans ``x`` (player 0) and ``y`` (player 1): what the two best
    responses gain together, ``max_x' x'Ay - min_y' xAy'`` (>= 0, 0 at an equilibrium).
    ``masks`` restrict the best responses (NashConv inside a restricted game)."""
    return _br_value(cg, 0, y, masks[0]) + _br_value(cg, 1, x, masks[1])


def exploitability(cg: CompiledGame, x: np.ndarray, y: np.ndarray,
                   masks: tuple[np.ndarray | None, np.ndarray | None] = (None, None)) -> float:
    """OpenSpiel's exploitability, ``nash_conv / 2``, of realization plans ``x``, ``y``."""
    return 0.5 * nash_conv(cg, x, y, masks)


def nash_conv_behaviour(cg: CompiledGame, behaviour: tuple[np.ndarray, np.ndarray]) -> float:
    """NashConv of a pair of behaviour strategies (each ``(m_p,)``, validated)."""
    x = realization_plan(cg, 0, check_behaviour(cg, 0, behaviour[0]))
    y = realization_plan(cg, 1, check_behaviour(cg, 1, behaviour[1]))
    return nash_conv(cg, x, y)


def exploitability_behaviour(cg: CompiledGame, behaviour: tuple[np.ndarray, np.ndarray]) -> float:
    """Exploitability (NashConv / 2) of a pair of behaviour strategies."""
    return 0.5 * nash_conv_behaviour(cg, behaviour)


def game_value(cg: CompiledGame, x: np.ndarray, y: np.ndarray) -> float:
    """Player 0's expected return ``x @ A @ y`` of two realization plans."""
    return float(x @ (cg.payoff @ y))


def best_response_nodes(cg: CompiledGame, player: int, opponent_plan: np.ndarray) -> int:
    """Histories a memoised best-response traversal of ``player`` evaluates: every history whose
    opponent actions all have positive probability (chance outcomes, all of the responder's
    actions and terminals included), as the double-oracle reference counts them."""
    key = ("hist_per_seq", 1 - player)
    if key not in cg._cache:
        cg._cache[key] = np.bincount(cg.h_seq[1 - player], minlength=cg.players[1 - player].num_sequences)
    return int(cg._cache[key][opponent_plan > 0].sum())
