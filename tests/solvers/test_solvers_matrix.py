"""Matrix-game solvers. Iteration budgets are stated per solver; thresholds are on
exploitability = NashConv / 2 of the average iterate."""

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from saddlepoint.config import from_dict
from saddlepoint.errors import InvalidInputError
from saddlepoint.games.normal_form import biased_rps, random_zero_sum, rock_paper_scissors, shapley
from saddlepoint.method import make_method
from saddlepoint.solvers.matrix import (
    ExtragradientConfig, FictitiousPlayConfig, HedgeConfig, LPConfig, OptimisticHedgeConfig,
    RegretMatchingConfig, RegretMatchingPlusConfig, regret_matching_strategy, solve,
)

RANDOM_GAMES = [random_zero_sum(10, 10, seed) for seed in range(3)]
FAST_BUDGETS = [(RegretMatchingPlusConfig, 3_000), (OptimisticHedgeConfig, 6_000), (ExtragradientConfig, 3_000),
                (FictitiousPlayConfig, 3_000_000)]  # fictitious play skips whole phases: ~2 s
SLOW_BUDGETS = [(RegretMatchingConfig, 300_000), (HedgeConfig, 2_000_000)]
ALL_CONFIGS = [c for c, _ in FAST_BUDGETS + SLOW_BUDGETS]


def iterate(game, config, seed):
    """The method's snapshot after each of ``config.iterations`` steps."""
    method = make_method(game, config, seed)
    for _ in range(config.iterations):
        method.step()
        yield method.snapshot()


def test_regret_matching_strategy_by_hand():
    assert np.allclose(regret_matching_strategy(np.array([1.0, -2.0, 3.0])), [0.25, 0, 0.75])
    assert np.allclose(regret_matching_strategy(np.array([-1.0, 0.0])), [0.5, 0.5])


@pytest.mark.parametrize("config_cls, budget", FAST_BUDGETS)
@pytest.mark.parametrize("game", RANDOM_GAMES, ids=lambda g: g.name)
def test_fast_solvers_reach_1e_3(config_cls, budget, game):
    res = solve(game, config_cls(iterations=budget), 0)
    assert res.exploitability < 1e-3, (config_cls.algo, res.exploitability)
    assert res.iterations == budget and res.value is not None


@pytest.mark.slow
@pytest.mark.parametrize("config_cls, budget", SLOW_BUDGETS)
@pytest.mark.parametrize("game", RANDOM_GAMES[:2], ids=lambda g: g.name)
def test_slow_solvers_reach_1e_3(config_cls, budget, game):
    res = solve(game, config_cls(iterations=budget), 0, eval_every=budget)
    assert res.exploitability < 1e-3, (config_cls.algo, res.exploitability)


@pytest.mark.parametrize("game", [rock_paper_scissors(), biased_rps()], ids=lambda g: g.name)
def test_optimistic_and_extragradient_last_iterates_converge_where_hedge_cycles(game):
    for seed in range(3):
        hedge = solve(game, HedgeConfig(iterations=4000, init="random"), seed, eval_every=4000)
        omwu = solve(game, OptimisticHedgeConfig(iterations=4000, init="random"), seed, eval_every=4000)
        eg = solve(game, ExtragradientConfig(iterations=4000, init="random"), seed, eval_every=4000)
        assert hedge.last_exploitability > 0.05  # the last iterate keeps cycling
        assert omwu.last_exploitability < 1e-3
        assert eg.last_exploitability < 1e-3


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 10_000), st.integers(1, 8), st.integers(1, 8), st.sampled_from(["uniform", "random"]))
def test_fictitious_play_phase_skipping_equals_stepping(seed, m, n, init):
    game = random_zero_sum(m, n, seed)
    stepped = make_method(game, FictitiousPlayConfig(init=init), seed)
    skipped = make_method(game, FictitiousPlayConfig(init=init), seed)
    for _ in range(3000):
        stepped.step()
    while skipped.iteration < 3000:
        skipped.advance(3000 - skipped.iteration)
    assert skipped.iteration == 3000
    for a, b in zip(stepped.average(), skipped.average()):
        assert np.allclose(a, b, atol=1e-12)


def test_fictitious_play_cycles_on_shapley():
    res = solve(shapley(), FictitiousPlayConfig(iterations=20_000), 0)
    assert res.value is None  # general-sum: no value
    assert res.nash_conv > 0.1  # Shapley (1964): the empirical averages do not converge


def test_lp_solve_record():
    res = solve(biased_rps(), LPConfig())
    assert res.exploitability < 1e-12 and res.value == pytest.approx(0.0, abs=1e-12)
    assert res.algo == "lp"


@pytest.mark.parametrize("config_cls", ALL_CONFIGS)
def test_same_seed_same_result(config_cls):
    game = random_zero_sum(6, 5, 11)
    a = solve(game, config_cls(iterations=300, init="random"), 42)
    b = solve(game, config_cls(iterations=300, init="random"), 42)
    c = solve(game, config_cls(iterations=300, init="random"), 43)
    assert np.array_equal(a.strategies[0], b.strategies[0]) and np.array_equal(a.strategies[1], b.strategies[1])
    assert not np.array_equal(a.strategies[0], c.strategies[0])  # the seed matters (random init)


@pytest.mark.parametrize("config_cls", ALL_CONFIGS)
def test_iterate_matches_solve_and_snapshots_are_copies(config_cls):
    game = random_zero_sum(4, 4, 1)
    its = list(iterate(game, config_cls(iterations=50), 0))
    assert [it.iteration for it in its] == list(range(1, 51))
    res = solve(game, config_cls(iterations=50), 0)
    assert np.allclose(its[-1].average[0], res.strategies[0]) and np.allclose(its[-1].last[1], res.last_strategies[1])
    dyn = make_method(game, config_cls(iterations=5), 0)
    dyn.step()
    x_before, _ = dyn.last()
    x_before[:] = -1.0
    assert dyn.last()[0].min() >= 0  # mutating a returned array does not touch the solver


@settings(max_examples=25, deadline=None)
@given(st.sampled_from(ALL_CONFIGS), st.integers(0, 1000), st.integers(1, 6), st.integers(1, 6), st.integers(1, 60))
def test_iterates_stay_on_the_simplex(config_cls, seed, m, n, steps):
    game = random_zero_sum(m, n, seed)
    for it in iterate(game, config_cls(iterations=steps, init="random"), seed):
        for p in (*it.last, *it.average):
            assert p.min() >= 0 and p.sum() == pytest.approx(1.0)


def test_curve_and_eval_schedule():
    res = solve(rock_paper_scissors(), RegretMatchingConfig(iterations=100), 0, eval_every=10)
    assert [row["iteration"] for row in res.curve] == list(range(10, 101, 10))
    assert all(row["exploitability"] == pytest.approx(row["nash_conv"] / 2) for row in res.curve)


def test_config_validation_names_the_field():
    with pytest.raises(InvalidInputError, match="iterations"):
        RegretMatchingConfig(iterations=-1)
    with pytest.raises(InvalidInputError, match="step_size"):
        HedgeConfig(step_size=0.0)
    with pytest.raises(InvalidInputError, match="schedule"):
        HedgeConfig(schedule="cosine")
    with pytest.raises(InvalidInputError, match="init"):
        ExtragradientConfig(init="zeros")
    with pytest.raises(InvalidInputError, match="unknown HedgeConfig key"):
        from_dict(HedgeConfig, {"iterations": 3, "lr": 0.1})
    assert from_dict(HedgeConfig, {"iterations": 3}) == HedgeConfig(iterations=3)
    with pytest.raises(dataclasses.FrozenInstanceError):
        HedgeConfig().iterations = 5  # type: ignore[misc]
    with pytest.raises(InvalidInputError, match="eval_every"):
        solve(rock_paper_scissors(), HedgeConfig(iterations=3), 0, eval_every=0)
