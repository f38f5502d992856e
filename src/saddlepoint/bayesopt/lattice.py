"""The N-lattice of mean fields: allocations of N agents to K actions, as integer counts.

A joint action x in {0..K-1}^N has mean field xi = counts / N, a point of the lattice
Delta_K ∩ (1/N) Z^K. Everything here works on counts (rows summing to N), so rounding never
loses an agent. Search tools for acquisition functions on the lattice: random points,
largest-remainder rounding of a continuous xi, "move s agents from a to b" neighbourhoods
and hill climbing, the mean-field methods' search (:func:`search_lattice`, with a cap on
acquisition evaluations by :class:`BudgetedAcquisition`); an exact dynamic programme for
separable objectives.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from itertools import combinations

import numpy as np
from scipy.optimize import linear_sum_assignment, minimize

from saddlepoint.config import check_positive_int
from saddlepoint.errors import InvalidInputError

__all__ = [
    "BudgetedAcquisition",
    "assignment_of",
    "counts_of",
    "enumerate_lattice",
    "hill_climb",
    "largest_remainder",
    "lattice_size",
    "min_cost_assignment",
    "move_sizes",
    "neighbours",
    "random_lattice",
    "relax",
    "search_lattice",
    "separable_optimum",
]


def lattice_size(n: int, k: int) -> int:
    """Number of allocations of n agents to k actions: C(n + k - 1, k - 1)."""
    return math.comb(n + k - 1, k - 1)


def enumerate_lattice(n: int, k: int, *, limit: int = 2_000_000) -> np.ndarray:
    """Every allocation (stars and bars): counts of shape (C(n+k-1, k-1), k), rows sum to n.

    Refuses lattices larger than ``limit``.
    """
    check_positive_int("n_agents", n)
    check_positive_int("n_actions", k)
    size = lattice_size(n, k)
    if size > limit:
        raise InvalidInputError(f"the lattice for N={n}, K={k} has {size} points (> limit {limit})")
    if k == 1:
        return np.array([[n]])
    bars = np.array(list(combinations(range(n + k - 1), k - 1)), dtype=np.int64)  # (size, k-1)
    edges = np.concatenate([np.full((size, 1), -1), bars, np.full((size, 1), n + k - 1)], axis=1)
    return np.diff(edges, axis=1) - 1


def random_lattice(n: int, k: int, size: int, rng: np.random.Generator, *,
                   concentration: float = 1.0) -> np.ndarray:
    """``size`` random allocations: xi ~ Dirichlet(concentration), counts ~ Multinomial(n, xi).
    Shape (size, k)."""
    xi = rng.dirichlet(np.full(k, concentration), size=size)
    return rng.multinomial(n, xi).astype(np.int64)


def largest_remainder(xi: np.ndarray, n: int) -> np.ndarray:
    """Round points of the simplex (..., k) to counts summing to ``n`` (Hamilton's method):
    floor(n xi), then one more agent to the largest remainders."""
    x = np.clip(np.asarray(xi, dtype=float), 0.0, None)
    total = x.sum(-1, keepdims=True)
    if np.any(total <= 0):
        raise InvalidInputError("xi must have a positive sum")
    scaled = n * x / total
    base = np.floor(scaled).astype(np.int64)
    short = n - base.sum(-1)
    order = np.argsort(-(scaled - base), axis=-1, kind="stable")
    ranks = np.argsort(order, axis=-1, kind="stable")
    return base + (ranks < short[..., None]).astype(np.int64)


def move_sizes(n: int, multiscale: bool = True) -> np.ndarray:
    """Agent counts moved by one hill-climbing step: 1, or 1, 2, 4, ... up to n / 4."""
    if not multiscale:
        return np.array([1])
    sizes = [1]
    while sizes[-1] * 2 <= max(1, n // 4):
        sizes.append(sizes[-1] * 2)
    return np.array(sizes)


def neighbours(counts: np.ndarray, sizes: np.ndarray | tuple[int, ...] = (1,)) -> np.ndarray:
    """Allocations reachable by moving ``s`` agents from action a to action b (a != b,
    counts[a] >= s) for each s in ``sizes``: shape (M, k) with M <= len(sizes) k (k - 1)."""
    c = np.asarray(counts, dtype=np.int64)
    k = c.shape[0]
    src, dst = np.nonzero(~np.eye(k, dtype=bool))
    out = []
    for s in np.asarray(sizes):
        ok = c[src] >= s
        moves = np.repeat(c[None], ok.sum(), axis=0)
        rows = np.arange(moves.shape[0])
        moves[rows, src[ok]] -= s
        moves[rows, dst[ok]] += s
        out.append(moves)
    return np.concatenate(out) if out else np.zeros((0, k), dtype=np.int64)


def hill_climb(
    objective: Callable[[np.ndarray], np.ndarray],
    start: np.ndarray,
    *,
    sizes: np.ndarray | tuple[int, ...] = (1,),
    max_steps: int = 200,
) -> tuple[np.ndarray, float, int]:
    """Steepest ascent until no move improves ``objective`` (which maps counts (M, k) to
    values (M,)), coarse to fine: moves of the largest size in ``sizes`` until none improves,
    then the next size, ending with the smallest, so the result is a local maximum for the
    smallest moves (one agent when sizes contains 1). Returns (counts, value, steps taken)."""
    current = np.asarray(start, dtype=np.int64).copy()
    value = float(objective(current[None])[0])
    steps = 0
    for size in sorted({int(s) for s in np.atleast_1d(sizes)}, reverse=True):
        while steps < max_steps:
            cand = neighbours(current, np.array([size]))
            if cand.shape[0] == 0:
                break
            vals = objective(cand)
            best = int(np.argmax(vals))
            if not vals[best] > value + 1e-12 * max(1.0, abs(value)):
                break
            current, value = cand[best], float(vals[best])
            steps += 1
    return current, value, steps


class BudgetedAcquisition:
    """An acquisition function that counts the points it scores and, past ``budget`` points
    (None: no cap), scores the rest -inf without evaluating them."""

    def __init__(self, acquisition: Callable[[np.ndarray], np.ndarray], budget: int | None) -> None:
        self.acquisition, self.budget, self.used = acquisition, budget, 0

    @property
    def spent(self) -> bool:
        return self.budget is not None and self.used >= self.budget

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x)
        take = x.shape[0] if self.budget is None else max(0, min(x.shape[0], self.budget - self.used))
        out = np.full(x.shape[0], -np.inf)
        if take:
            out[:take] = self.acquisition(x[:take])
        self.used += take
        return out


def search_lattice(
    acquisition: Callable[[np.ndarray], np.ndarray],
    n: int,
    k: int,
    rng: np.random.Generator,
    *,
    past: list[np.ndarray] | None = None,
    lattice_optimizer: str = "hill_climb",
    n_candidates: int = 300,
    n_starts: int = 3,
    multiscale_moves: bool = True,
) -> np.ndarray:
    """Maximise ``acquisition`` (mean fields xi (M, k) -> (M,)) over the n-lattice; returns
    counts (k,). The pool is ``n_candidates`` random points, the even split and the ``past``
    allocations; ``lattice_optimizer`` ``random`` keeps its best point, ``hill_climb`` climbs
    from its ``n_starts`` best distinct points, ``relaxed`` first ascends on the simplex from
    them (:func:`relax`). The fields are those of
    :class:`saddlepoint.bayesopt.config.LatticeSearch`."""
    pool = [random_lattice(n, k, n_candidates, rng), largest_remainder(np.full((1, k), 1.0 / k), n)]
    if past:
        pool.append(np.unique(np.array(past), axis=0))
    pool = np.concatenate(pool)
    vals = acquisition(pool / n)
    if lattice_optimizer == "random":
        return pool[int(np.argmax(vals))]
    order = np.argsort(-vals, kind="stable")
    _, first = np.unique(pool[order], axis=0, return_index=True)
    starts = pool[order[np.sort(first)[:n_starts]]]  # best distinct pool points
    sizes = move_sizes(n, multiscale_moves)
    best, best_val = pool[order[0]], float(vals[order[0]])
    for start in starts:
        if lattice_optimizer == "relaxed":
            start = relax(acquisition, start / n, n)
        counts, val, _ = hill_climb(lambda cs: acquisition(cs / n), start, sizes=sizes)
        if val > best_val:
            best, best_val = counts, val
    return best


def relax(acquisition: Callable[[np.ndarray], np.ndarray], xi0: np.ndarray, n: int) -> np.ndarray:
    """Continuous ascent of ``acquisition`` on the simplex from ``xi0`` (softmax
    parametrisation, L-BFGS-B with finite differences), rounded to counts summing to ``n`` by
    largest remainders."""
    z0 = np.log(xi0 + 1e-3)

    def neg(z: np.ndarray) -> float:
        e = np.exp(z - z.max())
        return -float(acquisition((e / e.sum())[None])[0])

    res = minimize(neg, z0, method="L-BFGS-B", options={"maxiter": 30})
    e = np.exp(res.x - res.x.max())
    return largest_remainder(e / e.sum(), n)


def counts_of(actions: np.ndarray, k: int) -> np.ndarray:
    """Counts (k,) of a joint action (n,) with entries in 0..k-1."""
    return np.bincount(np.asarray(actions, dtype=np.int64), minlength=k)


def assignment_of(counts: np.ndarray) -> np.ndarray:
    """A joint action (n,) with the given counts: agents 0..c_0-1 take action 0, and so on
    (any assignment is equivalent under permutation invariance)."""
    c = np.asarray(counts, dtype=np.int64)
    return np.repeat(np.arange(c.shape[0]), c)


def min_cost_assignment(counts: np.ndarray, cost: np.ndarray) -> np.ndarray:
    """Agents to actions with the given counts, minimising total ``cost`` (n, k) (e.g. travel
    distance of each agent to each location): a library addition (not in the paper), solved
    exactly by ``scipy.optimize.linear_sum_assignment``. Returns the joint action (n,)."""
    c = np.asarray(counts, dtype=np.int64)
    cost = np.asarray(cost, dtype=float)
    if cost.shape != (c.sum(), c.shape[0]):
        raise InvalidInputError(f"cost must have shape ({c.sum()}, {c.shape[0]}), got {cost.shape}")
    slots = assignment_of(c)  # one column per slot, labelled by its action
    rows, cols = linear_sum_assignment(cost[:, slots])
    actions = np.empty(c.sum(), dtype=np.int64)
    actions[rows] = slots[cols]
    return actions


def separable_optimum(gain: np.ndarray) -> tuple[float, np.ndarray]:
    """Exact maximum of sum_a gain[a, c_a] over counts summing to n, by dynamic programming
    over actions in O(k n^2). ``gain`` has shape (k, n + 1). Returns (value, counts (k,))."""
    g = np.asarray(gain, dtype=float)
    k, n1 = g.shape
    idx = np.arange(n1)
    diff = idx[:, None] - idx[None, :]  # total m, count c -> m - c
    best = g[0].copy()
    choice = []
    for a in range(1, k):
        table = np.where(diff >= 0, best[np.clip(diff, 0, None)] + g[a][None, :], -np.inf)
        c = np.argmax(table, axis=1)
        choice.append(c)
        best = table[idx, c]
    counts = np.zeros(k, dtype=np.int64)
    m = n1 - 1
    for a in range(k - 1, 0, -1):
        counts[a] = choice[a - 1][m]
        m -= counts[a]
    counts[0] = m
    return float(best[n1 - 1]), counts
