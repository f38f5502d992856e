"""BFS-optimal and epsilon-greedy behaviour policies."""

import numpy as np
import pytest

from saddlepoint.envs.generators import BROAD, held_out_mazes
from saddlepoint.envs.maze import MazeLevel
from saddlepoint.envs.policies import EpsilonBFSPolicy, bfs_action, epsilon_greedy, optimal_actions
from saddlepoint.envs.vector import MazeVectorEnv
from saddlepoint.errors import InvalidInputError

ROOM = MazeLevel.from_text("#####\n#S..#\n#...#\n#..G#\n#####")


def test_bfs_action_on_hand_made_level():
    assert bfs_action(ROOM, (1, 1)) == 1                    # right and down are optimal; first wins
    assert bfs_action(ROOM, (3, 1)) == 1
    assert bfs_action(ROOM, (1, 3)) == 2
    picks = {bfs_action(ROOM, (1, 1), np.random.default_rng(s)) for s in range(30)}
    assert picks == {1, 2}                                  # random tie-break, optimal only
    at_goal = {bfs_action(ROOM, (3, 3), np.random.default_rng(s)) for s in range(40)}
    assert at_goal == {0, 1, 2, 3}                          # nothing optimal: uniform


@pytest.mark.parametrize("tiebreak", [False, True])
def test_optimal_policy_takes_shortest_paths(tiebreak):
    levels = BROAD.sample_many(30, np.random.default_rng(0)) + held_out_mazes(11)
    env = MazeVectorEnv(levels, num_envs=32, max_steps=64, seed=0)
    env.reset()
    rng = np.random.default_rng(1)
    seen = 0
    for _ in range(120):
        expected = [lv.shortest_path_length() for lv in env.levels]
        steps = env.elapsed_steps
        obs, rew, term, trunc, info = env.step(optimal_actions(env.levels, env.agent_pos,
                                                               rng if tiebreak else None))
        assert not trunc.any()
        for i in np.flatnonzero(term):
            assert info["episode_steps"][i] == expected[i] == steps[i] + 1
            assert rew[i] == np.float32(1 - 0.9 * expected[i] / 64)
            seen += 1
    assert seen > 100


def test_epsilon_policies():
    rng = np.random.default_rng(0)
    acts = np.zeros(20000, dtype=np.int64)
    assert np.array_equal(epsilon_greedy(acts, 0.0, rng), acts)
    mixed = epsilon_greedy(acts, 0.5, rng)
    assert abs((mixed != 0).mean() - 0.5 * 0.75) < 0.02
    counts = np.bincount(epsilon_greedy(acts, 1.0, rng), minlength=4) / acts.size
    assert np.allclose(counts, 0.25, atol=0.02)
    levels = [ROOM] * 4000
    pos = np.tile([1, 3], (4000, 1))                        # down is the only optimal action
    greedy = EpsilonBFSPolicy(0.0)(levels, pos, rng)
    assert (greedy == 2).all()
    noisy = EpsilonBFSPolicy(0.2)(levels, pos, rng)
    assert abs((noisy != 2).mean() - 0.2 * 0.75) < 0.03
    uniform = EpsilonBFSPolicy(1.0)(levels, pos, rng)
    assert abs((uniform == 2).mean() - 0.25) < 0.03
    env = MazeVectorEnv([ROOM], num_envs=3, seed=0)
    env.reset()
    assert set(EpsilonBFSPolicy(0.0).act(env, rng).tolist()) <= {1, 2}


def test_env_mask_path_equals_level_path():
    levels = BROAD.sample_many(20, np.random.default_rng(2)) + held_out_mazes(11)
    env = MazeVectorEnv(levels, num_envs=48, seed=0)
    env.reset()
    step_rng = np.random.default_rng(5)
    for _ in range(30):
        expected = np.stack([lv.optimal_action_mask[tuple(p)] for lv, p in zip(env.levels, env.agent_pos)])
        assert np.array_equal(env.optimal_action_mask(), expected)
        for eps in (0.0, 0.3, 1.0):
            pol = EpsilonBFSPolicy(eps)
            a = pol.act(env, np.random.default_rng(9))
            b = pol(env.levels, env.agent_pos, np.random.default_rng(9))
            assert np.array_equal(a, b)
        env.step(step_rng.integers(0, 4, size=48))


def test_policy_bad_inputs():
    rng = np.random.default_rng(0)
    with pytest.raises(InvalidInputError, match="epsilon"):
        EpsilonBFSPolicy(1.5)
    with pytest.raises(InvalidInputError, match="epsilon"):
        epsilon_greedy(np.zeros(3, int), -0.1, rng)
    with pytest.raises(InvalidInputError, match="positions"):
        optimal_actions([ROOM], np.array([1, 1]))
    with pytest.raises(InvalidInputError, match="positions"):
        optimal_actions([ROOM], np.array([[1, 9]]))
    with pytest.raises(InvalidInputError, match="levels"):
        optimal_actions(["#####"], np.array([[1, 1]]))
