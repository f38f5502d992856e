"""Preference games: per prompt x, a matrix P[x] with P[x][i, j] = P(y_i > y_j | x).

A policy assigns each prompt a distribution over its K responses, so policies have shape
``(X, K)``. The game is symmetric and constant-sum: P + P^T = 1 (the diagonal is 1/2), each
player is paid the probability that its response is preferred, and the value is 1/2.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from saddlepoint.errors import InvalidInputError
from saddlepoint.rng import make_rng

__all__ = ["PreferenceGame", "check_policy", "preference_game", "random_preference_game", "stack_games"]


def _check_preference_matrices(values: object, atol: float = 1e-9) -> np.ndarray:
    try:
        arr = np.array(values, dtype=float)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"preferences must be an array of numbers ({exc})") from None
    if arr.ndim == 2:
        arr = arr[None]
    if arr.ndim != 3 or arr.shape[1] != arr.shape[2] or arr.shape[1] == 0 or arr.shape[0] == 0:
        raise InvalidInputError(
            f"preferences must have shape (K, K) or (X, K, K) with K >= 1, got {np.shape(values)}"
        )
    if not np.all(np.isfinite(arr)) or arr.min() < -atol or arr.max() > 1 + atol:
        raise InvalidInputError("preferences must be probabilities in [0, 1]")
    if np.abs(arr + arr.transpose(0, 2, 1) - 1.0).max() > 1e-7:
        raise InvalidInputError("preferences must satisfy P + P^T = 1 (so the diagonal is 1/2)")
    arr = np.clip(arr, 0.0, 1.0)
    arr.setflags(write=False)
    return arr


def check_policy(policy: object, shape: tuple[int, int], what: str = "policy", atol: float = 1e-6) -> np.ndarray:
    """Validate a policy: shape ``(X, K)`` (``(K,)`` is accepted when X = 1), rows on the simplex."""
    arr = np.asarray(policy, dtype=float)
    if arr.ndim == 1 and shape[0] == 1:
        arr = arr[None]
    if arr.shape != shape:
        raise InvalidInputError(f"{what} must have shape {shape}, got {np.shape(policy)}")
    if not np.all(np.isfinite(arr)) or arr.min() < -atol or np.abs(arr.sum(axis=1) - 1.0).max() > atol:
        raise InvalidInputError(f"{what} rows must be probability vectors (non-negative, summing to 1)")
    return arr


@dataclass(frozen=True, eq=False)
class PreferenceGame:
    """A preference game over X prompts with K responses each, and a reference policy.

    ``preferences`` has shape ``(X, K, K)``; ``reference`` (pi_ref) has shape ``(X, K)`` and
    is strictly positive (the regularised game needs log pi_ref). Build with
    :func:`preference_game` or :func:`random_preference_game`.
    """

    preferences: np.ndarray
    reference: np.ndarray
    name: str = "preference_game"

    def __post_init__(self) -> None:
        p = _check_preference_matrices(self.preferences)
        ref = check_policy(self.reference, p.shape[:2], "reference policy")
        if ref.min() <= 0:
            raise InvalidInputError("reference policy must be strictly positive (log pi_ref is used)")
        ref = ref / ref.sum(axis=1, keepdims=True)
        ref.setflags(write=False)
        object.__setattr__(self, "preferences", p)
        object.__setattr__(self, "reference", ref)

    @property
    def n_prompts(self) -> int:
        """X, the number of prompts."""
        return self.preferences.shape[0]

    @property
    def n_responses(self) -> int:
        """K, the number of responses per prompt."""
        return self.preferences.shape[1]

    @property
    def shape(self) -> tuple[int, int]:
        """``(X, K)``, the shape of a policy."""
        return self.preferences.shape[0], self.preferences.shape[1]

    def win_rates(self, policy: np.ndarray) -> np.ndarray:
        """P(y > pi | x) = sum_j P[x, y, j] pi[x, j] for every response. ``(X, K) -> (X, K)``."""
        return np.einsum("xij,xj->xi", self.preferences, policy)

    def uniform(self) -> np.ndarray:
        """The uniform policy, shape ``(X, K)``."""
        return np.full(self.shape, 1.0 / self.n_responses)

    def __repr__(self) -> str:
        return f"PreferenceGame({self.name!r}, X={self.n_prompts}, K={self.n_responses})"


def preference_game(preferences: object, reference: object | None = None, name: str = "preference_game") -> PreferenceGame:
    """A game from a ``(K, K)`` or ``(X, K, K)`` preference array; uniform pi_ref by default."""
    p = _check_preference_matrices(preferences)
    ref = np.full(p.shape[:2], 1.0 / p.shape[1]) if reference is None else reference
    return PreferenceGame(p, ref, name)  # type: ignore[arg-type]


def random_preference_game(
    n_responses: int = 10, n_prompts: int = 1, seed: int | np.random.Generator | None = 0
) -> PreferenceGame:
    """P = 1/2 + A with A skew-symmetric, upper-triangle entries U(-1/2, 1/2); pi_ref ~ Dirichlet(1).

    This is the game family of the RSPO notes' experiment E1. Shapes ``(X, K, K)``, ``(X, K)``.
    """
    for key, val in (("n_responses", n_responses), ("n_prompts", n_prompts)):
        if isinstance(val, bool) or not isinstance(val, (int, np.integer)) or val < 1:
            raise InvalidInputError(f"{key} must be a positive integer, got {val!r}")
    rng = make_rng(seed)
    k = int(n_responses)
    upper = np.triu(rng.uniform(-0.5, 0.5, size=(int(n_prompts), k, k)), 1)
    p = 0.5 + upper - upper.transpose(0, 2, 1)
    ref = rng.dirichlet(np.ones(k), size=int(n_prompts))
    ref = np.maximum(ref, 1e-12)
    ref /= ref.sum(axis=1, keepdims=True)
    label = seed if isinstance(seed, (int, np.integer)) else "rng"
    return PreferenceGame(p, ref, f"random_preference(K={k},X={n_prompts},seed={label})")


def stack_games(games: list[PreferenceGame], name: str = "stacked") -> PreferenceGame:
    """One game whose prompts are the prompts of ``games`` (all with the same K), in order.

    Every dynamic and metric here acts per prompt, so running on the stack is the same as
    running on each game, only vectorised.
    """
    if not games:
        raise InvalidInputError("stack_games needs at least one game")
    k = {g.n_responses for g in games}
    if len(k) != 1:
        raise InvalidInputError(f"games to stack must have the same number of responses, got {sorted(k)}")
    return PreferenceGame(
        np.concatenate([g.preferences for g in games]), np.concatenate([g.reference for g in games]), name
    )
