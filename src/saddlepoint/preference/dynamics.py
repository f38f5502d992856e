"""Exact tabular self-play dynamics on preference games (RSPO notes, "Exact tabular updates").

Every dynamic is a method of :mod:`saddlepoint.method`: a frozen config per method whose
``method`` class variable names its class, built as ``Cls(game, config, rng)``, with
:meth:`~PreferenceDynamics.step`, read-only ``iteration`` and ``cost``, ``output()`` (a
:class:`PolicyIterate`), ``metrics()`` (the curve's duality gaps and KL to the target
equilibrium) and ``result(trace)`` (a :class:`~saddlepoint.solvers.base.SolveResult`);
:func:`saddlepoint.method.run` is the loop and :func:`saddlepoint.solvers.base.solve` (``saddlepoint
solve``) runs any of them.

With step eta, regularisation tau and g_t = P pi_t (win rates against the current policy),
all updates are in log space up to a per-prompt constant, each the exact minimiser of its
objective in :mod:`saddlepoint.preference.objectives` (the functions named below):

- SPPO / MWU:        log pi' = log pi + eta g                            (mirror_ascent)
- RSPO (exact regression): l' solves l' - a + lambda rho'(l' - l_ref) = c per response,
  a = log pi + eta (g - 1/2), with the same surrogate rho as the loss (regularizer_rho); for
  reverse KL this is magnetic mirror descent with tau = 2 lambda / eta.
- INPO / OMD:        log pi' = (1 - eta tau) log pi + eta tau log ref + eta g
                                                     (mirror_ascent of geometric_mixture)
- Nash-MD:           mu ∝ pi^(1 - eta tau) ref^(eta tau);  log pi' = log mu + eta P mu
- Nash mirror prox:  half = MMD(pi, P pi);  pi' = MMD(pi, P half), where
  MMD(pi, g) = (log pi + eta tau log ref + eta g) / (1 + eta tau).  (magnetic_mirror_step)

The average iterate is the uniform average of the policies that were *played* (pi_t, or
the midpoint for mirror prox), as for the matrix solvers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from saddlepoint.config import check_choice, check_positive, check_positive_int
from saddlepoint.errors import InvalidInputError, SaddlepointError
from saddlepoint.method import CountsIterations, Trace
from saddlepoint.preference.equilibrium import nash_equilibrium, regularized_equilibrium
from saddlepoint.preference.game import PreferenceGame
from saddlepoint.preference.losses import penalty_derivatives
from saddlepoint.preference.metrics import duality_gap, kl_divergence
from saddlepoint.preference.objectives import (
    REGULARIZERS,
    equivalent_regularization,
    geometric_mixture,
    magnetic_mirror_step,
    mirror_ascent,
)
from saddlepoint.solvers.base import SolveResult

__all__ = [
    "INPOConfig",
    "INPODynamics",
    "NashMDConfig",
    "NashMDDynamics",
    "NashMirrorProxConfig",
    "NashMirrorProxDynamics",
    "PolicyIterate",
    "PreferenceDynamics",
    "PreferenceLP",
    "PreferenceLPConfig",
    "RSPOConfig",
    "RSPODynamics",
    "SPPOConfig",
    "SPPODynamics",
]


def _normalise(log_pi: np.ndarray) -> np.ndarray:
    """Subtract the per-row log-sum-exp so that exp(rows) sum to 1. ``(X, K)``."""
    m = log_pi.max(axis=1, keepdims=True)
    return log_pi - (m + np.log(np.exp(log_pi - m).sum(axis=1, keepdims=True)))


# --------------------------------------------------------------------------- configs
@dataclass(frozen=True)
class _PreferenceConfig:
    """Fields shared by every tabular preference dynamic."""

    linearisation: ClassVar[str | None] = None
    """``"module:Class"`` of the method's :class:`~saddlepoint.preference.linear_rate.Linearisation`
    (None: no linear rate, e.g. SPPO)."""
    iterations: int = 1000
    """Number of iterations T."""
    eta: float = 1.0
    """Step eta (for SPPO/RSPO eta = 1 / beta of the loss)."""
    init: str = "reference"
    """Initial policy: ``reference`` (pi_ref, as in language-model training), ``uniform``,
    or ``random`` (Dirichlet(1) draws from the generator)."""

    def __post_init__(self) -> None:
        check_positive_int("iterations", self.iterations, allow_zero=True)
        check_positive("eta", self.eta)
        check_choice("init", self.init, ("reference", "uniform", "random"))

    def target_regularization(self) -> tuple[float, float] | None:
        """``(tau_reverse, tau_forward)`` of the regularised game whose equilibrium the method's
        last iterate approaches (``(0, 0)``: the unregularised game), or None if unknown."""
        return 0.0, 0.0


@dataclass(frozen=True)
class _TauConfig(_PreferenceConfig):
    tau: float = 0.05
    """Regularisation tau towards pi_ref (reverse KL)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        check_positive("tau", self.tau, allow_zero=True)

    def target_regularization(self) -> tuple[float, float] | None:
        return self.tau, 0.0


@dataclass(frozen=True)
class SPPOConfig(_PreferenceConfig):
    """SPPO in the exact limit: multiplicative weights (Wu et al. 2024). Converges on average only."""

    algo: ClassVar[str] = "sppo"
    method: ClassVar[str] = "saddlepoint.preference.dynamics:SPPODynamics"


@dataclass(frozen=True)
class RSPOConfig(_PreferenceConfig):
    """RSPO in the exact-regression limit: the loss's minimiser over every response with a free
    per-prompt normaliser, for any regulariser surrogate of the loss."""

    algo: ClassVar[str] = "rspo"
    method: ClassVar[str] = "saddlepoint.preference.dynamics:RSPODynamics"
    linearisation = "saddlepoint.preference.linear_rate:MagneticMirrorDescent"
    reg_coef: float = 0.025
    """lambda, the weight of the regulariser in the RSPO loss."""
    regularizer: str = "reverse_kl"
    """Surrogate rho (see :data:`saddlepoint.preference.losses.REGULARIZERS`)."""
    mix_coef: float = 1.0
    """Weight of the reverse-KL part in ``forward_kl_is+reverse_kl``."""
    clip: float = 10.0
    """Cap on the exponent of exponential surrogates."""

    def __post_init__(self) -> None:
        super().__post_init__()
        check_positive("reg_coef", self.reg_coef, allow_zero=True)
        check_choice("regularizer", self.regularizer, REGULARIZERS)
        check_positive("mix_coef", self.mix_coef, allow_zero=True)
        check_positive("clip", self.clip)

    def target_regularization(self) -> tuple[float, float] | None:
        return equivalent_regularization(self.eta, self.reg_coef, self.regularizer, self.mix_coef)


@dataclass(frozen=True)
class INPOConfig(_TauConfig):
    """INPO / online mirror descent on the KL-regularised game (needs eta * tau <= 1)."""

    algo: ClassVar[str] = "inpo"
    method: ClassVar[str] = "saddlepoint.preference.dynamics:INPODynamics"
    linearisation = "saddlepoint.preference.linear_rate:INPOLinearisation"

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.eta * self.tau > 1:
            raise InvalidInputError(f"INPO needs eta * tau <= 1, got {self.eta * self.tau}")


@dataclass(frozen=True)
class NashMDConfig(_TauConfig):
    """Nash-MD (Munos et al. 2024): mirror descent against the geometric mixture (eta * tau <= 1)."""

    algo: ClassVar[str] = "nash_md"
    method: ClassVar[str] = "saddlepoint.preference.dynamics:NashMDDynamics"
    linearisation = "saddlepoint.preference.linear_rate:NashMDLinearisation"

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.eta * self.tau > 1:
            raise InvalidInputError(f"Nash-MD needs eta * tau <= 1, got {self.eta * self.tau}")


@dataclass(frozen=True)
class NashMirrorProxConfig(_TauConfig):
    """Nash mirror prox (Tiapkin et al. 2025): extragradient with magnetic mirror-descent steps."""

    algo: ClassVar[str] = "nash_mirror_prox"
    method: ClassVar[str] = "saddlepoint.preference.dynamics:NashMirrorProxDynamics"
    linearisation = "saddlepoint.preference.linear_rate:NashMirrorProxLinearisation"


@dataclass(frozen=True)
class PreferenceLPConfig:
    """A Nash equilibrium of the unregularised game by LP per prompt (HiGHS; value 1/2). No settings."""

    algo: ClassVar[str] = "preference_lp"
    method: ClassVar[str] = "saddlepoint.preference.dynamics:PreferenceLP"


# --------------------------------------------------------------------------- dynamics
@dataclass(frozen=True)
class PolicyIterate:
    """A snapshot: the iteration, the last iterate and the average iterate (copies, ``(X, K)``)."""

    iteration: int
    last: np.ndarray
    average: np.ndarray


def _check_game(game: Any) -> PreferenceGame:
    if not isinstance(game, PreferenceGame):
        raise InvalidInputError(f"expected a PreferenceGame, got {type(game).__name__}")
    return game


class PreferenceDynamics(CountsIterations):
    """Base class: keeps log pi_t and the running sum of played policies.

    Subclasses implement :meth:`_update`, which sets ``self._log_pi`` to the next iterate and
    returns the policy that enters the average this iteration.
    """

    def __init__(self, game: PreferenceGame, config: _PreferenceConfig, rng: np.random.Generator) -> None:
        self.game = _check_game(game)
        self.config = config
        if config.init == "reference":
            pi = game.reference
        elif config.init == "uniform":
            pi = game.uniform()
        else:
            pi = rng.dirichlet(np.ones(game.n_responses), size=game.n_prompts)
        self._log_pi = _normalise(np.log(np.maximum(pi, 1e-300)))
        self._log_ref = np.log(game.reference)
        self._p = game.preferences
        self._eta = float(config.eta)
        self._t = 0
        self._sum = np.zeros(game.shape)
        self._equilibrium: np.ndarray | None | bool = False  # False: not computed yet

    def _gains(self, pi: np.ndarray) -> np.ndarray:
        return np.einsum("xij,xj->xi", self._p, pi)

    def step(self) -> None:
        """Advance one iteration."""
        self._t += 1
        self._sum += self._update()

    def _update(self) -> np.ndarray:
        raise NotImplementedError

    def last(self) -> np.ndarray:
        """The current policy pi_t (a copy), ``(X, K)``."""
        return np.exp(self._log_pi)

    def average(self) -> np.ndarray:
        """The average of the played policies (the current one before the first step)."""
        return self.last() if self._t == 0 else self._sum / self._t

    def output(self) -> PolicyIterate:
        """The last and the average iterate (copies)."""
        return PolicyIterate(self._t, self.last(), self.average())

    def equilibrium(self) -> np.ndarray | None:
        """pi*_tau of the regularised game the method targets (computed once), or None for
        SPPO, tau = 0 and surrogates without such a game (the unregularised equilibrium need
        not be unique)."""
        if self._equilibrium is False:
            target = self.config.target_regularization()
            self._equilibrium = None
            if target is not None and sum(target) > 0:
                self._equilibrium = regularized_equilibrium(self.game, tau_reverse=target[0], tau_forward=target[1])
        return self._equilibrium  # type: ignore[return-value]

    def metrics(self) -> dict[str, float]:
        """The curve's row: duality gap (``nash_conv``; exploitability = DG / 2) of the last and
        the average iterate, and KL(pi*_tau || pi_t) when the method targets a pi*_tau."""
        dg_avg = duality_gap(self.game, self.average())
        row = {"duality_gap": duality_gap(self.game, self.last()), "avg_duality_gap": dg_avg,
               "nash_conv": dg_avg, "exploitability": dg_avg / 2}
        eq = self.equilibrium()
        if eq is not None:
            row["kl_to_equilibrium"] = kl_divergence(eq, self.last())
        return row

    def result(self, trace: Trace) -> SolveResult:
        """The :class:`SolveResult` of a run: the average iterate (its duality gap as
        ``nash_conv``), the last one, the curve, the target regularisation and the KL."""
        avg, last = self.average(), self.last()
        dg_avg, dg_last = duality_gap(self.game, avg), duality_gap(self.game, last)
        extra: dict = {"duality_gap": dg_last, "avg_duality_gap": dg_avg,
                       "target_regularization": self.config.target_regularization()}
        eq = self.equilibrium()
        if eq is not None:
            extra["kl_to_equilibrium"] = kl_divergence(eq, last)
        return SolveResult(
            self.game.name, self.config.algo, self._t, (avg,), dg_avg / 2, dg_avg, trace.seconds, value=0.5,
            last_strategies=(last,), last_exploitability=dg_last / 2, last_nash_conv=dg_last,
            curve=tuple(trace.rows), extra=extra,
        )


class SPPODynamics(PreferenceDynamics):
    """SPPO's exact limit: multiplicative weights."""

    def _update(self):
        pi = np.exp(self._log_pi)
        self._log_pi = _normalise(mirror_ascent(self._log_pi, self._gains(pi), self._eta))
        return pi


class INPODynamics(PreferenceDynamics):
    """INPO / online mirror descent: mirror ascent from the geometric mixture of pi_t and pi_ref."""

    def _update(self):
        pi = np.exp(self._log_pi)
        anchor = geometric_mixture(self._log_pi, self._log_ref, self._eta, self.config.tau)
        self._log_pi = _normalise(mirror_ascent(anchor, self._gains(pi), self._eta))
        return pi


class NashMDDynamics(PreferenceDynamics):
    """Nash-MD: mirror ascent from the geometric mixture mu against mu itself."""

    def _update(self):
        pi = np.exp(self._log_pi)
        log_mu = _normalise(geometric_mixture(self._log_pi, self._log_ref, self._eta, self.config.tau))
        self._log_pi = _normalise(mirror_ascent(log_mu, self._gains(np.exp(log_mu)), self._eta))
        return pi


class NashMirrorProxDynamics(PreferenceDynamics):
    """Nash mirror prox: an extragradient pair of magnetic mirror steps."""

    def _update(self):
        eta, tau = self._eta, self.config.tau
        half = _normalise(magnetic_mirror_step(self._log_pi, self._log_ref, self._gains(np.exp(self._log_pi)), eta, tau))
        mid = np.exp(half)
        self._log_pi = _normalise(magnetic_mirror_step(self._log_pi, self._log_ref, self._gains(mid), eta, tau))
        return mid


class RSPODynamics(PreferenceDynamics):
    """Exact minimiser of the RSPO loss: solve h(l_y) = l_y - a_y + lambda rho'(l_y) = c with
    sum_y exp(l_y) = 1 by Newton's method on (l, c), vectorised over prompts."""

    max_newton = 100

    def _update(self):
        cfg = self.config
        pi = np.exp(self._log_pi)
        a = mirror_ascent(self._log_pi, self._gains(pi) - 0.5, self._eta)
        if cfg.reg_coef == 0 or cfg.regularizer == "none":
            self._log_pi = _normalise(a)
            return pi
        lam = cfg.reg_coef
        ell = self._log_pi.copy()

        def parts(ell):
            _, d1, d2 = penalty_derivatives(ell, self._log_ref, cfg.regularizer, clip=cfg.clip, mix_coef=cfg.mix_coef)
            return ell - a + lam * d1, 1.0 + lam * d2

        h, hp = parts(ell)
        if np.any(hp <= 0):
            raise SaddlepointError(f"RSPO exact step: the {cfg.regularizer} surrogate is not convex here")
        c = (pi * h).sum(axis=1, keepdims=True)
        # At least one Newton step, then test: testing first froze the iterate once its whole
        # move fell below the tolerance (near pi*, at ~1e-11 in log space), far above round-off.
        for _ in range(self.max_newton):
            r = h - c
            e = np.exp(ell)
            s = e.sum(axis=1, keepdims=True)
            dc = (1.0 - s + (e * r / hp).sum(axis=1, keepdims=True)) / (e / hp).sum(axis=1, keepdims=True)
            d_ell = np.clip((dc - r) / hp, -2.0, 2.0)
            ell = ell + d_ell
            c = c + dc
            h, hp = parts(ell)
            if (np.abs(h - c).max() < 1e-13 and np.abs(np.exp(ell).sum(axis=1) - 1.0).max() < 1e-13
                    and np.abs(d_ell).max() < 1e-6):
                break
        else:
            raise SaddlepointError("RSPO exact step: Newton's method did not converge")
        self._log_pi = _normalise(ell)
        return pi


class PreferenceLP:
    """A Nash equilibrium of the unregularised game by LP per prompt (HiGHS), in one step; its
    result's value is the mean LP value over prompts (1/2)."""

    def __init__(self, game: PreferenceGame, config: PreferenceLPConfig, rng: np.random.Generator) -> None:
        self.game, self.config = _check_game(game), config
        self._solution: tuple[np.ndarray, np.ndarray] | None = None

    @property
    def iteration(self) -> int:
        return int(self._solution is not None)

    @property
    def cost(self) -> Mapping[str, float]:
        return {"iterations": self.iteration}

    def step(self) -> None:
        """Solve the LPs (once; later steps keep the solution)."""
        if self._solution is None:
            self._solution = nash_equilibrium(self.game)

    def output(self) -> PolicyIterate:
        ne = self.game.uniform() if self._solution is None else self._solution[0].copy()
        return PolicyIterate(self.iteration, ne, ne.copy())

    def metrics(self) -> dict[str, float]:
        dg = duality_gap(self.game, self.output().last)
        return {"duality_gap": dg, "nash_conv": dg, "exploitability": dg / 2}

    def result(self, trace: Trace) -> SolveResult:
        """The LP equilibrium (no curve: one step has nothing to plot)."""
        if self._solution is None:
            self.step()
        ne, values = self._solution
        dg = duality_gap(self.game, ne)
        return SolveResult(self.game.name, self.config.algo, 1, (ne,), dg / 2, dg, trace.seconds,
                           value=float(values.mean()), last_strategies=(ne,), last_exploitability=dg / 2,
                           last_nash_conv=dg, extra={"duality_gap": dg})
