"""What every extensive-form solver shares: games compiled on the fly, the family's curve
metrics and :class:`~saddlepoint.solvers.base.SolveResult`, and checkpoints.

An EFG method (CFR family, MCCFR, sequence-form LP, the double-oracle family) is built as
``Method(game, config, rng)`` from a zoo/OpenSpiel game or a :class:`CompiledGame` (compiled
once, cached); its ``cost`` counts ``iterations`` and ``nodes_visited``. Run it with
:func:`saddlepoint.solvers.base.solve`: the result's ``strategies`` are the two behaviour
strategies (one probability per sequence, see :mod:`saddlepoint.solvers.efg_best_response`),
its ``curve`` rows hold ``iteration``, ``nodes_visited``, ``exploitability``, ``nash_conv``
and ``seconds`` (solver time, evaluations excluded) and its ``extra`` holds ``nodes_visited``
and the game's sizes.

Checkpoints (CFR family and MCCFR): ``solve(..., checkpoint=FILE, checkpoint_every=N)`` writes
the solver's state and the curve so far every N iterations (atomically, so a killed solve
loses at most N iterations; with a batched sampler at most N + batch_size - 1, as a pass is
never cut) and at the end; ``resume=FILE`` continues from it instead of starting afresh: the
result equals the uninterrupted run's (same config and seed; only ``iterations`` may grow).
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from saddlepoint.config import check_positive_int
from saddlepoint.errors import InvalidInputError
from saddlepoint.games.extensive_form import CompiledGame, compile_game
from saddlepoint.method import Trace
from saddlepoint.results import to_jsonable
from saddlepoint.solvers.base import SolveResult, solve
from saddlepoint.solvers.efg_best_response import game_value, nash_conv

__all__ = ["Checkpointed", "EFGMethod", "as_compiled", "load_checkpoint", "save_checkpoint", "solve"]


def as_compiled(game: Any) -> CompiledGame:
    """``game`` itself if already compiled, else :func:`compile_game` of it (cached)."""
    return game if isinstance(game, CompiledGame) else compile_game(game)


class EFGMethod:
    """The extensive-form family's part of the method protocol, for a solver with ``cg``,
    ``config``, ``iteration``, ``nodes_visited``, ``average_plans()`` and
    ``average_behaviour()``: ``cost``, ``output()``, ``metrics()``, ``result(trace)`` and
    ``with_options`` (checkpoints, for solvers with ``state_dict``)."""

    cg: CompiledGame
    config: Any
    nodes_visited: int

    @property
    def cost(self) -> dict[str, int]:
        """Iterations and nodes visited so far."""
        return {"iterations": self.iteration, "nodes_visited": self.nodes_visited}  # type: ignore[attr-defined]

    def output(self) -> tuple[np.ndarray, np.ndarray]:
        """The average behaviour strategies (fresh arrays)."""
        return self.average_behaviour()  # type: ignore[attr-defined]

    def metrics(self) -> dict[str, float]:
        """Exploitability (NashConv / 2) and NashConv of the average strategies."""
        nc = nash_conv(self.cg, *self.average_plans())  # type: ignore[attr-defined]
        return {"exploitability": nc / 2, "nash_conv": nc}

    def result(self, trace: Trace) -> SolveResult:
        """The average behaviour strategies, their exploitability and value, the curve."""
        cg = self.cg
        x, y = self.average_plans()  # type: ignore[attr-defined]
        nc = nash_conv(cg, x, y)
        return SolveResult(cg.name, self.config.algo, self.iteration, self.average_behaviour(), nc / 2, nc,  # type: ignore[attr-defined]
                           trace.seconds, value=self._solution_value(x, y), curve=trace.rows,
                           extra={"nodes_visited": self.nodes_visited, **self._extra()})

    def _solution_value(self, x: np.ndarray, y: np.ndarray) -> float:
        return game_value(self.cg, x, y)

    def _extra(self) -> dict[str, Any]:
        return {"histories": self.cg.num_histories, "infosets": sum(self.cg.num_infosets)}

    def with_options(self, *, checkpoint: str | Path | None = None, checkpoint_every: int | None = None,
                     resume: str | Path | None = None) -> Checkpointed:
        """This solver writing checkpoints / resumed from one (see the module docstring)."""
        if not hasattr(self, "state_dict"):
            raise InvalidInputError(f"checkpoints are supported for the CFR family and MCCFR, not {self.config.algo!r}")
        return Checkpointed(self, checkpoint=checkpoint, checkpoint_every=checkpoint_every, resume=resume)


class Checkpointed:
    """A solver as :func:`~saddlepoint.method.run` drives it with checkpoints: it keeps the
    curve (``seconds`` is the solver's own time, resumed runs included) and writes a checkpoint
    at the first iteration boundary at or past each multiple of ``checkpoint_every``, at the
    start of the next advance so that the evaluation there is in it, and at the end. Resumed,
    it starts from the checkpoint's state, curve and seconds."""

    def __init__(self, method: Any, *, checkpoint: str | Path | None = None, checkpoint_every: int | None = None,
                 resume: str | Path | None = None) -> None:
        if checkpoint_every is not None:
            check_positive_int("checkpoint_every", checkpoint_every)
            if checkpoint is None:
                raise InvalidInputError("checkpoint_every needs a checkpoint file to write to")
        self.method, self._path, self._every = method, checkpoint, checkpoint_every
        self.curve: list[dict[str, Any]] = []
        self.seconds = 0.0
        config = method.config
        if resume is not None:
            meta, state = load_checkpoint(resume)
            _check_resumable(meta, method.cg.name, config)
            method.load_state_dict(state)
            if method.iteration > config.iterations:
                raise InvalidInputError(f"checkpoint is at iteration {method.iteration}, past iterations="
                                        f"{config.iterations}")
            self.curve, self.seconds = list(meta["curve"]), float(meta["seconds"])
        self._saved_at = method.iteration

    @property
    def iteration(self) -> int:
        return self.method.iteration

    @property
    def cost(self) -> dict[str, int]:
        return self.method.cost

    def output(self) -> Any:
        return self.method.output()

    def step(self) -> None:
        self.advance(1)

    def advance(self, n: int) -> int:
        """Up to ``n`` iterations, stopping at the next checkpoint boundary (a batched pass is
        never cut)."""
        every = self._every
        if every is not None and self.iteration // every > self._saved_at // every:
            self._checkpoint()
        before = self.iteration
        target = before + n
        if every is not None:
            target = min(target, (before // every + 1) * every)
        inner = getattr(self.method, "advance", None)
        t0 = time.perf_counter()
        while self.iteration < target:
            if inner is not None:
                inner(target - self.iteration)
            else:
                self.method.step()
        self.seconds += time.perf_counter() - t0
        return self.iteration - before

    def metrics(self) -> dict[str, Any]:
        """The solver's metrics, also kept in this run's curve (saved with the checkpoints)."""
        metrics = self.method.metrics()
        cost = {k: v for k, v in self.cost.items() if k != "iterations"}
        self.curve.append({"iteration": self.iteration, **cost, **metrics, "seconds": self.seconds})
        return metrics

    def result(self, trace: Trace) -> SolveResult:
        """The final checkpoint, then the solver's result over the whole (resumed) curve."""
        self._checkpoint()
        return self.method.result(Trace(tuple(self.curve), self.seconds, trace.cost, trace.stopped))

    def _checkpoint(self) -> None:
        if self._path is not None and self.iteration != self._saved_at:
            save_checkpoint(self._path, self.method, game=self.method.cg.name, config=self.method.config,
                            curve=self.curve, seconds=self.seconds)
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
