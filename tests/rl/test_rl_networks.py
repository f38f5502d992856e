"""Conv encoder shapes and configs."""

import pytest
import torch

from saddlepoint.errors import InvalidInputError
from saddlepoint.rl.networks import ActorCritic, DiscreteHead, NetworkConfig, is_rgb, seeded


def test_symbolic_and_rgb_inputs():
    sym = DiscreteHead((3, 11, 11), 4, NetworkConfig())
    assert sym(torch.zeros(5, 3, 11, 11, dtype=torch.uint8)).shape == (5, 4)
    assert sym(torch.zeros(5, 3, 11, 11)).shape == (5, 4)
    rgb = ActorCritic((33, 33, 3), 4, NetworkConfig(channels=(8,), strides=(1,), hidden=16))
    assert rgb.encoder.rgb and is_rgb((33, 33, 3)) and not is_rgb((3, 11, 11))
    logits, values = rgb(torch.full((2, 33, 33, 3), 255, dtype=torch.uint8))
    assert logits.shape == (2, 4) and values.shape == (2,)
    ego = DiscreteHead((3, 5, 5))
    assert ego(torch.zeros(1, 3, 5, 5)).shape == (1, 4)


def test_seeded_init_is_reproducible_and_leaves_global_rng():
    state = torch.random.get_rng_state()
    a = seeded(3, DiscreteHead, (3, 7, 7))
    b = seeded(3, DiscreteHead, (3, 7, 7))
    c = seeded(4, DiscreteHead, (3, 7, 7))
    assert torch.equal(torch.random.get_rng_state(), state)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    assert not torch.equal(a.head.weight, c.head.weight)


@pytest.mark.parametrize("kwargs, field", [({"channels": ()}, "channels"), ({"strides": (1,)}, "strides"),
                                           ({"hidden": 0}, "hidden")])
def test_bad_config(kwargs, field):
    with pytest.raises(InvalidInputError, match=field):
        NetworkConfig(**kwargs)
