"""Cross-check of our GP against BoTorch/GPyTorch (extra ``bo``; skipped where absent)."""

import numpy as np
import pytest

from saddlepoint.bayesopt import ExactGP, FitConfig, GPHyperparameters, fit_hyperparameters

botorch = pytest.importorskip("botorch")
torch = pytest.importorskip("torch")

from saddlepoint.bayesopt.botorch_backend import (
    fit_hyperparameters_botorch,
    to_botorch_model,
)


def _data(seed: int):
    rng = np.random.default_rng(seed)
    x = rng.uniform(size=(25, 2))
    return x, np.sin(3 * x[:, 0]) + x[:, 1] ** 2 + 0.05 * rng.normal(size=25), rng


@pytest.mark.parametrize("kernel", ["rbf", "matern52"])
def test_posterior_matches_gpytorch(kernel):
    x, y, rng = _data(0)
    gp = ExactGP(2, kernel=kernel, hyper=GPHyperparameters((0.3, 0.6), 0.8, 0.01, 0.3))
    gp.add(x, y, noise_scale=rng.uniform(0.5, 2.0, size=25))
    xs = rng.uniform(size=(8, 2))
    mean, var = gp.posterior(xs)
    model = to_botorch_model(gp)
    model.eval()
    with torch.no_grad():
        post = model.posterior(torch.as_tensor(xs))
    np.testing.assert_allclose(post.mean.numpy().ravel(), mean, atol=1e-7)
    np.testing.assert_allclose(post.variance.numpy().ravel(), var, atol=1e-7)


def test_fitted_evidence_matches_botorch_fit():
    x, y, _ = _data(1)
    ours = ExactGP(2, hyper=GPHyperparameters((0.5,), 1.0, 0.01, 0.0))
    theirs = ExactGP(2, hyper=GPHyperparameters((0.5,), 1.0, 0.01, 0.0))
    ours.add(x, y)
    theirs.add(x, y)
    fit_hyperparameters(ours, FitConfig(restarts=0))
    h = fit_hyperparameters_botorch(theirs, FitConfig())
    # same objective, same optimum: BoTorch's hyper-parameters evaluated by our likelihood
    assert ours.log_marginal_likelihood() == pytest.approx(theirs.log_marginal_likelihood(), abs=1e-3)
    np.testing.assert_allclose(ours.hyper.lengthscales, h.lengthscales, rtol=1e-2)
