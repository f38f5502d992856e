"""G-optimal design: Kiefer-Wolfowitz condition, known designs, a log-det cross-check."""

import numpy as np
import pytest
from scipy.optimize import minimize

from saddlepoint.bandits import g_optimal_design, leverages, span_basis, sphere_points
from saddlepoint.errors import InvalidInputError


@pytest.mark.parametrize("k,d", [(50, 5), (50, 20), (200, 10), (8, 2)])
@pytest.mark.parametrize("away", [True, False])
def test_kiefer_wolfowitz_max_leverage_equals_d(k, d, away):
    arms = sphere_points(k, d, np.random.default_rng(k + d))
    tol = 1e-3
    design = g_optimal_design(arms, tol=tol, away_steps=away, max_iter=200_000)
    assert design.converged and design.rank == d
    g = leverages(arms, design.weights)
    assert design.max_leverage == pytest.approx(g.max())
    assert d <= g.max() <= (1 + tol) * d  # max leverage >= d for every design, = d at the optimum
    assert np.sum(design.weights * g) == pytest.approx(d)  # trace identity sum pi g = d
    assert design.weights.sum() == pytest.approx(1.0) and np.all(design.weights >= 0)


def test_known_designs():
    # the standard basis: uniform weights, every leverage exactly d
    d = 4
    design = g_optimal_design(np.eye(d))
    np.testing.assert_allclose(design.weights, np.full(d, 1 / d))
    assert design.max_leverage == pytest.approx(d)
    # a short arm inside the hull gets no weight
    arms = np.array([[1.0, 0.0], [0.0, 1.0], [0.3, 0.3]])
    design = g_optimal_design(arms, tol=1e-6)
    np.testing.assert_allclose(design.weights, [0.5, 0.5, 0.0], atol=1e-5)


def test_rank_deficient_arms_use_their_span():
    rng = np.random.default_rng(1)
    arms = rng.standard_normal((30, 2)) @ rng.standard_normal((2, 6))
    basis = span_basis(arms)
    assert basis.shape == (6, 2)
    np.testing.assert_allclose(basis.T @ basis, np.eye(2), atol=1e-12)
    design = g_optimal_design(arms, tol=1e-3)
    assert design.rank == 2 and design.max_leverage <= 2 * (1 + 1e-3)


def test_matches_log_det_maximisation():
    """Kiefer-Wolfowitz: the G-optimal design is D-optimal; compare log det with SLSQP."""
    arms = sphere_points(12, 3, np.random.default_rng(7))
    tol = 1e-3
    design = g_optimal_design(arms, tol=tol)

    def neg_logdet(p):
        return -np.linalg.slogdet(arms.T @ (p[:, None] * arms))[1]

    res = minimize(neg_logdet, np.full(12, 1 / 12), method="SLSQP", bounds=[(0, 1)] * 12,
                   constraints=[{"type": "eq", "fun": lambda p: p.sum() - 1}],
                   options={"ftol": 1e-12, "maxiter": 500})
    ours = -neg_logdet(design.weights)
    assert ours <= -res.fun + 1e-6
    assert ours >= -res.fun - tol * 3  # duality gap of log det is at most max g - d


def test_bad_design_input():
    with pytest.raises(InvalidInputError):
        g_optimal_design(np.zeros((0, 3)))
    with pytest.raises(InvalidInputError):
        g_optimal_design(np.zeros((4, 3)))
    with pytest.raises(InvalidInputError):
        g_optimal_design(np.eye(3), tol=0)
