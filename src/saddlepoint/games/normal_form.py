"""Two-player normal-form (matrix) games.

A game holds the row player's payoffs ``A`` (shape ``(m, n)``) and the column player's ``B``
(same shape). Both players maximise their own payoff: the row player gets ``x @ A @ y`` and
the column player ``x @ B @ y`` for mixed strategies ``x`` (length ``m``) and ``y`` (length
``n``). A zero-sum game has ``B = -A``, so the row player maximises and the column player
minimises ``x @ A @ y``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from saddlepoint.errors import InvalidInputError

__all__ = [
    "NormalFormGame", "zero_sum_game", "bimatrix_game", "symmetric_game", "load_payoffs",
    "rock_paper_scissors", "matching_pennies", "biased_rps", "shapley", "random_zero_sum",
]


def _as_payoff_matrix(values: object, what: str) -> np.ndarray:
    try:
        arr = np.array(values, dtype=float)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"{what} must be a 2-D array of numbers ({exc})") from None
    if arr.ndim != 2:
        raise InvalidInputError(f"{what} must be a 2-D array, got {arr.ndim} dimension(s)")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise InvalidInputError(f"{what} has an empty action set (shape {arr.shape})")
    if not np.all(np.isfinite(arr)):
        bad = tuple(int(i) for i in np.argwhere(~np.isfinite(arr))[0])
        raise InvalidInputError(f"{what} has a non-finite payoff at {bad}")
    arr.setflags(write=False)
    return arr


@dataclass(frozen=True, eq=False)
class NormalFormGame:
    """A two-player game in normal form. Build with :func:`zero_sum_game`,
    :func:`bimatrix_game` or :func:`symmetric_game`; arrays are validated and read-only."""

    row_payoffs: np.ndarray
    col_payoffs: np.ndarray
    name: str = "matrix_game"
    is_zero_sum: bool = field(init=False)

    def __post_init__(self) -> None:
        a = _as_payoff_matrix(self.row_payoffs, "row payoffs")
        b = _as_payoff_matrix(self.col_payoffs, "column payoffs")
        if a.shape != b.shape:
            raise InvalidInputError(f"payoff shapes differ: row {a.shape} vs column {b.shape}")
        object.__setattr__(self, "row_payoffs", a)
        object.__setattr__(self, "col_payoffs", b)
        object.__setattr__(self, "is_zero_sum", bool(np.array_equal(b, -a)))

    @property
    def shape(self) -> tuple[int, int]:
        """``(m, n)``: number of row and column actions."""
        return self.row_payoffs.shape  # type: ignore[return-value]

    @property
    def is_symmetric(self) -> bool:
        """True when swapping the players' roles leaves the game unchanged (``B = A.T``)."""
        return self.shape[0] == self.shape[1] and bool(np.array_equal(self.col_payoffs, self.row_payoffs.T))

    @property
    def payoff_range(self) -> float:
        """Largest payoff magnitude (at least 1e-12); step sizes are scaled by it."""
        return max(float(np.abs(self.row_payoffs).max()), float(np.abs(self.col_payoffs).max()), 1e-12)

    def expected_payoffs(self, x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
        """``(x @ A @ y, x @ B @ y)`` for mixed strategies ``x``, ``y``."""
        x, y = self.check_strategies(x, y)
        return float(x @ self.row_payoffs @ y), float(x @ self.col_payoffs @ y)

    def check_strategies(self, x: object, y: object) -> tuple[np.ndarray, np.ndarray]:
        """Validate a strategy profile: right lengths, non-negative, each summing to one."""
        return _check_simplex(x, self.shape[0], "row strategy"), _check_simplex(y, self.shape[1], "column strategy")

    def __repr__(self) -> str:
        kind = "zero-sum" if self.is_zero_sum else "general-sum"
        return f"NormalFormGame({self.name!r}, {self.shape[0]}x{self.shape[1]}, {kind})"


def _check_simplex(p: object, size: int, what: str, atol: float = 1e-6) -> np.ndarray:
    arr = np.asarray(p, dtype=float)
    if arr.shape != (size,):
        raise InvalidInputError(f"{what} must have shape ({size},), got {arr.shape}")
    if not np.all(np.isfinite(arr)) or np.any(arr < -atol) or abs(arr.sum() - 1.0) > atol:
        raise InvalidInputError(f"{what} must be a probability vector (non-negative, sums to 1)")
    return arr


def zero_sum_game(payoffs: object, name: str = "zero_sum") -> NormalFormGame:
    """A zero-sum game from the row player's payoff matrix (row maximises, column minimises)."""
    a = _as_payoff_matrix(payoffs, "payoffs")
    return NormalFormGame(a, -a, name)


def bimatrix_game(row_payoffs: object, col_payoffs: object, name: str = "bimatrix") -> NormalFormGame:
    """A general-sum game from both players' payoff matrices, each of shape ``(m, n)``."""
    return NormalFormGame(row_payoffs, col_payoffs, name)  # type: ignore[arg-type]


def symmetric_game(payoffs: object, name: str = "symmetric") -> NormalFormGame:
    """A symmetric game: the column player's payoffs are ``A.T`` (``A`` must be square)."""
    a = _as_payoff_matrix(payoffs, "payoffs")
    if a.shape[0] != a.shape[1]:
        raise InvalidInputError(f"a symmetric game needs a square payoff matrix, got shape {a.shape}")
    return NormalFormGame(a, a.T.copy(), name)


def rock_paper_scissors() -> NormalFormGame:
    """Rock-paper-scissors: value 0, unique equilibrium uniform for both players."""
    return zero_sum_game([[0, -1, 1], [1, 0, -1], [-1, 1, 0]], "rock_paper_scissors")


def matching_pennies() -> NormalFormGame:
    """Matching pennies: value 0, unique equilibrium (1/2, 1/2) for both players."""
    return zero_sum_game([[1, -1], [-1, 1]], "matching_pennies")


def biased_rps() -> NormalFormGame:
    """Biased rock-paper-scissors: OpenSpiel's ``matrix_brps`` payoffs divided by 50.

    Value 0; unique equilibrium (1/16, 10/16, 5/16) for both players.
    """
    a = np.array([[0, -25, 50], [25, 0, -5], [-50, 5, 0]], dtype=float) / 50.0
    return zero_sum_game(a, "biased_rps")


def shapley() -> NormalFormGame:
    """Shapley's (1964) 3x3 general-sum game, on which fictitious play cycles forever.

    Its unique Nash equilibrium is uniform for both players (payoff 1/3 each).
    """
    a = np.eye(3)
    b = np.array([[0, 1, 0], [0, 0, 1], [1, 0, 0]], dtype=float)
    return bimatrix_game(a, b, "shapley")


def random_zero_sum(m: int = 10, n: int = 10, seed: int = 0) -> NormalFormGame:
    """A zero-sum game with i.i.d. uniform payoffs in [-1, 1], reproducible from ``seed``."""
    for key, val in (("m", m), ("n", n)):
        if isinstance(val, bool) or not isinstance(val, (int, np.integer)) or val < 1:
            raise InvalidInputError(f"{key} must be a positive integer, got {val!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InvalidInputError(f"seed must be a non-negative integer, got {seed!r}")
    rng = np.random.default_rng(int(seed))
    return zero_sum_game(rng.uniform(-1.0, 1.0, size=(int(m), int(n))), f"random_zero_sum(m={m},n={n},seed={seed})")


def load_payoffs(path: str | Path) -> NormalFormGame:
    """A zero-sum game from a file of the row player's payoffs (row maximises).

    ``.npy`` holds a 2-D array; ``.csv`` a comma-separated matrix; ``.json`` a list of rows or
    an object with key ``"payoffs"``.
    """
    p = Path(path)
    if not p.is_file():
        raise InvalidInputError(f"payoff file {p} does not exist")
    suffix = p.suffix.lower()
    try:
        if suffix == ".npy":
            data: object = np.load(p, allow_pickle=False)
        elif suffix == ".csv":
            data = np.loadtxt(p, delimiter=",", ndmin=2)
        elif suffix == ".json":
            data = json.loads(p.read_text())
            if isinstance(data, dict):
                if "payoffs" not in data:
                    raise InvalidInputError(f"{p}: JSON object has no 'payoffs' key")
                data = data["payoffs"]
        else:
            raise InvalidInputError(f"{p}: unsupported payoff file type {suffix!r} (use .npy, .csv or .json)")
    except InvalidInputError:
        raise
    except (ValueError, OSError, UnicodeDecodeError) as exc:
        raise InvalidInputError(f"{p}: cannot read payoffs ({str(exc).splitlines()[0]})") from None
    return zero_sum_game(_as_payoff_matrix(data, f"payoffs in {p.name}"), p.stem)
