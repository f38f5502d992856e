"""BC and discrete CQL: determinism, every parameter trains, BC solves its training levels."""

import numpy as np
import pytest
import torch

from saddlepoint.envs.generators import NARROW
from saddlepoint.errors import InvalidInputError
from saddlepoint.offline.collect import collect
from saddlepoint.rl.bc import BCConfig, train_bc
from saddlepoint.rl.cql import DiscreteCQLConfig, train_cql
from saddlepoint.rl.evaluate import GreedyPolicy, evaluate_policy
from saddlepoint.rl.networks import DiscreteHead, seeded


@pytest.fixture(scope="module")
def levels():
    return NARROW.sample_many(12, np.random.default_rng(0))


@pytest.fixture(scope="module")
def data(levels):
    return collect(levels, 1500, "expert", seed=0)


def _same(a, b):
    return all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))


@pytest.mark.parametrize("train, config", [(train_bc, BCConfig(steps=5, batch_size=32)),
                                           (train_cql, DiscreteCQLConfig(steps=5, batch_size=32,
                                                                         target_update_interval=2))])
def test_same_seed_same_result_and_every_parameter_trains(data, train, config):
    a, b, c = train(data, config, seed=1), train(data, config, seed=1), train(data, config, seed=2)
    assert _same(a.network, b.network) and a.losses == b.losses
    assert not _same(a.network, c.network)
    init = seeded(1, DiscreteHead, data.obs_shape, 4, config.network)
    assert all(not torch.equal(p, q) for p, q in zip(init.parameters(), a.network.parameters()))
    assert np.all(np.isfinite(a.losses))


def test_same_seed_same_dataset_same_training(levels):
    cfg = BCConfig(steps=3, batch_size=16)
    a = train_bc(collect(levels, 300, "medium", seed=7), cfg, seed=0)
    b = train_bc(collect(levels, 300, "medium", seed=7), cfg, seed=0)
    assert _same(a.network, b.network)


@pytest.mark.slow
def test_bc_reaches_90_percent_on_training_levels_from_optimal_data(levels):
    data = collect(levels, 4000, "optimal", seed=0)
    result = train_bc(data, BCConfig(steps=400, batch_size=64), seed=0)
    assert result.losses[-1] < result.losses[0]
    assert evaluate_policy(GreedyPolicy(result.network), levels, seed=0).success_rate >= 0.9


@pytest.mark.parametrize("cls, kwargs, field", [
    (BCConfig, {"steps": 0}, "steps"), (BCConfig, {"lr": 0.0}, "lr"),
    (DiscreteCQLConfig, {"gamma": 1.5}, "gamma"), (DiscreteCQLConfig, {"alpha": -1.0}, "alpha"),
    (DiscreteCQLConfig, {"target_update_interval": 0}, "target_update_interval")])
def test_bad_configs(cls, kwargs, field):
    with pytest.raises(InvalidInputError, match=field):
        cls(**kwargs)
