"""Collecting datasets with BFS behaviour policies on maze levels."""

import numpy as np
import pytest

from saddlepoint.envs.generators import NARROW
from saddlepoint.envs.maze import MazeLevel
from saddlepoint.errors import InvalidInputError
from saddlepoint.offline.collect import collect, collect_mixture


@pytest.fixture(scope="module")
def levels():
    return NARROW.sample_many(20, np.random.default_rng(0))


def test_same_seed_same_dataset(levels):
    a = collect(levels, 2000, "medium", seed=4)
    b = collect(levels, 2000, "medium", seed=4)
    c = collect(levels, 2000, "medium", seed=5)
    for name, arr in a.arrays().items():
        np.testing.assert_array_equal(arr, getattr(b, name), err_msg=name)
    assert not np.array_equal(a.actions, c.actions)


def test_episodes_are_consistent_with_their_levels(levels):
    d = collect(levels, 3000, "expert", seed=0)
    assert len(d) == 3000 and d.obs_mode == "symbolic" and d.observations.dtype == np.uint8
    texts = {lv.key: lv.to_text() for lv in levels}
    assert set(d.level_texts) == set(texts.values())
    for sl in list(d.episodes())[:50]:
        np.testing.assert_array_equal(d.next_observations[sl][:-1], d.observations[sl][1:])
        level = MazeLevel.from_text(d.level_texts[d.level_ids[sl.start]])
        assert np.all(d.level_ids[sl] == d.level_ids[sl.start])
        np.testing.assert_array_equal(d.observations[sl.start][0].astype(bool), level.walls)
        assert d.observations[sl.start][2][level.start] == 1  # agent channel at the start cell
        if d.terminated[sl.stop - 1]:
            assert d.next_observations[sl.stop - 1][2][level.goal] == 1
            assert d.rewards[sl.stop - 1] > 0
    assert d.truncated[-1] or d.terminated[-1]


def test_behaviours_order_by_quality(levels):
    optimal = collect(levels, 2000, "optimal", seed=0)
    rand = collect(levels, 2000, "random", seed=0)
    assert optimal.success_rate() == 1.0 or optimal.success_rate() > 0.99  # only the cut last episode may miss
    assert rand.success_rate() < 0.8
    # optimal episodes take exactly the BFS path length
    for sl in list(optimal.episodes())[:30]:
        if optimal.terminated[sl.stop - 1]:
            level = MazeLevel.from_text(optimal.level_texts[optimal.level_ids[sl.start]])
            assert sl.stop - sl.start == level.shortest_path_length()


def test_mixture_and_memory(levels):
    m = collect_mixture(levels, 50_000, seed=0)
    assert len(m) == 50_000
    assert m.nbytes < 100 * 2**20


def test_bad_input(levels):
    with pytest.raises(InvalidInputError, match="unknown behaviour 'great'"):
        collect(levels, 10, "great")
    with pytest.raises(InvalidInputError, match="epsilon must lie in"):
        collect(levels, 10, 1.5)
    with pytest.raises(InvalidInputError, match="n_transitions"):
        collect(levels, 0)
    with pytest.raises(InvalidInputError, match="mixture weights"):
        collect_mixture(levels, 10, {"expert": -1.0})


def test_rgb_dataset_round_trips_through_minari_losslessly(levels, tmp_path):
    from saddlepoint.offline.dataset import load_minari, save_minari

    d = collect(levels, 200, "expert", obs_mode="rgb", seed=0)
    assert d.observations.dtype == np.uint8 and d.obs_shape == (33, 33, 3) and d.obs_mode == "rgb"
    save_minari(d, "saddlepoint/maze-rgb-v0", root=tmp_path)
    back = load_minari("saddlepoint/maze-rgb-v0", root=tmp_path)
    np.testing.assert_array_equal(back.observations, d.observations)
    assert back.obs_mode == "rgb"
