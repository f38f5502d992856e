"""The RMOD weight solver: KKT conditions, agreement with SciPy, limits and edge cases."""

import numpy as np
import pytest
from scipy.optimize import minimize

from saddlepoint.decoding.weights import (
    frank_wolfe_gap,
    phi,
    phi_grad,
    select_branch,
    solve_weights,
    tilted_distribution,
)
from saddlepoint.errors import InvalidInputError


def _scipy_phi_min(v, lam):
    """An independent constrained solve of phi with SLSQP, from several starts."""
    g = v.shape[1]
    best = np.inf
    for start in [np.full(g, 1.0 / g), *np.eye(g) * 0.9 + 0.1 / g]:
        res = minimize(lambda w: phi(w, v, lam), start / start.sum(), method="SLSQP",
                       bounds=[(0, 1)] * g, constraints=[{"type": "eq", "fun": lambda w: w.sum() - 1}],
                       options={"ftol": 1e-14, "maxiter": 1000})
        best = min(best, phi(np.clip(res.x, 0, None) / np.clip(res.x, 0, None).sum(), v, lam))
    return best


@pytest.mark.parametrize("seed", range(8))
def test_kkt_and_scipy_agreement_on_random_values(seed):
    rng = np.random.default_rng(seed)
    k, g = rng.integers(2, 20), rng.integers(2, 6)
    v = rng.normal(size=(k, g))
    lam = float(rng.choice([0.3, 1.0, 3.0, 10.0]))
    sol = solve_weights(v, lam)
    w, grad = sol.weights, phi_grad(sol.weights, v, lam)
    assert sol.converged and np.isclose(w.sum(), 1) and np.all(w >= 0)
    # KKT on the simplex: grad_g >= mu for all g, with equality where w_g > 0.
    mu = grad.min()
    assert np.all(grad >= mu - 1e-12)
    # gap >= w_g (grad_g - mu), so support coordinates are within gap / w_g of mu
    assert np.all(np.abs(grad[w > 1e-2] - mu) < 1e-4)
    assert sol.phi <= _scipy_phi_min(v, lam) + 1e-6
    assert abs(sol.phi - _scipy_phi_min(v, lam)) <= 1e-4
    assert abs(solve_weights(v, lam, solver="slsqp").phi - sol.phi) <= 1e-4


def test_phi_gradient_matches_finite_differences():
    rng = np.random.default_rng(3)
    v, w, lam = rng.normal(size=(7, 3)), np.array([0.2, 0.5, 0.3]), 2.0
    eps = 1e-6
    fd = [(phi(w + eps * e, v, lam) - phi(w - eps * e, v, lam)) / (2 * eps) for e in np.eye(3)]
    np.testing.assert_allclose(phi_grad(w, v, lam), fd, atol=1e-7)
    # The gradient is lam times the tilted mean value.
    np.testing.assert_allclose(phi_grad(w, v, lam), lam * tilted_distribution(w, v, lam) @ v)


def test_uniformly_lowest_objective_gets_all_weight():
    rng = np.random.default_rng(0)
    v = rng.uniform(0.5, 1.0, size=(10, 3))
    v[:, 1] = rng.uniform(0.0, 0.4, size=10)  # objective 1 lowest on every branch
    for lam in (0.5, 1.0, 5.0):
        np.testing.assert_allclose(solve_weights(v, lam).weights, [0, 1, 0], atol=1e-6)


def test_small_lambda_minimiser_is_argmin_of_mean_values():
    rng = np.random.default_rng(1)
    v = rng.uniform(size=(12, 4))
    sol = solve_weights(v, 1e-3)
    assert np.argmax(sol.weights) == np.argmin(v.mean(axis=0))
    assert sol.weights.max() > 1 - 1e-4


def test_log_space_stays_finite_for_huge_lambda_times_values():
    rng = np.random.default_rng(2)
    v = rng.normal(size=(16, 3)) * 100
    sol = solve_weights(v, 100.0)  # lam * V up to ~1e4: phi is nearly a max of lines
    assert np.isfinite(sol.phi) and np.all(np.isfinite(sol.weights)) and np.isfinite(sol.gap)
    assert abs(sol.phi - _scipy_phi_min(v, 100.0)) < 1e-6 * abs(sol.phi)


def test_hand_computed_two_branch_example():
    # V = [[1, 0], [0, 1]], lam = 1: phi(w) = log((e^{w1} + e^{1-w1}) / 2), minimised at w = (1/2, 1/2).
    v = np.array([[1.0, 0.0], [0.0, 1.0]])
    sol = solve_weights(v, 1.0)
    np.testing.assert_allclose(sol.weights, [0.5, 0.5], atol=1e-8)
    assert sol.phi == pytest.approx(0.5)
    assert frank_wolfe_gap(sol.weights, phi_grad(sol.weights, v, 1.0)) < 1e-10


def test_single_objective_and_zero_lambda():
    v = np.arange(6.0).reshape(6, 1)
    assert solve_weights(v, 2.0).weights.tolist() == [1.0]
    np.testing.assert_allclose(solve_weights(np.ones((3, 4)), 0.0).weights, 0.25)


def test_pgd10_mimic_runs_ten_steps_and_need_not_converge():
    rng = np.random.default_rng(4)
    v = rng.uniform(size=(8, 3))
    v[:, 2] -= 0.3
    sol = solve_weights(v, 1.0, solver="pgd10")
    assert sol.iterations == 10 and np.isclose(sol.weights.sum(), 1)
    exact = solve_weights(v, 1.0)
    assert sol.phi >= exact.phi - 1e-12  # never better than the exact optimum
    # the cap keeps it running (no exception) even where exp overflows
    assert np.all(np.isfinite(solve_weights(v * 1e3, 10.0, solver="pgd10").weights))


def test_select_branch_argmax_and_sample():
    v = np.array([[0.0, 1.0], [1.0, 0.0], [0.6, 0.6]])
    rng = np.random.default_rng(0)
    assert select_branch(v, np.array([0.5, 0.5]), 1.0, "argmax", rng) == 2
    draws = [select_branch(v, np.array([0.5, 0.5]), 50.0, "sample", np.random.default_rng(s)) for s in range(20)]
    assert set(draws) == {2}
    a = [select_branch(v, np.array([0.5, 0.5]), 1.0, "sample", np.random.default_rng(7)) for _ in range(3)]
    assert len(set(a)) == 1  # same seed, same draw


@pytest.mark.parametrize("bad", [np.zeros((0, 2)), np.array([1.0, 2.0]), np.array([[np.nan, 1.0]])])
def test_bad_values_are_rejected(bad):
    with pytest.raises(InvalidInputError, match="values"):
        solve_weights(bad, 1.0)


def test_bad_settings_are_rejected():
    with pytest.raises(InvalidInputError, match="lam"):
        solve_weights(np.ones((2, 2)), -1.0)
    with pytest.raises(InvalidInputError, match="solver"):
        solve_weights(np.ones((2, 2)), 1.0, solver="adam")
