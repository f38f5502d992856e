"""The exact GP: closed-form posteriors, incremental Cholesky, jitter, evidence and fitting."""

import numpy as np
import pytest

from saddlepoint.bayesopt import (
    CholeskyError,
    ExactGP,
    FitConfig,
    GPHyperparameters,
    fit_hyperparameters,
    robust_cholesky,
)
from saddlepoint.bayesopt.gp import _neg_mll_and_grad, _Packing
from saddlepoint.errors import InvalidInputError


def test_one_point_posterior_matches_closed_form():
    # k(x, x') = s exp(-(x - x')^2 / (2 l^2)); one observation y at x = 0
    s, l, noise, y = 2.0, 0.5, 0.1, 1.3
    gp = ExactGP(1, hyper=GPHyperparameters(lengthscales=(l,), outputscale=s, noise=noise, mean=0.0))
    gp.add(np.array([[0.0]]), np.array([y]))
    xs = np.array([[0.0], [0.5], [2.0]])
    k = s * np.exp(-xs[:, 0] ** 2 / (2 * l ** 2))
    mean, var = gp.posterior(xs)
    np.testing.assert_allclose(mean, k * y / (s + noise), rtol=1e-12)
    np.testing.assert_allclose(var, s - k ** 2 / (s + noise), rtol=1e-12)


def test_two_points_with_mean_and_noise_scales_match_dense_algebra():
    h = GPHyperparameters(lengthscales=(0.7,), outputscale=1.5, noise=0.2, mean=0.4)
    gp = ExactGP(1, kernel="matern52", hyper=h)
    x, y, r = np.array([[0.0], [1.0]]), np.array([1.0, -0.5]), np.array([1.0, 0.25])
    gp.add(x, y, noise_scale=r)

    def k(a, b):
        d = np.abs(a[:, None, 0] - b[None, :, 0]) / 0.7
        return 1.5 * (1 + np.sqrt(5) * d + 5 * d ** 2 / 3) * np.exp(-np.sqrt(5) * d)

    xs = np.array([[0.3], [2.0]])
    kinv = np.linalg.inv(k(x, x) + np.diag(0.2 * r))
    mean, cov = gp.posterior(xs, full_cov=True)
    np.testing.assert_allclose(mean, 0.4 + k(xs, x) @ kinv @ (y - 0.4), rtol=1e-10)
    np.testing.assert_allclose(cov, k(xs, xs) - k(xs, x) @ kinv @ k(x, xs), atol=1e-12)
    resid = y - 0.4
    _, logdet = np.linalg.slogdet(k(x, x) + np.diag(0.2 * r))
    mll = -0.5 * resid @ kinv @ resid - 0.5 * logdet - np.log(2 * np.pi)
    assert gp.log_marginal_likelihood() == pytest.approx(mll, rel=1e-10)


def test_incremental_updates_equal_batch_factorisation():
    rng = np.random.default_rng(0)
    x, y = rng.uniform(size=(25, 3)), rng.normal(size=25)
    h = GPHyperparameters(lengthscales=(0.4, 0.8, 1.1), outputscale=0.9, noise=0.05, mean=0.1)
    batch, seq = ExactGP(3, hyper=h), ExactGP(3, hyper=h)
    batch.add(x, y)
    for i in range(0, 25, 4):
        seq.add(x[i:i + 4], y[i:i + 4])
    xs = rng.uniform(size=(6, 3))
    for a, b in zip(batch.posterior(xs), seq.posterior(xs)):
        np.testing.assert_allclose(a, b, atol=1e-12)
    assert batch.log_marginal_likelihood() == pytest.approx(seq.log_marginal_likelihood(), rel=1e-12)


def test_weighted_sum_observations_match_joint_gaussian_conditioning():
    # observe g = 0.3 f(x1) + 0.7 f(x2) + noise; query f(x3) and the functional itself
    rng = np.random.default_rng(1)
    h = GPHyperparameters(lengthscales=(0.5,), outputscale=1.0, noise=0.01, mean=0.0)
    gp = ExactGP(2, hyper=h)
    pts, w = rng.uniform(size=(3, 2, 2)), rng.dirichlet(np.ones(2), size=3)
    y = rng.normal(size=3)
    gp.add(pts, y, weights=w)
    allx = np.concatenate([pts.reshape(6, 2), [[0.2, 0.9]]])
    d2 = ((allx[:, None] - allx[None]) ** 2).sum(-1)
    kfull = np.exp(-d2 / (2 * 0.25))
    a = np.zeros((3, 7))
    for i in range(3):
        a[i, 2 * i:2 * i + 2] = w[i]
    kyy = a @ kfull @ a.T + 0.01 * np.eye(3)
    kqy = kfull[6] @ a.T
    mean, var = gp.posterior(np.array([[0.2, 0.9]]))
    np.testing.assert_allclose(mean, kqy @ np.linalg.solve(kyy, y), rtol=1e-10)
    np.testing.assert_allclose(var, 1 - kqy @ np.linalg.solve(kyy, kqy), rtol=1e-10)
    # posterior of a weighted sum equals w^T Cov w of the per-point posterior
    q = rng.uniform(size=(1, 3, 2))
    wq = np.array([[0.2, 0.5, 0.3]])
    m_lin, v_lin = gp.posterior_linear(q, wq)
    m_pts, c_pts = gp.posterior(q[0], full_cov=True)
    assert m_lin[0] == pytest.approx(wq[0] @ m_pts, rel=1e-10)
    assert v_lin[0] == pytest.approx(wq[0] @ c_pts @ wq[0], rel=1e-8)


def test_jitter_retry_and_clear_failure():
    k = np.ones((3, 3))  # rank one: plain Cholesky fails
    chol, used = robust_cholesky(k, jitter=1e-10, max_jitter=1e-2)
    assert used > 0
    np.testing.assert_allclose(chol @ chol.T, k + used * np.eye(3), atol=1e-12)
    with pytest.raises(CholeskyError, match="jitter"):
        robust_cholesky(-np.eye(2), max_jitter=1e-3)
    with pytest.raises(CholeskyError, match="non-finite"):
        robust_cholesky(np.array([[np.nan]]))
    # duplicate inputs with negligible noise still factorise
    gp = ExactGP(1, hyper=GPHyperparameters(noise=1e-20))
    gp.add(np.zeros((3, 1)), np.ones(3))
    assert gp.jitter_used > 0
    assert np.isfinite(gp.posterior(np.array([[0.1]]))[0]).all()


def test_log_marginal_likelihood_gradient_matches_finite_differences():
    rng = np.random.default_rng(2)
    for kernel in ("rbf", "matern52"):
        gp = ExactGP(2, kernel=kernel, hyper=GPHyperparameters((0.4, 0.9), 0.8, 0.02, 0.3))
        gp.add(rng.uniform(size=(5, 3, 2)), rng.normal(size=5), weights=rng.uniform(size=(5, 3)),
               noise_scale=rng.uniform(0.5, 2, size=5))
        pack = _Packing(n_ls=2, fit_noise=True, fit_mean=True)
        theta = pack.pack(gp.hyper)
        val, grad = _neg_mll_and_grad(theta, gp, pack, gp.hyper)
        assert val == pytest.approx(-gp.log_marginal_likelihood(), rel=1e-10)
        eps = 1e-6
        num = [(_neg_mll_and_grad(theta + e, gp, pack, gp.hyper)[0]
                - _neg_mll_and_grad(theta - e, gp, pack, gp.hyper)[0]) / (2 * eps)
               for e in np.eye(theta.size) * eps]
        np.testing.assert_allclose(grad, num, rtol=1e-4, atol=1e-6)


def test_fitting_raises_the_evidence_and_is_seeded():
    rng = np.random.default_rng(3)
    x = rng.uniform(size=(30, 2))
    y = np.sin(4 * x[:, 0]) + 0.05 * rng.normal(size=30)
    fitted = []
    for _ in range(2):
        gp = ExactGP(2, hyper=GPHyperparameters((3.0,), 0.1, 0.5, 0.0))
        gp.add(x, y)
        before = gp.log_marginal_likelihood()
        fitted.append(fit_hyperparameters(gp, FitConfig(restarts=1), np.random.default_rng(7)))
        assert gp.log_marginal_likelihood() > before + 10
    assert fitted[0] == fitted[1]
    # the relevant dimension gets the shorter lengthscale
    assert fitted[0].lengthscales[0] < fitted[0].lengthscales[1]


def test_bad_gp_input_is_rejected():
    gp = ExactGP(2)
    with pytest.raises(InvalidInputError, match="NaN"):
        gp.add(np.zeros((1, 2)), np.array([np.nan]))
    with pytest.raises(InvalidInputError, match="points"):
        gp.add(np.zeros((1, 3)), np.zeros(1))
    with pytest.raises(InvalidInputError, match="lengthscales"):
        ExactGP(2, hyper=GPHyperparameters(lengthscales=(1.0, 1.0, 1.0)))
    with pytest.raises(InvalidInputError, match="noise"):
        GPHyperparameters(noise=0.0)
    with pytest.raises(InvalidInputError, match="without observations"):
        fit_hyperparameters(gp)


def test_state_round_trip():
    rng = np.random.default_rng(4)
    gp = ExactGP(2, hyper=GPHyperparameters((0.3, 0.6), 1.0, 0.1, 0.2))
    gp.add(rng.uniform(size=(4, 2, 2)), rng.normal(size=4), weights=rng.uniform(size=(4, 2)))
    clone = ExactGP.from_state(gp.state_dict())
    q, w = rng.uniform(size=(3, 2, 2)), rng.uniform(size=(3, 2))
    for a, b in zip(gp.posterior_linear(q, w), clone.posterior_linear(q, w)):
        np.testing.assert_allclose(a, b, atol=1e-12)
