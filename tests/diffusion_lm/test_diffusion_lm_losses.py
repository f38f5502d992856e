"""d1 and wd1 losses on small hand-computed arrays."""

import math

import pytest

torch = pytest.importorskip("torch")

from saddlepoint.diffusion_lm.likelihood import masked_diffusion_loss
from saddlepoint.diffusion_lm.losses import (
    diffu_grpo_loss,
    group_advantages,
    wd1_loss,
    wd1_weights,
)
from saddlepoint.errors import InvalidInputError

SIG1 = 1 / (1 + math.exp(-1))  # softmax([0.5, -0.5])[0] = sigmoid(1) = 0.7310586


def test_group_advantages_are_centred_not_scaled():
    r = torch.tensor([[1.0, 0.0, 0.5], [2.0, 2.0, 2.0]])
    torch.testing.assert_close(group_advantages(r), torch.tensor([[0.5, -0.5, 0.0], [0.0, 0.0, 0.0]]))


def test_wd1_weights_by_hand():
    w_pos, w_neg = wd1_weights(torch.tensor([[0.5, -0.5]]))
    torch.testing.assert_close(w_pos, torch.tensor([[SIG1, 1 - SIG1]]))
    torch.testing.assert_close(w_neg, torch.tensor([[1 - SIG1, SIG1]]))
    w_pos2, _ = wd1_weights(torch.tensor([[0.5, -0.5]]), psi=2.0)
    e = math.exp(2.0)
    torch.testing.assert_close(w_pos2, torch.tensor([[e / (e + 1), 1 / (e + 1)]]))


def test_wd1_loss_by_hand():
    logp = torch.tensor([[-1.0, -3.0]], requires_grad=True)
    adv = torch.tensor([[0.5, -0.5]])
    # -(0.7311 * -1 + 0.2689 * -3) + (0.2689 * -1 + 0.7311 * -3) = 1.5378828 - 2.4621172
    loss = wd1_loss(logp, adv)
    assert loss.item() == pytest.approx(-0.9242344, abs=1e-6)
    loss.backward()
    # dL/dlogp = w- - w+
    torch.testing.assert_close(logp.grad, torch.tensor([[1 - 2 * SIG1, 2 * SIG1 - 1]]))
    assert wd1_loss(logp, adv, negative=False).item() == pytest.approx(1.5378828, abs=1e-6)


def test_wd1_loss_averages_groups_and_cancels_with_equal_rewards():
    logp = torch.tensor([[-1.0, -3.0], [-2.0, -5.0]], requires_grad=True)
    adv = group_advantages(torch.tensor([[1.0, 0.0], [0.3, 0.3]]))
    loss = wd1_loss(logp, adv)
    assert loss.item() == pytest.approx(-0.9242344 / 2, abs=1e-6)
    loss.backward()
    torch.testing.assert_close(logp.grad[1], torch.zeros(2))  # equal rewards: no update


def test_diffu_grpo_loss_by_hand():
    # one prompt, two completions, two tokens each; the second token is masked out
    logp = torch.tensor([[[math.log(2.0), 9.0], [math.log(2.0), -9.0]]], requires_grad=True)
    old = torch.zeros(1, 2, 2)
    adv = torch.tensor([[1.0, -1.0]])
    mask = torch.tensor([[[1.0, 0.0], [1.0, 0.0]]])
    # ratio 2: A=+1 -> min(2, 1.5) = 1.5; A=-1 -> min(-2, -1.5) = -2; no KL (ref = logp)
    loss = diffu_grpo_loss(logp, old, logp.detach().clone(), adv, mask, epsilon=0.5, beta=0.04)
    assert loss.item() == pytest.approx(-(1.5 - 2.0) / 2, abs=1e-6)
    # k3 KL with ref - logp = log 2: 2 - log 2 - 1 = 0.3068528 per token
    ref = logp.detach() + math.log(2.0)
    loss_kl = diffu_grpo_loss(logp, old, ref, adv, mask, epsilon=0.5, beta=0.04)
    assert loss_kl.item() == pytest.approx(0.25 + 0.04 * (1 - math.log(2.0)), abs=1e-6)
    loss.backward()
    # clipped completion (A=+1, ratio above 1+eps) gets no gradient; A=-1 keeps rho*A: d/dlogp = -(rho*A)/2
    torch.testing.assert_close(logp.grad, torch.tensor([[[0.0, 0.0], [1.0, 0.0]]]))


def test_diffu_grpo_loss_is_zero_on_policy_with_centred_advantages():
    logp = torch.randn(3, 4, 5, generator=torch.Generator().manual_seed(0))
    adv = group_advantages(torch.rand(3, 4, generator=torch.Generator().manual_seed(1)))
    assert diffu_grpo_loss(logp, logp, logp, adv).item() == pytest.approx(0.0, abs=1e-6)


def test_shape_errors_name_the_argument():
    with pytest.raises(InvalidInputError, match="advantages"):
        wd1_loss(torch.zeros(2, 3), torch.zeros(2, 2))
    with pytest.raises(InvalidInputError, match="advantages"):
        diffu_grpo_loss(torch.zeros(1, 2, 3), torch.zeros(1, 2, 3), torch.zeros(1, 2, 3), torch.zeros(2, 1))
    with pytest.raises(InvalidInputError, match="psi"):
        wd1_weights(torch.zeros(1, 2), psi=-1.0)


def test_masked_diffusion_loss_by_hand():
    token_logp = torch.tensor([[-1.0, -2.0], [-4.0, -8.0]])
    masked = torch.tensor([[True, False], [True, True]])
    t = torch.tensor([0.5, 0.25])
    # row 0: -1 / 0.5 / 2 = -1; row 1: -12 / 0.25 / 2 = -24; loss = -(-1 - 24) / 2
    assert masked_diffusion_loss(token_logp, masked, t).item() == pytest.approx(12.5)
