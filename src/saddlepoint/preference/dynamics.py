"""Exact tabular self-play dynamics on preference games (RSPO notes, "Exact tabular updates").

Same shape as :mod:`saddlepoint.solvers.matrix`: a frozen config per method, a stepper
(:class:`PreferenceDynamics`) with an explicit :meth:`~PreferenceDynamics.step` and
read-only accessors for the last and the average iterate, :func:`iterate` to watch the
iterates and :func:`solve` for a :class:`~saddlepoint.solvers.base.SolveResult`.

With step eta, regularisation tau and g_t = P pi_t (win rates against the current policy),
all updates are in log space up to a per-prompt constant:

- SPPO / MWU:        log pi' = log pi + eta g
- RSPO (exact regression): l' solves l' - a + lambda rho'(l' - l_ref) = c per response,
  a = log pi + eta (g - 1/2), with the same surrogate rho as the loss
  (:func:`saddlepoint.preference.losses.penalty_derivatives`); for reverse KL this is magnetic
  mirror descent with tau = 2 lambda / eta.
- INPO / OMD:        log pi' = (1 - eta tau) log pi + eta tau log ref + eta g
- Nash-MD:           mu ∝ pi^(1 - eta tau) ref^(eta tau);  log pi' = log mu + eta P mu
- Nash mirror prox:  half = MMD(pi, P pi);  pi' = MMD(pi, P half), where
  MMD(pi, g) = (log pi + eta tau log ref + eta g) / (1 + eta tau).

The average iterate is the uniform average of the policies that were *played* (pi_t, or
the midpoint for mirror prox), as for the matrix solvers.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from saddlepoint.config import check_choice, check_positive, check_positive_int
from saddlepoint.errors import InvalidInputError, SaddlepointError
from saddlepoint.preference.equilibrium import nash_equilibrium, regularized_equilibrium
from saddlepoint.preference.game import PreferenceGame
from saddlepoint.preference.losses import (
    REGULARIZERS,
    equivalent_regularization,
    penalty_derivatives,
)
from saddlepoint.preference.metrics import duality_gap, kl_divergence
from saddlepoint.rng import make_rng
from saddlepoint.solvers.base import SolveResult, run_with_evaluations, solve_registered

__all__ = [
    "INPOConfig",
    "NashMDConfig",
    "NashMirrorProxConfig",
    "PolicyIterate",
    "PreferenceDynamics",
    "PreferenceLPConfig",
    "RSPOConfig",
    "SPPOConfig",
    "iterate",
    "make_dynamics",
    "solve",
    "solve_by_name",
    "target_regularization",
]


def _normalise(log_pi: np.ndarray) -> np.ndarray:
    """Subtract the per-row log-sum-exp so that exp(rows) sum to 1. ``(X, K)``."""
    m = log_pi.max(axis=1, keepdims=True)
    return log_pi - (m + np.log(np.exp(log_pi - m).sum(axis=1, keepdims=True)))


# --------------------------------------------------------------------------- configs
@dataclass(frozen=True)
class _PreferenceConfig:
    """Fields shared by every tabular preference dynamic."""

    iterations: int = 1000
    """Number of iterations T."""
    step_size: float = 1.0
    """Step eta (for SPPO/RSPO eta = 1 / beta of the loss)."""
    init: str = "reference"
    """Initial policy: ``reference`` (pi_ref, as in language-model training), ``uniform``,
    or ``random`` (Dirichlet(1) draws from the generator)."""

    def __post_init__(self) -> None:
        check_positive_int("iterations", self.iterations, allow_zero=True)
        check_positive("step_size", self.step_size)
        check_choice("init", self.init, ("reference", "uniform", "random"))


@dataclass(frozen=True)
class _TauConfig(_PreferenceConfig):
    tau: float = 0.05
    """Regularisation tau towards pi_ref (reverse KL)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        check_positive("tau", self.tau, allow_zero=True)


@dataclass(frozen=True)
class SPPOConfig(_PreferenceConfig):
    """SPPO in the exact limit: multiplicative weights (Wu et al. 2024). Converges on average only."""

    algo: ClassVar[str] = "sppo"


@dataclass(frozen=True)
class RSPOConfig(_PreferenceConfig):
    """RSPO in the exact-regression limit: the loss's minimiser over every response with a free
    per-prompt normaliser, for any regulariser surrogate of the loss."""

    algo: ClassVar[str] = "rspo"
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


@dataclass(frozen=True)
class INPOConfig(_TauConfig):
    """INPO / online mirror descent on the KL-regularised game (needs eta * tau <= 1)."""

    algo: ClassVar[str] = "inpo"

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.step_size * self.tau > 1:
            raise InvalidInputError(f"INPO needs step_size * tau <= 1, got {self.step_size * self.tau}")


@dataclass(frozen=True)
class NashMDConfig(_TauConfig):
    """Nash-MD (Munos et al. 2024): mirror descent against the geometric mixture (eta * tau <= 1)."""

    algo: ClassVar[str] = "nash_md"

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.step_size * self.tau > 1:
            raise InvalidInputError(f"Nash-MD needs step_size * tau <= 1, got {self.step_size * self.tau}")


@dataclass(frozen=True)
class NashMirrorProxConfig(_TauConfig):
    """Nash mirror prox (Tiapkin et al. 2025): extragradient with magnetic mirror-descent steps."""

    algo: ClassVar[str] = "nash_mirror_prox"


@dataclass(frozen=True)
class PreferenceLPConfig:
    """A Nash equilibrium of the unregularised game by LP per prompt (HiGHS; value 1/2). No settings."""

    algo: ClassVar[str] = "preference_lp"


def target_regularization(config: _PreferenceConfig) -> tuple[float, float] | None:
    """``(tau_reverse, tau_forward)`` of the regularised game whose equilibrium the method's
    last iterate approaches (``(0, 0)``: the unregularised game), or None if unknown."""
    if isinstance(config, SPPOConfig):
        return 0.0, 0.0
    if isinstance(config, RSPOConfig):
        return equivalent_regularization(config.step_size, config.reg_coef, config.regularizer, config.mix_coef)
    if isinstance(config, _TauConfig):
        return config.tau, 0.0
    raise InvalidInputError(f"{type(config).__name__} is not a preference-dynamics config")


# --------------------------------------------------------------------------- dynamics
@dataclass(frozen=True)
class PolicyIterate:
    """A snapshot: the iteration, the last iterate and the average iterate (copies, ``(X, K)``)."""

    iteration: int
    last: np.ndarray
    average: np.ndarray


class PreferenceDynamics:
    """Base class: keeps log pi_t and the running sum of played policies.

    Subclasses implement :meth:`_update`, which sets ``self._log_pi`` to the next iterate and
    returns the policy that enters the average this iteration.
    """

    def __init__(self, game: PreferenceGame, config: _PreferenceConfig, rng: np.random.Generator) -> None:
        if not isinstance(game, PreferenceGame):
            raise InvalidInputError(f"expected a PreferenceGame, got {type(game).__name__}")
        self.game = game
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
        self._eta = float(config.step_size)
        self._t = 0
        self._sum = np.zeros(game.shape)

    @property
    def iteration(self) -> int:
        """Iterations completed."""
        return self._t

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

    def snapshot(self) -> PolicyIterate:
        return PolicyIterate(self._t, self.last(), self.average())


class _SPPO(PreferenceDynamics):
    def _update(self):
        pi = np.exp(self._log_pi)
        self._log_pi = _normalise(self._log_pi + self._eta * self._gains(pi))
        return pi


def _magnetic_step(log_from, log_ref, gains, eta, tau):
    """MMD: argmax_pi <eta g, pi> - eta tau KL(pi || ref) - KL(pi || pi_from), in log space."""
    return _normalise((log_from + eta * tau * log_ref + eta * gains) / (1.0 + eta * tau))


class _INPO(PreferenceDynamics):
    def _update(self):
        pi, ez = np.exp(self._log_pi), self._eta * self.config.tau
        self._log_pi = _normalise((1.0 - ez) * self._log_pi + ez * self._log_ref + self._eta * self._gains(pi))
        return pi


class _NashMD(PreferenceDynamics):
    def _update(self):
        pi, ez = np.exp(self._log_pi), self._eta * self.config.tau
        log_mu = _normalise((1.0 - ez) * self._log_pi + ez * self._log_ref)
        self._log_pi = _normalise(log_mu + self._eta * self._gains(np.exp(log_mu)))
        return pi


class _NashMirrorProx(PreferenceDynamics):
    def _update(self):
        eta, tau = self._eta, self.config.tau
        half = _magnetic_step(self._log_pi, self._log_ref, self._gains(np.exp(self._log_pi)), eta, tau)
        mid = np.exp(half)
        self._log_pi = _magnetic_step(self._log_pi, self._log_ref, self._gains(mid), eta, tau)
        return mid


class _RSPO(PreferenceDynamics):
    """Exact minimiser of the RSPO loss: solve h(l_y) = l_y - a_y + lambda rho'(l_y) = c with
    sum_y exp(l_y) = 1 by Newton's method on (l, c), vectorised over prompts."""

    max_newton = 100

    def _update(self):
        cfg = self.config
        pi = np.exp(self._log_pi)
        a = self._log_pi + self._eta * (self._gains(pi) - 0.5)
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


_DYNAMICS: dict[type, type[PreferenceDynamics]] = {
    SPPOConfig: _SPPO,
    RSPOConfig: _RSPO,
    INPOConfig: _INPO,
    NashMDConfig: _NashMD,
    NashMirrorProxConfig: _NashMirrorProx,
}


def make_dynamics(game: PreferenceGame, config: _PreferenceConfig, rng: np.random.Generator | int | None = None) -> PreferenceDynamics:
    """The stepper object for ``config`` on ``game``."""
    cls = _DYNAMICS.get(type(config))
    if cls is None:
        raise InvalidInputError(f"{type(config).__name__} is not a preference-dynamics config")
    return cls(game, config, make_rng(rng))


def iterate(game: PreferenceGame, config: _PreferenceConfig, rng: np.random.Generator | int | None = None) -> Iterator[PolicyIterate]:
    """Yield a :class:`PolicyIterate` after each of ``config.iterations`` steps."""
    dyn = make_dynamics(game, config, rng)
    for _ in range(config.iterations):
        dyn.step()
        yield dyn.snapshot()


def solve(
    game: PreferenceGame,
    config: _PreferenceConfig | PreferenceLPConfig,
    rng: np.random.Generator | int | None = None,
    *,
    equilibrium: np.ndarray | None = None,
    eval_every: int | None = None,
    show_progress: bool | None = None,
) -> SolveResult:
    """Run a dynamic; report the duality gap (``nash_conv``; exploitability = DG / 2) of the
    average and last iterates, and, given ``equilibrium`` (``(X, K)``), KL(pi* || pi_t).

    The curve holds ``iteration``, ``duality_gap`` (last iterate), ``avg_duality_gap``, ``nash_conv``
    and ``exploitability`` (of the average, as for every solver) and ``kl_to_equilibrium`` at
    iterations every ``eval_every`` (log-spaced if None). :class:`PreferenceLPConfig` returns the
    LP equilibrium instead (value: the mean LP value over prompts).
    """
    if eval_every is not None:
        check_positive_int("eval_every", eval_every)
    start = time.perf_counter()
    if isinstance(config, PreferenceLPConfig):
        ne, values = nash_equilibrium(game)
        dg = duality_gap(game, ne)
        return SolveResult(game.name, config.algo, 1, (ne,), dg / 2, dg, time.perf_counter() - start,
                           value=float(values.mean()), last_strategies=(ne,), last_exploitability=dg / 2,
                           last_nash_conv=dg, extra={"duality_gap": dg})
    dyn = make_dynamics(game, config, rng)

    def evaluate() -> dict[str, float]:
        dg_avg = duality_gap(game, dyn.average())
        row = {"duality_gap": duality_gap(game, dyn.last()), "avg_duality_gap": dg_avg,
               "nash_conv": dg_avg, "exploitability": dg_avg / 2}
        if equilibrium is not None:
            row["kl_to_equilibrium"] = kl_divergence(equilibrium, dyn.last())
        return row

    curve = run_with_evaluations(dyn, config.iterations, eval_every, evaluate, desc=config.algo,
                                 show_progress=show_progress)
    avg, last = dyn.average(), dyn.last()
    dg_avg, dg_last = duality_gap(game, avg), duality_gap(game, last)
    extra: dict = {"duality_gap": dg_last, "avg_duality_gap": dg_avg,
                   "target_regularization": target_regularization(config)}
    if equilibrium is not None:
        extra["kl_to_equilibrium"] = kl_divergence(equilibrium, last)
    return SolveResult(
        game.name, config.algo, config.iterations, (avg,), dg_avg / 2, dg_avg,
        time.perf_counter() - start, value=0.5, last_strategies=(last,), last_exploitability=dg_last / 2,
        last_nash_conv=dg_last, curve=tuple(curve), extra=extra,
    )


def _solve_against_equilibrium(
    game: PreferenceGame, config: _PreferenceConfig | PreferenceLPConfig, rng: np.random.Generator, *,
    eval_every: int | None = None, show_progress: bool | None = None,
) -> SolveResult:
    """:func:`solve`, with KL to the equilibrium of the regularised game the method targets
    (none for SPPO and the LP: the unregularised equilibrium need not be unique)."""
    target = None if isinstance(config, PreferenceLPConfig) else target_regularization(config)
    eq = None
    if target is not None and sum(target) > 0:
        eq = regularized_equilibrium(game, tau_reverse=target[0], tau_forward=target[1])
    return solve(game, config, rng, equilibrium=eq, eval_every=eval_every, show_progress=show_progress)


def solve_by_name(
    game: PreferenceGame,
    algo: str,
    *,
    iterations: int,
    seed: int = 0,
    eval_every: int | None = None,
    show_progress: bool | None = None,
) -> SolveResult:
    """The CLI's entry point (``registry.SOLVE_BACKENDS["preference"]``): ``algo`` is a
    preference solver from the registry (``lp`` means ``preference_lp``), run with its default
    config for ``iterations``; the summary has the duality gap and KL(pi*_tau || pi_T)."""
    return solve_registered(game, algo, kind="preference", label="preference", solve=_solve_against_equilibrium,
                            iterations=iterations, seed=seed, eval_every=eval_every, show_progress=show_progress,
                            aliases={"lp": "preference_lp"})
