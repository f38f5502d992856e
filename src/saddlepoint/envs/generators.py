"""Random maze generators and the hand-designed held-out mazes.

:class:`MazeGenerator` places a fixed number of interior walls uniformly at random (the wall
density), a uniform start on a floor cell, and a goal drawn uniformly among the floor cells whose
BFS distance from the start lies in the requested optimal-path range; a draw with no such cell is
rejected and redrawn, at most ``max_tries`` times. :data:`NARROW` and :data:`BROAD` are the
training and held-out distributions of the IMAC and synthetic-offline-data reproductions.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from saddlepoint.envs.maze import MAX_SIZE, MazeLevel
from saddlepoint.errors import InvalidInputError


@dataclass(frozen=True)
class MazeGenerator:
    """A distribution over solvable N x N maze levels."""

    size: int = 11
    """Grid side N (border included); at least 5."""
    wall_density: float = 0.1
    """Fraction of interior cells that are walls (exactly ``round(density * (N-2)^2)`` of them),
    in [0, 0.8]."""
    path_length: tuple[int, int] = (1, 6)
    """Inclusive range (lo, hi) of the BFS optimal path length from start to goal; lo >= 1."""
    max_tries: int = 1000
    """Rejection-sampling budget per level; exceeding it raises InvalidInputError."""

    def __post_init__(self) -> None:
        if isinstance(self.size, bool) or not isinstance(self.size, (int, np.integer)) \
                or not 5 <= self.size <= MAX_SIZE:
            raise InvalidInputError(f"size must be an integer in [5, {MAX_SIZE}], got {self.size!r}")
        if not isinstance(self.wall_density, (int, float)) or not 0.0 <= self.wall_density <= 0.8:
            raise InvalidInputError(f"wall_density must be in [0, 0.8], got {self.wall_density!r}")
        try:
            lo, hi = (int(v) for v in self.path_length)
        except (TypeError, ValueError):
            raise InvalidInputError(f"path_length must be a pair (lo, hi), got {self.path_length!r}") from None
        interior = (self.size - 2) ** 2
        if not 1 <= lo <= hi:
            raise InvalidInputError(f"path_length must satisfy 1 <= lo <= hi, got {(lo, hi)}")
        if lo > interior - 1 - self.n_walls:
            raise InvalidInputError(
                f"path_length lo = {lo} is infeasible: a {self.size}x{self.size} grid with "
                f"{self.n_walls} interior walls has only {interior - self.n_walls} floor cells")
        object.__setattr__(self, "path_length", (lo, hi))
        if isinstance(self.max_tries, bool) or not isinstance(self.max_tries, int) or self.max_tries < 1:
            raise InvalidInputError(f"max_tries must be a positive integer, got {self.max_tries!r}")

    @property
    def n_walls(self) -> int:
        """Number of interior walls of every sampled level."""
        return int(round(self.wall_density * (self.size - 2) ** 2))

    def sample(self, rng: np.random.Generator) -> MazeLevel:
        """One level; raises InvalidInputError after ``max_tries`` rejected draws."""
        n, lo, hi = self.size, *self.path_length
        inner = n - 2
        for _ in range(self.max_tries):
            walls = np.ones((n, n), dtype=bool)
            flat = np.zeros(inner * inner, dtype=bool)
            flat[rng.choice(inner * inner, size=self.n_walls, replace=False)] = True
            walls[1:-1, 1:-1] = flat.reshape(inner, inner)
            free = np.flatnonzero(~walls.ravel())
            start = divmod(int(free[rng.integers(free.size)]), n)
            dist = _bfs(walls, start)
            cand = np.flatnonzero((dist.ravel() >= lo) & (dist.ravel() <= hi))
            if cand.size:
                goal = divmod(int(cand[rng.integers(cand.size)]), n)
                return MazeLevel(walls, start, goal)
        raise InvalidInputError(
            f"could not sample a level with path_length in {self.path_length} at wall_density "
            f"{self.wall_density} on a {n}x{n} grid in {self.max_tries} tries; the parameters are "
            "infeasible or nearly so")

    def sample_many(self, n: int, rng: np.random.Generator, *, unique: bool = True,
                    exclude: object = ()) -> list[MazeLevel]:
        """``n`` levels; with ``unique`` no two share a key and none is in ``exclude`` (levels or
        keys). Gives up when ``max_tries`` draws in a row bring no new level."""
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
            raise InvalidInputError(f"n must be a non-negative integer, got {n!r}")
        seen = {lv.key if isinstance(lv, MazeLevel) else str(lv) for lv in exclude}  # type: ignore[union-attr]
        out: list[MazeLevel] = []
        misses = 0
        while len(out) < n:
            level = self.sample(rng)
            if unique and level.key in seen:
                misses += 1
                if misses >= self.max_tries:
                    raise InvalidInputError(
                        f"could only sample {len(out)} of {n} distinct levels from {self} "
                        f"({self.max_tries} duplicate draws in a row); the distribution has too "
                        "few distinct levels")
                continue
            misses = 0
            seen.add(level.key)
            out.append(level)
        return out


NARROW = MazeGenerator(size=11, wall_density=0.1, path_length=(1, 6))
"""Training distribution: 11x11, low wall density (10% of interior), goal within 6 steps."""

BROAD = MazeGenerator(size=11, wall_density=0.3, path_length=(8, 20))
"""Held-out distribution: 11x11, higher wall density (30%), optimal path 8-20 steps."""


def _bfs(walls: np.ndarray, source: tuple[int, int]) -> np.ndarray:
    """(N, N) BFS distances from ``source`` (-1 where unreachable); walls must enclose the grid."""
    n = walls.shape[0]
    dist = np.full((n, n), -1, dtype=np.int64)
    dist[source] = 0
    queue = deque([source])
    while queue:
        r, c = queue.popleft()
        d = dist[r, c] + 1
        for rr, cc in ((r - 1, c), (r, c + 1), (r + 1, c), (r, c - 1)):
            if not walls[rr, cc] and dist[rr, cc] < 0:
                dist[rr, cc] = d
                queue.append((rr, cc))
    return dist


# ---------------------------------------------------------------------- held-out mazes
def _rooms(n: int) -> MazeLevel:
    """Four rooms split by a wall cross, one door in each arm of the cross; start and goal in
    opposite rooms."""
    walls = _box(n)
    m = n // 2
    walls[m, :] = True
    walls[:, m] = True
    q1, q3 = (1 + m) // 2, (m + n - 1) // 2
    for r, c in ((m, q1), (m, q3), (q1, m), (q3 + 1 if q3 + 1 < n - 1 else q3, m)):
        walls[r, c] = False
    return MazeLevel(walls, (1, 1), (n - 2, n - 2))


def _corridor(n: int) -> MazeLevel:
    """One long serpentine corridor: horizontal runs joined alternately at the right and left."""
    walls = _box(n)
    for k, r in enumerate(range(2, n - 2, 2)):
        walls[r, 1:n - 1] = True
        walls[r, n - 2 if k % 2 == 0 else 1] = False
    last = max(range(1, n - 1, 2))
    goal_col = n - 2 if ((n - 3) // 2) % 2 == 0 else 1
    return MazeLevel(walls, (1, 1), (last, goal_col))


def _spiral(n: int) -> MazeLevel:
    """A square spiral corridor from the outer ring to the centre."""
    walls = np.ones((n, n), dtype=bool)
    r, c = 1, 1
    dr, dc = 0, 1
    walls[r, c] = False
    while True:
        moved = False
        for _ in range(4):
            r2, c2 = r + 2 * dr, c + 2 * dc
            if 1 <= r2 <= n - 2 and 1 <= c2 <= n - 2 and walls[r2, c2] and _spiral_clear(walls, r2, c2, dr, dc):
                walls[r + dr, c + dc] = False
                walls[r2, c2] = False
                r, c = r2, c2
                moved = True
                break
            dr, dc = dc, -dr
        if not moved:
            break
    return MazeLevel(walls, (1, 1), (r, c))


def _spiral_clear(walls: np.ndarray, r: int, c: int, dr: int, dc: int) -> bool:
    """Whether the cell two steps ahead keeps a wall between it and any earlier corridor."""
    ahead = (r + dr, c + dc)
    n = walls.shape[0]
    if not (0 <= ahead[0] < n and 0 <= ahead[1] < n):
        return True
    return bool(walls[ahead]) if 1 <= ahead[0] <= n - 2 and 1 <= ahead[1] <= n - 2 else True


def _labyrinth(n: int) -> MazeLevel:
    """A perfect maze (one path between any two cells) carved by a depth-first search with a
    fixed seed, so it is the same on every machine; start and goal at opposite corners."""
    walls = np.ones((n, n), dtype=bool)
    rng = np.random.default_rng(20261203 + n)
    top = n - 2 if (n - 2) % 2 == 1 else n - 3
    stack = [(1, 1)]
    walls[1, 1] = False
    while stack:
        r, c = stack[-1]
        nbrs = [(r + dr, c + dc, dr, dc) for dr, dc in ((-2, 0), (0, 2), (2, 0), (0, -2))
                if 1 <= r + dr <= top and 1 <= c + dc <= top and walls[r + dr, c + dc]]
        if not nbrs:
            stack.pop()
            continue
        r2, c2, dr, dc = nbrs[rng.integers(len(nbrs))]
        walls[r + dr // 2, c + dc // 2] = False
        walls[r2, c2] = False
        stack.append((r2, c2))
    return MazeLevel(walls, (1, 1), (top, top))


def _box(n: int) -> np.ndarray:
    walls = np.zeros((n, n), dtype=bool)
    walls[0, :] = walls[-1, :] = walls[:, 0] = walls[:, -1] = True
    return walls


HELD_OUT_NAMES = ("rooms", "corridor", "spiral", "labyrinth")
_BUILDERS = {"rooms": _rooms, "corridor": _corridor, "spiral": _spiral, "labyrinth": _labyrinth}


def held_out_mazes(size: int = 11) -> list[MazeLevel]:
    """The hand-designed held-out mazes of side ``size`` (odd, 7 to 25), in the order of
    :data:`HELD_OUT_NAMES`: ``rooms``
    (four rooms, one door per wall), ``corridor`` (one long serpentine corridor), ``spiral``
    (square spiral to the centre), ``labyrinth`` (a fixed perfect maze). All are solvable."""
    return [held_out_maze(name, size) for name in HELD_OUT_NAMES]


def held_out_maze(name: str, size: int = 11) -> MazeLevel:
    """One hand-designed held-out maze by name (see :func:`held_out_mazes`)."""
    if name not in _BUILDERS:
        raise InvalidInputError(f"unknown held-out maze {name!r}; known: {', '.join(HELD_OUT_NAMES)}")
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size % 2 == 0 \
            or not 7 <= size <= 25:
        raise InvalidInputError(f"size must be an odd integer in [7, 25], got {size!r}")
    return _BUILDERS[name](int(size)).require_solvable()
