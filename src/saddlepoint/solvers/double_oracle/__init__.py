"""The double-oracle family for two-player zero-sum games, one module per piece:

- :mod:`~saddlepoint.solvers.double_oracle.restricted_game`: restricted games (action masks)
  and the adaptive window rules, as pure functions;
- :mod:`~saddlepoint.solvers.double_oracle.rmdo`: the regret-minimising double-oracle loop
  (XDO, XODO, PDO, AdaDO and their stochastic versions);
- :mod:`~saddlepoint.solvers.double_oracle.psro`: PSRO with an exact meta-game;
- :mod:`~saddlepoint.solvers.double_oracle.matrix_do`: double oracle (``do``) on matrix games
  and on extensive-form games' pure strategies.

Every loop is a method (:mod:`saddlepoint.method`) whose step ends with exact best responses;
run one with :func:`saddlepoint.solvers.base.solve` (a curve row per step). The configs and
loops are importable from this package; the pure functions from ``restricted_game``.

**Nodes visited** (one counter for every method, so all curves share an x-axis): the inner
solver's own count (tree edges of full passes in the restricted tree, or histories on sampled
trajectories), plus every best response's memoised-traversal count
(:func:`~saddlepoint.solvers.efg_best_response.best_response_nodes`), plus XDO's
restricted-game checks, plus PSRO's meta-game entries (histories consistent with both pure
strategies). Evaluations made only for plotting are not counted; here they cost nothing,
since every window ends with the best responses that give σ̄_j's exploitability.
"""

from saddlepoint.solvers.double_oracle.matrix_do import DOConfig, DoubleOracleConfig
from saddlepoint.solvers.double_oracle.psro import PSRO, PSROConfig
from saddlepoint.solvers.double_oracle.rmdo import (
    RMDO,
    AdaDOConfig,
    AdaDOStochasticConfig,
    PDOConfig,
    PDOStochasticConfig,
    RMDOConfig,
    XDOConfig,
    XODOConfig,
)

__all__ = ["PSRO", "RMDO", "AdaDOConfig", "AdaDOStochasticConfig", "DOConfig", "DoubleOracleConfig", "PDOConfig",
           "PDOStochasticConfig", "PSROConfig", "RMDOConfig", "XDOConfig", "XODOConfig"]
