"""Online UED in the real maze: DR, PLR, robust PLR and ACCEL on generated levels, and PAIRED.

One entry point, :func:`train_online`, builds the vector env, the level sampler (fresh levels
from a :class:`~saddlepoint.envs.generators.MazeGenerator` or uniformly from a list; ACCEL edits
with :func:`~saddlepoint.ued.samplers.maze_edit`) and the
:class:`~saddlepoint.ued.curriculum.CurriculumTrainer`, or a :class:`~saddlepoint.ued.paired.PAIRED`
for ``"paired"``. These are the field's baselines and the online ceiling of the IMAC arms.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from saddlepoint.errors import InvalidInputError
from saddlepoint.ued.curriculum import CurriculumConfig, CurriculumTrainer
from saddlepoint.ued.samplers import STRATEGIES, LevelSampler, SamplerConfig, maze_edit

METHODS = STRATEGIES + ("paired",)


def fresh_levels(source):
    """A ``new_level(rng)`` function from a MazeGenerator (``.sample``) or a non-empty list of levels."""
    if hasattr(source, "sample"):
        return source.sample
    levels = list(source)
    if not levels:
        raise InvalidInputError("the level source is empty; pass a MazeGenerator or at least one level")
    return lambda rng: levels[int(rng.integers(len(levels)))]


def train_online(method: str, source, config: CurriculumConfig = CurriculumConfig(),
                 sampler: SamplerConfig | None = None, seed: int = 0, *, paired=None, size: int | None = None):
    """Train one online UED method in the real maze; returns the trained trainer (or PAIRED object).

    ``method``: ``dr``, ``plr``, ``robust_plr``, ``accel`` or ``paired``; ``source``: a
    MazeGenerator or a sequence of MazeLevel giving fresh levels (ignored by PAIRED, whose
    adversary makes them; ``paired`` is then its :class:`~saddlepoint.ued.paired.PAIREDConfig`).
    """
    if method not in METHODS:
        raise InvalidInputError(f"unknown method {method!r}; choose from {', '.join(METHODS)}")
    if method == "paired":
        from saddlepoint.ued.paired import PAIRED, PAIREDConfig

        runner = PAIRED(paired or PAIREDConfig(), seed=seed)
        runner.train()
        return runner
    from saddlepoint.envs.vector import MazeVectorEnv

    new_level = fresh_levels(source)
    rng = np.random.default_rng(seed)
    first: Sequence = [new_level(np.random.default_rng(seed + 1))]
    env = MazeVectorEnv(first, num_envs=config.ppo.num_envs, max_steps=config.ppo.max_steps, seed=seed, size=size)
    sampler_cfg = sampler or SamplerConfig(strategy=method)
    if sampler_cfg.strategy != method:
        raise InvalidInputError(f"sampler.strategy is {sampler_cfg.strategy!r} but method is {method!r}")
    level_sampler = LevelSampler(sampler_cfg, new_level, rng, edit=maze_edit if method == "accel" else None)
    trainer = CurriculumTrainer(env, level_sampler, config, seed=seed)
    trainer.train()
    return trainer
