"""Optional BoTorch/GPyTorch backend (extra ``bo``): hyper-parameter learning with
``fit_gpytorch_mll`` on the same model as :class:`~saddlepoint.bayesopt.gp.ExactGP`, and a
converter used to cross-check our posterior against GPyTorch's.

The GPyTorch model is built without priors and with the same boxes on the hyper-parameters
as :class:`~saddlepoint.bayesopt.gp.FitConfig`, so both backends maximise the same objective
(the exact log marginal likelihood). Only direct observations (``q = 1``, weight 1) can be
handed to BoTorch's ``SingleTaskGP``; a learned noise level needs a common noise scale.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from saddlepoint.bayesopt.gp import ExactGP, FitConfig, GPHyperparameters
from saddlepoint.errors import InvalidInputError, require

__all__ = ["fit_hyperparameters_botorch", "to_botorch_model"]


def _direct_data(gp: ExactGP) -> dict[str, np.ndarray]:
    data = gp.training_data()
    if data["y"].size == 0:
        raise InvalidInputError("the GP has no observations")
    if data["points"].shape[1] != 1 or not np.allclose(data["weights"], 1.0):
        raise InvalidInputError("the BoTorch backend supports direct observations only "
                                "(q = 1, weight 1), not weighted sums")
    return data


def to_botorch_model(gp: ExactGP, config: FitConfig | None = None, *, fixed_noise: bool = True) -> Any:
    """A ``botorch.models.SingleTaskGP`` (float64) with ``gp``'s data, kernel and
    hyper-parameters and no priors. ``fixed_noise=True`` gives each point its variance
    ``noise * noise_scale`` (a ``FixedNoiseGaussianLikelihood``); otherwise the noise is one
    learnable ``GaussianLikelihood`` parameter (needs a common noise scale).
    """
    torch = require("torch", "bo")
    require("botorch", "bo")
    gpytorch = require("gpytorch", "bo")
    from botorch.models import SingleTaskGP

    cfg = config or FitConfig()
    data = _direct_data(gp)
    h = gp.hyper
    x = torch.as_tensor(data["points"][:, 0, :], dtype=torch.float64)
    y = torch.as_tensor(data["y"], dtype=torch.float64).unsqueeze(-1)
    yvar = torch.as_tensor(h.noise * data["noise_scale"], dtype=torch.float64).unsqueeze(-1)
    ard = len(h.lengthscales) > 1 or cfg.ard
    dims = gp.dim if ard else None
    iv = gpytorch.constraints.Interval
    if gp.kernel == "rbf":
        base = gpytorch.kernels.RBFKernel(ard_num_dims=dims, lengthscale_constraint=iv(*cfg.lengthscale_bounds))
    else:
        base = gpytorch.kernels.MaternKernel(nu=2.5, ard_num_dims=dims,
                                             lengthscale_constraint=iv(*cfg.lengthscale_bounds))
    covar = gpytorch.kernels.ScaleKernel(base, outputscale_constraint=iv(*cfg.outputscale_bounds))
    mean = gpytorch.means.ConstantMean()
    if fixed_noise:
        model = SingleTaskGP(x, y, train_Yvar=yvar, covar_module=covar, mean_module=mean,
                             outcome_transform=None)
    else:
        if not np.allclose(data["noise_scale"], data["noise_scale"][0]):
            raise InvalidInputError("learning the noise with BoTorch needs a common noise_scale")
        lik = gpytorch.likelihoods.GaussianLikelihood(noise_constraint=iv(*cfg.noise_bounds))
        model = SingleTaskGP(x, y, likelihood=lik, covar_module=covar, mean_module=mean,
                             outcome_transform=None)
        model.likelihood.noise = float(h.noise * data["noise_scale"][0])
    model = model.to(torch.float64)
    ls = np.broadcast_to(np.asarray(h.lengthscales), (gp.dim,)) if ard else np.asarray(h.lengthscales[:1])
    if not ard and len(h.lengthscales) > 1:
        ls = np.exp(np.mean(np.log(h.lengthscales)))[None]
    ls = np.clip(ls, *cfg.lengthscale_bounds)
    model.covar_module.base_kernel.lengthscale = torch.as_tensor(ls, dtype=torch.float64).reshape(1, -1)
    model.covar_module.outputscale = float(np.clip(h.outputscale, *cfg.outputscale_bounds))
    model.mean_module.constant = float(h.mean)
    return model


def fit_hyperparameters_botorch(gp: ExactGP, config: FitConfig | None = None) -> GPHyperparameters:
    """Fit ``gp``'s hyper-parameters with BoTorch's ``fit_gpytorch_mll`` (exact marginal
    likelihood, L-BFGS-B from the current values), set them on ``gp`` and return them.

    ``config.fit_noise=False`` keeps sigma^2 and supports per-point noise scales;
    ``config.fit_mean=False`` freezes the constant mean. ``restarts`` and ``maxiter`` are
    BoTorch's own (it retries failed fits itself).
    """
    torch = require("torch", "bo")
    require("botorch", "bo")
    gpytorch = require("gpytorch", "bo")
    from botorch.fit import fit_gpytorch_mll

    cfg = config or FitConfig()
    model = to_botorch_model(gp, cfg, fixed_noise=not cfg.fit_noise)
    if not cfg.fit_mean:
        model.mean_module.raw_constant.requires_grad_(False)
    model.train()
    mll = gpytorch.mlls.ExactMarginalLogLikelihood(model.likelihood, model)
    fit_gpytorch_mll(mll, optimizer_kwargs={"options": {"maxiter": cfg.maxiter}})
    model.eval()
    with torch.no_grad():
        ls = model.covar_module.base_kernel.lengthscale.reshape(-1).numpy().astype(float)
        noise = gp.hyper.noise
        if cfg.fit_noise:
            scale0 = float(gp.training_data()["noise_scale"][0])
            noise = float(model.likelihood.noise.reshape(-1)[0]) / scale0
        hyper = GPHyperparameters(
            lengthscales=tuple(ls), outputscale=float(model.covar_module.outputscale),
            noise=noise, mean=float(model.mean_module.constant))
    gp.set_hyperparameters(hyper)
    return hyper
