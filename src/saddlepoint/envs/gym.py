"""gymnasium front ends of the maze family (extra ``envs``).

- :class:`MazeEnv` is a plain single-level ``gymnasium.Env`` written step by step in Python: the
  reference the vectorised simulator is tested against, and the env to hand to libraries that
  want one (Stable-Baselines3, ``check_env``).
- :class:`MazeGymVectorEnv` is a ``gymnasium.vector.VectorEnv`` around
  :class:`~saddlepoint.envs.vector.MazeVectorEnv` (autoreset mode ``SAME_STEP``).

Importing this module registers ``saddlepoint/Maze-v0`` (``gymnasium.make`` builds a
:class:`MazeEnv`, ``gymnasium.make_vec(..., vectorization_mode="vector_entry_point")`` a
:class:`MazeGymVectorEnv`). Without arguments both draw levels from the narrow generator.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from saddlepoint.envs.generators import NARROW, MazeGenerator
from saddlepoint.envs.maze import MOVES, MazeLevel, as_levels
from saddlepoint.envs.observations import (
    VisualTheme, as_themes, check_obs_mode, egocentric_obs, obs_shape, rgb_obs, static_frame,
    symbolic_obs,
)
from saddlepoint.envs.vector import MazeVectorEnv
from saddlepoint.errors import InvalidInputError, require

gym = require("gymnasium", "envs")
from gymnasium import spaces  # noqa: E402
from gymnasium.vector import AutoresetMode  # noqa: E402
from gymnasium.vector.utils import batch_space  # noqa: E402

ENV_ID = "saddlepoint/Maze-v0"


def _level_source(levels: object, generator: MazeGenerator | None,
                  level_fn: Callable[[np.random.Generator], MazeLevel] | None, size: int | None
                  ) -> tuple[list[MazeLevel], Callable[[np.random.Generator], MazeLevel] | None, int]:
    """(level list, callback or None, grid size) from exactly one of the three sources."""
    given = sum(x is not None for x in (levels, generator, level_fn))
    if given > 1:
        raise InvalidInputError("give at most one of levels, generator and level_fn")
    if level_fn is not None:
        if not callable(level_fn):
            raise InvalidInputError(f"level_fn must be callable, got {type(level_fn).__name__}")
        if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 3:
            raise InvalidInputError(f"size (an integer >= 3) is required with level_fn, got {size!r}")
        return [], level_fn, int(size)
    if levels is not None:
        lv = as_levels(levels)
        sizes = {x.size for x in lv}
        if len(sizes) > 1:
            raise InvalidInputError(f"levels: every level must have the same size, got sizes {sorted(sizes)}")
        return lv, None, lv[0].size
    gen = NARROW if generator is None else generator
    if not isinstance(gen, MazeGenerator):
        raise InvalidInputError(f"generator: expected a MazeGenerator, got {type(gen).__name__}")
    return [], gen.sample, gen.size


def _spaces(obs_mode: str, size: int, view_size: int, cell_px: int) -> spaces.Box:
    shape = obs_shape(obs_mode, size, view_size, cell_px)
    if obs_mode == "rgb":
        return spaces.Box(0, 255, shape, dtype=np.uint8)
    return spaces.Box(0.0, 1.0, shape, dtype=np.float32)


class MazeEnv(gym.Env):
    """One maze at a time. Levels come from ``levels`` (one level, level strings or a sequence,
    drawn uniformly per episode), a ``generator`` (a fresh level per episode) or
    ``level_fn(rng)`` (then ``size`` is required); default: the narrow generator. ``reset(options={"level": level})`` plays
    a given level. ``render_mode="rgb_array"`` makes :meth:`render` return the RGB frame."""

    metadata = {"render_modes": ["rgb_array"], "render_fps": 8}

    def __init__(self, levels: MazeLevel | Sequence[MazeLevel] | None = None, *,
                 generator: MazeGenerator | None = None,
                 level_fn: Callable[[np.random.Generator], MazeLevel] | None = None,
                 max_steps: int = 64, obs_mode: str = "symbolic", view_size: int = 5,
                 themes: str | VisualTheme | Sequence[VisualTheme] | None = None, cell_px: int = 3,
                 render_mode: str | None = None, size: int | None = None) -> None:
        check_obs_mode(obs_mode, view_size, cell_px)
        if isinstance(max_steps, bool) or not isinstance(max_steps, (int, np.integer)) or max_steps < 1:
            raise InvalidInputError(f"max_steps must be a positive integer, got {max_steps!r}")
        if render_mode not in (None, "rgb_array"):
            raise InvalidInputError(f"render_mode must be None or 'rgb_array', got {render_mode!r}")
        self._levels, self._level_fn, self.size = _level_source(levels, generator, level_fn, size)
        self.max_steps, self.obs_mode = int(max_steps), obs_mode
        self.view_size, self.cell_px, self.render_mode = int(view_size), int(cell_px), render_mode
        self.themes = as_themes(themes)
        self.observation_space = _spaces(obs_mode, self.size, self.view_size, self.cell_px)
        self.action_space = spaces.Discrete(4)
        self.level: MazeLevel | None = None
        self.pos: tuple[int, int] = (0, 0)
        self.elapsed_steps = 0
        self.theme = self.themes[0]
        self._static: np.ndarray | None = None

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None
              ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        rng = self.np_random
        level = (options or {}).get("level")
        if level is None:
            level = self._level_fn(rng) if self._level_fn is not None else \
                self._levels[int(rng.integers(len(self._levels)))]
        if not isinstance(level, MazeLevel):
            raise InvalidInputError(f"level (from options or level_fn): expected a MazeLevel, got {type(level).__name__}")
        if level.size != self.size:
            raise InvalidInputError(f"level has size {level.size}, this env runs {self.size}x{self.size}")
        self.level = level.require_solvable()
        self.pos, self.elapsed_steps = level.start, 0
        if len(self.themes) > 1:
            self.theme = self.themes[int(rng.integers(len(self.themes)))]
        self._static = None
        if self.obs_mode == "rgb" or self.render_mode == "rgb_array":
            self._static = static_frame(level, self.theme, rng, self.cell_px)
        return self._obs(), {"level_key": level.key}

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        if self.level is None:
            raise InvalidInputError("call reset() before step()")
        if isinstance(action, np.ndarray) and action.shape == ():
            action = action.item()
        if isinstance(action, bool) or not isinstance(action, (int, np.integer)) or not 0 <= action <= 3:
            raise InvalidInputError(f"action must be an integer in 0..3, got {action!r}")
        dr, dc = MOVES[int(action)]
        r, c = self.pos[0] + int(dr), self.pos[1] + int(dc)
        if not self.level.walls[r, c]:
            self.pos = (r, c)
        self.elapsed_steps += 1
        terminated = self.pos == self.level.goal
        truncated = not terminated and self.elapsed_steps >= self.max_steps
        reward = 1.0 - 0.9 * self.elapsed_steps / self.max_steps if terminated else 0.0
        return self._obs(), float(reward), bool(terminated), bool(truncated), {"level_key": self.level.key}

    def render(self) -> np.ndarray | None:
        """The RGB frame (``render_mode="rgb_array"``); None without a render mode."""
        if self.render_mode != "rgb_array" or self.level is None:
            return None
        return rgb_obs(self._static, self.pos, self.theme, self.cell_px)

    def _obs(self) -> np.ndarray:
        if self.obs_mode == "symbolic":
            return symbolic_obs(self.level, self.pos)
        if self.obs_mode == "egocentric":
            return egocentric_obs(self.level, self.pos, self.view_size)
        return rgb_obs(self._static, self.pos, self.theme, self.cell_px)


class MazeGymVectorEnv(gym.vector.VectorEnv):
    """``num_envs`` mazes stepped by :class:`MazeVectorEnv`, with gymnasium's vector interface.

    Autoreset mode is ``SAME_STEP``: a finished slot's returned observation is the first of its
    next episode; ``info["final_obs"]`` is a (B, ...) array holding the last observation of
    finished slots (zero rows elsewhere) and ``info["_final_obs"]`` marks them. ``level_fn``
    here takes ``(env_index, rng)`` (give ``size`` with it); ``copy=False`` returns read-only views of the simulator's
    buffers (see :mod:`saddlepoint.envs.vector`)."""

    metadata = {"autoreset_mode": AutoresetMode.SAME_STEP, "render_modes": []}

    def __init__(self, num_envs: int = 8, levels: MazeLevel | Sequence[MazeLevel] | None = None, *,
                 generator: MazeGenerator | None = None,
                 level_fn: Callable[[int, np.random.Generator], MazeLevel] | None = None,
                 max_steps: int = 64, obs_mode: str = "symbolic", view_size: int = 5,
                 themes: str | VisualTheme | Sequence[VisualTheme] | None = None, cell_px: int = 3,
                 copy: bool = True, seed: int | None = None, render_mode: str | None = None,
                 size: int | None = None) -> None:
        if render_mode is not None:
            raise InvalidInputError("MazeGymVectorEnv has no render mode; use obs_mode='rgb'")
        if levels is None and level_fn is None:
            gen = NARROW if generator is None else generator
            if not isinstance(gen, MazeGenerator):
                raise InvalidInputError(f"generator: expected a MazeGenerator, got {type(gen).__name__}")
            level_fn, size = (lambda i, rng: gen.sample(rng)), gen.size
        elif generator is not None:
            raise InvalidInputError("give at most one of levels/level_fn and generator")
        self.sim = MazeVectorEnv(None if levels is None else as_levels(levels), num_envs=num_envs,
                                 max_steps=max_steps, obs_mode=obs_mode, level_fn=level_fn, seed=seed,
                                 view_size=view_size, themes=themes, cell_px=cell_px, size=size, copy=copy)
        self.num_envs = self.sim.num_envs
        self.single_observation_space = _spaces(obs_mode, self.sim.size, self.sim.view_size, self.sim.cell_px)
        self.single_action_space = spaces.Discrete(4)
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None
              ) -> tuple[np.ndarray, dict[str, Any]]:
        if seed is not None:
            self._np_random, self._np_random_seed = gym.utils.seeding.np_random(seed)
        return self.sim.reset(seed=seed)

    def step(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        obs, reward, terminated, truncated, info = self.sim.step(np.asarray(actions))
        info["_final_obs"] = terminated | truncated
        return obs, reward, terminated, truncated, info


def register() -> None:
    """Register ``saddlepoint/Maze-v0`` with gymnasium (idempotent; done on import)."""
    if ENV_ID not in gym.registry:
        gym.register(id=ENV_ID, entry_point="saddlepoint.envs.gym:MazeEnv",
                     vector_entry_point="saddlepoint.envs.gym:MazeGymVectorEnv",
                     disable_env_checker=False)


register()
