"""Online UED entry point: every method runs in the real maze; bad names and sources get clear errors."""

from __future__ import annotations

import numpy as np
import pytest

from saddlepoint.envs.generators import MazeGenerator
from saddlepoint.errors import InvalidInputError
from saddlepoint.rl.networks import NetworkConfig
from saddlepoint.rl.ppo import PPOConfig
from saddlepoint.ued.curriculum import CurriculumConfig
from saddlepoint.ued.online import train_online
from saddlepoint.ued.samplers import SamplerConfig

PPO = PPOConfig(num_envs=4, num_steps=8, epochs=1, minibatches=2,
                network=NetworkConfig(channels=(8,), strides=(1,), hidden=32))
GEN = MazeGenerator(size=9, wall_density=0.0, path_length=(1, 10))


@pytest.mark.slow
def test_accel_on_generated_levels_edits_into_buffer():
    trainer = train_online("accel", GEN, CurriculumConfig(updates=8, ppo=PPO),
                           SamplerConfig(strategy="accel", capacity=10, min_fill=0.2, replay_prob=0.8, num_edits=3),
                           seed=0)
    sampler = trainer.sampler
    assert sampler.size > 4 and np.all(np.isfinite(sampler.scores))
    assert any(lv.walls[1:-1, 1:-1].any() for lv in sampler.levels)  # edits added walls to empty rooms
    assert all(lv.is_solvable() for lv in sampler.levels)


def test_errors():
    with pytest.raises(InvalidInputError, match="unknown method"):
        train_online("poet", GEN)
    with pytest.raises(InvalidInputError, match="empty"):
        train_online("dr", [])
    with pytest.raises(InvalidInputError, match="strategy"):
        train_online("plr", GEN, CurriculumConfig(updates=1, ppo=PPO), SamplerConfig(strategy="dr"))
