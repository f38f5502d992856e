"""Linear bandit instances over a finite arm set, and exact generators of misspecified ones.

An instance is a plain object: ``k`` arms in ``R^d`` (rows of ``arms``), the true mean reward
``f(x)`` of each arm (``means``), the Gaussian noise level ``sigma`` and, when there is one,
the reference linear parameter ``theta`` (the paper's ``w*``). Rewards are
``y_t = f(x_t) + eta_t`` with ``eta_t ~ N(0, sigma^2)``.

Misspecification (Liu et al., arXiv 2501.05361, Def. of rho-GAM): the instance is
*rho-gap-adjusted misspecified* w.r.t. ``theta`` if, for every arm,
``|f(x) - theta^T x| <= rho * (f* - f(x))``. *Uniform* misspecification of size ``eps`` is
``max_x |f(x) - theta^T x| <= eps``. Each generator below builds its instance exactly and checks
its own condition before returning it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from saddlepoint.errors import InvalidInputError

__all__ = [
    "LinearBandit", "BanditPlay", "sphere_points", "realizable", "gap_adjusted", "gam_split",
    "uniformly_misspecified", "hidden_uniform", "gam_level", "sup_misspecification",
    "check_gam", "GAM_TOL", "load_arms", "gam_adversarial", "matched_uniform", "separated",
]

GAM_TOL = 1e-9
"""Absolute slack allowed when checking a misspecification bound in floating point."""


def _as_arms(arms: np.ndarray) -> np.ndarray:
    a = np.array(arms, dtype=float, copy=True)
    if a.ndim != 2:
        raise InvalidInputError(f"arms must be a 2-D array of shape (k, d), got shape {a.shape}")
    if a.shape[0] == 0:
        raise InvalidInputError("arms must hold at least one arm (the arm set is empty)")
    if a.shape[1] == 0:
        raise InvalidInputError("arms must have dimension d >= 1")
    if not np.all(np.isfinite(a)):
        raise InvalidInputError("arms must be finite")
    a.setflags(write=False)
    return a


def _as_theta(theta: np.ndarray, d: int) -> np.ndarray:
    w = np.array(theta, dtype=float, copy=True)
    if w.ndim != 1 or w.shape[0] != d:
        raise InvalidInputError(f"theta must have shape ({d},) to match arms of dimension d={d}, "
                                f"got shape {w.shape}")
    if not np.all(np.isfinite(w)):
        raise InvalidInputError("theta must be finite")
    w.setflags(write=False)
    return w


def _is_number(value: object) -> bool:
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
    return ok and bool(np.isfinite(value))


def _check_rho(rho: float) -> float:
    if not _is_number(rho):
        raise InvalidInputError(f"rho must be a finite number in [0, 1), got {rho!r}")
    if rho < 0 or rho >= 1:
        raise InvalidInputError(f"rho must be in [0, 1), got {rho!r}")
    return float(rho)


@dataclass(frozen=True, eq=False)
class LinearBandit:
    """A finite-armed linear bandit instance (read-only arrays).

    ``arms``: shape ``(k, d)``; ``means``: shape ``(k,)``, the true ``f(x)``; ``sigma``: noise
    standard deviation; ``theta``: shape ``(d,)`` or ``None``, the reference linear parameter
    against which misspecification is measured; ``name``: a label for reports.
    """

    arms: np.ndarray
    means: np.ndarray
    sigma: float = 0.1
    theta: np.ndarray | None = None
    name: str = "linear-bandit"

    def __post_init__(self) -> None:
        arms = _as_arms(self.arms)
        means = np.array(self.means, dtype=float, copy=True)
        if means.shape != (arms.shape[0],):
            raise InvalidInputError(f"means must have shape ({arms.shape[0]},) (one per arm), "
                                    f"got shape {means.shape}")
        if not np.all(np.isfinite(means)):
            raise InvalidInputError("means must be finite")
        means.setflags(write=False)
        s = self.sigma
        if not _is_number(s) or s < 0:
            raise InvalidInputError(f"sigma must be a finite non-negative number, got {s!r}")
        object.__setattr__(self, "arms", arms)
        object.__setattr__(self, "means", means)
        object.__setattr__(self, "sigma", float(s))
        if self.theta is not None:
            object.__setattr__(self, "theta", _as_theta(self.theta, arms.shape[1]))

    @property
    def k(self) -> int:
        """Number of arms."""
        return int(self.arms.shape[0])

    @property
    def d(self) -> int:
        """Ambient dimension."""
        return int(self.arms.shape[1])

    @property
    def best_arm(self) -> int:
        """Index of an optimal arm (the lowest one on ties)."""
        return int(np.argmax(self.means))

    @property
    def best_mean(self) -> float:
        """``f* = max_x f(x)``."""
        return float(self.means.max())

    @property
    def gaps(self) -> np.ndarray:
        """Suboptimality gaps ``Delta(x) = f* - f(x)``, shape ``(k,)`` (a copy)."""
        return self.best_mean - self.means

    def linear_means(self) -> np.ndarray:
        """``theta^T x`` for every arm, shape ``(k,)``; needs ``theta``."""
        if self.theta is None:
            raise InvalidInputError("this instance has no reference theta")
        return self.arms @ self.theta

    def sample(self, arms: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Noisy rewards ``f(x) + N(0, sigma^2)`` for an integer array of arm indices."""
        idx = np.asarray(arms, dtype=int)
        return self.means[idx] + self.sigma * rng.standard_normal(idx.shape)

    def with_sigma(self, sigma: float) -> LinearBandit:
        """The same instance with another noise level."""
        return LinearBandit(self.arms, self.means, sigma, self.theta, self.name)


# --------------------------------------------------------------------------- diagnostics
@dataclass(frozen=True, eq=False)
class BanditPlay:
    """What a bandit algorithm is stepped on: an instance and the standardised noise ``z`` of
    every round, so that the reward of round ``t`` is ``f(x_t) + sigma z_t`` (common random
    numbers: every algorithm on a seed sees the same noise sequence)."""

    instance: LinearBandit
    noise: np.ndarray
    """``z``, shape ``(T,)``: one standard normal per round of the horizon ``T``."""

    def __post_init__(self) -> None:
        if not isinstance(self.instance, LinearBandit):
            raise InvalidInputError(f"instance must be a LinearBandit, got {type(self.instance).__name__}")
        z = np.asarray(self.noise, dtype=float)
        if z.ndim != 1 or not np.all(np.isfinite(z)):
            raise InvalidInputError("noise must be a finite 1-D array (one entry per round)")
        object.__setattr__(self, "noise", z)

    @classmethod
    def draw(cls, instance: LinearBandit, horizon: int, rng: np.random.Generator) -> BanditPlay:
        """``horizon`` rounds of ``instance`` with noise ``rng.standard_normal(horizon)`` (drawn
        first, before the algorithm uses ``rng``)."""
        return cls(instance, rng.standard_normal(horizon))

    @property
    def arms(self) -> np.ndarray:
        """The instance's arms, ``(k, d)``."""
        return self.instance.arms

    @property
    def horizon(self) -> int:
        """``T``, the rounds the noise covers."""
        return int(self.noise.shape[0])

    def rewards(self, pulls: np.ndarray, start: int) -> np.ndarray:
        """Rewards of ``pulls`` (arm indices) played from round ``start`` on."""
        end = start + len(pulls)
        if end > self.horizon:
            raise InvalidInputError(f"played past the horizon of {self.horizon} rounds")
        return self.instance.means[pulls] + self.instance.sigma * self.noise[start:end]


def sup_misspecification(instance: LinearBandit) -> float:
    """``eps = max_x |f(x) - theta^T x|``, the uniform misspecification w.r.t. ``theta``."""
    return float(np.max(np.abs(instance.means - instance.linear_means())))


def gam_level(instance: LinearBandit) -> float:
    """The smallest ``rho`` with ``|f(x) - theta^T x| <= rho (f* - f(x))`` for all arms.

    ``inf`` when an optimal arm (gap 0) is misfit by more than :data:`GAM_TOL`: then the
    instance is rho-GAM for no rho w.r.t. this ``theta``.
    """
    err = np.abs(instance.means - instance.linear_means())
    gaps = instance.gaps
    zero = gaps <= GAM_TOL
    if np.any(err[zero] > GAM_TOL):
        return float("inf")
    if np.all(zero):
        return 0.0
    return float(np.max(np.maximum(err[~zero] - GAM_TOL, 0.0) / gaps[~zero]))


def check_gam(instance: LinearBandit, rho: float) -> None:
    """Raise :class:`InvalidInputError` unless ``instance`` is rho-GAM w.r.t. its ``theta``.

    Checks the definition and its consequences (Liu et al. 2501.05361, Sec. 3): ``theta^T x* =
    f*``; ``x*`` maximises ``theta^T x``; ``(1-rho) Delta <= Delta_lin <= (1+rho) Delta`` with
    ``Delta_lin(x) = theta^T (x* - x)``.
    """
    rho = _check_rho(rho)
    level = gam_level(instance)
    if level > rho:
        raise InvalidInputError(f"instance {instance.name!r} is not rho-GAM for rho={rho}: "
                                f"needs rho >= {level:.6g}")
    lin = instance.linear_means()
    star = instance.best_arm
    tol = GAM_TOL * (1.0 + abs(instance.best_mean))
    if abs(lin[star] - instance.best_mean) > tol or lin.max() > lin[star] + tol:
        raise InvalidInputError(f"instance {instance.name!r}: x* does not maximise theta^T x")
    gap, gap_lin = instance.gaps, lin[star] - lin
    if np.any(gap_lin < (1 - rho) * gap - tol) or np.any(gap_lin > (1 + rho) * gap + tol):
        raise InvalidInputError(f"instance {instance.name!r}: linear gaps outside (1 +- rho) gaps")


# --------------------------------------------------------------------------- generators
def sphere_points(n: int, d: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` points uniform on the unit sphere ``S^{d-1}``, shape ``(n, d)``."""
    if n < 1 or d < 1:
        raise InvalidInputError(f"need n >= 1 and d >= 1 points on the sphere, got n={n}, d={d}")
    g = rng.standard_normal((n, d))
    return g / np.linalg.norm(g, axis=1, keepdims=True)


def load_arms(path: str | Path) -> np.ndarray:
    """Arm features from a local ``.npy`` or ``.csv`` file (one arm per row, no header), shape
    ``(k, d)``, validated like every arm set."""
    p = Path(path)
    if not p.is_file():
        raise InvalidInputError(f"arms file {p} does not exist")
    if p.suffix == ".npy":
        data = np.load(p, allow_pickle=False)
    elif p.suffix == ".csv":
        try:
            data = np.loadtxt(p, delimiter=",", ndmin=2)
        except ValueError as exc:
            raise InvalidInputError(f"arms file {p}: not a numeric CSV ({exc})") from None
    else:
        raise InvalidInputError(f"arms file {p}: expected a .npy or .csv file")
    return _as_arms(data)


def realizable(arms: np.ndarray, theta: np.ndarray, sigma: float = 0.1,
               name: str = "realizable") -> LinearBandit:
    """``f(x) = theta^T x`` exactly (rho = 0, eps = 0)."""
    a = _as_arms(arms)
    w = _as_theta(theta, a.shape[1])
    inst = LinearBandit(a, a @ w, sigma, w, name)
    check_gam(inst, 0.0)
    return inst


def gap_adjusted(arms: np.ndarray, theta: np.ndarray, rho: float, e: np.ndarray,
                 sigma: float = 0.1, name: str | None = None) -> LinearBandit:
    """An exact rho-GAM instance from per-arm relative errors ``e``, shape ``(k,)``.

    With ``x* = argmax theta^T x``, ``f* = theta^T x*`` and ``Delta_lin = f* - theta^T x``, set
    ``f(x) = f* - Delta_lin(x) (1 + e(x))``. Then ``|f - theta^T x| = |e| Delta_lin <=
    rho Delta`` exactly when ``e`` lies in ``[-rho/(1+rho), rho/(1-rho)]``, and ``x*`` stays
    optimal (paper notes, "instance generator").
    """
    rho = _check_rho(rho)
    a = _as_arms(arms)
    w = _as_theta(theta, a.shape[1])
    e = np.asarray(e, dtype=float)
    if e.shape != (a.shape[0],):
        raise InvalidInputError(f"e must have shape ({a.shape[0]},) (one per arm), got {e.shape}")
    lo, hi = -rho / (1 + rho), rho / (1 - rho)
    if np.any(e < lo - 1e-15) or np.any(e > hi + 1e-15) or not np.all(np.isfinite(e)):
        raise InvalidInputError(f"e must lie in [-rho/(1+rho), rho/(1-rho)] = [{lo:.6g}, {hi:.6g}]")
    lin = a @ w
    f_star = lin.max()
    means = f_star - (f_star - lin) * (1.0 + e)
    inst = LinearBandit(a, means, sigma, w, name or f"gam(rho={rho:g})")
    check_gam(inst, rho)
    return inst


def gam_split(arms: np.ndarray, theta: np.ndarray, rho: float, sigma: float = 0.1,
              name: str | None = None) -> LinearBandit:
    """The ``gam-split(rho)`` instance: arms whose linear gap is below the median look *worse*
    than the model says (``e = +rho/(1-rho)``), the others look *better* (``e = -rho/(1+rho)``).

    Both extremes of the allowed error, so the bound ``|f - theta^T x| = rho Delta`` is tight
    on every suboptimal arm.
    """
    rho = _check_rho(rho)
    a = _as_arms(arms)
    w = _as_theta(theta, a.shape[1])
    gap_lin = (a @ w).max() - a @ w
    e = np.where(gap_lin < np.median(gap_lin), rho / (1 - rho), -rho / (1 + rho))
    return gap_adjusted(a, w, rho, e, sigma, name or f"gam-split(rho={rho:g})")


def gam_adversarial(arms: np.ndarray, theta: np.ndarray, rho: float, sigma: float = 0.1,
                    name: str | None = None) -> LinearBandit:
    """The adversarial ``gam-adv(rho)`` instance: every suboptimal arm looks *better* to the
    linear model than it is, by the most rho-GAM allows (``e = +rho/(1-rho)``, so
    ``theta^T x - f(x) = rho Delta(x)`` exactly). Near-optimal arms are the hardest to tell
    from ``x*``; the largest error, ``rho`` times the largest gap, sits on the worst arm."""
    rho = _check_rho(rho)
    a = _as_arms(arms)
    return gap_adjusted(a, theta, rho, np.full(a.shape[0], rho / (1 - rho)), sigma,
                        name or f"gam-adv(rho={rho:g})")


def matched_uniform(arms: np.ndarray, theta: np.ndarray, eps: float, sigma: float = 0.1,
                    name: str | None = None) -> LinearBandit:
    """Uniform misspecification of size exactly ``eps`` that hides the optimum: every arm gets
    ``f = theta^T x - eps`` except one *hidden* arm, which gets ``theta^T x + eps``. The hidden
    arm is the suboptimal arm whose linear gap is closest to ``eps``, so it is best by about
    ``eps`` while the linear model ranks it about ``eps`` below ``x*``. Pass the largest error
    of a gap-adjusted instance (:func:`sup_misspecification`) as ``eps`` to compare the two at a
    matched largest error. Raises when no arm's linear gap is below ``2 eps`` (none can be
    made optimal)."""
    eps = _check_eps(eps)
    if eps == 0:
        raise InvalidInputError("eps must be positive")
    a = _as_arms(arms)
    w = _as_theta(theta, a.shape[1])
    lin = a @ w
    gap_lin = lin.max() - lin
    candidates = np.flatnonzero(gap_lin > GAM_TOL)
    if candidates.size == 0 or gap_lin[candidates].min() >= 2 * eps:
        raise InvalidInputError(f"matched_uniform: no arm has a linear gap below 2 eps = {2 * eps:.6g}; "
                                "no arm can be made optimal by errors of size eps")
    ok = candidates[gap_lin[candidates] < 2 * eps]
    hidden = int(ok[np.argmin(np.abs(gap_lin[ok] - eps))])
    means = lin - eps
    means[hidden] = lin[hidden] + eps
    inst = LinearBandit(a, means, sigma, w, name or f"matched-uniform(eps={eps:g})")
    _check_sup(inst, eps)
    if inst.best_arm != hidden:
        raise AssertionError("matched_uniform: the hidden arm must be the optimum")
    return inst


def separated(arms: np.ndarray, theta: np.ndarray, min_gap: float, sigma: float = 0.1,
              name: str | None = None) -> LinearBandit:
    """A realizable instance whose every suboptimal arm has gap at least ``min_gap``: an arm
    whose linear gap is in ``(0, min_gap)`` is moved along ``theta`` until its gap is exactly
    ``min_gap`` (the arm count and shape stay, so seeds vectorise)."""
    min_gap = _check_eps(min_gap)
    a = np.array(_as_arms(arms))
    w = _as_theta(theta, a.shape[1])
    if float(w @ w) == 0:
        raise InvalidInputError("separated needs a non-zero theta")
    lin = a @ w
    gap_lin = lin.max() - lin
    close = (gap_lin > GAM_TOL) & (gap_lin < min_gap)
    a[close] -= np.outer((min_gap - gap_lin[close]) / float(w @ w), w)
    inst = realizable(a, w, sigma, name or f"separated({min_gap:g})")
    if np.any((inst.gaps > GAM_TOL) & (inst.gaps < min_gap - GAM_TOL)):
        raise AssertionError("separated: a suboptimal arm is closer than min_gap")
    return inst


def uniformly_misspecified(arms: np.ndarray, theta: np.ndarray, eps: float,
                           rng: np.random.Generator, sigma: float = 0.1,
                           name: str | None = None) -> LinearBandit:
    """``f(x) = theta^T x + u(x)`` with ``u(x) ~ U[-eps, eps]`` i.i.d.: uniform
    misspecification ``max |f - theta^T x| <= eps`` (checked)."""
    eps = _check_eps(eps)
    a = _as_arms(arms)
    w = _as_theta(theta, a.shape[1])
    inst = LinearBandit(a, a @ w + rng.uniform(-eps, eps, a.shape[0]), sigma, w,
                        name or f"uniform(eps={eps:g})")
    _check_sup(inst, eps)
    return inst


def hidden_uniform(arms: np.ndarray, theta: np.ndarray, margin: float = 0.1,
                   sigma: float = 0.1, name: str | None = None) -> LinearBandit:
    """The contrast instance ``hidden-uniform(margin)``: the arm with the median linear gap gets
    ``f = f_lin* + margin``, so it is best by ``margin`` while the linear model ranks it in the
    middle. Uniformly misspecified with ``eps = Delta_lin(median arm) + margin``; rho-GAM for no
    rho (the new optimum is misfit). Every other arm keeps ``f = theta^T x``."""
    margin = _check_eps(margin)
    if margin == 0:
        raise InvalidInputError("margin must be positive")
    a = _as_arms(arms)
    w = _as_theta(theta, a.shape[1])
    if a.shape[0] < 2:
        raise InvalidInputError("hidden_uniform needs at least 2 arms")
    lin = a @ w
    gap_lin = lin.max() - lin
    order = np.argsort(gap_lin, kind="stable")
    hidden = int(order[a.shape[0] // 2])
    means = lin.copy()
    means[hidden] = lin.max() + margin
    inst = LinearBandit(a, means, sigma, w, name or f"hidden-uniform({margin:g})")
    _check_sup(inst, gap_lin[hidden] + margin)
    if inst.best_arm != hidden or gam_level(inst) != float("inf"):
        raise AssertionError("hidden_uniform: the hidden arm must be the unique, misfit optimum")
    return inst


def _check_eps(eps: float) -> float:
    if not _is_number(eps) or eps < 0:
        raise InvalidInputError(f"eps must be a finite non-negative number, got {eps!r}")
    return float(eps)


def _check_sup(inst: LinearBandit, eps: float) -> None:
    if sup_misspecification(inst) > eps + GAM_TOL:
        raise AssertionError(f"{inst.name}: sup misspecification exceeds {eps}")
