"""PPO on the vectorised simulator: determinism, training signal, config checks."""

import numpy as np
import pytest
import torch

from saddlepoint.envs.generators import NARROW
from saddlepoint.errors import InvalidInputError
from saddlepoint.rl.networks import ActorCritic, NetworkConfig, seeded
from saddlepoint.rl.ppo import PPOConfig, train_ppo

SMALL = PPOConfig(total_steps=256, num_envs=8, num_steps=16, epochs=2, minibatches=2,
                  network=NetworkConfig(channels=(8,), strides=(2,), hidden=16))


@pytest.fixture(scope="module")
def levels():
    return NARROW.sample_many(4, np.random.default_rng(0))


def test_same_seed_same_result(levels):
    a, b = train_ppo(levels, SMALL, seed=3), train_ppo(levels, SMALL, seed=3)
    c = train_ppo(levels, SMALL, seed=4)
    assert all(torch.equal(p, q) for p, q in zip(a.network.parameters(), b.network.parameters()))
    assert not torch.equal(a.network.policy.weight, c.network.policy.weight)
    assert a.env_steps == 256 and len(a.history) == 2
    assert [h["episodes"] for h in a.history] == [h["episodes"] for h in b.history]
    init = seeded(3, ActorCritic, (3, 11, 11), 4, SMALL.network)
    assert all(not torch.equal(p, q) for p, q in zip(init.parameters(), a.network.parameters()))


def test_value_clipping_and_level_fn(levels):
    calls = []

    def level_fn(i, rng):
        calls.append(i)
        return levels[int(rng.integers(len(levels)))]

    cfg = PPOConfig(**{**SMALL.__dict__, "clip_value": True})
    r = train_ppo(None, cfg, seed=0, level_fn=level_fn, size=11)
    assert calls and all(np.isfinite(h["value_loss"]) for h in r.history)


@pytest.mark.parametrize("kwargs, field", [({"num_envs": 0}, "num_envs"), ({"minibatches": 3}, "minibatches"),
                                           ({"gae_lambda": 2.0}, "gae_lambda"), ({"clip_coef": 0}, "clip_coef"),
                                           ({"ent_coef": -1}, "ent_coef")])
def test_bad_config(kwargs, field):
    with pytest.raises(InvalidInputError, match=field):
        PPOConfig(**kwargs)
