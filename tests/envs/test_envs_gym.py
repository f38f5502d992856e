"""gymnasium conventions: check_env, registration, make / make_vec, seeding, render, errors."""

import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from saddlepoint.envs.generators import BROAD, NARROW
from saddlepoint.envs.gym import ENV_ID, MazeEnv, MazeGymVectorEnv
from saddlepoint.errors import InvalidInputError


@pytest.mark.parametrize("obs_mode", ["symbolic", "egocentric", "rgb"])
def test_check_env_passes(obs_mode):
    env = MazeEnv(obs_mode=obs_mode, render_mode="rgb_array", themes="test")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_env(env)
    messages = [str(w.message) for w in caught if "spec" not in str(w.message)]
    assert messages == []


@pytest.mark.slow                                           # imports torch through SB3
def test_stable_baselines3_env_checker_passes():
    from stable_baselines3.common.env_checker import check_env as sb3_check_env

    for obs_mode in ("symbolic", "rgb"):
        sb3_check_env(MazeEnv(obs_mode=obs_mode, cell_px=4), warn=False)   # raises on a failure


def test_registered_make_and_make_vec():
    assert ENV_ID in gym.registry
    env = gym.make(ENV_ID, levels=BROAD.sample_many(3, np.random.default_rng(0)), obs_mode="rgb")
    obs, info = env.reset(seed=0)
    assert obs.shape == (33, 33, 3) and env.observation_space.contains(obs)
    vec = gym.make_vec(ENV_ID, num_envs=5, vectorization_mode="vector_entry_point", obs_mode="egocentric")
    assert isinstance(vec, MazeGymVectorEnv)
    obs, info = vec.reset(seed=0)
    assert obs.shape == (5, 3, 5, 5) and vec.observation_space.contains(obs)
    for _ in range(70):                                     # past the time limit: autoreset happens
        obs, rew, term, trunc, info = vec.step(vec.action_space.sample())
        assert vec.observation_space.contains(obs)
        assert np.array_equal(info["_final_obs"], term | trunc)
    assert vec.metadata["autoreset_mode"] == gym.vector.AutoresetMode.SAME_STEP
    # the sync vector env built from our single env agrees on spaces
    sync = gym.make_vec(ENV_ID, num_envs=5, vectorization_mode="sync", obs_mode="egocentric")
    assert sync.single_observation_space == vec.single_observation_space
    sync.close()


def test_seeded_reset_same_rollout():
    def rollout(seed):
        env = MazeEnv(generator=NARROW, obs_mode="rgb", themes="test")
        out = [env.reset(seed=seed)[0]]
        for a in np.random.default_rng(0).integers(0, 4, size=40):
            o, r, te, tr, _ = env.step(int(a))
            out += [o, np.float32(r), te, tr]
            if te or tr:
                out.append(env.reset()[0])
        return out

    a, b, c = rollout(11), rollout(11), rollout(12)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not all(np.array_equal(x, y) for x, y in zip(a, c))
    vec_a = MazeGymVectorEnv(4, obs_mode="symbolic")
    vec_b = MazeGymVectorEnv(4, obs_mode="symbolic")
    assert np.array_equal(vec_a.reset(seed=5)[0], vec_b.reset(seed=5)[0])


def test_render_and_options_level():
    level = NARROW.sample(np.random.default_rng(0))
    env = MazeEnv(level, render_mode="rgb_array")
    obs, info = env.reset(seed=0)
    frame = env.render()
    assert frame.shape == (33, 33, 3) and frame.dtype == np.uint8
    assert info["level_key"] == level.key
    rgb = MazeEnv(level, obs_mode="rgb", render_mode="rgb_array")
    o, _ = rgb.reset(seed=0)
    assert np.array_equal(o, rgb.render())
    assert MazeEnv(level).render() is None
    other = BROAD.sample(np.random.default_rng(1))
    _, info = env.reset(options={"level": other})
    assert info["level_key"] == other.key and env.pos == other.start


def test_gym_bad_inputs():
    level = NARROW.sample(np.random.default_rng(0))
    with pytest.raises(InvalidInputError, match="render_mode"):
        MazeEnv(level, render_mode="human")
    with pytest.raises(InvalidInputError, match="at most one"):
        MazeEnv(level, generator=NARROW)
    with pytest.raises(InvalidInputError, match="size"):
        MazeEnv(level_fn=lambda rng: level)
    with pytest.raises(InvalidInputError, match="generator"):
        MazeEnv(generator="narrow")
    env = MazeEnv(level)
    with pytest.raises(InvalidInputError, match="reset"):
        env.step(0)
    env.reset(seed=0)
    for bad in (4, -1, 1.5, "up", True):
        with pytest.raises(InvalidInputError, match="action"):
            env.step(bad)
    assert env.step(np.int64(1))[0].shape == (3, 11, 11)
    with pytest.raises(InvalidInputError, match="level"):
        env.reset(options={"level": "#####"})
    with pytest.raises(InvalidInputError, match="render mode"):
        MazeGymVectorEnv(2, render_mode="rgb_array")
    with pytest.raises(InvalidInputError, match="at most one"):
        MazeGymVectorEnv(2, [level], generator=NARROW)
