"""The maze level: an N x N grid of walls with a start and a goal, as a small frozen value.

A level has a text form (rows of ``#`` wall, ``.`` floor, ``S`` start, ``G`` goal joined by
``\\n``) that round-trips, a stable key (hex SHA-1 of the text form) used for equality, hashing
and duplicate checks, and BFS distances to the goal (optimal path length, solvability, optimal
actions). Border cells are always walls, so a move never leaves the grid.
"""

from __future__ import annotations

import hashlib
from collections import deque
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from saddlepoint.errors import InvalidInputError

ACTIONS = ("up", "right", "down", "left")
"""Action ids 0..3, in this order."""

MOVES = np.array([(-1, 0), (0, 1), (1, 0), (0, -1)], dtype=np.int64)
"""(4, 2) row/column offset of each action."""

MIN_SIZE, MAX_SIZE = 3, 64
_CHARS = {"#", ".", "S", "G"}


@dataclass(frozen=True, eq=False)
class MazeLevel:
    """One maze level. Equality and hashing go through :attr:`key`.

    Construct with :meth:`from_text` or directly from a wall array; the wall array is copied
    and made read-only.
    """

    walls: np.ndarray
    """(N, N) bool, True where a wall is; every border cell is a wall."""
    start: tuple[int, int]
    """(row, col) of the agent's first position; a floor cell."""
    goal: tuple[int, int]
    """(row, col) of the goal; a floor cell different from ``start``."""

    def __post_init__(self) -> None:
        try:
            walls = np.array(self.walls, dtype=bool, copy=True)
        except (TypeError, ValueError) as exc:
            raise InvalidInputError(f"walls: expected an (N, N) bool array ({exc})") from None
        if walls.ndim != 2 or walls.shape[0] != walls.shape[1]:
            raise InvalidInputError(f"walls: expected a square (N, N) array, got shape {walls.shape}")
        n = walls.shape[0]
        if not MIN_SIZE <= n <= MAX_SIZE:
            raise InvalidInputError(f"walls: size must be in [{MIN_SIZE}, {MAX_SIZE}], got {n}")
        if not (walls[0].all() and walls[-1].all() and walls[:, 0].all() and walls[:, -1].all()):
            raise InvalidInputError("walls: every border cell must be a wall")
        walls.flags.writeable = False
        object.__setattr__(self, "walls", walls)
        for name in ("start", "goal"):
            cell = getattr(self, name)
            try:
                r, c = (int(v) for v in cell)
            except (TypeError, ValueError):
                raise InvalidInputError(f"{name}: expected (row, col), got {cell!r}") from None
            if not (0 <= r < n and 0 <= c < n):
                raise InvalidInputError(f"{name}: {(r, c)} is outside the {n}x{n} grid")
            if walls[r, c]:
                raise InvalidInputError(f"{name}: {(r, c)} is a wall")
            object.__setattr__(self, name, (r, c))
        if self.start == self.goal:
            raise InvalidInputError(f"start and goal must differ, both are {self.start}")

    @property
    def size(self) -> int:
        """Grid side N."""
        return int(self.walls.shape[0])

    # ------------------------------------------------------------------ text form and key
    def to_text(self) -> str:
        """Rows of ``#``/``.``/``S``/``G`` joined by ``\\n`` (no trailing newline)."""
        grid = np.where(self.walls, "#", ".")
        grid[self.start] = "S"
        grid[self.goal] = "G"
        return "\n".join("".join(row) for row in grid)

    @classmethod
    def from_text(cls, text: str, *, require_solvable: bool = False) -> "MazeLevel":
        """Parse the text form. Surrounding blank lines and per-line surrounding whitespace are
        ignored. Raises :class:`InvalidInputError` on a malformed string (or, with
        ``require_solvable``, an unsolvable level)."""
        if not isinstance(text, str):
            raise InvalidInputError(f"level text must be a str, got {type(text).__name__}")
        rows = [line.strip() for line in text.strip().splitlines()]
        if not rows or not rows[0]:
            raise InvalidInputError("level text is empty")
        n = len(rows)
        for i, row in enumerate(rows):
            if len(row) != n:
                raise InvalidInputError(
                    f"level text must be square: row {i} has {len(row)} characters, expected {n}")
            bad = set(row) - _CHARS
            if bad:
                raise InvalidInputError(
                    f"level text row {i} has characters {sorted(bad)}; allowed are '#', '.', 'S', 'G'")
        joined = "".join(rows)
        for ch in "SG":
            if joined.count(ch) != 1:
                raise InvalidInputError(f"level text must have exactly one {ch!r}, found {joined.count(ch)}")
        grid = np.array([list(r) for r in rows])
        start = tuple(int(v) for v in np.argwhere(grid == "S")[0])
        goal = tuple(int(v) for v in np.argwhere(grid == "G")[0])
        level = cls(grid == "#", start, goal)
        if require_solvable:
            level.require_solvable()
        return level

    @cached_property
    def key(self) -> str:
        """Stable hash: hex SHA-1 of :meth:`to_text` (level ids, duplicate checks)."""
        return hashlib.sha1(self.to_text().encode()).hexdigest()

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, MazeLevel):
            return NotImplemented
        return self.key == other.key

    def __hash__(self) -> int:
        return hash(self.key)

    def __reduce__(self) -> tuple:
        # rebuild through the constructor: validated, walls read-only again after unpickling
        return (MazeLevel, (self.walls, self.start, self.goal))

    def __repr__(self) -> str:
        return f"MazeLevel(size={self.size}, start={self.start}, goal={self.goal}, key={self.key[:10]})"

    # ------------------------------------------------------------------ BFS
    @cached_property
    def goal_distances(self) -> np.ndarray:
        """(N, N) int64 BFS distance from each cell to the goal; -1 for walls and cells that
        cannot reach it. Read-only."""
        n = self.size
        dist = np.full((n, n), -1, dtype=np.int64)
        dist[self.goal] = 0
        queue = deque([self.goal])
        walls = self.walls
        while queue:
            r, c = queue.popleft()
            d = dist[r, c] + 1
            for dr, dc in ((-1, 0), (0, 1), (1, 0), (0, -1)):
                rr, cc = r + dr, c + dc
                if not walls[rr, cc] and dist[rr, cc] < 0:
                    dist[rr, cc] = d
                    queue.append((rr, cc))
        dist.flags.writeable = False
        return dist

    def shortest_path_length(self) -> int | None:
        """Number of moves on a shortest start-to-goal path (BFS), or None if unsolvable."""
        d = int(self.goal_distances[self.start])
        return d if d >= 0 else None

    def is_solvable(self) -> bool:
        """True when the goal can be reached from the start."""
        return self.goal_distances[self.start] >= 0

    def require_solvable(self) -> "MazeLevel":
        """Return ``self``, or raise :class:`InvalidInputError` if the goal is unreachable."""
        if not self.is_solvable():
            raise InvalidInputError(
                f"level {self.key[:10]} is unsolvable: goal {self.goal} cannot be reached from "
                f"start {self.start}\n{self.to_text()}")
        return self

    @cached_property
    def optimal_action_mask(self) -> np.ndarray:
        """(N, N, 4) bool: True where an action moves one step closer to the goal (all False on
        walls, the goal and cells that cannot reach it). Read-only."""
        n = self.size
        dist = self.goal_distances
        mask = np.zeros((n, n, 4), dtype=bool)
        inner = (slice(1, n - 1), slice(1, n - 1))
        here = dist[inner]
        for a, (dr, dc) in enumerate(MOVES):
            there = dist[1 + dr:n - 1 + dr, 1 + dc:n - 1 + dc]
            mask[1:n - 1, 1:n - 1, a] = (here > 0) & (there >= 0) & (there == here - 1)
        mask.flags.writeable = False
        return mask


def as_levels(levels: object, *, name: str = "levels", require_solvable: bool = True) -> list[MazeLevel]:
    """Validate a non-empty sequence of :class:`MazeLevel` (or level strings) into a list."""
    if isinstance(levels, (MazeLevel, str)):
        levels = [levels]
    try:
        items = list(levels)  # type: ignore[call-overload]
    except TypeError:
        raise InvalidInputError(f"{name}: expected a sequence of MazeLevel, got {type(levels).__name__}") from None
    if not items:
        raise InvalidInputError(f"{name}: at least one level is needed")
    out = []
    for i, lv in enumerate(items):
        if isinstance(lv, str):
            lv = MazeLevel.from_text(lv)
        if not isinstance(lv, MazeLevel):
            raise InvalidInputError(f"{name}[{i}]: expected a MazeLevel, got {type(lv).__name__}")
        if require_solvable:
            lv.require_solvable()
        out.append(lv)
    return out
