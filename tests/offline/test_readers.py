"""V-D4RL and gen_dgrl readers on small files written here in those formats."""

import io

import numpy as np
import pytest

from saddlepoint.errors import InvalidInputError
from saddlepoint.offline.readers import load_gen_dgrl, load_vd4rl

h5py = pytest.importorskip("h5py")


def _frames(n, start=0):
    return (np.arange(start, start + n)[:, None, None, None] * np.ones((1, 3, 4, 4))).astype(np.uint8)


def _write_vd4rl(path, episodes=2, length=5):
    steps = episodes * (length + 1)
    step_type = np.tile(np.r_[0, np.ones(length - 1), 2], episodes)
    discount = np.ones(steps, np.float32)
    discount[length::length + 1] = 0.0  # first episode ends in a terminal, second by time limit
    discount[-1] = 1.0
    with h5py.File(path, "w") as f:
        f["observation"] = _frames(steps)
        f["action"] = np.arange(steps, dtype=np.float32)[:, None] * np.ones((1, 2), np.float32)
        f["reward"] = np.arange(steps, dtype=np.float32)[:, None]
        f["discount"] = discount[:, None]
        f["step_type"] = step_type


def test_vd4rl_transitions(tmp_path):
    _write_vd4rl(tmp_path / "a.hdf5")
    _write_vd4rl(tmp_path / "b.hdf5", episodes=1, length=3)
    d = load_vd4rl(tmp_path)
    assert len(d) == 2 * 5 + 3
    assert d.episode_starts.tolist() == [0, 5, 10]
    # each transition's next obs is the step whose action/reward it carries
    assert np.array_equal(d.next_observations[:, 0, 0, 0].astype(np.float32), d.rewards)
    assert np.array_equal(d.observations[:, 0, 0, 0] + 1, d.next_observations[:, 0, 0, 0])
    assert d.actions.shape == (13, 2) and np.array_equal(d.actions[:, 0], d.rewards)
    assert d.terminals.tolist() == [False] * 4 + [True] + [False] * 8


def test_gen_dgrl_npz_and_pickle(tmp_path):
    for i, n in enumerate((4, 6)):
        buf = io.BytesIO()
        np.savez_compressed(buf, observations=_frames(n + 1, 10 * i), actions=np.arange(n), rewards=np.ones(n),
                            dones=np.r_[np.zeros(n - 1), 1].astype(bool))
        (tmp_path / f"traj_{i}.npy").write_bytes(buf.getvalue())
    d = load_gen_dgrl(tmp_path)
    assert len(d) == 10 and d.episode_starts.tolist() == [0, 4]
    assert d.actions.dtype == np.int64 and d.terminals.sum() == 2
    assert np.array_equal(d.observations[:, 0, 0, 0] + 1, d.next_observations[:, 0, 0, 0])
    import pickle
    single = tmp_path / "p" / "t.npy"
    single.parent.mkdir()
    single.write_bytes(pickle.dumps({"observations": _frames(3), "actions": np.zeros(3), "rewards": np.zeros(3),
                                     "dones": np.array([0, 0, 1], bool)}))
    p = load_gen_dgrl(single)
    assert len(p) == 3 and p.next_observations[-1, 0, 0, 0] == 2


def test_reader_errors(tmp_path):
    with pytest.raises(InvalidInputError, match="does not exist"):
        load_vd4rl(tmp_path / "nowhere")
    with pytest.raises(InvalidInputError, match="no .hdf5"):
        load_vd4rl(tmp_path)
    with h5py.File(tmp_path / "bad.hdf5", "w") as f:
        f["observation"] = _frames(3)
    with pytest.raises(InvalidInputError, match="missing V-D4RL key.*action"):
        load_vd4rl(tmp_path / "bad.hdf5")
    buf = io.BytesIO()
    np.savez_compressed(buf, observations=_frames(3), actions=np.zeros(2))
    (tmp_path / "t.npy").write_bytes(buf.getvalue())
    with pytest.raises(InvalidInputError, match="missing gen_dgrl key.*rewards"):
        load_gen_dgrl(tmp_path / "t.npy")
