"""Running bandit algorithms on instances: one seed (:func:`run`, :func:`play`), or many seeds
at once (:func:`simulate`, with a vectorised LinUCB, :class:`BatchedLinUCB`). Every loop is
:func:`saddlepoint.method.run` on a budget of rounds, with a callback that records the regret.

Noise convention (common random numbers): a run with generator ``rng`` first draws the
standardised noise ``z = rng.standard_normal(horizon)`` (a
:class:`~saddlepoint.bandits.instances.BanditPlay`) and the reward of round ``t`` is
``f(x_t) + sigma z_t``; the algorithm then gets ``rng`` for its own randomness. So every
algorithm on a seed sees the same noise sequence, and :func:`simulate` (many seeds, vectorised)
reproduces :func:`run` (one seed) exactly. Regret is the pseudo-regret
``R_T = sum_t (f* - f(x_t))``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from saddlepoint.bandits.algorithms import AlgoConfig, BanditAlgorithm, LinUCBConfig, oful_radius
from saddlepoint.bandits.instances import BanditPlay, LinearBandit
from saddlepoint.config import check_positive_int
from saddlepoint.errors import InvalidInputError
from saddlepoint.method import Budget, CountsIterations, make_method
from saddlepoint.method import run as run_method
from saddlepoint.registry import load
from saddlepoint.rng import make_rng

__all__ = ["BanditRun", "BatchedLinUCB", "RegretCurves", "run", "play", "simulate", "doubling_ratio"]


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


def run(instance: LinearBandit, config: AlgoConfig, horizon: int,
        rng: np.random.Generator | int) -> BanditRun:
    """Play the algorithm ``config`` names for ``horizon`` rounds on ``instance`` (noise drawn
    from ``rng`` first, then the algorithm gets ``rng``); its batches are played without
    feedback in between."""
    if not isinstance(instance, LinearBandit):
        raise InvalidInputError(f"instance must be a LinearBandit, got {type(instance).__name__}")
    check_positive_int("horizon", horizon)
    rng = make_rng(rng)
    return play(make_method(BanditPlay.draw(instance, horizon, rng), config, rng))


def play(algorithm: BanditAlgorithm) -> BanditRun:
    """Step ``algorithm`` (built on a :class:`BanditPlay`) to the end of its play's horizon."""
    problem = algorithm.problem
    if not isinstance(problem, BanditPlay):
        raise InvalidInputError(f"play needs an algorithm built on a BanditPlay, got {type(problem).__name__}")
    gaps = problem.instance.gaps

    def regret(m: BanditAlgorithm) -> dict[str, np.ndarray]:
        pulls = m.output()
        return {"pulls": pulls, "regret": np.cumsum(gaps[pulls])}

    trace = run_method(algorithm, Budget(problem.horizon), at=[problem.horizon], evaluate=regret)
    last = trace.rows[-1]
    return BanditRun(algorithm.label, problem.instance.name, last["regret"], last["pulls"],
                     algorithm.batches_used, trace.seconds)


class BatchedLinUCB(CountsIterations):
    """LinUCB on ``S`` plays at once (a method of :mod:`saddlepoint.method`).

    ``problem``: a sequence of :class:`BanditPlay` of one arm-set shape ``(k, d)`` and one
    horizon ``T``. Same updates as :class:`~saddlepoint.bandits.algorithms.LinUCB`
    (Sherman-Morrison on ``V^{-1}``, the leverages and ``log det V``), stacked over plays;
    ``output()`` is the pulls so far, ``(S, t)``.
    """

    def __init__(self, problem: Sequence[BanditPlay], config: LinUCBConfig, rng: Any = None) -> None:
        plays = list(problem)
        if not plays or not all(isinstance(p, BanditPlay) for p in plays):
            raise InvalidInputError("BatchedLinUCB needs a non-empty sequence of BanditPlay")
        shapes = {p.arms.shape for p in plays}
        if len(shapes) != 1:
            raise InvalidInputError(f"vectorised LinUCB needs instances of one shape (k, d), got {shapes}")
        if len({p.horizon for p in plays}) != 1:
            raise InvalidInputError("vectorised LinUCB needs plays of one horizon")
        self.problem, self.config = plays, config
        self.arms = np.stack([p.arms for p in plays])
        self.means = np.stack([p.instance.means for p in plays])
        self.noise = np.stack([p.noise for p in plays])
        self.sigma = np.array([p.instance.sigma for p in plays])
        s_, k, d = self.arms.shape
        self._v = np.broadcast_to(config.lam * np.eye(d), (s_, d, d)).copy()
        self._v_inv = np.broadcast_to(np.eye(d) / config.lam, (s_, d, d)).copy()
        self._b = np.zeros((s_, d))
        self._w = np.zeros((s_, d))
        self._logdet = np.full(s_, d * math.log(config.lam))
        self._lev = np.einsum("skd,skd->sk", self.arms, self.arms) / config.lam
        self._pulls = np.empty((s_, self.noise.shape[1]), dtype=np.int64)
        self._t = 0

    def output(self) -> np.ndarray:
        """Pulls so far, ``(S, t)`` (a copy)."""
        return self._pulls[:, :self._t].copy()

    def step(self) -> None:
        """One round on every play."""
        self.advance(1)

    def advance(self, n: int) -> int:
        """Up to ``n`` rounds on every play (to the horizon); returns the rounds played."""
        arms, config = self.arms, self.config
        s_, _, d = arms.shape
        rows = np.arange(s_)
        end = min(self._t + int(n), self.noise.shape[1])
        v, v_inv, b, w, logdet, lev = self._v, self._v_inv, self._b, self._w, self._logdet, self._lev
        start = self._t
        for t in range(start, end):
            radius = oful_radius(logdet, d, config)
            bonus = radius[:, None] * np.sqrt(np.maximum(lev, 0.0))
            ucb = np.matmul(arms, w[:, :, None])[:, :, 0] + bonus
            a = ucb.argmax(axis=1)
            self._pulls[:, t] = a
            x = arms[rows, a]
            y = self.means[rows, a] + self.sigma * self.noise[:, t]
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
        self._v_inv, self._lev, self._w, self._t = v_inv, lev, w, end
        return end - start


def simulate(instances: LinearBandit | Sequence[LinearBandit], config: AlgoConfig, horizon: int,
             seeds: Sequence[int], *, vectorised: bool = True) -> RegretCurves:
    """Run ``config`` for ``horizon`` rounds on one instance per seed (or the same instance
    for every seed). An algorithm whose config names a ``batched_method`` (LinUCB) runs all
    seeds in one vectorised loop (``vectorised=True``); the others, whose batches are long, run
    seed by seed through :func:`run`. Seed ``s`` gives exactly what ``run(instances[i],
    config, horizon, s)`` gives."""
    check_positive_int("horizon", horizon)
    seeds = [int(s) for s in seeds]
    if not seeds:
        raise InvalidInputError("seeds must be a non-empty list")
    insts = [instances] * len(seeds) if isinstance(instances, LinearBandit) else list(instances)
    if len(insts) != len(seeds):
        raise InvalidInputError(
            f"need one instance per seed: {len(insts)} instances, {len(seeds)} seeds")
    label = config.label()
    batched = getattr(type(config), "batched_method", None)
    if vectorised and batched is not None:
        plays = [BanditPlay.draw(inst, horizon, make_rng(s)) for inst, s in zip(insts, seeds)]
        gaps = np.stack([i.gaps for i in insts])
        trace = run_method(load(batched)(plays, config, None), Budget(horizon), at=[horizon],
                           evaluate=lambda m: {"regret": np.cumsum(np.take_along_axis(gaps, m.output(), axis=1), axis=1)})
        return RegretCurves(label, trace.rows[-1]["regret"], np.full(len(seeds), horizon), np.array(seeds),
                            trace.seconds)
    runs = [run(inst, config, horizon, make_rng(s)) for inst, s in zip(insts, seeds)]
    return RegretCurves(label, np.stack([r.regret for r in runs]),
                        np.array([r.batches_used for r in runs]), np.array(seeds),
                        sum(r.seconds for r in runs))
