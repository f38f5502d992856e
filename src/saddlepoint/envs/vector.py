"""Vectorised maze simulator: B levels stepped at once in NumPy, with auto-reset.

Every level the simulator meets gets one row in a :class:`_LevelTable` (move table, observation
template, goal, start), so a step is a handful of whole-batch index operations: one gather for the
move (``next = move[level, position, action]``), a comparison with the goal, and two scattered
writes that move the agent's one-hot in the preallocated observation buffer. Finished slots are
reset in the same step to a level from the level source (uniform over ``levels`` by default,
vectorised; or a per-slot callback ``level_fn(env_index, rng)``, where level samplers plug in).

Observation ownership: with ``copy=True`` (default) every returned array is a fresh copy. With
``copy=False`` ``reset``/``step``/``set_levels`` return read-only views of internal buffers
(observations, ``final_obs``, the ``level_key``/``level_index`` arrays) that are overwritten by
the next call: copy what you keep (a rollout buffer that stores ``obs`` at once needs no copy).
This is gymnasium's ``copy`` convention for vector envs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from saddlepoint.envs.maze import MOVES, MazeLevel, as_levels
from saddlepoint.envs.observations import (
    VisualTheme, as_themes, check_obs_mode, obs_shape, static_frame,
)
from saddlepoint.errors import InvalidInputError
from saddlepoint.rng import make_rng

LevelFn = Callable[[int, np.random.Generator], MazeLevel]


class _LevelTable:
    """Per-level precomputed arrays, one row per distinct level (by key), grown on demand and
    compacted to the rows still in use when ``max_rows`` is reached."""

    def __init__(self, size: int, view_size: int, max_rows: int) -> None:
        """``view_size`` > 0 also stores every cell's egocentric window (k x k, 3 channels)."""
        self.size, self.nn = size, size * size
        self.view_size = view_size
        self.max_rows = max_rows
        self.rows: dict[str, int] = {}
        self.levels: list[MazeLevel] = []
        self._cap = 0
        self.move = np.zeros((0, self.nn * 4), dtype=np.int32)    # next flat position
        self.template = np.zeros((0, 3 * self.nn), dtype=np.float32)  # wall, goal channels
        self.goal = np.zeros(0, dtype=np.int64)
        self.start = np.zeros(0, dtype=np.int64)
        # egocentric windows: (rows, N*N * 3*k*k) uint8, one (3, k, k) window per agent cell
        self.ego = np.zeros((0, self.nn * 3 * view_size * view_size), dtype=np.uint8)
        self.optimal = np.zeros((0, self.nn * 4), dtype=bool)   # BFS-optimal actions per cell
        self.keys = np.zeros(0, dtype=object)
        self.list_index = np.zeros(0, dtype=np.int64)  # index in the env's ``levels`` or -1

    def __len__(self) -> int:
        return len(self.levels)

    @property
    def move_flat(self) -> np.ndarray:
        """``move`` as one flat array: entry ``row * 4N^2 + 4 * position + action``."""
        return self.move.reshape(-1)

    def row(self, level: MazeLevel, list_index: int = -1) -> int:
        key = level.key
        r = self.rows.get(key)
        if r is not None:
            return r
        if level.size != self.size:
            raise InvalidInputError(
                f"level {key[:10]} has size {level.size}, but this simulator runs {self.size}x{self.size} levels")
        level.require_solvable()
        r = len(self.levels)
        if r == self._cap:
            self._grow(max(16, 2 * self._cap))
        n, nn = self.size, self.nn
        cells = np.arange(nn)
        rr, cc = np.divmod(cells, n)
        for a, (dr, dc) in enumerate(MOVES):
            r2 = np.clip(rr + dr, 0, n - 1)
            c2 = np.clip(cc + dc, 0, n - 1)
            blocked = level.walls[r2, c2]
            self.move[r, a::4] = np.where(blocked, cells, r2 * n + c2)
        self.template[r] = 0.0
        self.template[r, :nn] = level.walls.ravel()
        self.template[r, nn + level.goal[0] * n + level.goal[1]] = 1.0
        self.optimal[r] = level.optimal_action_mask.reshape(-1)
        self.goal[r] = level.goal[0] * n + level.goal[1]
        self.start[r] = level.start[0] * n + level.start[1]
        if self.view_size:
            k = self.view_size
            rad = k // 2
            pad = np.zeros((3, n + 2 * rad, n + 2 * rad), dtype=np.uint8)
            pad[0] = 1
            pad[0, rad:rad + n, rad:rad + n] = level.walls
            pad[1, rad + level.goal[0], rad + level.goal[1]] = 1
            win = np.lib.stride_tricks.sliding_window_view(pad[:2], (k, k), axis=(1, 2))  # (2, N, N, k, k)
            ego = self.ego[r].reshape(n, n, 3, k, k)
            ego[:, :, :2] = win.transpose(1, 2, 0, 3, 4)
            ego[:, :, 2] = 0
            ego[:, :, 2, rad, rad] = 1
        self.keys[r] = key
        self.list_index[r] = list_index
        self.rows[key] = r
        self.levels.append(level)
        return r

    def _grow(self, cap: int) -> None:
        for name in ("move", "template", "optimal", "goal", "start", "ego", "keys", "list_index"):
            old = getattr(self, name)
            new = np.zeros((cap,) + old.shape[1:], dtype=old.dtype)
            new[:len(old)] = old
            setattr(self, name, new)
        self._cap = cap

    def compact(self, keep: np.ndarray) -> np.ndarray:
        """Keep only the rows in ``keep`` (sorted unique); return the old-to-new row map."""
        remap = np.full(len(self.levels), -1, dtype=np.int64)
        remap[keep] = np.arange(len(keep))
        for name in ("move", "template", "optimal", "goal", "start", "ego", "keys", "list_index"):
            arr = getattr(self, name)
            arr[:len(keep)] = arr[keep]
        self.levels = [self.levels[i] for i in keep]
        self.rows = {lv.key: i for i, lv in enumerate(self.levels)}
        return remap


class MazeVectorEnv:
    """B maze levels stepped at once, auto-resetting finished slots.

    Parameters
    ----------
    levels:
        Levels to draw from uniformly on (auto-)reset when ``level_fn`` is None; also fixes
        ``info["level_index"]`` (the index of a slot's level in this list, -1 otherwise).
    num_envs:
        B, the number of slots.
    max_steps:
        Time limit T; an episode is truncated after T steps.
    obs_mode:
        ``"symbolic"``, ``"egocentric"`` or ``"rgb"`` (see :mod:`saddlepoint.envs.observations`).
    level_fn:
        ``level_fn(env_index, rng) -> MazeLevel`` called for each slot that (auto-)resets.
    seed:
        Seed of the simulator's generator (level draws, themes, clutter); ``reset(seed=)``
        reseeds it.
    view_size:
        k of the egocentric view (odd).
    themes:
        Visual themes of the RGB mode (a set name such as ``"train"``, one theme or a sequence);
        each episode draws one uniformly.
    cell_px:
        Pixels per cell in the RGB mode.
    size:
        Grid side N; defaults to the size of ``levels[0]`` (required when only ``level_fn`` is
        given). Every level must have this size.
    copy:
        Return copies (True) or read-only views of internal buffers (False); see the module
        docstring.
    max_cached_levels:
        Bound on the distinct levels kept in the precomputed table; when reached, the table is
        compacted to the levels in use (relevant for generators that make a fresh level per
        episode). A level takes about 4 KB at N = 11 (13 KB in the egocentric mode).
    """

    def __init__(self, levels: Sequence[MazeLevel] | None = None, *, num_envs: int,
                 max_steps: int = 64, obs_mode: str = "symbolic", level_fn: LevelFn | None = None,
                 seed: int | None = None, view_size: int = 5,
                 themes: str | VisualTheme | Sequence[VisualTheme] | None = None, cell_px: int = 3,
                 size: int | None = None, copy: bool = True, max_cached_levels: int = 8192) -> None:
        if isinstance(num_envs, bool) or not isinstance(num_envs, (int, np.integer)) or num_envs < 1:
            raise InvalidInputError(f"num_envs must be a positive integer, got {num_envs!r}")
        if isinstance(max_steps, bool) or not isinstance(max_steps, (int, np.integer)) or max_steps < 1:
            raise InvalidInputError(f"max_steps must be a positive integer, got {max_steps!r}")
        check_obs_mode(obs_mode, view_size, cell_px)
        if levels is None and level_fn is None:
            raise InvalidInputError("give levels, level_fn or both")
        if level_fn is not None and not callable(level_fn):
            raise InvalidInputError(f"level_fn must be callable, got {type(level_fn).__name__}")
        self._levels = as_levels(levels) if levels is not None else []
        if size is None:
            if not self._levels:
                raise InvalidInputError("size is required when only level_fn is given")
            size = self._levels[0].size
        if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 3:
            raise InvalidInputError(f"size must be an integer >= 3, got {size!r}")
        self.num_envs, self.max_steps, self.obs_mode = int(num_envs), int(max_steps), obs_mode
        self.size, self.view_size, self.cell_px = int(size), int(view_size), int(cell_px)
        self.level_fn, self.copy = level_fn, bool(copy)
        self.themes = as_themes(themes)
        self.single_obs_shape = obs_shape(obs_mode, self.size, self.view_size, self.cell_px)
        self.rng = make_rng(seed)
        b, n = self.num_envs, self.size
        self._table = _LevelTable(n, self.view_size if obs_mode == "egocentric" else 0,
                                  max(int(max_cached_levels), len(self._levels) + 2 * b + 16))
        self._index_of_key = {lv.key: i for i, lv in reversed(list(enumerate(self._levels)))}
        self._base_rows = np.array([self._table.row(lv, i) for i, lv in enumerate(self._levels)],
                                   dtype=np.int64)
        self._ar = np.arange(b)
        self._agent_base = self._ar * (3 * n * n) + 2 * n * n   # flat index of agent channel
        self._row = np.zeros(b, dtype=np.int64)
        self._move_base = np.zeros(b, dtype=np.int64)
        self._pos = np.zeros(b, dtype=np.int64)
        self._goal = np.zeros(b, dtype=np.int64)
        self._t = np.zeros(b, dtype=np.int64)
        self._theme = np.zeros(b, dtype=np.int64)
        self._obs = np.zeros((b,) + self.single_obs_shape,
                             dtype=np.uint8 if obs_mode == "rgb" else np.float32)
        self._final = np.zeros_like(self._obs)
        self._final_rows = np.zeros(0, dtype=np.int64)
        self._keys = np.zeros(b, dtype=object)
        self._list_idx = np.zeros(b, dtype=np.int64)
        self._started = False
        if obs_mode == "rgb":
            # flat byte offsets: an agent cell is px x px pixels x 3 channels
            px = self.cell_px
            w = n * px
            cells = np.arange(n * n)
            self._px_topleft = 3 * ((cells // n) * px * w + (cells % n) * px)
            self._px_block = (3 * (np.arange(px)[:, None, None] * w + np.arange(px)[None, :, None])
                              + np.arange(3)).ravel()
            self._px_slot = self._ar * self._obs[0].size
            self._static = np.zeros_like(self._obs)
            self._static_cache: dict[tuple[str, int], np.ndarray] = {}
            self._agent_px = np.array([np.tile(t.agent, px * px) for t in self.themes], dtype=np.uint8)

    # ------------------------------------------------------------------ public API
    @property
    def levels(self) -> list[MazeLevel]:
        """The level each slot is playing now."""
        tl = self._table.levels
        return [tl[r] for r in self._row]

    @property
    def base_levels(self) -> list[MazeLevel]:
        """The ``levels`` given at construction (a copy of the list)."""
        return list(self._levels)

    @property
    def agent_pos(self) -> np.ndarray:
        """(B, 2) int64 (row, col) of each agent (a copy)."""
        return np.stack(np.divmod(self._pos, self.size), axis=1)

    def optimal_action_mask(self) -> np.ndarray:
        """(B, 4) bool: the actions that bring each agent one step closer to its goal (BFS);
        see :mod:`saddlepoint.envs.policies`."""
        tl = self._table
        return tl.optimal.reshape(-1, 4)[self._row * tl.nn + self._pos]

    @property
    def elapsed_steps(self) -> np.ndarray:
        """(B,) steps taken in each slot's current episode (a copy)."""
        return self._t.copy()

    @property
    def theme_index(self) -> np.ndarray:
        """(B,) index into ``themes`` of each slot's current theme (a copy)."""
        return self._theme.copy()

    def reset(self, seed: int | None = None) -> tuple[np.ndarray, dict[str, Any]]:
        """Start a new episode in every slot. ``seed`` reseeds the simulator's generator."""
        if seed is not None:
            self.rng = make_rng(seed)
        self._reset_slots(self._ar.copy())
        self._started = True
        self._final[self._final_rows] = 0
        self._final_rows = np.zeros(0, dtype=np.int64)
        return self._out(self._obs), self._info()

    def step(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        """Apply one action per slot. Returns ``(obs, reward, terminated, truncated, info)``;
        finished slots are reset in the same call: ``obs`` holds their new episode's first
        observation, ``info["final_obs"]`` their last one (rows of unfinished slots are zero) and
        ``info["final_level_key"]``/``["final_level_index"]`` their level."""
        if not self._started:
            raise InvalidInputError("call reset() before step()")
        a = np.asarray(actions)
        if a.shape != self._ar.shape or a.dtype.kind not in "iu":
            raise InvalidInputError(
                f"actions: expected shape ({self.num_envs},) of integers, got shape {a.shape} dtype {a.dtype}")
        if (a & ~3).any():
            raise InvalidInputError(f"actions must be in 0..3, got values in [{a.min()}, {a.max()}]")
        old = self._pos
        new = self._table.move_flat.take(self._move_base + (old << 2) + a)
        self._pos = new
        t = self._t
        t += 1
        terminated = new == self._goal
        truncated = t >= self.max_steps
        truncated &= ~terminated
        reward = np.zeros(self.num_envs, dtype=np.float32)
        hit = np.flatnonzero(terminated)
        reward[hit] = 1.0 - 0.9 * t[hit] / self.max_steps
        self._draw_agent(old, new)
        done = terminated | truncated
        idx = np.flatnonzero(done)
        final = self._final
        if self._final_rows.size:
            final[self._final_rows] = 0
        final[idx] = self._obs[idx]
        self._final_rows = idx
        info = {"episode_steps": t * done}
        if idx.size:
            info["final_level_key"] = self._keys.copy()
            info["final_level_index"] = self._list_idx.copy()
            self._reset_slots(idx)
        info["level_key"] = self._out(self._keys)
        info["level_index"] = self._out(self._list_idx)
        if not idx.size:
            info["final_level_key"], info["final_level_index"] = info["level_key"], info["level_index"]
        if not self.copy:
            info["final_obs"] = self._readonly(final)
            return self._readonly(self._obs), reward, terminated, truncated, info
        # One allocation for both copies: two separate large allocations per step make glibc
        # return and re-fault their pages every step (measured ~6x slower).
        out = np.empty((2,) + final.shape, dtype=final.dtype)
        out[0] = self._obs
        out[1] = 0
        out[1, idx] = final[idx]
        info["final_obs"] = out[1]
        return out[0], reward, terminated, truncated, info

    def set_levels(self, idx: np.ndarray | Sequence[int], levels: Sequence[MazeLevel]) -> np.ndarray:
        """Start a new episode on the given levels in slots ``idx``; return the full observation
        batch (other slots unchanged)."""
        if not self._started:
            raise InvalidInputError("call reset() before set_levels()")
        idx = np.asarray(idx)
        if idx.ndim != 1 or (idx.size and idx.dtype.kind not in "iu"):
            raise InvalidInputError(f"idx: expected a 1-D array of slot indices, got shape {idx.shape}")
        idx = idx.astype(np.int64)
        if idx.size and (idx.min() < 0 or idx.max() >= self.num_envs):
            raise InvalidInputError(f"idx: slot indices must be in [0, {self.num_envs}), got {idx}")
        if np.unique(idx).size != idx.size:
            raise InvalidInputError("idx: slot indices must be distinct")
        lvls = as_levels(levels, name="levels") if idx.size else []
        if len(lvls) != idx.size:
            raise InvalidInputError(f"levels: expected {idx.size} levels for {idx.size} slots, got {len(lvls)}")
        rows = self._rows_for(lvls)
        self._start_episodes(idx, rows)
        return self._out(self._obs)

    def close(self) -> None:
        """Nothing to release (kept for the gymnasium-style interface)."""

    # ------------------------------------------------------------------ internals
    def _out(self, buf: np.ndarray) -> np.ndarray:
        return buf.copy() if self.copy else self._readonly(buf)

    @staticmethod
    def _readonly(buf: np.ndarray) -> np.ndarray:
        view = buf.view()
        view.flags.writeable = False
        return view

    def _info(self) -> dict[str, Any]:
        return {"level_key": self._out(self._keys), "level_index": self._out(self._list_idx)}

    def _rows_for(self, levels: Sequence[MazeLevel]) -> np.ndarray:
        tl = self._table
        if len(tl) + len(levels) > tl.max_rows:
            self._compact()
        index = self._index_of_key
        return np.array([tl.row(lv, index.get(lv.key, -1)) for lv in levels], dtype=np.int64)

    def _compact(self) -> None:
        tl = self._table
        keep = np.unique(np.concatenate([self._base_rows, self._row]))
        remap = tl.compact(keep)
        self._base_rows = remap[self._base_rows]
        self._row = remap[self._row]
        self._move_base = self._row * (tl.nn * 4)

    def _reset_slots(self, idx: np.ndarray) -> None:
        if self.level_fn is None:
            rows = self._base_rows[self.rng.integers(len(self._base_rows), size=idx.size)]
        else:
            levels = []
            for i in idx:
                lv = self.level_fn(int(i), self.rng)
                if not isinstance(lv, MazeLevel):
                    raise InvalidInputError(f"level_fn returned {type(lv).__name__}, expected a MazeLevel")
                levels.append(lv)
            rows = self._rows_for(levels)
        self._start_episodes(idx, rows)

    def _start_episodes(self, idx: np.ndarray, rows: np.ndarray) -> None:
        tl = self._table
        self._row[idx] = rows
        self._move_base[idx] = rows * (tl.nn * 4)
        self._goal[idx] = tl.goal[rows]
        self._keys[idx] = tl.keys[rows]
        self._list_idx[idx] = tl.list_index[rows]
        self._t[idx] = 0
        start = tl.start[rows]
        self._pos[idx] = start
        if len(self.themes) > 1:
            self._theme[idx] = self.rng.integers(len(self.themes), size=idx.size)
        mode, b = self.obs_mode, idx.size
        if mode == "symbolic":
            flat = self._obs.reshape(self.num_envs, -1)
            flat[idx] = tl.template[rows]
            flat[idx, 2 * tl.nn + start] = 1.0
        elif mode == "egocentric":
            self._obs.reshape(self.num_envs, -1)[idx] = self._ego(rows, start)
        else:
            for j in range(b):
                self._static[idx[j]] = self._static_for(rows[j], int(self._theme[idx[j]]))
            self._obs[idx] = self._static[idx]
            self._paint(idx, start, self._agent_px[self._theme[idx]])

    def _ego(self, rows: np.ndarray, pos: np.ndarray) -> np.ndarray:
        """(len(rows), 3*k*k) uint8 egocentric windows of the given levels and cells."""
        tl = self._table
        return tl.ego.reshape(-1, self._obs[0].size).take(rows * tl.nn + pos, axis=0)

    def _static_for(self, row: int, theme_idx: int) -> np.ndarray:
        theme = self.themes[theme_idx]
        level = self._table.levels[row]
        if not theme.is_static:
            return static_frame(level, theme, self.rng, self.cell_px)
        key = (level.key, theme_idx)
        frame = self._static_cache.get(key)
        if frame is None:
            if len(self._static_cache) >= self._table.max_rows:
                self._static_cache.clear()
            frame = self._static_cache[key] = static_frame(level, theme, None, self.cell_px)
        return frame

    def _paint(self, idx: np.ndarray, pos: np.ndarray, colour: np.ndarray) -> None:
        """Paint the agent (``colour``: (len(idx), px*px*3) bytes) at ``pos`` in slots ``idx``."""
        flat = self._obs.reshape(-1)
        flat[(self._px_slot[idx] + self._px_topleft[pos])[:, None] + self._px_block] = colour

    def _draw_agent(self, old: np.ndarray, new: np.ndarray) -> None:
        """Move every agent from ``old`` to ``new`` in the observation buffer."""
        mode = self.obs_mode
        if mode == "symbolic":
            flat = self._obs.reshape(-1)
            flat[self._agent_base + old] = 0.0
            flat[self._agent_base + new] = 1.0
        elif mode == "egocentric":
            self._obs.reshape(self.num_envs, -1)[:] = self._ego(self._row, new)
        else:
            old_px = (self._px_slot + self._px_topleft[old])[:, None] + self._px_block
            self._obs.reshape(-1)[old_px] = self._static.reshape(-1).take(old_px)
            self._paint(self._ar, new, self._agent_px[self._theme])
