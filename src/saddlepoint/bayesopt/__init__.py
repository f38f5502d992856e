"""Bayesian optimisation: an exact NumPy/SciPy GP, GP-UCB, and our implementation of the
mean-field GP-UCB idea (Steinberg, Ziomek, Jusup & Bogunovic, arXiv 2502.12315) for many
cooperating agents, with seeded task simulators.

"MF" here always means *mean field*, not multi-fidelity GP-UCB (Kandasamy et al. 2016).
The BoTorch backend lives in :mod:`saddlepoint.bayesopt.botorch_backend` (extra ``bo``) and
is imported only when used.
"""

from saddlepoint.bayesopt.acquisition import beta_sqrt_at, loose_mean_field_ucb, ucb
from saddlepoint.bayesopt.gp import (
    CholeskyError,
    ExactGP,
    FitConfig,
    GPHyperparameters,
    fit_hyperparameters,
    robust_cholesky,
)
from saddlepoint.bayesopt.gpucb import GPUCB, SYNTHETIC, GPUCBConfig, SyntheticFunction
from saddlepoint.bayesopt.loop import BORunRecord, run
from saddlepoint.bayesopt.meanfield import (
    METHODS,
    AggregateGPUCB,
    AggregateGPUCBConfig,
    GPUCBSettings,
    MeanFieldGPUCB,
    MeanFieldGPUCBConfig,
    MeanFieldOptimizer,
    NaiveJointGPUCB,
    NaiveJointGPUCBConfig,
    RandomAssignment,
    RandomAssignmentConfig,
    load_optimizer,
    make_optimizer,
)
from saddlepoint.bayesopt.tasks import (
    TASKS,
    BikeSharingTask,
    CoverageTask,
    MeanFieldTask,
    QuadraticInteractionTask,
    RefuellingPortsTask,
    TaxiFleetTask,
    make_task,
)

__all__ = [
    "GPUCB",
    "METHODS",
    "SYNTHETIC",
    "TASKS",
    "AggregateGPUCB",
    "AggregateGPUCBConfig",
    "BORunRecord",
    "BikeSharingTask",
    "CholeskyError",
    "CoverageTask",
    "ExactGP",
    "FitConfig",
    "GPHyperparameters",
    "GPUCBConfig",
    "GPUCBSettings",
    "MeanFieldGPUCB",
    "MeanFieldGPUCBConfig",
    "MeanFieldOptimizer",
    "MeanFieldTask",
    "NaiveJointGPUCB",
    "NaiveJointGPUCBConfig",
    "QuadraticInteractionTask",
    "RandomAssignment",
    "RandomAssignmentConfig",
    "RefuellingPortsTask",
    "SyntheticFunction",
    "TaxiFleetTask",
    "beta_sqrt_at",
    "fit_hyperparameters",
    "load_optimizer",
    "loose_mean_field_ucb",
    "make_optimizer",
    "make_task",
    "robust_cholesky",
    "run",
    "ucb",
]
