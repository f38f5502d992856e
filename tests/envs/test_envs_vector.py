"""The vectorised simulator: equal to the single-level gymnasium Env step for step, seeding,
auto-reset callback, rewards and time limit, buffers, RGB themes, and every bad-input error."""

import numpy as np
import pytest

from saddlepoint.envs.generators import BROAD, NARROW, MazeGenerator, held_out_mazes
from saddlepoint.envs.gym import MazeEnv
from saddlepoint.envs.maze import MazeLevel
from saddlepoint.envs.observations import (
    DISTRACTOR_PALETTE, TEST_THEMES, TRAIN_THEMES, VisualTheme, egocentric_obs, static_frame,
    symbolic_obs,
)
from saddlepoint.envs.vector import MazeVectorEnv
from saddlepoint.errors import InvalidInputError

LEVELS = NARROW.sample_many(12, np.random.default_rng(0)) + BROAD.sample_many(4, np.random.default_rng(1))
STEP_RIGHT = MazeLevel.from_text("#####\n#SG.#\n#...#\n#...#\n#####")


@pytest.mark.parametrize("obs_mode, size, view_size", [
    ("symbolic", 11, 5), ("egocentric", 11, 5), ("rgb", 11, 5),
    ("symbolic", 9, 5), ("egocentric", 13, 3), ("egocentric", 9, 13), ("rgb", 13, 5)])
def test_vector_equals_single_env_step_for_step(obs_mode, size, view_size):
    b, steps = 6, 120
    rng = np.random.default_rng(7)
    pool = LEVELS if size == 11 else MazeGenerator(size=size, wall_density=0.15, path_length=(1, 8)).sample_many(
        16, np.random.default_rng(size))
    seqs = [[pool[i] for i in rng.integers(len(pool), size=80)] for _ in range(b)]
    vec_iters = [iter(s) for s in seqs]
    vec = MazeVectorEnv(num_envs=b, max_steps=12, obs_mode=obs_mode, size=size, seed=0, view_size=view_size,
                        level_fn=lambda i, _rng: next(vec_iters[i]), themes=TRAIN_THEMES[3])
    singles = []
    for s in seqs:
        it = iter(s)
        singles.append(MazeEnv(level_fn=lambda _rng, it=it: next(it), size=size, max_steps=12,
                               obs_mode=obs_mode, themes=TRAIN_THEMES[3], view_size=view_size))
    obs, info = vec.reset()
    for i, env in enumerate(singles):
        o, inf = env.reset(seed=i)
        assert np.array_equal(obs[i], o) and info["level_key"][i] == inf["level_key"]
    finished = 0
    for _ in range(steps):
        actions = rng.integers(0, 4, size=b)
        obs, rew, term, trunc, info = vec.step(actions)
        for i, env in enumerate(singles):
            o, r, te, tr, inf = env.step(int(actions[i]))
            assert (r, te, tr) == (rew[i], term[i], trunc[i])
            assert isinstance(rew[i], np.float32) and abs(r - float(rew[i])) < 1e-7
            if te or tr:
                finished += 1
                assert np.array_equal(info["final_obs"][i], o)
                assert info["final_level_key"][i] == inf["level_key"]
                assert info["episode_steps"][i] == env.elapsed_steps
                o, inf = env.reset()
            else:
                assert not info["final_obs"][i].any()
            assert np.array_equal(obs[i], o)
            assert info["level_key"][i] == inf["level_key"]
            assert tuple(vec.agent_pos[i]) == env.pos
    assert finished > 2 * b                                # both terminations and truncations seen
    assert rew.dtype == np.float32 and term.dtype == bool and trunc.dtype == bool


def test_reward_and_time_limit():
    env = MazeVectorEnv([STEP_RIGHT], num_envs=2, max_steps=5, seed=0)
    env.reset()
    obs, rew, term, trunc, info = env.step(np.array([1, 0]))    # slot 0 reaches the goal
    assert term.tolist() == [True, False] and not trunc.any()
    assert rew[0] == np.float32(1 - 0.9 * 1 / 5) and rew[1] == 0
    assert info["episode_steps"].tolist() == [1, 0]
    assert env.elapsed_steps.tolist() == [0, 1]
    for t in range(2, 6):                                       # slot 1 keeps bumping the wall
        obs, rew, term, trunc, info = env.step(np.array([0, 0]))
        assert trunc[1] == (t == 5) and not term[1] and rew[1] == 0
    assert info["episode_steps"][1] == 5
    # reaching the goal on the last allowed step is a termination, not a truncation
    env.reset()
    env.step(np.array([0, 0]))
    env.step(np.array([0, 0]))
    env2 = MazeVectorEnv([STEP_RIGHT], num_envs=1, max_steps=1, seed=0)
    env2.reset()
    _, rew, term, trunc, _ = env2.step(np.array([1]))
    assert term[0] and not trunc[0] and rew[0] == np.float32(0.1)


def test_same_seed_same_rollout():
    def rollout(seed):
        env = MazeVectorEnv(LEVELS, num_envs=8, max_steps=10, obs_mode="rgb", themes="test", seed=seed)
        out = [env.reset()[0]]
        rng = np.random.default_rng(0)
        for _ in range(30):
            obs, rew, term, trunc, info = env.step(rng.integers(0, 4, size=8))
            out += [obs, rew, term, trunc, info["final_obs"], info["level_key"].astype(str)]
        return out

    a, b, c = rollout(3), rollout(3), rollout(4)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not all(np.array_equal(x, y) for x, y in zip(a, c))
    env = MazeVectorEnv(LEVELS, num_envs=8, seed=1)
    first = env.reset(seed=3)[1]["level_key"]
    assert np.array_equal(env.reset(seed=3)[1]["level_key"], first)


def test_auto_reset_callback_used():
    calls = []
    fresh = MazeGenerator(size=11, wall_density=0.2, path_length=(1, 3))

    def level_fn(i, rng):
        lv = fresh.sample(rng)
        calls.append((i, lv.key))
        return lv

    env = MazeVectorEnv(LEVELS[:2], num_envs=4, max_steps=6, level_fn=level_fn, seed=0)
    obs, info = env.reset()
    assert [c[0] for c in calls] == [0, 1, 2, 3]
    assert [c[1] for c in calls] == list(info["level_key"])
    assert (info["level_index"] == -1).all()                # not in the given list
    rng = np.random.default_rng(0)
    for _ in range(20):
        n_before = len(calls)
        obs, rew, term, trunc, info = env.step(rng.integers(0, 4, size=4))
        done = np.flatnonzero(term | trunc)
        new_calls = calls[n_before:]
        assert [c[0] for c in new_calls] == done.tolist()
        for (i, key) in new_calls:
            assert info["level_key"][i] == key
            assert np.array_equal(obs[i], symbolic_obs(env.levels[i], env.levels[i].start))
    assert len(calls) > 8


def test_default_sampler_level_index_and_set_levels():
    env = MazeVectorEnv(LEVELS, num_envs=64, seed=0)
    obs, info = env.reset()
    keys = [lv.key for lv in LEVELS]
    assert all(keys[j] == k for j, k in zip(info["level_index"], info["level_key"]))
    assert len(set(info["level_index"])) > 8                # uniform over the list
    extra = held_out_mazes(11)[:2]
    obs = env.set_levels([3, 5], extra)
    assert env.levels[3] == extra[0] and env.levels[5] == extra[1]
    assert np.array_equal(obs[3], symbolic_obs(extra[0], extra[0].start))
    assert env.elapsed_steps[3] == 0
    _, _, _, _, info = env.step(np.zeros(64, dtype=np.int64))
    assert info["level_index"][3] == -1 and info["level_key"][5] == extra[1].key


def test_level_table_compaction_keeps_obs_right():
    gen = MazeGenerator(size=9, wall_density=0.2, path_length=(1, 2))
    env = MazeVectorEnv(num_envs=8, max_steps=3, size=9, seed=0, max_cached_levels=1,
                        level_fn=lambda i, rng: gen.sample(rng))
    env.reset()
    rng = np.random.default_rng(1)
    for _ in range(60):
        obs, *_ = env.step(rng.integers(0, 4, size=8))
        for i, lv in enumerate(env.levels):
            assert np.array_equal(obs[i], symbolic_obs(lv, tuple(env.agent_pos[i])))
    assert len(env._table) <= env._table.max_rows


def test_buffers_copy_and_views():
    env = MazeVectorEnv(LEVELS, num_envs=4, seed=0)
    obs, _ = env.reset()
    obs[:] = 5.0                                            # a copy: the env does not see this
    obs2, *_ = env.step(np.zeros(4, dtype=np.int64))
    assert obs2.max() == 1.0
    fast = MazeVectorEnv(LEVELS, num_envs=4, seed=0, copy=False)
    view, _ = fast.reset()
    assert not view.flags.writeable
    with pytest.raises(ValueError):
        view[0, 0, 0, 0] = 1.0
    kept, before = view.copy(), fast.agent_pos
    nxt, _, _, _, info = fast.step(np.full(4, 2))
    assert not info["final_obs"].flags.writeable
    assert np.array_equal(view, nxt)                       # the old view shows the new state
    assert (fast.agent_pos != before).any() and not np.array_equal(kept, nxt)


def test_egocentric_outside_is_wall():
    level = MazeLevel.from_text("#####\n#S..#\n#...#\n#..G#\n#####")
    env = MazeVectorEnv([level], num_envs=1, obs_mode="egocentric", view_size=5, seed=0)
    obs, _ = env.reset()
    assert obs.shape == (1, 3, 5, 5) and obs.dtype == np.float32
    assert obs[0, 0, :2].all() and obs[0, 0, :, :2].all()   # rows/cols above-left of (1, 1)
    assert obs[0, 2, 2, 2] == 1 and obs[0, 2].sum() == 1
    assert obs[0, 1, 4, 4] == 1                              # goal two down, two right
    assert np.array_equal(obs[0], egocentric_obs(level, (1, 1), 5))
    env3 = MazeVectorEnv([level], num_envs=1, obs_mode="egocentric", view_size=3, seed=0)
    assert env3.reset()[0].shape == (1, 3, 3, 3)


def test_rgb_shape_dtype_and_themes():
    level = LEVELS[0]
    env = MazeVectorEnv([level], num_envs=16, obs_mode="rgb", themes="train", seed=0)
    obs, _ = env.reset()
    assert obs.shape == (16, 33, 33, 3) and obs.dtype == np.uint8
    idx = env.theme_index
    assert len(set(idx)) > 3
    i, j = np.flatnonzero(idx != idx[0])[0], 0
    assert not np.array_equal(obs[i], obs[j])               # same level, different theme
    theme = TRAIN_THEMES[idx[j]]
    r, c = level.goal
    assert (obs[j, 3 * r:3 * r + 3, 3 * c:3 * c + 3] == theme.goal).all()
    r, c = level.start
    assert (obs[j, 3 * r:3 * r + 3, 3 * c:3 * c + 3] == theme.agent).all()
    assert (obs[j, :3, :3] == theme.wall).all()               # corner wall cell
    # named sets: 4 backgrounds x 2 walls for training; test backgrounds unseen in training
    assert len(TRAIN_THEMES) == 8 and len({(t.background, t.wall) for t in TRAIN_THEMES}) == 8
    train_bg = {t.background for t in TRAIN_THEMES}
    assert any(t.background not in train_bg for t in TEST_THEMES)
    assert any(t.noise > 0 for t in TEST_THEMES) and any(t.distractors > 0 for t in TEST_THEMES)
    rng = np.random.default_rng(0)
    flat = static_frame(level, VisualTheme(), rng)
    noisy = static_frame(level, VisualTheme(noise=0.35), rng)
    floor = ~np.kron(level.walls, np.ones((3, 3), bool))
    assert len(np.unique(flat[floor], axis=0)) <= 2          # background and goal
    assert len(np.unique(noisy[floor], axis=0)) > 50
    blobs = static_frame(level, VisualTheme(distractors=8), rng)
    palette = {tuple(p) for p in DISTRACTOR_PALETTE}
    assert sum(tuple(p) in palette for p in blobs.reshape(-1, 3)) > 10
    assert (blobs[np.kron(level.walls, np.ones((3, 3), bool))] == VisualTheme().wall).all()


def test_rgb_moves_agent_and_restores_floor():
    env = MazeVectorEnv([STEP_RIGHT], num_envs=1, obs_mode="rgb", themes="test", seed=2, max_steps=8)
    first = env.reset(seed=2)[0][0]
    theme = TEST_THEMES[env.theme_index[0]]
    obs, *_ = env.step(np.array([2]))                       # down to (2, 1)
    frame = obs[0]
    assert (frame[6:9, 3:6] == theme.agent).all()
    assert np.array_equal(frame[3:6, 3:6], env._static[0][3:6, 3:6])   # old cell shows the floor
    assert not np.array_equal(first, frame)


def test_bad_inputs():
    lv = LEVELS[0]
    for kwargs, match in [({"num_envs": 0}, "num_envs"), ({"num_envs": 2, "max_steps": 0}, "max_steps"),
                          ({"num_envs": 2, "obs_mode": "pixels"}, "obs_mode"),
                          ({"num_envs": 2, "view_size": 4}, "view_size"),
                          ({"num_envs": 2, "cell_px": 0}, "cell_px"),
                          ({"num_envs": 2, "themes": "night"}, "theme set"),
                          ({"num_envs": 2, "themes": [1, 2]}, "themes"),
                          ({"num_envs": 2, "level_fn": 3}, "level_fn")]:
        with pytest.raises(InvalidInputError, match=match):
            MazeVectorEnv([lv], **kwargs)
    with pytest.raises(InvalidInputError, match="levels, level_fn"):
        MazeVectorEnv(num_envs=2)
    with pytest.raises(InvalidInputError, match="size is required"):
        MazeVectorEnv(num_envs=2, level_fn=lambda i, rng: lv)
    with pytest.raises(InvalidInputError, match="unsolvable"):
        MazeVectorEnv([MazeLevel.from_text("#####\n#S#G#\n#####\n#####\n#####")], num_envs=2)
    env = MazeVectorEnv([lv], num_envs=3, seed=0)
    with pytest.raises(InvalidInputError, match="reset"):
        env.step(np.zeros(3, dtype=int))
    env.reset()
    for bad, match in [(np.zeros(2, int), "shape"), (np.zeros(3), "integers"),
                       (np.array([0, 4, 1]), "0..3"), (np.array([0, -1, 1]), "0..3")]:
        with pytest.raises(InvalidInputError, match=match):
            env.step(bad)
    with pytest.raises(InvalidInputError, match="size 9"):
        env.set_levels([0], [MazeGenerator(size=9).sample(np.random.default_rng(0))])
    with pytest.raises(InvalidInputError, match="slot indices"):
        env.set_levels([5], [lv])
    with pytest.raises(InvalidInputError, match="distinct"):
        env.set_levels([1, 1], [lv, lv])
    with pytest.raises(InvalidInputError, match="expected 2 levels"):
        env.set_levels([0, 1], [lv])
    bad_fn = MazeVectorEnv(num_envs=2, size=11, level_fn=lambda i, rng: "nope")
    with pytest.raises(InvalidInputError, match="level_fn returned str"):
        bad_fn.reset()
