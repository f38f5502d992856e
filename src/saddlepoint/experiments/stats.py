"""Statistics shared by the reproductions: mean and standard error, paired differences,
bootstrap, and the "more than k standard errors" test that most claims use.

Standard errors use the sample standard deviation (``ddof=1``); with fewer than two values a
standard error is undefined and returned as NaN, so a claim that needs one fails instead of
passing on a single seed.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence

import numpy as np

from saddlepoint.errors import InvalidInputError


def mean_se(values: Iterable[float]) -> tuple[float, float]:
    """Mean and standard error of ``values``; ``(nan, nan)`` if empty, s.e. NaN for one value."""
    a = np.asarray(list(values), dtype=float)
    if a.size == 0:
        return math.nan, math.nan
    se = float(a.std(ddof=1) / math.sqrt(a.size)) if a.size > 1 else math.nan
    return float(a.mean()), se


def paired_difference(a: Mapping[Hashable, float], b: Mapping[Hashable, float]) -> tuple[float, float]:
    """Mean and standard error of ``a[k] - b[k]`` over the keys both share (e.g. (seed, prompt)).

    Pairing removes the variance the two arms share (the same prompt, the same noise stream).
    """
    return mean_se(a[k] - b[k] for k in a if k in b)


def bootstrap(values: Sequence[float] | np.ndarray, statistic: Callable[[np.ndarray], float],
              rng: np.random.Generator, n_boot: int = 1000) -> np.ndarray:
    """``n_boot`` values of ``statistic`` on resamples (with replacement) of ``values``, shape (n_boot,).

    ``values`` may be a 2-D array; rows are resampled.
    """
    data = np.asarray(values)
    if data.shape[0] == 0:
        raise InvalidInputError("bootstrap needs at least one value")
    if n_boot < 1:
        raise InvalidInputError(f"n_boot must be positive, got {n_boot}")
    idx = rng.integers(0, data.shape[0], size=(n_boot, data.shape[0]))
    return np.array([statistic(data[i]) for i in idx], dtype=float)


def bootstrap_se(values: Sequence[float] | np.ndarray, statistic: Callable[[np.ndarray], float],
                 rng: np.random.Generator, n_boot: int = 1000) -> float:
    """Bootstrap standard error of ``statistic`` (s.d. of its resampled values)."""
    return float(bootstrap(values, statistic, rng, n_boot).std(ddof=1))


def exceeds(diff: float, se: float, k: float = 2.0) -> bool:
    """``diff > k * se``: the test behind "A beats B by more than k standard errors".

    False when either number is NaN (an undefined standard error never passes a claim).
    """
    return bool(np.isfinite(diff) and np.isfinite(se) and diff > k * se)


def within(diff: float, se: float, k: float = 2.0) -> bool:
    """``|diff| <= k * se`` (False on NaN): "no different from" at k standard errors."""
    return bool(np.isfinite(diff) and np.isfinite(se) and abs(diff) <= k * se)


def share(flags: Iterable[bool]) -> float:
    """Fraction of true values (NaN if there are none)."""
    a = np.asarray(list(flags), dtype=bool)
    return float(a.mean()) if a.size else math.nan
