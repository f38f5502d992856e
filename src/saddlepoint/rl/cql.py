"""Discrete conservative Q-learning (Kumar et al., 2020) with double Q-learning and a target network."""

from __future__ import annotations

import copy
import logging
import time
from dataclasses import dataclass, field

from saddlepoint.errors import InvalidInputError, require
from saddlepoint.progress import progress
from saddlepoint.rl.batches import TransitionBatches
from saddlepoint.rl.bc import TrainResult
from saddlepoint.rl.networks import DiscreteHead, NetworkConfig, seeded

torch = require("torch", "torch")
F = torch.nn.functional
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DiscreteCQLConfig:
    """Discrete CQL settings (defaults follow d3rlpy's DiscreteCQLConfig where it has one)."""

    steps: int = 5000
    """Gradient steps."""
    batch_size: int = 256
    """Transitions per minibatch (sampled uniformly with replacement)."""
    lr: float = 3e-4
    """Adam learning rate."""
    gamma: float = 0.99
    """Discount factor gamma."""
    alpha: float = 1.0
    """Weight alpha of the conservative term E_s[logsumexp_a Q(s, a) - Q(s, a_data)]."""
    target_update_interval: int = 200
    """Gradient steps between hard copies of the online network into the target network."""
    double_q: bool = True
    """Pick the bootstrap action with the online network and evaluate it with the target (double DQN)."""
    max_grad_norm: float = 10.0
    """Global gradient-norm clip (0 disables)."""
    network: NetworkConfig = field(default_factory=NetworkConfig)
    """Conv encoder and head sizes."""

    def __post_init__(self) -> None:
        for name in ("steps", "batch_size", "target_update_interval"):
            if int(getattr(self, name)) < 1:
                raise InvalidInputError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not self.lr > 0:
            raise InvalidInputError(f"lr must be > 0, got {self.lr}")
        if not 0 <= self.gamma <= 1:
            raise InvalidInputError(f"gamma must lie in [0, 1], got {self.gamma}")
        if not self.alpha >= 0:
            raise InvalidInputError(f"alpha must be >= 0, got {self.alpha}")
        if not self.max_grad_norm >= 0:
            raise InvalidInputError(f"max_grad_norm must be >= 0, got {self.max_grad_norm}")


def discrete_cql_loss(q, actions, rewards, terminated, q_next_target, q_next_online=None, *, gamma: float,
                      alpha: float):
    """CQL(H) loss for discrete actions; returns (total, td, conservative) scalars.

    q (B, A) online Q(s, .); actions (B,) int64; rewards, terminated (B,) float;
    q_next_target (B, A) target Q(s', .); q_next_online (B, A) online Q(s', .) for double Q (None: max
    over the target). TD target y = r + gamma (1 - terminated) Q_target(s', a*) with
    a* = argmax_a Q_online(s', a) (van Hasselt et al. 2016); Huber TD loss as in DQN; conservative
    term alpha * mean(logsumexp_a Q(s, a) - Q(s, a_data)) (Kumar et al. 2020, eq. 4).
    """
    q_data = q.gather(1, actions[:, None]).squeeze(1)
    with torch.no_grad():
        if q_next_online is None:
            next_v = q_next_target.max(1).values
        else:
            next_v = q_next_target.gather(1, q_next_online.argmax(1, keepdim=True)).squeeze(1)
        y = rewards + gamma * (1.0 - terminated) * next_v
    td = F.smooth_l1_loss(q_data, y)
    conservative = (torch.logsumexp(q, dim=1) - q_data).mean()
    return td + alpha * conservative, td, conservative


def train_cql(dataset, config: DiscreteCQLConfig = DiscreteCQLConfig(), seed: int = 0,
              show_progress: bool | None = None) -> TrainResult:
    """Train a Q-network on ``dataset`` with discrete CQL; act greedily with ``argmax`` of its output."""
    gen = torch.Generator().manual_seed(int(seed))
    net = seeded(seed, DiscreteHead, dataset.obs_shape, 4, config.network)
    target = copy.deepcopy(net).requires_grad_(False)
    batches = TransitionBatches(dataset, gen)
    opt = torch.optim.Adam(net.parameters(), lr=config.lr)
    losses = []
    start = time.perf_counter()
    for step in progress(range(1, config.steps + 1), desc="CQL", enabled=show_progress):
        b = batches.sample(config.batch_size)
        n = config.batch_size
        # One forward pass over s and s' together.
        q_all = net(torch.cat([b["obs"], b["next_obs"]]))
        q, q_next_online = q_all[:n], q_all[n:].detach()
        with torch.no_grad():
            q_next_target = target(b["next_obs"])
        loss, _, _ = discrete_cql_loss(q, b["actions"], b["rewards"], b["terminated"], q_next_target,
                                       q_next_online if config.double_q else None,
                                       gamma=config.gamma, alpha=config.alpha)
        opt.zero_grad()
        loss.backward()
        if config.max_grad_norm > 0:
            torch.nn.utils.clip_grad_norm_(net.parameters(), config.max_grad_norm)
        opt.step()
        losses.append(loss.item())
        if step % config.target_update_interval == 0:
            target.load_state_dict(net.state_dict())
    seconds = time.perf_counter() - start
    logger.info("CQL: %d steps, final loss %.4f, %.1f steps/s", config.steps, losses[-1], config.steps / seconds)
    return TrainResult(net.eval(), losses, seconds)
