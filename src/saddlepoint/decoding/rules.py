"""Selection rules of the blockwise decoder (pure NumPy): which candidate rows survive a block.

After each block the engine holds N candidate rows (M surviving parents x K children each),
a value matrix ``values[n, g]`` (or ``None`` for rules that need none) and ``parents[n]``, the
surviving row each candidate grew from. A rule returns the rows to keep: one row for
controlled decoding, several for a beam (the engine then grows K children from each). This is
the plug-in point for new methods (e.g. a safety critic with a budget): implement
:class:`SelectionRule`, keep any state of your own on the rule, and pass it to the decoder.

Rules here:

* :class:`ReferenceRule` - keep the first candidate: plain sampling from pi_ref.
* :class:`FixedWeightsRule` - controlled decoding (CD) with fixed weights w, and best-of-N
  when the block is the whole response and the values are final rewards.
* :class:`MaxMinRule` - keep ``argmax_k min_g V[k, g]`` (with final rewards over one
  whole-response block: the oracle best-of-N by worst-case reward).
* :class:`RobustRule` - RMOD: w* = argmin_w phi(w) on the block's values (see
  :mod:`saddlepoint.decoding.weights`), then the best branch under w*.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np

from saddlepoint.config import check_choice, check_positive
from saddlepoint.decoding.weights import SOLVERS, select_branch, solve_weights
from saddlepoint.errors import InvalidInputError

__all__ = ["Selection", "SelectionRule", "ReferenceRule", "FixedWeightsRule", "MaxMinRule", "RobustRule",
           "standardise"]


@dataclass(frozen=True)
class Selection:
    """A rule's decision for one block."""

    indices: np.ndarray
    """Candidate rows kept, shape (M,), int; the next block grows K children from each."""
    weights: np.ndarray | None = None
    """Objective weights used, shape (G,) (fixed w, or w* for RMOD); None if no values."""
    info: dict[str, Any] = field(default_factory=dict)
    """Anything else worth tracing (phi, solver iterations, ...); JSON-friendly values."""


@runtime_checkable
class SelectionRule(Protocol):
    """What the engine calls after each block."""

    needs_values: bool
    """False if :meth:`select` ignores values (the engine then skips the value function)."""

    def select(self, values: np.ndarray | None, parents: np.ndarray, rng: np.random.Generator) -> Selection:
        """``values``: (N, G) or None; ``parents``: (N,) parent row of each candidate."""
        ...


def standardise(values: np.ndarray, scale: tuple[tuple[float, ...], tuple[float, ...]] | None) -> np.ndarray:
    """``(values - loc) / scale`` per objective, shape (N, G); ``None`` leaves values as they are.

    The scaling changes the meaning of lambda and of "worst case"; record it with the run.
    """
    if scale is None:
        return np.asarray(values, dtype=float)
    loc, sd = (np.asarray(a, dtype=float) for a in scale)
    return (np.asarray(values, dtype=float) - loc) / sd


def _check_scale(scale: Any) -> None:
    if scale is None:
        return
    ok = isinstance(scale, (tuple, list)) and len(scale) == 2 and len(scale[0]) == len(scale[1])
    if not ok or any(s <= 0 for s in scale[1]):
        raise InvalidInputError("value_scale must be (loc, scale) sequences of equal length with scale > 0")


@dataclass(frozen=True)
class ReferenceRule:
    """Sampling from pi_ref: keep the first candidate (all candidates are i.i.d. reference
    samples, so this is one reference sample; run it with one branch to save compute)."""

    needs_values: bool = False

    def select(self, values: np.ndarray | None, parents: np.ndarray, rng: np.random.Generator) -> Selection:
        return Selection(np.array([0]))


@dataclass(frozen=True)
class FixedWeightsRule:
    """Controlled decoding with fixed objective weights: keep ``argmax_k w . V[k]`` (or sample
    from ``p(k) ~ exp(lam * w . V[k])``). Best-of-N is this rule over one whole-response block."""

    weights: tuple[float, ...]
    """Fixed w on the simplex (uniform for CD-uniform, one-hot for single-objective CD)."""
    lam: float = 1.0
    """lambda of the tilted distribution; only used by ``selection="sample"``."""
    selection: str = "argmax"
    """``argmax`` (the official rule) or ``sample`` (from the tilted distribution)."""
    value_scale: tuple[tuple[float, ...], tuple[float, ...]] | None = None
    """Optional per-objective (loc, scale) applied to the values before use."""
    needs_values: bool = True

    def __post_init__(self) -> None:
        w = np.asarray(self.weights, dtype=float)
        if w.ndim != 1 or w.size == 0 or np.any(w < 0) or not np.isclose(w.sum(), 1.0):
            raise InvalidInputError(f"weights must be a non-empty probability vector, got {self.weights!r}")
        check_positive("lam", self.lam, allow_zero=True)
        check_choice("selection", self.selection, ("argmax", "sample"))
        _check_scale(self.value_scale)

    def select(self, values: np.ndarray | None, parents: np.ndarray, rng: np.random.Generator) -> Selection:
        v = standardise(values, self.value_scale)
        w = np.asarray(self.weights, dtype=float)
        if v.shape[1] != w.size:
            raise InvalidInputError(f"weights have {w.size} entries but the values have {v.shape[1]} objectives")
        k = select_branch(v, w, self.lam, self.selection, rng)
        return Selection(np.array([k]), w.copy())


@dataclass(frozen=True)
class MaxMinRule:
    """Keep the candidate whose lowest objective value is largest (ties to the lowest index)."""

    value_scale: tuple[tuple[float, ...], tuple[float, ...]] | None = None
    """Optional per-objective (loc, scale) applied to the values before use."""
    needs_values: bool = True

    def __post_init__(self) -> None:
        _check_scale(self.value_scale)

    def select(self, values: np.ndarray | None, parents: np.ndarray, rng: np.random.Generator) -> Selection:
        v = standardise(values, self.value_scale)
        return Selection(np.array([int(np.argmax(v.min(axis=1)))]))


@dataclass(frozen=True)
class RobustRule:
    """RMOD: per block, worst-case weights ``w* = argmin_w log mean_k exp(lam * w . V[k])``,
    then keep the best branch under w* (argmax, official) or sample from the tilted p_{w*}."""

    lam: float = 1.0
    """lambda, the inverse KL-regularisation strength (paper default 1.0)."""
    solver: str = "eg"
    """``eg`` (convergent, default), ``slsqp``, or ``pgd10`` (mimics the official 10 steps)."""
    selection: str = "argmax"
    """``argmax`` (official) or ``sample`` from the tilted distribution."""
    tol: float = 1e-6
    """Frank-Wolfe gap tolerance of the ``eg`` solver (relative to min(1, lam R))."""
    value_scale: tuple[tuple[float, ...], tuple[float, ...]] | None = None
    """Optional per-objective (loc, scale) applied to the values before the solve."""
    needs_values: bool = True

    def __post_init__(self) -> None:
        check_positive("lam", self.lam, allow_zero=True)
        check_choice("solver", self.solver, SOLVERS)
        check_choice("selection", self.selection, ("argmax", "sample"))
        check_positive("tol", self.tol)
        _check_scale(self.value_scale)

    def select(self, values: np.ndarray | None, parents: np.ndarray, rng: np.random.Generator) -> Selection:
        v = standardise(values, self.value_scale)
        sol = solve_weights(v, self.lam, solver=self.solver, tol=self.tol)
        k = select_branch(v, sol.weights, self.lam, self.selection, rng)
        info = {"phi": sol.phi, "gap": sol.gap, "solver_iterations": sol.iterations, "converged": sol.converged}
        return Selection(np.array([k]), sol.weights, info)
