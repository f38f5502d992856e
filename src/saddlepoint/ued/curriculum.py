"""PPO driven by a level sampler, on the real maze or inside a world model (one loop for DR, PLR,
robust PLR, ACCEL and the imagined-level arms of IMAC).

Each update: the sampler draws one level per slot (all replayed or all fresh); every slot plays
its level for ``num_steps`` steps (auto-reset onto the same level, as in jaxued); GAE gives the
advantages; the per-step-mean score of each slot goes back to the sampler; the policy takes
PPO epochs only if the sampler allows it (robust PLR: replayed batches only). ACCEL then edits
the replayed levels and scores the children with a roll-out that is never trained on.

PPO's pieces (actor-critic, GAE, clipped loss) are :mod:`saddlepoint.rl.ppo`'s; this module
only adds the level hooks around them. The whole state (network, optimiser, sampler, the
generators) goes to a checkpoint, and a resumed run gives the same result as an uninterrupted
one.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from saddlepoint.config import check_positive_int
from saddlepoint.errors import InvalidInputError, require
from saddlepoint.rl.networks import ActorCritic, seeded
from saddlepoint.rl.ppo import PPOConfig, compute_gae, ppo_loss
from saddlepoint.ued.samplers import LevelBatch, LevelSampler
from saddlepoint.ued.scores import SCORES, level_scores

torch = require("torch", "torch")
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CurriculumConfig:
    """Settings of PPO with a level sampler."""

    updates: int = 100
    """Number of sampler decisions (one roll-out of num_envs x num_steps each)."""
    ppo: PPOConfig = field(default_factory=lambda: PPOConfig(num_envs=32, num_steps=64))
    """PPO settings (num_envs, num_steps, epochs, minibatches, lr, gamma, gae_lambda, ...; total_steps unused)."""
    score: str = "pvl"
    """Level score: ``pvl`` (positive value loss), ``gae`` (mean |GAE|) or ``maxmc``."""

    def __post_init__(self) -> None:
        check_positive_int("updates", self.updates)
        if self.score not in SCORES:
            raise InvalidInputError(f"score must be one of {', '.join(SCORES)}; got {self.score!r}")


def level_horizon(level: Any) -> float:
    """H of an imagined level (NaN for levels without a horizon)."""
    return float(getattr(level, "horizon", np.nan))


class CurriculumTrainer:
    """PPO on ``env`` with levels from ``sampler``; step with :meth:`train_update`, or :meth:`train`.

    ``env`` is a vector env with ``reset``/``step``/``set_levels`` and a ``level_fn`` attribute
    (:class:`~saddlepoint.envs.vector.MazeVectorEnv` or
    :class:`~saddlepoint.ued.imagination.ImaginationVectorEnv`) with ``num_envs == ppo.num_envs``.
    """

    def __init__(self, env, sampler: LevelSampler, config: CurriculumConfig, seed: int = 0) -> None:
        if env.num_envs != config.ppo.num_envs:
            raise InvalidInputError(f"env has {env.num_envs} slots but ppo.num_envs is {config.ppo.num_envs}")
        self.env, self.sampler, self.config, self.seed = env, sampler, config, int(seed)
        obs, _ = env.reset(seed=self.seed)
        self._slot_levels: list = list(env.levels)
        env.level_fn = lambda i, rng: self._slot_levels[i]  # auto-reset replays the slot's level
        self.network = seeded(self.seed, ActorCritic, obs.shape[1:], 4, config.ppo.network)
        self.optimizer = torch.optim.Adam(self.network.parameters(), lr=config.ppo.lr, eps=1e-5)
        self.generator = torch.Generator().manual_seed(self.seed)
        self.update_index = 0
        self.history: list[dict] = []

    # ------------------------------------------------------------------ one update
    def _rollout(self, batch: LevelBatch) -> dict:
        cfg = self.config.ppo
        self._slot_levels = list(batch.levels)
        obs = torch.from_numpy(self.env.set_levels(np.arange(cfg.num_envs), list(batch.levels)))
        T, B = cfg.num_steps, cfg.num_envs
        buf = {"obs": torch.zeros((T, B, *obs.shape[1:])), "act": torch.zeros((T, B), dtype=torch.int64),
               "logp": torch.zeros((T, B)), "val": torch.zeros((T, B)), "rew": torch.zeros((T, B)),
               "done": torch.zeros((T, B))}
        best = np.full(B, np.nan)
        total = np.zeros(B)
        success = np.zeros(B)
        episodes = np.zeros(B)
        for t in range(T):
            with torch.no_grad():
                logits, value = self.network(obs)
                dist = torch.distributions.Categorical(logits=logits)
                action = torch.multinomial(dist.probs, 1, generator=self.generator).squeeze(1)
            buf["obs"][t], buf["act"][t], buf["val"][t], buf["logp"][t] = obs, action, value, dist.log_prob(action)
            nxt, reward, term, trunc, info = self.env.step(action.numpy())
            reward = torch.from_numpy(np.asarray(reward, dtype=np.float32))
            ended = np.flatnonzero(term | trunc)
            if ended.size:
                ep_ret = np.where(term[ended], reward.numpy()[ended], 0.0)
                best[ended] = np.fmax(best[ended], ep_ret)
                total[ended] += ep_ret
                success[ended] += term[ended]
                episodes[ended] += 1
            cut = np.flatnonzero(trunc & ~term)
            if cut.size:  # bootstrap time-limit and horizon cuts from the final observation
                with torch.no_grad():
                    _, v_final = self.network(torch.from_numpy(info["final_obs"][cut]))
                reward[cut] += cfg.gamma * v_final
            buf["rew"][t] = reward
            buf["done"][t] = torch.from_numpy((term | trunc).astype(np.float32))
            obs = torch.from_numpy(nxt)
        with torch.no_grad():
            _, last_v = self.network(obs)
        adv, ret = compute_gae(buf["rew"], buf["val"], buf["done"], last_v, gamma=cfg.gamma, lam=cfg.gae_lambda)
        buf.update(adv=adv, ret=ret, best=best, total=total, success=success, episodes=episodes)
        return buf

    def _score(self, batch: LevelBatch, buf: dict) -> np.ndarray:
        mask = np.ones(buf["adv"].shape, dtype=bool)
        known = self.sampler.max_returns(batch.slots)
        max_return = np.fmax(np.nan_to_num(known, nan=-np.inf), np.nan_to_num(buf["best"], nan=-np.inf))
        max_return = np.where(np.isfinite(max_return), max_return, 0.0)
        scores = level_scores(self.config.score, buf["adv"].numpy(), buf["val"].numpy(), mask, max_return)
        self.sampler.update(batch, scores, buf["best"])
        return scores

    def _learn(self, buf: dict) -> dict:
        cfg = self.config.ppo
        n = cfg.num_envs * cfg.num_steps
        f = {k: buf[k].reshape(n, *buf[k].shape[2:]) for k in ("obs", "act", "logp", "val", "adv", "ret")}
        mb = n // cfg.minibatches
        stats = []
        for _ in range(cfg.epochs):
            perm = torch.randperm(n, generator=self.generator)
            for k in range(cfg.minibatches):
                i = perm[k * mb:(k + 1) * mb]
                logits, values = self.network(f["obs"][i])
                dist = torch.distributions.Categorical(logits=logits)
                a = f["adv"][i]
                a = (a - a.mean()) / (a.std() + 1e-8)
                loss, pg, vl, ent, kl = ppo_loss(dist.log_prob(f["act"][i]), f["logp"][i], a, values, f["val"][i],
                                                 f["ret"][i], dist.entropy(), clip_coef=cfg.clip_coef,
                                                 clip_value=cfg.clip_value, vf_coef=cfg.vf_coef,
                                                 ent_coef=cfg.ent_coef)
                self.optimizer.zero_grad()
                loss.backward()
                torch.nn.utils.clip_grad_norm_(self.network.parameters(), cfg.max_grad_norm)
                self.optimizer.step()
                stats.append((pg.item(), vl.item(), ent.item()))
        s = np.mean(stats, axis=0)
        return {"policy_loss": float(s[0]), "value_loss": float(s[1]), "entropy": float(s[2])}

    def train_update(self) -> dict:
        """One sampler decision, roll-out, scoring and (if allowed) PPO update; returns its metrics row."""
        batch = self.sampler.sample(self.config.ppo.num_envs)
        buf = self._rollout(batch)
        scores = self._score(batch, buf)
        row = {"update": self.update_index + 1, "replay": bool(batch.replay), "updated": bool(batch.update),
               "mean_horizon": float(np.nanmean([level_horizon(lv) for lv in batch.levels]))
               if any(hasattr(lv, "horizon") for lv in batch.levels) else float("nan"),
               "mean_score": float(np.nanmean(scores)) if np.isfinite(scores).any() else float("nan"),
               "success_rate": float(buf["success"].sum() / max(buf["episodes"].sum(), 1)),
               "buffer_size": self.sampler.size}
        if batch.update:
            row.update(self._learn(buf))
        if self.sampler.config.strategy == "accel" and batch.replay:
            children = self.sampler.edit_batch(batch)
            self._score(children, self._rollout(children))
        self.update_index += 1
        self.history.append(row)
        return row

    def train_on_levels(self, levels: list, learn: bool = True) -> dict[str, np.ndarray]:
        """Roll out on the given levels (one per slot, bypassing the sampler) and optionally take PPO
        epochs; returns per-slot ``mean_return`` and ``max_return`` of the finished episodes (0 if none)."""
        if len(levels) != self.config.ppo.num_envs:
            raise InvalidInputError(f"expected {self.config.ppo.num_envs} levels, got {len(levels)}")
        batch = LevelBatch(levels=tuple(levels), slots=np.full(len(levels), -1), replay=False, update=learn)
        buf = self._rollout(batch)
        if learn:
            self._learn(buf)
        mean = np.where(buf["episodes"] > 0, buf["total"] / np.maximum(buf["episodes"], 1), 0.0)
        return {"mean_return": mean, "max_return": np.nan_to_num(buf["best"], nan=0.0)}

    def train(self, until: int | None = None) -> list[dict]:
        """Run updates until ``until`` (default ``config.updates``) have been done; returns the history."""
        stop = self.config.updates if until is None else min(int(until), self.config.updates)
        while self.update_index < stop:
            self.train_update()
        return self.history

    # ------------------------------------------------------------------ checkpoints
    def state_dict(self) -> dict:
        """Network, optimiser, sampler, generators, update index and history."""
        env_state = self.env.state_dict() if hasattr(self.env, "state_dict") else \
            {"rng": self.env.rng.bit_generator.state}
        return {"network": self.network.state_dict(), "optimizer": self.optimizer.state_dict(),
                "sampler": self.sampler.state_dict(), "generator": self.generator.get_state(),
                "env": env_state, "update_index": self.update_index, "history": list(self.history),
                "config": dataclasses.asdict(self.config), "seed": self.seed}

    def load_state_dict(self, state: dict) -> None:
        """Restore :meth:`state_dict` (the config must match)."""
        if state["config"] != dataclasses.asdict(self.config) or state["seed"] != self.seed:
            raise InvalidInputError("checkpoint was written with a different CurriculumConfig or seed")
        self.network.load_state_dict(state["network"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.sampler.load_state_dict(state["sampler"])
        self.generator.set_state(state["generator"])
        if hasattr(self.env, "load_state_dict"):
            self.env.load_state_dict(state["env"])
        else:
            self.env.rng.bit_generator.state = state["env"]["rng"]
        self.update_index = int(state["update_index"])
        self.history = list(state["history"])

    def save(self, path: str | Path) -> Path:
        """Write :meth:`state_dict` to ``path`` (atomically: temporary file, then rename)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        torch.save(self.state_dict(), tmp)
        tmp.replace(path)
        return path

    def load(self, path: str | Path) -> None:
        """Resume from a checkpoint written by :meth:`save`."""
        path = Path(path)
        if not path.exists():
            raise InvalidInputError(f"no checkpoint at {path}")
        self.load_state_dict(torch.load(path, weights_only=False))
