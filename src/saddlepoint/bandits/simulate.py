"""Running bandit algorithms on instances: one seed with the ask/tell loop, or many seeds at
once with a vectorised LinUCB.

Noise convention (common random numbers): a run with generator ``rng`` first draws the
standardised noise ``z = rng.standard_normal(horizon)`` and the reward of round ``t`` is
``f(x_t) + sigma z_t``; the algorithm then gets ``rng`` for its own randomness. So every
algorithm on a seed sees the same noise sequence, and :func:`simulate` (many seeds, vectorised)
reproduces :func:`run` (one seed) exactly. Regret is the pseudo-regret
``R_T = sum_t (f* - f(x_t))``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from saddlepoint.bandits.algorithms import (
    AlgoConfig, BanditAlgorithm, LinUCBConfig, make_algorithm, oful_radius,
)
from saddlepoint.bandits.instances import LinearBandit
from saddlepoint.config import check_positive_int
from saddlepoint.errors import InvalidInputError
from saddlepoint.rng import make_rng

__all__ = ["BanditRun", "RegretCurves", "run", "simulate", "doubling_ratio", "linucb_batched"]


def doubling_ratio(regret: np.ndarray) -> np.ndarray | float:
    """``D = R_T / R_{T/2}`` along the last axis of cumulative regret (shape ``(..., T)``).

    About 1 for logarithmic growth, sqrt(2) ~ 1.41 for sqrt(T), 2 for linear regret. ``1`` where
    both are 0, ``inf`` where only ``R_{T/2}`` is.
    """
    r = np.asarray(regret, dtype=float)
    if r.shape[-1] < 2:
        raise InvalidInputError("doubling_ratio needs a horizon of at least 2 rounds")
    last, half = r[..., -1], r[..., r.shape[-1] // 2 - 1]
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = last / np.where(half > 0, half, 1.0)
        d = np.where(half > 0, ratio, np.where(last > 0, np.inf, 1.0))
    return float(d) if d.ndim == 0 else d


@dataclass(frozen=True)
class BanditRun:
    """One run: ``regret`` (shape ``(T,)``, cumulative pseudo-regret), ``pulls`` (shape
    ``(T,)``, arm indices), ``batches_used``, wall ``seconds`` and the labels."""

    algo: str
    instance: str
    regret: np.ndarray
    pulls: np.ndarray
    batches_used: int
    seconds: float

    @property
    def horizon(self) -> int:
        return int(self.regret.shape[0])

    @property
    def seconds_per_round(self) -> float:
        return self.seconds / max(self.horizon, 1)

    @property
    def doubling_ratio(self) -> float:
        return float(doubling_ratio(self.regret))


@dataclass(frozen=True)
class RegretCurves:
    """Many seeds of one algorithm: ``regret`` shape ``(S, T)``, ``batches_used`` shape
    ``(S,)``, ``seeds`` shape ``(S,)``, total wall ``seconds``."""

    algo: str
    regret: np.ndarray
    batches_used: np.ndarray
    seeds: np.ndarray
    seconds: float

    @property
    def final(self) -> np.ndarray:
        """``R_T`` per seed, shape ``(S,)`` (a copy, so it does not pin the whole curve)."""
        return self.regret[:, -1].copy()

    @property
    def doubling_ratio(self) -> np.ndarray:
        """``R_T / R_{T/2}`` per seed, shape ``(S,)``."""
        return np.atleast_1d(doubling_ratio(self.regret))

    @property
    def seconds_per_round(self) -> float:
        """Wall time per round and seed."""
        return self.seconds / max(self.regret.size, 1)


def run(instance: LinearBandit, algo: AlgoConfig | BanditAlgorithm, horizon: int,
        rng: np.random.Generator | int) -> BanditRun:
    """Play ``algo`` (a config, or an algorithm built on ``instance.arms``) for ``horizon``
    rounds; the algorithm's batches are played without feedback in between."""
    if not isinstance(instance, LinearBandit):
        raise InvalidInputError(f"instance must be a LinearBandit, got {type(instance).__name__}")
    check_positive_int("horizon", horizon)
    rng = make_rng(rng)
    noise = rng.standard_normal(horizon)
    if isinstance(algo, BanditAlgorithm):
        if algo.arms.shape != instance.arms.shape or not np.array_equal(algo.arms, instance.arms):
            raise InvalidInputError("the algorithm was built on other arms than the instance's")
        learner = algo
    else:
        learner = make_algorithm(algo, instance.arms, rng)
    pulls = np.empty(horizon, dtype=np.int64)
    start = time.perf_counter()
    t = 0
    while t < horizon:
        batch = learner.ask_batch(horizon - t)
        n = batch.size
        pulls[t:t + n] = batch
        learner.tell_batch(batch, instance.means[batch] + instance.sigma * noise[t:t + n])
        t += n
    seconds = time.perf_counter() - start
    regret = np.cumsum(instance.gaps[pulls])
    return BanditRun(learner.label, instance.name, regret, pulls, learner.batches_used, seconds)


def linucb_batched(arms: np.ndarray, means: np.ndarray, noise: np.ndarray, sigma: np.ndarray,
                   config: LinUCBConfig) -> tuple[np.ndarray, float]:
    """LinUCB on ``S`` instances at once.

    ``arms``: ``(S, k, d)``; ``means``: ``(S, k)``; ``noise``: ``(S, T)`` standard normal;
    ``sigma``: ``(S,)`` noise levels of the instances. Returns the cumulative pseudo-regret
    ``(S, T)`` and the wall seconds. Same updates as :class:`~saddlepoint.bandits.algorithms.LinUCB`
    (Sherman-Morrison on ``V^{-1}``, the leverages and ``log det V``), stacked over seeds.
    """
    s_, k, d = arms.shape
    horizon = noise.shape[1]
    rows = np.arange(s_)
    gaps = means.max(axis=1, keepdims=True) - means
    v = np.broadcast_to(config.lam * np.eye(d), (s_, d, d)).copy()
    v_inv = np.broadcast_to(np.eye(d) / config.lam, (s_, d, d)).copy()
    b = np.zeros((s_, d))
    w = np.zeros((s_, d))
    logdet = np.full(s_, d * math.log(config.lam))
    lev = np.einsum("skd,skd->sk", arms, arms) / config.lam
    pulls = np.empty((s_, horizon), dtype=np.int64)
    start = time.perf_counter()
    for t in range(horizon):
        radius = oful_radius(logdet, d, config)
        bonus = radius[:, None] * np.sqrt(np.maximum(lev, 0.0))
        ucb = np.matmul(arms, w[:, :, None])[:, :, 0] + bonus
        a = ucb.argmax(axis=1)
        pulls[:, t] = a
        x = arms[rows, a]
        y = means[rows, a] + sigma * noise[:, t]
        u = np.matmul(v_inv, x[:, :, None])[:, :, 0]
        scale = 1.0 / (1.0 + np.einsum("sd,sd->s", x, u))
        v_inv -= (u[:, :, None] * u[:, None, :]) * scale[:, None, None]
        lev -= np.matmul(arms, u[:, :, None])[:, :, 0] ** 2 * scale[:, None]
        logdet -= np.log(scale)
        v += x[:, :, None] * x[:, None, :]
        b += y[:, None] * x
        if (t + 1) % config.refresh_every == 0:
            v_inv = np.linalg.inv(v)
            lev = np.einsum("skd,sde,ske->sk", arms, v_inv, arms)
        w = np.matmul(v_inv, b[:, :, None])[:, :, 0]
    seconds = time.perf_counter() - start
    return np.cumsum(np.take_along_axis(gaps, pulls, axis=1), axis=1), seconds


def simulate(instances: LinearBandit | Sequence[LinearBandit], config: AlgoConfig, horizon: int,
             seeds: Sequence[int], *, vectorised: bool = True) -> RegretCurves:
    """Run ``config`` for ``horizon`` rounds on one instance per seed (or the same instance
    for every seed). LinUCB runs all seeds in one vectorised loop (``vectorised=True``); the
    other algorithms, whose batches are long, run seed by seed through :func:`run`. Seed ``s``
    gives exactly what ``run(instances[i], config, horizon, s)`` gives."""
    check_positive_int("horizon", horizon)
    seeds = [int(s) for s in seeds]
    if not seeds:
        raise InvalidInputError("seeds must be a non-empty list")
    insts = [instances] * len(seeds) if isinstance(instances, LinearBandit) else list(instances)
    if len(insts) != len(seeds):
        raise InvalidInputError(
            f"need one instance per seed: {len(insts)} instances, {len(seeds)} seeds")
    label = config.label()
    if vectorised and isinstance(config, LinUCBConfig):
        shapes = {i.arms.shape for i in insts}
        if len(shapes) != 1:
            raise InvalidInputError(
                f"vectorised LinUCB needs instances of one shape (k, d), got {shapes}")
        noise = np.stack([make_rng(s).standard_normal(horizon) for s in seeds])
        regret, seconds = linucb_batched(np.stack([i.arms for i in insts]),
                                         np.stack([i.means for i in insts]), noise,
                                         np.array([i.sigma for i in insts]), config)
        return RegretCurves(label, regret, np.full(len(seeds), horizon), np.array(seeds), seconds)
    runs = [run(inst, config, horizon, make_rng(s)) for inst, s in zip(insts, seeds)]
    return RegretCurves(label, np.stack([r.regret for r in runs]),
                        np.array([r.batches_used for r in runs]), np.array(seeds),
                        sum(r.seconds for r in runs))
