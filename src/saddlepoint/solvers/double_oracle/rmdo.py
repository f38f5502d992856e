"""The regret-minimising double-oracle (RMDO) loop on extensive-form games; its window rules
give XDO, XODO, PDO, AdaDO and their stochastic versions (restricted games:
:mod:`saddlepoint.solvers.double_oracle.restricted_game`).

**RMDO loop** (Tang et al. 2024, arXiv 2411.00954, Alg. 1): run an inner regret minimiser
(CFR+, CFR, or outcome-sampling MCCFR) on the restricted game for a window of ``T_j``
iterations; compute exact full-game best responses to the inner solver's average strategy σ̄_j
(its average since the solver was built); if they use an action outside the restricted game,
add it and rebuild the solver (cold, or warm: regrets times δ); else keep iterating. The
window rules:

* XDO: until the restricted game's exploitability is below ε (checked every ``check_every``
  iterations, first after one), ε₀ = 16 halved whenever σ̄_j's full-game exploitability is
  below ε; the solver is rebuilt cold after *every* window;
* XODO: ``T_j = 1``; PDO: ``T_j = T`` constant;
* AdaDO: ``T_j = max(1, ⌊0.1 · rint(√A_max,j · |S_j|)⌋)`` with ``|S_j|`` the infosets of the
  restricted game and ``A_max,j`` its largest action count (deterministic inner solver);
  with outcome sampling inside (SADO): ``T_j = max(1, ⌊0.1 · rint(s_j · √A_max,j / d_j)⌋)``,
  ``s_j`` its non-chance non-terminal histories and ``d_j`` its depth.

**Nodes visited**: one counter for every method of the family (see
:mod:`saddlepoint.solvers.double_oracle`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from saddlepoint.config import check_choice, check_positive, check_positive_int
from saddlepoint.errors import InvalidInputError
from saddlepoint.games.extensive_form import CompiledGame
from saddlepoint.solvers.cfr import CFRConfig, CFRPlusConfig, CFRSolver
from saddlepoint.solvers.double_oracle.restricted_game import (
    Masks,
    adado_window,
    expand_masks,
    extend_uniform,
    initial_masks,
    restricted_actions,
    restricted_br_nodes,
    restricted_game_size,
    sado_window,
    unreachable_sequences,
)
from saddlepoint.solvers.efg import EFGMethod, as_compiled
from saddlepoint.solvers.efg_best_response import (
    behaviour_from_weights,
    best_response,
    best_response_nodes,
    nash_conv,
    realization_plan,
)
from saddlepoint.solvers.mccfr import OutcomeSamplingConfig, OutcomeSamplingMCCFR

__all__ = ["RMDO", "AdaDOConfig", "AdaDOStochasticConfig", "PDOConfig", "PDOStochasticConfig", "RMDOConfig",
           "RestrictedOutcomeSampling", "XDOConfig", "XODOConfig"]


_INNER = ("cfr_plus", "cfr", "mccfr_outcome")
_UNREACHABLE = ("uniform_all", "allowed")
_WINDOWS = ("adaptive", "fixed", "exploitability")


@dataclass(frozen=True)
class RMDOConfig:
    """The regret-minimising double-oracle loop; the subclasses fix the window rule."""

    algo: ClassVar[str] = "rmdo"
    method: ClassVar[str] = "saddlepoint.solvers.double_oracle.rmdo:RMDO"
    iterations: int | None = 10_000
    """Budget of inner-solver iterations, summed over all windows (None: no cap, for a run
    budgeted on nodes visited)."""
    max_nodes: int | None = None
    """Optional budget of nodes visited (stops at the end of the window that crosses it)."""
    window: str = "adaptive"
    """Window rule: ``adaptive`` (AdaDO / SADO), ``fixed`` (PDO; XODO is ``period=1``) or
    ``exploitability`` (XDO)."""
    inner: str = "cfr_plus"
    """Inner regret minimiser: ``cfr_plus`` (alternating, RM+, linear average), ``cfr`` or
    ``mccfr_outcome`` (outcome-sampling MCCFR, the stochastic variants)."""
    period: int = 100
    """T: the fixed window of PDO (the RMDO paper's plots use 100)."""
    window_scale: float = 0.1
    """The 0.1 of the adaptive windows."""
    warm_start: bool = False
    """Keep regrets times ``discount`` on expansion (+WS) instead of restarting from zero."""
    discount: float = 0.1
    """δ: warm-start factor on the old regrets (new actions start at 0)."""
    epsilon0: float = 16.0
    """XDO's initial threshold ε₀ on the restricted game's exploitability."""
    check_every: int = 50
    """XDO checks the restricted game's exploitability every this many inner iterations."""
    max_window: int = 200_000
    """XDO's cap on one window's length."""
    exploration: float = 0.6
    """ε of outcome sampling (exploration at the traverser's infosets)."""
    unreachable: str = "uniform_all"
    """How σ̄_j plays at infosets the restricted game cannot reach, for the best responses and
    the exploitability: ``uniform_all`` (uniform over all actions A(I), the paper notes'
    extension) or ``allowed`` (what the inner solver leaves there: uniform over the allowed
    actions)."""

    def __post_init__(self) -> None:
        if self.iterations is not None:
            check_positive_int("iterations", self.iterations)
        if self.max_nodes is not None:
            check_positive_int("max_nodes", self.max_nodes)
        check_choice("window", self.window, _WINDOWS)
        rule = type(self).__dataclass_fields__["window"].default
        if type(self) is not RMDOConfig and self.window != rule:
            raise InvalidInputError(f"{self.algo} is the {rule!r} window rule; window={self.window!r} would make it "
                                    f"another method (use that method's config)")
        check_choice("inner", self.inner, _INNER)
        check_choice("unreachable", self.unreachable, _UNREACHABLE)
        for name in ("period", "check_every", "max_window"):
            check_positive_int(name, getattr(self, name))
        for name in ("window_scale", "epsilon0", "exploration"):
            check_positive(name, getattr(self, name))
        check_positive("discount", self.discount, allow_zero=True)
        if not isinstance(self.warm_start, bool):
            raise InvalidInputError(f"warm_start must be true or false, got {self.warm_start!r}")
        if self.exploration > 1:
            raise InvalidInputError(f"exploration must be in (0, 1], got {self.exploration!r}")


@dataclass(frozen=True)
class XDOConfig(RMDOConfig):
    """XDO (McAleer et al. 2021) with CFR+ inside, as in the RMDO paper's XDO curves."""

    algo: ClassVar[str] = "xdo"
    window: str = "exploitability"
    """Window rule (``exploitability`` for XDO)."""


@dataclass(frozen=True)
class XODOConfig(RMDOConfig):
    """XODO (Tang et al. 2023): a best response after every inner iteration."""

    algo: ClassVar[str] = "xodo"
    window: str = "fixed"
    """Window rule (``fixed`` for XODO)."""
    period: int = 1
    """T = 1."""


@dataclass(frozen=True)
class PDOConfig(RMDOConfig):
    """Periodic double oracle (Tang et al. 2023): a fixed window T."""

    algo: ClassVar[str] = "pdo"
    window: str = "fixed"
    """Window rule (``fixed`` for PDO)."""


@dataclass(frozen=True)
class AdaDOConfig(RMDOConfig):
    """AdaDO (Tang et al. 2024): the adaptive window ``0.1 · √A_max · |S_j|``."""

    algo: ClassVar[str] = "adado"


@dataclass(frozen=True)
class AdaDOStochasticConfig(RMDOConfig):
    """Stochastic AdaDO (SADO): outcome-sampling MCCFR inside, window ``0.1 · s_j √A_max / d_j``."""

    algo: ClassVar[str] = "adado_stochastic"
    inner: str = "mccfr_outcome"
    """Inner regret minimiser (outcome-sampling MCCFR)."""
    iterations: int = 100_000
    """Budget of inner-solver iterations (sampled episode pairs)."""


@dataclass(frozen=True)
class PDOStochasticConfig(RMDOConfig):
    """Stochastic PDO (SPDO): outcome-sampling MCCFR inside, fixed window (default 500)."""

    algo: ClassVar[str] = "pdo_stochastic"
    window: str = "fixed"
    """Window rule (``fixed``)."""
    inner: str = "mccfr_outcome"
    """Inner regret minimiser (outcome-sampling MCCFR)."""
    period: int = 500
    """T (the reference's default 500)."""
    iterations: int = 100_000
    """Budget of inner-solver iterations (sampled episode pairs)."""


class RestrictedOutcomeSampling(OutcomeSamplingMCCFR):
    """Outcome-sampling MCCFR on a restricted game: regret matching and ε-exploration over the
    allowed actions only; disallowed actions keep zero regret and probability. With every
    action allowed it samples and updates exactly as :class:`OutcomeSamplingMCCFR`."""

    def __init__(self, cg: CompiledGame, config: OutcomeSamplingConfig, rng: np.random.Generator,
                 masks: Masks, regrets: tuple[np.ndarray, np.ndarray] | None = None) -> None:
        super().__init__(cg, config, rng)
        self._ok = [np.asarray(m, dtype=bool).tolist() for m in masks]
        if regrets is not None:
            self._regret = [(np.asarray(r, dtype=float) * np.asarray(m)).tolist() for r, m in zip(regrets, masks)]

    def regrets(self) -> tuple[np.ndarray, np.ndarray]:
        """Cumulative regrets (copies), one ``(m_p,)`` array per player."""
        return np.array(self._regret[0]), np.array(self._regret[1])

    def _strategy(self, pl: int, first: int, k: int) -> list[float]:
        ok = self._ok[pl][first:first + k]
        pos = [r if (r > 0 and a) else 0.0 for r, a in zip(self._regret[pl][first:first + k], ok)]
        total = sum(pos)
        if total > 0:
            return [r / total for r in pos]
        n = sum(ok)
        return [1.0 / n if a else 0.0 for a in ok]

    def _sampling(self, pl: int, first: int, k: int, sigma: list[float], eps: float) -> list[float]:
        ok = self._ok[pl][first:first + k]
        explore = eps / sum(ok)
        return [(explore if a else 0.0) + (1.0 - eps) * s for s, a in zip(sigma, ok)]

    def _updated_actions(self, p: int, first: int, k: int) -> list[int]:
        ok = self._ok[p]
        return [b for b in range(k) if ok[first + b]]


class RMDO(EFGMethod):
    """The regret-minimising double-oracle loop (see the module docstring) as a method.

    ``step()`` runs one window and its best responses (``metrics()`` is that window's log row);
    ``iteration`` counts inner-solver iterations; ``done`` says whether the config's own budget
    (``iterations``, ``max_nodes``) is spent. Accessors return copies.
    """

    curve_per_step = True
    """Every window ends with the best responses that give its exploitability: a row per window."""

    def __init__(self, game: Any, config: RMDOConfig, rng: np.random.Generator,
                 masks: Masks | None = None) -> None:
        if not isinstance(config, RMDOConfig):
            raise InvalidInputError(f"expected an RMDO config, got {type(config).__name__}")
        cg = as_compiled(game)
        self.cg, self.config, self.rng = cg, config, rng
        self.epsilon = config.epsilon0
        self.windows = 0
        self.expansions = 0
        self.inner_iterations = 0
        self._done_nodes = 0  # nodes of solvers already discarded, best responses, checks
        if masks is None:
            masks = initial_masks(cg)
            uniform = [realization_plan(cg, p, cg.players[p].uniform()) for p in (0, 1)]
            self._done_nodes += sum(best_response_nodes(cg, p, uniform[1 - p]) for p in (0, 1))
        else:
            masks = tuple(np.asarray(m, dtype=bool).copy() for m in masks)  # type: ignore[assignment]
        self._masks: Masks = masks
        self._build(None)
        self.last_nash_conv = math.inf
        self._output = self._extended(self._solver.average_plans())
        self._row: dict[str, Any] | None = None

    # ------------------------------------------------------------------ accessors
    @property
    def iteration(self) -> int:
        """Inner-solver iterations so far (all windows)."""
        return self.inner_iterations

    @property
    def done(self) -> bool:
        """Whether the config's iteration or node budget is spent."""
        return self.exhausted

    def metrics(self) -> dict[str, Any]:
        """The last window's row: ``window``, ``exploitability`` and ``nash_conv`` of its
        output, ``window_length``, ``restricted_actions``, ``expansions``."""
        if self._row is None:  # before the first window: the initial output
            nc = nash_conv(self.cg, *self._output)
            return {"window": 0, "exploitability": nc / 2, "nash_conv": nc, "window_length": 0,
                    "restricted_actions": restricted_actions(self._masks), "expansions": 0}
        return dict(self._row)

    def average_plans(self) -> tuple[np.ndarray, np.ndarray]:
        """The output σ̄_j's realization plans (the solution; copies)."""
        return self.output_plans()

    def average_behaviour(self) -> tuple[np.ndarray, np.ndarray]:
        return self.output_behaviour()

    def _extra(self) -> dict[str, Any]:
        full = sum(tp.num_sequences - 1 for tp in self.cg.players)
        return {"restricted_actions": restricted_actions(self._masks), "full_actions": full,
                **super()._extra(), "windows": self.windows, "expansions": self.expansions}
    @property
    def nodes_visited(self) -> int:
        """Nodes visited so far (inner solvers + best responses + XDO's checks)."""
        return self._done_nodes + self._solver.nodes_visited

    @property
    def masks(self) -> Masks:
        """The restricted game's action masks (copies)."""
        return self._masks[0].copy(), self._masks[1].copy()

    @property
    def exhausted(self) -> bool:
        """Whether the iteration or node budget is spent."""
        c = self.config
        return ((c.iterations is not None and self.inner_iterations >= c.iterations)
                or (c.max_nodes is not None and self.nodes_visited >= c.max_nodes))

    def output_plans(self) -> tuple[np.ndarray, np.ndarray]:
        """Realization plans of the last window's output σ̄_j (copies)."""
        return self._output[0].copy(), self._output[1].copy()

    def output_behaviour(self) -> tuple[np.ndarray, np.ndarray]:
        """σ̄_j as behaviour strategies, uniform over all actions where it has no weight."""
        return behaviour_from_weights(self.cg, 0, self._output[0]), behaviour_from_weights(self.cg, 1, self._output[1])

    def window_length(self) -> int:
        """``T_j`` of the fixed and adaptive rules (XDO's window ends on its own test)."""
        c = self.config
        if c.window == "fixed":
            return c.period
        if c.window == "exploitability":
            return c.max_window
        size = self._size
        if c.inner == "mccfr_outcome":
            return sado_window(size["histories"], size["max_actions"], size["depth"], c.window_scale)
        return adado_window(size["infosets"], size["max_actions"], c.window_scale)

    # ------------------------------------------------------------------ loop
    def _build(self, regrets: tuple[np.ndarray, np.ndarray] | None) -> None:
        c = self.config
        if c.inner == "mccfr_outcome":
            self._solver: Any = RestrictedOutcomeSampling(
                self.cg, OutcomeSamplingConfig(epsilon=c.exploration), self.rng, self._masks, regrets)
        else:
            inner = CFRPlusConfig() if c.inner == "cfr_plus" else CFRConfig()
            self._solver = CFRSolver(self.cg, inner, masks=self._masks, regrets=regrets)
        self._size = restricted_game_size(self.cg, self._masks)
        self._unreachable = unreachable_sequences(self.cg, self._masks) if c.unreachable == "uniform_all" else None

    def _extended(self, plans: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """σ̄ with the configured play at infosets the restricted game cannot reach."""
        return plans if self._unreachable is None else extend_uniform(self.cg, plans, self._unreachable)

    def _retire_solver(self) -> None:
        self._done_nodes += self._solver.nodes_visited

    def _inner_step(self) -> None:
        self._solver.step()
        self.inner_iterations += 1

    def _restricted_exploitability(self) -> float:
        """XDO's test: exploitability of σ̄ inside the restricted game (its nodes are counted)."""
        x, y = self._solver.average_plans()
        self._done_nodes += (restricted_br_nodes(self.cg, 0, y, self._masks[0])
                             + restricted_br_nodes(self.cg, 1, x, self._masks[1]))
        return 0.5 * nash_conv(self.cg, x, y, self._masks)

    def step(self) -> None:
        """One window, then the best responses and the expansion (its row: :meth:`metrics`)."""
        c = self.config
        length = self.window_length()
        ran = 0
        while ran < length and not self.exhausted:
            self._inner_step()
            ran += 1
            if (c.window == "exploitability" and (ran - 1) % c.check_every == 0
                    and self._restricted_exploitability() < self.epsilon):
                break
        x, y = self._extended(self._solver.average_plans())
        self._output = (x, y)
        br = (best_response(self.cg, 0, y), best_response(self.cg, 1, x))
        self._done_nodes += best_response_nodes(self.cg, 0, y) + best_response_nodes(self.cg, 1, x)
        nc = br[0].value + br[1].value
        self.last_nash_conv = nc
        if c.window == "exploitability" and nc / 2 < self.epsilon:
            self.epsilon /= 2
        masks, grew = expand_masks(self._masks, (br[0].behaviour, br[1].behaviour))
        self.windows += 1
        if grew:
            self.expansions += 1
            regrets = None
            if c.warm_start:
                old = self._solver.regrets()
                regrets = (c.discount * old[0], c.discount * old[1])
            self._retire_solver()
            self._masks = masks
            self._build(regrets)
        elif c.window == "exploitability":  # XDO restarts its solver cold after every window
            self._retire_solver()
            self._build(None)
        self._row = {"window": self.windows, "exploitability": nc / 2, "nash_conv": nc, "window_length": ran,
                     "restricted_actions": restricted_actions(self._masks), "expansions": self.expansions}
