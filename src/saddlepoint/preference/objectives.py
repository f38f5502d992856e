"""The self-play objectives of SPPO, RSPO, INPO and Nash-MD, defined once for every fidelity.

Each function takes NumPy arrays **or** torch tensors (it uses only arithmetic, indexing and
the array's own ``exp``), so one definition serves

- the exact tabular dynamics (:mod:`saddlepoint.preference.dynamics`), whose updates are the
  closed-form minimisers of these objectives over every response (:func:`mirror_ascent`,
  :func:`geometric_mixture`, :func:`magnetic_mirror_step`);
- the sample-based self-play (:mod:`saddlepoint.preference.sampled`), through the NumPy
  losses of :mod:`saddlepoint.preference.losses` (value and analytic gradient);
- the language-model trainer (:mod:`saddlepoint.preference.trainer`), through
  :mod:`saddlepoint.preference.torch_losses` (value; autograd gives the gradient).

One name per paper symbol: ``logp`` = l_theta = log pi_theta(y | x) **summed over the
response tokens** (RSPO notes, "Pitfalls"); ``logp_t`` = l_t of the frozen snapshot pi_t;
``logp_ref`` = l_ref; ``p`` = the win rate P(y > pi_t) (exact, or ``p_hat`` estimated within a
sample); ``eta`` the step (eta = 1 / beta of SPPO's regression); ``tau`` the regularisation
towards pi_ref (also Nash-MD-PG's KL coefficient, TRL's ``beta``); ``reg_coef`` = RSPO's lambda.

Scaling: the SPPO term is **halved**, 1/2 (l - l_t - eta (p - 1/2))^2, so in the exact limit
RSPO with reverse KL is magnetic mirror descent with tau = 2 lambda / eta
(:func:`equivalent_regularization`).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any

import numpy as np

from saddlepoint.config import check_choice, check_positive
from saddlepoint.errors import InvalidInputError

__all__ = [
    "PAIR_LOSSES",
    "REGULARIZERS",
    "PairLossConfig",
    "equivalent_regularization",
    "geometric_mixture",
    "inpo_objective",
    "inpo_residual",
    "magnetic_mirror_step",
    "mirror_ascent",
    "nash_md_pg_objective",
    "regularizer_rho",
    "rspo_objective",
    "sppo_objective",
    "sppo_residual",
]

#: Regulariser surrogates rho(theta; y) of the RSPO notes' table (official-code options).
REGULARIZERS = (
    "none",                      # plain SPPO
    "reverse_kl",                # delta^2; its gradient at theta_t, y ~ pi_t, is 2 grad KL(pi||ref)
    "reverse_kl_no_entropy",     # -l_theta * l_ref
    "forward_kl_is",             # exp(min(-delta, clip)) = pi_ref / pi_theta, clipped exponent
    "chi2",                      # exp(min(delta, clip))
    "chi2_smooth",               # rho / (1 + rho), rho = exp(min(delta, clip))
    "entropy",                   # l_theta^2
    "forward_kl_is+reverse_kl",  # forward_kl_is + mix_coef * reverse_kl
)

#: The pairwise self-play objectives (Nash-MD's is a policy gradient on one pair, y against y').
PAIR_LOSSES = ("sppo", "rspo", "inpo")

Array = Any
"""A NumPy array or a torch tensor."""


def _exp(x: Array) -> Array:
    return x.exp() if hasattr(x, "detach") else np.exp(x)


def _cap(x: Array, clip: float) -> Array:
    """min(x, clip) elementwise (zero gradient beyond the cap)."""
    return x.clamp(max=clip) if hasattr(x, "detach") else np.minimum(x, clip)


def _stop_gradient(x: Array) -> Array:
    return x.detach() if hasattr(x, "detach") else x


def _zeros_like(x: Array) -> Array:
    return sys.modules["torch"].zeros_like(x) if hasattr(x, "detach") else np.zeros_like(x)


# --------------------------------------------------------------------------- exact updates
def mirror_ascent(logp: Array, p: Array, eta: float) -> Array:
    """log pi' = log pi + eta p (unnormalised): SPPO's exact update, multiplicative weights
    (RSPO notes, "Exact tabular updates"), and the minimiser over every response of
    :func:`sppo_objective` with ``p - 1/2`` for ``p``. Shapes ``(..., K)``."""
    return logp + eta * p


def geometric_mixture(logp: Array, logp_ref: Array, eta: float, tau: float) -> Array:
    """log mu = (1 - eta tau) log pi + eta tau log pi_ref (unnormalised): Nash-MD's opponent
    (Munos et al. 2024) and INPO's anchor (Zhang et al. 2025), the pull towards pi_ref of
    online mirror descent on the tau-regularised game. Shapes ``(..., K)``."""
    ez = eta * tau
    return (1.0 - ez) * logp + ez * logp_ref


def magnetic_mirror_step(logp: Array, logp_ref: Array, p: Array, eta: float, tau: float) -> Array:
    """MMD: argmax_pi <eta p, pi> - eta tau KL(pi || ref) - KL(pi || pi_from) in log space,
    (log pi + eta tau log ref + eta p) / (1 + eta tau) (unnormalised): RSPO with reverse KL in the
    exact limit (tau = 2 lambda / eta) and both half-steps of Nash mirror prox. ``(..., K)``."""
    return (logp + eta * tau * logp_ref + eta * p) / (1.0 + eta * tau)


# --------------------------------------------------------------------------- SPPO and RSPO
def sppo_residual(logp: Array, logp_t: Array, p_hat: Array, eta: float) -> Array:
    """l - l_t - eta (p_hat - 1/2): how far the log-ratio is from SPPO's regression target
    (RSPO notes, step 4). Shapes ``(B,)``; zero exactly at :func:`mirror_ascent`'s update."""
    return logp - logp_t - eta * (p_hat - 0.5)


def sppo_objective(logp: Array, logp_t: Array, p_hat: Array, eta: float) -> Array:
    """SPPO: mean of 1/2 :func:`sppo_residual`^2 over responses. ``(B,)`` -> scalar."""
    return 0.5 * (sppo_residual(logp, logp_t, p_hat, eta) ** 2).mean()


def regularizer_rho(logp: Array, logp_ref: Array, regularizer: str, *, clip: float = 10.0,
                    mix_coef: float = 1.0) -> Array:
    """Elementwise surrogate rho of RSPO's regulariser (:data:`REGULARIZERS`); ``clip`` caps the
    exponent of the exponential surrogates (the official code uses 10). Shape of ``logp``."""
    delta = logp - logp_ref
    if regularizer == "none":
        return _zeros_like(delta)
    if regularizer == "reverse_kl":
        return delta**2
    if regularizer == "reverse_kl_no_entropy":
        return -logp * logp_ref
    if regularizer == "forward_kl_is":
        return _exp(_cap(-delta, clip))
    if regularizer == "chi2":
        return _exp(_cap(delta, clip))
    if regularizer == "chi2_smooth":
        rho = _exp(_cap(delta, clip))
        return rho / (1.0 + rho)
    if regularizer == "entropy":
        return logp**2
    if regularizer == "forward_kl_is+reverse_kl":
        return _exp(_cap(-delta, clip)) + mix_coef * delta**2
    raise InvalidInputError(f"regularizer must be one of {', '.join(REGULARIZERS)}; got {regularizer!r}")


def rspo_objective(logp: Array, logp_t: Array, logp_ref: Array, p_hat: Array, eta: float, reg_coef: float,
                   regularizer: str = "reverse_kl", *, clip: float = 10.0, mix_coef: float = 1.0) -> Array:
    """RSPO: :func:`sppo_objective` + lambda * mean rho (RSPO notes, step 4). ``(B,)`` -> scalar.

    With ``reg_coef = 0`` (or ``regularizer="none"``) it is exactly :func:`sppo_objective`.
    """
    loss = sppo_objective(logp, logp_t, p_hat, eta)
    rho = regularizer_rho(logp, logp_ref, regularizer, clip=clip, mix_coef=mix_coef)
    return loss + reg_coef * rho.mean() if reg_coef != 0 else loss


# --------------------------------------------------------------------------- INPO
def inpo_residual(logp: Array, logp_t: Array, logp_ref: Array, eta: float, tau: float) -> Array:
    """h - eta tau h_ref - (1 - eta tau) h_t - eta / 2 with h = l(y_w) - l(y_l) (Zhang et al.
    2025): h against the pairwise difference of :func:`geometric_mixture` of l_t and l_ref plus
    eta (1 - 1/2) for the labelled win. ``(B, 2)`` (column 0 y_w, column 1 y_l) -> ``(B,)``."""
    if logp.ndim != 2 or logp.shape[1] != 2:
        raise InvalidInputError(f"INPO log-probabilities must have shape (B, 2), got {tuple(logp.shape)}")

    def h(a: Array) -> Array:
        return a[:, 0] - a[:, 1]

    return h(logp) - eta * tau * h(logp_ref) - (1.0 - eta * tau) * h(logp_t) - eta / 2.0


def inpo_objective(logp: Array, logp_t: Array, logp_ref: Array, eta: float, tau: float) -> Array:
    """INPO: mean over pairs of :func:`inpo_residual`^2. ``(B, 2)`` -> scalar."""
    return (inpo_residual(logp, logp_t, logp_ref, eta, tau) ** 2).mean()


# --------------------------------------------------------------------------- Nash-MD
def nash_md_pg_objective(logp: Array, logp_ref: Array, p: Array, tau: float, mask: Array) -> Array:
    """Nash-MD policy gradient (Munos et al. 2024; Nash-MD-PG as TRL <= 1.13 implemented it):
    mean over responses y ~ pi_theta of

        tau * sum_j sg(l_j - l_ref_j) * l_j  -  (p - 1/2) * sum_j l_j

    with ``p`` = P(y > y'), y' from the :func:`geometric_mixture` of pi_t and pi_ref, tau the
    regularisation towards pi_ref (TRL's ``beta``), and sg = stop-gradient: REINFORCE with the
    preference as reward (1/2 the control variate) and a KL penalty estimated per token.
    ``logp``, ``logp_ref``, ``mask``: ``(B, T)`` per-token log-probabilities and response-token
    mask; ``p``: ``(B,)`` -> scalar.
    """
    kl_term = tau * (mask * _stop_gradient(logp - logp_ref) * logp).sum(axis=1)
    score = (p - 0.5) * (mask * logp).sum(axis=1)
    return (kl_term - score).mean()


def equivalent_regularization(eta: float, reg_coef: float, regularizer: str, mix_coef: float = 1.0) -> tuple[float, float] | None:
    """``(tau_reverse, tau_forward)`` of the game whose equilibrium RSPO's exact-regression
    limit reaches (RSPO notes, "Idealised tabular limit", halved SPPO term), or None when the
    surrogate has no such game (chi^2, entropy, no-entropy reverse KL)."""
    if regularizer == "none" or reg_coef == 0:
        return 0.0, 0.0
    if regularizer == "reverse_kl":
        return 2.0 * reg_coef / eta, 0.0
    if regularizer == "forward_kl_is":
        return 0.0, reg_coef / eta
    if regularizer == "forward_kl_is+reverse_kl":
        return 2.0 * mix_coef * reg_coef / eta, reg_coef / eta
    return None


# --------------------------------------------------------------------------- settings
@dataclass(frozen=True)
class PairLossConfig:
    """The symbols of the pairwise objectives, shared by the sample-based self-play and the
    language-model trainer (their configs extend this one). :meth:`objective` is the chosen
    objective on a batch of (winner, loser) pairs."""

    loss: str = "sppo"
    """``sppo``, ``rspo`` or ``inpo`` (:data:`PAIR_LOSSES`)."""
    eta: float = 1.0
    """eta = 1 / beta, scale of the SPPO/RSPO regression target eta (p_hat - 1/2), and INPO's eta."""
    reg_coef: float = 0.05
    """lambda, weight of the RSPO regulariser (ignored by ``sppo`` and ``inpo``)."""
    regularizer: str = "reverse_kl"
    """RSPO surrogate (:data:`REGULARIZERS`)."""
    mix_coef: float = 1.0
    """Reverse-KL weight in ``forward_kl_is+reverse_kl``."""
    clip: float = 10.0
    """Exponent cap of the exponential surrogates."""
    tau: float = 0.05
    """INPO's regularisation tau (its objective uses eta * tau; needs eta * tau <= 1)."""

    def __post_init__(self) -> None:
        check_choice("loss", self.loss, PAIR_LOSSES)
        check_choice("regularizer", self.regularizer, REGULARIZERS)
        for name in ("eta", "clip"):
            check_positive(name, getattr(self, name))
        for name in ("reg_coef", "mix_coef", "tau"):
            check_positive(name, getattr(self, name), allow_zero=True)
        if self.loss == "inpo" and self.eta * self.tau > 1:
            raise InvalidInputError(f"INPO needs eta * tau <= 1, got {self.eta * self.tau}")

    def objective(self, logp: Array, logp_t: Array, logp_ref: Array, p_hat: Array) -> Array:
        """The chosen objective on pairs: every input ``(B, 2)`` (column 0 the winner, column 1
        the loser) -> scalar. SPPO / RSPO average over the 2B responses, INPO over the B pairs."""
        if self.loss == "inpo":
            return inpo_objective(logp, logp_t, logp_ref, self.eta, self.tau)
        reg_coef = self.reg_coef if self.loss == "rspo" else 0.0
        return rspo_objective(logp.reshape(-1), logp_t.reshape(-1), logp_ref.reshape(-1), p_hat.reshape(-1),
                              self.eta, reg_coef, self.regularizer, clip=self.clip, mix_coef=self.mix_coef)

    def target_regularization(self) -> tuple[float, float] | None:
        """``(tau_reverse, tau_forward)`` of the game whose equilibrium the objective aims at."""
        if self.loss == "sppo":
            return 0.0, 0.0
        if self.loss == "inpo":
            return self.tau, 0.0
        return equivalent_regularization(self.eta, self.reg_coef, self.regularizer, self.mix_coef)
