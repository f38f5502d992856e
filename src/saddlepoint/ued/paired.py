"""PAIRED (Dennis et al., NeurIPS 2020): a level-generating adversary against a protagonist and an
antagonist, on the real maze.

Each iteration the adversary builds ``num_envs`` levels cell by cell (goal, start, then
``num_walls`` walls; a wall on the goal or start, or a repeated cell, is a no-op), both students
train with PPO (:mod:`saddlepoint.rl.ppo`'s pieces, through
:meth:`~saddlepoint.ued.curriculum.CurriculumTrainer.train_on_levels`) on those levels, and

    regret(level) = max antagonist episode return - mean protagonist episode return

is the adversary's reward (REINFORCE with a batch-mean baseline and an entropy bonus). The
protagonist minimises the regret by maximising its own return, the antagonist maximises it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np

from saddlepoint.config import check_positive, check_positive_int
from saddlepoint.errors import InvalidInputError, require
from saddlepoint.rl.networks import seeded
from saddlepoint.rl.ppo import PPOConfig
from saddlepoint.ued.curriculum import CurriculumConfig, CurriculumTrainer
from saddlepoint.ued.samplers import LevelSampler, SamplerConfig

torch = require("torch", "torch")
nn = torch.nn
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PAIREDConfig:
    """PAIRED settings."""

    size: int = 11
    """Grid side N of generated levels."""
    num_walls: int = 25
    """Wall placements per generated level (the adversary's budget)."""
    iterations: int = 50
    """Adversary updates (each with one PPO update of both students)."""
    ppo: PPOConfig = field(default_factory=lambda: PPOConfig(num_envs=16, num_steps=64))
    """Students' PPO settings; ``num_steps >= max_steps`` so every slot finishes an episode."""
    adversary_lr: float = 1e-3
    """Adam learning rate of the adversary."""
    adversary_entropy: float = 0.01
    """Entropy bonus of the adversary's REINFORCE loss."""

    def __post_init__(self) -> None:
        check_positive_int("size", self.size)
        if self.size < 5:
            raise InvalidInputError(f"size must be >= 5, got {self.size}")
        check_positive_int("num_walls", self.num_walls, allow_zero=True)
        check_positive_int("iterations", self.iterations)
        check_positive("adversary_lr", self.adversary_lr)
        check_positive("adversary_entropy", self.adversary_entropy, allow_zero=True)


def paired_regret(antagonist_max: np.ndarray, protagonist_mean: np.ndarray) -> np.ndarray:
    """PAIRED's regret estimate per level: antagonist's best return minus protagonist's mean return. (B,) -> (B,)."""
    return np.asarray(antagonist_max, dtype=np.float64) - np.asarray(protagonist_mean, dtype=np.float64)


class LevelAdversary(nn.Module):
    """Conv policy over cells: obs (B, 4, N, N) [walls, goal, start, progress] -> logits (B, N*N)."""

    def __init__(self, size: int, channels: int = 32):
        super().__init__()
        self.net = nn.Sequential(nn.Conv2d(4, channels, 3, padding=1), nn.ReLU(),
                                 nn.Conv2d(channels, channels, 3, padding=1), nn.ReLU(),
                                 nn.Conv2d(channels, 1, 1))
        border = torch.ones(size, size, dtype=torch.bool)
        border[1:-1, 1:-1] = False
        self.register_buffer("border", border.flatten(), persistent=False)

    def forward(self, obs: "torch.Tensor") -> "torch.Tensor":
        logits = self.net(obs).flatten(1)
        return logits.masked_fill(self.border, -1e9)


def generate_levels(adversary: LevelAdversary, n: int, size: int, num_walls: int, generator=None):
    """Build ``n`` levels; returns (levels, summed log-probabilities (n,), mean entropy) with gradients."""
    from saddlepoint.envs.maze import MazeLevel

    steps = num_walls + 2
    walls = torch.zeros(n, size * size)
    goal = torch.zeros(n, size * size)
    start = torch.zeros(n, size * size)
    logp = torch.zeros(n)
    entropy = torch.zeros(())
    rows = torch.arange(n)
    for k in range(steps):
        progress = torch.full((n, size * size), k / steps)
        obs = torch.stack([walls, goal, start, progress], 1).view(n, 4, size, size)
        logits = adversary(obs)
        if k == 1:  # the start may not be the goal
            logits = logits.masked_fill(goal.bool(), -1e9)
        dist = torch.distributions.Categorical(logits=logits)
        cell = torch.multinomial(dist.probs.detach(), 1, generator=generator).squeeze(1)
        logp = logp + dist.log_prob(cell)
        entropy = entropy + dist.entropy().mean() / steps
        with torch.no_grad():
            if k == 0:
                goal[rows, cell] = 1.0
            elif k == 1:
                start[rows, cell] = 1.0
            else:
                free = (goal[rows, cell] == 0) & (start[rows, cell] == 0)
                walls[rows[free], cell[free]] = 1.0
    levels = []
    for i in range(n):
        grid = walls[i].view(size, size).numpy().astype(bool)
        grid[0, :] = grid[-1, :] = grid[:, 0] = grid[:, -1] = True
        g = divmod(int(goal[i].argmax()), size)
        s = divmod(int(start[i].argmax()), size)
        levels.append(MazeLevel(grid, s, g))
    return levels, logp, entropy


class PAIRED:
    """Protagonist, antagonist and adversary; :meth:`step` runs one iteration."""

    def __init__(self, config: PAIREDConfig = PAIREDConfig(), seed: int = 0) -> None:
        from saddlepoint.envs.generators import MazeGenerator
        from saddlepoint.envs.vector import MazeVectorEnv

        self.config, self.seed = config, int(seed)
        b = config.ppo.num_envs
        placeholder = MazeGenerator(size=config.size, wall_density=0.0, path_length=(1, 2)).sample(
            np.random.default_rng(seed))
        curriculum = CurriculumConfig(updates=config.iterations, ppo=config.ppo)
        self.students = []
        for offset in (0, 1):  # protagonist, antagonist
            env = MazeVectorEnv([placeholder], num_envs=b, max_steps=config.ppo.max_steps, seed=seed + offset)
            sampler = LevelSampler(SamplerConfig(strategy="dr"), lambda rng: placeholder,
                                   np.random.default_rng(seed + offset))
            self.students.append(CurriculumTrainer(env, sampler, curriculum, seed=seed + offset))
        self.adversary = seeded(seed + 2, LevelAdversary, config.size)
        self.optimizer = torch.optim.Adam(self.adversary.parameters(), lr=config.adversary_lr)
        self.generator = torch.Generator().manual_seed(seed + 3)
        self.history: list[dict] = []

    @property
    def protagonist(self) -> CurriculumTrainer:
        return self.students[0]

    @property
    def antagonist(self) -> CurriculumTrainer:
        return self.students[1]

    def step(self) -> dict:
        """Generate levels, train both students on them, update the adversary with the regret."""
        cfg = self.config
        levels, logp, entropy = generate_levels(self.adversary, cfg.ppo.num_envs, cfg.size, cfg.num_walls,
                                                self.generator)
        pro = self.protagonist.train_on_levels(levels)
        ant = self.antagonist.train_on_levels(levels)
        regret = paired_regret(ant["max_return"], pro["mean_return"])
        adv = torch.as_tensor(regret - regret.mean(), dtype=torch.float32)
        loss = -(adv * logp).mean() - cfg.adversary_entropy * entropy
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
        row = {"iteration": len(self.history) + 1, "regret": float(regret.mean()),
               "protagonist_return": float(pro["mean_return"].mean()),
               "antagonist_return": float(ant["max_return"].mean()),
               "solvable": float(np.mean([lv.is_solvable() for lv in levels])),
               "mean_path_length": float(np.mean([lv.shortest_path_length() or 0 for lv in levels]))}
        self.history.append(row)
        return row

    def train(self) -> list[dict]:
        """Run ``config.iterations`` iterations; returns the history."""
        while len(self.history) < self.config.iterations:
            self.step()
        return self.history
