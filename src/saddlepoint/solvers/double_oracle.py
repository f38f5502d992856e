"""Double oracle for two-player zero-sum games: normal-form DO, PSRO with an exact meta-game,
and the regret-minimising double oracle (RMDO) loop on extensive-form games whose window rules
give XDO, XODO, PDO, AdaDO and their stochastic versions.

**Restricted game** (XDO style, McAleer et al. 2021): one boolean mask per player over its
sequences (``True`` = the action is allowed at its infoset); it starts from each player's exact
best response to the uniform opponent and grows by OR-ing in the actions of new best responses,
which are full pure strategies (an action at every infoset, reached or not).

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

**Nodes visited** (one counter for every method, so all curves share an x-axis): the inner
solver's own count (tree edges of full passes in the restricted tree, or histories on sampled
trajectories), plus every best response's memoised-traversal count
(:func:`~saddlepoint.solvers.efg_best_response.best_response_nodes`), plus XDO's
restricted-game checks, plus PSRO's meta-game entries (histories consistent with both pure
strategies). Evaluations made only for plotting are not counted; here they cost nothing,
since every window ends with the best responses that give σ̄_j's exploitability.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from saddlepoint.config import check_choice, check_positive, check_positive_int
from saddlepoint.errors import InvalidInputError
from saddlepoint.games.extensive_form import CHANCE, TERMINAL, CompiledGame, compile_game
from saddlepoint.games.normal_form import NormalFormGame
from saddlepoint.progress import progress_bar
from saddlepoint.rng import make_rng
from saddlepoint.solvers.base import SolveResult
from saddlepoint.solvers.cfr import CFRConfig, CFRPlusConfig, CFRSolver
from saddlepoint.solvers.efg_best_response import (
    behaviour_from_weights,
    best_response,
    best_response_nodes,
    game_value,
    nash_conv,
    realization_plan,
)
from saddlepoint.solvers.lp import maximin_strategy
from saddlepoint.solvers.mccfr import OutcomeSamplingConfig, OutcomeSamplingMCCFR

__all__ = [
    "PSRO",
    "RMDO",
    "AdaDOConfig",
    "AdaDOStochasticConfig",
    "DOConfig",
    "DoubleOracleConfig",
    "PDOConfig",
    "PDOStochasticConfig",
    "PSROConfig",
    "RMDOConfig",
    "RestrictedOutcomeSampling",
    "XDOConfig",
    "XODOConfig",
    "adado_window",
    "expand_masks",
    "extend_uniform",
    "initial_masks",
    "unreachable_sequences",
    "restricted_actions",
    "restricted_br_nodes",
    "restricted_game_size",
    "sado_window",
    "solve",
    "solve_matrix",
]

Masks = tuple[np.ndarray, np.ndarray]


# --------------------------------------------------------------------------- pure functions
def adado_window(num_infosets: int, max_actions: int, scale: float = 0.1) -> int:
    """AdaDO's window ``max(1, ⌊scale · rint(√A_max · |S|)⌋)`` (RMDO paper, AdaDO rule;
    full Leduc (936 infosets, 3 actions) -> 162, full Liar's Dice (24 576, 12) -> 8 513)."""
    return max(1, math.floor(scale * float(np.rint(math.sqrt(max_actions) * num_infosets))))


def sado_window(num_histories: int, max_actions: int, depth: int, scale: float = 0.1) -> int:
    """Stochastic AdaDO's window ``max(1, ⌊scale · rint(s · √A_max / d)⌋)`` with ``s``
    non-chance histories and ``d`` the depth of the restricted game (the reference's formula
    with exact best responses; the 0-iteration guard is ours)."""
    return max(1, math.floor(scale * float(np.rint(num_histories * math.sqrt(max_actions) / max(depth, 1)))))


def initial_masks(cg: CompiledGame) -> Masks:
    """Each player's exact best response to the uniform opponent, as an action mask ``(m_p,)``
    (Π_p^1 of the RMDO loop)."""
    plans = [realization_plan(cg, p, cg.players[p].uniform()) for p in (0, 1)]
    return tuple(best_response(cg, p, plans[1 - p]).behaviour > 0 for p in (0, 1))  # type: ignore[return-value]


def expand_masks(masks: Masks, behaviours: tuple[np.ndarray, np.ndarray]) -> tuple[Masks, bool]:
    """``A_{j+1}(I) = A_j(I) ∪ {β_p(I)}``: OR each player's pure best response ``(m_p,)`` into its
    mask. Returns the new masks (fresh arrays) and whether any action was added."""
    new = tuple(np.logical_or(m, b > 0) for m, b in zip(masks, behaviours))
    grew = any(int(n.sum()) > int(m.sum()) for n, m in zip(new, masks))
    return new, grew  # type: ignore[return-value]


def restricted_actions(masks: Masks) -> int:
    """Size of a restricted game: allowed (infoset, action) pairs of both players."""
    return int(sum(int(np.count_nonzero(m[1:])) for m in masks))


def _mask_reach(cg: CompiledGame, masks: Masks) -> tuple[np.ndarray, np.ndarray]:
    """Per player, 1 on sequences the restricted game can reach, 0 elsewhere."""
    return tuple(realization_plan(cg, p, np.asarray(masks[p], dtype=float)) > 0 for p in (0, 1))  # type: ignore[return-value]


def unreachable_sequences(cg: CompiledGame, masks: Masks) -> Masks:
    """Per player, a boolean ``(m_p,)`` marking the sequences of the infosets the restricted game
    cannot reach (no history of the infoset is reached when both players keep to their masks)."""
    reach = _mask_reach(cg, masks)
    in_tree = reach[0][cg.h_seq[0]] & reach[1][cg.h_seq[1]]
    out = []
    for p in (0, 1):
        tp = cg.players[p]
        live = np.zeros(len(tp.infoset_first_seq), dtype=bool)
        live[cg.h_infoset[in_tree & (cg.h_player == p)]] = True
        dead = np.zeros(tp.num_sequences, dtype=bool)
        dead[1:] = ~live[tp.seq_infoset[1:]]
        out.append(dead)
    return out[0], out[1]


def extend_uniform(cg: CompiledGame, plans: tuple[np.ndarray, np.ndarray],
                   unreachable: Masks) -> tuple[np.ndarray, np.ndarray]:
    """Realization plans of restricted-game strategies extended by uniform play over *all*
    actions A(I) at the infosets the restricted game cannot reach (``unreachable``, from
    :func:`unreachable_sequences`): the extension the RMDO paper's best responses and
    exploitability use. Elsewhere the behaviour is unchanged."""
    out = []
    for p in (0, 1):
        b = behaviour_from_weights(cg, p, plans[p])
        dead = unreachable[p]
        b[dead] = 1.0 / cg.players[p].infoset_num_actions[cg.players[p].seq_infoset[dead]]
        out.append(realization_plan(cg, p, b))
    return out[0], out[1]


def restricted_game_size(cg: CompiledGame, masks: Masks) -> dict[str, int]:
    """Sizes of the restricted game: ``infosets`` of both players met by a traversal of its tree
    (histories both masks reach), ``max_actions`` over them, ``histories`` (non-chance,
    non-terminal) and ``depth`` (longest history)."""
    reach = _mask_reach(cg, masks)
    in_tree = reach[0][cg.h_seq[0]] & reach[1][cg.h_seq[1]]
    decision = in_tree & (cg.h_player != CHANCE) & (cg.h_player != TERMINAL)
    infosets, amax = 0, 1
    for p in (0, 1):
        tp = cg.players[p]
        live = np.unique(cg.h_infoset[decision & (cg.h_player == p)])
        infosets += int(live.size)
        if live.size:
            allowed = np.add.reduceat(masks[p][1:].astype(np.int64), tp.infoset_first_seq - 1)
            amax = max(amax, int(allowed[live].max()))
    depth = max((d for d, (lo, hi) in enumerate(cg.level_histories) if in_tree[lo:hi].any()), default=0)
    return {"infosets": infosets, "max_actions": amax, "histories": int(np.count_nonzero(decision)),
            "depth": int(depth)}


def restricted_br_nodes(cg: CompiledGame, player: int, opponent_plan: np.ndarray, own_mask: np.ndarray) -> int:
    """Histories a memoised best response of ``player`` *inside* the restricted game evaluates:
    those whose opponent sequence has positive probability and whose own sequence the
    restricted game allows (the restricted analogue of ``best_response_nodes``)."""
    own = realization_plan(cg, player, np.asarray(own_mask, dtype=float)) > 0
    return int(np.count_nonzero((opponent_plan[cg.h_seq[1 - player]] > 0) & own[cg.h_seq[player]]))


# --------------------------------------------------------------------------- configs
_INNER = ("cfr_plus", "cfr", "mccfr_outcome")
_UNREACHABLE = ("uniform_all", "allowed")
_WINDOWS = ("adaptive", "fixed", "exploitability")


@dataclass(frozen=True)
class RMDOConfig:
    """The regret-minimising double-oracle loop; the subclasses fix the window rule."""

    algo: ClassVar[str] = "rmdo"
    iterations: int = 10_000
    """Budget of inner-solver iterations, summed over all windows."""
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
        check_positive_int("iterations", self.iterations)
        if self.max_nodes is not None:
            check_positive_int("max_nodes", self.max_nodes)
        check_choice("window", self.window, _WINDOWS)
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


@dataclass(frozen=True)
class PSROConfig:
    """PSRO (Lanctot et al. 2017) with an exact meta-game ``M = Xᵀ A Y`` over pure strategies
    (sequence-form vectors) and a Nash meta-solver by LP; each player adds an exact best
    response to the opponent's meta-mixture. Stops at ``iterations`` or when no best response
    improves on the meta-game (NashConv <= ``tol``)."""

    algo: ClassVar[str] = "psro"
    iterations: int = 1000
    """Maximum number of PSRO iterations (each adds up to one pure strategy per player)."""
    max_nodes: int | None = None
    """Optional budget of nodes visited."""
    tol: float = 1e-9
    """Stop when the meta-mixture's NashConv is at most this."""

    def __post_init__(self) -> None:
        check_positive_int("iterations", self.iterations)
        if self.max_nodes is not None:
            check_positive_int("max_nodes", self.max_nodes)
        check_positive("tol", self.tol, allow_zero=True)


@dataclass(frozen=True)
class DOConfig(PSROConfig):
    """Normal-form double oracle (McMahan, Gordon & Blum 2003) over an extensive-form game's pure
    strategies: the same loop as exact PSRO with a Nash meta-solver."""

    algo: ClassVar[str] = "do"


@dataclass(frozen=True)
class DoubleOracleConfig:
    """Double oracle on a zero-sum matrix game (McMahan, Gordon & Blum 2003): LP-solve the game
    restricted to the strategies found so far, add both best responses, stop when neither
    improves on the restricted value (then the restricted equilibrium is a full one)."""

    algo: ClassVar[str] = "double_oracle"
    backend: ClassVar[str] = "saddlepoint.solvers.double_oracle:solve_matrix"
    iterations: int = 1000
    """Maximum number of DO iterations."""
    tol: float = 1e-12
    """Stop when NashConv (in payoff units) is at most this."""

    def __post_init__(self) -> None:
        check_positive_int("iterations", self.iterations)
        check_positive("tol", self.tol, allow_zero=True)


EFG_CONFIGS: tuple[type, ...] = (XDOConfig, XODOConfig, PDOConfig, AdaDOConfig, AdaDOStochasticConfig,
                                  PDOStochasticConfig, PSROConfig, DOConfig)
"""The double-oracle configs registered as extensive-form solvers."""


# --------------------------------------------------------------------------- restricted OS-MCCFR
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


# --------------------------------------------------------------------------- RMDO
class RMDO:
    """The regret-minimising double-oracle loop (see the module docstring).

    ``step()`` runs one window and its best responses and returns the window's log row;
    ``exhausted`` says whether a budget is spent. Accessors return copies.
    """

    def __init__(self, cg: CompiledGame, config: RMDOConfig, rng: np.random.Generator,
                 masks: Masks | None = None) -> None:
        if not isinstance(config, RMDOConfig):
            raise InvalidInputError(f"expected an RMDO config, got {type(config).__name__}")
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

    # ------------------------------------------------------------------ accessors
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
        return self.inner_iterations >= c.iterations or (c.max_nodes is not None and self.nodes_visited >= c.max_nodes)

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

    def step(self) -> dict[str, Any]:
        """One window, then the best responses and the expansion; returns the log row."""
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
        return {"window": self.windows, "iteration": self.inner_iterations, "nodes_visited": self.nodes_visited,
                "exploitability": nc / 2, "nash_conv": nc, "window_length": ran,
                "restricted_actions": restricted_actions(self._masks), "expansions": self.expansions}


# --------------------------------------------------------------------------- PSRO
class PSRO:
    """PSRO / normal-form DO with an exact meta-game over pure strategies of an EFG.

    Populations hold pure realization plans (0/1 per sequence); ``M[i, k] = x_iᵀ A y_k``. Each
    ``step()`` solves the meta-game by LP, adds both best responses to the meta-mixtures and
    returns the log row (exploitability of the meta-mixture before the addition).
    """

    def __init__(self, cg: CompiledGame, config: PSROConfig) -> None:
        self.cg, self.config = cg, config
        masks = initial_masks(cg)
        uniform = [realization_plan(cg, p, cg.players[p].uniform()) for p in (0, 1)]
        self.nodes_visited = sum(best_response_nodes(cg, p, uniform[1 - p]) for p in (0, 1))
        self._pops: list[list[np.ndarray]] = [[], []]
        self._used = [np.zeros(tp.num_sequences, dtype=bool) for tp in cg.players]
        self._counts = _pair_counts(cg)
        self._meta = np.zeros((0, 0))
        for p in (0, 1):
            self._add(p, realization_plan(cg, p, masks[p].astype(float)))
        self.iterations = 0
        self.last_nash_conv = math.inf
        self.converged = False
        self._mixture = (self._pops[0][0].copy(), self._pops[1][0].copy())

    @property
    def exhausted(self) -> bool:
        c = self.config
        return (self.converged or self.iterations >= c.iterations
                or (c.max_nodes is not None and self.nodes_visited >= c.max_nodes))

    @property
    def population_sizes(self) -> tuple[int, int]:
        return len(self._pops[0]), len(self._pops[1])

    def meta_game(self) -> np.ndarray:
        """The meta-game payoff ``M`` (player 0's), shape ``(k0, k1)`` (a copy)."""
        return self._meta.copy()

    def output_plans(self) -> tuple[np.ndarray, np.ndarray]:
        """The last meta-mixtures as realization plans ``Σ_i p_i x_i`` (copies)."""
        return self._mixture[0].copy(), self._mixture[1].copy()

    def restricted_masks(self) -> Masks:
        """Actions used by some population member, per player (``(m_p,)`` booleans, copies)."""
        return self._used[0].copy(), self._used[1].copy()

    def _add(self, p: int, plan: np.ndarray) -> bool:
        """Add a pure plan unless present; fill the meta-game's new row/column and count the
        histories each new entry's evaluation visits (``x_iᵀ W y_k``, ``W`` = histories per
        sequence pair)."""
        if any(np.array_equal(plan, q) for q in self._pops[p]):
            return False
        cg = self.cg
        others = self._pops[1 - p]
        if others:
            opp = np.stack(others, axis=1)  # (m_opp, k)
            if p == 0:
                values, visits = plan @ (cg.payoff @ opp), plan @ (self._counts @ opp)
            else:
                values, visits = opp.T @ (cg.payoff @ plan), opp.T @ (self._counts @ plan)
            self.nodes_visited += int(np.rint(visits.sum()))
            if p == 0:
                self._meta = np.vstack([self._meta, values[None, :]])
            else:
                self._meta = np.hstack([self._meta, values[:, None]])
        elif p == 0:
            self._meta = np.zeros((1, 0))
        else:
            self._meta = np.zeros((self._meta.shape[0], 1))
        self._pops[p].append(plan)
        self._used[p] |= plan > 0
        self._used[p][0] = True
        return True

    def step(self) -> dict[str, Any]:
        """Meta-solve, best-respond, expand; returns the log row."""
        p0, _ = maximin_strategy(self._meta)
        p1, _ = maximin_strategy(-self._meta.T)
        x = np.stack(self._pops[0], axis=1) @ p0
        y = np.stack(self._pops[1], axis=1) @ p1
        self._mixture = (x, y)
        br = (best_response(self.cg, 0, y), best_response(self.cg, 1, x))
        self.nodes_visited += best_response_nodes(self.cg, 0, y) + best_response_nodes(self.cg, 1, x)
        nc = br[0].value + br[1].value
        self.last_nash_conv = nc
        self.iterations += 1
        if nc <= self.config.tol:
            self.converged = True
        else:
            for p in (0, 1):
                self._add(p, realization_plan(self.cg, p, br[p].behaviour))
        return {"window": self.iterations, "iteration": self.iterations, "nodes_visited": self.nodes_visited,
                "exploitability": nc / 2, "nash_conv": nc, "population": sum(self.population_sizes),
                "restricted_actions": restricted_actions(self.restricted_masks())}


def _pair_counts(cg: CompiledGame):
    """Sparse ``W`` ``(m0, m1)``: number of histories whose last sequences are ``(s0, s1)``; for
    pure plans ``x``, ``y``, ``xᵀ W y`` counts the histories consistent with both (cached)."""
    key = ("pair_counts",)
    if key not in cg._cache:
        import scipy.sparse as sp

        shape = (cg.players[0].num_sequences, cg.players[1].num_sequences)
        w = sp.csr_matrix((np.ones(cg.num_histories), (cg.h_seq[0], cg.h_seq[1])), shape=shape)
        w.sum_duplicates()
        cg._cache[key] = w
    return cg._cache[key]


# --------------------------------------------------------------------------- one-call solve
def solve(
    game: Any,
    config: RMDOConfig | PSROConfig,
    rng: np.random.Generator | int | None = None,
    *,
    eval_every: int | None = None,
    show_progress: bool | None = None,
) -> SolveResult:
    """Run a double-oracle method on an extensive-form game (zoo game or compiled).

    Every window (RMDO) or iteration (PSRO/DO) ends with exact best responses, so each adds a
    curve row (``eval_every`` keeps every that many, the last always kept). ``extra`` holds
    ``nodes_visited``, ``restricted_actions`` (final restricted-game size, allowed
    (infoset, action) pairs of both players), ``full_actions``, ``windows`` and ``expansions``.
    """
    if eval_every is not None:
        check_positive_int("eval_every", eval_every)
    cg = game if isinstance(game, CompiledGame) else compile_game(game)
    start = time.perf_counter()
    if isinstance(config, PSROConfig):
        loop: Any = PSRO(cg, config)
        total = config.iterations
    elif isinstance(config, RMDOConfig):
        loop = RMDO(cg, config, make_rng(rng))
        total = config.iterations
    else:
        raise InvalidInputError(f"not a double-oracle config: {type(config).__name__}")
    curve: list[dict[str, Any]] = []
    with progress_bar(total, desc=config.algo, enabled=show_progress) as bar:
        while not loop.exhausted:
            before = loop.iterations if isinstance(loop, PSRO) else loop.inner_iterations
            row = loop.step()
            row["seconds"] = time.perf_counter() - start
            if eval_every is None or row["window"] % eval_every == 0 or loop.exhausted:
                curve.append(row)
            bar.update(row["iteration"] - before)
    x, y = loop.output_plans()
    nc = nash_conv(cg, x, y)
    masks = loop.restricted_masks() if isinstance(loop, PSRO) else loop.masks
    full = sum(tp.num_sequences - 1 for tp in cg.players)
    extra = {"nodes_visited": loop.nodes_visited, "restricted_actions": restricted_actions(masks),
             "full_actions": full, "histories": cg.num_histories, "infosets": sum(cg.num_infosets)}
    if isinstance(loop, PSRO):
        extra["population"] = list(loop.population_sizes)
        iters = loop.iterations
    else:
        extra.update(windows=loop.windows, expansions=loop.expansions)
        iters = loop.inner_iterations
    behaviour = (behaviour_from_weights(cg, 0, x), behaviour_from_weights(cg, 1, y))
    return SolveResult(cg.name, config.algo, iters, behaviour, nc / 2, nc, time.perf_counter() - start,
                       value=game_value(cg, x, y), curve=tuple(curve), extra=extra)


# --------------------------------------------------------------------------- matrix games
def solve_matrix(
    game: NormalFormGame,
    config: DoubleOracleConfig,
    rng: np.random.Generator | int | None = None,
    *,
    eval_every: int | None = None,
    show_progress: bool | None = None,
) -> SolveResult:
    """Normal-form double oracle on a zero-sum matrix game (deterministic; ``rng`` unused).

    Starts from the first row and column; each iteration LP-solves the restricted game, adds
    the best responses to its equilibrium (ties: lowest index) and logs the NashConv of that
    equilibrium in the full game. ``extra["restricted_actions"]`` = rows + columns kept.
    """
    if not game.is_zero_sum:
        raise InvalidInputError(f"double oracle needs a zero-sum game; {game.name!r} is general-sum")
    if eval_every is not None:
        check_positive_int("eval_every", eval_every)
    a = game.row_payoffs
    m, n = a.shape
    rows, cols = [0], [0]
    start = time.perf_counter()
    curve: list[dict[str, Any]] = []
    x, y = np.zeros(m), np.zeros(n)
    it = 0
    with progress_bar(config.iterations, desc=config.algo, enabled=show_progress) as bar:
        while it < config.iterations:
            it += 1
            sub = a[np.ix_(rows, cols)]
            p, _ = maximin_strategy(sub)
            q, _ = maximin_strategy(-sub.T)
            x, y = np.zeros(m), np.zeros(n)
            x[rows], y[cols] = p, q
            ay, xa = a @ y, x @ a
            nc = float(ay.max() - xa.min())
            br_row, br_col = int(np.argmax(ay)), int(np.argmin(xa))
            done = nc <= config.tol or (br_row in rows and br_col in cols)
            if eval_every is None or it % eval_every == 0 or done or it == config.iterations:
                curve.append({"iteration": it, "exploitability": nc / 2, "nash_conv": nc,
                              "restricted_actions": len(rows) + len(cols),
                              "seconds": time.perf_counter() - start})
            bar.update(1)
            if done:
                break
            if br_row not in rows:
                rows.append(br_row)
            if br_col not in cols:
                cols.append(br_col)
    nc = float((a @ y).max() - (x @ a).min())
    return SolveResult(game.name, config.algo, it, (x, y), nc / 2, nc, time.perf_counter() - start,
                       value=float(x @ a @ y), last_strategies=(x, y), last_exploitability=nc / 2,
                       last_nash_conv=nc, curve=tuple(curve),
                       extra={"restricted_actions": len(rows) + len(cols), "rows": sorted(rows),
                              "columns": sorted(cols)})
