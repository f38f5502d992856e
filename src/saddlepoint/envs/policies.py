"""BFS-optimal behaviour policies for data collection, vectorised over B slots.

An optimal action is one that moves the agent one step closer to the goal (BFS distance from
:attr:`MazeLevel.goal_distances`); each level's (N*N, 4) mask of optimal actions is cached by
level key. Ties go to the first optimal action in ``ACTIONS`` order, or are broken uniformly at
random when an ``rng`` is passed. On the goal cell or a cell that cannot reach the goal no action
is optimal: the policy then plays action 0 (``up``), or a uniform action with an ``rng``.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np

from saddlepoint.envs.maze import MazeLevel
from saddlepoint.errors import InvalidInputError


@lru_cache(maxsize=65536)
def _flat_mask(level: MazeLevel) -> np.ndarray:
    return level.optimal_action_mask.reshape(-1, 4)


def bfs_action(level: MazeLevel, pos: tuple[int, int], rng: np.random.Generator | None = None) -> int:
    """An optimal action at ``pos`` (row, col) of ``level``."""
    return int(optimal_actions([level], np.asarray([pos]), rng)[0])


def optimal_actions(levels: Sequence[MazeLevel], positions: np.ndarray,
                    rng: np.random.Generator | None = None) -> np.ndarray:
    """(B,) int64 optimal actions for slot ``b`` on ``levels[b]`` at ``positions[b]`` ((B, 2)
    row/col, e.g. ``MazeVectorEnv.agent_pos``)."""
    pos = np.asarray(positions)
    if pos.ndim != 2 or pos.shape[1] != 2 or pos.shape[0] != len(levels) or pos.dtype.kind not in "iu":
        raise InvalidInputError(
            f"positions: expected ({len(levels)}, 2) integer (row, col) pairs, got shape {pos.shape} dtype {pos.dtype}")
    if not len(levels):
        return np.zeros(0, dtype=np.int64)
    if not all(isinstance(lv, MazeLevel) for lv in levels):
        raise InvalidInputError("levels: expected a sequence of MazeLevel")
    sizes = np.array([lv.size for lv in levels])
    if (pos < 0).any() or (pos >= sizes[:, None]).any():
        raise InvalidInputError("positions: a (row, col) lies outside its level")
    cells = pos[:, 0] * sizes + pos[:, 1]
    if (sizes == sizes[0]).all():
        m = np.stack([_flat_mask(lv) for lv in levels])[np.arange(len(levels)), cells]   # (B, 4)
    else:
        m = np.stack([_flat_mask(lv)[c] for lv, c in zip(levels, cells)])
    return choose_optimal(m, rng)


def choose_optimal(mask: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
    """(B,) int64 actions from a (B, 4) bool mask of optimal actions: the first one, or a
    uniform one with ``rng``; a row with no optimal action gives 0, or a uniform action."""
    if rng is None:
        return np.argmax(mask, axis=1).astype(np.int64)
    allowed = mask | ~mask.any(axis=1, keepdims=True)  # nothing optimal: every action allowed
    score = rng.random(mask.shape)
    score[~allowed] = -1.0
    return np.argmax(score, axis=1).astype(np.int64)


def epsilon_greedy(actions: np.ndarray, epsilon: float, rng: np.random.Generator) -> np.ndarray:
    """Replace each action by a uniform one of the 4 with probability ``epsilon`` (a copy)."""
    if not isinstance(epsilon, (int, float)) or not 0.0 <= epsilon <= 1.0:
        raise InvalidInputError(f"epsilon must be in [0, 1], got {epsilon!r}")
    a = np.array(actions, dtype=np.int64)
    flip = rng.random(a.shape) < epsilon
    a[flip] = rng.integers(0, 4, size=int(flip.sum()))
    return a


class EpsilonBFSPolicy:
    """BFS-optimal with probability 1 - epsilon, uniform otherwise (epsilon = 1: uniform random);
    ties among optimal actions broken at random. Call as ``policy(levels, positions, rng)`` or
    ``policy.act(env, rng)`` for a :class:`~saddlepoint.envs.vector.MazeVectorEnv`."""

    def __init__(self, epsilon: float = 0.0) -> None:
        if not isinstance(epsilon, (int, float)) or not 0.0 <= epsilon <= 1.0:
            raise InvalidInputError(f"epsilon must be in [0, 1], got {epsilon!r}")
        self.epsilon = float(epsilon)

    def __call__(self, levels: Sequence[MazeLevel], positions: np.ndarray,
                 rng: np.random.Generator) -> np.ndarray:
        if self.epsilon >= 1.0:
            return rng.integers(0, 4, size=len(levels)).astype(np.int64)
        return epsilon_greedy(optimal_actions(levels, positions, rng), self.epsilon, rng)

    def act(self, env, rng: np.random.Generator) -> np.ndarray:
        """Actions for every slot of a :class:`~saddlepoint.envs.vector.MazeVectorEnv` (from its
        precomputed ``optimal_action_mask()``; same distribution as calling the policy on
        ``env.levels`` and ``env.agent_pos``)."""
        if self.epsilon >= 1.0:
            return rng.integers(0, 4, size=env.num_envs).astype(np.int64)
        return epsilon_greedy(choose_optimal(env.optimal_action_mask(), rng), self.epsilon, rng)

    def __repr__(self) -> str:
        return f"EpsilonBFSPolicy(epsilon={self.epsilon})"
