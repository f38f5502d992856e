"""What every solver returns, whatever the game (a :class:`SolveResult` record), and the one
:func:`solve` for every game-solving method.

A game-solving method follows :mod:`saddlepoint.method`'s protocol (``Method(game, config,
rng)``, ``step``, ``iteration``, ``cost``, ``output``) and adds ``metrics() -> dict`` (its
family's curve metrics, e.g. ``exploitability`` and ``nash_conv``) and ``result(trace) ->
SolveResult``. Its config is a frozen dataclass with ``algo`` and ``method`` class variables,
listed once in :data:`saddlepoint.registry.SOLVERS` (with the game kinds it solves). Two
optional hooks of :func:`solve`: ``curve_per_step = True`` (a curve row after every step, for
methods whose step ends with an evaluation anyway) and ``with_options(**options)`` (a method
taking family options, e.g. extensive-form checkpoints, returns the method that honours them).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

from saddlepoint.config import check_positive_int
from saddlepoint.errors import InvalidInputError
from saddlepoint.method import Budget, Trace, make_method, run
from saddlepoint.results import to_jsonable


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


def solve(
    problem: Any,
    config: Any,
    rng: np.random.Generator | int | None = None,
    *,
    eval_every: int | None = None,
    show_progress: bool | None = None,
    **family_options: Any,
) -> SolveResult:
    """Run ``config``'s method on ``problem`` for ``config.iterations`` (one step for exact
    solvers, whose configs have no ``iterations``) and return its :class:`SolveResult`.

    The curve evaluates ``metrics()`` every ``eval_every`` iterations (None: ~50 log-spaced
    points; the last iteration always), or after every (``eval_every``-th) step for methods
    whose steps end with an evaluation anyway (``curve_per_step``: the double-oracle family).
    ``family_options`` go to the method's ``with_options`` (extensive-form checkpoints).
    Same ``rng`` seed, same result.
    """
    if eval_every is not None:
        check_positive_int("eval_every", eval_every)
    method: Any = make_method(problem, config, rng)
    options = {k: v for k, v in family_options.items() if v is not None}
    if options:
        with_options = getattr(method, "with_options", None)
        if with_options is None:
            raise InvalidInputError(f"{config.algo!r} takes no options {sorted(options)}")
        method = with_options(**options)
    iterations = getattr(config, "iterations", 1)
    if iterations is None:
        raise InvalidInputError(f"{config.algo!r} needs an iteration budget to be solved (iterations=None)")
    if getattr(method, "curve_per_step", False):
        schedule: dict[str, Any] = {"every_step": eval_every or 1}
    else:
        schedule = {"every": eval_every}
    if iterations == 0:
        return method.result(Trace((), 0.0, dict(method.cost)))
    trace = run(method, Budget(iterations), evaluate=lambda m: m.metrics(), desc=config.algo,
                show_progress=show_progress, **schedule)
    return method.result(trace)


def solver_config(algo: str, kind: str, **settings: Any) -> Any:
    """The config of the registered solver ``algo`` (``lp`` means the exact LP of ``kind``) for a
    game of ``kind``, with ``settings`` set where the config has them (``iterations`` is skipped
    for exact solvers); one clear error if the solver does not solve that kind of game."""
    from saddlepoint.registry import SOLVERS, load, lookup

    resolved = LP_BY_KIND.get(kind, algo) if algo == "lp" else algo
    entry = lookup(SOLVERS, resolved, "solver")
    if kind not in entry.kind.split(","):
        names = sorted(n for n, e in SOLVERS.items() if kind in e.kind.split(",") and e.target)
        raise InvalidInputError(f"solver {algo!r} does not solve {kind} games; choose from: {', '.join(names)}")
    config_cls = load(entry.target)  # type: ignore[arg-type]
    names = {f.name for f in fields(config_cls)}
    unknown = sorted(set(settings) - names - {"iterations"})
    if unknown:
        raise InvalidInputError(f"solver {resolved!r} has no setting {unknown[0]!r}")
    return config_cls(**{k: v for k, v in settings.items() if k in names})


LP_BY_KIND = {"matrix": "lp", "efg": "sequence_form_lp", "preference": "preference_lp"}
"""What ``lp`` means on a game of each kind."""
