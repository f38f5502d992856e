"""Vector EDM: recovers a 2-D Gaussian mixture, agrees with diffusers' EDM Euler scheduler,
same seed same result, save/load, clear errors."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from saddlepoint.errors import InvalidInputError  # noqa: E402
from saddlepoint.offline.edm import EDMConfig, VectorEDM, karras_sigmas, sample_euler  # noqa: E402

CENTRES = np.array([[-2.0, 0.0], [2.0, 1.0]])
SPREAD = 0.3
CONFIG = EDMConfig(width=64, num_blocks=2, train_steps=400, batch_size=256, lr=3e-3, steps=24,
                   ema_decay=0.98, s_churn=0.0)


def _mixture(n, rng):
    return CENTRES[rng.integers(0, 2, n)] + SPREAD * rng.standard_normal((n, 2))


@pytest.fixture(scope="module")
def fitted():
    torch.set_num_threads(1)
    model = VectorEDM(2, CONFIG, seed=0)
    model.fit(_mixture(4000, np.random.default_rng(0)), np.random.default_rng(1))
    return model


@pytest.mark.parametrize("sampler", ["heun", "euler"])
def test_recovers_gaussian_mixture(fitted, sampler):
    x = fitted.sample(4000, np.random.default_rng(2), sampler=sampler)
    right = x[:, 0] > 0
    assert abs(right.mean() - 0.5) < 0.05
    for side, centre in ((right, CENTRES[1]), (~right, CENTRES[0])):
        assert np.abs(x[side].mean(axis=0) - centre).max() < 0.15
        assert np.abs(x[side].std(axis=0) - SPREAD).max() < 0.12


def test_matches_diffusers_edm_euler(fitted):
    diffusers = pytest.importorskip("diffusers")
    sch = diffusers.EDMEulerScheduler(sigma_min=CONFIG.sigma_min, sigma_max=CONFIG.sigma_max,
                                      sigma_data=CONFIG.sigma_data, rho=CONFIG.rho, prediction_type="epsilon")
    sch.set_timesteps(CONFIG.steps)
    sigmas = karras_sigmas(CONFIG.steps, CONFIG.sigma_min, CONFIG.sigma_max, CONFIG.rho)
    assert torch.allclose(sch.sigmas.double(), sigmas, rtol=1e-5)
    x0 = torch.randn(300, 2, generator=torch.Generator().manual_seed(3)) * CONFIG.sigma_max
    with torch.no_grad():
        ours = sample_euler(fitted.denoise, x0.clone(), sigmas)
        x = x0.clone()
        for t in sch.timesteps:  # diffusers' timestep is c_noise = log(sigma) / 4, as ours
            out = fitted.ema(sch.scale_model_input(x, t), t.expand(x.shape[0]).float())
            x = sch.step(out, t, x).prev_sample
    assert (ours - x).abs().max() < 1e-4


def test_same_seed_same_result_and_save_load(fitted, tmp_path):
    data = _mixture(300, np.random.default_rng(4))
    small = EDMConfig(width=16, num_blocks=1, train_steps=20, batch_size=64, steps=4)
    a, b = VectorEDM(2, small, seed=5), VectorEDM(2, small, seed=5)
    assert a.fit(data, np.random.default_rng(6)) == b.fit(data, np.random.default_rng(6))
    sa, sb = a.sample(50, np.random.default_rng(7)), b.sample(50, np.random.default_rng(7))
    assert np.array_equal(sa, sb)
    a.save(tmp_path / "edm.pt")
    c = VectorEDM.load(tmp_path / "edm.pt")
    assert np.array_equal(c.sample(50, np.random.default_rng(7)), sa)


def test_bad_input(tmp_path):
    model = VectorEDM(3, EDMConfig(train_steps=1))
    with pytest.raises(InvalidInputError, match=r"shape \(N, 3\)"):
        model.fit(np.zeros((10, 2)), np.random.default_rng(0))
    with pytest.raises(InvalidInputError, match="empty"):
        model.fit(np.zeros((0, 3)), np.random.default_rng(0))
    with pytest.raises(InvalidInputError, match="fitted"):
        model.sample(5, np.random.default_rng(0))
    with pytest.raises(InvalidInputError, match="sampler"):
        EDMConfig(sampler="ddim")
    with pytest.raises(InvalidInputError, match="no saved EDM"):
        VectorEDM.load(tmp_path / "missing.pt")
