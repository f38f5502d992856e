"""Latent-transition upsampling (SynthER on latents): EDM on ``x = [z, onehot(a), r, z', d]``.

Sampled vectors are projected back to valid transitions: the action is the argmax of the
one-hot slice, ``done`` is thresholded at 0.5 and the reward snapped to the nearest reward
value seen in the training data, so an offline learner never sees an impossible transition.
The done flag is diffused unstandardised (as SynthER does with terminals).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from saddlepoint.config import check_positive_int
from saddlepoint.errors import InvalidInputError, require

require("torch", "torch")
from saddlepoint.offline.edm import EDMConfig, VectorEDM  # noqa: E402

__all__ = ["LatentTransitions", "to_vectors", "from_vectors", "LatentUpsampler"]


@dataclass(frozen=True, eq=False)
class LatentTransitions:
    """``n`` latent transitions ``(z, a, r, z', d)``."""

    z: np.ndarray
    """(n, k) float32 latent of o."""
    actions: np.ndarray
    """(n,) int64 action ids."""
    rewards: np.ndarray
    """(n,) float32 rewards."""
    next_z: np.ndarray
    """(n, k) float32 latent of o'."""
    dones: np.ndarray
    """(n,) bool: no bootstrapping past this transition."""

    def __post_init__(self) -> None:
        z, nz = np.asarray(self.z, np.float32), np.asarray(self.next_z, np.float32)
        if z.ndim != 2 or nz.shape != z.shape:
            raise InvalidInputError(f"z and next_z must both have shape (n, k), got {z.shape} and {nz.shape}")
        n = z.shape[0]
        a, r, d = np.asarray(self.actions), np.asarray(self.rewards, np.float32), np.asarray(self.dones)
        for name, v in (("actions", a), ("rewards", r), ("dones", d)):
            if v.shape != (n,):
                raise InvalidInputError(f"{name} must have shape ({n},), got {v.shape}")
        if n and a.min() < 0:
            raise InvalidInputError("actions must be non-negative ids")
        if not (np.isfinite(z).all() and np.isfinite(nz).all() and np.isfinite(r).all()):
            raise InvalidInputError("latent transitions contain non-finite values")
        for name, v in (("z", z), ("actions", a.astype(np.int64)), ("rewards", r), ("next_z", nz),
                        ("dones", d.astype(bool))):
            object.__setattr__(self, name, v)

    def __len__(self) -> int:
        return int(self.z.shape[0])

    @property
    def latent_dim(self) -> int:
        """Latent size k."""
        return int(self.z.shape[1])

    def concat(self, other: "LatentTransitions") -> "LatentTransitions":
        """Both sets of transitions, ``self`` first."""
        if other.latent_dim != self.latent_dim:
            raise InvalidInputError(f"latent size mismatch: {self.latent_dim} vs {other.latent_dim}")
        return LatentTransitions(*(np.concatenate([getattr(self, f), getattr(other, f)])
                                   for f in ("z", "actions", "rewards", "next_z", "dones")))


def to_vectors(t: LatentTransitions, num_actions: int) -> np.ndarray:
    """``(n, 2k + A + 2)`` float64 vectors ``[z, onehot(a), r, z', d]``."""
    if len(t) and t.actions.max() >= num_actions:
        raise InvalidInputError(f"action id {int(t.actions.max())} does not fit num_actions={num_actions}")
    onehot = np.eye(num_actions)[t.actions]
    return np.concatenate([t.z, onehot, t.rewards[:, None], t.next_z, t.dones[:, None]], axis=1).astype(np.float64)


def from_vectors(x: np.ndarray, latent_dim: int, num_actions: int, reward_values: np.ndarray) -> LatentTransitions:
    """Project ``(n, 2k + A + 2)`` vectors back to valid transitions (argmax action, done > 0.5,
    reward snapped to the nearest of ``reward_values``)."""
    k, a = latent_dim, num_actions
    if x.ndim != 2 or x.shape[1] != 2 * k + a + 2:
        raise InvalidInputError(f"vectors must have shape (n, {2 * k + a + 2}) for latent_dim={k}, "
                                f"num_actions={a}; got {x.shape}")
    values = np.unique(np.asarray(reward_values, np.float64))
    if values.size == 0:
        raise InvalidInputError("reward_values is empty")
    r = x[:, k + a]
    hi = np.clip(np.searchsorted(values, r), 0, values.size - 1)
    lo = np.clip(hi - 1, 0, values.size - 1)
    snapped = np.where(np.abs(r - values[lo]) <= np.abs(values[hi] - r), values[lo], values[hi])
    return LatentTransitions(z=x[:, :k], actions=x[:, k:k + a].argmax(axis=1), rewards=snapped,
                             next_z=x[:, k + a + 1:2 * k + a + 1], dones=x[:, -1] > 0.5)


class LatentUpsampler:
    """Fit an EDM model on latent transitions and draw synthetic ones."""

    def __init__(self, latent_dim: int, num_actions: int, config: EDMConfig | None = None, *, seed: int = 0) -> None:
        check_positive_int("latent_dim", latent_dim)
        check_positive_int("num_actions", num_actions)
        self.latent_dim, self.num_actions = latent_dim, num_actions
        dim = 2 * latent_dim + num_actions + 2
        self.model = VectorEDM(dim, config, seed=seed, skip_normalise=(dim - 1,))
        self.reward_values = np.zeros(0)

    def fit(self, transitions: LatentTransitions, rng: np.random.Generator) -> list[float]:
        """Train the diffusion model; returns the loss per step."""
        if len(transitions) == 0:
            raise InvalidInputError("cannot fit the upsampler on an empty dataset")
        if transitions.latent_dim != self.latent_dim:
            raise InvalidInputError(f"latent size mismatch: the upsampler expects {self.latent_dim}-d latents, "
                                    f"got {transitions.latent_dim}-d")
        self.reward_values = np.unique(transitions.rewards.astype(np.float64))
        return self.model.fit(to_vectors(transitions, self.num_actions), rng)

    def sample(self, n: int, rng: np.random.Generator) -> LatentTransitions:
        """``n`` synthetic transitions with valid discrete fields."""
        return from_vectors(self.model.sample(n, rng), self.latent_dim, self.num_actions, self.reward_values)

    def save(self, path: str | Path) -> None:
        """Save the diffusion model; the reward values go to a ``.rewards.npy`` sibling."""
        self.model.save(path)
        np.save(Path(str(path) + ".rewards.npy"), self.reward_values)

    @classmethod
    def load(cls, path: str | Path, latent_dim: int, num_actions: int, *, device: str | None = None) -> "LatentUpsampler":
        """Read an upsampler written by :meth:`save`."""
        model = VectorEDM.load(path, device=device)
        if model.dim != 2 * latent_dim + num_actions + 2:
            raise InvalidInputError(f"saved model has vector size {model.dim}, not 2*{latent_dim}+{num_actions}+2")
        up = cls.__new__(cls)
        up.latent_dim, up.num_actions, up.model = latent_dim, num_actions, model
        up.reward_values = np.load(Path(str(path) + ".rewards.npy"))
        return up
