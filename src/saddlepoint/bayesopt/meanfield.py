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

Every method is a :mod:`saddlepoint.method` method: built as ``Method(problem, config, rng)``
(``problem`` an :class:`AllocationProblem`; :func:`saddlepoint.method.make_method` builds the
class the config names, :func:`saddlepoint.bayesopt.config.method_config` a config by its
registered name). ``ask()`` returns a joint action (N,) of action indices; ``tell(actions,
rewards)`` takes the joint action played and the per-agent rewards (N,) (methods that only use
the team average also accept a scalar); ``step()`` asks, draws the rewards from the problem's
task and tells. ``state_dict`` / ``save`` / :func:`load_optimizer` round-trip the full state,
random generator included. Every parameter named ``beta_sqrt`` is beta^{1/2}.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from saddlepoint.bayesopt.acquisition import beta_sqrt_at, loose_mean_field_ucb, ucb
from saddlepoint.bayesopt.config import method_config
from saddlepoint.bayesopt.gp import ExactGP, FitConfig, GPHyperparameters, fit_hyperparameters
from saddlepoint.bayesopt.lattice import BudgetedAcquisition, assignment_of, counts_of, search_lattice
from saddlepoint.config import check_positive, check_positive_int, to_dict
from saddlepoint.errors import InvalidInputError
from saddlepoint.method import CountsIterations, make_method
from saddlepoint.rng import restore_rng, rng_state

if TYPE_CHECKING:
    from saddlepoint.bayesopt.tasks import MeanFieldTask

log = logging.getLogger(__name__)

__all__ = [
    "AggregateGPUCB",
    "AllocationProblem",
    "MeanFieldGPUCB",
    "MeanFieldOptimizer",
    "NaiveJointGPUCB",
    "RandomAssignment",
    "load_optimizer",
]


# --------------------------------------------------------------------------- the problem
@dataclass(frozen=True)
class AllocationProblem:
    """What a mean-field optimiser allocates: ``n_agents`` agents to ``n_actions`` actions
    described by ``action_features``; with a ``task``, also where the rewards of
    :meth:`MeanFieldOptimizer.step` come from."""

    n_agents: int
    """N, the number of agents."""
    n_actions: int
    """K, the number of actions."""
    action_features: np.ndarray | None = None
    """(K, p) inputs describing the actions (e.g. coordinates); None: one-hot, (K, K)."""
    task: MeanFieldTask | None = None
    """Simulates the agents' rewards for ``step()`` (None: ask/tell only)."""
    noise_rng: np.random.Generator | None = None
    """Generator of the task's reward noise (the optimiser keeps its own)."""
    noise_sd: float = 0.05
    """Per-agent reward noise of the task."""

    def __post_init__(self) -> None:
        check_positive_int("n_agents", self.n_agents)
        k = self.n_actions
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise InvalidInputError(f"n_actions must be a positive integer (a non-empty action set), got {k!r}")
        feats = np.eye(k) if self.action_features is None else np.asarray(self.action_features, float)
        if feats.ndim != 2 or feats.shape[0] != k or not np.all(np.isfinite(feats)):
            raise InvalidInputError(f"action_features must be a finite ({k}, p) array")
        object.__setattr__(self, "n_agents", int(self.n_agents))
        object.__setattr__(self, "n_actions", int(k))
        object.__setattr__(self, "action_features", feats)
        check_positive("noise_sd", self.noise_sd, allow_zero=True)
        if self.task is not None and self.task.n_actions != k:
            raise InvalidInputError(f"the problem has {k} actions, its task {self.task.n_actions}")

    @classmethod
    def of_task(cls, task: MeanFieldTask, n_agents: int, noise_rng: np.random.Generator,
                noise_sd: float = 0.05) -> AllocationProblem:
        """``n_agents`` agents on ``task`` (its actions and their features), rewards drawn from
        ``noise_rng`` with per-agent noise ``noise_sd``."""
        return cls(n_agents, task.n_actions, task.action_features, task, noise_rng, noise_sd)

    def rewards(self, actions: np.ndarray) -> np.ndarray:
        """The task's per-agent rewards (N,) for a joint action (N,)."""
        if self.task is None or self.noise_rng is None:
            raise InvalidInputError("stepping needs a problem with a task and a noise generator "
                                    "(AllocationProblem.of_task); without one use ask/tell")
        return self.task.observe(actions, self.noise_rng, self.noise_sd)


def _one_hot(actions: np.ndarray, k: int) -> np.ndarray:
    """(..., N) action indices -> (..., N K) one-hot rows."""
    out = np.zeros(actions.shape + (k,))
    np.put_along_axis(out, actions[..., None], 1.0, axis=-1)
    return out.reshape(actions.shape[:-1] + (-1,))


# --------------------------------------------------------------------------- base class
class MeanFieldOptimizer(CountsIterations):
    """Ask/tell base class for allocating the problem's agents to its actions.

    Subclasses implement :meth:`_ask` and :meth:`_observe`; state beyond the round counter
    and history lives in :meth:`_state` / :meth:`_load_state`.
    """

    def __init__(self, problem: AllocationProblem, config: Any, rng: np.random.Generator) -> None:
        if not isinstance(problem, AllocationProblem):
            raise InvalidInputError(f"{type(self).__name__} needs an AllocationProblem, got {type(problem).__name__}")
        if getattr(type(config), "method", None) != f"{type(self).__module__}:{type(self).__name__}":
            raise InvalidInputError(f"{type(self).__name__} needs the config that names it, got "
                                    f"{type(config).__name__}")
        self.problem, self.config = problem, config
        self.n_agents, self.n_actions = problem.n_agents, problem.n_actions
        self.action_features = problem.action_features
        self._rng = rng
        self._t = 0
        self._history: list[np.ndarray] = []
        self._setup()

    def _setup(self) -> None:
        """Build the surrogate (subclasses)."""

    def history(self) -> np.ndarray:
        """Counts of every allocation told so far, (t, K) (a copy)."""
        return np.array(self._history, dtype=np.int64).reshape(-1, self.n_actions)

    def output(self) -> np.ndarray | None:
        """Counts (K,) of the latest allocation told (a copy; None before the first round)."""
        return self._history[-1].copy() if self._history else None

    def step(self) -> None:
        """One round: ask, draw the agents' rewards from the problem's task, tell."""
        actions = self.ask()
        self.tell(actions, self.problem.rewards(actions))

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
        """Everything needed to continue exactly where this optimiser is (JSON-friendly; the
        problem's task is not saved)."""
        return {
            "method": type(self.config).algo, "config": to_dict(self.config), "n_agents": self.n_agents,
            "n_actions": self.n_actions, "action_features": self.action_features.tolist(),
            "rounds": self._t, "history": [c.tolist() for c in self._history],
            "rng": rng_state(self._rng), **self._state(),
        }

    def save(self, path: str | Path) -> Path:
        """Write :meth:`state_dict` as JSON to ``path``."""
        target = Path(path)
        target.write_text(json.dumps(self.state_dict()))
        return target

    @staticmethod
    def from_state_dict(state: dict[str, Any], problem: AllocationProblem | None = None) -> MeanFieldOptimizer:
        """Rebuild an optimiser from :meth:`state_dict` (any registered method), on ``problem``
        (None: the saved agents, actions and features, ask/tell only)."""
        config = method_config(str(state.get("method", "")), state["config"])
        if problem is None:
            problem = AllocationProblem(int(state["n_agents"]), int(state["n_actions"]),
                                        np.asarray(state["action_features"]))
        opt = make_method(problem, config, restore_rng(state["rng"]))
        opt._t = int(state["rounds"])
        opt._history = [np.asarray(c, dtype=np.int64) for c in state["history"]]
        opt._load_state(state)
        return opt


def load_optimizer(path: str | Path, problem: AllocationProblem | None = None) -> MeanFieldOptimizer:
    """Load an optimiser saved with :meth:`MeanFieldOptimizer.save` (on ``problem``, see
    :meth:`MeanFieldOptimizer.from_state_dict`)."""
    p = Path(path)
    try:
        state = json.loads(p.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise InvalidInputError(f"cannot read optimiser state from {p}: {exc}") from None
    return MeanFieldOptimizer.from_state_dict(state, problem)


# --------------------------------------------------------------------------- GP methods
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

    @property
    def cost(self) -> dict[str, int]:
        """Rounds told (``iterations``) and ``acquisition_evaluations``."""
        return {"iterations": self._t, "acquisition_evaluations": self.acquisition_evaluations}

    def _search_lattice(self, acquisition) -> np.ndarray:
        """Maximise ``acquisition`` (xi (M, K) -> (M,)) over the N-lattice; returns counts (K,)."""
        c = self.config
        acquisition = BudgetedAcquisition(acquisition, c.max_evaluations)
        try:
            return search_lattice(acquisition, self.n_agents, self.n_actions, self._rng, past=self._history,
                                  lattice_optimizer=c.lattice_optimizer, n_candidates=c.n_candidates,
                                  n_starts=c.n_starts, multiscale_moves=c.multiscale_moves)
        finally:
            self.acquisition_evaluations += acquisition.used


class MeanFieldGPUCB(_GPMethod):
    """Our implementation of the mean-field GP-UCB idea (see the module docstring)."""


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


    def _ask(self) -> np.ndarray:
        return self._rng.integers(0, self.n_actions, size=self.n_agents)

    def _observe(self, actions: np.ndarray, counts: np.ndarray, rewards: np.ndarray) -> None:
        return None
