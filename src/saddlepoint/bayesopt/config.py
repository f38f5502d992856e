"""Configs of the Bayesian-optimisation methods: the GP-UCB settings every method shares, the
lattice search of the mean-field methods, and one config per method.

Each method config names its method (``algo``, the key in
:data:`saddlepoint.registry.BO_METHODS`, and ``method``, the ``"module:Class"`` that
:func:`saddlepoint.method.make_method` builds).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from saddlepoint.bayesopt.acquisition import BETA_SCHEDULES
from saddlepoint.config import check_choice, check_positive, check_positive_int, from_dict
from saddlepoint.errors import InvalidInputError

__all__ = [
    "AggregateGPUCBConfig",
    "GPUCBConfig",
    "GPUCBSettings",
    "LatticeSearch",
    "MeanFieldGPUCBConfig",
    "NaiveJointGPUCBConfig",
    "RandomAssignmentConfig",
    "method_config",
]


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
class GPUCBConfig(GPUCBSettings):
    """GP-UCB on a box; lengthscales are in unit-cube coordinates."""

    algo: ClassVar[str] = "gp-ucb"
    method: ClassVar[str] = "saddlepoint.bayesopt.gpucb:GPUCB"
    lengthscale: float = 0.2
    """Initial (fixed without refits) lengthscale, in unit-cube coordinates."""
    outputscale: float = 1.0
    """Prior variance of f."""
    n_candidates: int = 512
    """Sobol candidates scored per round (a power of two keeps the set balanced)."""
    n_polish: int = 3
    """Best candidates refined with L-BFGS-B."""

    def __post_init__(self) -> None:
        super().__post_init__()
        check_positive_int("n_candidates", self.n_candidates)
        check_positive_int("n_polish", self.n_polish, allow_zero=True)


@dataclass(frozen=True)
class LatticeSearch:
    """How the acquisition is maximised over the N-lattice (see
    :func:`saddlepoint.bayesopt.lattice.search_lattice`)."""

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
class MeanFieldGPUCBConfig(GPUCBSettings, LatticeSearch):
    """Mean-field GP-UCB: GP on (action encoding, xi), product ARD kernel."""

    algo: ClassVar[str] = "mf-gp-ucb"
    method: ClassVar[str] = "saddlepoint.bayesopt.meanfield:MeanFieldGPUCB"
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
        LatticeSearch.__post_init__(self)
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
class AggregateGPUCBConfig(GPUCBSettings, LatticeSearch):
    """AGG-GP-UCB (library ablation): GP on xi with the team average as a scalar."""

    algo: ClassVar[str] = "agg-gp-ucb"
    method: ClassVar[str] = "saddlepoint.bayesopt.meanfield:AggregateGPUCB"

    def __post_init__(self) -> None:
        GPUCBSettings.__post_init__(self)
        LatticeSearch.__post_init__(self)


@dataclass(frozen=True)
class NaiveJointGPUCBConfig(GPUCBSettings):
    """Naive GP-UCB on the one-hot joint action (input dimension N K)."""

    algo: ClassVar[str] = "naive-gp-ucb"
    method: ClassVar[str] = "saddlepoint.bayesopt.meanfield:NaiveJointGPUCB"
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

    algo: ClassVar[str] = "random"
    method: ClassVar[str] = "saddlepoint.bayesopt.meanfield:RandomAssignment"


def method_config(algo: str, values: dict[str, Any] | None = None) -> Any:
    """The config of the registered method ``algo`` (:data:`saddlepoint.registry.BO_METHODS`)
    with ``values`` (unknown keys rejected)."""
    from saddlepoint.registry import BO_METHODS, load, lookup

    return from_dict(load(lookup(BO_METHODS, algo, "method").target), values or {})
