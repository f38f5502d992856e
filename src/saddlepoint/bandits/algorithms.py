"""Linear bandit algorithms with one ask/tell interface.

Every algorithm is a :mod:`saddlepoint.method` method, built as ``Algorithm(problem, config,
rng)`` (``saddlepoint.method.make_method(problem, config, rng)`` builds the class the config's
``method`` class variable names; ``algo`` is its key in
:data:`saddlepoint.registry.BANDIT_ALGORITHMS`). ``problem`` is the arm set ``(k, d)`` or
anything with ``arms``: a :class:`~saddlepoint.bandits.instances.LinearBandit` for ask/tell, a
:class:`~saddlepoint.bandits.instances.BanditPlay` (instance and noise) to be stepped. It exposes:

- ``ask() -> int``: the next arm to pull;
- ``ask_batch(max_size) -> ndarray``: the pulls it will make before it needs any new feedback
  (one arm for LinUCB, the rest of the phase for phased elimination), at most ``max_size``;
- ``tell(arm, reward)`` and ``tell_batch(arms, rewards)``: feed back observed rewards, in order;
- ``step()`` / ``advance(n)``: play one round / up to ``n`` rounds of the next batch against
  the problem's rewards; ``output()``: the arms pulled by them so far;
- ``iteration`` (rounds told), ``batches_used`` (how many times the policy was redeployed with
  new data: every round for LinUCB, once per phase for phased elimination) and ``cost``
  (``iterations`` and ``batches``).

Algorithms are plain Python objects and can be pickled mid-run to save their state.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from saddlepoint.bandits.design import g_optimal_design, span_basis
from saddlepoint.config import check_positive, check_positive_int
from saddlepoint.errors import InvalidInputError
from saddlepoint.method import CountsIterations

__all__ = [
    "LinUCBConfig", "PhasedEliminationConfig", "ExploreThenCommitConfig", "UniformConfig",
    "BanditAlgorithm", "LinUCB", "PhasedElimination", "ExploreThenCommit", "UniformPolicy",
    "oful_radius", "AlgoConfig",
]


# --------------------------------------------------------------------------- configs
@dataclass(frozen=True)
class LinUCBConfig:
    """LinUCB in the OFUL form (Abbasi-Yadkori et al. 2011, Thm. 2)."""

    algo: ClassVar[str] = "linucb"
    method: ClassVar[str] = "saddlepoint.bandits.algorithms:LinUCB"
    batched_method: ClassVar[str] = "saddlepoint.bandits.simulate:BatchedLinUCB"
    """The same algorithm on many seeds at once (see :func:`saddlepoint.bandits.simulate.simulate`)."""
    lam: float = 1.0
    """Ridge regulariser lambda: ``V_0 = lambda I``."""
    delta: float = 0.01
    """Confidence level delta of the ellipsoid."""
    sigma: float = 0.1
    """Noise sub-Gaussian level sigma assumed by the radius (known to the learner)."""
    norm_bound: float = 1.0
    """S, a bound on ``||w*||_2``."""
    refresh_every: int = 4096
    """Recompute ``V^{-1}`` from ``V`` every this many rounds (Sherman-Morrison drift)."""

    def __post_init__(self) -> None:
        check_positive("lam", self.lam)
        _check_delta(self.delta)
        check_positive("sigma", self.sigma, allow_zero=True)
        check_positive("norm_bound", self.norm_bound, allow_zero=True)
        check_positive_int("refresh_every", self.refresh_every)

    def label(self) -> str:
        return "LinUCB"


@dataclass(frozen=True)
class PhasedEliminationConfig:
    """Phased elimination with G-optimal design (Lattimore, Szepesvari & Weisz 2020; Liu et
    al. 2501.05361): one batch per phase, least squares on that phase's data only."""

    algo: ClassVar[str] = "phased_elimination"
    method: ClassVar[str] = "saddlepoint.bandits.algorithms:PhasedElimination"
    delta: float = 0.01
    """Failure probability delta in the phase length ``log(k l (l+1) / delta)``."""
    exploration: float = 2.0
    """C, the exploration constant in ``T_l(a) = ceil(C d pi(a) / eps_l^2 log(...))``; theory 2."""
    design_tol: float = 0.01
    """eta_FW: stop Frank-Wolfe when ``max leverage <= (1 + eta_FW) d``."""
    min_weight: float = 1e-6
    """Design weights below this are dropped before rounding to pull counts."""

    def __post_init__(self) -> None:
        _check_delta(self.delta)
        check_positive("exploration", self.exploration)
        check_positive("design_tol", self.design_tol)
        check_positive("min_weight", self.min_weight, allow_zero=True)
        if self.min_weight >= 1:
            raise InvalidInputError(f"min_weight must be below 1, got {self.min_weight!r}")

    def label(self) -> str:
        return f"PE(C={self.exploration:g})"


@dataclass(frozen=True)
class ExploreThenCommitConfig:
    """Explore-then-commit: pull every arm ``explore_per_arm`` times round-robin, fit least
    squares, then pull the arm the fit ranks best forever (two batches)."""

    algo: ClassVar[str] = "explore_then_commit"
    method: ClassVar[str] = "saddlepoint.bandits.algorithms:ExploreThenCommit"
    explore_per_arm: int = 10
    """m, the number of exploration pulls per arm."""

    def __post_init__(self) -> None:
        check_positive_int("explore_per_arm", self.explore_per_arm)

    def label(self) -> str:
        return f"ETC(m={self.explore_per_arm})"


@dataclass(frozen=True)
class UniformConfig:
    """Pull an arm uniformly at random every round (linear regret; a floor for comparisons)."""

    algo: ClassVar[str] = "uniform"
    method: ClassVar[str] = "saddlepoint.bandits.algorithms:UniformPolicy"

    def label(self) -> str:
        return "uniform"


AlgoConfig = LinUCBConfig | PhasedEliminationConfig | ExploreThenCommitConfig | UniformConfig


def _check_delta(delta: float) -> None:
    check_positive("delta", delta)
    if delta >= 1:
        raise InvalidInputError(f"delta must be in (0, 1), got {delta!r}")


def oful_radius(logdet_v: np.ndarray | float, d: int, config: LinUCBConfig) -> np.ndarray | float:
    """``sqrt(beta_t) = sigma sqrt(2 log(1/delta) + log det V_t - d log lambda) + sqrt(lambda) S``.

    The returned value multiplies ``||x||_{V^{-1}}`` (it is sqrt(beta), not beta).
    (Abbasi-Yadkori, Pal & Szepesvari 2011, Thm. 2.)
    """
    inner = 2 * math.log(1 / config.delta) + logdet_v - d * math.log(config.lam)
    return config.sigma * np.sqrt(inner) + math.sqrt(config.lam) * config.norm_bound


# --------------------------------------------------------------------------- base
class BanditAlgorithm(CountsIterations):
    """Base class: arms, round counter, the batch form of ask/tell, and stepping against the
    problem's rewards."""

    def __init__(self, problem: Any, config: Any, rng: np.random.Generator) -> None:
        arms = np.array(getattr(problem, "arms", problem), dtype=float, copy=True)
        if arms.ndim != 2 or arms.shape[0] == 0 or arms.shape[1] == 0:
            raise InvalidInputError(f"arms must be a non-empty (k, d) array, got {arms.shape}")
        if not np.all(np.isfinite(arms)):
            raise InvalidInputError("arms must be finite")
        arms.setflags(write=False)
        self.problem, self.config, self.label = problem, config, config.label()
        self._arms = arms
        self._rng = rng
        self._t = 0
        self._pulls: list[np.ndarray] = []

    @property
    def arms(self) -> np.ndarray:
        """The arm set, shape ``(k, d)`` (read-only)."""
        return self._arms

    @property
    def cost(self) -> dict[str, int]:
        """Rounds told (``iterations``) and ``batches`` (:attr:`batches_used`)."""
        return {"iterations": self._t, "batches": self.batches_used}

    @property
    def batches_used(self) -> int:
        raise NotImplementedError

    def advance(self, n: int) -> int:
        """Play up to ``n`` rounds of the next batch against the problem's rewards (it needs
        ``rewards(pulls, start)``, e.g. a BanditPlay); returns the rounds played."""
        rewards = getattr(self.problem, "rewards", None)
        if rewards is None:
            raise InvalidInputError("stepping needs a problem that gives rewards (a BanditPlay); "
                                    "with arms alone use ask/tell")
        batch = self.ask_batch(n)
        self.tell_batch(batch, rewards(batch, self._t))
        self._pulls.append(batch)
        return int(batch.size)

    def step(self) -> None:
        """Play one round against the problem's rewards."""
        self.advance(1)

    def output(self) -> np.ndarray:
        """The arms pulled by :meth:`step` / :meth:`advance` so far, one per round (a copy)."""
        return np.concatenate(self._pulls) if self._pulls else np.zeros(0, dtype=np.int64)

    def ask(self) -> int:
        raise NotImplementedError

    def ask_batch(self, max_size: int) -> np.ndarray:
        """Pulls planned without further feedback (default: one round)."""
        _check_size(max_size)
        return np.array([self.ask()], dtype=int)

    def tell(self, arm: int, reward: float) -> None:
        raise NotImplementedError

    def tell_batch(self, arms: np.ndarray, rewards: np.ndarray) -> None:
        """Feed back several rounds in order."""
        arms, rewards = np.asarray(arms, dtype=int), np.asarray(rewards, dtype=float)
        if arms.shape != rewards.shape or arms.ndim != 1:
            raise InvalidInputError("arms and rewards must be 1-D arrays of equal length")
        for a, y in zip(arms.tolist(), rewards.tolist()):
            self.tell(a, y)

    def _check_arm(self, arm: int, reward: float) -> int:
        a = int(arm)
        if a < 0 or a >= self._arms.shape[0]:
            k = self._arms.shape[0]
            raise InvalidInputError(f"arm must be an index in [0, {k}), got {arm!r}")
        if not math.isfinite(reward):
            raise InvalidInputError(f"reward must be finite, got {reward!r}")
        return a


def _check_size(max_size: int) -> None:
    if max_size < 1:
        raise InvalidInputError(f"max_size must be a positive integer, got {max_size!r}")


# --------------------------------------------------------------------------- LinUCB
class LinUCB(BanditAlgorithm):
    """LinUCB / OFUL: ``x_{t+1} = argmax_x w_hat^T x + sqrt(beta_t) ||x||_{V_t^{-1}}``.

    ``V^{-1}`` and ``log det V`` are updated by Sherman-Morrison and the matrix determinant
    lemma, ``log det V_{t+1} = log det V_t + log(1 + ||x||^2_{V_t^{-1}})``, and the arms'
    leverages ``||x||^2_{V^{-1}}`` with them: O(k d + d^2) per round. Ties go to the lowest
    index.
    """

    def __init__(self, problem: Any, config: LinUCBConfig, rng: np.random.Generator) -> None:
        super().__init__(problem, config, rng)
        d = self._arms.shape[1]
        self._v = config.lam * np.eye(d)
        self._v_inv = np.eye(d) / config.lam
        self._b = np.zeros(d)
        self._logdet = d * math.log(config.lam)
        self._lev = np.einsum("kd,kd->k", self._arms, self._arms) / config.lam
        self._w = np.zeros(d)

    @property
    def batches_used(self) -> int:
        """LinUCB redeploys its policy every round."""
        return self._t

    @property
    def theta_hat(self) -> np.ndarray:
        """The ridge estimate ``w_hat = V^{-1} b``, shape ``(d,)`` (a copy)."""
        return self._w.copy()

    def ucb(self) -> np.ndarray:
        """Upper confidence bounds of all arms, shape ``(k,)``."""
        radius = oful_radius(self._logdet, self._arms.shape[1], self.config)
        return self._arms @ self._w + radius * np.sqrt(np.maximum(self._lev, 0.0))

    def ask(self) -> int:
        return int(np.argmax(self.ucb()))

    def tell(self, arm: int, reward: float) -> None:
        a = self._check_arm(arm, reward)
        x = self._arms[a]
        u = self._v_inv @ x
        q = float(x @ u)
        self._v_inv -= np.outer(u, u) / (1 + q)
        self._lev -= (self._arms @ u) ** 2 / (1 + q)
        self._logdet += math.log1p(q)
        self._v += np.outer(x, x)
        self._b += reward * x
        self._t += 1
        if self._t % self.config.refresh_every == 0:
            self._v_inv = np.linalg.inv(self._v)
            self._lev = np.einsum("kd,de,ke->k", self._arms, self._v_inv, self._arms)
        self._w = self._v_inv @ self._b


# --------------------------------------------------------------------------- phased elimination
class PhasedElimination(BanditAlgorithm):
    """Phased elimination with G-optimal design.

    Phase ``l = 1, 2, ...`` with ``eps_l = 2^-l`` on the active set ``A_l``: a near-G-optimal
    design ``pi_l`` in the span of ``A_l`` (rank ``r``), then ``T_l(a) = ceil(C r pi_l(a) /
    eps_l^2 log(k l (l+1) / delta))`` pulls of each supported arm (one batch), least squares on
    this phase's data only, and elimination of every ``a`` with ``max_b w_hat^T (b - a) >
    2 eps_l``. With one arm left it commits to it (a final batch).
    """

    def __init__(self, problem: Any, config: PhasedEliminationConfig, rng: np.random.Generator) -> None:
        super().__init__(problem, config, rng)
        k = self._arms.shape[0]
        self._active = np.ones(k, dtype=bool)
        self._phase = 0
        self._batches = 0
        self._committed: int | None = None
        self._planned = np.zeros(k, dtype=np.int64)
        self._remaining = np.zeros(k, dtype=np.int64)
        self._sums = np.zeros(k)
        self._basis = np.eye(self._arms.shape[1])
        self._phase_log: list[dict] = []
        self._start_phase()

    @property
    def batches_used(self) -> int:
        """Phases started so far (the commit phase counts as one)."""
        return self._batches

    @property
    def phase(self) -> int:
        """The current phase index l (1-based)."""
        return self._phase

    @property
    def active(self) -> np.ndarray:
        """Boolean mask of the surviving arms, shape ``(k,)`` (a copy)."""
        return self._active.copy()

    @property
    def phase_log(self) -> list[dict]:
        """One dict per phase started: ``phase``, ``active``, ``rank``, ``pulls``,
        ``max_leverage``."""
        return [dict(p) for p in self._phase_log]

    def _start_phase(self) -> None:
        self._phase += 1
        self._batches += 1
        idx = np.flatnonzero(self._active)
        if idx.size == 1:
            self._committed = int(idx[0])
            self._phase_log.append({"phase": self._phase, "active": 1, "rank": 1, "pulls": None,
                                    "max_leverage": 1.0})
            return
        cfg = self.config
        self._basis = span_basis(self._arms[idx])
        design = g_optimal_design(self._arms[idx] @ self._basis, tol=cfg.design_tol,
                                  min_weight=cfg.min_weight)
        k, l_ = self._arms.shape[0], self._phase
        eps = 2.0 ** -l_
        log_term = math.log(k * l_ * (l_ + 1) / cfg.delta)
        # T_l(a) = ceil(C r pi(a) / eps_l^2 log(k l (l+1) / delta))
        counts = np.ceil(cfg.exploration * design.rank * design.weights / eps**2 * log_term)
        counts = np.where(design.weights > 0, counts, 0)
        self._planned[:] = 0
        self._planned[idx] = counts.astype(np.int64)
        self._remaining = self._planned.copy()
        self._sums[:] = 0.0
        self._phase_log.append({"phase": l_, "active": int(idx.size), "rank": design.rank,
                                "pulls": int(counts.sum()), "max_leverage": design.max_leverage})

    def _end_phase(self) -> None:
        idx = np.flatnonzero(self._active)
        z = self._arms @ self._basis  # coordinates in the span of the active set
        n = self._planned.astype(float)
        v = z.T @ (n[:, None] * z)
        w = np.linalg.solve(v, z.T @ self._sums)
        est = z[idx] @ w
        eps = 2.0 ** -self._phase
        keep = est.max() - est <= 2 * eps
        self._active[:] = False
        self._active[idx[keep]] = True
        self._start_phase()

    def ask(self) -> int:
        if self._committed is not None:
            return self._committed
        return int(np.flatnonzero(self._remaining > 0)[0])

    def ask_batch(self, max_size: int) -> np.ndarray:
        """The rest of this phase (pulls in arm-index order), at most ``max_size``."""
        _check_size(max_size)
        if self._committed is not None:
            return np.full(max_size, self._committed, dtype=int)
        return np.repeat(np.arange(self._arms.shape[0]), self._remaining)[:max_size]

    def tell(self, arm: int, reward: float) -> None:
        self.tell_batch(np.array([arm]), np.array([reward], dtype=float))

    def tell_batch(self, arms: np.ndarray, rewards: np.ndarray) -> None:
        arms, rewards = np.asarray(arms, dtype=int), np.asarray(rewards, dtype=float)
        if arms.shape != rewards.shape or arms.ndim != 1:
            raise InvalidInputError("arms and rewards must be 1-D arrays of equal length")
        if arms.size and (arms.min() < 0 or arms.max() >= self._arms.shape[0]):
            raise InvalidInputError(f"arm indices must lie in [0, {self._arms.shape[0]})")
        if not np.all(np.isfinite(rewards)):
            raise InvalidInputError("rewards must be finite")
        pos = 0
        while pos < arms.size:
            if self._committed is not None:
                if np.any(arms[pos:] != self._committed):
                    raise InvalidInputError("told an arm other than the one committed to")
                self._t += arms.size - pos
                return
            # feed rewards until this phase's plan is complete, then eliminate
            need = int(self._remaining.sum())
            chunk_a, chunk_y = arms[pos:pos + need], rewards[pos:pos + need]
            told = np.bincount(chunk_a, minlength=self._arms.shape[0])
            if np.any(told > self._remaining):
                raise InvalidInputError("told an arm that the current phase did not plan")
            self._remaining -= told
            np.add.at(self._sums, chunk_a, chunk_y)
            self._t += chunk_a.size
            pos += chunk_a.size
            if self._remaining.sum() == 0:
                self._end_phase()


# --------------------------------------------------------------------------- baselines
class ExploreThenCommit(BanditAlgorithm):
    """Round-robin exploration of every arm, then the least-squares best arm forever."""

    def __init__(self, problem: Any, config: ExploreThenCommitConfig, rng: np.random.Generator) -> None:
        super().__init__(problem, config, rng)
        d = self._arms.shape[1]
        self._explore = self._arms.shape[0] * config.explore_per_arm
        self._v = np.zeros((d, d))
        self._b = np.zeros(d)
        self._choice: int | None = None

    @property
    def batches_used(self) -> int:
        """1 while exploring, 2 once committed."""
        return 1 if self._choice is None else 2

    def ask(self) -> int:
        if self._choice is not None:
            return self._choice
        return self._t % self._arms.shape[0]

    def ask_batch(self, max_size: int) -> np.ndarray:
        _check_size(max_size)
        if self._choice is not None:
            return np.full(max_size, self._choice, dtype=int)
        n = min(max_size, self._explore - self._t)
        return (self._t + np.arange(n)) % self._arms.shape[0]

    def tell(self, arm: int, reward: float) -> None:
        a = self._check_arm(arm, reward)
        self._t += 1
        if self._choice is not None:
            return
        x = self._arms[a]
        self._v += np.outer(x, x)
        self._b += reward * x
        if self._t == self._explore:
            w = np.linalg.lstsq(self._v, self._b, rcond=None)[0]
            self._choice = int(np.argmax(self._arms @ w))


class UniformPolicy(BanditAlgorithm):
    """Uniformly random arms (from the generator given at construction)."""

    @property
    def batches_used(self) -> int:
        return 1

    def ask(self) -> int:
        return int(self._rng.integers(self._arms.shape[0]))

    def ask_batch(self, max_size: int) -> np.ndarray:
        _check_size(max_size)
        return self._rng.integers(self._arms.shape[0], size=max_size)

    def tell(self, arm: int, reward: float) -> None:
        self._check_arm(arm, reward)
        self._t += 1

    def tell_batch(self, arms: np.ndarray, rewards: np.ndarray) -> None:
        arms = np.asarray(arms, dtype=int)
        if arms.size and (arms.min() < 0 or arms.max() >= self._arms.shape[0]):
            raise InvalidInputError(f"arm indices must lie in [0, {self._arms.shape[0]})")
        self._t += arms.size
