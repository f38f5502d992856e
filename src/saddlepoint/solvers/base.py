"""What every solver returns, whatever the game: a :class:`SolveResult` record."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any, Protocol

import numpy as np

from saddlepoint.errors import InvalidInputError
from saddlepoint.progress import progress_bar
from saddlepoint.results import to_jsonable
from saddlepoint.rng import make_rng


@dataclass(frozen=True)
class SolveResult:
    """The outcome of ``solve``: the solution (average strategies), how good it is, the curve.

    ``exploitability`` follows OpenSpiel's convention, ``nash_conv / 2``; ``nash_conv`` is the
    sum over players of what a best response gains (the duality gap in a zero-sum game).
    ``last_*`` fields judge the last iterate where the method has one. ``curve`` holds one
    dict per evaluation (``iteration``, ``exploitability``, ``nash_conv``, ...).
    """

    game: str
    algo: str
    iterations: int
    strategies: tuple[Any, ...]
    exploitability: float
    nash_conv: float
    seconds: float
    value: float | None = None
    last_strategies: tuple[Any, ...] | None = None
    last_exploitability: float | None = None
    last_nash_conv: float | None = None
    curve: tuple[dict[str, Any], ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)

    def summary(self, *, include_strategies: bool = True) -> dict[str, Any]:
        """A JSON-friendly dictionary (the CLI's ``--json`` output)."""
        out: dict[str, Any] = {
            "game": self.game,
            "algo": self.algo,
            "iterations": self.iterations,
            "value": None if self.value is None else float(self.value) + 0.0,  # no "-0.0"
            "exploitability": self.exploitability,
            "nash_conv": self.nash_conv,
            "last_exploitability": self.last_exploitability,
            "last_nash_conv": self.last_nash_conv,
            "seconds": self.seconds,
            **self.extra,
        }
        if include_strategies:
            out["strategies"] = [np.asarray(s) if isinstance(s, np.ndarray) else s for s in self.strategies]
        if self.curve:
            out["curve"] = list(self.curve)
        return to_jsonable(out)


def eval_schedule(iterations: int, eval_every: int | None, points: int = 50) -> set[int]:
    """Iterations (1-based) at which to evaluate: every ``eval_every``, or ~``points`` log-spaced
    ones when ``eval_every`` is None; the last iteration is always included."""
    if iterations <= 0:
        return set()
    if eval_every is not None:
        sched = set(range(eval_every, iterations + 1, eval_every))
    else:
        sched = {int(round(v)) for v in np.geomspace(1, iterations, num=min(points, iterations))}
    sched.add(iterations)
    return sched


class Stepper(Protocol):
    """An iterative method: ``step()`` advances one iteration; ``iteration`` counts them.
    It may also offer ``advance(n) -> int`` to take up to ``n`` iterations at once."""

    @property
    def iteration(self) -> int: ...

    def step(self) -> None: ...


def run_with_evaluations(
    stepper: Stepper,
    iterations: int,
    eval_every: int | None,
    evaluate: Callable[[], dict[str, Any]],
    *,
    desc: str | None = None,
    show_progress: bool | None = None,
) -> list[dict[str, Any]]:
    """Advance ``stepper`` to ``iterations``, calling ``evaluate()`` at each point of
    :func:`eval_schedule`; each curve row is ``{"iteration", **evaluate(), "seconds"}`` where
    ``seconds`` is the method's own time so far (evaluations excluded). A progress bar is shown
    on a terminal."""
    advance = getattr(stepper, "advance", None)
    start, eval_seconds, curve = time.perf_counter(), 0.0, []
    with progress_bar(iterations, desc=desc, enabled=show_progress) as bar:
        for target in sorted(eval_schedule(iterations, eval_every)):
            while stepper.iteration < target:
                if advance is not None:
                    bar.update(advance(target - stepper.iteration))
                else:
                    stepper.step()
                    bar.update(1)
            t0 = time.perf_counter()
            row = {"iteration": target, **evaluate()}
            eval_seconds += time.perf_counter() - t0
            row["seconds"] = time.perf_counter() - start - eval_seconds
            curve.append(row)
    return curve


def solve_registered(
    game: Any,
    algo: str,
    *,
    kind: str,
    label: str,
    solve: Callable[..., SolveResult],
    iterations: int,
    seed: int = 0,
    eval_every: int | None = None,
    show_progress: bool | None = None,
    aliases: Mapping[str, str] | None = None,
) -> SolveResult:
    """The shared body of the CLI backends (``registry.SOLVE_BACKENDS``, one ``solve_by_name``
    per game kind): resolve ``algo`` (through ``aliases``, e.g. ``lp``) in ``registry.SOLVERS``,
    refuse a solver registered for another kind (``label`` names this kind in the message),
    build its config with ``iterations`` when the config has that field (exact solvers such as
    LPs have none), and return ``solve(game, config, make_rng(seed), eval_every=...,
    show_progress=...)``."""
    from saddlepoint.registry import SOLVERS, load, lookup

    algo = (aliases or {}).get(algo, algo)
    entry = lookup(SOLVERS, algo, "solver")
    if entry.kind != kind:
        raise InvalidInputError(f"solver {algo!r} is for {entry.kind} games, not {label} games")
    config_cls = load(entry.target)  # type: ignore[arg-type]
    takes_iterations = any(f.name == "iterations" for f in fields(config_cls))
    config = config_cls(iterations=iterations) if takes_iterations else config_cls()
    return solve(game, config, make_rng(seed), eval_every=eval_every, show_progress=show_progress)
