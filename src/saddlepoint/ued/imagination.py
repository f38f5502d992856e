"""The world model as an environment: imagined levels stepped in a batch, with the interface of
:class:`saddlepoint.envs.vector.MazeVectorEnv` (``reset``/``step``/``set_levels``, auto-reset
through ``level_fn``, ``info["final_obs"]``).

An imagined level is ``lambda = (c, H)`` (:class:`ImaginedLevel`): ``c`` indexes a transition of
the offline dataset whose observation (walls, goal, agent cell) and elapsed time start the
episode, and ``H`` is the imagination horizon. The episode ends when the model predicts
termination (``terminated``, reward from the model's reward head) or after ``H`` imagined steps
or at the maze's time limit ``T`` (``truncated``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np

from saddlepoint.config import check_positive_int
from saddlepoint.errors import InvalidInputError, require
from saddlepoint.rng import make_rng
from saddlepoint.ued.world_model import MazeWorldModel, world_model_data

torch = require("torch", "torch")


class ImaginedLevel(NamedTuple):
    """lambda = (context index into the dataset, imagination horizon H)."""

    context: int
    horizon: int


def check_level(level: Any, num_contexts: int) -> ImaginedLevel:
    """Validate ``(context, horizon)``; raise one clear error otherwise."""
    try:
        c, h = (int(v) for v in level)
    except (TypeError, ValueError):
        raise InvalidInputError(f"an imagined level is (context, horizon), got {level!r}") from None
    if h <= 0:
        raise InvalidInputError(f"imagination horizon must be a positive integer, got {h}")
    if not 0 <= c < num_contexts:
        raise InvalidInputError(f"context index must lie in [0, {num_contexts}), got {c}")
    return ImaginedLevel(c, h)


def uniform_levels(num_contexts: int, horizons: Sequence[int] | int) -> Callable[[np.random.Generator], ImaginedLevel]:
    """A fresh-level generator: uniform context, horizon uniform over ``horizons`` (or fixed)."""
    hs = np.atleast_1d(np.asarray(horizons, dtype=np.int64))
    if hs.size == 0 or (hs <= 0).any():
        raise InvalidInputError(f"horizons must be positive integers, got {horizons!r}")
    check_positive_int("num_contexts", num_contexts)

    def new_level(rng: np.random.Generator) -> ImaginedLevel:
        return ImaginedLevel(int(rng.integers(num_contexts)), int(hs[rng.integers(hs.size)]))

    return new_level


class ImaginationVectorEnv:
    """B imagined episodes stepped at once inside a :class:`MazeWorldModel`.

    ``level_fn(env_index, rng) -> (c, H)`` picks the level of each slot that (auto-)resets;
    the default draws a uniform context with horizon ``horizon``. ``sample`` draws the next
    cell and termination from the model (False: most likely outcome). Observations are the
    symbolic ``(B, 3, N, N)`` float32 batch the real maze returns.
    """

    def __init__(self, model: MazeWorldModel, dataset, *, num_envs: int, horizon: int = 32,
                 level_fn: Callable[[int, np.random.Generator], Any] | None = None, seed: int | None = None,
                 sample: bool = True, max_steps: int | None = None) -> None:
        check_positive_int("num_envs", num_envs)
        check_positive_int("horizon", horizon)
        self.model = model.eval()
        self.max_steps = int(max_steps if max_steps is not None else model.config.max_steps)
        check_positive_int("max_steps", self.max_steps)
        data = world_model_data(dataset, self.max_steps)
        self.num_envs, self.horizon, self.sample, self.level_fn = int(num_envs), int(horizon), bool(sample), level_fn
        self.num_contexts = len(dataset)
        self._walls_all = torch.from_numpy(data.walls)
        self._goal_all = torch.from_numpy(data.goal)
        self._agent_all = torch.from_numpy(data.agent)
        self._t0_all = torch.from_numpy(np.rint(data.time * self.max_steps).astype(np.int64))
        self.size = int(data.walls.shape[-1])
        self.single_obs_shape = (3, self.size, self.size)
        b, n = self.num_envs, self.size
        self._walls = torch.zeros((b, n, n), dtype=torch.bool)
        self._goal = torch.zeros((b, 2), dtype=torch.int64)
        self._pos = torch.zeros((b, 2), dtype=torch.int64)
        self._t = torch.zeros(b, dtype=torch.int64)        # elapsed maze time (context's + imagined)
        self._steps = torch.zeros(b, dtype=torch.int64)    # imagined steps in this episode
        self._h = torch.zeros(b, dtype=torch.int64)
        self._obs = torch.zeros((b, 3, n, n), dtype=torch.float32)
        self._levels: list[ImaginedLevel] = [ImaginedLevel(0, self.horizon)] * b
        self._ar = torch.arange(b)
        self.rng = make_rng(seed)
        self._gen = torch.Generator().manual_seed(int(self.rng.integers(2**63)))
        self._started = False

    # ------------------------------------------------------------------ public API
    @property
    def levels(self) -> list[ImaginedLevel]:
        """The imagined level each slot is playing."""
        return list(self._levels)

    @property
    def agent_pos(self) -> np.ndarray:
        """(B, 2) int64 imagined agent cells (a copy)."""
        return self._pos.numpy().copy()

    @property
    def elapsed_steps(self) -> np.ndarray:
        """(B,) imagined steps taken in each slot's current episode (a copy)."""
        return self._steps.numpy().copy()

    def reset(self, seed: int | None = None) -> tuple[np.ndarray, dict[str, Any]]:
        """Start a new imagined episode in every slot; ``seed`` reseeds the generators."""
        if seed is not None:
            self.rng = make_rng(seed)
            self._gen = torch.Generator().manual_seed(int(self.rng.integers(2**63)))
        idx = np.arange(self.num_envs)
        self._start(idx, self._draw(idx))
        self._started = True
        return self._obs.numpy().copy(), self._info()

    def set_levels(self, idx: np.ndarray | Sequence[int], levels: Sequence[Any]) -> np.ndarray:
        """Start new episodes on the given imagined levels in slots ``idx``; return all observations."""
        if not self._started:
            raise InvalidInputError("call reset() before set_levels()")
        idx = np.asarray(idx, dtype=np.int64).reshape(-1)
        if len(levels) != idx.size:
            raise InvalidInputError(f"levels: expected {idx.size} levels for {idx.size} slots, got {len(levels)}")
        if idx.size and (idx.min() < 0 or idx.max() >= self.num_envs):
            raise InvalidInputError(f"idx: slot indices must be in [0, {self.num_envs}), got {idx}")
        self._start(idx, [check_level(lv, self.num_contexts) for lv in levels])
        return self._obs.numpy().copy()

    def step(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        """One imagined step per slot: ``(obs, reward, terminated, truncated, info)`` with the
        real maze's auto-reset conventions (``info["final_obs"]``, ``info["final_level"]``)."""
        if not self._started:
            raise InvalidInputError("call reset() before step()")
        a = np.asarray(actions)
        if a.shape != (self.num_envs,) or a.dtype.kind not in "iu" or (a.size and (a.min() < 0 or a.max() > 3)):
            raise InvalidInputError(f"actions: expected shape ({self.num_envs},) of integers in 0..3, got {a!r}")
        act = torch.from_numpy(a.astype(np.int64))
        old = self._pos
        new, reward, done = self.model.step(self._walls, self._goal, old, act, self._t.float() / self.max_steps,
                                            generator=self._gen, sample=self.sample)
        self._obs[self._ar, 2, old[:, 0], old[:, 1]] = 0.0
        self._obs[self._ar, 2, new[:, 0], new[:, 1]] = 1.0
        self._pos = new
        self._t += 1
        self._steps += 1
        terminated = done.numpy()
        truncated = ((self._steps >= self._h) | (self._t >= self.max_steps)).numpy() & ~terminated
        reward = np.where(terminated, reward.numpy(), 0.0).astype(np.float32)
        finished = np.flatnonzero(terminated | truncated)
        final = np.zeros((self.num_envs, *self.single_obs_shape), dtype=np.float32)
        info: dict[str, Any] = {"episode_steps": np.where(terminated | truncated, self._steps.numpy(), 0)}
        if finished.size:
            final[finished] = self._obs[finished].numpy()
            info["final_level"] = list(self._levels)
            self._start(finished, self._draw(finished))
        info.update(self._info())
        info.setdefault("final_level", info["level"])
        info["final_obs"] = final
        return self._obs.numpy().copy(), reward, terminated, truncated, info

    def state_dict(self) -> dict[str, Any]:
        """The generators' states (levels and positions are reset by ``set_levels``)."""
        return {"rng": self.rng.bit_generator.state, "torch_generator": self._gen.get_state()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore :meth:`state_dict`."""
        self.rng.bit_generator.state = state["rng"]
        self._gen.set_state(state["torch_generator"])

    def close(self) -> None:
        """Nothing to release (kept for the vector-env interface)."""

    # ------------------------------------------------------------------ internals
    def _draw(self, idx: np.ndarray) -> list[ImaginedLevel]:
        if self.level_fn is None:  # vectorised uniform contexts at the default horizon
            ctx = self.rng.integers(self.num_contexts, size=len(idx))
            return [ImaginedLevel(int(c), self.horizon) for c in ctx]
        return [check_level(self.level_fn(int(i), self.rng), self.num_contexts) for i in idx]

    def _info(self) -> dict[str, Any]:
        return {"level": list(self._levels)}

    def _start(self, idx: np.ndarray, levels: Sequence[ImaginedLevel]) -> None:
        if not len(idx):
            return
        ctx = torch.as_tensor([lv.context for lv in levels], dtype=torch.int64)
        ti = torch.as_tensor(np.asarray(idx, dtype=np.int64))
        self._walls[ti] = self._walls_all[ctx]
        self._goal[ti] = self._goal_all[ctx]
        self._pos[ti] = self._agent_all[ctx]
        self._t[ti] = self._t0_all[ctx]
        self._steps[ti] = 0
        self._h[ti] = torch.as_tensor([lv.horizon for lv in levels], dtype=torch.int64)
        obs = torch.zeros((len(idx), 3, self.size, self.size))
        obs[:, 0] = self._walls[ti].float()
        r = torch.arange(len(idx))
        obs[r, 1, self._goal[ti, 0], self._goal[ti, 1]] = 1.0
        obs[r, 2, self._pos[ti, 0], self._pos[ti, 1]] = 1.0
        self._obs[ti] = obs
        for i, lv in zip(np.asarray(idx).tolist(), levels):
            self._levels[i] = lv
