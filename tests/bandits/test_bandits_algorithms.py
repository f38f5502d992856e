"""Algorithms: LinUCB's incremental state against direct solves, PE's phase schedule and
elimination on hand-worked instances, baselines, configs, ask/tell protocol, pickling."""

import math
import pickle

import numpy as np
import pytest

from saddlepoint.bandits import (
    BanditPlay, ExploreThenCommitConfig, LinearBandit, LinUCB, LinUCBConfig, PhasedElimination,
    PhasedEliminationConfig, UniformConfig, oful_radius, play, realizable, run, sphere_points,
)
from saddlepoint.config import from_dict
from saddlepoint.errors import InvalidInputError
from saddlepoint.method import Budget, Method, make_method
from saddlepoint.method import run as run_method
from saddlepoint.registry import BANDIT_ALGORITHMS, load

RNG = np.random.default_rng(0)


def _pe_played(inst, cfg, horizon, seed):
    """PE built on a play of ``inst`` as ``run(inst, cfg, horizon, seed)`` builds it, played out."""
    rng = np.random.default_rng(seed)
    algo = PhasedElimination(BanditPlay.draw(inst, horizon, rng), cfg, rng)
    return algo, play(algo)


def test_oful_radius_hand_value():
    cfg = LinUCBConfig(lam=1.0, delta=math.exp(-1), sigma=0.5, norm_bound=2.0)
    # sigma sqrt(2 log(1/delta) + log det V - d log lambda) + sqrt(lambda) S = 0.5 sqrt(2) + 2
    assert oful_radius(0.0, 3, cfg) == pytest.approx(0.5 * math.sqrt(2) + 2)
    cfg = LinUCBConfig(lam=4.0, delta=math.exp(-1), sigma=1.0, norm_bound=1.0)
    assert oful_radius(3 * math.log(4.0) + 7.0, 3, cfg) == pytest.approx(3 + 2)


def test_linucb_incremental_state_matches_direct_solve():
    rng = np.random.default_rng(0)
    arms = sphere_points(20, 4, rng)
    algo = LinUCB(arms, LinUCBConfig(lam=2.0, refresh_every=10_000), RNG)
    pulled = rng.integers(20, size=3000)
    ys = rng.standard_normal(3000)
    for a, y in zip(pulled, ys):
        algo.tell(int(a), float(y))
    x = arms[pulled]
    v = 2.0 * np.eye(4) + x.T @ x
    w = np.linalg.solve(v, x.T @ ys)
    np.testing.assert_allclose(algo.theta_hat, w, atol=1e-10)
    lev = np.einsum("kd,dk->k", arms, np.linalg.solve(v, arms.T))
    radius = oful_radius(np.linalg.slogdet(v)[1], 4, algo.config)
    np.testing.assert_allclose(algo.ucb(), arms @ w + radius * np.sqrt(lev), atol=1e-10)
    assert algo.batches_used == algo.iteration == algo.cost["iterations"] == 3000


def test_linucb_refresh_keeps_state_exact_over_long_runs():
    rng = np.random.default_rng(1)
    arms = sphere_points(30, 6, rng)
    algo = LinUCB(arms, LinUCBConfig(refresh_every=1000), RNG)
    pulled = rng.integers(30, size=20_000)
    algo.tell_batch(pulled, rng.standard_normal(20_000))
    x = arms[pulled]
    v = np.eye(6) + x.T @ x
    np.testing.assert_allclose(algo._v_inv, np.linalg.inv(v), rtol=1e-9, atol=1e-13)
    lev = np.einsum("kd,dk->k", arms, np.linalg.solve(v, arms.T))
    np.testing.assert_allclose(algo._lev, lev, rtol=1e-8)
    assert algo._logdet == pytest.approx(np.linalg.slogdet(v)[1], rel=1e-12)


def test_linucb_first_pull_is_longest_arm_and_ties_go_low():
    arms = np.array([[0.5, 0.0], [0.0, 2.0], [2.0, 0.0]])
    algo = LinUCB(arms, LinUCBConfig(), RNG)
    assert algo.ask() == 1  # w_hat = 0: largest ||x||, lowest index among ties
    assert algo.ask_batch(10).tolist() == [1]


def test_pe_first_phase_pull_counts_hand_computed():
    arms = np.eye(3)
    algo = PhasedElimination(arms, PhasedEliminationConfig(exploration=2.0, delta=0.01), RNG)
    # uniform design (1/3 each), rank 3, eps_1 = 1/2: ceil(2 * 3 * (1/3) * 4 * log(3*1*2/0.01))
    expected = math.ceil(8 * math.log(600))
    assert algo.ask_batch(10**6).tolist() == [0] * expected + [1] * expected + [2] * expected
    assert algo.batches_used == 1 and algo.phase == 1


def test_pe_eliminates_by_schedule_on_noiseless_instance():
    arms = np.eye(3)
    inst = LinearBandit(arms, np.array([1.0, 0.9, 0.0]), sigma=0.0)
    algo, res = _pe_played(inst, PhasedEliminationConfig(exploration=0.2), 200_000, 0)
    # keep a iff max est - est(a) <= 2 eps_l: gap 1 goes at l = 2 (eps 1/4), gap 0.1 at l = 5
    assert [p["active"] for p in algo.phase_log] == [3, 3, 2, 2, 2, 1]
    assert res.batches_used == 6
    assert res.pulls[-1] == 0 and algo.active.tolist() == [True, False, False]
    with pytest.raises(InvalidInputError, match="committed"):
        algo.tell(1, 0.5)


def test_pe_uses_only_current_phase_data():
    """A phase's estimate must not pool earlier phases: poison phase 1, check phase 2."""
    arms = np.eye(2)
    algo = PhasedElimination(arms, PhasedEliminationConfig(exploration=0.2), RNG)
    first = algo.ask_batch(10**6)
    algo.tell_batch(first, np.where(first == 0, 1.0, 0.0))  # gap 1 <= 2 eps_1 = 1: both stay
    assert algo.active.tolist() == [True, True]
    second = algo.ask_batch(10**6)
    assert second.size > 4 * first.size - 2  # eps halves: at least 4x the pulls
    algo.tell_batch(second, np.where(second == 0, 0.0, 0.6))
    # phase-2 data alone: arm 1 better by 0.6 > 2 eps_2 = 0.5, so arm 0 goes. Pooling both
    # phases would give means 0.2 vs 0.48 (gap 0.28) and keep it.
    assert algo.active.tolist() == [False, True]


def test_pe_rejects_unplanned_pulls():
    algo = PhasedElimination(np.eye(2), PhasedEliminationConfig(), RNG)
    n = algo.ask_batch(10**6).size // 2
    with pytest.raises(InvalidInputError, match="did not plan"):
        algo.tell_batch(np.zeros(n + 1, dtype=int), np.zeros(n + 1))


def test_pe_rank_deficient_active_set():
    rng = np.random.default_rng(2)
    arms = rng.standard_normal((20, 2)) @ rng.standard_normal((2, 5))
    arms /= np.linalg.norm(arms, axis=1, keepdims=True)
    inst = realizable(arms, sphere_points(1, 5, rng)[0])
    algo, _ = _pe_played(inst, PhasedEliminationConfig(exploration=0.2), 50_000, 0)
    assert algo.phase_log[0]["rank"] == 2
    assert algo.active[inst.best_arm]


def test_etc_commits_to_best_arm_without_noise():
    rng = np.random.default_rng(3)
    arms = sphere_points(10, 3, rng)
    inst = realizable(arms, sphere_points(1, 3, rng)[0], sigma=0.0)
    res = run(inst, ExploreThenCommitConfig(explore_per_arm=2), 100, 0)
    assert res.batches_used == 2
    assert np.all(res.pulls[20:] == inst.best_arm)
    assert res.pulls[:20].tolist() == list(range(10)) * 2


def test_uniform_policy_is_seeded():
    arms = np.eye(3)
    a = make_method(arms, UniformConfig(), np.random.default_rng(5)).ask_batch(50)
    b = make_method(arms, UniformConfig(), np.random.default_rng(5)).ask_batch(50)
    assert a.tolist() == b.tolist() and set(a.tolist()) == {0, 1, 2}


def test_pickled_state_continues_identically():
    rng = np.random.default_rng(4)
    arms = sphere_points(15, 3, rng)
    for cfg in (LinUCBConfig(), PhasedEliminationConfig(exploration=0.2)):
        algo = make_method(arms, cfg, rng)
        for _ in range(3):
            batch = algo.ask_batch(200)
            algo.tell_batch(batch, rng.standard_normal(batch.size))
        clone = pickle.loads(pickle.dumps(algo))
        ys = rng.standard_normal(500)
        for algo_ in (algo, clone):
            seen = []
            for y in ys:
                a = algo_.ask()
                seen.append(a)
                algo_.tell(a, float(y))
            algo_.seen = seen
        assert algo.seen == clone.seen and algo.iteration == clone.iteration


def test_config_validation_names_the_field():
    with pytest.raises(InvalidInputError, match="delta"):
        LinUCBConfig(delta=1.5)
    with pytest.raises(InvalidInputError, match="lam"):
        LinUCBConfig(lam=0.0)
    with pytest.raises(InvalidInputError, match="exploration"):
        PhasedEliminationConfig(exploration=-1.0)
    with pytest.raises(InvalidInputError, match="explore_per_arm"):
        ExploreThenCommitConfig(explore_per_arm=0)
    with pytest.raises(InvalidInputError, match="unknown LinUCBConfig key"):
        from_dict(LinUCBConfig, {"beta": 1.0})
    with pytest.raises(InvalidInputError, match="arm must be an index"):
        LinUCB(np.eye(2), LinUCBConfig(), RNG).tell(5, 1.0)
    with pytest.raises(InvalidInputError, match="non-empty"):
        LinUCB(np.zeros((0, 2)), LinUCBConfig(), RNG)


@pytest.mark.parametrize("rho", [0.1, 0.3])
def test_pe_never_eliminates_the_best_arm_under_small_gam(rho):
    """The paper's inductive lemma: with rho small the optimal arm survives every phase."""
    from saddlepoint.bandits import gam_split

    for seed in range(5):
        rng = np.random.default_rng(seed)
        inst = gam_split(sphere_points(50, 5, rng), sphere_points(1, 5, rng)[0], rho)
        for c in (2.0, 0.2):
            algo, _ = _pe_played(inst, PhasedEliminationConfig(exploration=c), 100_000, seed)
            assert algo.active[inst.best_arm], (seed, c)
            assert algo.batches_used <= 8


def test_every_registered_algorithm_is_built_from_its_config_and_stepping_equals_run():
    """The method protocol: make_method from the config, run on a budget of rounds (single
    steps, so batches are split) gives the same pulls as the batch loop of ``run``."""
    rng = np.random.default_rng(6)
    inst = realizable(sphere_points(8, 3, rng), sphere_points(1, 3, rng)[0])
    for name, entry in BANDIT_ALGORITHMS.items():
        cfg_cls = load(entry.target)
        assert cfg_cls.algo == name
        cfg = cfg_cls(exploration=0.2) if name == "phased_elimination" else cfg_cls()
        seed_rng = np.random.default_rng(3)
        algo = make_method(BanditPlay.draw(inst, 400, seed_rng), cfg, seed_rng)
        assert isinstance(algo, Method) and algo.output().size == 0
        trace = run_method(algo, Budget(400), every=100)
        assert [r["iteration"] for r in trace.rows] == [100, 200, 300, 400]
        assert algo.cost == {"iterations": 400, "batches": algo.batches_used}
        if name != "uniform":  # uniform's draws depend on the batch sizes asked for
            np.testing.assert_array_equal(algo.output(), run(inst, cfg, 400, 3).pulls)
    with pytest.raises(InvalidInputError, match="BanditPlay"):
        make_method(inst, LinUCBConfig(), rng).step()
    with pytest.raises(InvalidInputError, match="past the horizon"):
        BanditPlay.draw(inst, 3, rng).rewards(np.zeros(4, dtype=int), 0)
