"""Torch losses agree with the NumPy ones in value and gradient (autograd vs hand-derived)."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from saddlepoint.preference import losses as np_losses
from saddlepoint.preference import torch_losses as t_losses


def _t(a, grad=False):
    return torch.tensor(np.asarray(a, dtype=float), dtype=torch.float64, requires_grad=grad)


@pytest.fixture(scope="module")
def batch():
    rng = np.random.default_rng(0)
    logp = rng.normal(size=7) * 3 - 20
    # include entries beyond the clip (|delta| > 10) on both sides
    logp_ref = logp + np.array([0.3, -0.5, 12.0, -13.0, 1.0, -2.0, 0.0])
    return logp, logp + rng.normal(size=7), logp_ref, rng.uniform(size=7)


@pytest.mark.parametrize("reg", np_losses.REGULARIZERS)
def test_rspo_torch_matches_numpy(batch, reg):
    logp, logp_t, logp_ref, p_hat = batch
    val, grad = np_losses.rspo_loss(logp, logp_t, logp_ref, p_hat, 5.0, 0.3, reg, mix_coef=0.7)
    x = _t(logp, grad=True)
    loss = t_losses.rspo_loss(x, _t(logp_t), _t(logp_ref), _t(p_hat), 5.0, 0.3, reg, mix_coef=0.7)
    loss.backward()
    assert loss.item() == pytest.approx(val, rel=1e-12)
    np.testing.assert_allclose(x.grad.numpy(), grad, rtol=1e-10, atol=1e-14)


def test_sppo_torch_matches_numpy(batch):
    logp, logp_t, _, p_hat = batch
    val, grad = np_losses.sppo_loss(logp, logp_t, p_hat, 1000.0)
    x = _t(logp, grad=True)
    loss = t_losses.sppo_loss(x, _t(logp_t), _t(p_hat), 1000.0)
    loss.backward()
    assert loss.item() == pytest.approx(val, rel=1e-12)
    np.testing.assert_allclose(x.grad.numpy(), grad, rtol=1e-12)


def test_inpo_torch_matches_numpy(batch):
    logp, logp_t, logp_ref, _ = batch
    shape = (3, 2)
    a, b, c = logp[:6].reshape(shape), logp_t[:6].reshape(shape), logp_ref[:6].reshape(shape)
    val, grad = np_losses.inpo_loss(a, b, c, 2.0, 0.1)
    x = _t(a, grad=True)
    loss = t_losses.inpo_loss(x, _t(b), _t(c), 2.0, 0.1)
    loss.backward()
    assert loss.item() == pytest.approx(val, rel=1e-12)
    np.testing.assert_allclose(x.grad.numpy(), grad, rtol=1e-12)


def test_nash_md_torch_matches_numpy(batch):
    logp, _, logp_ref, p = batch
    val, grad = np_losses.nash_md_pg_loss(logp, logp_ref, p, 0.1)
    x = _t(logp, grad=True)
    loss = t_losses.nash_md_pg_loss(x, _t(logp_ref), _t(p), 0.1)
    loss.backward()
    assert loss.item() == pytest.approx(val, rel=1e-12)
    np.testing.assert_allclose(x.grad.numpy(), grad, rtol=1e-12)


def test_sft_torch_matches_numpy(batch):
    logp = batch[0]
    val, grad = np_losses.forward_kl_sft_loss(logp)
    x = _t(logp, grad=True)
    loss = t_losses.forward_kl_sft_loss(x)
    loss.backward()
    assert loss.item() == pytest.approx(val)
    np.testing.assert_allclose(x.grad.numpy(), grad)


def test_unknown_regularizer_raises(batch):
    from saddlepoint.errors import InvalidInputError

    logp = _t(batch[0])
    with pytest.raises(InvalidInputError, match="regularizer"):
        t_losses.rspo_loss(logp, logp, logp, logp, 1.0, 0.0, "kl")
