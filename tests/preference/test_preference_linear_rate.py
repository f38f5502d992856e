"""Linear rates of the regularised dynamics: Jacobians against finite differences of the
library's own step, closed-form spectra, measured log-KL slopes, and the exact invariant."""

import numpy as np
import pytest

from saddlepoint.errors import InvalidInputError
from saddlepoint.method import make_method
from saddlepoint.preference import (
    INPOConfig,
    NashMDConfig,
    NashMirrorProxConfig,
    RSPOConfig,
    SPPOConfig,
    kl_divergence,
    random_preference_game,
    regularized_equilibrium,
)
from saddlepoint.preference.linear_rate import (
    eigenvalues_from_frequencies,
    invariant_direction,
    invariant_rate,
    kl_from_log_ratio,
    kl_lower_bound,
    linear_rate,
    predict_kl,
    skew_frequencies,
    step_jacobian,
    step_map,
    sum_zero_basis,
)

TAU = 0.05


def _configs(eta, tau=TAU):
    return [RSPOConfig(eta=eta, reg_coef=tau * eta / 2), INPOConfig(eta=eta, tau=tau),
            NashMDConfig(eta=eta, tau=tau), NashMirrorProxConfig(eta=eta, tau=tau)]


@pytest.fixture(scope="module")
def game():
    return random_preference_game(10, 2, seed=1)


@pytest.fixture(scope="module")
def equilibrium(game):
    return regularized_equilibrium(game, tau_reverse=TAU)


def _fd_jacobian(game, config, policy, h=1e-6):
    """Central differences of the library's stepper in the basis Q, ``(X, K-1, K-1)``."""
    q = sum_zero_basis(game.n_responses)
    y = np.log(policy) @ q
    jac = np.empty((game.n_prompts, q.shape[1], q.shape[1]))
    for k in range(q.shape[1]):
        e = np.zeros(q.shape[1])
        e[k] = h
        up = np.log(step_map(game, config, np.exp((y + e) @ q.T))) @ q
        down = np.log(step_map(game, config, np.exp((y - e) @ q.T))) @ q
        jac[:, :, k] = (up - down) / (2 * h)
    return jac


def test_sum_zero_basis_is_orthonormal():
    q = sum_zero_basis(7)
    np.testing.assert_allclose(q.T @ q, np.eye(6), atol=1e-14)
    np.testing.assert_allclose(q.sum(axis=0), 0.0, atol=1e-14)


@pytest.mark.parametrize("eta", [0.1, 1.0])
@pytest.mark.parametrize("index", range(4))
def test_analytic_jacobian_equals_finite_differences_of_library_step(game, equilibrium, eta, index):
    config = _configs(eta)[index]
    rng = np.random.default_rng(index)
    for policy in (rng.dirichlet(np.ones(10), size=2), equilibrium):  # anywhere, and at the fixed point
        np.testing.assert_allclose(step_jacobian(game, config, policy), _fd_jacobian(game, config, policy),
                                   atol=2e-8)


@pytest.mark.parametrize("eta", [0.1, 0.5, 1.0])
def test_fixed_points_and_closed_form_spectra(game, equilibrium, eta):
    s = 1 + eta * TAU
    norm_a = np.linalg.norm(game.preferences - 0.5, 2, axis=(1, 2))
    for config in _configs(eta):
        rate = linear_rate(game, config, equilibrium)
        # the fixed point is one: a library step does not move it
        np.testing.assert_allclose(step_map(game, config, rate.fixed_point), rate.fixed_point, atol=1e-13)
        at = rate.fixed_point
        if rate.method == "nash_md":  # frequencies at the geometric mixture mu
            mix = rate.fixed_point ** (1 - eta * TAU) * game.reference ** (eta * TAU)
            at = mix / mix.sum(axis=1, keepdims=True)
        w = skew_frequencies(game, at)
        closed = eigenvalues_from_frequencies(config, w)
        for x in range(game.n_prompts):
            by_imag = lambda v: v[np.lexsort((v.real, v.imag))]
            np.testing.assert_allclose(by_imag(closed[x]), by_imag(rate.eigenvalues[x]), atol=1e-10)
        mod = np.abs(rate.eigenvalues)
        bound_w = norm_a * np.linalg.norm(_dmat(at), 2, axis=(1, 2))  # |w| <= ||A|| ||D||
        assert np.all(np.abs(w).max(axis=1) <= bound_w + 1e-12)
        if rate.method == "rspo_reverse":
            assert np.all(mod >= 1 / s - 1e-12)
            np.testing.assert_allclose(rate.rho, np.sqrt(1 + (eta * w[:, 0]) ** 2) / s, rtol=1e-10)
            assert np.all(rate.rho <= np.sqrt(1 + eta**2 * bound_w**2) / s + 1e-12)
        elif rate.method == "inpo":
            assert np.all(mod >= 1 - eta * TAU - 1e-12)
            assert np.all(rate.rho <= np.sqrt((1 - eta * TAU) ** 2 + eta**2 * bound_w**2) + 1e-12)
        elif rate.method == "nash_md":
            assert np.all(mod >= 1 - eta * TAU - 1e-12)
        else:  # mirror prox: |lambda| <= 1/s when eta |w| <= sqrt(2s - 1), equality at w = 0 (K - 1 odd)
            assert np.all(eta * np.abs(w) <= np.sqrt(2 * s - 1))
            np.testing.assert_allclose(rate.rho, 1 / s, rtol=1e-10)
        # K = 10: the 9x9 skew part is singular, so an eigenvalue equals the invariant rate exactly
        assert np.all(np.abs(rate.eigenvalues - rate.invariant_rate).min(axis=1) < 1e-10)


def _dmat(pi):
    return np.einsum("xi,ij->xij", pi, np.eye(pi.shape[1])) - pi[:, :, None] * pi[:, None, :]


def _late_slope(kl, lo=1e-26, hi=1e-16):
    """Least-squares slope of log KL over the steps where lo < KL < hi (one prompt)."""
    idx = np.flatnonzero((kl > lo) & (kl < hi))
    assert idx.size > 40, "window too short"
    return np.polyfit(idx, np.log(kl[idx]), 1)[0]


def test_stable_kl_matches_plain_kl_and_goes_below_its_floor():
    rng = np.random.default_rng(0)
    p = rng.dirichlet(np.ones(6), size=3)
    d = rng.normal(size=(3, 6))
    q = p * np.exp(d)
    np.testing.assert_allclose(kl_from_log_ratio(p, d), kl_divergence(p, q / q.sum(1, keepdims=True), per_prompt=True),
                               rtol=1e-12)
    # quadratic regime: KL ~ Var_p(delta) / 2
    small = 1e-12 * d
    var = (p * small**2).sum(1) - (p * small).sum(1) ** 2
    np.testing.assert_allclose(kl_from_log_ratio(p, small), var / 2, rtol=1e-6)


@pytest.mark.parametrize("eta, steps", [(0.1, 6500), (0.5, 1500), (1.0, 950)])
def test_measured_log_kl_slope_is_twice_log_rho(eta, steps):
    game = random_preference_game(10, 3, seed=5)
    eq = regularized_equilibrium(game, tau_reverse=TAU)
    for config in _configs(eta):
        rate = linear_rate(game, config, eq)
        dyn = make_method(game, config, 0)
        log_fixed = np.log(rate.fixed_point)
        kl = np.empty((steps, game.n_prompts))
        for t in range(steps):
            dyn.step()
            kl[t] = kl_from_log_ratio(rate.fixed_point, np.log(dyn.last()) - log_fixed)
        for x in range(game.n_prompts):
            slope = _late_slope(kl[:, x])
            # worst case 4.3% (eta 0.5, prompt 0: the slowest mode starts weakly excited and has
            # not fully taken over before double precision runs out); the rest are within 2%
            assert slope == pytest.approx(2 * np.log(rate.rho[x]), rel=0.05), (rate.method, eta, x)
            # and it is bracketed by the slowest and the fastest modes
            moduli = np.abs(rate.eigenvalues[x])
            assert 2 * np.log(moduli.min()) - 1e-4 < slope < 2 * np.log(moduli.max()) + 1e-4
        # the linearised prediction from pi_ref has the same late slope
        pred = predict_kl(game, config, [steps - 100, steps], rate)
        if rate.method != "nash_md":
            np.testing.assert_allclose(np.log(pred[1] / pred[0]) / 100, 2 * np.log(rate.rho), rtol=0.03)


def test_linear_prediction_from_initial_distance_is_within_factor_two_at_eta_small():
    game = random_preference_game(10, 4, seed=7)
    eq = regularized_equilibrium(game, tau_reverse=TAU)
    for config in _configs(0.1):
        if isinstance(config, NashMDConfig):
            continue  # its KL to pi*_tau tends to the bias, tested below
        dyn = make_method(game, config, 0)
        for _ in range(1000):
            dyn.step()
        measured = kl_divergence(eq, dyn.last(), per_prompt=True)
        predicted = predict_kl(game, config, [1000])[0]
        assert np.all(predicted / measured > 0.5) and np.all(predicted / measured < 2.0)


def test_nash_md_fixed_point_bias_is_its_limit(game, equilibrium):
    config = NashMDConfig(eta=1.0, tau=TAU)
    rate = linear_rate(game, config, equilibrium)
    bias = kl_divergence(equilibrium, rate.fixed_point, per_prompt=True)
    assert np.all(bias > 1e-6)
    dyn = make_method(game, config, 0)
    for _ in range(1500):
        dyn.step()
    np.testing.assert_allclose(kl_divergence(equilibrium, dyn.last(), per_prompt=True), bias, rtol=1e-8)
    np.testing.assert_allclose(predict_kl(game, config, [1500], rate)[0], bias, rtol=1e-8)


@pytest.mark.parametrize("eta", [0.1, 1.0])
def test_invariant_direction_contracts_exactly_and_bounds_kl(game, equilibrium, eta):
    u = invariant_direction(game)
    a = game.preferences - 0.5
    au = np.einsum("xij,xj->xi", a, u)
    np.testing.assert_allclose(au - au.mean(axis=1, keepdims=True), 0.0, atol=1e-12)  # A u ∝ 1
    np.testing.assert_allclose(u.sum(axis=1), 0.0, atol=1e-12)
    steps = np.arange(0, 301, 30)
    for config in _configs(eta):
        r = invariant_rate(config)
        dyn = make_method(game, config, 0)
        a0 = np.einsum("xk,xk->x", u, np.log(dyn.last() / equilibrium))
        bound = kl_lower_bound(game, config, steps, equilibrium=equilibrium)
        for t in range(1, steps[-1] + 1):
            dyn.step()
            if t in steps:
                at = np.einsum("xk,xk->x", u, np.log(dyn.last() / equilibrium))
                np.testing.assert_allclose(at, a0 * r**t, rtol=1e-8, atol=1e-14)
                kl = kl_divergence(equilibrium, dyn.last(), per_prompt=True)
                assert np.all(kl >= bound[list(steps).index(t)] * (1 - 1e-9))


def test_invariant_direction_needs_singular_skew_part():
    with pytest.raises(InvalidInputError, match="not singular"):
        invariant_direction(random_preference_game(9, 1, seed=0))


def test_rejects_methods_without_a_rate(game):
    with pytest.raises(InvalidInputError, match="config must be one of"):
        linear_rate(game, SPPOConfig())
    with pytest.raises(InvalidInputError, match="reverse_kl"):
        linear_rate(game, RSPOConfig(regularizer="forward_kl_is"))
    with pytest.raises(InvalidInputError, match="tau must be positive"):
        linear_rate(game, NashMirrorProxConfig(tau=0.0))


def test_rspo_exact_step_still_moves_next_to_its_fixed_point(game, equilibrium):
    """Regression: the RSPO Newton solve used to test convergence before its first step, so an
    iterate within ~1e-11 (log space) of pi*_tau stopped moving: KL stalled near 1e-23."""
    config = RSPOConfig(eta=0.1, reg_coef=TAU * 0.1 / 2)
    q = sum_zero_basis(10)
    y_star = np.log(equilibrium) @ q
    d = 1e-11 * np.random.default_rng(3).normal(size=(2, 9))
    out = np.log(step_map(game, config, np.exp((y_star + d) @ q.T))) @ q - y_star
    expected = (step_jacobian(game, config, equilibrium) @ d[..., None])[..., 0]
    assert np.abs(out - expected).max() < 1e-3 * np.abs(d).max()


def test_e1_reports_linear_rates_beside_the_measured_kl():
    from saddlepoint.experiments.base import Cell
    from saddlepoint.experiments.rspo import RATE_ARMS, RSPO, RSPOPreset, e1_finals, e1_linear_rate_table

    p = RSPOPreset(e1_games=(0, 7), e1_iterations=400, e1_etas=(0.1, 1.0), e2_prompts=4, e2_iterations=2,
                   e2_inner_steps=2, e3_iterations=2, e4_iterations=1)
    exp = RSPO()
    rows = [r for eta in p.e1_etas for g in p.e1_games
            for r in exp.run_cell(p, Cell(f"E1/{eta}/{g}", g, {"part": "E1", "eta": eta, "game": g}))]
    finals = e1_finals(rows, p)
    table = e1_linear_rate_table(p, finals)
    assert [row[:2] for row in table] == [[a, e] for e in (0.1, 1.0) for a in RATE_ARMS]
    for row in table:
        f = finals[(row[0], row[1])]
        assert row[5] == pytest.approx(np.median(f["kl_mid"]))
        assert row[2] == pytest.approx(np.median(f["rho"]))
        assert np.all(f["lower_bound_kl"] <= f["kl_mid"] * (1 + 1e-9))
    assert {r["rate_step"] for r in rows if r.get("rate_step") is not None} == {200}
    # at eta = 0.1 the pull-only value KL(pi* || pi_ref) r^(2t) is within a factor 2 of the run
    for arm in ("rspo_reverse", "inpo", "nash_mp"):
        f = finals[(arm, 0.1)]
        assert np.all(np.abs(np.log(f["kl_mid"] / f["pull_only_kl"])) < np.log(2))
