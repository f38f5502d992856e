"""Local (linear) convergence rates of the exact regularised preference dynamics.

Why: the last iterates of RSPO-reverse (magnetic mirror descent, MMD), INPO, Nash-MD and Nash
mirror prox converge linearly to a fixed point; how fast decides whether a KL threshold can be
met after T steps. This module gives, per prompt, the Jacobian of one step at the fixed point,
its spectral radius rho (the asymptotic per-step contraction of the log-ratio, so KL ~ rho^(2t)),
the linearised prediction of KL(pi*_tau || pi_t) and an exact (not linearised) lower bound.

Coordinates. Every update acts on log pi up to a per-prompt constant, so we use centred
log-probabilities z = C log pi (C = I - 11^T / K) written in an orthonormal basis Q of the
sum-zero subspace S: y = Q^T z in R^(K-1). With pi = softmax(z), D(pi) = diag(pi) - pi pi^T
and A = P - 1/2 (skew-symmetric; P D = A D because 1^T D = 0), the analytic Jacobians are
(RSPO notes, "Exact tabular updates"; s = 1 + eta tau):

- MMD (RSPO-reverse, tau = 2 lambda / eta):  J = (I + eta A D(pi)) / s
- INPO:                                       J = (1 - eta tau) I + eta A D(pi)
- Nash-MD (mu ∝ pi^(1-eta tau) ref^(eta tau)): J = (1 - eta tau) (I + eta A D(mu))
- Nash mirror prox (half step h):             J = (I + eta A D(h) (I + eta A D(pi)) / s) / s

each followed by C (restricted to S). Facts used and tested:

1. Q^T A D Q = Ã D̃ with Ã = Q^T A Q skew and D̃ = Q^T D Q positive definite, so it is similar
   to the skew matrix D̃^(1/2) Ã D̃^(1/2): its eigenvalues are i w (w real, "frequencies").
   Hence the MMD eigenvalues are (1 + i eta w) / s, of modulus sqrt(1 + eta^2 w^2) / s >= 1 / s;
   INPO's are (1 - eta tau) + i eta w; Nash-MD's (1 - eta tau)(1 + i eta w_mu); mirror prox's
   (1 + (i eta w - eta^2 w^2) / s) / s, of modulus <= 1 / s whenever eta |w| <= sqrt(2 s - 1).
2. When K - 1 is odd (K even, e.g. E1's K = 10) Ã is singular: there is u in S, u != 0, with
   A u ∝ 1. Then u^T A v = 0 for every v in S, and the update of the centred log-ratio
   delta_t = C(log pi_t - log pi*_tau) gives **exactly** (no linearisation)
   u^T delta_{t+1} = r u^T delta_t with r = 1 / s (MMD, mirror prox) or 1 - eta tau (INPO,
   Nash-MD): the skew game term cannot move this direction, only the pull to pi_ref does.
   Minimising KL(pi* || pi) subject to u^T C log(pi / pi*) = a gives pi = pi* + c u, so
   KL(pi*_tau || pi_t) >= KL(pi* || pi* + c_t u) with u^T log(1 + c_t u / pi*) = r^t a_0
   (:func:`kl_lower_bound`), a bound that holds along the true nonlinear trajectory.

Which prediction: :func:`predict_kl` propagates the *initial* displacement with the linear map
(no fitting to the run) and evaluates the exact KL at the linearised iterate; for t large its
log-slope is 2 log rho. Nash-MD's fixed point is not pi*_tau (its finite-step bias), so its
Jacobian is taken at its own fixed point and its KL to pi*_tau tends to that bias.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from scipy.optimize import brentq

from saddlepoint.errors import InvalidInputError, SaddlepointError
from saddlepoint.method import make_method
from saddlepoint.preference.equilibrium import regularized_equilibrium
from saddlepoint.preference.game import PreferenceGame
from saddlepoint.preference.metrics import kl_divergence
from saddlepoint.preference.objectives import geometric_mixture, magnetic_mirror_step, mirror_ascent

__all__ = [
    "INPOLinearisation",
    "LinearRate",
    "Linearisation",
    "MagneticMirrorDescent",
    "NashMDLinearisation",
    "NashMirrorProxLinearisation",
    "eigenvalues_from_frequencies",
    "invariant_direction",
    "invariant_rate",
    "kl_from_log_ratio",
    "kl_lower_bound",
    "linear_rate",
    "linearisation",
    "predict_kl",
    "skew_frequencies",
    "step_jacobian",
    "step_map",
    "sum_zero_basis",
]

def sum_zero_basis(k: int) -> np.ndarray:
    """An orthonormal basis Q of {v in R^k : sum(v) = 0}, shape ``(k, k - 1)``."""
    q, _ = np.linalg.qr(np.eye(k)[:, : k - 1] - 1.0 / k)
    return q


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _centre(v: np.ndarray) -> np.ndarray:
    return v - v.mean(axis=-1, keepdims=True)


def kl_from_log_ratio(pi_star: np.ndarray, delta: np.ndarray) -> np.ndarray:
    """KL(pi* || pi) from delta = log pi - log pi* (up to a per-row constant), accurate down to
    ~1e-30 where the plain sum cancels at ~1e-16: with delta shifted so that pi* . delta = 0,
    KL = log(sum pi* exp(delta)) = log1p(sum pi* (expm1(delta) - delta)). ``(X, K) -> (X,)``."""
    d = delta - (pi_star * delta).sum(axis=-1, keepdims=True)
    # exp(d) - 1 - d without cancellation: its series below |d| = 1e-3 (error < d^6 / 720)
    series = d * d / 2 * (1 + d / 3 * (1 + d / 4 * (1 + d / 5)))
    rest = np.where(np.abs(d) < 1e-3, series, np.expm1(d) - d)
    return np.log1p((pi_star * rest).sum(axis=-1))


def _dmat(pi: np.ndarray) -> np.ndarray:
    """Softmax Jacobian D = diag(pi) - pi pi^T, ``(X, K) -> (X, K, K)``."""
    return np.einsum("xi,ij->xij", pi, np.eye(pi.shape[-1])) - pi[:, :, None] * pi[:, None, :]


def _gains(p: np.ndarray, pi: np.ndarray) -> np.ndarray:
    return np.einsum("xij,xj->xi", p, pi)


class Linearisation:
    """One regularised dynamic as this module analyses it: its step in log space written from
    the notes' formulas (the objectives of :mod:`saddlepoint.preference.objectives`), the
    analytic Jacobian, the closed-form eigenvalues from the frequencies w (fact 1) and the
    invariant rate r (fact 2). A dynamics config names its linearisation in its
    ``linearisation`` class variable; :func:`linearisation` builds it from the config."""

    name: ClassVar[str]
    """The label reported in :class:`LinearRate`."""
    own_fixed_point: ClassVar[bool] = False
    """True when the map's fixed point is biased away from pi*_tau (Nash-MD)."""

    def __init__(self, eta: float, tau: float) -> None:
        if not tau > 0:
            raise InvalidInputError(f"tau must be positive for a linear rate, got {tau}")
        self.eta, self.tau = float(eta), float(tau)

    @classmethod
    def from_config(cls, config: object) -> Linearisation:
        return cls(config.eta, config.tau)  # type: ignore[attr-defined]

    def step(self, p: np.ndarray, log_ref: np.ndarray, z: np.ndarray) -> np.ndarray:
        """One step from log-policy ``z`` (up to a per-prompt constant). ``(X, K)``."""
        raise NotImplementedError

    def jacobian(self, p: np.ndarray, log_ref: np.ndarray, z: np.ndarray) -> np.ndarray:
        """d(next z) / dz before centring, ``(X, K, K)``."""
        raise NotImplementedError

    def eigenvalues(self, w: np.ndarray) -> np.ndarray:
        """Closed-form Jacobian eigenvalues (fact 1) from the frequencies w (taken at the fixed
        point, or at Nash-MD's mixture mu for Nash-MD). Same shape as ``w``, complex."""
        raise NotImplementedError

    @property
    def invariant_rate(self) -> float:
        """r = 1 - eta tau (INPO, Nash-MD); 1 / (1 + eta tau) for the magnetic steps."""
        return 1.0 - self.eta * self.tau


class MagneticMirrorDescent(Linearisation):
    """RSPO with the reverse-KL surrogate: MMD with tau = 2 lambda / eta."""

    name = "rspo_reverse"

    @classmethod
    def from_config(cls, config: object) -> Linearisation:
        if config.regularizer != "reverse_kl":  # type: ignore[attr-defined]
            raise InvalidInputError(f"linear rates are derived for RSPO with reverse_kl, not "
                                    f"{config.regularizer!r}")  # type: ignore[attr-defined]
        return cls(config.eta, config.target_regularization()[0])  # type: ignore[attr-defined]

    def step(self, p, log_ref, z):
        return magnetic_mirror_step(z, log_ref, _gains(p, _softmax(z)), self.eta, self.tau)

    def jacobian(self, p, log_ref, z):
        return (np.eye(z.shape[-1]) + self.eta * p @ _dmat(_softmax(z))) / (1.0 + self.eta * self.tau)

    def eigenvalues(self, w):
        return (1 + 1j * self.eta * np.asarray(w)) / (1.0 + self.eta * self.tau)

    @property
    def invariant_rate(self) -> float:
        return 1.0 / (1.0 + self.eta * self.tau)


class INPOLinearisation(Linearisation):
    """INPO / online mirror descent."""

    name = "inpo"

    def step(self, p, log_ref, z):
        return mirror_ascent(geometric_mixture(z, log_ref, self.eta, self.tau), _gains(p, _softmax(z)), self.eta)

    def jacobian(self, p, log_ref, z):
        return (1 - self.eta * self.tau) * np.eye(z.shape[-1]) + self.eta * p @ _dmat(_softmax(z))

    def eigenvalues(self, w):
        return (1 - self.eta * self.tau) + 1j * self.eta * np.asarray(w)


class NashMDLinearisation(Linearisation):
    """Nash-MD; its fixed point is biased away from pi*_tau."""

    name = "nash_md"
    own_fixed_point = True

    def step(self, p, log_ref, z):
        m = geometric_mixture(z, log_ref, self.eta, self.tau)
        return mirror_ascent(m, _gains(p, _softmax(m)), self.eta)

    def jacobian(self, p, log_ref, z):
        m = geometric_mixture(z, log_ref, self.eta, self.tau)
        return (1 - self.eta * self.tau) * (np.eye(z.shape[-1]) + self.eta * p @ _dmat(_softmax(m)))

    def eigenvalues(self, w):
        return (1 - self.eta * self.tau) * (1 + 1j * self.eta * np.asarray(w))


class NashMirrorProxLinearisation(Linearisation):
    """Nash mirror prox: two magnetic steps."""

    name = "nash_mirror_prox"

    def step(self, p, log_ref, z):
        half = magnetic_mirror_step(z, log_ref, _gains(p, _softmax(z)), self.eta, self.tau)
        return magnetic_mirror_step(z, log_ref, _gains(p, _softmax(half)), self.eta, self.tau)

    def jacobian(self, p, log_ref, z):
        eta, s = self.eta, 1.0 + self.eta * self.tau
        eye, c = np.eye(z.shape[-1]), np.eye(z.shape[-1]) - 1.0 / z.shape[-1]
        half = magnetic_mirror_step(z, log_ref, _gains(p, _softmax(z)), eta, self.tau)
        j_half = c @ (eye + eta * p @ _dmat(_softmax(z))) / s
        return (eye + eta * p @ _dmat(_softmax(half)) @ j_half) / s

    def eigenvalues(self, w):
        s, x = 1.0 + self.eta * self.tau, 1j * self.eta * np.asarray(w)
        return (1 + x * (1 + x) / s) / s

    @property
    def invariant_rate(self) -> float:
        return 1.0 / (1.0 + self.eta * self.tau)


def linearisation(config: object) -> Linearisation:
    """The :class:`Linearisation` a dynamics config names (RSPO must use the reverse-KL
    surrogate; tau must be positive)."""
    from saddlepoint.registry import load

    target = getattr(type(config), "linearisation", None)
    if not isinstance(target, str):
        raise InvalidInputError(f"config must be one of RSPO (reverse KL), INPO, Nash-MD, Nash mirror prox; "
                                f"got {type(config).__name__}")
    return load(target).from_config(config)


def _apply(lin: Linearisation, p: np.ndarray, log_ref: np.ndarray, z: np.ndarray) -> np.ndarray:
    """One step of the method in centred log space. ``(X, K)``."""
    return _centre(lin.step(p, log_ref, z))


def _jacobian_full(lin: Linearisation, p: np.ndarray, log_ref: np.ndarray, z: np.ndarray) -> np.ndarray:
    """d(centred next z) / dz, ``(X, K, K)`` (acting on S)."""
    k = z.shape[-1]
    return (np.eye(k) - 1.0 / k) @ lin.jacobian(p, log_ref, z)


def step_jacobian(game: PreferenceGame, config: object, policy: np.ndarray) -> np.ndarray:
    """Analytic Jacobian of one step at ``policy`` (any point, not only a fixed point) in the
    basis Q of :func:`sum_zero_basis`: ``y' = Q^T z'`` against ``y = Q^T z``. ``(X, K-1, K-1)``."""
    lin = linearisation(config)
    q = sum_zero_basis(game.n_responses)
    z = _centre(np.log(np.atleast_2d(policy)))
    j = _jacobian_full(lin, game.preferences, np.log(game.reference), z)
    return q.T @ j @ q


def step_map(game: PreferenceGame, config: object, policy: np.ndarray) -> np.ndarray:
    """One step of the library's own stepper (:mod:`~saddlepoint.preference.dynamics`) from an
    arbitrary ``policy`` ``(X, K)``; the finite-difference check of :func:`step_jacobian` uses it."""
    linearisation(config)
    pi = np.atleast_2d(np.asarray(policy, dtype=float))
    dyn = make_method(game, config, 0)
    dyn._log_pi = np.log(pi / pi.sum(axis=1, keepdims=True))
    dyn.step()
    return dyn.last()


def _fixed_point(lin: Linearisation, game: PreferenceGame, equilibrium: np.ndarray | None) -> np.ndarray:
    """The map's own fixed point by Newton's method on the reduced coordinates, from pi*_tau.

    For MMD, INPO and mirror prox it is pi*_tau itself (Newton only polishes the root finder's
    ~1e-12 to ~1e-15, which the late-slope checks need); for Nash-MD it is biased away from it.
    """
    eq = regularized_equilibrium(game, tau_reverse=lin.tau) if equilibrium is None else np.atleast_2d(equilibrium)
    p, log_ref = game.preferences, np.log(game.reference)
    q = sum_zero_basis(game.n_responses)
    y = _centre(np.log(eq)) @ q
    best = np.inf
    for _ in range(30):
        z = y @ q.T
        resid = _apply(lin, p, log_ref, z) @ q - y
        size = np.abs(resid).max()
        if size < 1e-15 or size >= best:  # converged, or stalled at round-off
            best = min(best, size)
            break
        best = size
        jac = q.T @ _jacobian_full(lin, p, log_ref, z) @ q - np.eye(q.shape[1])
        y = y - np.linalg.solve(jac, resid[..., None])[..., 0]
    if best > 1e-10:
        raise SaddlepointError(f"{lin.name} fixed point: Newton's method stopped at residual {best:.3g}")
    return _softmax(y @ q.T)


@dataclass(frozen=True)
class LinearRate:
    """The linearisation of one method at its fixed point, per prompt.

    ``fixed_point (X, K)``; ``jacobian (X, K-1, K-1)`` in the basis Q; ``eigenvalues (X, K-1)``
    complex, by decreasing modulus; ``rho (X,)`` their largest modulus (per-step contraction of
    the log-ratio; KL(pi* || pi_t) ~ C rho^(2t)); ``invariant_rate`` r of fact 2;
    ``own_fixed_point`` whether the fixed point is biased away from pi*_tau (Nash-MD).
    """

    method: str
    eta: float
    tau: float
    fixed_point: np.ndarray
    jacobian: np.ndarray
    eigenvalues: np.ndarray
    rho: np.ndarray
    invariant_rate: float
    own_fixed_point: bool = False


def invariant_rate(config: object) -> float:
    """r = 1 / (1 + eta tau) (MMD, mirror prox) or 1 - eta tau (INPO, Nash-MD)."""
    return linearisation(config).invariant_rate


def linear_rate(game: PreferenceGame, config: object, equilibrium: np.ndarray | None = None) -> LinearRate:
    """Jacobian, eigenvalues and spectral radius at the method's fixed point.

    ``equilibrium`` (pi*_tau, ``(X, K)``) saves recomputing it with
    :func:`~saddlepoint.preference.equilibrium.regularized_equilibrium`.
    """
    lin = linearisation(config)
    fixed = _fixed_point(lin, game, equilibrium)
    jac = step_jacobian(game, config, fixed)
    eig = np.linalg.eigvals(jac)
    eig = np.take_along_axis(eig, np.argsort(-np.abs(eig), axis=1), axis=1)
    return LinearRate(lin.name, lin.eta, lin.tau, fixed, jac, eig, np.abs(eig[:, 0]), lin.invariant_rate,
                      lin.own_fixed_point)


def skew_frequencies(game: PreferenceGame, policy: np.ndarray) -> np.ndarray:
    """The w of fact 1: eigenvalues of D̃^(1/2) Ã D̃^(1/2) are i w. Sorted by decreasing |w|,
    ``(X, K-1)`` real."""
    q = sum_zero_basis(game.n_responses)
    a = q.T @ (game.preferences - 0.5) @ q
    d = q.T @ _dmat(np.atleast_2d(policy)) @ q
    vals, vecs = np.linalg.eigh(d)
    half = vecs @ (np.sqrt(vals)[:, :, None] * np.swapaxes(vecs, 1, 2))
    w = np.linalg.eigvals(half @ a @ half).imag
    return np.take_along_axis(w, np.argsort(-np.abs(w), axis=1), axis=1)


def eigenvalues_from_frequencies(config: object, w: np.ndarray) -> np.ndarray:
    """Closed-form Jacobian eigenvalues (fact 1) of ``config``'s dynamic from the frequencies w
    (taken at the fixed point, or at Nash-MD's mixture mu for Nash-MD). Same shape as ``w``."""
    return linearisation(config).eigenvalues(w)


def predict_kl(
    game: PreferenceGame,
    config: object,
    iterations: np.ndarray,
    rate: LinearRate | None = None,
    start: np.ndarray | None = None,
) -> np.ndarray:
    """Linearised KL(pi*_tau || pi_t): the initial displacement (from ``start``, default pi_ref)
    propagated by J^t, then the exact KL at that point. ``iterations (T,)`` -> ``(T, X)``.

    A prediction from the initial distance, not fitted to the run; only the late-time slope
    (2 log rho) is exact, the constant carries the error of the nonlinear transient.
    """
    rate = linear_rate(game, config) if rate is None else rate
    eq = regularized_equilibrium(game, tau_reverse=rate.tau) if rate.own_fixed_point else rate.fixed_point
    q = sum_zero_basis(game.n_responses)
    start = game.reference if start is None else np.atleast_2d(start)
    y_star = _centre(np.log(rate.fixed_point)) @ q
    d0 = (_centre(np.log(start)) @ q - y_star)[..., None]
    out = np.empty((len(iterations), game.n_prompts))
    log_ratio_fixed = np.log(rate.fixed_point) - np.log(eq)  # zero except for Nash-MD's bias
    for i, t in enumerate(np.asarray(iterations, dtype=int)):
        dt = (np.linalg.matrix_power(rate.jacobian, int(t)) @ d0)[..., 0]
        out[i] = kl_from_log_ratio(eq, log_ratio_fixed + dt @ q.T)
    return out


def invariant_direction(game: PreferenceGame) -> np.ndarray:
    """Unit u in S with A u ∝ 1 (fact 2), ``(X, K)``; raises if Ã is not singular for some
    prompt (generic when K is odd)."""
    q = sum_zero_basis(game.n_responses)
    a = q.T @ (game.preferences - 0.5) @ q
    _, sv, vt = np.linalg.svd(a)
    scale = np.maximum(sv[:, 0], 1e-300)
    if np.any(sv[:, -1] > 1e-9 * scale):
        raise InvalidInputError("no exactly invariant direction: Q^T A Q is not singular (K - 1 even?)")
    return vt[:, -1, :] @ q.T


def kl_lower_bound(game: PreferenceGame, config: object, iterations: np.ndarray, start: np.ndarray | None = None,
                   equilibrium: np.ndarray | None = None) -> np.ndarray:
    """Exact lower bound on KL(pi*_tau || pi_t) (fact 2), ``iterations (T,)`` -> ``(T, X)``.

    a_t = u^T log(pi_t / pi*) = r^t a_0 holds exactly for every iterate, and the smallest KL
    with that a_t is KL(pi* || pi* + c u), c solving u^T log(1 + c u / pi*) = a_t. Nash-MD is
    covered too (its update satisfies the same identity relative to pi*_tau).
    """
    lin = linearisation(config)
    eq = regularized_equilibrium(game, tau_reverse=lin.tau) if equilibrium is None else np.atleast_2d(equilibrium)
    u = invariant_direction(game)
    start = game.reference if start is None else np.atleast_2d(start)
    a0 = np.einsum("xk,xk->x", u, np.log(start) - np.log(eq))
    r = lin.invariant_rate
    out = np.empty((len(iterations), game.n_prompts))
    for x in range(game.n_prompts):
        ux, px = u[x], eq[x]
        # c must keep pi* + c u positive: c in (lo, hi)
        lo = -np.min(px[ux > 0] / ux[ux > 0])
        hi = np.min(px[ux < 0] / -ux[ux < 0])
        def f(c: float, a: float, ux: np.ndarray = ux, px: np.ndarray = px) -> float:
            return float(ux @ np.log1p(c * ux / px)) - a  # increasing in c

        for i, t in enumerate(np.asarray(iterations, dtype=int)):
            a = a0[x] * r ** int(t)
            if a == 0:
                out[i, x] = 0.0
                continue
            left, right = lo + 1e-15 * (hi - lo), hi - 1e-15 * (hi - lo)
            if f(left, a) >= 0 or f(right, a) <= 0:
                # a lies beyond the bracket's reach; KL grows with |c|, so the end is still a bound
                c = left if f(left, a) >= 0 else right
            else:
                c = brentq(f, left, right, args=(a,), xtol=1e-300, rtol=4 * np.finfo(float).eps, maxiter=500)
            out[i, x] = kl_divergence(px, px + c * ux)
    return out
