"""Minibatches of a :class:`~saddlepoint.offline.dataset.TransitionDataset` as torch tensors."""

from __future__ import annotations

from saddlepoint.errors import require

torch = require("torch", "torch")


class TransitionBatches:
    """Holds a dataset's arrays as tensors (observations stay uint8) and draws uniform minibatches."""

    def __init__(self, dataset, generator):
        self.obs = torch.from_numpy(dataset.observations.copy())
        self.next_obs = torch.from_numpy(dataset.next_observations.copy())
        self.actions = torch.from_numpy(dataset.actions.copy())
        self.rewards = torch.from_numpy(dataset.rewards.copy())
        self.terminated = torch.from_numpy(dataset.terminated.astype("float32"))
        self.generator = generator
        self.n = len(dataset)

    def sample(self, batch_size: int) -> dict:
        """A dict of (batch_size, ...) tensors: obs, actions, rewards, next_obs, terminated."""
        idx = torch.randint(self.n, (batch_size,), generator=self.generator)
        return {"obs": self.obs[idx], "actions": self.actions[idx], "rewards": self.rewards[idx],
                "next_obs": self.next_obs[idx], "terminated": self.terminated[idx]}
