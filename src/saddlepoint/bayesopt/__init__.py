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
from saddlepoint.bayesopt.config import (
    AggregateGPUCBConfig,
    GPUCBConfig,
    GPUCBSettings,
    LatticeSearch,
    MeanFieldGPUCBConfig,
    NaiveJointGPUCBConfig,
    RandomAssignmentConfig,
    method_config,
)
from saddlepoint.bayesopt.gpucb import GPUCB, SYNTHETIC, SyntheticFunction
from saddlepoint.bayesopt.loop import BORunRecord, run
from saddlepoint.bayesopt.meanfield import (
    AggregateGPUCB,
    AllocationProblem,
    MeanFieldGPUCB,
    MeanFieldOptimizer,
    NaiveJointGPUCB,
    RandomAssignment,
    load_optimizer,
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
    "SYNTHETIC",
    "TASKS",
    "AggregateGPUCB",
    "AggregateGPUCBConfig",
    "AllocationProblem",
    "BORunRecord",
    "BikeSharingTask",
    "CholeskyError",
    "CoverageTask",
    "ExactGP",
    "FitConfig",
    "GPHyperparameters",
    "GPUCBConfig",
    "GPUCBSettings",
    "LatticeSearch",
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
    "make_task",
    "method_config",
    "robust_cholesky",
    "run",
    "ucb",
]
