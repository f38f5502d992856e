"""Behaviour cloning: a conv policy fitted to a dataset's actions by cross-entropy."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from saddlepoint.errors import InvalidInputError, require
from saddlepoint.progress import progress
from saddlepoint.rl.batches import TransitionBatches
from saddlepoint.rl.networks import DiscreteHead, NetworkConfig, seeded

torch = require("torch", "torch")
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class BCConfig:
    """Behaviour-cloning settings."""

    steps: int = 2000
    """Gradient steps."""
    batch_size: int = 256
    """Transitions per minibatch (sampled uniformly with replacement)."""
    lr: float = 1e-3
    """Adam learning rate."""
    network: NetworkConfig = field(default_factory=NetworkConfig)
    """Conv encoder and head sizes."""

    def __post_init__(self) -> None:
        for name in ("steps", "batch_size"):
            if int(getattr(self, name)) < 1:
                raise InvalidInputError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not self.lr > 0:
            raise InvalidInputError(f"lr must be > 0, got {self.lr}")


@dataclass
class TrainResult:
    """A trained network, its loss per step and the wall-clock seconds spent in gradient steps."""

    network: object
    losses: list[float]
    seconds: float

    @property
    def steps_per_second(self) -> float:
        """Gradient steps per second."""
        return len(self.losses) / max(self.seconds, 1e-9)


def bc_loss(logits, actions):
    """Cross-entropy of dataset actions. logits (B, A) float, actions (B,) int64 -> scalar."""
    return torch.nn.functional.cross_entropy(logits, actions)


def train_bc(dataset, config: BCConfig = BCConfig(), seed: int = 0, show_progress: bool | None = None) -> TrainResult:
    """Fit a :class:`DiscreteHead` policy to ``dataset`` (a TransitionDataset); same seed, same weights."""
    gen = torch.Generator().manual_seed(int(seed))
    net = seeded(seed, DiscreteHead, dataset.obs_shape, 4, config.network)
    batches = TransitionBatches(dataset, gen)
    opt = torch.optim.Adam(net.parameters(), lr=config.lr)
    losses = []
    start = time.perf_counter()
    for _ in progress(range(config.steps), desc="BC", enabled=show_progress):
        b = batches.sample(config.batch_size)
        loss = bc_loss(net(b["obs"]), b["actions"])
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    seconds = time.perf_counter() - start
    logger.info("BC: %d steps, final loss %.4f, %.1f steps/s", config.steps, losses[-1], config.steps / seconds)
    return TrainResult(net.eval(), losses, seconds)
