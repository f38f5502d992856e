"""GP-UCB on a box (Srinivas, Krause, Kakade & Seeger 2010), with the same ask/tell and
save/load interface as the mean-field methods, and standard synthetic test functions.

:class:`GPUCB` is a :mod:`saddlepoint.method` method (``GPUCB(problem, config, rng)``, the
problem a box of bounds or a :class:`SyntheticFunction`, whose ``fn`` ``step()`` evaluates).

The acquisition mu + beta^{1/2} sigma is maximised over a scrambled Sobol set of candidates,
then the best few are polished with L-BFGS-B (finite differences); inputs are scaled to the
unit cube for the GP, so one lengthscale suits every dimension.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy.optimize import minimize
from scipy.stats import qmc

from saddlepoint.bayesopt.acquisition import beta_sqrt_at, ucb
from saddlepoint.bayesopt.gp import ExactGP, FitConfig, GPHyperparameters, fit_hyperparameters
from saddlepoint.bayesopt.config import GPUCBConfig
from saddlepoint.config import from_dict, to_dict
from saddlepoint.errors import InvalidInputError
from saddlepoint.method import CountsIterations
from saddlepoint.rng import make_rng, restore_rng, rng_state

__all__ = ["GPUCB", "SYNTHETIC", "SyntheticFunction", "branin", "hartmann3"]


class GPUCB(CountsIterations):
    """GP-UCB maximising a black box on a box: ``ask() -> x (d,)``, ``tell(x, y)``.

    ``problem`` is the box, a (d, 2) array of bounds, or an object with ``bounds`` and a
    function ``fn`` ((m, d) -> (m,)) that :meth:`step` evaluates (a :class:`SyntheticFunction`).
    """

    def __init__(self, problem: Any, config: GPUCBConfig | None = None,
                 rng: np.random.Generator | int | None = None) -> None:
        b = np.asarray(getattr(problem, "bounds", problem), dtype=float)
        if b.ndim != 2 or b.shape[1] != 2 or b.shape[0] == 0 or not np.all(b[:, 0] < b[:, 1]):
            raise InvalidInputError("bounds must be a (d, 2) array with low < high in every row")
        self.problem, self.bounds = problem, b
        self.config = config or GPUCBConfig()
        self._rng = make_rng(rng)
        c = self.config
        self.gp = ExactGP(b.shape[0], kernel=c.kernel, hyper=GPHyperparameters(
            lengthscales=(c.lengthscale,), outputscale=c.outputscale, noise=c.noise_sd ** 2))
        self._t = 0
        self._best: tuple[float, np.ndarray] | None = None

    def output(self) -> np.ndarray | None:
        """The best point told so far (a copy; None before the first)."""
        return None if self._best is None else self._best[1].copy()

    def step(self) -> None:
        """Ask, evaluate the problem's ``fn`` there, tell."""
        fn = getattr(self.problem, "fn", None)
        if fn is None:
            raise InvalidInputError("stepping needs a problem with a function 'fn' (e.g. a SyntheticFunction); "
                                    "with bounds alone use ask/tell")
        x = self.ask()
        self.tell(x, float(np.asarray(fn(x[None])).reshape(-1)[0]))

    def _to_unit(self, x: np.ndarray) -> np.ndarray:
        return (x - self.bounds[:, 0]) / (self.bounds[:, 1] - self.bounds[:, 0])

    def _from_unit(self, u: np.ndarray) -> np.ndarray:
        return self.bounds[:, 0] + u * (self.bounds[:, 1] - self.bounds[:, 0])

    def beta_sqrt(self) -> float:
        c = self.config
        return beta_sqrt_at(c.beta, beta_sqrt=c.beta_sqrt, rkhs_bound=c.rkhs_bound, noise_sd=c.noise_sd,
                            delta=c.delta, information_gain=self.gp.information_gain())

    def acquisition(self, x: np.ndarray) -> np.ndarray:
        """UCB at points x (m, d) in the original coordinates -> (m,)."""
        mean, var = self.gp.posterior(self._to_unit(np.atleast_2d(x)))
        return ucb(mean, var, self.beta_sqrt())

    def ask(self) -> np.ndarray:
        """The next point to evaluate, shape (d,)."""
        c, d = self.config, self.bounds.shape[0]
        # an integer seed drawn from our generator: SciPy derives scrambling from a Generator's
        # seed sequence, which a restored generator does not share, so passing it would break
        # save/load reproducibility
        sobol = qmc.Sobol(d, scramble=True, seed=int(self._rng.integers(2 ** 63)))
        cand = sobol.random(c.n_candidates)
        beta = self.beta_sqrt()

        def score(u: np.ndarray) -> np.ndarray:
            mean, var = self.gp.posterior(u)
            return ucb(mean, var, beta)

        vals = score(cand)
        best, best_val = cand[int(np.argmax(vals))], float(np.max(vals))
        for i in np.argsort(-vals)[: c.n_polish]:
            res = minimize(lambda u: -float(score(u[None])[0]), cand[i], method="L-BFGS-B",
                           bounds=[(0.0, 1.0)] * d, options={"maxiter": 50})
            if -res.fun > best_val:
                best, best_val = np.clip(res.x, 0.0, 1.0), float(-res.fun)
        return self._from_unit(best)

    def tell(self, x: np.ndarray, y: float) -> None:
        """Record the value ``y`` observed at ``x`` (d,)."""
        xv = np.asarray(x, dtype=float)
        if xv.shape != (self.bounds.shape[0],):
            raise InvalidInputError(f"x must have shape ({self.bounds.shape[0]},), got {xv.shape}")
        yv = float(y)
        if not (np.all(np.isfinite(xv)) and np.isfinite(yv)):
            raise InvalidInputError("x and y must be finite (got NaN or infinity)")
        self.gp.add(self._to_unit(xv)[None], np.array([yv]))
        if self._best is None or yv > self._best[0]:
            self._best = (yv, xv.copy())
        c = self.config
        if c.prior_mean == "empirical":
            self.gp.set_mean(float(self.gp.training_data()["y"].mean()))
        self._t += 1
        if c.refit_every and self._t % c.refit_every == 0:
            fit = FitConfig(fit_noise=False, fit_mean=False, restarts=1)
            if c.fit_backend == "botorch":
                from saddlepoint.bayesopt.botorch_backend import fit_hyperparameters_botorch

                fit_hyperparameters_botorch(self.gp, fit)
            else:
                fit_hyperparameters(self.gp, fit, self._rng)

    def state_dict(self) -> dict[str, Any]:
        best = None if self._best is None else [self._best[0], self._best[1].tolist()]
        return {"method": GPUCBConfig.algo, "config": to_dict(self.config), "bounds": self.bounds.tolist(),
                "rounds": self._t, "best": best, "rng": rng_state(self._rng), "gp": self.gp.state_dict()}

    def save(self, path: str | Path) -> Path:
        target = Path(path)
        target.write_text(json.dumps(self.state_dict()))
        return target

    @classmethod
    def load(cls, path: str | Path) -> GPUCB:
        """Load an optimiser written by :meth:`save`."""
        try:
            state = json.loads(Path(path).read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise InvalidInputError(f"cannot read GP-UCB state from {path}: {exc}") from None
        opt = cls(np.asarray(state["bounds"]), from_dict(GPUCBConfig, state["config"]),
                  restore_rng(state["rng"]))
        opt.gp = ExactGP.from_state(state["gp"])
        opt._t = int(state["rounds"])
        if state.get("best") is not None:
            opt._best = (float(state["best"][0]), np.asarray(state["best"][1], dtype=float))
        return opt


# --------------------------------------------------------------------------- test functions
@dataclass(frozen=True)
class SyntheticFunction:
    """A test function to *maximise* (the negated classic), its box and its known maximum."""

    name: str
    fn: Callable[[np.ndarray], np.ndarray]
    bounds: np.ndarray
    maximum: float


def branin(x: np.ndarray) -> np.ndarray:
    """Negated Branin-Hoo on [-5, 10] x [0, 15], (m, 2) -> (m,); maximum -0.397887 at three
    points, e.g. (pi, 2.275)."""
    x = np.atleast_2d(x)
    x1, x2 = x[:, 0], x[:, 1]
    b, c, t = 5.1 / (4 * np.pi ** 2), 5 / np.pi, 1 / (8 * np.pi)
    return -((x2 - b * x1 ** 2 + c * x1 - 6) ** 2 + 10 * (1 - t) * np.cos(x1) + 10)


_H3_A = np.array([[3.0, 10, 30], [0.1, 10, 35], [3.0, 10, 30], [0.1, 10, 35]])
_H3_P = 1e-4 * np.array([[3689, 1170, 2673], [4699, 4387, 7470], [1091, 8732, 5547],
                         [381, 5743, 8828]])
_H3_ALPHA = np.array([1.0, 1.2, 3.0, 3.2])


def hartmann3(x: np.ndarray) -> np.ndarray:
    """Hartmann-3 on [0, 1]^3 (sign chosen for maximisation), (m, 3) -> (m,); maximum 3.86278
    at (0.114614, 0.555649, 0.852547)."""
    x = np.atleast_2d(x)
    inner = (_H3_A[None] * (x[:, None, :] - _H3_P[None]) ** 2).sum(-1)
    return (_H3_ALPHA[None] * np.exp(-inner)).sum(-1)


SYNTHETIC = {
    "branin": SyntheticFunction("branin", branin, np.array([[-5.0, 10.0], [0.0, 15.0]]), -0.397887),
    "hartmann3": SyntheticFunction("hartmann3", hartmann3, np.array([[0.0, 1.0]] * 3), 3.86278),
}
