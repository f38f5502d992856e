"""Linear bandits under gap-adjusted misspecification (Liu et al., arXiv 2501.05361).

- :mod:`~saddlepoint.bandits.instances`: finite-armed instances and exact generators
  (realizable, rho-gap-adjusted misspecified, uniformly misspecified) that check their condition;
- :mod:`~saddlepoint.bandits.design`: G-optimal design by Frank-Wolfe with exact line search;
- :mod:`~saddlepoint.bandits.algorithms`: LinUCB/OFUL, phased elimination with G-optimal design,
  explore-then-commit and uniform play, behind one ask/tell interface;
- :mod:`~saddlepoint.bandits.simulate`: ``run`` (one seed) and ``simulate`` (many seeds,
  vectorised LinUCB), regret curves and the doubling ratio ``R_T / R_{T/2}``.

NumPy/SciPy only.
"""

from saddlepoint.bandits.algorithms import (
    BanditAlgorithm, ExploreThenCommit, ExploreThenCommitConfig, LinUCB, LinUCBConfig,
    PhasedElimination, PhasedEliminationConfig, UniformConfig, UniformPolicy, make_algorithm,
    oful_radius,
)
from saddlepoint.bandits.design import Design, g_optimal_design, leverages, span_basis
from saddlepoint.bandits.instances import (
    LinearBandit, check_gam, gam_level, gam_split, gap_adjusted, hidden_uniform, load_arms,
    realizable,
    sphere_points, sup_misspecification, uniformly_misspecified,
)
from saddlepoint.bandits.simulate import (
    BanditRun, RegretCurves, doubling_ratio, linucb_batched, run, simulate,
)

__all__ = [
    "LinearBandit", "sphere_points", "realizable", "gap_adjusted", "gam_split",
    "uniformly_misspecified", "hidden_uniform", "load_arms", "gam_level", "sup_misspecification",
    "check_gam",
    "Design", "g_optimal_design", "leverages", "span_basis",
    "BanditAlgorithm", "LinUCB", "LinUCBConfig", "PhasedElimination", "PhasedEliminationConfig",
    "ExploreThenCommit", "ExploreThenCommitConfig", "UniformPolicy", "UniformConfig",
    "make_algorithm", "oful_radius",
    "BanditRun", "RegretCurves", "run", "simulate", "doubling_ratio", "linucb_batched",
]
