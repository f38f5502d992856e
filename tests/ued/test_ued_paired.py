"""PAIRED: generated levels are valid, one iteration updates everyone, and the regret has the right sign."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from saddlepoint.envs.maze import MazeLevel
from saddlepoint.errors import InvalidInputError
from saddlepoint.rl.networks import NetworkConfig
from saddlepoint.rl.ppo import PPOConfig
from saddlepoint.ued.paired import PAIRED, LevelAdversary, PAIREDConfig, generate_levels, paired_regret

SMALL = NetworkConfig(channels=(16,), strides=(1,), hidden=64)
LEVEL = MazeLevel.from_text("""
#######
#S....#
#####.#
#.....#
#.###.#
#...#G#
#######""")


def _config(**kw):
    ppo = PPOConfig(num_envs=8, num_steps=64, epochs=4, minibatches=4, lr=1e-3, network=SMALL)
    return PAIREDConfig(**{"size": 7, "num_walls": 6, "iterations": 2, "ppo": ppo, **kw})


def test_generated_levels_are_valid_and_differentiable():
    adversary = LevelAdversary(9)
    levels, logp, entropy = generate_levels(adversary, 5, 9, 10, torch.Generator().manual_seed(0))
    assert len(levels) == 5 and all(lv.size == 9 and lv.start != lv.goal for lv in levels)
    assert all(lv.walls.sum() <= 4 * 8 + 10 for lv in levels)
    assert torch.isfinite(logp).all() and entropy > 0
    logp.sum().backward()
    assert all(p.grad is not None for p in adversary.parameters())


@pytest.mark.slow
def test_one_iteration_updates_adversary_and_students():
    paired = PAIRED(_config(), seed=0)
    before = [p.detach().clone() for p in paired.adversary.parameters()]
    stud = [p.detach().clone() for p in paired.protagonist.network.parameters()]
    row = paired.step()
    assert np.isfinite(row["regret"]) and 0 <= row["solvable"] <= 1
    assert any(not torch.equal(a, b) for a, b in zip(before, paired.adversary.parameters()))
    assert any(not torch.equal(a, b) for a, b in zip(stud, paired.protagonist.network.parameters()))


def test_regret_is_antagonist_max_minus_protagonist_mean():
    np.testing.assert_allclose(paired_regret([0.9, 0.0], [0.1, 0.5]), [0.8, -0.5])


@pytest.mark.slow
def test_antagonist_trained_on_level_protagonist_fails_has_positive_regret():
    paired = PAIRED(_config(), seed=0)
    levels = [LEVEL] * 8
    for _ in range(6):
        paired.antagonist.train_on_levels(levels)
    pro = paired.protagonist.train_on_levels(levels, learn=False)
    ant = paired.antagonist.train_on_levels(levels, learn=False)
    assert pro["mean_return"].mean() < 0.2  # the protagonist fails this level
    regret = paired_regret(ant["max_return"], pro["mean_return"])
    assert regret.mean() > 0.3 and np.all(regret > 0)
    assert ant["mean_return"].mean() > pro["mean_return"].mean() + 0.3


def test_config_errors():
    with pytest.raises(InvalidInputError, match="size"):
        PAIREDConfig(size=3)
    with pytest.raises(InvalidInputError, match="adversary_lr"):
        PAIREDConfig(adversary_lr=0)
