"""PPO (Schulman et al., 2017) on the vectorised maze simulator: GAE, clipped objective, entropy bonus.

One rollout of ``num_steps`` steps in ``num_envs`` parallel levels, then ``epochs`` passes of
``minibatches`` clipped-surrogate updates, as in CleanRL's ``ppo.py``. Episodes cut by the time
limit bootstrap from the value of their final observation; episodes that reach the goal do not.
Levels come from a list (uniform) or from ``level_fn`` (a level sampler).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from saddlepoint.errors import InvalidInputError, require
from saddlepoint.progress import progress_bar
from saddlepoint.rl.networks import ActorCritic, NetworkConfig, seeded

torch = require("torch", "torch")
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PPOConfig:
    """PPO settings (defaults: CleanRL's Atari-style PPO scaled to the maze)."""

    total_steps: int = 200_000
    """Environment steps (summed over parallel envs)."""
    num_envs: int = 32
    """Parallel environments B."""
    num_steps: int = 128
    """Rollout length per environment; one update uses num_envs * num_steps transitions."""
    epochs: int = 4
    """Passes over each rollout."""
    minibatches: int = 4
    """Minibatches per pass."""
    lr: float = 5e-4
    """Adam learning rate."""
    gamma: float = 0.99
    """Discount factor gamma."""
    gae_lambda: float = 0.95
    """GAE lambda."""
    clip_coef: float = 0.2
    """Clip range epsilon of the probability ratio."""
    clip_value: bool = False
    """Clip the value update to +-clip_coef around the rollout's values (PPO2-style)."""
    ent_coef: float = 0.01
    """Entropy bonus weight."""
    vf_coef: float = 0.5
    """Value-loss weight."""
    max_grad_norm: float = 0.5
    """Global gradient-norm clip."""
    max_steps: int = 64
    """Episode time limit T."""
    obs_mode: str = "symbolic"
    """Observation mode of the simulator."""
    network: NetworkConfig = field(default_factory=NetworkConfig)
    """Conv encoder and head sizes."""

    def __post_init__(self) -> None:
        for name in ("total_steps", "num_envs", "num_steps", "epochs", "minibatches", "max_steps"):
            if int(getattr(self, name)) < 1:
                raise InvalidInputError(f"{name} must be >= 1, got {getattr(self, name)}")
        if (self.num_envs * self.num_steps) % self.minibatches:
            raise InvalidInputError(f"minibatches ({self.minibatches}) must divide num_envs * num_steps "
                                    f"({self.num_envs * self.num_steps})")
        for name in ("gamma", "gae_lambda"):
            if not 0 <= getattr(self, name) <= 1:
                raise InvalidInputError(f"{name} must lie in [0, 1], got {getattr(self, name)}")
        for name in ("lr", "clip_coef"):
            if not getattr(self, name) > 0:
                raise InvalidInputError(f"{name} must be > 0, got {getattr(self, name)}")
        for name in ("ent_coef", "vf_coef", "max_grad_norm"):
            if not getattr(self, name) >= 0:
                raise InvalidInputError(f"{name} must be >= 0, got {getattr(self, name)}")

    @property
    def batch_size(self) -> int:
        """Transitions per update."""
        return self.num_envs * self.num_steps


def compute_gae(rewards, values, dones, last_values, *, gamma: float, lam: float):
    """Generalised advantage estimation (Schulman et al., 2016, eq. 16).

    rewards, values, dones (T, B) tensors (dones[t] = the episode ended at step t, so step t does
    not bootstrap from t + 1); last_values (B,) values of the observation after the rollout.
    Returns (advantages, returns), both (T, B), with returns = advantages + values.
    """
    T = rewards.shape[0]
    adv = torch.zeros_like(rewards)
    last = torch.zeros_like(last_values)
    for t in reversed(range(T)):
        next_v = last_values if t == T - 1 else values[t + 1]
        nonterminal = 1.0 - dones[t]
        delta = rewards[t] + gamma * next_v * nonterminal - values[t]
        last = delta + gamma * lam * nonterminal * last
        adv[t] = last
    return adv, adv + values


def ppo_loss(new_logp, old_logp, advantages, new_values, old_values, returns, entropy, *, clip_coef: float,
             clip_value: bool, vf_coef: float, ent_coef: float):
    """Clipped-surrogate PPO loss (Schulman et al., 2017, eq. 7) + value loss - entropy bonus.

    All inputs (M,) tensors. Returns (total, policy_loss, value_loss, entropy_mean, approx_kl).
    """
    log_ratio = new_logp - old_logp
    ratio = log_ratio.exp()
    pg = torch.max(-advantages * ratio, -advantages * ratio.clamp(1 - clip_coef, 1 + clip_coef)).mean()
    if clip_value:
        clipped = old_values + (new_values - old_values).clamp(-clip_coef, clip_coef)
        v_loss = 0.5 * torch.max((new_values - returns) ** 2, (clipped - returns) ** 2).mean()
    else:
        v_loss = 0.5 * ((new_values - returns) ** 2).mean()
    ent = entropy.mean()
    approx_kl = ((ratio - 1) - log_ratio).mean().detach()
    return pg + vf_coef * v_loss - ent_coef * ent, pg, v_loss, ent, approx_kl


@dataclass
class PPOResult:
    """The trained actor-critic, per-update statistics, env steps done and wall-clock seconds."""

    network: object
    history: list[dict]
    env_steps: int
    seconds: float

    @property
    def steps_per_second(self) -> float:
        """Environment steps per second of training (rollouts and updates together)."""
        return self.env_steps / max(self.seconds, 1e-9)


def train_ppo(levels: Sequence | None, config: PPOConfig = PPOConfig(), seed: int = 0, *,
              level_fn: Callable | None = None, size: int | None = None,
              show_progress: bool | None = None) -> PPOResult:
    """Train PPO on ``levels`` (uniform auto-reset) or on levels drawn by ``level_fn(env_index, rng)``
    (give the grid ``size`` when there are no ``levels``)."""
    from saddlepoint.envs.vector import MazeVectorEnv

    env = MazeVectorEnv(levels, num_envs=config.num_envs, max_steps=config.max_steps, obs_mode=config.obs_mode,
                        level_fn=level_fn, seed=int(seed), size=size)
    obs, _ = env.reset(seed=int(seed))
    net = seeded(seed, ActorCritic, obs.shape[1:], 4, config.network)
    opt = torch.optim.Adam(net.parameters(), lr=config.lr, eps=1e-5)
    gen = torch.Generator().manual_seed(int(seed))
    T, B = config.num_steps, config.num_envs
    buf_obs = torch.zeros((T, B, *obs.shape[1:]), dtype=torch.from_numpy(obs).dtype)
    buf_act = torch.zeros((T, B), dtype=torch.int64)
    buf_logp, buf_val, buf_rew, buf_done = (torch.zeros((T, B)) for _ in range(4))
    updates = max(1, config.total_steps // config.batch_size)
    history: list[dict] = []
    ep_returns: list[float] = []
    ep_success: list[bool] = []
    obs_t = torch.from_numpy(obs)
    mb = config.batch_size // config.minibatches
    start = time.perf_counter()
    with progress_bar(updates * config.batch_size, desc="PPO", enabled=show_progress) as bar:
        for update in range(updates):
            for t in range(T):
                with torch.no_grad():
                    logits, value = net(obs_t)
                    dist = torch.distributions.Categorical(logits=logits)
                    action = torch.multinomial(dist.probs, 1, generator=gen).squeeze(1)
                    buf_logp[t] = dist.log_prob(action)
                buf_obs[t] = obs_t
                buf_act[t] = action
                buf_val[t] = value
                obs, reward, term, trunc, info = env.step(action.numpy())
                reward = torch.from_numpy(np.asarray(reward, dtype=np.float32))
                if trunc.any():  # bootstrap cut episodes from their final observation
                    idx = np.flatnonzero(trunc & ~term)
                    if idx.size:
                        with torch.no_grad():
                            _, v_final = net(torch.from_numpy(info["final_obs"][idx]))
                        reward[idx] += config.gamma * v_final
                buf_rew[t] = reward
                buf_done[t] = torch.from_numpy((term | trunc).astype(np.float32))
                obs_t = torch.from_numpy(obs)
                finished = np.flatnonzero(term | trunc)
                if finished.size:
                    ep_success.extend(term[finished].tolist())
                    ep_returns.extend(np.where(term[finished], reward.numpy()[finished], 0.0).tolist())
            with torch.no_grad():
                _, last_v = net(obs_t)
            adv, ret = compute_gae(buf_rew, buf_val, buf_done, last_v, gamma=config.gamma, lam=config.gae_lambda)
            f_obs, f_act = buf_obs.reshape(-1, *buf_obs.shape[2:]), buf_act.reshape(-1)
            f_logp, f_val, f_adv, f_ret = buf_logp.reshape(-1), buf_val.reshape(-1), adv.reshape(-1), ret.reshape(-1)
            stats = []
            for _ in range(config.epochs):
                perm = torch.randperm(config.batch_size, generator=gen)
                for k in range(config.minibatches):
                    i = perm[k * mb:(k + 1) * mb]
                    logits, values = net(f_obs[i])
                    dist = torch.distributions.Categorical(logits=logits)
                    a = f_adv[i]
                    a = (a - a.mean()) / (a.std() + 1e-8)
                    loss, pg, vl, ent, kl = ppo_loss(dist.log_prob(f_act[i]), f_logp[i], a, values, f_val[i],
                                                     f_ret[i], dist.entropy(), clip_coef=config.clip_coef,
                                                     clip_value=config.clip_value, vf_coef=config.vf_coef,
                                                     ent_coef=config.ent_coef)
                    opt.zero_grad()
                    loss.backward()
                    torch.nn.utils.clip_grad_norm_(net.parameters(), config.max_grad_norm)
                    opt.step()
                    stats.append((pg.item(), vl.item(), ent.item(), kl.item()))
            s = np.mean(stats, axis=0)
            history.append({"update": update + 1, "env_steps": (update + 1) * config.batch_size,
                            "episodes": len(ep_success),
                            "success_rate": float(np.mean(ep_success)) if ep_success else float("nan"),
                            "mean_return": float(np.mean(ep_returns)) if ep_returns else float("nan"),
                            "policy_loss": s[0], "value_loss": s[1], "entropy": s[2], "approx_kl": s[3]})
            ep_success, ep_returns = [], []
            bar.update(config.batch_size)
    seconds = time.perf_counter() - start
    steps = updates * config.batch_size
    logger.info("PPO: %d env steps in %.1fs (%.0f steps/s)", steps, seconds, steps / seconds)
    return PPOResult(net.eval(), history, steps, seconds)
