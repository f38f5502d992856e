"""Linear bandits under gap-adjusted misspecification (Liu et al., arXiv 2501.05361).

- :mod:`~saddlepoint.bandits.instances`: finite-armed instances and exact generators
  (realizable, rho-gap-adjusted misspecified, uniformly misspecified) that check their condition;
- :mod:`~saddlepoint.bandits.design`: G-optimal design by Frank-Wolfe with exact line search;
- :mod:`~saddlepoint.bandits.algorithms`: LinUCB/OFUL, phased elimination with G-optimal design,
  explore-then-commit and uniform play, behind one ask/tell interface, each a
  :mod:`saddlepoint.method` method named by its config (``saddlepoint.registry.BANDIT_ALGORITHMS``);
- :mod:`~saddlepoint.bandits.simulate`: ``run`` / ``play`` (one seed) and ``simulate`` (many
  seeds, vectorised LinUCB), regret curves and the doubling ratio ``R_T / R_{T/2}``.

NumPy/SciPy only.
"""

from saddlepoint.bandits.algorithms import (
    BanditAlgorithm, ExploreThenCommit, ExploreThenCommitConfig, LinUCB, LinUCBConfig,
    PhasedElimination, PhasedEliminationConfig, UniformConfig, UniformPolicy, oful_radius,
)
from saddlepoint.bandits.design import Design, g_optimal_design, leverages, span_basis
from saddlepoint.bandits.instances import (
    BanditPlay, LinearBandit, check_gam, gam_level, gam_split, gap_adjusted, hidden_uniform, load_arms,
    realizable,
    sphere_points, sup_misspecification, uniformly_misspecified,
)
from saddlepoint.bandits.simulate import (
    BanditRun, BatchedLinUCB, RegretCurves, doubling_ratio, play, run, simulate,
)

__all__ = [
    "LinearBandit", "BanditPlay", "sphere_points", "realizable", "gap_adjusted", "gam_split",
    "uniformly_misspecified", "hidden_uniform", "load_arms", "gam_level", "sup_misspecification",
    "check_gam",
    "Design", "g_optimal_design", "leverages", "span_basis",
    "BanditAlgorithm", "LinUCB", "LinUCBConfig", "PhasedElimination", "PhasedEliminationConfig",
    "ExploreThenCommit", "ExploreThenCommitConfig", "UniformPolicy", "UniformConfig",
    "oful_radius",
    "BanditRun", "BatchedLinUCB", "RegretCurves", "run", "play", "simulate", "doubling_ratio",
]
