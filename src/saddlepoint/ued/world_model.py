"""A small world model of the symbolic maze, learned from an offline dataset.

The symbolic observation is ``(3, N, N)``: wall, goal and agent channels. Walls and goal never
change within an episode, so the model copies them and predicts only what moves:

- the agent's next cell, as a categorical over the ``window x window`` cells centred on its
  current cell (a local categorical head over cells; the move is one step, so a 3x3 window
  covers every transition the maze can make),
- the reward (regression) and termination (Bernoulli logit).

Its input is the ``crop x crop`` patch of walls and goal around the agent (outside the grid
counts as wall), the action (one-hot planes) and the episode's elapsed time ``t / max_steps``
(the maze's reward ``1 - 0.9 t / T`` depends on it). Being local, the model is the same
function of the neighbourhood on any layout, which is what lets it transfer from narrow
training levels to unseen ones, and it is cheap: ~30k parameters, tens of thousands of
imagined steps per second on two cores.

Deviation from IMAC (arXiv 2509.13341): the paper's world model is a pixel diffusion model
(DIAMOND); :mod:`saddlepoint.ued.diamond` is that option, this categorical model is the
laptop default.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from saddlepoint.config import check_positive, check_positive_int
from saddlepoint.errors import InvalidInputError, require

torch = require("torch", "torch")
nn = torch.nn
F = torch.nn.functional

logger = logging.getLogger(__name__)

NUM_ACTIONS = 4


@dataclass(frozen=True)
class WorldModelConfig:
    """World-model size and training settings."""

    crop: int = 5
    """Side of the wall/goal patch around the agent the model sees (odd)."""
    window: int = 3
    """Side of the window of cells the next-position head ranges over (odd, <= crop)."""
    channels: int = 16
    """Output channels of the 3x3 conv layer."""
    hidden: int = 64
    """Width of the last hidden layer before the heads (the one before it is twice as wide)."""
    max_steps: int = 64
    """T: episode length of the maze the data came from (scales the time input)."""
    lr: float = 3e-3
    """Adam learning rate."""
    batch_size: int = 512
    """Minibatch size."""
    updates: int = 1500
    """Gradient steps."""
    reward_weight: float = 10.0
    """Weight of the reward MSE in the loss (cross-entropy terms have weight 1)."""
    holdout_fraction: float = 0.1
    """Fraction of episodes held out to measure one-step accuracy."""

    def __post_init__(self) -> None:
        for name in ("crop", "window", "channels", "hidden", "max_steps", "batch_size", "updates"):
            check_positive_int(name, getattr(self, name))
        for name in ("crop", "window"):
            if getattr(self, name) % 2 == 0:
                raise InvalidInputError(f"{name} must be odd, got {getattr(self, name)}")
        if self.window > self.crop:
            raise InvalidInputError(f"window ({self.window}) must not exceed crop ({self.crop})")
        check_positive("lr", self.lr)
        check_positive("reward_weight", self.reward_weight, allow_zero=True)
        check_positive("holdout_fraction", self.holdout_fraction, allow_zero=True)
        if self.holdout_fraction >= 1:
            raise InvalidInputError(f"holdout_fraction must be < 1, got {self.holdout_fraction}")


def decode_symbolic(obs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Split symbolic observations ``(B, 3, N, N)`` into walls ``(B, N, N)`` bool, goal cells
    ``(B, 2)`` and agent cells ``(B, 2)`` int64 (row, col)."""
    obs = np.asarray(obs)
    if obs.ndim != 4 or obs.shape[1] != 3 or obs.shape[2] != obs.shape[3]:
        raise InvalidInputError(f"expected symbolic observations (B, 3, N, N), got shape {obs.shape}")
    n = obs.shape[-1]
    walls = obs[:, 0] > 0.5
    goal = np.argmax(obs[:, 1].reshape(len(obs), -1), axis=1)
    agent = np.argmax(obs[:, 2].reshape(len(obs), -1), axis=1)
    return walls, np.stack(divmod(goal, n), 1), np.stack(divmod(agent, n), 1)


def encode_symbolic(walls: np.ndarray, goal: np.ndarray, agent: np.ndarray) -> np.ndarray:
    """Inverse of :func:`decode_symbolic`: ``(B, N, N)``, ``(B, 2)``, ``(B, 2)`` -> ``(B, 3, N, N)`` float32."""
    b, n = walls.shape[0], walls.shape[-1]
    obs = np.zeros((b, 3, n, n), dtype=np.float32)
    obs[:, 0] = walls
    rows = np.arange(b)
    obs[rows, 1, goal[:, 0], goal[:, 1]] = 1.0
    obs[rows, 2, agent[:, 0], agent[:, 1]] = 1.0
    return obs


class PatchConv(nn.Module):
    """A 3x3 'valid' convolution over a small ``k x k`` patch as one gather and one matmul.

    Same function as ``nn.Conv2d(c_in, c_out, 3)`` (tested against it), several times faster on
    CPU for 5x5 inputs, where im2col overheads dominate torch's conv. (B, c_in, k, k) ->
    (B, c_out * (k-2)^2), ordered (position, channel).
    """

    def __init__(self, c_in: int, c_out: int, k: int):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(c_out, c_in, 3, 3))
        self.bias = nn.Parameter(torch.empty(c_out))
        ref = nn.Conv2d(c_in, c_out, 3)  # PyTorch's default initialisation
        with torch.no_grad():
            self.weight.copy_(ref.weight)
            self.bias.copy_(ref.bias)
        m = k - 2
        ch, di, dj = torch.meshgrid(torch.arange(c_in), torch.arange(3), torch.arange(3), indexing="ij")
        pi, pj = torch.meshgrid(torch.arange(m), torch.arange(m), indexing="ij")
        idx = (ch.reshape(1, -1) * k * k + (pi.reshape(-1, 1) + di.reshape(1, -1)) * k
               + pj.reshape(-1, 1) + dj.reshape(1, -1))
        self.register_buffer("index", idx, persistent=False)  # (m*m, c_in*9)

    def forward(self, x: "torch.Tensor") -> "torch.Tensor":
        cols = x.flatten(1)[:, self.index]                     # (B, m*m, c_in*9)
        out = cols @ self.weight.flatten(1).T + self.bias      # (B, m*m, c_out)
        return out.flatten(1)


class MazeWorldModel(nn.Module):
    """Local conv world model: ``(walls, goal, agent, action, t) -> (position logits, reward, done logit)``.

    A 3x3 conv over the ``crop x crop`` wall/goal patch, then an MLP that also reads the
    action (one-hot) and the elapsed time.
    """

    def __init__(self, config: WorldModelConfig = WorldModelConfig()):
        super().__init__()
        self.config = config
        c, k, h = config.channels, config.crop, config.hidden
        self.conv = PatchConv(2, c, k)
        self.mlp = nn.Sequential(
            nn.ReLU(), nn.Linear(c * (k - 2) ** 2 + NUM_ACTIONS + 1, 2 * h), nn.ReLU(),
            nn.Linear(2 * h, h), nn.ReLU(),
        )
        self.pos_head = nn.Linear(h, config.window ** 2)
        self.reward_head = nn.Linear(h, 1)
        self.done_head = nn.Linear(h, 1)
        r = config.window // 2
        offsets = torch.stack(torch.meshgrid(torch.arange(-r, r + 1), torch.arange(-r, r + 1), indexing="ij"), -1)
        self.register_buffer("offsets", offsets.reshape(-1, 2), persistent=False)
        p = config.crop // 2
        grid = torch.stack(torch.meshgrid(torch.arange(-p, p + 1), torch.arange(-p, p + 1), indexing="ij"), -1)
        self.register_buffer("crop_offsets", grid, persistent=False)

    def crops(self, walls: "torch.Tensor", goal: "torch.Tensor", agent: "torch.Tensor") -> "torch.Tensor":
        """(B, N, N) walls, (B, 2) goal and agent -> (B, 2, crop, crop) float patches (outside = wall)."""
        n = walls.shape[-1]
        cells = agent[:, None, None, :] + self.crop_offsets[None]  # (B, k, k, 2)
        inside = ((cells >= 0) & (cells < n)).all(-1)
        rows, cols = cells[..., 0].clamp(0, n - 1), cells[..., 1].clamp(0, n - 1)
        flat = walls.reshape(walls.shape[0], -1)
        wall = torch.where(inside, flat.gather(1, (rows * n + cols).flatten(1)).view_as(rows).float(), 1.0)
        is_goal = ((cells == goal[:, None, None, :]).all(-1) & inside).float()
        return torch.stack([wall, is_goal], 1)

    def forward(self, patches: "torch.Tensor", actions: "torch.Tensor", time: "torch.Tensor"):
        """patches (B, 2, k, k), actions (B,) int, time (B,) in [0, 1] ->
        (position logits (B, window**2), reward (B,), done logits (B,))."""
        a = F.one_hot(actions.long(), NUM_ACTIONS).float()
        h = self.mlp(torch.cat([self.conv(patches), a, time.float()[:, None]], 1))
        return self.pos_head(h), self.reward_head(h).squeeze(-1), self.done_head(h).squeeze(-1)

    def target_index(self, agent: "torch.Tensor", next_agent: "torch.Tensor") -> "torch.Tensor":
        """Index of ``next_agent - agent`` in the window, (B,); -1 where the move leaves the window."""
        r = self.config.window // 2
        d = next_agent - agent
        ok = (d.abs() <= r).all(-1)
        idx = (d[:, 0] + r) * self.config.window + (d[:, 1] + r)
        return torch.where(ok, idx, torch.full_like(idx, -1))

    @torch.no_grad()
    def step(self, walls, goal, agent, actions, time, *, generator=None, sample: bool = True):
        """One imagined step for a batch (tensors as in :meth:`crops`/:meth:`forward`).

        Returns next agent cells (B, 2) (kept inside the grid), reward (B,) and done (B,) bool;
        ``sample`` draws position and done from the model, else takes the most likely.
        """
        logits, reward, done_logit = self(self.crops(walls, goal, agent), actions, time)
        if sample:
            idx = torch.multinomial(F.softmax(logits, -1), 1, generator=generator).squeeze(-1)
            u = torch.rand(done_logit.shape, generator=generator)
            done = u < torch.sigmoid(done_logit)
        else:
            idx = logits.argmax(-1)
            done = done_logit > 0
        n = walls.shape[-1]
        nxt = (agent + self.offsets[idx]).clamp(0, n - 1)
        return nxt, reward, done


@dataclass(frozen=True)
class WorldModelData:
    """Dataset arrays the world model trains on (from a symbolic :class:`TransitionDataset`)."""

    walls: np.ndarray
    goal: np.ndarray
    agent: np.ndarray
    next_agent: np.ndarray
    actions: np.ndarray
    time: np.ndarray
    rewards: np.ndarray
    terminated: np.ndarray
    episode: np.ndarray


def world_model_data(dataset, max_steps: int) -> WorldModelData:
    """Decode a symbolic dataset: positions, walls, goal and elapsed time of every transition."""
    if len(dataset) == 0:
        raise InvalidInputError("the dataset is empty")
    if dataset.obs_mode != "symbolic":
        raise InvalidInputError(f"the world model needs a symbolic dataset, got obs_mode {dataset.obs_mode!r}")
    walls, goal, agent = decode_symbolic(dataset.observations)
    _, _, next_agent = decode_symbolic(dataset.next_observations)
    episode = np.zeros(len(dataset), dtype=np.int64)
    episode[dataset.episode_starts[1:]] = 1
    episode = np.cumsum(episode)
    t = np.arange(len(dataset)) - dataset.episode_starts[episode]
    return WorldModelData(walls, goal, agent, next_agent, np.asarray(dataset.actions), t / max_steps,
                          np.asarray(dataset.rewards, dtype=np.float32), np.asarray(dataset.terminated), episode)


def _tensors(data: WorldModelData, idx: np.ndarray) -> dict:
    return {
        "walls": torch.from_numpy(data.walls[idx]), "goal": torch.from_numpy(data.goal[idx]),
        "agent": torch.from_numpy(data.agent[idx]), "next_agent": torch.from_numpy(data.next_agent[idx]),
        "actions": torch.from_numpy(data.actions[idx]), "time": torch.from_numpy(data.time[idx]).float(),
        "rewards": torch.from_numpy(data.rewards[idx]), "terminated": torch.from_numpy(data.terminated[idx]).float(),
    }


def world_model_loss(model: MazeWorldModel, batch: dict) -> tuple["torch.Tensor", dict]:
    """Cross-entropy on the next cell + BCE on termination + weighted reward MSE; also the accuracies."""
    patches = model.crops(batch["walls"], batch["goal"], batch["agent"])
    logits, reward, done_logit = model(patches, batch["actions"], batch["time"])
    target = model.target_index(batch["agent"], batch["next_agent"])
    if (target < 0).any():
        raise InvalidInputError("a transition moves the agent beyond the model's window; increase window")
    ce = F.cross_entropy(logits, target)
    bce = F.binary_cross_entropy_with_logits(done_logit, batch["terminated"])
    mse = F.mse_loss(reward, batch["rewards"])
    loss = ce + bce + model.config.reward_weight * mse
    with torch.no_grad():
        stats = {"loss": loss.item(), "position_accuracy": float((logits.argmax(-1) == target).float().mean()),
                 "done_accuracy": float(((done_logit > 0).float() == batch["terminated"]).float().mean()),
                 "reward_mse": float(mse)}
    return loss, stats


def split_episodes(data: WorldModelData, fraction: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Transition indices of a random episode split: (train, held out)."""
    n_ep = int(data.episode.max()) + 1
    held = rng.random(n_ep) < fraction
    if fraction > 0 and n_ep > 1 and not held.any():
        held[rng.integers(n_ep)] = True
    mask = held[data.episode]
    return np.flatnonzero(~mask), np.flatnonzero(mask)


def train_world_model(
    dataset, config: WorldModelConfig = WorldModelConfig(), seed: int = 0, *, model: MazeWorldModel | None = None,
    optimizer=None, start_update: int = 0, stop_update: int | None = None,
) -> tuple[MazeWorldModel, "torch.optim.Optimizer", dict]:
    """Fit a :class:`MazeWorldModel` on a symbolic dataset; returns the model, its optimiser and
    metrics (last training batch and held-out episodes).

    ``model``/``optimizer``/``start_update``/``stop_update`` resume or split training (the
    minibatch stream is a function of ``seed`` and the update index, so split training equals
    one uninterrupted run).
    """
    data = world_model_data(dataset, config.max_steps)
    rng = np.random.default_rng(seed)
    train_idx, held_idx = split_episodes(data, config.holdout_fraction, rng)
    if model is None:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            model = MazeWorldModel(config)
    if optimizer is None:
        optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    stop = config.updates if stop_update is None else min(stop_update, config.updates)
    model.train()
    stats: dict = {}
    for update in range(start_update, stop):
        batch_rng = np.random.default_rng([seed, update])
        idx = train_idx[batch_rng.integers(len(train_idx), size=config.batch_size)]
        loss, stats = world_model_loss(model, _tensors(data, idx))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    metrics = {"train_" + k: v for k, v in stats.items()}
    if len(held_idx):
        with torch.no_grad():
            _, held = world_model_loss(model, _tensors(data, held_idx))
        metrics.update({"heldout_" + k: v for k, v in held.items()})
    return model, optimizer, metrics


@torch.no_grad()
def one_step_accuracy(model: MazeWorldModel, dataset) -> dict:
    """Next-cell, done and reward accuracy of the most likely prediction on every transition of ``dataset``."""
    data = world_model_data(dataset, model.config.max_steps)
    _, stats = world_model_loss(model, _tensors(data, np.arange(len(dataset))))
    return stats


@torch.no_grad()
def open_loop_accuracy(model: MazeWorldModel, dataset, horizons: int = 32) -> np.ndarray:
    """Fraction of episodes whose agent cell the model predicts exactly ``k`` steps ahead, open loop.

    Each episode of ``dataset`` starts from its first observation; the model is fed the
    recorded actions and its own (most likely) positions. Entry ``k - 1`` is over the episodes
    that last at least ``k`` steps (NaN if none). Returns (horizons,).
    """
    check_positive_int("horizons", horizons)
    data = world_model_data(dataset, model.config.max_steps)
    starts = np.asarray(dataset.episode_starts)
    lengths = np.diff(np.append(starts, len(dataset)))
    walls = torch.from_numpy(data.walls[starts])
    goal = torch.from_numpy(data.goal[starts])
    pos = torch.from_numpy(data.agent[starts])
    correct = np.zeros(horizons)
    count = np.zeros(horizons)
    for k in range(horizons):
        alive = lengths > k
        if not alive.any():
            break
        idx = np.where(alive, starts + k, starts)
        actions = torch.from_numpy(data.actions[idx])
        time = torch.from_numpy(data.time[idx]).float()
        pos, _, _ = model.step(walls, goal, pos, actions, time, sample=False)
        truth = data.next_agent[idx]
        hit = (pos.numpy() == truth).all(-1)
        correct[k] = hit[alive].sum()
        count[k] = alive.sum()
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, correct / np.maximum(count, 1), np.nan)
