"""Augmentations: shared draw per (o, o') pair, geometric relabelling keeps transitions valid, errors."""

import numpy as np
import pytest

pytest.importorskip("kornia")

from saddlepoint.errors import InvalidInputError  # noqa: E402
from saddlepoint.offline.augment import (AugmentConfig, augment_transitions, background_mask,  # noqa: E402
                                         flip_actions, rotate_actions)

MOVES = np.array([(-1, 0), (0, 1), (1, 0), (0, -1)])  # up, right, down, left (maze contract)
PX = 3
WALL, FLOOR, AGENT, GOAL = (40, 40, 40), (200, 180, 150), (220, 30, 30), (30, 200, 30)


def _grid(rng, n=11):
    walls = rng.random((n, n)) < 0.1
    walls[0, :] = walls[-1, :] = walls[:, 0] = walls[:, -1] = True
    return walls


def _render(walls, agent, goal):
    n = walls.shape[0]
    img = np.empty((n, n, 3), np.uint8)
    img[:] = FLOOR
    img[walls] = WALL
    img[goal] = GOAL
    img[agent] = AGENT
    return np.repeat(np.repeat(img, PX, 0), PX, 1)


def _step(walls, pos, a):
    r, c = pos[0] + MOVES[a][0], pos[1] + MOVES[a][1]
    return pos if walls[r, c] else (int(r), int(c))


def _agent(img):
    cells = img[PX // 2::PX, PX // 2::PX]
    hit = np.argwhere((cells == AGENT).all(axis=2))
    assert len(hit) == 1
    return tuple(int(v) for v in hit[0])


def _walls(img):
    return (img[PX // 2::PX, PX // 2::PX] == WALL).all(axis=2)


def _transitions(rng, b=32):
    obs, nxt, acts = [], [], []
    while len(obs) < b:
        walls = _grid(rng)
        free = np.argwhere(~walls)
        agent, goal = (tuple(int(v) for v in free[i]) for i in rng.choice(len(free), 2, replace=False))
        a = int(rng.integers(4))
        new = _step(walls, agent, a)
        if new == goal:
            continue
        obs.append(_render(walls, agent, goal))
        nxt.append(_render(walls, new, goal))
        acts.append(a)
    return np.stack(obs), np.stack(nxt), np.array(acts)


def test_geometric_transitions_stay_valid():
    rng = np.random.default_rng(0)
    obs, nxt, acts = _transitions(rng, 64)
    config = AugmentConfig(names=("rotate", "flip"))
    o2, n2, a2 = augment_transitions(obs, nxt, acts, config, np.random.default_rng(1))
    assert (a2 != acts).any()
    for i in range(len(acts)):
        walls = _walls(o2[i])
        assert (walls == _walls(n2[i])).all()
        assert _step(walls, _agent(o2[i]), int(a2[i])) == _agent(n2[i])


def test_action_relabelling_by_hand():
    assert rotate_actions(np.array([0, 1, 2, 3]), np.ones(4, int)).tolist() == [3, 0, 1, 2]
    assert flip_actions(np.array([0, 1, 2, 3]), np.full(4, 1)).tolist() == [0, 3, 2, 1]
    assert flip_actions(np.array([0, 1, 2, 3]), np.full(4, 2)).tolist() == [2, 1, 0, 3]


def test_shared_draw_identical_pair():
    rng = np.random.default_rng(2)
    obs, _, acts = _transitions(rng, 16)
    shared = AugmentConfig()
    o2, n2, a2 = augment_transitions(obs, obs.copy(), acts, shared, np.random.default_rng(3))
    assert (o2 == n2).all() and (a2 == acts).all()
    assert (o2 != obs).any()
    independent = AugmentConfig(share_draw=False)
    o3, n3, _ = augment_transitions(obs, obs.copy(), acts, independent, np.random.default_rng(3))
    assert (o3 != n3).any()


def test_each_colour_augmentation_changes_pixels_and_is_seeded():
    obs, nxt, acts = _transitions(np.random.default_rng(4), 8)
    for name in ("colour_jitter", "colour_cutout", "background_overlay"):
        config = AugmentConfig(names=(name,))
        a = augment_transitions(obs, nxt, acts, config, np.random.default_rng(5))
        b = augment_transitions(obs, nxt, acts, config, np.random.default_rng(5))
        assert a[0].shape == obs.shape and a[0].dtype == np.uint8
        assert (a[0] != obs).any(), name
        assert all((x == y).all() for x, y in zip(a, b))


def test_background_overlay_touches_only_background():
    obs, nxt, acts = _transitions(np.random.default_rng(6), 8)
    mask = background_mask(obs)
    assert (obs[mask] == FLOOR).all() and not (obs[~mask] == FLOOR).all(axis=1).any()
    o2, _, _ = augment_transitions(obs, nxt, acts, AugmentConfig(names=("background_overlay",)),
                                   np.random.default_rng(7))
    assert (o2[~mask] == obs[~mask]).all()
    assert (o2[mask] != obs[mask]).any()


def test_bad_input():
    with pytest.raises(InvalidInputError, match="unknown augmentation 'blur'"):
        AugmentConfig(names=("blur",))
    with pytest.raises(InvalidInputError, match="share_draw"):
        AugmentConfig(names=("rotate",), share_draw=False)
    obs, nxt, acts = _transitions(np.random.default_rng(8), 4)
    with pytest.raises(InvalidInputError, match="uint8"):
        augment_transitions(obs.astype(np.float32), nxt, acts, AugmentConfig(), np.random.default_rng(0))
    with pytest.raises(InvalidInputError, match="same B"):
        augment_transitions(obs, nxt, acts[:2], AugmentConfig(), np.random.default_rng(0))


def test_rotation_matches_the_maze_simulator():
    """A rotated (o, a, o') is what MazeVectorEnv renders and steps on the rotated level."""
    from saddlepoint.envs.generators import NARROW
    from saddlepoint.envs.maze import MazeLevel
    from saddlepoint.envs.vector import MazeVectorEnv

    rng = np.random.default_rng(9)
    levels = NARROW.sample_many(8, rng)
    actions = rng.integers(0, 4, len(levels))

    def play(lvls, acts):
        env = MazeVectorEnv(lvls, num_envs=len(lvls), obs_mode="rgb", seed=0)
        env.reset(seed=0)
        obs = env.set_levels(np.arange(len(lvls)), lvls)
        nxt, _, term, trunc, info = env.step(acts)
        done = (term | trunc)[:, None, None, None]
        return obs.copy(), np.where(done, info["final_obs"], nxt)

    obs, nxt = play(levels, actions)
    o2, n2, a2 = augment_transitions(obs, nxt, actions, AugmentConfig(names=("rotate",)), rng)
    for i, lv in enumerate(levels):
        k = next(k for k in range(4) if (np.rot90(obs[i], k) == o2[i]).all())
        assert a2[i] == rotate_actions(actions[i], k)
        n = lv.size
        rot = lambda rc: ((n - 1 - rc[1], rc[0]) if k == 1 else (n - 1 - rc[0], n - 1 - rc[1]) if k == 2  # noqa: E731
                          else (rc[1], n - 1 - rc[0]) if k == 3 else rc)
        turned = MazeLevel(np.rot90(lv.walls, k), rot(lv.start), rot(lv.goal))
        ro, rn = play([turned], np.array([a2[i]]))
        assert (ro[0] == o2[i]).all() and (rn[0] == n2[i]).all()
