"""One way to be a method: the stepper protocol, registration with the config, one loop.

**The protocol.** A method is a class constructed as ``Method(problem, config, rng)`` (a
problem such as a game, a config dataclass, a ``numpy.random.Generator``) that offers

- ``step() -> None``: one iteration of the method;
- ``iteration`` (read-only): the iterations taken so far;
- ``cost`` (read-only): a mapping of what the method has spent on every axis it counts,
  always ``"iterations"``, and e.g. ``"nodes_visited"``, ``"samples"``, ``"forward_passes"``;
- ``output()``: the current solution (average strategies, a policy, ...), never an internal
  array that a later step mutates.

It may also offer ``advance(n) -> int`` (take up to ``n`` iterations at once, return how
many) where batching iterations pays (a sampler whose unit of work is a whole batched pass
may take more, never cutting a pass), and ``done`` (read-only, True once the method has
finished: converged, or a budget of its own config spent; :func:`run` then stops).

**Registration lives with the config.** A method's config is a frozen dataclass with two
class variables: ``algo`` (its registered name, the key in :data:`saddlepoint.registry.SOLVERS`
or the family's list) and ``method`` (``"module:Class"`` of the class above).
:func:`make_method` builds a method from a config alone; nothing else maps configs to classes.

**One loop.** :func:`run` steps a method until a :class:`Budget` on any cost axis is spent (or
a ``stop`` rule fires), calling ``evaluate(method)`` at points of that axis; each row of the
returned :class:`Trace` is ``{"iteration", <cost axes but iterations>, **evaluate(method),
"seconds"}``, where ``seconds`` is the method's own time (evaluations excluded).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np

from saddlepoint.errors import InvalidInputError
from saddlepoint.progress import progress_bar
from saddlepoint.rng import make_rng

__all__ = ["Budget", "CountsIterations", "Method", "Trace", "evaluation_points", "make_method", "run"]


@runtime_checkable
class Method(Protocol):
    """An iterative method (see the module docstring): ``Method(problem, config, rng)``."""

    @property
    def iteration(self) -> int: ...

    @property
    def cost(self) -> Mapping[str, float]: ...

    def step(self) -> None: ...

    def output(self) -> Any: ...


class CountsIterations:
    """Base of a method that counts iterations only: ``iteration`` and ``cost`` from ``self._t``
    (which its ``step`` advances)."""

    _t: int = 0

    @property
    def iteration(self) -> int:
        """Iterations completed."""
        return self._t

    @property
    def cost(self) -> dict[str, int]:
        """Iterations completed (the only cost counted)."""
        return {"iterations": self._t}


@dataclass(frozen=True)
class Budget:
    """Spend at most ``limit`` on cost ``axis`` (e.g. ``Budget(1e8, "nodes_visited")``)."""

    limit: float
    axis: str = "iterations"

    def __post_init__(self) -> None:
        if isinstance(self.limit, bool) or not isinstance(self.limit, (int, float, np.integer, np.floating)):
            raise InvalidInputError(f"budget limit must be a number, got {self.limit!r}")
        if not np.isfinite(self.limit) or self.limit <= 0:
            raise InvalidInputError(f"budget limit must be positive and finite, got {self.limit}")
        if not isinstance(self.axis, str) or not self.axis:
            raise InvalidInputError(f"budget axis must be a cost name such as 'iterations', got {self.axis!r}")


@dataclass(frozen=True)
class Trace:
    """What :func:`run` saw: one row per evaluation, the method's own seconds, the final cost,
    and whether a ``stop`` rule ended the run before the budget was spent."""

    rows: tuple[dict[str, Any], ...]
    seconds: float
    cost: dict[str, float]
    stopped: bool = False


def evaluation_points(limit: float, *, every: float | None = None, points: int = 50,
                      integer: bool = True) -> list[float]:
    """Points of a cost axis at which to evaluate, up to ``limit`` (always included): every
    ``every``, or ~``points`` log-spaced ones from 1 when ``every`` is None. On an integer axis
    (iterations, nodes) the log-spaced points are rounded."""
    if limit <= 0:
        return []
    if every is not None:
        if every <= 0:
            raise InvalidInputError(f"evaluation interval must be positive, got {every}")
        out = set(np.arange(every, limit + every * 1e-9, every).tolist())
    else:
        if points < 1:
            raise InvalidInputError(f"number of evaluation points must be >= 1, got {points}")
        grid = np.geomspace(1, limit, num=max(1, min(points, int(limit)) if integer else points))
        out = {int(round(v)) for v in grid} if integer else set(grid.tolist())
    if integer:
        out = {int(round(v)) for v in out}
    out.add(int(limit) if integer and float(limit).is_integer() else limit)
    return sorted(v for v in out if 0 < v <= limit)


def make_method(problem: Any, config: Any, rng: np.random.Generator | int | None = None) -> Method:
    """Build the method ``config`` names (its ``method`` class variable) on ``problem``."""
    from saddlepoint.registry import load

    target = getattr(type(config), "method", None)
    if not isinstance(target, str):
        raise InvalidInputError(f"{type(config).__name__} names no method (a 'method' class variable "
                                f"'module:Class' is needed)")
    return load(target)(problem, config, make_rng(rng))


def _spent(method: Method, axis: str) -> float:
    cost = method.cost
    if axis not in cost:
        raise InvalidInputError(f"{type(method).__name__} counts no {axis!r} (it counts {sorted(cost)})")
    return float(cost[axis])


def run(
    method: Method,
    budget: Budget | int,
    *,
    evaluate: Callable[[Method], Mapping[str, Any]] | None = None,
    every: float | None = None,
    points: int = 50,
    at: list[float] | None = None,
    every_step: int | None = None,
    stop: Callable[[dict[str, Any]], bool] | None = None,
    desc: str | None = None,
    show_progress: bool | None = None,
) -> Trace:
    """Step ``method`` until ``budget`` (a :class:`Budget`, or an int of iterations) is spent.

    ``evaluate(method)`` runs at each point of :func:`evaluation_points` on the budget's axis
    (``every`` apart, else ``points`` log-spaced; or exactly the points ``at``), the first time
    the method's cost reaches it (a step that crosses several points evaluates once); the last
    row is at the end of the run. With ``every_step`` the rows are instead after every that
    many steps (for methods whose step ends with an evaluation anyway, e.g. a double-oracle
    window). ``stop(row)`` returning True ends the run after that row, and so does the
    method's ``done`` turning True (after a row there). A progress bar on a terminal follows the budget's axis.
    """
    if not isinstance(budget, Budget):
        budget = Budget(budget)
    axis, limit = budget.axis, float(budget.limit)
    integer = axis == "iterations" or float(limit).is_integer()
    marks = sorted(float(v) for v in at) if at is not None else evaluation_points(limit, every=every, points=points, integer=integer)
    if at is not None and any(not 0 < v <= limit for v in marks):
        raise InvalidInputError(f"evaluation points must lie in (0, {limit:g}], got {at}")
    if every_step is not None and (isinstance(every_step, bool) or not isinstance(every_step, int) or every_step < 1):
        raise InvalidInputError(f"every_step must be a positive integer, got {every_step!r}")
    advance = getattr(method, "advance", None) if axis == "iterations" else None
    evaluate = evaluate or (lambda m: {})
    rows: list[dict[str, Any]] = []
    start, eval_seconds, stopped = time.perf_counter(), 0.0, False
    spent = _spent(method, axis)
    total = int(limit) if integer else 100
    with progress_bar(total, desc=desc, enabled=show_progress) as bar:
        done = 0

        def tick(value: float) -> None:
            nonlocal done
            now = min(total, int(value if integer else 100 * value / limit))
            if now > done:
                bar.update(now - done)
                done = now

        i, steps = 0, 0
        finished = bool(getattr(method, "done", False))
        while spent < limit and not finished:
            while i < len(marks) and marks[i] <= spent:
                i += 1
            target = marks[i] if i < len(marks) and every_step is None else limit
            while spent < target and not finished:
                if every_step is not None:
                    method.step()
                    steps += 1
                elif advance is not None:
                    advance(int(target - spent))
                else:
                    method.step()
                before, spent = spent, _spent(method, axis)
                if spent <= before:
                    raise InvalidInputError(f"{type(method).__name__}'s {axis!r} did not grow in a step; "
                                            f"a budget on it would never be spent")
                tick(spent)
                finished = bool(getattr(method, "done", False))
                if every_step is not None and steps % every_step == 0:
                    break
            t0 = time.perf_counter()
            row = {"iteration": method.iteration,
                   **{k: v for k, v in method.cost.items() if k != "iterations"},
                   **evaluate(method)}
            eval_seconds += time.perf_counter() - t0
            row["seconds"] = time.perf_counter() - start - eval_seconds
            rows.append(row)
            if (stop is not None and stop(row)) or finished:
                stopped = spent < limit
                break
    return Trace(tuple(rows), time.perf_counter() - start - eval_seconds, dict(method.cost), stopped)
