"""Shared fixtures for the UED tests: small symbolic maze datasets built by epsilon-greedy walks."""

from __future__ import annotations

import numpy as np
import pytest

from saddlepoint.envs.generators import BROAD, NARROW
from saddlepoint.envs.maze import MOVES
from saddlepoint.envs.observations import symbolic_obs
from saddlepoint.offline.dataset import TransitionDataset


def walk_dataset(levels, episodes_per_level: int, epsilon: float, seed: int, max_steps: int = 64) -> TransitionDataset:
    """Epsilon-greedy BFS walks (a test-only stand-in for offline.collect)."""
    rng = np.random.default_rng(seed)
    cols = {k: [] for k in ("obs", "act", "rew", "nobs", "term", "trunc", "lid")}
    starts = []
    for lid, level in enumerate(levels):
        for _ in range(episodes_per_level):
            starts.append(len(cols["act"]))
            pos = level.start
            for t in range(1, max_steps + 1):
                good = np.flatnonzero(level.optimal_action_mask[pos])
                a = int(rng.integers(4)) if (rng.random() < epsilon or good.size == 0) else int(rng.choice(good))
                nxt = (pos[0] + MOVES[a][0], pos[1] + MOVES[a][1])
                if level.walls[nxt]:
                    nxt = pos
                term = nxt == level.goal
                cols["obs"].append(symbolic_obs(level, pos))
                cols["act"].append(a)
                cols["rew"].append(1 - 0.9 * t / max_steps if term else 0.0)
                cols["nobs"].append(symbolic_obs(level, nxt))
                cols["term"].append(term)
                cols["trunc"].append(t == max_steps and not term)
                cols["lid"].append(lid)
                pos = nxt
                if term:
                    break
    return TransitionDataset(
        observations=np.asarray(cols["obs"], np.uint8), actions=np.asarray(cols["act"], np.int64),
        rewards=np.asarray(cols["rew"], np.float32), next_observations=np.asarray(cols["nobs"], np.uint8),
        terminated=np.asarray(cols["term"]), truncated=np.asarray(cols["trunc"]),
        level_ids=np.asarray(cols["lid"], np.int32), episode_starts=np.asarray(starts, np.int64),
        level_texts=tuple(lv.to_text() for lv in levels))


@pytest.fixture(scope="session")
def narrow_levels():
    return NARROW.sample_many(20, np.random.default_rng(0))


@pytest.fixture(scope="session")
def narrow_dataset(narrow_levels):
    return walk_dataset(narrow_levels, 4, 1.0, seed=0)


@pytest.fixture(scope="session")
def broad_dataset():
    return walk_dataset(BROAD.sample_many(10, np.random.default_rng(1)), 2, 0.3, seed=1)


@pytest.fixture(scope="session")
def trained_world_model(narrow_dataset):
    """(model, optimiser, metrics) of a world model fitted on ``narrow_dataset`` (shared by the UED tests)."""
    from saddlepoint.ued.world_model import WorldModelConfig, train_world_model

    return train_world_model(narrow_dataset, WorldModelConfig(updates=400, batch_size=256), seed=0)
