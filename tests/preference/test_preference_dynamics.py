"""Exact tabular dynamics and the sample-based learner: fixed points, cycling, determinism."""

import numpy as np
import pytest

from saddlepoint.errors import InvalidInputError
from saddlepoint.preference import (
    INPOConfig,
    NashMDConfig,
    NashMirrorProxConfig,
    RSPOConfig,
    SPPOConfig,
    duality_gap,
    kl_divergence,
    random_preference_game,
    regularized_equilibrium,
)
from saddlepoint.method import Budget, make_method, run
from saddlepoint.preference.sampled import SampledSelfPlay, SampledSelfPlayConfig
from saddlepoint.solvers.base import SolveResult, solve


@pytest.fixture(scope="module")
def game():
    return random_preference_game(10, 3, seed=0)


def _run(game, config, seed=0):
    dyn = make_method(game, config, seed)
    for _ in range(config.iterations):
        dyn.step()
    return dyn


def test_rspo_with_lambda_zero_equals_sppo(game):
    for init in ("reference", "uniform"):
        a = _run(game, SPPOConfig(iterations=50, eta=0.7, init=init))
        b = _run(game, RSPOConfig(iterations=50, eta=0.7, reg_coef=0.0, init=init))
        np.testing.assert_allclose(a.last(), b.last(), rtol=1e-11, atol=1e-15)
        np.testing.assert_allclose(a.average(), b.average(), rtol=1e-11, atol=1e-15)


def test_sppo_step_is_multiplicative_weights(game):
    dyn = make_method(game, SPPOConfig(iterations=1, eta=0.5), 0)
    pi = dyn.last()
    dyn.step()
    expected = pi * np.exp(0.5 * game.win_rates(pi))
    np.testing.assert_allclose(dyn.last(), expected / expected.sum(axis=1, keepdims=True), rtol=1e-12)


def test_rspo_reverse_step_is_magnetic_mirror_descent(game):
    eta, lam = 0.5, 0.02
    tau = 2 * lam / eta
    dyn = make_method(game, RSPOConfig(iterations=1, eta=eta, reg_coef=lam), 0)
    pi = dyn.last()
    dyn.step()
    logit = (np.log(pi) + eta * tau * np.log(game.reference) + eta * game.win_rates(pi)) / (1 + eta * tau)
    expected = np.exp(logit - logit.max(axis=1, keepdims=True))
    np.testing.assert_allclose(dyn.last(), expected / expected.sum(axis=1, keepdims=True), rtol=1e-10)


@pytest.mark.parametrize(
    "regularizer, mix",
    [("reverse_kl", 1.0), ("forward_kl_is", 1.0), ("forward_kl_is+reverse_kl", 0.5)],
)
def test_rspo_exact_regression_fixed_point_is_regularised_equilibrium(game, regularizer, mix):
    eta, lam = 1.0, 0.04
    # forward KL contracts slowly on one of these prompts (KL 2e-5 at 600, 2e-15 at 3000)
    config = RSPOConfig(iterations=3000, eta=eta, reg_coef=lam, regularizer=regularizer, mix_coef=mix)
    tau_r, tau_f = config.target_regularization()
    eq = regularized_equilibrium(game, tau_reverse=tau_r, tau_forward=tau_f)
    assert kl_divergence(eq, _run(game, config).last()) < 1e-10


@pytest.mark.parametrize("cls", [INPOConfig, NashMirrorProxConfig])
def test_last_iterate_converges_to_regularised_equilibrium(game, cls):
    tau = 0.05
    eq = regularized_equilibrium(game, tau_reverse=tau)
    assert kl_divergence(eq, _run(game, cls(iterations=600, eta=1.0, tau=tau)).last()) < 1e-10


def test_nash_md_is_close_but_biased(game):
    eq = regularized_equilibrium(game, tau_reverse=0.05)
    kl = kl_divergence(eq, _run(game, NashMDConfig(iterations=600, eta=1.0, tau=0.05)).last())
    assert 1e-7 < kl < 1e-2


def test_sppo_last_iterate_cycles_but_average_converges(game):
    last = make_method(game, SPPOConfig(iterations=1000, eta=1.0), 0)
    gaps = []
    for _ in range(1000):
        last.step()
        gaps.append(duality_gap(game, last.last()))
    assert max(gaps[700:]) > 0.1
    eta, t, k = 0.1, 1000, game.n_responses
    avg = _run(game, SPPOConfig(iterations=t, eta=eta, init="uniform")).average()
    # DG(average) = 2 Regret_T / T <= 2 (ln K / (eta T) + eta / 8)
    assert duality_gap(game, avg, per_prompt=True).max() <= 2 * (np.log(k) / (eta * t) + eta / 8)


def test_random_init_is_deterministic(game):
    a = _run(game, INPOConfig(iterations=5, init="random"), seed=3)
    b = _run(game, INPOConfig(iterations=5, init="random"), seed=3)
    c = _run(game, INPOConfig(iterations=5, init="random"), seed=4)
    np.testing.assert_array_equal(a.last(), b.last())
    assert not np.allclose(a.last(), c.last())


def test_method_protocol_run_and_solve(game):
    config = NashMirrorProxConfig(iterations=20, tau=0.1)
    dyn = make_method(game, config, 0)
    snaps = run(dyn, Budget(20), evaluate=lambda m: {"output": m.output()}, every=1).rows
    assert [s["output"].iteration for s in snaps] == list(range(1, 21)) and dyn.cost == {"iterations": 20}
    snaps[-1]["output"].last[:] = 0  # copies: mutating does not reach the method
    assert dyn.output().last.min() > 0
    eq = regularized_equilibrium(game, tau_reverse=0.1)
    res = solve(game, config, 0, eval_every=5)
    assert isinstance(res, SolveResult)
    assert [r["iteration"] for r in res.curve] == [5, 10, 15, 20]
    assert res.nash_conv == pytest.approx(duality_gap(game, res.strategies[0]))
    assert res.last_exploitability == pytest.approx(res.last_nash_conv / 2)
    assert res.extra["kl_to_equilibrium"] == pytest.approx(kl_divergence(eq, res.last_strategies[0]))
    assert res.curve[-1]["kl_to_equilibrium"] == pytest.approx(res.extra["kl_to_equilibrium"])
    np.testing.assert_array_equal(res.last_strategies[0], dyn.last())


def test_config_validation():
    with pytest.raises(InvalidInputError, match="eta"):
        SPPOConfig(eta=0.0)
    with pytest.raises(InvalidInputError, match="regularizer"):
        RSPOConfig(regularizer="kl")
    with pytest.raises(InvalidInputError, match="tau"):
        INPOConfig(eta=30.0, tau=0.05)
    with pytest.raises(InvalidInputError, match="init"):
        NashMDConfig(init="zeros")


# --------------------------------------------------------------------------- sample-based (E2)
@pytest.fixture(scope="module")
def prompts():
    return random_preference_game(8, 6, seed=11)


def test_inpo_actually_moves(prompts):
    """The pitfall: with lr 0.5 INPO's pairwise residual flips sign every step and returns to
    the start after an even number of steps; with lr 0.2 the policy moves."""
    stuck = SampledSelfPlay(prompts, SampledSelfPlayConfig(loss="inpo", learning_rate=0.5, inner_steps=50), 0)
    stuck.step()
    np.testing.assert_allclose(stuck.last(), prompts.reference, atol=1e-12)
    moving = SampledSelfPlay(prompts, SampledSelfPlayConfig(loss="inpo", learning_rate=0.2, inner_steps=50), 0)
    moving.step()
    assert np.abs(moving.last() - prompts.reference).max() > 0.05
    for _ in range(20):
        moving.step()
    assert kl_divergence(moving.last(), prompts.reference) > 0.1


def test_sampled_rspo_with_lambda_zero_equals_sppo(prompts):
    a = SampledSelfPlay(prompts, SampledSelfPlayConfig(loss="sppo", iterations=5), 7)
    b = SampledSelfPlay(prompts, SampledSelfPlayConfig(loss="rspo", reg_coef=0.0, iterations=5), 7)
    for _ in range(5):
        a.step()
        b.step()
        np.testing.assert_array_equal(a.last(), b.last())


def test_sampled_sppo_fits_its_regression_target(prompts):
    """After many inner steps the winner's and loser's log-ratio l - l_t is eta (p_hat - 1/2)
    up to the shared normaliser, so the winner gains probability and the loser loses it."""
    cfg = SampledSelfPlayConfig(loss="sppo", inner_steps=400, learning_rate=0.5)
    learner = SampledSelfPlay(prompts, cfg, 0)
    pi0 = learner.last()
    w, l, p_hat = SampledSelfPlay(prompts, cfg, 0)._sample_pairs(pi0, np.arange(prompts.n_prompts))
    learner.step()
    rows = np.arange(prompts.n_prompts)
    ratio_w = np.log(learner.last()[rows, w] / pi0[rows, w])
    ratio_l = np.log(learner.last()[rows, l] / pi0[rows, l])
    distinct = w != l
    np.testing.assert_allclose((ratio_w - ratio_l)[distinct], (p_hat[:, 0] - p_hat[:, 1])[distinct], atol=1e-3)


def test_more_pairs_per_prompt_lower_the_noise_of_a_step(prompts):
    """16 pairs per prompt: the one-step update varies less across seeds than with one pair
    (the E2 noise floor); pairs_per_prompt must be a positive integer."""

    def spread(pairs: int) -> float:
        cfg = SampledSelfPlayConfig(loss="rspo", reg_coef=0.05, inner_steps=5, pairs_per_prompt=pairs)
        steps = []
        for seed in range(12):
            learner = SampledSelfPlay(prompts, cfg, seed)
            learner.step()
            steps.append(np.log(learner.last()))
        return float(np.std(steps, axis=0).mean())

    assert spread(16) < 0.5 * spread(1)
    with pytest.raises(InvalidInputError, match="pairs_per_prompt"):
        SampledSelfPlayConfig(pairs_per_prompt=0)


def test_sampled_is_a_deterministic_method(prompts):
    cfg = SampledSelfPlayConfig(loss="rspo", iterations=4)

    def final(seed):
        learner = make_method(prompts, cfg, seed)
        trace = run(learner, Budget(cfg.iterations), evaluate=lambda m: {"dg": duality_gap(prompts, m.last())})
        assert trace.cost == {"iterations": 4, "samples": 4 * prompts.n_prompts * cfg.n_samples}
        return learner.output().last

    a, b, c = final(5), final(5), final(6)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
