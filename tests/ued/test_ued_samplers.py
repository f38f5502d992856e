"""Level sampler: property tests against the known UED bugs (jaxued PR #6, minimax #6/#7)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from saddlepoint.errors import InvalidInputError
from saddlepoint.ued.samplers import LevelSampler, SamplerConfig, rank_weights, staleness_weights
from saddlepoint.ued.scores import level_scores, max_mc, mean_abs_gae, positive_value_loss


def _new_level(rng: np.random.Generator):
    return (int(rng.integers(0, 10_000)), int(rng.integers(4, 65)))


def _sampler(**kw) -> LevelSampler:
    defaults = dict(capacity=8, min_fill=0.5)
    defaults.update(kw)
    return LevelSampler(SamplerConfig(**defaults), _new_level, np.random.default_rng(0))


finite = st.floats(-1e6, 1e6, allow_nan=False)
any_float = st.one_of(finite, st.sampled_from([np.nan, np.inf, -np.inf]))


def _check_distribution(sampler: LevelSampler) -> None:
    p_new, p_rep = sampler.next_level_distribution()
    assert np.isfinite(p_new) and np.all(np.isfinite(p_rep)) and np.all(p_rep >= 0)
    assert p_new + p_rep.sum() == pytest.approx(1.0)
    probs = sampler.replay_probs()
    assert probs.shape == (sampler.size,) and np.all(np.isfinite(probs)) and np.all(probs >= 0)
    if sampler.size:
        assert probs.sum() == pytest.approx(1.0)


def test_empty_buffer_distribution_is_all_new():
    sampler = _sampler()
    _check_distribution(sampler)
    assert sampler.next_level_distribution()[0] == 1.0
    batch = sampler.sample(4)
    assert not batch.replay and np.all(batch.slots == -1)


@settings(max_examples=60, deadline=None)
@given(
    scores=st.lists(any_float, min_size=1, max_size=30),
    temperature=st.floats(0.01, 10.0),
    rho=st.floats(0.0, 1.0),
    prioritization=st.sampled_from(["rank", "topk"]),
    top_k=st.integers(1, 5),
)
def test_replay_probs_finite_and_normalised(scores, temperature, rho, prioritization, top_k):
    sampler = _sampler(capacity=10, temperature=temperature, staleness_coef=rho,
                       prioritization=prioritization, top_k=top_k)
    for score in scores:  # partly filled, full, with replacements and rejected non-finite scores
        batch = sampler.sample(1)
        sampler.update(batch, [score])
        _check_distribution(sampler)
        assert np.all(np.isfinite(sampler.scores))


@settings(max_examples=30, deadline=None)
@given(value=finite, n=st.integers(1, 12), rho=st.floats(0.0, 1.0))
def test_all_equal_scores_give_uniform_score_distribution(value, n, rho):
    sampler = _sampler(capacity=12, staleness_coef=rho, min_fill=0.0)
    sampler.update(sampler.sample(n), [value] * n)
    _check_distribution(sampler)
    np.testing.assert_allclose(rank_weights(sampler.scores, 0.3), np.full(sampler.size, 1 / sampler.size))


@settings(max_examples=40, deadline=None)
@given(replay_scores=st.lists(any_float, min_size=1, max_size=20))
def test_no_nonfinite_score_enters_buffer_on_replay(replay_scores):
    sampler = _sampler(capacity=4, min_fill=0.0, replay_prob=1.0)
    sampler.update(sampler.sample(4), [1.0, 2.0, 3.0, 4.0])
    for score in replay_scores:
        batch = sampler.sample(2)
        assert batch.replay
        sampler.update(batch, [score, -np.inf])
        assert np.all(np.isfinite(sampler.scores))
        _check_distribution(sampler)


def test_nonfinite_fresh_levels_are_dropped():
    sampler = _sampler()
    assert sampler.update(sampler.sample(3), [np.nan, -np.inf, np.inf]) == 0
    assert sampler.size == 0


@settings(max_examples=40, deadline=None)
@given(sizes=st.lists(st.integers(1, 5), min_size=1, max_size=15), replay_prob=st.floats(0, 1))
def test_staleness_clock_advances_on_every_sampling_event(sizes, replay_prob):
    sampler = _sampler(capacity=6, min_fill=0.0, replay_prob=replay_prob)
    for n in sizes:
        before = sampler.clock
        batch = sampler.sample(n)
        assert sampler.clock == before + n
        if batch.replay:  # only the drawn levels have their C_i reset, to the clock at their draw
            drawn = set(batch.slots.tolist())
            assert sampler.timestamps[batch.slots[-1]] == sampler.clock
            assert all(sampler.timestamps[i] <= sampler.clock for i in drawn)
        sampler.update(batch, np.arange(n, dtype=float))


def test_staleness_only_resets_drawn_level():
    sampler = _sampler(capacity=3, min_fill=0.0, replay_prob=1.0)
    sampler.update(sampler.sample(3), [1.0, 2.0, 3.0])
    before = sampler.timestamps
    batch = sampler.sample(1)
    after = sampler.timestamps
    changed = np.flatnonzero(after != before)
    assert changed.tolist() == [int(batch.slots[0])]


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**16), strategy=st.sampled_from(["robust_plr", "accel"]))
def test_robust_plr_never_updates_on_fresh_levels(seed, strategy):
    rng = np.random.default_rng(seed)
    sampler = LevelSampler(SamplerConfig(strategy=strategy, capacity=5, min_fill=0.4, replay_prob=0.5),
                           _new_level, rng, edit=lambda lvl, r: (lvl[0] + 1, lvl[1]))
    seen_replay = False
    for _ in range(20):
        batch = sampler.sample(2)
        assert batch.update == batch.replay
        seen_replay |= batch.replay
        if batch.replay and strategy == "accel":
            children = sampler.edit_batch(batch)
            assert not children.update and not children.replay
        sampler.update(batch, rng.normal(size=2))
    assert seen_replay


def test_plr_and_dr_update_on_everything():
    for strategy in ("plr", "dr"):
        sampler = _sampler(strategy=strategy, min_fill=0.0)
        for _ in range(5):
            batch = sampler.sample(2)
            assert batch.update
            sampler.update(batch, [1.0, 2.0])
    assert sampler.size == 0  # dr keeps no buffer


def test_duplicate_check_updates_existing_entry():
    sampler = LevelSampler(SamplerConfig(capacity=4, replay_prob=0.0), lambda rng: (1, 8), np.random.default_rng(0))
    sampler.update(sampler.sample(3), [1.0, 5.0, 2.0])
    assert sampler.size == 1 and sampler.scores[0] == 2.0
    no_check = LevelSampler(SamplerConfig(capacity=4, replay_prob=0.0, duplicate_check=False),
                            lambda rng: (1, 8), np.random.default_rng(0))
    no_check.update(no_check.sample(3), [1.0, 5.0, 2.0])
    assert no_check.size == 3


def test_full_buffer_replaces_lowest_score_only_when_beaten():
    sampler = _sampler(capacity=2, replay_prob=0.0)
    sampler.update(sampler.sample(2), [1.0, 3.0])
    assert sampler.update(sampler.sample(1), [0.5]) == 0
    assert sampler.update(sampler.sample(1), [2.0]) == 1
    assert sorted(sampler.scores.tolist()) == [2.0, 3.0]


def test_rank_and_staleness_weights_hand_computed():
    np.testing.assert_allclose(rank_weights(np.array([3.0, 1.0, 2.0]), 1.0), np.array([1, 1 / 3, 1 / 2]) / (11 / 6))
    np.testing.assert_allclose(rank_weights(np.array([3.0, 1.0, 2.0]), 1.0, top_k=2), [2 / 3, 0, 1 / 3])
    np.testing.assert_allclose(staleness_weights(np.array([0, 2, 4]), 4), [4 / 6, 2 / 6, 0])
    np.testing.assert_allclose(staleness_weights(np.array([4, 4]), 4), [0.5, 0.5])
    assert rank_weights(np.arange(4000.0), 1e-3).sum() == pytest.approx(1.0)


def test_min_fill_delays_replay():
    sampler = _sampler(capacity=10, min_fill=0.5, replay_prob=1.0)
    sampler.update(sampler.sample(4), [1, 2, 3, 4])
    assert not sampler.can_replay() and not sampler.sample(1).replay
    sampler.update(sampler.sample(1), [5])
    assert sampler.can_replay() and sampler.sample(1).replay


def test_state_dict_round_trip_continues_identically():
    a = _sampler(min_fill=0.0, replay_prob=0.7)
    for _ in range(5):
        batch = a.sample(3)
        a.update(batch, np.arange(3.0) + a.clock)
    b = LevelSampler(a.config, _new_level, np.random.default_rng(123))
    b.load_state_dict(a.state_dict())
    for _ in range(5):
        ba, bb = a.sample(3), b.sample(3)
        assert ba.levels == bb.levels and ba.replay == bb.replay
        a.update(ba, [1.0, 2.0, 3.0])
        b.update(bb, [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(a.scores, b.scores)
    with pytest.raises(InvalidInputError, match="different SamplerConfig"):
        _sampler(capacity=3).load_state_dict(a.state_dict())


def test_config_errors_name_the_field():
    with pytest.raises(InvalidInputError, match="strategy"):
        SamplerConfig(strategy="bogus")
    with pytest.raises(InvalidInputError, match="replay_prob"):
        SamplerConfig(replay_prob=1.5)
    with pytest.raises(InvalidInputError, match="temperature"):
        SamplerConfig(temperature=0.0)
    with pytest.raises(InvalidInputError, match="edit"):
        LevelSampler(SamplerConfig(strategy="accel"), _new_level, np.random.default_rng(0))


def test_scores_are_per_step_means():
    adv = np.array([[1.0, -2.0], [-1.0, 4.0], [3.0, 0.0]])
    mask = np.array([[True, True], [True, True], [True, False]])
    np.testing.assert_allclose(positive_value_loss(adv, mask), [4 / 3, 4 / 2])
    np.testing.assert_allclose(mean_abs_gae(adv, mask), [5 / 3, 6 / 2])
    values = np.array([[0.5, 0.0], [0.25, 0.5], [0.0, 9.0]])
    np.testing.assert_allclose(max_mc(values, mask, np.array([1.0, 1.0])), [(0.5 + 0.75 + 1) / 3, (1 + 0.5) / 2])
    # doubling a constant-advantage episode's length leaves its score unchanged
    short = positive_value_loss(np.ones((4, 1)), np.ones((4, 1), bool))
    long = positive_value_loss(np.ones((8, 1)), np.ones((8, 1), bool))
    assert short == long
    assert np.isnan(level_scores("gae", adv, values, np.zeros_like(mask)))[0]
    with pytest.raises(InvalidInputError, match="score"):
        level_scores("sum", adv, values, mask)
