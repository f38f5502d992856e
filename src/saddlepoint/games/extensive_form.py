"""Two-player zero-sum extensive-form games: a game protocol shaped like OpenSpiel's, and a
compiler that turns any such game into flat arrays once, so that solvers never touch states.

The protocol (:class:`Game`, :class:`State`) mirrors OpenSpiel's Python API: a state knows its
current player (:data:`CHANCE` or :data:`TERMINAL` or 0/1), its legal actions, its chance
outcomes, ``child(action)``, ``returns()`` and an information-state key per player.

:func:`compile_game` walks the tree depth-first and returns a :class:`CompiledGame`:

* per player a :class:`Treeplex`: information sets sorted by own depth (each depth one contiguous
  block), sequences ``0 = empty`` then one per (infoset, action) with the actions of an infoset
  contiguous, parent pointers, and per-depth slices for vectorised top-down/bottom-up passes;
* the sequence-form payoff matrix ``A`` (sparse, ``|Σ0| x |Σ1|``):
  ``A[σ0(z), σ1(z)] += p_chance(z) * u0(z)`` over terminals ``z`` (von Stengel 1996);
* a history table in breadth-first order (children contiguous) for sampling methods and for
  counting nodes visited.

The walk keeps only the states on its stack alive (depth x branching) and writes each history
into narrow per-depth buffers (``int8``/``int32``/``float32``; ``float64`` only for the payoff
entries, summed from ``float64`` chance reaches): a depth-first preorder restricted to one depth
is that depth's breadth-first order, so concatenating the depths gives the breadth-first table.
Peak memory is about 1.3-1.8x the compiled arrays (~50 bytes per history), and a game costs
about 5 microseconds of Python per history: ``goofspiel(num_cards=7,imp_info=True,
points_order=descending)``, 47.5 million histories, compiles in about 4 minutes at 2.9 GB with
``compile_game(game, max_histories=10**8)``. There is no per-game fast path: the generic walk
only asks for ``current_player``, ``legal_actions``/``chance_outcomes``, ``child``,
``returns`` and ``information_state_key``, so a game speeds its compilation up by making those
cheap (the zoo's Goofspiel keeps played-card bitmasks and own-bid tuples for that).

Games too large to hold in memory are refused before any tree is built, from a depth-stratified
sampling estimate of the number of histories (:func:`estimate_num_histories`). Compiled games are
cached per game string in memory, and on disk with ``compile_game(..., cache_dir=DIR)``
(:meth:`CompiledGame.save` / :meth:`CompiledGame.load`, one ``.npz`` per game string).
"""

from __future__ import annotations

import ctypes
import hashlib
import json
import logging
import re
from array import array
from collections import OrderedDict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path
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
BYTES_PER_HISTORY = 110
"""Memory of compiling and solving one history, rounded up from measurements on Goofspiel-7
(47.5 million histories): the depth-first compiler peaks at ~62 bytes per history (2.8 GB; the
compiled arrays hold ~47), CFR+ with exploitability passes at ~101 (4.8 GB)."""


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
        total = sum(getattr(self, f).nbytes for f in _HISTORY_FIELDS)
        for tp in self.players:
            total += sum(getattr(tp, f).nbytes for f in _TREEPLEX_FIELDS)
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

    def save(self, path: str | Path) -> Path:
        """Write the compiled game to ``path`` (an uncompressed NumPy ``.npz``; :meth:`load` reads it).

        Information-state keys are stored as JSON and must be built from tuples, ``str``, ``int``,
        ``float``, ``bool`` and ``None`` (every zoo game's and OpenSpiel's keys are); other keys
        raise :class:`InvalidInputError`.
        """
        path = Path(path)
        arrays: dict[str, np.ndarray] = {f: getattr(self, f) for f in _HISTORY_FIELDS}
        for p, tp in enumerate(self.players):
            for f in _TREEPLEX_FIELDS:
                arrays[f"p{p}_{f}"] = getattr(tp, f)
            arrays[f"p{p}_level_infosets"] = np.asarray(tp.level_infosets, dtype=np.int64).reshape(-1, 2)
            arrays[f"p{p}_level_sequences"] = np.asarray(tp.level_sequences, dtype=np.int64).reshape(-1, 2)
            keys = json.dumps([_key_to_json(k) for k in tp.infoset_keys], separators=(",", ":"))
            arrays[f"p{p}_infoset_keys"] = np.frombuffer(keys.encode(), dtype=np.uint8)
        for label, m in (("payoff", self.payoff), ("payoff_t", self.payoff_t)):
            arrays[f"{label}_data"], arrays[f"{label}_indices"] = m.data, m.indices
            arrays[f"{label}_indptr"], arrays[f"{label}_shape"] = m.indptr, np.asarray(m.shape, dtype=np.int64)
        arrays["level_histories"] = np.asarray(self.level_histories, dtype=np.int64).reshape(-1, 2)
        meta = {"format": _SAVE_FORMAT, "name": self.name, "max_abs_utility": self.max_abs_utility}
        arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
        with path.open("wb") as fh:
            np.savez(fh, **arrays)
        return path

    @classmethod
    def load(cls, path: str | Path) -> CompiledGame:
        """Read a game written by :meth:`save` (arrays read-only, solver results identical)."""
        path = Path(path)
        try:
            with np.load(path, allow_pickle=False) as z:
                data = {k: z[k] for k in z.files}
        except (OSError, ValueError) as exc:
            raise InvalidInputError(f"cannot read a compiled game from {str(path)!r}: {exc}") from exc
        meta = json.loads(data.pop("meta").tobytes()) if "meta" in data else {}
        if meta.get("format") != _SAVE_FORMAT:
            raise InvalidInputError(f"{str(path)!r} is not a compiled game saved by CompiledGame.save "
                                    f"(format {meta.get('format')!r}, expected {_SAVE_FORMAT})")
        for a in data.values():
            a.setflags(write=False)
        players = []
        for p in (0, 1):
            keys = json.loads(data[f"p{p}_infoset_keys"].tobytes())
            players.append(Treeplex(*(data[f"p{p}_{f}"] for f in _TREEPLEX_FIELDS),
                                    _ranges(data[f"p{p}_level_infosets"]), _ranges(data[f"p{p}_level_sequences"]),
                                    tuple(_key_from_json(k) for k in keys)))
        mats = [sp.csr_matrix((data[f"{m}_data"], data[f"{m}_indices"], data[f"{m}_indptr"]),
                              shape=tuple(int(v) for v in data[f"{m}_shape"])) for m in ("payoff", "payoff_t")]
        return cls(name=meta["name"], players=(players[0], players[1]), payoff=mats[0], payoff_t=mats[1],
                   level_histories=_ranges(data["level_histories"]), max_abs_utility=float(meta["max_abs_utility"]),
                   **{f: data[f] for f in _HISTORY_FIELDS})


_SAVE_FORMAT = 1
_HISTORY_FIELDS = ("h_player", "h_infoset", "h_parent", "h_child_start", "h_num_children", "h_chance_prob",
                   "h_utility", "h_seq")
_TREEPLEX_FIELDS = ("infoset_first_seq", "infoset_num_actions", "infoset_parent_seq", "infoset_depth",
                    "seq_infoset", "seq_parent", "seq_action")


def _ranges(a: np.ndarray) -> tuple[tuple[int, int], ...]:
    return tuple((int(lo), int(hi)) for lo, hi in a.tolist())


def _key_to_json(key: Hashable):
    """An information-state key as JSON (tuples become lists); other types are refused."""
    if key is None or isinstance(key, (bool, int, float, str)):
        return key
    if isinstance(key, tuple):
        return [_key_to_json(k) for k in key]
    if isinstance(key, np.integer):
        return int(key)
    raise InvalidInputError(
        f"cannot save information-state key part {key!r} of type {type(key).__name__}: keys must be "
        "built from tuples, str, int, float, bool and None")


def _key_from_json(value):
    return tuple(_key_from_json(v) for v in value) if type(value) is list else value


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


def compile_game(game: Game, *, max_histories: int = DEFAULT_MAX_HISTORIES, cache: bool = True,
                 cache_dir: str | Path | None = None) -> CompiledGame:
    """Compile ``game`` into flat arrays (cached per ``game.name`` when ``cache``).

    With ``cache_dir``, the compiled game is also kept on disk (one ``.npz`` per game string,
    see :meth:`CompiledGame.save`): a later call, in any process, loads it in seconds instead
    of walking the tree again (Goofspiel with 7 cards: minutes). Raises
    :class:`GameTooLargeError` when the estimated (or, while compiling, the actual) number of
    histories exceeds ``max_histories``, and :class:`InvalidInputError` when the game is not
    two-player zero-sum with perfect recall.
    """
    key = getattr(game, "name", None)
    if cache and key is not None and key in _CACHE:
        _CACHE.move_to_end(key)
        return _CACHE[key]
    path = None if cache_dir is None or key is None else _cache_path(Path(cache_dir), str(key))
    if path is not None and path.exists():
        compiled = CompiledGame.load(path)
        if compiled.name != str(key):
            raise InvalidInputError(f"{str(path)!r} holds game {compiled.name!r}, not {key!r}")
        if compiled.num_histories > max_histories:
            raise GameTooLargeError(f"game {key!r} has {compiled.num_histories:,} histories, above "
                                    f"max_histories={max_histories:,}; raise max_histories")
    else:
        estimate = _estimate_for_limit(game, max_histories)
        if estimate > max_histories:
            raise GameTooLargeError(
                f"game {key!r} is too large to compile: "
                f"{'at least' if estimate > 1000 * max_histories else 'about'} {estimate:.3g} histories "
                f"(~{_human_bytes(estimate * BYTES_PER_HISTORY)} of memory), above max_histories="
                f"{max_histories:,}; choose smaller parameters or raise max_histories")
        compiled = _compile(game, str(key), max_histories)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_name(path.name + ".partial")
            compiled.save(partial)
            partial.replace(path)  # atomic: a killed save leaves no half-written cache entry
    if cache and key is not None:
        _CACHE[key] = compiled
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return compiled


def _cache_path(cache_dir: Path, name: str) -> Path:
    """``cache_dir / <readable game string>-<hash>.npz``."""
    readable = re.sub(r"[^A-Za-z0-9_.=,-]+", "_", name)[:80]
    return cache_dir / f"{readable}-{hashlib.sha256(name.encode()).hexdigest()[:12]}.npz"


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
    """Discovers one player's infosets; sequences get temporary ids (0 = empty).

    The compiler meets histories depth-first, so each infoset also remembers its first
    breadth-first visit (history depth, position in that depth): the final order breaks ties
    by it, exactly as a breadth-first walk would have discovered the infosets.
    """

    def __init__(self, player: int) -> None:
        self.player = player
        self.index: dict[Hashable, int] = {}
        self.keys: list[Hashable] = []
        self.actions: list[tuple[int, ...]] = []
        self.parent_tmp_seq = array("q")
        self.seq_base = array("q")  # temporary id of each infoset's first sequence
        self.first_depth = array("i")  # history depth of the first breadth-first visit
        self.first_pos = array("q")  # its position within that depth
        self.tmp_seq_depth = array("q", [0])  # own depth after the sequence
        self.next_tmp = 1

    def add(self, key: Hashable, actions: tuple[int, ...], parent_tmp: int, depth: int, pos: int) -> int:
        """A new infoset's temporary id."""
        inf = len(self.keys)
        self.index[key] = inf
        self.keys.append(key)
        self.actions.append(actions)
        self.parent_tmp_seq.append(parent_tmp)
        self.seq_base.append(self.next_tmp)
        self.first_depth.append(depth)
        self.first_pos.append(pos)
        self.tmp_seq_depth.extend([self.tmp_seq_depth[parent_tmp] + 1] * len(actions))
        self.next_tmp += len(actions)
        return inf

    def revisit(self, inf: int, actions: tuple[int, ...], parent_tmp: int, depth: int, pos: int) -> None:
        """Check a known infoset's legal actions and perfect recall; keep its earliest visit."""
        if self.actions[inf] != actions:
            raise InvalidInputError(
                f"infoset {self.keys[inf]!r} of player {self.player} has different legal actions in "
                f"different histories ({self.actions[inf]} vs {actions})")
        if self.parent_tmp_seq[inf] != parent_tmp:
            raise InvalidInputError(
                f"game does not have perfect recall: player {self.player}'s infoset {self.keys[inf]!r} "
                "is reached after different own earlier actions")
        if depth < self.first_depth[inf]:
            self.first_depth[inf] = depth
            self.first_pos[inf] = pos

    def finish(self) -> tuple[Treeplex, np.ndarray, np.ndarray]:
        """The treeplex, and the maps from temporary to final sequence and infoset ids (``int32``)."""
        n = len(self.keys)
        parent_tmp = np.frombuffer(self.parent_tmp_seq, dtype=np.int64) if n else np.zeros(0, np.int64)
        depth_tmp = np.frombuffer(self.tmp_seq_depth, dtype=np.int64)
        inf_depth = depth_tmp[parent_tmp]  # own depth of the infoset = depth after its parent seq
        num_actions = np.fromiter(map(len, self.actions), dtype=np.int64, count=n)
        base_tmp = np.frombuffer(self.seq_base, dtype=np.int64) if n else np.zeros(0, np.int64)
        first_depth = np.frombuffer(self.first_depth, dtype=np.int32) if n else np.zeros(0, np.int32)
        first_pos = np.frombuffer(self.first_pos, dtype=np.int64) if n else np.zeros(0, np.int64)
        # Sort by own depth; within it by parent sequence (final ids, known level by level), then
        # by first breadth-first visit.
        tmp_to_final = np.zeros(self.next_tmp, dtype=np.int32)
        order_parts: list[np.ndarray] = []
        level_inf: list[tuple[int, int]] = []
        level_seq: list[tuple[int, int]] = []
        next_seq, placed = 1, 0
        max_depth = int(inf_depth.max(initial=-1))
        for d in range(max_depth + 1):
            members = np.flatnonzero(inf_depth == d)
            parents_final = tmp_to_final[parent_tmp[members]]
            members = members[np.lexsort((first_pos[members], first_depth[members], parents_final))]
            order_parts.append(members)
            k = num_actions[members]
            total = int(k.sum())
            final = np.arange(next_seq, next_seq + total, dtype=np.int64)
            firsts = next_seq + np.concatenate(([0], np.cumsum(k)[:-1])).astype(np.int64)
            tmp_to_final[final + np.repeat(base_tmp[members] - firsts, k)] = final
            level_inf.append((placed, placed + len(members)))
            level_seq.append((next_seq, next_seq + total))
            placed += len(members)
            next_seq += total
        order = np.concatenate(order_parts) if order_parts else np.zeros(0, np.int64)
        first_seq = tmp_to_final[base_tmp[order]].astype(np.int64)
        nact = num_actions[order]
        parent_seq = tmp_to_final[parent_tmp[order]].astype(np.int64)
        m = next_seq
        seq_inf = np.full(m, -1, dtype=np.int64)
        seq_inf[1:] = np.repeat(np.arange(n, dtype=np.int64), nact)
        seq_parent = np.zeros(m, dtype=np.int64)
        seq_parent[1:] = np.repeat(parent_seq, nact)
        seq_action = np.full(m, -1, dtype=np.int64)
        seq_action[1:] = np.fromiter(chain.from_iterable(self.actions[i] for i in order.tolist()),
                                     dtype=np.int64, count=m - 1)
        arrays = [first_seq, nact, parent_seq, inf_depth[order], seq_inf, seq_parent, seq_action]
        for a in arrays:
            a.setflags(write=False)
        self.index.clear()  # the keys live on in the treeplex
        tp = Treeplex(*arrays, tuple(level_inf), tuple(level_seq), tuple(self.keys[i] for i in order.tolist()))
        inverse = np.empty(n, dtype=np.int32)
        inverse[order] = np.arange(n, dtype=np.int32)
        return tp, tmp_to_final, inverse


_MAX_HISTORIES_INT32 = 2**31 - 1
"""History indices are stored as ``int32``."""


class _Level:
    """Growable narrow buffers of the histories of one depth, in breadth-first order."""

    __slots__ = ("chance", "infoset", "num_children", "player", "seq0", "seq1", "term_util", "term_value")

    def __init__(self) -> None:
        self.player = array("b")
        self.infoset = array("i")  # temporary infoset id (-1 at chance and terminal histories)
        self.num_children = array("i")
        self.chance = array("f")  # probability of the edge in (stored as float32)
        self.seq0 = array("i")  # temporary sequence ids
        self.seq1 = array("i")
        self.term_util = array("d")  # per terminal: player 0's return
        self.term_value = array("d")  # per terminal: chance reach * return (float64 for the payoff)


def _compile(game: Game, name: str, max_histories: int) -> CompiledGame:
    """Depth-first walk writing every history into per-depth buffers (see :class:`_Level`).

    A depth-first preorder restricted to one depth is that depth's breadth-first order, so the
    buffers come out breadth-first with children contiguous; only the states on the walk's
    stack (depth x branching) are alive at any time. Parents and first children are not
    stored: they follow from the per-depth child counts.
    """
    builders = (_PlayerBuilder(0), _PlayerBuilder(1))
    levels: list[_Level] = []
    # Expanded histories whose children are still to visit:
    # (state, mover or CHANCE, actions or chance outcomes, depth, seq0, seq1, chance reach, first seq).
    stack: list[tuple] = []
    # One history's children: states, edge probabilities, each player's last (temporary) sequence.
    kids: list = [game.new_initial_state()]
    probs: Sequence[float] = [1.0]
    seqs0: Sequence[int] = [0]
    seqs1: Sequence[int] = [0]
    depth, reach_in, count = 0, 1.0, 0
    limit = min(max_histories, _MAX_HISTORIES_INT32)
    while True:
        if depth == len(levels):
            levels.append(_Level())
        lv = levels[depth]
        pos = len(lv.player)
        count += len(kids)
        if count > limit:
            raise GameTooLargeError(
                f"game {name!r} is too large to compile: more than {limit:,} histories "
                f"(~{_human_bytes(limit * BYTES_PER_HISTORY)} of memory); "
                + ("raise max_histories" if limit == max_histories else "history indices are int32"))
        lv.chance.extend(probs)
        lv.seq0.extend(seqs0)
        lv.seq1.extend(seqs1)
        put_player, put_infoset, put_children = lv.player.append, lv.infoset.append, lv.num_children.append
        expanded = []
        for state, prob, s0, s1 in zip(kids, probs, seqs0, seqs1):
            player = state.current_player()
            if player == TERMINAL:
                ret = state.returns()
                u = float(ret[0])
                gap = u + ret[1]
                if gap and abs(gap) > 1e-9 * max(1.0, abs(u)):
                    raise InvalidInputError(f"game {name!r} is not zero-sum: returns {tuple(ret)}")
                put_player(TERMINAL)
                put_infoset(-1)
                put_children(0)
                lv.term_util.append(u)
                lv.term_value.append(reach_in * prob * u)
            elif player == 0 or player == 1:
                actions = tuple(state.legal_actions())
                if not actions:
                    raise InvalidInputError(
                        f"game {name!r}: a non-terminal state of player {player} has no legal actions")
                b = builders[player]
                key = state.information_state_key(player)
                parent_seq = s1 if player else s0
                inf = b.index.get(key)
                if inf is None:
                    inf = b.add(key, actions, parent_seq, depth, pos)
                elif (b.actions[inf] != actions or b.parent_tmp_seq[inf] != parent_seq
                      or b.first_depth[inf] > depth):
                    b.revisit(inf, actions, parent_seq, depth, pos)
                put_player(player)
                put_infoset(inf)
                put_children(len(actions))
                expanded.append((state, player, actions, depth, s0, s1, reach_in * prob, b.seq_base[inf]))
            elif player == CHANCE:
                outcomes = state.chance_outcomes()
                if (not outcomes or abs(sum(p for _, p in outcomes) - 1.0) > 1e-9
                        or any(p < 0 for _, p in outcomes)):
                    raise InvalidInputError(f"game {name!r}: chance outcomes {outcomes} are not a "
                                            "probability distribution")
                put_player(CHANCE)
                put_infoset(-1)
                put_children(len(outcomes))
                expanded.append((state, CHANCE, outcomes, depth, s0, s1, reach_in * prob, 0))
            else:
                raise InvalidInputError(f"game {name!r}: unsupported current player {player}")
            pos += 1
        expanded.reverse()
        stack.extend(expanded)
        del expanded, state
        if not stack:
            break
        state, player, actions, depth, s0, s1, reach_in, base = stack.pop()
        n = len(actions)
        if player == CHANCE:
            kids = [state.child(a) for a, _ in actions]
            probs = [float(p) for _, p in actions]
            seqs0, seqs1 = [s0] * n, [s1] * n
        else:
            kids = [state.child(a) for a in actions]
            probs = [1.0] * n
            seqs0 = range(base, base + n) if player == 0 else [s0] * n
            seqs1 = range(base, base + n) if player == 1 else [s1] * n
        depth += 1
        del state
    return _assemble(name, builders, levels, count)


def _concat(levels: list[_Level], field_name: str, dtype: type, total: int) -> np.ndarray:
    """One field of every level, concatenated; each level's buffer is freed once copied."""
    out = np.empty(total, dtype=dtype)
    at = 0
    for lv in levels:
        buf = getattr(lv, field_name)
        n = len(buf)
        if n:
            out[at:at + n] = np.frombuffer(buf, dtype=dtype)
        at += n
        setattr(lv, field_name, None)
    _return_freed_memory()
    return out


def _malloc_trim():
    try:
        return getattr(ctypes.CDLL(None), "malloc_trim", None)
    except (OSError, TypeError):  # pragma: no cover - platforms without a C library handle
        return None


_MALLOC_TRIM = _malloc_trim()


def _return_freed_memory() -> None:
    """Ask glibc to return freed heap pages to the OS (a no-op elsewhere). The per-depth buffers
    are freed one field at a time while the result is built; without this their pages stay
    resident and the peak would be buffers plus result instead of result plus one field."""
    if _MALLOC_TRIM is not None:
        _MALLOC_TRIM(0)


def _assemble(name: str, builders: tuple[_PlayerBuilder, _PlayerBuilder], levels: list[_Level],
              count: int) -> CompiledGame:
    """The compiled game from the per-depth buffers, one array at a time (low peak memory)."""
    tps, maps, inverses = zip(*(b.finish() for b in builders))
    _return_freed_memory()
    sizes = [len(lv.player) for lv in levels]
    bounds = np.concatenate(([0], np.cumsum(sizes))).astype(np.int64)
    level_bounds = tuple((int(bounds[d]), int(bounds[d + 1])) for d in range(len(levels)))
    num_terms = sum(len(lv.term_util) for lv in levels)
    term_value = _concat(levels, "term_value", np.float64, num_terms)
    term_util = _concat(levels, "term_util", np.float64, num_terms)
    player = _concat(levels, "player", np.int8, count)
    num_children = _concat(levels, "num_children", np.int32, count)
    chance_prob = _concat(levels, "chance", np.float32, count)
    infoset = _concat(levels, "infoset", np.int32, count)
    for p in (0, 1):  # temporary infoset ids -> the treeplex's sorted order
        mine = player == p
        infoset[mine] = inverses[p][infoset[mine]]
        del mine
    seq = np.empty((2, count), dtype=np.int32)
    for p, field_name in enumerate(("seq0", "seq1")):
        tmp = _concat(levels, field_name, np.int32, count)
        np.take(maps[p], tmp, out=seq[p])
        del tmp
    # Parents and first children follow from the child counts (children are contiguous).
    parent = np.empty(count, dtype=np.int32)
    parent[0] = -1
    parent[1:] = np.repeat(np.arange(count, dtype=np.int32), num_children)
    child_start = np.empty(count, dtype=np.int32)
    for lo, hi in level_bounds:
        np.cumsum(num_children[lo:hi], out=child_start[lo:hi])
        child_start[lo:hi] -= num_children[lo:hi]
        child_start[lo:hi] += hi
    term = np.flatnonzero(player == TERMINAL)
    utility = np.zeros(count, dtype=np.float32)
    utility[term] = term_util
    max_abs = float(np.abs(term_util).max(initial=0.0))
    del term_util
    m0, m1 = tps[0].num_sequences, tps[1].num_sequences
    payoff = sp.csr_matrix((term_value, (seq[0, term], seq[1, term])), shape=(m0, m1))
    del term, term_value
    _return_freed_memory()
    payoff.sum_duplicates()
    payoff_t = payoff.T.tocsr()
    payoff_t.sum_duplicates()
    # Compact storage (~33 bytes per history): small integer types, float32 for the per-history
    # chance probabilities and returns (sampling reads them; every exact quantity, the payoff
    # matrix above included, is computed in float64 before they are narrowed).
    arrays = {"h_player": player, "h_infoset": infoset, "h_parent": parent, "h_child_start": child_start,
              "h_num_children": num_children, "h_chance_prob": chance_prob, "h_utility": utility, "h_seq": seq}
    for a in arrays.values():
        a.setflags(write=False)
    logger.info("compiled %s: %d histories, %s infosets", name, count, [tp.num_infosets for tp in tps])
    return CompiledGame(name=name, players=(tps[0], tps[1]), payoff=payoff, payoff_t=payoff_t,
                        level_histories=level_bounds, max_abs_utility=max_abs, **arrays)
