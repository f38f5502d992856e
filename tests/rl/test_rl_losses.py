"""The pure loss functions on small hand-computed tensors."""

import math

import pytest
import torch

from saddlepoint.rl.bc import bc_loss
from saddlepoint.rl.cql import discrete_cql_loss
from saddlepoint.rl.ppo import compute_gae, ppo_loss


def test_gae_hand_computed():
    # one env, three steps, episode ends at t = 1, gamma = 0.5, lambda = 0.5
    rewards = torch.tensor([[1.0], [2.0], [0.0]])
    values = torch.tensor([[0.5], [1.0], [2.0]])
    dones = torch.tensor([[0.0], [1.0], [0.0]])
    last = torch.tensor([4.0])
    adv, ret = compute_gae(rewards, values, dones, last, gamma=0.5, lam=0.5)
    d2 = 0.0 + 0.5 * 4.0 - 2.0          # 0
    d1 = 2.0 - 1.0                      # 1 (no bootstrap past the end)
    d0 = 1.0 + 0.5 * 1.0 - 0.5          # 1
    expected = [d0 + 0.25 * d1, d1, d2]
    assert adv[:, 0].tolist() == pytest.approx(expected)
    assert ret[:, 0].tolist() == pytest.approx([e + v for e, v in zip(expected, [0.5, 1.0, 2.0])])


def test_gae_lambda_one_is_monte_carlo_return():
    rewards = torch.tensor([[0.0], [0.0], [1.0]])
    values = torch.tensor([[0.3], [0.2], [0.1]])
    dones = torch.tensor([[0.0], [0.0], [1.0]])
    _, ret = compute_gae(rewards, values, dones, torch.tensor([9.0]), gamma=0.9, lam=1.0)
    assert ret[:, 0].tolist() == pytest.approx([0.81, 0.9, 1.0])


def test_ppo_loss_clips_ratio_and_value():
    adv = torch.tensor([1.0, -1.0])
    old = torch.log(torch.tensor([0.5, 0.5]))
    new = torch.log(torch.tensor([0.9, 0.1]))  # ratios 1.8 and 0.2
    ent = torch.tensor([0.7, 0.7])
    total, pg, v, e, kl = ppo_loss(new, old, adv, torch.tensor([3.0, 0.0]), torch.tensor([0.0, 0.0]),
                                   torch.tensor([1.0, 0.0]), ent, clip_coef=0.2, clip_value=False,
                                   vf_coef=0.5, ent_coef=0.01)
    # clipped: -min(1.8, 1.2) * 1 and -min(0.2 * -1, 0.8 * -1) = 0.8
    assert float(pg) == pytest.approx((-1.2 + 0.8) / 2)
    assert float(v) == pytest.approx(0.5 * (4.0 + 0.0) / 2)
    assert float(total) == pytest.approx(float(pg) + 0.5 * float(v) - 0.01 * 0.7)
    assert float(kl) > 0
    _, _, v_clip, _, _ = ppo_loss(new, old, adv, torch.tensor([3.0, 0.0]), torch.tensor([0.0, 0.0]),
                                  torch.tensor([1.0, 0.0]), ent, clip_coef=0.2, clip_value=True,
                                  vf_coef=0.5, ent_coef=0.01)
    # clipped value 0.2: max((3-1)^2, (0.2-1)^2) = 4 -> pessimistic max keeps the unclipped error here
    assert float(v_clip) == pytest.approx(1.0)


def test_cql_loss_hand_computed():
    q = torch.tensor([[1.0, 2.0], [0.0, 0.0]])
    actions = torch.tensor([1, 0])
    rewards = torch.tensor([0.5, 1.0])
    terminated = torch.tensor([0.0, 1.0])
    q_next_target = torch.tensor([[3.0, 1.0], [5.0, 5.0]])
    q_next_online = torch.tensor([[0.0, 1.0], [0.0, 0.0]])  # double Q picks action 1 -> target 1.0
    total, td, cons = discrete_cql_loss(q, actions, rewards, terminated, q_next_target, q_next_online,
                                        gamma=0.5, alpha=2.0)
    # targets y = [0.5 + 0.5 * 1.0, 1.0] = [1.0, 1.0]
    expected_td = (0.5 * (2.0 - 1.0) ** 2 + 0.5 * (0.0 - 1.0) ** 2) / 2  # Huber, |err| <= 1
    assert float(td) == pytest.approx(expected_td)
    lse = [math.log(math.exp(1) + math.exp(2)), math.log(2)]
    assert float(cons) == pytest.approx(((lse[0] - 2.0) + (lse[1] - 0.0)) / 2)
    assert float(total) == pytest.approx(expected_td + 2.0 * float(cons))
    _, td_max, _ = discrete_cql_loss(q, actions, rewards, terminated, q_next_target, None, gamma=0.5, alpha=2.0)
    assert float(td_max) == pytest.approx(0.25)  # max over the target: y = 2.0 = Q(s, a) in the first row


def test_bc_loss_is_cross_entropy():
    logits = torch.tensor([[0.0, 0.0, 0.0, 0.0]])
    assert float(bc_loss(logits, torch.tensor([2]))) == pytest.approx(math.log(4))
