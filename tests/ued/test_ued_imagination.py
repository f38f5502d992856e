"""Imagination environment: the world model behind the real maze's vector-env interface."""

from __future__ import annotations

import numpy as np
import pytest

from saddlepoint.envs.vector import MazeVectorEnv
from saddlepoint.errors import InvalidInputError
from saddlepoint.ued.imagination import ImaginationVectorEnv, ImaginedLevel, check_level, uniform_levels
from saddlepoint.ued.world_model import MazeWorldModel


@pytest.fixture(scope="module")
def model(trained_world_model):
    return trained_world_model[0]


def test_interface_matches_real_maze(model, narrow_dataset, narrow_levels):
    imagined = ImaginationVectorEnv(model, narrow_dataset, num_envs=6, seed=0)
    real = MazeVectorEnv(narrow_levels, num_envs=6, seed=0)
    (io, ii), (ro, _) = imagined.reset(), real.reset()
    assert io.shape == ro.shape and io.dtype == ro.dtype
    acts = np.zeros(6, dtype=np.int64)
    for a, b in zip(imagined.step(acts), real.step(acts)):
        assert np.shape(a) == np.shape(b)
    assert len(ii["level"]) == 6 and isinstance(ii["level"][0], ImaginedLevel)


def test_episode_starts_from_context_and_respects_horizon(model, narrow_dataset):
    env = ImaginationVectorEnv(model, narrow_dataset, num_envs=3, seed=1, sample=False)
    env.reset()
    levels = [ImaginedLevel(0, 1), ImaginedLevel(5, 3), ImaginedLevel(len(narrow_dataset) - 1, 2)]
    obs = env.set_levels(np.arange(3), levels)
    np.testing.assert_array_equal(obs, narrow_dataset.observations[[0, 5, len(narrow_dataset) - 1]])
    _, _, term, trunc, info = env.step(np.zeros(3, dtype=np.int64))
    assert (term | trunc)[0]  # H = 1
    assert info["final_level"][0] == levels[0]


def test_auto_reset_uses_level_fn_and_same_seed_same_rollout(model, narrow_dataset):
    calls = []

    def level_fn(i, rng):
        calls.append(i)
        return (int(rng.integers(len(narrow_dataset))), 4)

    def run(seed):
        env = ImaginationVectorEnv(model, narrow_dataset, num_envs=4, level_fn=level_fn, seed=seed)
        env.reset()
        rng = np.random.default_rng(0)
        out = []
        for _ in range(12):
            obs, rew, term, trunc, _ = env.step(rng.integers(0, 4, size=4))
            out.append((obs, rew, term, trunc))
            assert np.all(env.elapsed_steps <= 4)
        return out

    a, b = run(7), run(7)
    assert len(calls) > 8  # every slot re-drew at least once
    for x, y in zip(a, b):
        for u, v in zip(x, y):
            np.testing.assert_array_equal(u, v)


def test_deterministic_model_follows_real_dynamics(model, narrow_dataset, narrow_levels):
    """A trained model, most-likely mode, reproduces the real maze's next cell on most steps."""
    env = ImaginationVectorEnv(model, narrow_dataset, num_envs=32, seed=0, sample=False)
    env.reset()
    starts = narrow_dataset.episode_starts[:32]
    env.set_levels(np.arange(32), [ImaginedLevel(int(c), 64) for c in starts])
    acts = narrow_dataset.actions[starts]
    env.step(acts.astype(np.int64))
    truth = narrow_dataset.next_observations[starts][:, 2].reshape(32, -1).argmax(1)
    pred = env.agent_pos[:, 0] * env.size + env.agent_pos[:, 1]
    assert np.mean(pred == truth) > 0.8


def test_bad_levels_get_clear_errors(model, narrow_dataset):
    with pytest.raises(InvalidInputError, match="horizon"):
        check_level((0, 0), 10)
    with pytest.raises(InvalidInputError, match="context"):
        check_level((10, 4), 10)
    with pytest.raises(InvalidInputError, match="horizon"):
        ImaginationVectorEnv(model, narrow_dataset, num_envs=2, horizon=-1)
    with pytest.raises(InvalidInputError, match="horizons"):
        uniform_levels(10, [4, 0])
    env = ImaginationVectorEnv(model, narrow_dataset, num_envs=2)
    with pytest.raises(InvalidInputError, match="reset"):
        env.step(np.zeros(2, dtype=np.int64))
    env.reset()
    with pytest.raises(InvalidInputError, match="actions"):
        env.step(np.array([0, 7]))


def test_untrained_model_env_runs(narrow_dataset):
    env = ImaginationVectorEnv(MazeWorldModel(), narrow_dataset, num_envs=5, seed=0)
    obs, _ = env.reset()
    for _ in range(5):
        obs, rew, term, trunc, info = env.step(np.full(5, 2))
        assert np.all(np.isfinite(rew)) and obs[:, 2].reshape(5, -1).sum(1).tolist() == [1.0] * 5
