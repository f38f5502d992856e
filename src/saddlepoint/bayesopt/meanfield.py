"""Allocating N cooperating agents to K actions: our implementation of the mean-field GP-UCB
idea (MF-GP-UCB, arXiv 2502.12315) and its baselines, behind one ask/tell interface.

- :class:`MeanFieldGPUCB`: GP on (action, mean field xi), permutation invariant by
  construction; ``feedback="per_action"`` (agents' reports averaged per action, noise
  sigma^2 / n_a) or ``"aggregate"`` (only the team average, a linear functional
  sum_a xi_a f(a, xi) of the GP); acquisition ``"tight"`` (UCB of the weighted sum, using the
  posterior covariance across actions) or ``"loose"`` (weighted sum of per-action UCBs);
  lattice search by random pool + hill climbing, pool only, or a continuous relaxation.
- :class:`AggregateGPUCB`: GP on xi with the team payoff as a scalar (ignores the per-action
  structure; N-free).
- :class:`NaiveJointGPUCB`: GP on the one-hot joint action (dimension N K), the contrast
  class whose input dimension grows with N.
- :class:`RandomAssignment`: every agent picks an action uniformly at random.

``ask()`` returns a joint action (N,) of action indices; ``tell(actions, rewards)`` takes the
joint action played and the per-agent rewards (N,) (methods that only use the team average
also accept a scalar). ``state_dict`` / ``save`` / :func:`load_optimizer` round-trip the full
state, random generator included. Every parameter named ``beta_sqrt`` is beta^{1/2}.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from scipy.optimize import minimize

from saddlepoint.bayesopt.acquisition import BETA_SCHEDULES, beta_sqrt_at, loose_mean_field_ucb, ucb
from saddlepoint.bayesopt.gp import ExactGP, FitConfig, GPHyperparameters, fit_hyperparameters
from saddlepoint.bayesopt.lattice import (
    assignment_of,
    counts_of,
    hill_climb,
    largest_remainder,
    move_sizes,
    random_lattice,
)
from saddlepoint.config import check_choice, check_positive, check_positive_int, from_dict, to_dict
from saddlepoint.errors import InvalidInputError
from saddlepoint.rng import make_rng

log = logging.getLogger(__name__)

__all__ = [
    "METHODS",
    "AggregateGPUCB",
    "AggregateGPUCBConfig",
    "GPUCBSettings",
    "MeanFieldGPUCB",
    "MeanFieldGPUCBConfig",
    "MeanFieldOptimizer",
    "NaiveJointGPUCB",
    "NaiveJointGPUCBConfig",
    "RandomAssignment",
    "RandomAssignmentConfig",
    "load_optimizer",
    "make_optimizer",
    "restore_rng",
    "rng_state",
]


# --------------------------------------------------------------------------- configs
@dataclass(frozen=True)
class GPUCBSettings:
    """Surrogate and confidence-width settings shared by every GP-UCB method."""

    kernel: str = "rbf"
    """Kernel: ``rbf`` (squared exponential) or ``matern52``."""
    lengthscale: float = 0.5
    """Initial (and, without refits, fixed) lengthscale of every input dimension."""
    outputscale: float = 0.25
    """Prior variance of the payoff, s."""
    noise_sd: float = 0.05
    """Noise standard deviation sigma of one agent's reported payoff (assumed known)."""
    prior_mean: str = "empirical"
    """``empirical`` (constant mean = mean of the observations so far) or ``zero``."""
    beta: str = "constant"
    """Confidence-width schedule: ``constant`` (beta_sqrt) or ``theory`` (see acquisition)."""
    beta_sqrt: float = 2.0
    """beta^{1/2}, the multiplier of the posterior standard deviation (constant schedule)."""
    rkhs_bound: float = 1.0
    """B, the assumed RKHS-norm bound of f (theory schedule)."""
    delta: float = 0.1
    """Failure probability delta (theory schedule)."""
    refit_every: int = 0
    """Refit lengthscales and outputscale by maximum marginal likelihood every this many
    rounds (0: fixed hyper-parameters, the default and the paper-scale choice)."""
    fit_backend: str = "numpy"
    """Hyper-parameter fitting: ``numpy`` (ours, L-BFGS-B) or ``botorch`` (extra ``bo``)."""
    _lengthscale_optional: ClassVar[bool] = False

    def __post_init__(self) -> None:
        check_choice("kernel", self.kernel, ("rbf", "matern52"))
        if self.lengthscale is not None or not self._lengthscale_optional:
            check_positive("lengthscale", self.lengthscale)
        check_positive("outputscale", self.outputscale)
        check_positive("noise_sd", self.noise_sd)
        check_choice("prior_mean", self.prior_mean, ("empirical", "zero"))
        check_choice("beta", self.beta, BETA_SCHEDULES)
        check_positive("beta_sqrt", self.beta_sqrt, allow_zero=True)
        check_positive("rkhs_bound", self.rkhs_bound, allow_zero=True)
        check_positive("delta", self.delta)
        if self.delta >= 1:
            raise InvalidInputError(f"delta must be in (0, 1), got {self.delta}")
        check_positive_int("refit_every", self.refit_every, allow_zero=True)
        check_choice("fit_backend", self.fit_backend, ("numpy", "botorch"))


@dataclass(frozen=True)
class _LatticeSearch:
    """How the acquisition is maximised over the N-lattice."""

    lattice_optimizer: str = "hill_climb"
    """``hill_climb`` (random pool, then steepest ascent from the best starts), ``random``
    (pool only) or ``relaxed`` (continuous ascent on the simplex from the best starts,
    largest-remainder rounding, then hill climbing)."""
    n_candidates: int = 300
    """Random lattice points in the pool (xi ~ Dirichlet(1), counts ~ Multinomial(N, xi));
    the pool also holds every past allocation and the even split."""
    n_starts: int = 3
    """Best pool points refined by hill climbing or the relaxation."""
    max_evaluations: int | None = None
    """Cap on acquisition evaluations per round (None: no cap); points past the cap score
    -inf, so the search keeps its best point so far. Give a baseline the same cap for a
    search of the same strength."""
    multiscale_moves: bool = True
    """Hill climbing moves 2^j, ..., 4, 2, 1 agents at a time, coarse to fine (largest 2^j <=
    N/4), ending at one-agent moves; False: one-agent moves only (the notes' neighbourhood).
    Both stop at a local maximum for one-agent moves; multi-scale takes far fewer steps for
    large N."""

    def __post_init__(self) -> None:
        check_choice("lattice_optimizer", self.lattice_optimizer, ("hill_climb", "random", "relaxed"))
        check_positive_int("n_candidates", self.n_candidates)
        check_positive_int("n_starts", self.n_starts)
        if self.max_evaluations is not None:
            check_positive_int("max_evaluations", self.max_evaluations)


@dataclass(frozen=True)
class MeanFieldGPUCBConfig(GPUCBSettings, _LatticeSearch):
    """Mean-field GP-UCB: GP on (action encoding, xi), product ARD kernel."""

    feedback: str = "per_action"
    """``per_action`` (O1: per-action average reports, noise sigma^2 / n_a) or ``aggregate``
    (O2: only the team average, noise sigma^2 / N)."""
    acquisition: str = "tight"
    """``tight``: xi^T mu + beta^{1/2} sqrt(xi^T Sigma xi); ``loose``: sum_a xi_a (mu_a +
    beta^{1/2} sigma_a)."""
    action_encoding: str = "one_hot"
    """Action inputs of the kernel: ``one_hot`` or the task's ``features`` (e.g. coordinates)."""

    def __post_init__(self) -> None:
        GPUCBSettings.__post_init__(self)
        _LatticeSearch.__post_init__(self)
        check_choice("feedback", self.feedback, ("per_action", "aggregate"))
        check_choice("acquisition", self.acquisition, ("tight", "loose"))
        check_choice("action_encoding", self.action_encoding, ("one_hot", "features"))
        if self.feedback == "aggregate" and self.acquisition == "loose":
            raise InvalidInputError("acquisition='loose' needs feedback='per_action' (with aggregate "
                                    "feedback use 'tight')")
        if self.feedback == "aggregate" and self.refit_every and self.fit_backend == "botorch":
            raise InvalidInputError("fit_backend='botorch' supports direct observations only; use "
                                    "fit_backend='numpy' with feedback='aggregate'")


@dataclass(frozen=True)
class AggregateGPUCBConfig(GPUCBSettings, _LatticeSearch):
    """AGG-GP-UCB (library ablation): GP on xi with the team average as a scalar."""

    def __post_init__(self) -> None:
        GPUCBSettings.__post_init__(self)
        _LatticeSearch.__post_init__(self)


@dataclass(frozen=True)
class NaiveJointGPUCBConfig(GPUCBSettings):
    """Naive GP-UCB on the one-hot joint action (input dimension N K)."""

    lengthscale: float | None = None
    """Lengthscale on the N K one-hot inputs; None: 0.7 sqrt(N) (the notes' choice, which
    makes the kernel depend on the fraction of agents that differ)."""
    _lengthscale_optional: ClassVar[bool] = True
    n_candidates: int = 1000
    """Random joint actions scored per round (plus the best past joint action)."""
    sweeps: int = 3
    """Coordinate-ascent sweeps over agents after the random search (each agent tries all K)."""
    n_starts: int = 1
    """Coordinate ascent runs from this many best distinct candidates (1: from the best only)."""
    max_evaluations: int | None = None
    """Cap on acquisition evaluations per round, as in the mean-field methods' search (None: no
    cap); the ascent stops when it is spent."""

    def __post_init__(self) -> None:
        super().__post_init__()
        check_positive_int("n_candidates", self.n_candidates)
        check_positive_int("sweeps", self.sweeps, allow_zero=True)
        check_positive_int("n_starts", self.n_starts)
        if self.max_evaluations is not None:
            check_positive_int("max_evaluations", self.max_evaluations)


@dataclass(frozen=True)
class RandomAssignmentConfig:
    """Random assignment: each agent draws its action uniformly, independently every round."""


# --------------------------------------------------------------------------- helpers
def rng_state(rng: np.random.Generator) -> dict[str, Any]:
    """JSON-friendly state of a generator's bit generator."""
    return {"bit_generator": type(rng.bit_generator).__name__, "state": rng.bit_generator.state}


def restore_rng(state: dict[str, Any]) -> np.random.Generator:
    """A generator in the state saved by :func:`rng_state`."""
    bitgen = getattr(np.random, state["bit_generator"])()
    bitgen.state = state["state"]
    return np.random.Generator(bitgen)


def _one_hot(actions: np.ndarray, k: int) -> np.ndarray:
    """(..., N) action indices -> (..., N K) one-hot rows."""
    out = np.zeros(actions.shape + (k,))
    np.put_along_axis(out, actions[..., None], 1.0, axis=-1)
    return out.reshape(actions.shape[:-1] + (-1,))


# --------------------------------------------------------------------------- base class
class MeanFieldOptimizer:
    """Ask/tell base class for allocating ``n_agents`` agents to ``n_actions`` actions.

    Subclasses implement :meth:`_ask` and :meth:`_observe`; state beyond the round counter
    and history lives in :meth:`_state` / :meth:`_load_state`.
    """

    name: ClassVar[str] = "base"
    config_cls: ClassVar[type] = RandomAssignmentConfig

    def __init__(self, n_agents: int, n_actions: int, config: Any = None,
                 rng: np.random.Generator | int | None = None, *,
                 action_features: np.ndarray | None = None) -> None:
        check_positive_int("n_agents", n_agents)
        if isinstance(n_actions, bool) or not isinstance(n_actions, (int, np.integer)) or n_actions < 1:
            raise InvalidInputError(f"n_actions must be a positive integer (a non-empty action set), "
                                    f"got {n_actions!r}")
        self.n_agents, self.n_actions = int(n_agents), int(n_actions)
        self.config = config if config is not None else self.config_cls()
        if not isinstance(self.config, self.config_cls):
            raise InvalidInputError(f"{self.name} needs a {self.config_cls.__name__}, "
                                    f"got {type(self.config).__name__}")
        feats = np.eye(self.n_actions) if action_features is None else np.asarray(action_features, float)
        if feats.ndim != 2 or feats.shape[0] != self.n_actions or not np.all(np.isfinite(feats)):
            raise InvalidInputError(f"action_features must be a finite ({self.n_actions}, p) array")
        self.action_features = feats
        self._rng = make_rng(rng)
        self._t = 0
        self._history: list[np.ndarray] = []
        self._setup()

    def _setup(self) -> None:
        """Build the surrogate (subclasses)."""

    @property
    def rounds(self) -> int:
        """Rounds told so far."""
        return self._t

    def history(self) -> np.ndarray:
        """Counts of every allocation told so far, (t, K) (a copy)."""
        return np.array(self._history, dtype=np.int64).reshape(-1, self.n_actions)

    def ask(self) -> np.ndarray:
        """The next joint action, shape (N,), entries in 0..K-1."""
        return np.asarray(self._ask(), dtype=np.int64)

    def tell(self, actions: np.ndarray, rewards: np.ndarray | float) -> None:
        """Record a played joint action (N,) and its per-agent rewards (N,) (or the team
        average as a scalar, for methods that only use it)."""
        a = np.asarray(actions)
        if a.shape != (self.n_agents,) or not np.issubdtype(a.dtype, np.integer):
            raise InvalidInputError(f"actions must be an integer array of shape ({self.n_agents},)")
        if a.min() < 0 or a.max() >= self.n_actions:
            raise InvalidInputError(f"actions must lie in 0..{self.n_actions - 1}")
        r = np.asarray(rewards, dtype=float)
        if r.shape not in ((), (self.n_agents,)):
            raise InvalidInputError(f"rewards must be a scalar or have shape ({self.n_agents},), "
                                    f"got {r.shape}")
        if not np.all(np.isfinite(r)):
            raise InvalidInputError("rewards contain NaN or infinite values")
        counts = counts_of(a, self.n_actions)
        self._observe(a.astype(np.int64), counts, r)
        self._history.append(counts)
        self._t += 1

    def _ask(self) -> np.ndarray:
        raise NotImplementedError

    def _observe(self, actions: np.ndarray, counts: np.ndarray, rewards: np.ndarray) -> None:
        raise NotImplementedError

    # ----------------------------------------------------------------- state
    def _state(self) -> dict[str, Any]:
        return {}

    def _load_state(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`_state` saved."""

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue exactly where this optimiser is (JSON-friendly)."""
        return {
            "method": self.name, "config": to_dict(self.config), "n_agents": self.n_agents,
            "n_actions": self.n_actions, "action_features": self.action_features.tolist(),
            "rounds": self._t, "history": [c.tolist() for c in self._history],
            "rng": rng_state(self._rng), **self._state(),
        }

    def save(self, path: str | Path) -> Path:
        """Write :meth:`state_dict` as JSON to ``path``."""
        target = Path(path)
        target.write_text(json.dumps(self.state_dict()))
        return target

    @classmethod
    def from_state_dict(cls, state: dict[str, Any]) -> MeanFieldOptimizer:
        """Rebuild an optimiser from :meth:`state_dict` (any registered method)."""
        method = METHODS.get(state.get("method", ""))
        if method is None:
            raise InvalidInputError(f"unknown method {state.get('method')!r} in saved state")
        config = from_dict(method.config_cls, state["config"])
        opt = method(int(state["n_agents"]), int(state["n_actions"]), config,
                     restore_rng(state["rng"]), action_features=np.asarray(state["action_features"]))
        opt._t = int(state["rounds"])
        opt._history = [np.asarray(c, dtype=np.int64) for c in state["history"]]
        opt._load_state(state)
        return opt


def load_optimizer(path: str | Path) -> MeanFieldOptimizer:
    """Load an optimiser saved with :meth:`MeanFieldOptimizer.save`."""
    p = Path(path)
    try:
        state = json.loads(p.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise InvalidInputError(f"cannot read optimiser state from {p}: {exc}") from None
    return MeanFieldOptimizer.from_state_dict(state)


# --------------------------------------------------------------------------- GP methods
class BudgetedAcquisition:
    """An acquisition function that counts the points it scores and, past ``budget`` points
    (None: no cap), scores the rest -inf without evaluating them."""

    def __init__(self, acquisition: Any, budget: int | None) -> None:
        self.acquisition, self.budget, self.used = acquisition, budget, 0

    @property
    def spent(self) -> bool:
        return self.budget is not None and self.used >= self.budget

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x)
        take = x.shape[0] if self.budget is None else max(0, min(x.shape[0], self.budget - self.used))
        out = np.full(x.shape[0], -np.inf)
        if take:
            out[:take] = self.acquisition(x[:take])
        self.used += take
        return out


class _GPMethod(MeanFieldOptimizer):
    """Shared GP bookkeeping: empirical prior mean, refits, beta_t, state of the GP."""

    gp: ExactGP

    def _new_gp(self, dim: int, lengthscale: float) -> ExactGP:
        c = self.config
        return ExactGP(dim, kernel=c.kernel, hyper=GPHyperparameters(
            lengthscales=(lengthscale,), outputscale=c.outputscale, noise=c.noise_sd ** 2, mean=0.0))

    def _after_observe(self) -> None:
        c = self.config
        data = self.gp.training_data()
        if c.prior_mean == "empirical":
            self.gp.set_mean(float(np.mean(data["y"] / data["weights"].sum(1))))
        if c.refit_every and (self._t + 1) % c.refit_every == 0:
            fit = FitConfig(ard=True, fit_noise=False, fit_mean=False, restarts=1)
            if c.fit_backend == "botorch":
                from saddlepoint.bayesopt.botorch_backend import fit_hyperparameters_botorch

                fit_hyperparameters_botorch(self.gp, fit)
            else:
                fit_hyperparameters(self.gp, fit, self._rng)

    def beta_sqrt(self) -> float:
        """beta_t^{1/2} for the next round."""
        c = self.config
        return beta_sqrt_at(c.beta, beta_sqrt=c.beta_sqrt, rkhs_bound=c.rkhs_bound,
                            noise_sd=c.noise_sd, delta=c.delta, information_gain=self.gp.information_gain())

    def _state(self) -> dict[str, Any]:
        return {"gp": self.gp.state_dict()}

    def _load_state(self, state: dict[str, Any]) -> None:
        self.gp = ExactGP.from_state(state["gp"])

    acquisition_evaluations: int = 0
    """Acquisition evaluations over all rounds so far (the search's cost)."""

    def _search_lattice(self, acquisition) -> np.ndarray:
        """Maximise ``acquisition`` (xi (M, K) -> (M,)) over the N-lattice; returns counts (K,)."""
        acquisition = BudgetedAcquisition(acquisition, self.config.max_evaluations)
        try:
            return self._search_lattice_with(acquisition)
        finally:
            self.acquisition_evaluations += acquisition.used

    def _search_lattice_with(self, acquisition) -> np.ndarray:
        c, n, k = self.config, self.n_agents, self.n_actions
        pool = [random_lattice(n, k, c.n_candidates, self._rng),
                largest_remainder(np.full((1, k), 1.0 / k), n)]
        if self._history:
            pool.append(np.unique(np.array(self._history), axis=0))
        pool = np.concatenate(pool)
        vals = acquisition(pool / n)
        if c.lattice_optimizer == "random":
            return pool[int(np.argmax(vals))]
        order = np.argsort(-vals, kind="stable")
        _, first = np.unique(pool[order], axis=0, return_index=True)
        starts = pool[order[np.sort(first)[: c.n_starts]]]  # best distinct pool points
        sizes = move_sizes(n, c.multiscale_moves)
        best, best_val = pool[order[0]], float(vals[order[0]])
        for start in starts:
            if c.lattice_optimizer == "relaxed":
                start = self._relax(acquisition, start / n)
            counts, val, _ = hill_climb(lambda cs: acquisition(cs / n), start, sizes=sizes)
            if val > best_val:
                best, best_val = counts, val
        return best

    def _relax(self, acquisition, xi0: np.ndarray) -> np.ndarray:
        """Continuous ascent on the simplex (softmax parametrisation, L-BFGS-B with finite
        differences), rounded to the lattice by largest remainders."""
        z0 = np.log(xi0 + 1e-3)

        def neg(z: np.ndarray) -> float:
            e = np.exp(z - z.max())
            return -float(acquisition((e / e.sum())[None])[0])

        res = minimize(neg, z0, method="L-BFGS-B", options={"maxiter": 30})
        e = np.exp(res.x - res.x.max())
        return largest_remainder(e / e.sum(), self.n_agents)


class MeanFieldGPUCB(_GPMethod):
    """Our implementation of the mean-field GP-UCB idea (see the module docstring)."""

    name = "mf-gp-ucb"
    config_cls = MeanFieldGPUCBConfig

    def _setup(self) -> None:
        c = self.config
        self._features = np.eye(self.n_actions) if c.action_encoding == "one_hot" else self.action_features
        self.gp = self._new_gp(self._features.shape[1] + self.n_actions, c.lengthscale)

    def inputs(self, xi: np.ndarray) -> np.ndarray:
        """GP inputs z(a, xi) = (features_a, xi) for every action: (M, K) -> (M, K, p + K).
        They depend on the joint action only through xi (permutation invariance)."""
        m, k = xi.shape
        feats = np.broadcast_to(self._features, (m,) + self._features.shape)
        return np.concatenate([feats, np.broadcast_to(xi[:, None, :], (m, k, k))], axis=-1)

    def acquisition(self, xi: np.ndarray) -> np.ndarray:
        """UCB of F at mean fields xi (M, K) -> (M,)."""
        beta = self.beta_sqrt()
        z = self.inputs(np.asarray(xi, dtype=float))
        if self.config.acquisition == "tight":
            mean, var = self.gp.posterior_linear(z, xi)
            return ucb(mean, var, beta)
        m, k, d = z.shape
        mean, var = self.gp.posterior(z.reshape(m * k, d))
        return loose_mean_field_ucb(xi, mean.reshape(m, k), var.reshape(m, k), beta)

    def _ask(self) -> np.ndarray:
        return assignment_of(self._search_lattice(self.acquisition))

    def _observe(self, actions: np.ndarray, counts: np.ndarray, rewards: np.ndarray) -> None:
        xi = counts / self.n_agents
        z = self.inputs(xi[None])[0]  # (K, d)
        if self.config.feedback == "aggregate":
            self.gp.add(z[None], np.atleast_1d(rewards.mean()), weights=xi[None],
                        noise_scale=1.0 / self.n_agents)
        else:
            if rewards.ndim == 0:
                raise InvalidInputError("feedback='per_action' needs per-agent rewards of shape "
                                        f"({self.n_agents},), got a scalar")
            used = np.nonzero(counts)[0]
            sums = np.bincount(actions, weights=rewards, minlength=self.n_actions)
            self.gp.add(z[used], sums[used] / counts[used], noise_scale=1.0 / counts[used])
        self._after_observe()


class AggregateGPUCB(_GPMethod):
    """AGG-GP-UCB: GP-UCB on the mean field xi with the team average as a scalar."""

    name = "agg-gp-ucb"
    config_cls = AggregateGPUCBConfig

    def _setup(self) -> None:
        self.gp = self._new_gp(self.n_actions, self.config.lengthscale)

    def acquisition(self, xi: np.ndarray) -> np.ndarray:
        """UCB of F at mean fields xi (M, K) -> (M,)."""
        mean, var = self.gp.posterior(np.asarray(xi, dtype=float))
        return ucb(mean, var, self.beta_sqrt())

    def _ask(self) -> np.ndarray:
        return assignment_of(self._search_lattice(self.acquisition))

    def _observe(self, actions: np.ndarray, counts: np.ndarray, rewards: np.ndarray) -> None:
        self.gp.add((counts / self.n_agents)[None], np.atleast_1d(rewards.mean()),
                    noise_scale=1.0 / self.n_agents)
        self._after_observe()


class NaiveJointGPUCB(_GPMethod):
    """GP-UCB on the one-hot joint action: random search, then coordinate sweeps over agents."""

    name = "naive-gp-ucb"
    config_cls = NaiveJointGPUCBConfig

    def _setup(self) -> None:
        c = self.config
        ls = c.lengthscale if c.lengthscale is not None else 0.7 * math.sqrt(self.n_agents)
        self.gp = self._new_gp(self.n_agents * self.n_actions, ls)
        self._best_joint: np.ndarray | None = None

    def acquisition(self, joint: np.ndarray) -> np.ndarray:
        """UCB of F at joint actions (M, N) -> (M,)."""
        mean, var = self.gp.posterior(_one_hot(np.asarray(joint), self.n_actions))
        return ucb(mean, var, self.beta_sqrt())

    def _ask(self) -> np.ndarray:
        c = self.config
        score = BudgetedAcquisition(self.acquisition, c.max_evaluations)
        cand = self._rng.integers(0, self.n_actions, size=(c.n_candidates, self.n_agents))
        if self._best_joint is not None:
            cand = np.concatenate([cand, self._best_joint[None]])
        vals = score(cand)
        order = np.argsort(-vals, kind="stable")
        _, first = np.unique(cand[order], axis=0, return_index=True)
        starts = order[np.sort(first)[: c.n_starts]]  # best distinct candidates
        best, best_val = cand[order[0]].copy(), float(vals[order[0]])
        for s in starts:
            if score.spent:
                break
            joint, val = self._coordinate_ascent(score, cand[s].copy(), float(vals[s]))
            if val > best_val:
                best, best_val = joint, val
        self.acquisition_evaluations += score.used
        return best

    def _coordinate_ascent(self, score: BudgetedAcquisition, best: np.ndarray,
                           best_val: float) -> tuple[np.ndarray, float]:
        """Sweeps over agents, each trying all K actions, until no change or the budget is spent."""
        k = self.n_actions
        for _ in range(self.config.sweeps):
            changed = False
            for i in range(self.n_agents):
                if score.spent:
                    return best, best_val
                trial = np.repeat(best[None], k, axis=0)
                trial[:, i] = np.arange(k)
                tv = score(trial)
                j = int(np.argmax(tv))
                if tv[j] > best_val + 1e-12 and j != best[i]:
                    best, best_val, changed = trial[j], float(tv[j]), True
            if not changed:
                break
        return best, best_val

    def _observe(self, actions: np.ndarray, counts: np.ndarray, rewards: np.ndarray) -> None:
        self.gp.add(_one_hot(actions[None], self.n_actions), np.atleast_1d(rewards.mean()),
                    noise_scale=1.0 / self.n_agents)
        self._after_observe()
        data = self.gp.training_data()
        mean, _ = self.gp.posterior(data["points"][:, 0, :])
        self._best_joint = data["points"][int(np.argmax(mean)), 0].reshape(self.n_agents, -1).argmax(1)

    def _load_state(self, state: dict[str, Any]) -> None:
        super()._load_state(state)
        data = self.gp.training_data()
        if data["y"].size:
            mean, _ = self.gp.posterior(data["points"][:, 0, :])
            self._best_joint = data["points"][int(np.argmax(mean)), 0].reshape(self.n_agents, -1).argmax(1)


class RandomAssignment(MeanFieldOptimizer):
    """Each agent draws its action uniformly at random every round."""

    name = "random"
    config_cls = RandomAssignmentConfig

    def _ask(self) -> np.ndarray:
        return self._rng.integers(0, self.n_actions, size=self.n_agents)

    def _observe(self, actions: np.ndarray, counts: np.ndarray, rewards: np.ndarray) -> None:
        return None


METHODS: dict[str, type[MeanFieldOptimizer]] = {
    m.name: m for m in (MeanFieldGPUCB, AggregateGPUCB, NaiveJointGPUCB, RandomAssignment)
}


def make_optimizer(method: str, n_agents: int, n_actions: int, config: dict[str, Any] | None = None,
                   rng: np.random.Generator | int | None = None, *,
                   action_features: np.ndarray | None = None) -> MeanFieldOptimizer:
    """Build a registered method by name with a config dictionary (unknown keys rejected)."""
    cls = METHODS.get(method)
    if cls is None:
        raise InvalidInputError(f"unknown method {method!r}; choose from: {', '.join(METHODS)}")
    return cls(n_agents, n_actions, from_dict(cls.config_cls, config or {}), rng,
               action_features=action_features)
