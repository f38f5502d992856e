"""Base agents in the paper's shape, latent encoding and head fine-tuning on real + synthetic latents.

Networks (DrQ-v2 shape, as the notes describe): a conv encoder ``f`` (:class:`saddlepoint.rl.networks.ConvEncoder`),
linear heads ``h_pi`` and ``h_Q`` (Linear - LayerNorm - tanh) and MLPs ``g_pi`` and ``g_Q``. The
latent of an observation is the element-wise sum ``z = h_pi(f(o)) + h_Q(f(o))``; both MLPs read
``z`` during base training, fine-tuning and acting, so that synthetic latents feed the same
input the heads were trained on (whether the paper's MLPs read the sum during base training is
unverified). The agent's algorithm picks its head: BC acts with ``g_pi`` (cross-entropy,
:func:`saddlepoint.rl.bc.bc_loss`), CQL with ``g_Q`` (:func:`saddlepoint.rl.cql.discrete_cql_loss`).
Fine-tuning freezes ``f``, ``h_pi`` and ``h_Q`` and trains only the MLP of the agent's algorithm
with the same loss, so encoded latents never go stale.
"""

from __future__ import annotations

import copy
import logging
from dataclasses import dataclass

import numpy as np

from saddlepoint.config import check_choice, check_positive, check_positive_int
from saddlepoint.errors import InvalidInputError, require
from saddlepoint.progress import progress

torch = require("torch", "torch")
nn = torch.nn

from saddlepoint.offline.upsample import LatentTransitions  # noqa: E402
from saddlepoint.rl.bc import bc_loss  # noqa: E402
from saddlepoint.rl.cql import discrete_cql_loss  # noqa: E402
from saddlepoint.rl.networks import ConvEncoder, NetworkConfig, seeded  # noqa: E402

__all__ = ["ALGOS", "AgentConfig", "TrainConfig", "LatentAgent", "train_base", "encode", "encode_transitions",
           "finetune_heads"]

log = logging.getLogger(__name__)
ALGOS = ("bc", "cql")


@dataclass(frozen=True)
class AgentConfig:
    """Sizes of the agent (notes: small CNN, 32-d heads)."""

    algo: str = "bc"
    """``"bc"`` (acts with g_pi) or ``"cql"`` (acts greedily with g_Q)."""
    channels: tuple[int, ...] = (16, 32)
    """Conv channels of the encoder f (after its stride-3 RGB stem)."""
    strides: tuple[int, ...] = (1, 2)
    """Stride of each conv layer of f (one per channel entry)."""
    hidden: int = 128
    """Output width of f."""
    latent_dim: int = 32
    """Width of h_pi and h_Q, i.e. of the latent z (notes: 32)."""
    mlp_hidden: int = 128
    """Hidden width of g_pi and g_Q (one hidden layer, ReLU)."""
    num_actions: int = 4
    """Number of discrete actions."""

    def __post_init__(self) -> None:
        check_choice("algo", self.algo, ALGOS)
        for name in ("hidden", "latent_dim", "mlp_hidden", "num_actions"):
            check_positive_int(name, getattr(self, name))
        if not self.channels or any(int(c) < 1 for c in self.channels):
            raise InvalidInputError(f"channels must be positive integers, got {self.channels}")
        object.__setattr__(self, "channels", tuple(int(c) for c in self.channels))
        if len(self.strides) != len(self.channels) or any(int(v) < 1 for v in self.strides):
            raise InvalidInputError(f"strides must be positive integers, one per conv layer, got {self.strides}")
        object.__setattr__(self, "strides", tuple(int(v) for v in self.strides))


@dataclass(frozen=True)
class TrainConfig:
    """Gradient steps and loss settings, shared by base training and fine-tuning."""

    steps: int = 2000
    """Gradient steps."""
    batch_size: int = 128
    """Transitions per minibatch (uniform with replacement)."""
    lr: float = 1e-3
    """Adam learning rate."""
    gamma: float = 0.95
    """CQL discount gamma."""
    alpha: float = 1.0
    """CQL conservative weight alpha (notes: 1)."""
    target_update_interval: int = 100
    """CQL: steps between hard target-network copies."""

    def __post_init__(self) -> None:
        for name in ("steps", "batch_size", "target_update_interval"):
            check_positive_int(name, getattr(self, name))
        check_positive("lr", self.lr)
        check_positive("alpha", self.alpha, allow_zero=True)
        if not 0 <= self.gamma <= 1:
            raise InvalidInputError(f"gamma must lie in [0, 1], got {self.gamma}")


def _linear_head(width: int, latent: int) -> nn.Module:
    return nn.Sequential(nn.Linear(width, latent), nn.LayerNorm(latent), nn.Tanh())


def _mlp(latent: int, hidden: int, out: int) -> nn.Module:
    return nn.Sequential(nn.Linear(latent, hidden), nn.ReLU(), nn.Linear(hidden, out))


class LatentAgent(nn.Module):
    """``f -> (h_pi, h_Q) -> z = h_pi + h_Q -> (g_pi, g_Q)``; ``forward`` returns the acting head's output."""

    def __init__(self, obs_shape: tuple[int, ...], config: AgentConfig) -> None:
        super().__init__()
        self.config = config
        self.f = ConvEncoder(tuple(obs_shape), NetworkConfig(channels=config.channels, strides=config.strides,
                                                                   hidden=config.hidden))
        self.h_pi = _linear_head(config.hidden, config.latent_dim)
        self.h_q = _linear_head(config.hidden, config.latent_dim)
        self.g_pi = _mlp(config.latent_dim, config.mlp_hidden, config.num_actions)
        self.g_q = _mlp(config.latent_dim, config.mlp_hidden, config.num_actions)

    @property
    def head(self) -> nn.Module:
        """The MLP the agent acts with and fine-tunes: g_pi (BC) or g_Q (CQL)."""
        return self.g_pi if self.config.algo == "bc" else self.g_q

    def frozen_modules(self) -> tuple[nn.Module, ...]:
        """f, h_pi, h_Q: fixed after base training."""
        return self.f, self.h_pi, self.h_q

    def latent(self, obs: torch.Tensor) -> torch.Tensor:
        """z = h_pi(f(o)) + h_Q(f(o)); obs (B, *obs_shape) -> (B, latent_dim)."""
        e = self.f(obs)
        return self.h_pi(e) + self.h_q(e)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        """(B, *obs_shape) -> (B, A): BC logits or CQL Q-values."""
        return self.head(self.latent(obs))


def _loss(algo: str, head: nn.Module, target: nn.Module | None, z, a, r, z_next, term, cfg: TrainConfig):
    """The agent's own objective on latents: BC cross-entropy or discrete CQL (double Q)."""
    if algo == "bc":
        return bc_loss(head(z), a)
    n = z.shape[0]
    q_all = head(torch.cat([z, z_next]))
    with torch.no_grad():
        q_next_target = target(z_next)
    loss, _, _ = discrete_cql_loss(q_all[:n], a, r, term, q_next_target, q_all[n:].detach(),
                                   gamma=cfg.gamma, alpha=cfg.alpha)
    return loss


def _tensors(obs, actions, rewards, next_obs, terminated) -> list[torch.Tensor]:
    n = len(actions)
    if n == 0:
        raise InvalidInputError("cannot train on an empty dataset")
    for name, v in (("obs", obs), ("next_obs", next_obs), ("rewards", rewards), ("terminated", terminated)):
        if len(v) != n:
            raise InvalidInputError(f"{name} has {len(v)} entries, actions has {n}")
    return [torch.from_numpy(np.ascontiguousarray(obs)), torch.from_numpy(np.asarray(actions, np.int64)),
            torch.from_numpy(np.asarray(rewards, np.float32)), torch.from_numpy(np.ascontiguousarray(next_obs)),
            torch.from_numpy(np.asarray(terminated, np.float32))]


def train_base(obs: np.ndarray, actions: np.ndarray, rewards: np.ndarray, next_obs: np.ndarray,
               terminated: np.ndarray, agent_config: AgentConfig, config: TrainConfig, seed: int) -> tuple[LatentAgent, list[float]]:
    """Train every part of a new agent end to end on pixel transitions with its algorithm's loss."""
    o, a, r, o2, d = _tensors(obs, actions, rewards, next_obs, terminated)
    agent = seeded(seed, LatentAgent, tuple(obs.shape[1:]), agent_config)
    gen = torch.Generator().manual_seed(int(seed))
    target = copy.deepcopy(agent).requires_grad_(False) if agent_config.algo == "cql" else None
    opt = torch.optim.Adam(agent.parameters(), lr=config.lr)
    losses = []
    for step in progress(range(1, config.steps + 1), desc=f"base {agent_config.algo}"):
        idx = torch.randint(len(a), (config.batch_size,), generator=gen)
        if agent_config.algo == "bc":
            loss = bc_loss(agent.g_pi(agent.latent(o[idx])), a[idx])
        else:
            n = config.batch_size
            q_all = agent.g_q(agent.latent(torch.cat([o[idx], o2[idx]])))
            with torch.no_grad():
                q_next_target = target(o2[idx])
            loss = discrete_cql_loss(q_all[:n], a[idx], r[idx], d[idx], q_next_target, q_all[n:].detach(),
                                     gamma=config.gamma, alpha=config.alpha)[0]
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
        if target is not None and step % config.target_update_interval == 0:
            target.load_state_dict(agent.state_dict())
    return agent.eval(), losses


@torch.no_grad()
def encode(agent: LatentAgent, obs: np.ndarray, batch: int = 2048) -> np.ndarray:
    """(n, *obs_shape) -> (n, latent_dim) float32 latents z with the (frozen) agent."""
    agent.eval()
    out = [agent.latent(torch.from_numpy(np.ascontiguousarray(obs[i:i + batch]))).numpy()
           for i in range(0, len(obs), batch)]
    if not out:
        raise InvalidInputError("encode needs at least one observation")
    return np.concatenate(out).astype(np.float32)


def encode_transitions(agent: LatentAgent, obs, actions, rewards, next_obs, terminated) -> LatentTransitions:
    """Latent transitions (z, a, r, z', d) of pixel transitions."""
    return LatentTransitions(z=encode(agent, obs), actions=np.asarray(actions), rewards=np.asarray(rewards),
                             next_z=encode(agent, next_obs), dones=np.asarray(terminated, bool))


def finetune_heads(agent: LatentAgent, latents: LatentTransitions, config: TrainConfig, seed: int) -> list[float]:
    """Fine-tune only the acting MLP (g_pi for BC, g_Q for CQL) on latent transitions, in place.

    f, h_pi and h_Q get ``requires_grad=False`` and are not in the optimiser; the MLP continues
    from its base weights (notes' default). Returns the loss per step.
    """
    if len(latents) == 0:
        raise InvalidInputError("cannot fine-tune on an empty set of latent transitions")
    if latents.latent_dim != agent.config.latent_dim:
        raise InvalidInputError(f"latent size mismatch: the agent's latent is {agent.config.latent_dim}-d, "
                                f"the transitions' {latents.latent_dim}-d")
    for module in agent.frozen_modules():
        module.requires_grad_(False)
    head = agent.head
    head.requires_grad_(True).train()
    target = copy.deepcopy(head).requires_grad_(False) if agent.config.algo == "cql" else None
    z, z2 = torch.from_numpy(latents.z), torch.from_numpy(latents.next_z)
    a, r = torch.from_numpy(latents.actions), torch.from_numpy(latents.rewards)
    d = torch.from_numpy(latents.dones.astype(np.float32))
    gen = torch.Generator().manual_seed(int(seed))
    opt = torch.optim.Adam(head.parameters(), lr=config.lr)
    losses = []
    for step in range(1, config.steps + 1):
        idx = torch.randint(len(latents), (config.batch_size,), generator=gen)
        loss = _loss(agent.config.algo, head, target, z[idx], a[idx], r[idx], z2[idx], d[idx], config)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
        if target is not None and step % config.target_update_interval == 0:
            target.load_state_dict(head.state_dict())
    agent.eval()
    return losses
