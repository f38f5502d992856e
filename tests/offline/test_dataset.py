"""The dataset record, .npz and Minari round trips, clear errors and atomic saves."""

import dataclasses
import os

import minari
import numpy as np
import pytest

from saddlepoint.errors import InvalidInputError
from saddlepoint.offline import dataset as dsmod
from saddlepoint.offline.dataset import concatenate, load_minari, load_npz, save_minari, save_npz

FIELDS = ("observations", "actions", "rewards", "next_observations", "terminated", "truncated", "level_ids",
          "episode_starts")


def assert_same(a, b):
    for name in FIELDS:
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
        assert getattr(a, name).dtype == getattr(b, name).dtype
    assert a.level_texts == b.level_texts and a.obs_mode == b.obs_mode


def test_record_accessors(small_dataset):
    d = small_dataset
    assert len(d) == 30 and d.num_episodes == 6 and d.obs_shape == (3, 7, 7)
    assert [s.stop - s.start for s in d.episodes()] == [5] * 6
    assert d.success_rate() == 0.5
    assert not d.observations.flags.writeable


def test_npz_round_trip(small_dataset, tmp_path):
    path = save_npz(small_dataset, tmp_path / "d.npz")
    assert_same(load_npz(path), small_dataset)
    with pytest.raises(InvalidInputError, match="already exists"):
        save_npz(small_dataset, path)
    save_npz(small_dataset, path, overwrite=True)
    assert sorted(os.listdir(tmp_path)) == ["d.npz"]


def test_minari_round_trip_and_minari_loader(small_dataset, tmp_path, monkeypatch):
    save_minari(small_dataset, "saddlepoint/maze-test-v0", root=tmp_path)
    assert_same(load_minari("saddlepoint/maze-test-v0", root=tmp_path), small_dataset)
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path))
    theirs = minari.load_dataset("saddlepoint/maze-test-v0")  # minari's own loader, local only
    assert theirs.total_episodes == 6 and theirs.total_steps == 30
    ep = next(iter(theirs.iterate_episodes([1])))
    np.testing.assert_array_equal(ep.observations[:-1], small_dataset.observations[5:10])
    np.testing.assert_array_equal(ep.observations[-1], small_dataset.next_observations[9])
    np.testing.assert_array_equal(ep.actions, small_dataset.actions[5:10])
    assert bool(ep.truncations[-1]) and not ep.terminations.any()
    # the environment variable is the default root
    assert_same(load_minari("saddlepoint/maze-test-v0"), small_dataset)


def test_concatenate_merges_levels(small_dataset):
    both = concatenate([small_dataset, small_dataset])
    assert len(both) == 60 and both.num_episodes == 12 and both.level_texts == small_dataset.level_texts
    np.testing.assert_array_equal(both.episode_starts[6:], small_dataset.episode_starts + 30)


@pytest.mark.parametrize("field, value, message", [
    ("observations", lambda d: d.observations.astype(np.float32), "'observations' must have dtype uint8"),
    ("actions", lambda d: d.actions[:-1], "'actions'"),
    ("rewards", lambda d: d.rewards[:, None], "'rewards' must have shape"),
    ("next_observations", lambda d: d.next_observations[:, :2], "'next_observations' must have shape"),
    ("terminated", lambda d: d.terminated.astype(np.int64), "'terminated' must have dtype bool"),
    ("level_ids", lambda d: d.level_ids + 5, "'level_ids' must index"),
    ("episode_starts", lambda d: d.episode_starts[::-1].copy(), "'episode_starts'"),
    ("actions", lambda d: d.actions + 4, "'actions' must lie in"),
])
def test_bad_fields_name_the_field(small_dataset, field, value, message):
    with pytest.raises(InvalidInputError, match=message):
        dataclasses.replace(small_dataset, **{field: value(small_dataset)})


def test_missing_dataset_errors(tmp_path):
    with pytest.raises(InvalidInputError, match="no dataset at"):
        load_npz(tmp_path / "nothing.npz")
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(InvalidInputError, match="no dataset at"):
        load_npz(tmp_path / "junk.npz")
    np.savez(tmp_path / "partial.npz", actions=np.zeros(3))
    with pytest.raises(InvalidInputError, match="missing field"):
        load_npz(tmp_path / "partial.npz")
    with pytest.raises(InvalidInputError, match="no Minari dataset 'x/y-v0'"):
        load_minari("x/y-v0", root=tmp_path)


def test_minari_root_required(small_dataset, monkeypatch):
    monkeypatch.delenv("MINARI_DATASETS_PATH", raising=False)
    with pytest.raises(InvalidInputError, match="MINARI_DATASETS_PATH"):
        save_minari(small_dataset, "saddlepoint/maze-test-v0")


def test_interrupted_npz_save_leaves_nothing(small_dataset, tmp_path, monkeypatch):
    def half_write(fh, **arrays):
        fh.write(b"PK partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(dsmod.np, "savez_compressed", half_write)
    with pytest.raises(KeyboardInterrupt):
        save_npz(small_dataset, tmp_path / "d.npz")
    assert os.listdir(tmp_path) == []


def test_interrupted_minari_save_keeps_old_copy_and_leaves_no_debris(small_dataset, tmp_path, monkeypatch):
    save_minari(small_dataset, "saddlepoint/maze-test-v0", root=tmp_path)
    real = minari.create_dataset_from_buffers

    def write_then_fail(*args, **kwargs):
        real(*args, **kwargs)  # files on disk, then the process dies
        raise OSError("disk full")

    monkeypatch.setattr(minari, "create_dataset_from_buffers", write_then_fail)
    other = dataclasses.replace(small_dataset, rewards=np.zeros(len(small_dataset), np.float32))
    with pytest.raises(OSError, match="disk full"):
        save_minari(other, "saddlepoint/maze-test-v0", root=tmp_path, overwrite=True)
    assert sorted(os.listdir(tmp_path / "saddlepoint")) == ["maze-test-v0"]
    assert_same(load_minari("saddlepoint/maze-test-v0", root=tmp_path), small_dataset)


def test_50k_symbolic_transitions_fit_in_100_mb():
    n, shape = 50_000, (3, 11, 11)
    d = dsmod.TransitionDataset(
        np.zeros((n, *shape), np.uint8), np.zeros(n, np.int64), np.zeros(n, np.float32), np.zeros((n, *shape), np.uint8),
        np.ones(n, bool), np.zeros(n, bool), np.zeros(n, np.int32), np.arange(n, dtype=np.int64), ("#",))
    assert d.nbytes < 100 * 2**20
