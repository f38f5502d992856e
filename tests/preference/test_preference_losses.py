"""NumPy losses: hand-computed values, finite-difference gradients, special cases."""

import numpy as np
import pytest

from saddlepoint.errors import InvalidInputError
from saddlepoint.preference import (
    REGULARIZERS,
    equivalent_regularization,
    inpo_loss,
    nash_md_pg_loss,
    regularizer_penalty,
    rspo_loss,
    sppo_loss,
)


def test_sppo_loss_hand_computed():
    # residuals: -3 + 4 - 2 (0.75 - 0.5) = 0.5 and -5 + 5 - 2 (0.25 - 0.5) = 0.5
    loss, grad = sppo_loss([-3.0, -5.0], [-4.0, -5.0], [0.75, 0.25], eta=2.0)
    assert loss == pytest.approx(0.5 * (0.5**2 + 0.5**2) / 2)
    np.testing.assert_allclose(grad, [0.25, 0.25])


def test_sppo_loss_zero_when_log_ratio_matches_target():
    rng = np.random.default_rng(0)
    logp_t, p_hat, eta = rng.normal(size=6) - 10, rng.uniform(size=6), 1000.0
    loss, grad = sppo_loss(logp_t + eta * (p_hat - 0.5), logp_t, p_hat, eta)
    assert loss == pytest.approx(0.0, abs=1e-20)
    np.testing.assert_allclose(grad, 0.0, atol=1e-12)


def test_rspo_with_lambda_zero_equals_sppo():
    rng = np.random.default_rng(1)
    args = rng.normal(size=(3, 8)) - 5
    p_hat = rng.uniform(size=8)
    base = sppo_loss(args[0], args[1], p_hat, 3.0)
    for reg in REGULARIZERS:
        out = rspo_loss(args[0], args[1], args[2], p_hat, 3.0, 0.0, reg)
        assert out[0] == base[0]
        np.testing.assert_array_equal(out[1], base[1])


def test_regularizer_values_hand_computed():
    logp, logp_ref = np.array([-2.0, -30.0]), np.array([-3.0, -4.0])
    # delta = [1, -26]
    assert regularizer_penalty(logp, logp_ref, "reverse_kl")[0] == pytest.approx((1 + 26**2) / 2)
    assert regularizer_penalty(logp, logp_ref, "reverse_kl_no_entropy")[0] == pytest.approx(-(6 + 120) / 2)
    # forward IS: exp(-1) and exp(min(26, 10)) = exp(10); the clipped entry has zero gradient
    val, grad = regularizer_penalty(logp, logp_ref, "forward_kl_is", clip=10.0)
    assert val == pytest.approx((np.exp(-1) + np.exp(10)) / 2)
    np.testing.assert_allclose(grad, [-np.exp(-1) / 2, 0.0])
    assert regularizer_penalty(logp, logp_ref, "chi2")[0] == pytest.approx((np.e + np.exp(-26)) / 2)
    rho = np.exp([1.0, -26.0])
    assert regularizer_penalty(logp, logp_ref, "chi2_smooth")[0] == pytest.approx(np.mean(rho / (1 + rho)))
    assert regularizer_penalty(logp, logp_ref, "entropy")[0] == pytest.approx((4 + 900) / 2)
    mix = regularizer_penalty(logp, logp_ref, "forward_kl_is+reverse_kl", mix_coef=0.5)[0]
    assert mix == pytest.approx(val + 0.5 * (1 + 26**2) / 2)
    with pytest.raises(InvalidInputError, match="regularizer"):
        regularizer_penalty(logp, logp_ref, "kl")


@pytest.mark.parametrize("reg", REGULARIZERS)
def test_rspo_gradient_matches_finite_differences(reg):
    rng = np.random.default_rng(2)
    logp = rng.normal(size=5) - 3
    logp_t, logp_ref = logp + rng.normal(size=5) * 0.3, logp + rng.normal(size=5) * 0.5
    p_hat = rng.uniform(size=5)
    f = lambda lp: rspo_loss(lp, logp_t, logp_ref, p_hat, 2.0, 0.3, reg, mix_coef=0.7)
    _, grad = f(logp)
    eps = 1e-6
    fd = [(f(logp + eps * e)[0] - f(logp - eps * e)[0]) / (2 * eps) for e in np.eye(5)]
    np.testing.assert_allclose(grad, fd, rtol=1e-5, atol=1e-8)


def test_inpo_loss_hand_computed_and_gradient():
    logp = np.array([[-1.0, -2.0]])
    logp_t = np.array([[-1.5, -1.5]])
    logp_ref = np.array([[-2.0, -1.0]])
    eta, tau = 1.0, 0.2
    # h = 1, h_ref = -1, h_t = 0: r = 1 + 0.2 - 0 - 0.5 = 0.7
    loss, grad = inpo_loss(logp, logp_t, logp_ref, eta, tau)
    assert loss == pytest.approx(0.49)
    np.testing.assert_allclose(grad, [[1.4, -1.4]])
    with pytest.raises(InvalidInputError, match="B, 2"):
        inpo_loss(logp.ravel(), logp_t.ravel(), logp_ref.ravel(), eta, tau)


def test_nash_md_pg_loss():
    logp, logp_ref, p = np.array([-2.0, -4.0]), np.array([-2.5, -3.0]), np.array([0.9, 0.2])
    loss, grad = nash_md_pg_loss(logp, logp_ref, p, tau=0.1)
    adv = np.array([0.4 - 0.05, -0.3 + 0.1])
    assert loss == pytest.approx(-np.mean(adv * logp))
    np.testing.assert_allclose(grad, -adv / 2)


def test_equivalent_regularization_scaling():
    assert equivalent_regularization(2.0, 0.1, "reverse_kl") == pytest.approx((0.1, 0.0))
    assert equivalent_regularization(2.0, 0.1, "forward_kl_is") == pytest.approx((0.0, 0.05))
    assert equivalent_regularization(2.0, 0.1, "forward_kl_is+reverse_kl", 0.5) == pytest.approx((0.05, 0.05))
    assert equivalent_regularization(2.0, 0.1, "chi2") is None
