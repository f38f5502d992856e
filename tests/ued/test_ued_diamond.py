"""DIAMOND-style diffusion world model at tiny size: one step lowers the loss, sampling has the right shape."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from saddlepoint.errors import InvalidInputError
from saddlepoint.ued.diamond import CONFIGS, DiamondWorldModel


def _batch(b=6, h=11, w=11, seed=0):
    g = torch.Generator().manual_seed(seed)
    past = torch.rand((b, 4, 3, h, w), generator=g) * 2 - 1
    acts = torch.randint(0, 4, (b, 4), generator=g)
    nxt = past[:, -1].roll(1, dims=-1)  # a learnable function of the last frame
    return past, acts, nxt


def test_one_training_step_lowers_the_loss():
    torch.manual_seed(0)
    model = DiamondWorldModel(dataclasses.replace(CONFIGS["tiny"], lr=3e-3))
    opt = model.optimizer()
    past, acts, nxt = _batch()

    def loss_at(seed):
        return model.loss(nxt, past, acts, torch.Generator().manual_seed(seed))

    before = loss_at(1).item()
    loss = loss_at(1)
    opt.zero_grad()
    loss.backward()
    opt.step()
    assert loss_at(1).item() < before
    assert all(p.grad is not None for p in model.net.parameters() if p.requires_grad)


def test_sampling_gives_next_frame_shape_and_is_seeded():
    model = DiamondWorldModel(CONFIGS["tiny"])
    past, acts, _ = _batch(b=3, h=9, w=13)
    a = model.sample(past, acts, torch.Generator().manual_seed(0))
    b = model.sample(past, acts, torch.Generator().manual_seed(0))
    assert a.shape == (3, 3, 9, 13) and torch.isfinite(a).all()
    torch.testing.assert_close(a, b)


def test_gpu_configs_are_bigger_and_bad_shapes_are_refused():
    assert CONFIGS["procgen-gpu"].channels == (64, 64, 64, 64) and CONFIGS["procgen-gpu"].sigma_data == 0.5
    model = DiamondWorldModel(CONFIGS["tiny"])
    past, acts, _ = _batch()
    with pytest.raises(InvalidInputError, match="past_frames"):
        model.sample(past[:, :2], acts[:, :2])
    with pytest.raises(InvalidInputError, match="past_actions"):
        model.sample(past, acts[:, :3])


def _write_gen_dgrl(folder, episodes=3, length=7, seed=0):
    import numpy as np

    rng = np.random.default_rng(seed)
    folder.mkdir()
    for e in range(episodes):
        obs = rng.integers(0, 256, size=(length + 1, 16, 16, 3), dtype=np.uint8)
        with open(folder / f"traj_{e}.npy", "wb") as f:
            np.savez_compressed(f, observations=obs, actions=rng.integers(0, 15, size=length),
                                rewards=np.zeros(length, np.float32), dones=np.arange(length) == length - 1)


def test_gen_dgrl_files_train_a_diamond_model(tmp_path):
    import numpy as np

    from saddlepoint.offline.readers import load_gen_dgrl
    from saddlepoint.ued.diamond import frame_windows, train_diamond

    _write_gen_dgrl(tmp_path / "bigfish")
    data = load_gen_dgrl(tmp_path / "bigfish")
    w = frame_windows(data, 4)
    assert w["past_frames"].shape == (21, 4, 3, 16, 16) and w["next_frame"].shape == (21, 3, 16, 16)
    assert float(w["next_frame"].min()) >= -1 and float(w["next_frame"].max()) <= 1
    # the first transition of each episode repeats its first frame and pads actions with 0
    torch.testing.assert_close(w["past_frames"][7, 0], w["past_frames"][7, 3])
    assert w["past_actions"][7, :3].eq(0).all()
    np.testing.assert_array_equal(w["past_actions"][10, -1].item(), data.actions[10])
    cfg = dataclasses.replace(CONFIGS["tiny"], num_actions=15)
    model, losses = train_diamond(data, cfg, steps=3, batch_size=4)
    assert len(losses) == 3 and all(np.isfinite(losses))
    assert model.sample(w["past_frames"][:2], w["past_actions"][:2]).shape == (2, 3, 16, 16)
