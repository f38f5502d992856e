"""Two-player zero-sum extensive-form games: a game protocol shaped like OpenSpiel's, and a
compiler that turns any such game into flat arrays once, so that solvers never touch states.

The protocol (:class:`Game`, :class:`State`) mirrors OpenSpiel's Python API: a state knows its
current player (:data:`CHANCE` or :data:`TERMINAL` or 0/1), its legal actions, its chance
outcomes, ``child(action)``, ``returns()`` and an information-state key per player.

:func:`compile_game` walks the tree breadth-first and returns a :class:`CompiledGame`:

* per player a :class:`Treeplex`: information sets sorted by own depth (each depth one contiguous
  block), sequences ``0 = empty`` then one per (infoset, action) with the actions of an infoset
  contiguous, parent pointers, and per-depth slices for vectorised top-down/bottom-up passes;
* the sequence-form payoff matrix ``A`` (sparse, ``|Σ0| x |Σ1|``):
  ``A[σ0(z), σ1(z)] += p_chance(z) * u0(z)`` over terminals ``z`` (von Stengel 1996);
* a history table in breadth-first order (children contiguous) for sampling methods and for
  counting nodes visited.

Games too large to hold in memory are refused before any tree is built, from a depth-stratified
sampling estimate of the number of histories (:func:`estimate_num_histories`). Compiled games are cached per game string.
"""

from __future__ import annotations

import logging
from array import array
from collections import OrderedDict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np
import scipy.sparse as sp

from saddlepoint.errors import InvalidInputError

__all__ = [
    "BYTES_PER_HISTORY",
    "CHANCE",
    "DEFAULT_MAX_HISTORIES",
    "TERMINAL",
    "CompiledGame",
    "Game",
    "GameTooLargeError",
    "State",
    "Treeplex",
    "clear_cache",
    "compile_game",
    "estimate_num_histories",
]

logger = logging.getLogger(__name__)

CHANCE = -1
"""``current_player()`` of a chance node (OpenSpiel's ``kChancePlayerId``)."""
TERMINAL = -4
"""``current_player()`` of a terminal state (OpenSpiel's ``kTerminalPlayerId``)."""

DEFAULT_MAX_HISTORIES = 10_000_000
"""Games estimated to have more histories than this (~3 GB to compile) are refused by
:func:`compile_game`."""
BYTES_PER_HISTORY = 320
"""Peak memory of compiling one history (arrays, one level of live states, the solver's
buffers), measured: Liar's Dice's 294 883 histories take ~90 MB above the interpreter,
Goofspiel-6's 969 523 about 260 MB. The compiled result itself is ~50 bytes per history."""


class GameTooLargeError(InvalidInputError):
    """The game's tree is too large to compile into memory; the message gives its estimated size."""


@runtime_checkable
class State(Protocol):
    """One history of a game. States are immutable: ``child`` returns a new state."""

    def current_player(self) -> int: ...
    def is_terminal(self) -> bool: ...
    def is_chance_node(self) -> bool: ...
    def legal_actions(self) -> list[int]: ...
    def chance_outcomes(self) -> list[tuple[int, float]]: ...
    def child(self, action: int) -> State: ...
    def returns(self) -> Sequence[float]: ...
    def information_state_key(self, player: int) -> Hashable: ...
    def information_state_string(self, player: int) -> str: ...


@runtime_checkable
class Game(Protocol):
    """A two-player zero-sum game with perfect recall; ``name`` is its full game string."""

    name: str

    def new_initial_state(self) -> State: ...
    def num_distinct_actions(self) -> int: ...


# --------------------------------------------------------------------------- compiled form
@dataclass(frozen=True, eq=False)
class Treeplex:
    """One player's sequence form. ``n`` infosets, ``m`` sequences (``m = 1 + Σ_I |A(I)|``).

    Infosets are sorted by own depth (then by parent sequence), so ``level_infosets[d]`` and
    ``level_sequences[d]`` are contiguous ``(start, stop)`` ranges. All arrays are read-only.
    """

    infoset_first_seq: np.ndarray
    """``(n,)`` first sequence of each infoset; its actions are ``first .. first+k-1``."""
    infoset_num_actions: np.ndarray
    """``(n,)`` number of legal actions ``|A(I)|``."""
    infoset_parent_seq: np.ndarray
    """``(n,)`` the player's last sequence before the infoset (0 = empty sequence)."""
    infoset_depth: np.ndarray
    """``(n,)`` own depth (number of own earlier actions)."""
    seq_infoset: np.ndarray
    """``(m,)`` infoset of each sequence (-1 for the empty sequence)."""
    seq_parent: np.ndarray
    """``(m,)`` parent sequence of each sequence's infoset (0 for the empty sequence)."""
    seq_action: np.ndarray
    """``(m,)`` the game's action id of each sequence (-1 for the empty sequence)."""
    level_infosets: tuple[tuple[int, int], ...]
    """Per own depth, the infoset range ``(start, stop)``."""
    level_sequences: tuple[tuple[int, int], ...]
    """Per own depth, the range of the sequences of that level's infosets."""
    infoset_keys: tuple[Hashable, ...]
    """The game's information-state key of each infoset."""

    @property
    def num_infosets(self) -> int:
        return int(self.infoset_first_seq.shape[0])

    @property
    def num_sequences(self) -> int:
        return int(self.seq_infoset.shape[0])

    @property
    def max_actions(self) -> int:
        return int(self.infoset_num_actions.max(initial=0))

    def uniform(self) -> np.ndarray:
        """The uniform behaviour strategy, one probability per sequence ``(m,)`` (1 at seq 0)."""
        out = 1.0 / self.infoset_num_actions[np.maximum(self.seq_infoset, 0)].astype(float)
        out[0] = 1.0
        return out


@dataclass(frozen=True, eq=False)
class CompiledGame:
    """A game as flat arrays (see the module docstring). Build with :func:`compile_game`.

    History arrays have shape ``(H,)`` in breadth-first order; ``h_seq`` is ``(2, H)``. They are
    stored compactly: ``int8`` players, ``int32`` indices and counts, ``float32`` chance
    probabilities and returns (read by the samplers); the payoff matrices, which every exact
    computation uses, are ``float64`` and were summed from ``float64`` chance reaches.
    """

    name: str
    players: tuple[Treeplex, Treeplex]
    payoff: sp.csr_matrix
    """Sequence-form payoff ``A`` of player 0, ``(|Σ0|, |Σ1|)``, chance weights included."""
    payoff_t: sp.csr_matrix
    """``A`` transposed, in CSR form."""
    h_player: np.ndarray
    """Player to move (0, 1, ``CHANCE`` or ``TERMINAL``)."""
    h_infoset: np.ndarray
    """Infoset index within the mover's treeplex (-1 at chance and terminal histories)."""
    h_parent: np.ndarray
    """Parent history (-1 at the root)."""
    h_child_start: np.ndarray
    """First child; children of a history are contiguous."""
    h_num_children: np.ndarray
    """Number of children (0 at terminals)."""
    h_chance_prob: np.ndarray
    """Probability of the edge into the history when its parent is a chance node, else 1."""
    h_utility: np.ndarray
    """Player 0's return at terminals (0 elsewhere)."""
    h_seq: np.ndarray
    """``(2, H)`` each player's last sequence before the history (0 = empty)."""
    level_histories: tuple[tuple[int, int], ...]
    """Per history depth, the range of histories."""
    max_abs_utility: float
    _cache: dict = field(default_factory=dict, repr=False)

    @property
    def num_histories(self) -> int:
        return int(self.h_player.shape[0])

    @property
    def num_terminals(self) -> int:
        return int(np.count_nonzero(self.h_player == TERMINAL))

    @property
    def num_infosets(self) -> tuple[int, int]:
        return (self.players[0].num_infosets, self.players[1].num_infosets)

    def nbytes(self) -> int:
        """Bytes held by the arrays (payoff matrices included)."""
        total = sum(getattr(self, f).nbytes for f in (
            "h_player", "h_infoset", "h_parent", "h_child_start", "h_num_children",
            "h_chance_prob", "h_utility", "h_seq"))
        for tp in self.players:
            total += sum(getattr(tp, f).nbytes for f in (
                "infoset_first_seq", "infoset_num_actions", "infoset_parent_seq", "infoset_depth",
                "seq_infoset", "seq_parent", "seq_action"))
        for m in (self.payoff, self.payoff_t):
            total += m.data.nbytes + m.indices.nbytes + m.indptr.nbytes
        return int(total)

    def summary(self) -> dict[str, int | str]:
        """Sizes: histories, terminals, infosets and sequences per player, max actions."""
        return {
            "game": self.name, "histories": self.num_histories, "terminals": self.num_terminals,
            "infosets": sum(self.num_infosets),
            "infosets_0": self.players[0].num_infosets, "infosets_1": self.players[1].num_infosets,
            "sequences_0": self.players[0].num_sequences, "sequences_1": self.players[1].num_sequences,
            "max_actions": max(tp.max_actions for tp in self.players), "payoff_nnz": int(self.payoff.nnz),
        }


# --------------------------------------------------------------------------- size estimate
def estimate_num_histories(game: Game, *, width: int = 2048, seed: int = 0, max_depth: int = 10_000,
                           stop_above: float = float("inf")) -> float:
    """Unbiased estimate of the number of histories, without building the tree.

    Depth-stratified sampling (a beam version of Knuth's 1975 probes, after Chen 1992): level by
    level, the branching factor of each kept history is read, the level's size is estimated as
    ``w_d * Σ branching``, and at most ``width`` of the next level's histories are kept,
    uniformly without replacement, each standing for ``w_{d+1} = w_d * n / width`` histories
    (Horvitz-Thompson). Exact when every level has at most ``width`` histories or a uniform
    branching factor; costs at most ``width`` ``legal_actions`` and ``child`` calls per level.
    Deterministic for a fixed ``seed``. Returns early, with the running (partial, so lower)
    estimate, once that passes ``stop_above``.
    """
    rng = np.random.default_rng(seed)
    level = [game.new_initial_state()]
    weight, total, depth = 1.0, 1.0, 0
    while level and depth < max_depth:
        actions = [_branches(state) for state in level]
        counts = np.fromiter((len(a) for a in actions), dtype=np.int64, count=len(actions))
        n = int(counts.sum())
        if n == 0:
            break
        total += weight * n
        if total > stop_above:
            break
        if n <= width:
            picked = np.arange(n)
        else:
            picked = np.sort(rng.choice(n, size=width, replace=False))
            weight *= n / width
        ends = np.cumsum(counts)
        parents = np.searchsorted(ends, picked, side="right")
        offsets = picked - (ends[parents] - counts[parents])
        level = [level[p].child(actions[p][o]) for p, o in zip(parents.tolist(), offsets.tolist())]
        depth += 1
    return total


def _branches(state: State) -> Sequence[int]:
    """The actions (chance outcomes included) leading out of ``state``; empty at terminals."""
    if state.is_terminal():
        return ()
    if state.is_chance_node():
        return [a for a, _ in state.chance_outcomes()]
    return state.legal_actions()


# --------------------------------------------------------------------------- compiler
_CACHE: OrderedDict[str, CompiledGame] = OrderedDict()
_CACHE_SIZE = 8


def clear_cache() -> None:
    """Forget every compiled game (they are cached per game string)."""
    _CACHE.clear()


def compile_game(game: Game, *, max_histories: int = DEFAULT_MAX_HISTORIES, cache: bool = True) -> CompiledGame:
    """Compile ``game`` into flat arrays (cached per ``game.name`` when ``cache``).

    Raises :class:`GameTooLargeError` when the estimated (or, while compiling, the actual)
    number of histories exceeds ``max_histories``, and :class:`InvalidInputError` when the game
    is not two-player zero-sum with perfect recall.
    """
    key = getattr(game, "name", None)
    if cache and key is not None and key in _CACHE:
        _CACHE.move_to_end(key)
        return _CACHE[key]
    estimate = _estimate_for_limit(game, max_histories)
    if estimate > max_histories:
        raise GameTooLargeError(
            f"game {key!r} is too large to compile: {'at least' if estimate > 1000 * max_histories else 'about'} "
            f"{estimate:.3g} histories "
            f"(~{_human_bytes(estimate * BYTES_PER_HISTORY)} of memory), above max_histories="
            f"{max_histories:,}; choose smaller parameters or raise max_histories")
    compiled = _compile(game, str(key), max_histories)
    if cache and key is not None:
        _CACHE[key] = compiled
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return compiled


def _estimate_for_limit(game: Game, limit: float) -> float:
    """A quick narrow-beam estimate, refined with the full beam only when it lands within 4x of
    ``limit`` (far from the limit the quick one decides, so refusals take well under a second)."""
    quick = estimate_num_histories(game, width=512, stop_above=1000 * limit)
    if limit / 4 <= quick <= 4 * limit:
        return estimate_num_histories(game)
    return quick


def _human_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB", "PB"):
        if n < 1024 or unit == "PB":
            return f"{n:.3g} {unit}"
        n /= 1024
    return f"{n:.3g} PB"  # pragma: no cover


class _PlayerBuilder:
    """Discovers one player's infosets; sequences get temporary ids (0 = empty)."""

    def __init__(self, player: int) -> None:
        self.player = player
        self.index: dict[Hashable, int] = {}
        self.keys: list[Hashable] = []
        self.actions: list[tuple[int, ...]] = []
        self.parent_tmp_seq = array("q")
        self.seq_base = array("q")  # temporary id of each infoset's first sequence
        self.tmp_seq_depth = array("q", [0])  # own depth after the sequence
        self.next_tmp = 1

    def visit(self, key: Hashable, actions: tuple[int, ...], parent_tmp: int) -> int:
        inf = self.index.get(key)
        if inf is None:
            inf = len(self.keys)
            self.index[key] = inf
            self.keys.append(key)
            self.actions.append(actions)
            self.parent_tmp_seq.append(parent_tmp)
            self.seq_base.append(self.next_tmp)
            depth = self.tmp_seq_depth[parent_tmp] + 1
            self.tmp_seq_depth.extend([depth] * len(actions))
            self.next_tmp += len(actions)
            return inf
        if self.actions[inf] != actions:
            raise InvalidInputError(
                f"infoset {key!r} of player {self.player} has different legal actions in different "
                f"histories ({self.actions[inf]} vs {actions})")
        if self.parent_tmp_seq[inf] != parent_tmp:
            raise InvalidInputError(
                f"game does not have perfect recall: player {self.player}'s infoset {key!r} is "
                "reached after different own earlier actions")
        return inf

    def finish(self) -> tuple[Treeplex, np.ndarray]:
        """The treeplex, and the map from temporary to final sequence ids."""
        n = len(self.keys)
        parent_tmp = np.frombuffer(self.parent_tmp_seq, dtype=np.int64) if n else np.zeros(0, np.int64)
        depth_tmp = np.frombuffer(self.tmp_seq_depth, dtype=np.int64)
        inf_depth = depth_tmp[parent_tmp]  # own depth of the infoset = depth after its parent seq
        num_actions = np.array([len(a) for a in self.actions], dtype=np.int64)
        base_tmp = np.frombuffer(self.seq_base, dtype=np.int64) if n else np.zeros(0, np.int64)
        # Sort by depth; within a depth by parent sequence (in final ids, known level by level).
        tmp_to_final = np.zeros(self.next_tmp, dtype=np.int64)
        order_parts: list[np.ndarray] = []
        level_inf: list[tuple[int, int]] = []
        level_seq: list[tuple[int, int]] = []
        next_seq, placed = 1, 0
        max_depth = int(inf_depth.max(initial=-1))
        for d in range(max_depth + 1):
            members = np.flatnonzero(inf_depth == d)
            parents_final = tmp_to_final[parent_tmp[members]]
            members = members[np.lexsort((members, parents_final))]
            order_parts.append(members)
            k = num_actions[members]
            firsts = next_seq + np.concatenate(([0], np.cumsum(k)[:-1])).astype(np.int64)
            for inf, first, count in zip(members.tolist(), firsts.tolist(), k.tolist()):
                b = int(base_tmp[inf])
                tmp_to_final[b:b + count] = np.arange(first, first + count)
            level_inf.append((placed, placed + len(members)))
            level_seq.append((next_seq, next_seq + int(k.sum())))
            placed += len(members)
            next_seq += int(k.sum())
        order = np.concatenate(order_parts) if order_parts else np.zeros(0, np.int64)
        first_seq = tmp_to_final[base_tmp[order]] if n else np.zeros(0, np.int64)
        nact = num_actions[order]
        parent_seq = tmp_to_final[parent_tmp[order]]
        m = next_seq
        seq_inf = np.full(m, -1, dtype=np.int64)
        seq_inf[1:] = np.repeat(np.arange(n, dtype=np.int64), nact)
        seq_parent = np.zeros(m, dtype=np.int64)
        seq_parent[1:] = np.repeat(parent_seq, nact)
        seq_action = np.full(m, -1, dtype=np.int64)
        if n:
            seq_action[1:] = np.concatenate([np.asarray(self.actions[i], dtype=np.int64) for i in order])
        arrays = [first_seq, nact, parent_seq, inf_depth[order], seq_inf, seq_parent, seq_action]
        for a in arrays:
            a.setflags(write=False)
        tp = Treeplex(*arrays, tuple(level_inf), tuple(level_seq), tuple(self.keys[i] for i in order))
        return tp, tmp_to_final


def _compile(game: Game, name: str, max_histories: int) -> CompiledGame:
    builders = (_PlayerBuilder(0), _PlayerBuilder(1))
    h_player, h_infoset, h_parent = array("b"), array("q"), array("q")
    h_child_start, h_num_children = array("q"), array("q")
    h_chance, h_util = array("d"), array("d")
    h_seq0, h_seq1 = array("q"), array("q")
    level_bounds: list[tuple[int, int]] = []

    def settle(state: State) -> State | float:
        """A terminal is kept as player 0's return only: no state object of it stays alive."""
        if not state.is_terminal():
            return state
        ret = state.returns()
        if abs(ret[0] + ret[1]) > 1e-9 * max(1.0, abs(ret[0])):
            raise InvalidInputError(f"game {name!r} is not zero-sum: returns {tuple(ret)}")
        return float(ret[0])

    # Each level entry: (state or terminal return, parent, chance prob, tmp seq of player 0, of
    # player 1). A level is consumed from a reversed list, so entries die as they are expanded.
    level = [(settle(game.new_initial_state()), -1, 1.0, 0, 0)]
    count = 0
    while level:
        level_bounds.append((count, count + len(level)))
        next_level: list = []
        child_id = count + len(level)
        level.reverse()
        while level:
            state, parent, prob, s0, s1 = level.pop()
            h_parent.append(parent)
            h_chance.append(prob)
            h_seq0.append(s0)
            h_seq1.append(s1)
            me = count
            count += 1
            if type(state) is float:  # a terminal, kept as its return (see settle)
                h_player.append(TERMINAL)
                h_infoset.append(-1)
                h_util.append(state)
                h_child_start.append(child_id)
                h_num_children.append(0)
                continue
            h_util.append(0.0)
            h_child_start.append(child_id)
            if state.is_chance_node():
                outcomes = state.chance_outcomes()
                total = sum(p for _, p in outcomes)
                if not outcomes or abs(total - 1.0) > 1e-9 or any(p < 0 for _, p in outcomes):
                    raise InvalidInputError(f"game {name!r}: chance outcomes {outcomes} are not a "
                                            "probability distribution")
                h_player.append(CHANCE)
                h_infoset.append(-1)
                h_num_children.append(len(outcomes))
                for action, p in outcomes:
                    next_level.append((settle(state.child(action)), me, float(p), s0, s1))
                child_id += len(outcomes)
                continue
            player = state.current_player()
            if player not in (0, 1):
                raise InvalidInputError(f"game {name!r}: unsupported current player {player}")
            actions = tuple(state.legal_actions())
            if not actions:
                raise InvalidInputError(f"game {name!r}: a non-terminal state of player {player} has no legal actions")
            b = builders[player]
            inf = b.visit(state.information_state_key(player), actions, s0 if player == 0 else s1)
            base = b.seq_base[inf]
            h_player.append(player)
            h_infoset.append(inf)
            h_num_children.append(len(actions))
            for k, action in enumerate(actions):
                if player == 0:
                    next_level.append((settle(state.child(action)), me, 1.0, base + k, s1))
                else:
                    next_level.append((settle(state.child(action)), me, 1.0, s0, base + k))
            child_id += len(actions)
        level = next_level
        if count + len(level) > max_histories:
            raise GameTooLargeError(
                f"game {name!r} is too large to compile: more than {max_histories:,} histories "
                f"(~{_human_bytes(max_histories * BYTES_PER_HISTORY)} of memory); raise max_histories")

    tps, maps = zip(*(b.finish() for b in builders))
    player = np.frombuffer(h_player, dtype=np.int8).astype(np.int64)
    infoset_tmp = np.frombuffer(h_infoset, dtype=np.int64)
    # Map temporary infoset ids to the sorted order.
    infoset = np.full(count, -1, dtype=np.int64)
    for p in (0, 1):
        tmp_order = np.array([builders[p].index[k] for k in tps[p].infoset_keys], dtype=np.int64)
        inverse = np.empty_like(tmp_order)
        inverse[tmp_order] = np.arange(tmp_order.size)
        mine = player == p
        infoset[mine] = inverse[infoset_tmp[mine]]
    seq = np.stack([maps[0][np.frombuffer(h_seq0, dtype=np.int64)],
                    maps[1][np.frombuffer(h_seq1, dtype=np.int64)]])
    chance_prob = np.frombuffer(h_chance, dtype=np.float64)
    util = np.frombuffer(h_util, dtype=np.float64)
    parent = np.frombuffer(h_parent, dtype=np.int64)
    # Chance reach of every history, top-down by level (float64: the payoff sums it).
    reach = chance_prob.copy()
    for lo, hi in level_bounds[1:]:
        reach[lo:hi] *= reach[parent[lo:hi]]
    term = np.flatnonzero(player == TERMINAL)
    m0, m1 = tps[0].num_sequences, tps[1].num_sequences
    payoff = sp.csr_matrix((reach[term] * util[term], (seq[0, term], seq[1, term])), shape=(m0, m1))
    del reach
    payoff.sum_duplicates()
    payoff_t = payoff.T.tocsr()
    payoff_t.sum_duplicates()
    # Compact storage (~33 bytes per history): small integer types, float32 for the per-history
    # chance probabilities and returns (sampling reads them; every exact quantity, the payoff
    # matrix above included, is computed in float64 before they are narrowed).
    arrays = {
        "h_player": player.astype(np.int8), "h_infoset": infoset.astype(np.int32),
        "h_parent": parent.astype(np.int32),
        "h_child_start": np.frombuffer(h_child_start, dtype=np.int64).astype(np.int32),
        "h_num_children": np.frombuffer(h_num_children, dtype=np.int64).astype(np.int32),
        "h_chance_prob": chance_prob.astype(np.float32), "h_utility": util.astype(np.float32),
        "h_seq": seq.astype(np.int32),
    }
    for a in arrays.values():
        a.setflags(write=False)
    max_abs = float(np.abs(util).max(initial=0.0))
    logger.info("compiled %s: %d histories, %s infosets", name, count, [tp.num_infosets for tp in tps])
    return CompiledGame(name=name, players=(tps[0], tps[1]), payoff=payoff, payoff_t=payoff_t,
                        level_histories=tuple(level_bounds), max_abs_utility=max_abs, **arrays)
