"""Policy evaluation on level sets."""

import numpy as np
import pytest
import torch

from saddlepoint.envs.maze import MazeLevel
from saddlepoint.errors import InvalidInputError
from saddlepoint.rl.evaluate import GreedyPolicy, RandomPolicy, SampledPolicy, evaluate_policy

CORRIDOR = MazeLevel.from_text("#####\n#S.G#\n#####\n#####\n#####")
WALLED = MazeLevel.from_text("#####\n#S#G#\n#...#\n#####\n#####")


class Always:
    def __init__(self, action):
        self.action = action

    def act(self, obs, rng):
        return np.full(len(obs), self.action)


def test_success_return_and_length_on_hand_made_levels():
    res = evaluate_policy(Always(1), [CORRIDOR, WALLED], max_steps=10, seed=0)
    np.testing.assert_array_equal(res.success, [True, False])
    np.testing.assert_array_equal(res.lengths, [2, 10])
    assert res.returns[0] == pytest.approx(1 - 0.9 * 2 / 10) and res.returns[1] == 0
    assert res.success_rate == 0.5 and res.mean_length == 6
    assert res.as_dict()["success_se"] == pytest.approx(np.sqrt(0.25 / 2))


def test_episodes_per_level_and_seeded_random_policy():
    a = evaluate_policy(RandomPolicy(), [CORRIDOR, WALLED], episodes_per_level=5, max_steps=20, seed=3)
    b = evaluate_policy(RandomPolicy(), [CORRIDOR, WALLED], episodes_per_level=5, max_steps=20, seed=3)
    assert len(a.success) == 10
    np.testing.assert_array_equal(a.lengths, b.lengths)


def test_network_policies():
    net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 5 * 5, 4))
    with torch.no_grad():
        net[1].weight.zero_()
        net[1].bias.copy_(torch.tensor([0.0, 5.0, 0.0, 0.0]))
    assert evaluate_policy(GreedyPolicy(net), [CORRIDOR], seed=0).success_rate == 1.0
    acts = SampledPolicy(net).act(np.zeros((2000, 3, 5, 5), np.float32), np.random.default_rng(0))
    assert 0.95 < np.mean(acts == 1) < 0.995  # softmax(5, 0, 0, 0)[1] = 0.980


def test_bad_input():
    with pytest.raises(InvalidInputError, match="at least one level"):
        evaluate_policy(RandomPolicy(), [])
    with pytest.raises(InvalidInputError, match="episodes_per_level"):
        evaluate_policy(RandomPolicy(), [CORRIDOR], episodes_per_level=0)
