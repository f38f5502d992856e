"""Runs and vectorised simulation: determinism, vectorised == per-seed, regret growth."""

import math

import numpy as np
import pytest

from saddlepoint.bandits import (
    LinUCBConfig, PhasedEliminationConfig, UniformConfig, doubling_ratio, gam_split,
    hidden_uniform, realizable, run, simulate, sphere_points,
)
from saddlepoint.errors import InvalidInputError


def _instance(seed=0, k=50, d=5):
    rng = np.random.default_rng(seed)
    return sphere_points(k, d, rng), sphere_points(1, d, rng)[0]


def test_doubling_ratio_hand_values():
    t = np.arange(1, 101, dtype=float)
    assert doubling_ratio(t) == pytest.approx(100 / 50)
    assert doubling_ratio(np.sqrt(t)) == pytest.approx(math.sqrt(2))
    assert doubling_ratio(np.full(10, 3.0)) == 1.0
    assert doubling_ratio(np.zeros(10)) == 1.0
    np.testing.assert_allclose(doubling_ratio(np.stack([t, 2 * t])), [2.0, 2.0])


@pytest.mark.parametrize("cfg", [LinUCBConfig(), PhasedEliminationConfig(exploration=0.2),
                                 UniformConfig()])
def test_same_seed_same_regret(cfg):
    inst = gam_split(*_instance(), rho=0.3)
    a, b = run(inst, cfg, 3000, 11), run(inst, cfg, 3000, 11)
    np.testing.assert_array_equal(a.regret, b.regret)
    np.testing.assert_array_equal(a.pulls, b.pulls)
    c = run(inst, cfg, 3000, 12)
    assert not np.array_equal(a.pulls, c.pulls)


def test_vectorised_linucb_equals_per_seed_runs():
    insts = [gam_split(*_instance(s), rho=0.2) for s in range(4)]
    seeds = [3, 1, 4, 1]
    curves = simulate(insts, LinUCBConfig(refresh_every=500), 1500, seeds)
    assert curves.regret.shape == (4, 1500)
    for i, (inst, s) in enumerate(zip(insts, seeds)):
        single = run(inst, LinUCBConfig(refresh_every=500), 1500, s)
        np.testing.assert_allclose(curves.regret[i], single.regret, rtol=0, atol=1e-9)
    loop = simulate(insts, LinUCBConfig(refresh_every=500), 1500, seeds, vectorised=False)
    np.testing.assert_allclose(curves.regret, loop.regret, atol=1e-9)
    np.testing.assert_array_equal(curves.batches_used, [1500] * 4)


def test_linucb_realizable_is_sublinear():
    """Done-when: LinUCB on a realizable instance has R_T / R_{T/2} < 1.5 at T = 2e4."""
    insts = [realizable(*_instance(s)) for s in range(3)]
    curves = simulate(insts, LinUCBConfig(), 20_000, [0, 1, 2])
    assert np.all(curves.doubling_ratio < 1.5), curves.doubling_ratio
    assert np.all(curves.final < 0.02 * 20_000)


def test_pe_batches_are_logarithmic():
    inst = realizable(*_instance(1))
    for horizon in (10_000, 100_000):
        for c in (2.0, 0.2):
            res = run(inst, PhasedEliminationConfig(exploration=c), horizon, 0)
            assert res.batches_used <= math.ceil(math.log2(horizon))
            assert res.batches_used <= 8


def test_uniform_misspecification_forces_linear_regret_on_linucb():
    inst = hidden_uniform(*_instance(2), margin=0.1)
    res = run(inst, LinUCBConfig(), 20_000, 0)
    assert res.doubling_ratio > 1.9
    uni = run(inst, UniformConfig(), 20_000, 0)
    assert uni.doubling_ratio == pytest.approx(2.0, abs=0.05)


def test_run_checks_its_input():
    inst = realizable(*_instance())
    with pytest.raises(InvalidInputError, match="horizon"):
        run(inst, LinUCBConfig(), 0, 0)
    with pytest.raises(InvalidInputError, match="instance"):
        run("bandit", LinUCBConfig(), 10, 0)
    with pytest.raises(InvalidInputError, match="one instance per seed"):
        simulate([inst, inst], LinUCBConfig(), 10, [0])
    from saddlepoint.bandits import LinUCB, play
    with pytest.raises(InvalidInputError, match="BanditPlay"):
        play(LinUCB(np.eye(5), LinUCBConfig(), np.random.default_rng(0)))
