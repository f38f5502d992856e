"""One call to solve an extensive-form game with any of saddlepoint's EFG solvers.

:func:`solve` compiles the game (cached), runs the solver for ``config.iterations`` with a
progress bar, evaluates the average strategies' exploitability (NashConv / 2) and NashConv on a
schedule, and returns a :class:`~saddlepoint.solvers.base.SolveResult` whose ``strategies`` are
the two behaviour strategies (one probability per sequence, see
:mod:`saddlepoint.solvers.efg_best_response`), whose ``curve`` rows hold ``iteration``,
``nodes_visited``, ``exploitability``, ``nash_conv`` and ``seconds`` (solver time, evaluations
excluded) and whose ``extra`` holds ``nodes_visited`` and the game's sizes.
:func:`solve_by_name` is the CLI's backend (``registry.SOLVE_BACKENDS["efg"]``).
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from saddlepoint.config import check_positive_int
from saddlepoint.errors import InvalidInputError
from saddlepoint.games.extensive_form import CompiledGame, compile_game
from saddlepoint.results import to_jsonable
from saddlepoint.rng import make_rng
from saddlepoint.solvers import double_oracle
from saddlepoint.solvers.base import SolveResult, run_with_evaluations, solve_registered
from saddlepoint.solvers.cfr import CFRConfig, CFRPlusConfig, CFRSolver, DCFRConfig, LinearCFRConfig
from saddlepoint.solvers.efg_best_response import game_value, nash_conv, realization_plan
from saddlepoint.solvers.mccfr import ExternalSamplingConfig, OutcomeSamplingConfig, make_mccfr
from saddlepoint.solvers.sequence_form_lp import SequenceFormLPConfig, solve_sequence_form_lp

__all__ = ["CONFIGS", "as_compiled", "load_checkpoint", "save_checkpoint", "solve", "solve_by_name"]

CONFIGS: dict[str, type] = {
    cls.algo: cls for cls in (CFRConfig, CFRPlusConfig, LinearCFRConfig, DCFRConfig,
                              ExternalSamplingConfig, OutcomeSamplingConfig, SequenceFormLPConfig,
                              *double_oracle.EFG_CONFIGS)
}
"""Config class of every EFG solver, by algorithm name."""

_ALIASES = {"lp": "sequence_form_lp"}


def as_compiled(game: Any) -> CompiledGame:
    """``game`` itself if already compiled, else :func:`compile_game` of it (cached)."""
    return game if isinstance(game, CompiledGame) else compile_game(game)


def solve(
    game: Any,
    config: Any,
    rng: np.random.Generator | int | None = None,
    *,
    eval_every: int | None = None,
    show_progress: bool | None = None,
    checkpoint: str | Path | None = None,
    checkpoint_every: int | None = None,
    resume: str | Path | None = None,
) -> SolveResult:
    """Run ``config``'s solver on ``game`` (a zoo/OpenSpiel game or a :class:`CompiledGame`).

    ``eval_every`` evaluates every that many iterations (None: ~50 log-spaced points); the
    last iteration is always evaluated. Same ``rng`` seed, same result.

    Checkpoints (CFR family and MCCFR): with ``checkpoint`` (a file path) and
    ``checkpoint_every`` N, the solver's state and the curve so far are written there every N
    iterations (atomically, so a killed solve loses at most N iterations; with a batched
    sampler at most N + batch_size - 1, as a pass is never cut) and at the end.
    ``resume`` (a checkpoint file) continues from it instead of starting afresh: the result
    equals the uninterrupted run's (same config and seed; only ``iterations`` may grow).
    """
    if eval_every is not None:
        check_positive_int("eval_every", eval_every)
    if checkpoint_every is not None:
        check_positive_int("checkpoint_every", checkpoint_every)
        if checkpoint is None:
            raise InvalidInputError("checkpoint_every needs a checkpoint file to write to")
    cg = as_compiled(game)
    checkpointing = checkpoint is not None or resume is not None
    if checkpointing and not isinstance(config, (CFRConfig, ExternalSamplingConfig, OutcomeSamplingConfig)):
        raise InvalidInputError(f"checkpoints are supported for the CFR family and MCCFR, not {config.algo!r}")
    if isinstance(config, double_oracle.EFG_CONFIGS):
        return double_oracle.solve(cg, config, rng, eval_every=eval_every, show_progress=show_progress)
    sizes = {"histories": cg.num_histories, "infosets": sum(cg.num_infosets)}
    start = time.perf_counter()
    if isinstance(config, SequenceFormLPConfig):
        behaviour, value = solve_sequence_form_lp(cg)
        x, y = realization_plan(cg, 0, behaviour[0]), realization_plan(cg, 1, behaviour[1])
        nc = nash_conv(cg, x, y)
        seconds = time.perf_counter() - start
        row = {"iteration": 1, "nodes_visited": 0, "exploitability": nc / 2, "nash_conv": nc, "seconds": seconds}
        return SolveResult(cg.name, config.algo, 1, behaviour, nc / 2, nc, seconds, value=value,
                           curve=(row,), extra={"nodes_visited": 0, **sizes})
    if isinstance(config, CFRConfig):
        solver: Any = CFRSolver(cg, config)
    elif isinstance(config, (ExternalSamplingConfig, OutcomeSamplingConfig)):
        solver = make_mccfr(cg, config, make_rng(rng))
    else:
        raise InvalidInputError(f"not an extensive-form solver config: {type(config).__name__}")
    curve: list[dict[str, Any]] = []
    seconds = 0.0
    if resume is not None:
        meta, state = load_checkpoint(resume)
        _check_resumable(meta, cg.name, config)
        solver.load_state_dict(state)
        if solver.iteration > config.iterations:
            raise InvalidInputError(f"checkpoint is at iteration {solver.iteration}, past iterations="
                                    f"{config.iterations}")
        curve, seconds = list(meta["curve"]), float(meta["seconds"])

    def evaluate() -> dict[str, Any]:
        nc = solver.nash_conv()
        return {"nodes_visited": solver.nodes_visited, "exploitability": nc / 2, "nash_conv": nc}

    def save(tracked: _Tracked) -> None:
        save_checkpoint(checkpoint, tracked.solver, game=cg.name, config=config,  # type: ignore[arg-type]
                        curve=tracked.curve, seconds=tracked.seconds)

    tracked = _Tracked(solver, config.iterations, evaluate, save if checkpoint is not None else None, checkpoint_every, curve, seconds)
    run_with_evaluations(tracked, config.iterations, eval_every, tracked.evaluate, desc=config.algo,
                         show_progress=show_progress)
    tracked.finish()
    x, y = solver.average_plans()
    nc = nash_conv(cg, x, y)
    return SolveResult(
        cg.name, config.algo, config.iterations, solver.average_behaviour(), nc / 2, nc,
        time.perf_counter() - start, value=game_value(cg, x, y), curve=tuple(tracked.curve),
        extra={"nodes_visited": solver.nodes_visited, **sizes},
    )


class _Tracked:
    """A solver as :func:`run_with_evaluations` drives it: it keeps the curve (``seconds`` is
    the solver's own time, resumed runs included) and writes a checkpoint at the first
    iteration boundary at or past each multiple of ``every``, at the start of the next advance
    so that the evaluation there is in it. Solvers with ``advance`` (the batched samplers) run
    whole passes up to ``total`` whatever the evaluation points, so the schedule never changes
    the algorithm; an evaluation then lands on the first pass boundary at or past its point
    (once). Evaluations before the first advance belong to a resumed run's saved curve."""

    def __init__(self, solver: Any, total: int, evaluate: Callable[[], dict[str, Any]],
                 save: Callable[[_Tracked], None] | None, every: int | None,
                 curve: list[dict[str, Any]], seconds: float) -> None:
        self.solver, self._total, self._evaluate, self._save, self._every = solver, total, evaluate, save, every
        self.curve, self.seconds = curve, seconds
        self._saved_at = solver.iteration
        self._started = False

    @property
    def iteration(self) -> int:
        return self.solver.iteration

    def advance(self, n: int) -> int:
        if self._every is not None and self.iteration // self._every > self._saved_at // self._every:
            self._checkpoint()
        self._started = True
        before = self.iteration
        target = before + n
        if self._every is not None:
            target = min(target, (before // self._every + 1) * self._every)
        inner = getattr(self.solver, "advance", None)
        t0 = time.perf_counter()
        while self.iteration < target:
            if inner is not None:
                inner(self._total - self.iteration)
            else:
                self.solver.step()
        self.seconds += time.perf_counter() - t0
        return self.iteration - before

    def evaluate(self) -> dict[str, Any]:
        if not self._started or (self.curve and self.curve[-1]["iteration"] == self.iteration):
            return {}  # in the resumed curve already, or a point this pass went past
        row = {"iteration": self.iteration, **self._evaluate(), "seconds": self.seconds}
        self.curve.append(row)
        return row

    def finish(self) -> None:
        """Write the final checkpoint (when checkpointing)."""
        self._checkpoint()

    def _checkpoint(self) -> None:
        if self._save is not None and self.iteration != self._saved_at:
            self._save(self)
            self._saved_at = self.iteration


# --------------------------------------------------------------------------- checkpoints
_CHECKPOINT_FORMAT = 1


def save_checkpoint(path: str | Path, solver: Any, *, game: str, config: Any,
                    curve: Sequence[dict[str, Any]] = (), seconds: float = 0.0) -> Path:
    """Write ``solver.state_dict()`` with the game, config, curve and solver seconds to
    ``path`` (an ``.npz`` file, no pickles), atomically: a crash leaves the previous file."""
    path = Path(path)
    meta = {"format": _CHECKPOINT_FORMAT, "game": game, "algo": config.algo,
            "config": dataclasses.asdict(config), "curve": list(curve), "seconds": seconds}
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("wb") as fh:
        np.savez(fh, meta=np.array(json.dumps(to_jsonable(meta))), **solver.state_dict())
    os.replace(tmp, path)
    return path


def load_checkpoint(path: str | Path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """``(meta, state)`` of a :func:`save_checkpoint` file: meta holds ``game``, ``algo``,
    ``config``, ``curve`` and ``seconds``; state goes to the solver's ``load_state_dict``."""
    path = Path(path)
    if not path.is_file():
        raise InvalidInputError(f"no checkpoint at {path}")
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
        meta = json.loads(str(arrays.pop("meta")))
    except (OSError, ValueError, KeyError) as exc:
        raise InvalidInputError(f"{path} is not a saddlepoint checkpoint ({exc})") from None
    if meta.get("format") != _CHECKPOINT_FORMAT:
        raise InvalidInputError(f"{path}: unsupported checkpoint format {meta.get('format')!r}")
    return meta, arrays


def _check_resumable(meta: dict[str, Any], game: str, config: Any) -> None:
    if meta["game"] != game:
        raise InvalidInputError(f"checkpoint is for game {meta['game']!r}, not {game!r}")
    if meta["algo"] != config.algo:
        raise InvalidInputError(f"checkpoint is for solver {meta['algo']!r}, not {config.algo!r}")
    mine = {k: v for k, v in to_jsonable(dataclasses.asdict(config)).items() if k != "iterations"}
    theirs = {k: v for k, v in meta["config"].items() if k != "iterations"}
    if mine != theirs:
        raise InvalidInputError(f"checkpoint config {theirs} differs from {mine} (only iterations may change)")


def solve_by_name(
    game: Any,
    algo: str,
    *,
    iterations: int,
    seed: int = 0,
    eval_every: int | None = None,
    show_progress: bool | None = None,
    checkpoint: str | Path | None = None,
    checkpoint_every: int | None = None,
    resume: str | Path | None = None,
    batch_size: int | None = None,
) -> SolveResult:
    """The CLI's entry point: ``algo`` is an EFG solver name from the registry (``lp`` means
    ``sequence_form_lp`` here); runs it for ``iterations`` with generator seed ``seed``; the
    checkpoint options are :func:`solve`'s; ``batch_size`` sets the MCCFR samplers' field."""
    options = {"checkpoint": checkpoint, "checkpoint_every": checkpoint_every, "resume": resume}

    def run(game: Any, config: Any, rng: Any, **kwargs: Any) -> SolveResult:
        if batch_size is not None:
            if not isinstance(config, (ExternalSamplingConfig, OutcomeSamplingConfig)):
                raise InvalidInputError(f"batch_size applies to the MCCFR samplers, not {config.algo!r}")
            config = dataclasses.replace(config, batch_size=batch_size)
        return solve(game, config, rng, **kwargs, **options)

    return solve_registered(game, algo, kind="efg", label="extensive-form", solve=run, iterations=iterations,
                            seed=seed, eval_every=eval_every, show_progress=show_progress, aliases=_ALIASES)
