"""PPO with a level sampler: robust PLR learns only on replayed levels; resume equals uninterrupted."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from saddlepoint.envs.generators import NARROW
from saddlepoint.envs.vector import MazeVectorEnv
from saddlepoint.errors import InvalidInputError
from saddlepoint.rl.networks import NetworkConfig
from saddlepoint.rl.ppo import PPOConfig
from saddlepoint.ued.curriculum import CurriculumConfig, CurriculumTrainer
from saddlepoint.ued.imagination import ImaginationVectorEnv, uniform_levels
from saddlepoint.ued.samplers import LevelSampler, SamplerConfig, maze_edit

PPO = PPOConfig(num_envs=4, num_steps=8, epochs=1, minibatches=2, network=NetworkConfig(channels=(8,), strides=(1,), hidden=32))


def _imagined_trainer(model, dataset, strategy="robust_plr", updates=6, seed=0):
    env = ImaginationVectorEnv(model, dataset, num_envs=4, seed=seed)
    sampler = LevelSampler(SamplerConfig(strategy=strategy, capacity=8, min_fill=0.5, replay_prob=0.5),
                           uniform_levels(len(dataset), range(4, 65)), np.random.default_rng(seed))
    return CurriculumTrainer(env, sampler, CurriculumConfig(updates=updates, ppo=PPO), seed=seed)


def _params(net):
    return [p.detach().clone() for p in net.parameters()]


def test_robust_plr_makes_no_update_on_fresh_levels(trained_world_model, narrow_dataset):
    trainer = _imagined_trainer(trained_world_model[0], narrow_dataset)
    seen = set()
    for _ in range(10):
        before = _params(trainer.network)
        row = trainer.train_update()
        changed = any(not torch.equal(a, b) for a, b in zip(before, trainer.network.parameters()))
        assert changed == row["replay"] == row["updated"]
        seen.add(row["replay"])
    assert seen == {True, False}
    assert all(4 <= r["mean_horizon"] <= 64 for r in trainer.history)


def test_resume_equals_uninterrupted(trained_world_model, narrow_dataset, tmp_path):
    full = _imagined_trainer(trained_world_model[0], narrow_dataset, updates=6, seed=2)
    full.train()
    part = _imagined_trainer(trained_world_model[0], narrow_dataset, updates=6, seed=2)
    part.train(until=3)
    part.save(tmp_path / "ckpt.pt")
    resumed = _imagined_trainer(trained_world_model[0], narrow_dataset, updates=6, seed=2)
    resumed.load(tmp_path / "ckpt.pt")
    resumed.train()
    for a, b in zip(full.network.parameters(), resumed.network.parameters()):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    np.testing.assert_array_equal(full.sampler.scores, resumed.sampler.scores)
    assert full.history == resumed.history
    with pytest.raises(InvalidInputError, match="no checkpoint"):
        resumed.load(tmp_path / "missing.pt")


@pytest.mark.parametrize("strategy", ["dr", "plr", "accel"])
def test_online_strategies_run_on_real_levels(strategy, narrow_levels):
    env = MazeVectorEnv(narrow_levels, num_envs=4, seed=0)
    sampler = LevelSampler(SamplerConfig(strategy=strategy, capacity=6, min_fill=0.5, replay_prob=0.5, num_edits=2),
                           lambda rng: narrow_levels[int(rng.integers(len(narrow_levels)))],
                           np.random.default_rng(0), edit=maze_edit)
    trainer = CurriculumTrainer(env, sampler, CurriculumConfig(updates=5, ppo=PPO, score="maxmc"), seed=0)
    history = trainer.train()
    assert len(history) == 5 and all(np.isfinite(r["success_rate"]) for r in history)
    assert np.all(np.isfinite(sampler.scores))
    if strategy != "dr":
        assert sampler.size > 0


def test_maze_edit_keeps_solvable():
    rng = np.random.default_rng(0)
    level = NARROW.sample(rng)
    changed = 0
    for _ in range(30):
        child = maze_edit(level, rng)
        assert child.is_solvable() and child.start == level.start and child.goal == level.goal
        changed += int(np.sum(child.walls != level.walls))
        level = child
    assert changed >= 25


def test_mismatched_env_size_is_refused(trained_world_model, narrow_dataset):
    env = ImaginationVectorEnv(trained_world_model[0], narrow_dataset, num_envs=3)
    sampler = LevelSampler(SamplerConfig(), uniform_levels(len(narrow_dataset), 8), np.random.default_rng(0))
    with pytest.raises(InvalidInputError, match="num_envs"):
        CurriculumTrainer(env, sampler, CurriculumConfig(ppo=PPO))
