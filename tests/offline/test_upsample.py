"""Latent upsampling: sampled transitions have valid discrete fields; errors on bad input."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from saddlepoint.errors import InvalidInputError  # noqa: E402
from saddlepoint.offline.edm import EDMConfig  # noqa: E402
from saddlepoint.offline.upsample import LatentTransitions, LatentUpsampler, from_vectors, to_vectors  # noqa: E402

REWARDS = np.array([0.0, 0.55, 1.0])


def _latents(n, k, rng):
    a = rng.integers(0, 4, n)
    z = np.tanh(rng.standard_normal((n, k)) + a[:, None] * 0.5)
    done = rng.random(n) < 0.2
    return LatentTransitions(z=z, actions=a, rewards=np.where(done, REWARDS[rng.integers(1, 3, n)], 0.0),
                             next_z=np.tanh(z + 0.1), dones=done)


def test_round_trip_and_projection():
    t = _latents(50, 3, np.random.default_rng(0))
    x = to_vectors(t, 4)
    assert x.shape == (50, 2 * 3 + 4 + 2)
    back = from_vectors(x + 0.01, 3, 4, REWARDS)
    assert np.array_equal(back.actions, t.actions) and np.array_equal(back.dones, t.dones)
    assert np.allclose(back.rewards, t.rewards)
    snapped = from_vectors(np.r_[np.zeros(7), 0.4, np.zeros(4)][None], 3, 4, REWARDS)
    assert snapped.rewards[0] == np.float32(0.55)


def test_sampled_transitions_valid_and_seeded():
    torch.set_num_threads(1)
    t = _latents(400, 4, np.random.default_rng(1))
    cfg = EDMConfig(width=32, num_blocks=1, train_steps=60, batch_size=128, steps=8)
    runs = []
    for _ in range(2):
        up = LatentUpsampler(4, 4, cfg, seed=2)
        up.fit(t, np.random.default_rng(3))
        runs.append(up.sample(500, np.random.default_rng(4)))
    s = runs[0]
    assert len(s) == 500 and s.latent_dim == 4
    assert set(np.unique(s.actions)) <= {0, 1, 2, 3} and s.dones.dtype == bool
    assert set(np.unique(s.rewards).tolist()) <= set(REWARDS.astype(np.float32).tolist())
    assert np.isfinite(s.z).all() and np.isfinite(s.next_z).all()
    assert np.array_equal(s.z, runs[1].z) and np.array_equal(s.actions, runs[1].actions)


def test_bad_input(tmp_path):
    up = LatentUpsampler(4, 4, EDMConfig(train_steps=1))
    with pytest.raises(InvalidInputError, match="latent size mismatch"):
        up.fit(_latents(10, 3, np.random.default_rng(0)), np.random.default_rng(0))
    empty = LatentTransitions(np.zeros((0, 4)), np.zeros(0, int), np.zeros(0), np.zeros((0, 4)), np.zeros(0, bool))
    with pytest.raises(InvalidInputError, match="empty"):
        up.fit(empty, np.random.default_rng(0))
    with pytest.raises(InvalidInputError, match="shape"):
        LatentTransitions(np.zeros((3, 4)), np.zeros(2, int), np.zeros(3), np.zeros((3, 4)), np.zeros(3, bool))


def test_save_load_round_trip(tmp_path):
    t = _latents(100, 2, np.random.default_rng(5))
    up = LatentUpsampler(2, 4, EDMConfig(width=16, num_blocks=1, train_steps=10, batch_size=32, steps=4), seed=0)
    up.fit(t, np.random.default_rng(6))
    up.save(tmp_path / "up.pt")
    back = LatentUpsampler.load(tmp_path / "up.pt", 2, 4)
    a, b = up.sample(20, np.random.default_rng(7)), back.sample(20, np.random.default_rng(7))
    assert np.array_equal(a.z, b.z) and np.array_equal(a.rewards, b.rewards)
    with pytest.raises(InvalidInputError, match="vector size"):
        LatentUpsampler.load(tmp_path / "up.pt", 3, 4)
