"""Level scores for prioritised level replay: per-step means, so that a level's horizon does
not raise its score by construction (a summed score would favour long imagined horizons).

Every function takes time-major arrays ``(T, B)`` for ``B`` levels played for up to ``T``
steps, with a boolean ``mask`` ``(T, B)`` marking the steps that belong to each level, and
returns ``(B,)`` scores. A level with no valid step gets NaN, which the sampler refuses.
"""

from __future__ import annotations

import numpy as np

from saddlepoint.config import check_choice
from saddlepoint.errors import InvalidInputError

SCORES = ("pvl", "gae", "maxmc")


def _masked_mean(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    values = np.asarray(values, dtype=np.float64)
    mask = np.asarray(mask, dtype=bool)
    if values.shape != mask.shape or values.ndim != 2:
        raise InvalidInputError(f"scores need (T, B) arrays of one shape, got {values.shape} and {mask.shape}")
    count = mask.sum(axis=0)
    total = np.where(mask, values, 0.0).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def mean_abs_gae(advantages: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """PLR's score (Jiang et al. 2021): ``(1/T) sum_t |A_t|`` with ``A_t`` the GAE. Shapes (T, B) -> (B,)."""
    return _masked_mean(np.abs(advantages), mask)


def positive_value_loss(advantages: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``(1/T) sum_t max(sum_{k>=t} (gamma lambda)^{k-t} delta_k, 0) = (1/T) sum_t max(A_t, 0)``.

    Shapes (T, B) -> (B,).
    """
    return _masked_mean(np.maximum(advantages, 0.0), mask)


def max_mc(values: np.ndarray, mask: np.ndarray, max_return: np.ndarray) -> np.ndarray:
    """MaxMC (jaxued): ``(1/T) sum_t (R_max - V(s_t))`` with ``R_max`` the best return seen on the level.

    ``values`` (T, B), ``mask`` (T, B), ``max_return`` (B,) -> (B,).
    """
    max_return = np.asarray(max_return, dtype=np.float64)
    if max_return.shape != (np.shape(values)[1],):
        raise InvalidInputError(f"max_return must have shape ({np.shape(values)[1]},), got {max_return.shape}")
    return _masked_mean(max_return[None, :] - np.asarray(values, dtype=np.float64), mask)


def level_scores(
    name: str, advantages: np.ndarray, values: np.ndarray, mask: np.ndarray, max_return: np.ndarray | None = None
) -> np.ndarray:
    """Dispatch on ``name`` in :data:`SCORES` ("pvl", "gae", "maxmc"); arrays (T, B) -> (B,)."""
    check_choice("score", name, SCORES)
    if name == "pvl":
        return positive_value_loss(advantages, mask)
    if name == "gae":
        return mean_abs_gae(advantages, mask)
    if max_return is None:
        raise InvalidInputError("score 'maxmc' needs max_return")
    return max_mc(values, mask, max_return)

