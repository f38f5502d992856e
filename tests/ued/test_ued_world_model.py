"""Conv world model: learns the maze's dynamics from offline data and transfers to unseen layouts."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from saddlepoint.errors import InvalidInputError
from saddlepoint.ued.world_model import (
    MazeWorldModel, WorldModelConfig, decode_symbolic, encode_symbolic, one_step_accuracy, open_loop_accuracy,
    train_world_model,
)

FAST = WorldModelConfig(updates=400, batch_size=256)


@pytest.fixture(scope="module")
def trained(trained_world_model):
    return trained_world_model


def test_decode_encode_round_trip(narrow_dataset):
    obs = narrow_dataset.observations[:50]
    walls, goal, agent = decode_symbolic(obs)
    np.testing.assert_array_equal(encode_symbolic(walls, goal, agent), obs.astype(np.float32))


def test_crops_treat_outside_as_wall():
    model = MazeWorldModel(WorldModelConfig(crop=5))
    walls = torch.zeros(1, 5, 5, dtype=torch.bool)
    patch = model.crops(walls, torch.tensor([[2, 2]]), torch.tensor([[0, 0]]))
    assert patch.shape == (1, 2, 5, 5)
    assert patch[0, 0, :2].eq(1).all() and patch[0, 0, :, :2].eq(1).all() and patch[0, 0, 2:, 2:].eq(0).all()
    assert patch[0, 1, 4, 4] == 1 and patch[0, 1].sum() == 1


def test_training_learns_dynamics_and_transfers(trained, narrow_dataset, broad_dataset):
    model, _, metrics = trained
    assert metrics["heldout_position_accuracy"] > 0.95
    assert metrics["heldout_done_accuracy"] > 0.97
    broad = one_step_accuracy(model, broad_dataset)
    assert broad["position_accuracy"] > 0.9  # unseen, denser layouts
    acc = open_loop_accuracy(model, broad_dataset, horizons=16)
    assert acc.shape == (16,) and acc[0] > 0.9 and np.nanmin(acc) > 0.6


def test_untrained_model_is_worse(narrow_dataset, trained):
    untrained = one_step_accuracy(MazeWorldModel(FAST), narrow_dataset)["position_accuracy"]
    assert untrained < one_step_accuracy(trained[0], narrow_dataset)["position_accuracy"] - 0.3


def test_split_training_equals_uninterrupted(narrow_dataset):
    cfg = WorldModelConfig(updates=20, batch_size=64)
    full, _, _ = train_world_model(narrow_dataset, cfg, seed=3)
    part, opt, _ = train_world_model(narrow_dataset, cfg, seed=3, stop_update=8)
    part, _, _ = train_world_model(narrow_dataset, cfg, seed=3, model=part, optimizer=opt, start_update=8)
    for a, b in zip(full.parameters(), part.parameters()):
        torch.testing.assert_close(a, b)


def test_bad_inputs(narrow_dataset):
    with pytest.raises(InvalidInputError, match="window"):
        WorldModelConfig(window=4)
    with pytest.raises(InvalidInputError, match="crop"):
        WorldModelConfig(crop=3, window=5)
    with pytest.raises(InvalidInputError, match="symbolic"):
        decode_symbolic(np.zeros((2, 11, 11, 3)))


def test_patch_conv_equals_conv2d():
    from saddlepoint.ued.world_model import PatchConv

    torch.manual_seed(0)
    layer = PatchConv(2, 5, 5)
    ref = torch.nn.Conv2d(2, 5, 3)
    with torch.no_grad():
        ref.weight.copy_(layer.weight)
        ref.bias.copy_(layer.bias)
    x = torch.randn(7, 2, 5, 5)
    expected = ref(x).permute(0, 2, 3, 1).flatten(1)  # (B, positions, channels) order
    torch.testing.assert_close(layer(x), expected)
