"""The experiment scaffold: presets, cells, a cell store that loses nothing, and the runner.

An experiment is a subclass of :class:`Experiment`. It declares

- ``presets``: named :class:`Preset` values (keyword-only frozen dataclasses, one field per
  setting, ``seeds`` always among them);
- :meth:`Experiment.cells`: the units of work of a preset, each a :class:`Cell` (one arm x seed
  x setting) whose result is a pure function of the preset and the cell;
- :meth:`Experiment.run_cell`: runs one cell and returns its rows of metrics (dicts);
- :meth:`Experiment.summarise`: turns all rows into a :class:`Summary` (claims, facts, tables,
  report sections);
- optionally :meth:`Experiment.plot` (figures drawn from the run directory's files).

:func:`run` executes the cells on an executor (:mod:`saddlepoint.experiments.executors`:
in-process, a process pool or Ray), writes each finished cell's rows atomically into
``RUN_DIR/cells/`` as it finishes, and then writes ``metrics.csv`` (rows in cell order, so the
file is the same whichever executor ran them), ``summary.json``, the figures and
``report.md``. :func:`resume` re-runs only the cells missing from a run directory.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import logging
import os
import tempfile
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from saddlepoint.errors import InvalidInputError, SaddlepointError
from saddlepoint.experiments.report import render_report
from saddlepoint.plotting import plots_available
from saddlepoint.results import ClaimCheck, Fact, RunDir, to_jsonable

log = logging.getLogger(__name__)

CELLS_DIR = "cells"


@dataclass(frozen=True, kw_only=True)
class Preset:
    """Base of every experiment's preset. Subclasses add keyword-only fields (frozen)."""

    seeds: tuple[int, ...] = (0,)
    """Seeds of the run; ``--seeds`` replaces them."""

    def __post_init__(self) -> None:
        if not self.seeds or any(not isinstance(s, int) or isinstance(s, bool) or s < 0 for s in self.seeds):
            raise InvalidInputError(f"seeds must be a non-empty tuple of non-negative integers, got {self.seeds!r}")

    def with_seeds(self, seeds: Sequence[int]) -> Preset:
        """This preset with other seeds."""
        return dataclasses.replace(self, seeds=tuple(int(s) for s in seeds))

    def as_dict(self) -> dict[str, Any]:
        return to_jsonable(dataclasses.asdict(self))


@dataclass(frozen=True)
class Cell:
    """One unit of work: an arm x seed x setting. ``key`` is unique within a run."""

    key: str
    seed: int = 0
    params: Mapping[str, Any] = field(default_factory=dict)
    """JSON-able arguments of the cell (arm name, setting), read by ``run_cell``."""

    @property
    def file_name(self) -> str:
        """The cell's file in ``RUN_DIR/cells/``: a hash of the key (any key is a safe name)."""
        return hashlib.sha1(self.key.encode()).hexdigest()[:20] + ".json"


@dataclass
class Summary:
    """What :meth:`Experiment.summarise` returns: everything ``summary.json`` and the report hold."""

    claims: list[ClaimCheck] = field(default_factory=list)
    facts: list[Fact] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)
    """Other numbers and tables for ``summary.json`` (JSON-able)."""
    sections: list[str] = field(default_factory=list)
    """The experiment's own Markdown sections of the report (tables, discussion)."""
    intro: list[str] = field(default_factory=list)
    """Markdown paragraphs between the title and the claims (paper, setup)."""
    criteria: list[tuple[str, str, bool]] = field(default_factory=list)
    """(notes' criterion, implemented criterion, same?) per claim."""


class CellFailedError(SaddlepointError):
    """Some cells failed after their retries; the others are saved in the run directory."""


class Experiment(ABC):
    """A reproduction. Subclasses set the class attributes and implement the three methods."""

    name: ClassVar[str]
    """Registry name, e.g. ``"linear-bandits"``; also the run directory's parent."""
    title: ClassVar[str]
    """Report title (the preset is appended)."""
    presets: ClassVar[Mapping[str, Preset]]
    criteria_commit: ClassVar[str | None] = None
    """The commit that fixed the claims' criteria before the run, named in the report."""
    timing_fields: ClassVar[frozenset[str]] = frozenset({"seconds"})
    """Row and summary keys that measure time: the only fields allowed to differ between two
    runs of the same cells."""

    @abstractmethod
    def cells(self, preset: Preset) -> list[Cell]:
        """The cells of ``preset``, in the order their rows go into ``metrics.csv``."""

    @abstractmethod
    def run_cell(self, preset: Preset, cell: Cell) -> list[dict[str, Any]]:
        """Run one cell; a pure function of ``preset`` and ``cell`` (seed it from ``cell.seed``)."""

    @abstractmethod
    def summarise(self, preset: Preset, rows: list[dict[str, Any]]) -> Summary:
        """Claims, facts, tables and report sections from every cell's rows (in cell order)."""

    def plot(self, run_dir: RunDir) -> list[str]:
        """Draw figures into ``run_dir.figures`` from its files; return their names."""
        return []

    def config(self, preset: Preset) -> dict[str, Any]:
        """What ``config.json`` records beyond the preset (override to add constants)."""
        return {}

    # ------------------------------------------------------------------ conveniences
    def preset_of(self, run_dir: RunDir) -> Preset:
        """The preset a run directory was made with (for figures drawn from its files)."""
        return self.preset_from_fields(run_dir.config()["preset_fields"])

    def preset_from_fields(self, fields: Mapping[str, Any]) -> Preset:
        """A preset of this experiment's preset class from ``config.json``'s ``preset_fields``."""
        preset_cls = type(next(iter(self.presets.values())))
        return preset_cls(**_typed_fields(fields))

    def preset(self, name: str, seeds: Sequence[int] | None = None) -> Preset:
        """The preset ``name``, with ``seeds`` replacing its seeds when given."""
        if name not in self.presets:
            raise InvalidInputError(f"unknown preset {name!r} for {self.name}; choose from: {', '.join(self.presets)}")
        p = self.presets[name]
        if seeds is not None:
            if not seeds or any(int(s) < 0 for s in seeds):
                raise InvalidInputError("seeds must be a non-empty list of non-negative integers")
            p = p.with_seeds(seeds)
        return p


def execute_cell(experiment: Experiment, preset: Preset, cell: Cell) -> tuple[list[dict[str, Any]], float]:
    """Run one cell; return its JSON-able rows and its seconds (what executors call, in whichever process)."""
    start = time.perf_counter()
    rows = experiment.run_cell(preset, cell)
    if not isinstance(rows, list) or not all(isinstance(r, Mapping) for r in rows):
        raise TypeError(f"{type(experiment).__name__}.run_cell must return a list of dicts, got {type(rows).__name__}")
    return to_jsonable([dict(r) for r in rows]), time.perf_counter() - start


@contextlib.contextmanager
def torch_cell(seed: int) -> Iterator[None]:
    """Run a torch cell on one thread with the global torch RNG seeded from ``seed`` (both
    restored afterwards), so the cell gives the same numbers in any process and after any
    other cell. Imports torch lazily (extra ``torch``)."""
    from saddlepoint.errors import require

    torch = require("torch", "torch")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            yield
    finally:
        torch.set_num_threads(threads)


# --------------------------------------------------------------------------- the cell store
class CellStore:
    """``RUN_DIR/cells/``: one JSON file per finished cell, each written atomically (a
    temporary file in the same folder, flushed and fsynced, then renamed over the target), so
    an interrupted write leaves either the old state or the whole file, never a torn one."""

    def __init__(self, run_dir: Path) -> None:
        self.path = Path(run_dir) / CELLS_DIR
        self.path.mkdir(exist_ok=True)
        for stale in self.path.glob(".tmp-*"):  # left by a process killed mid-write
            stale.unlink(missing_ok=True)

    def save(self, cell: Cell, rows: list[dict[str, Any]], seconds: float, attempts: int | None) -> Path:
        target = self.path / cell.file_name
        payload = json.dumps({"key": cell.key, "seed": cell.seed, "attempts": attempts, "seconds": seconds,
                              "rows": rows})
        fd, tmp = tempfile.mkstemp(dir=self.path, prefix=".tmp-", suffix=".json")
        try:
            with os.fdopen(fd, "w") as fh:
                fh.write(payload)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return target

    def load(self, cell: Cell) -> list[dict[str, Any]] | None:
        """The rows of a finished cell, or None if it has not finished (or its file is unreadable)."""
        target = self.path / cell.file_name
        try:
            data = json.loads(target.read_text())
        except (OSError, ValueError):
            return None
        if data.get("key") != cell.key:
            return None
        return data["rows"]

    def seconds(self, cell: Cell) -> float | None:
        try:
            return float(json.loads((self.path / cell.file_name).read_text())["seconds"])
        except (OSError, ValueError, KeyError):
            return None


# --------------------------------------------------------------------------- the runner
def run(experiment: Experiment, preset: str | Preset = "smoke", *, seeds: Sequence[int] | None = None,
        out: str | Path | None = None, executor: Any = None, show_progress: bool | None = None,
        preset_name: str | None = None) -> RunDir:
    """Run every cell of a preset on ``executor`` (default: in-process) and write the run directory.

    ``preset`` is a preset name of the experiment or a :class:`Preset` value (then
    ``preset_name`` labels it in ``config.json``; default ``"custom"``).
    """
    if isinstance(preset, str):
        preset_name, p = preset, experiment.preset(preset, seeds)
    else:
        p = preset.with_seeds(seeds) if seeds is not None else preset
        preset_name = preset_name or "custom"
    cells = _checked_cells(experiment, p)
    config = {"preset": preset_name, "preset_fields": p.as_dict(), "seeds": list(p.seeds),
              "cells": len(cells), **experiment.config(p)}
    run_dir = RunDir.create(experiment.name, config, root=out)
    return _execute_and_summarise(experiment, p, preset_name, cells, run_dir, executor, show_progress)


def resume(experiment: Experiment, run_dir: str | Path, *, executor: Any = None,
           show_progress: bool | None = None) -> RunDir:
    """Re-run only the cells missing from ``run_dir``, then summarise as :func:`run` does."""
    rd = RunDir.open(run_dir)
    config = rd.config()
    if config.get("experiment") != experiment.name:
        raise InvalidInputError(f"{rd.path} is a run of {config.get('experiment')!r}, not of {experiment.name!r}")
    if "preset_fields" not in config:
        raise InvalidInputError(f"{rd.path} was not written by the experiment scaffold; it cannot be resumed")
    p = preset_from_config(experiment, config)
    cells = _checked_cells(experiment, p)
    return _execute_and_summarise(experiment, p, config["preset"], cells, rd, executor, show_progress)


def preset_from_config(experiment: Experiment, config: Mapping[str, Any]) -> Preset:
    """Rebuild the preset a run directory was made with (and check the experiment still has it)."""
    fields = dict(config["preset_fields"])
    name = config["preset"]
    if name in experiment.presets:
        p = experiment.presets[name].with_seeds(fields["seeds"])
        if p.as_dict() != fields:
            raise InvalidInputError(f"preset {name!r} of {experiment.name} has changed since this run was started; "
                                    "start a new run")
        return p
    return experiment.preset_from_fields(fields)


def _typed_fields(fields: Mapping[str, Any]) -> dict[str, Any]:
    """JSON lists back to tuples (preset fields are tuples, never lists)."""
    return {k: _tuples(v) for k, v in fields.items()}


def _tuples(v: Any) -> Any:
    return tuple(_tuples(x) for x in v) if isinstance(v, list) else v


def _checked_cells(experiment: Experiment, preset: Preset) -> list[Cell]:
    cells = experiment.cells(preset)
    keys = [c.key for c in cells]
    if len(set(keys)) != len(keys):
        dup = next(k for k in keys if keys.count(k) > 1)
        raise ValueError(f"{experiment.name}: duplicate cell key {dup!r}")
    return cells


def _execute_and_summarise(experiment: Experiment, p: Preset, preset_name: str, cells: list[Cell], run_dir: RunDir,
                           executor: Any, show_progress: bool | None) -> RunDir:
    from saddlepoint.experiments.executors import SerialExecutor, run_cells

    store = CellStore(run_dir.path)
    todo = [c for c in cells if store.load(c) is None]
    if len(todo) < len(cells):
        log.info("%s: %d of %d cells already done in %s", experiment.name, len(cells) - len(todo), len(cells), run_dir.path)
    failures = run_cells(experiment, p, todo, store, executor or SerialExecutor(), show_progress=show_progress)
    if failures:
        first_key = next(c.key for c in cells if c.key in failures)  # in cell order, whichever finished first
        first_error = failures[first_key]
        done = len(cells) - len(failures)
        more = f" (and {len(failures) - 1} more)" if len(failures) > 1 else ""
        raise CellFailedError(f"cell {first_key!r}{more} failed: {first_error}; the other {done} cells are saved in "
                              f"{run_dir.path}: fix and rerun with --resume {run_dir.path}")
    rows = [row for c in cells for row in store.load(c) or []]
    run_dir.write_metrics(rows)
    summary = experiment.summarise(p, rows)
    claims = [c.as_dict() for c in summary.claims]
    facts = [f.as_dict() for f in summary.facts]
    run_dir.write_summary({
        "experiment": experiment.name, "preset": preset_name, "seeds": list(p.seeds), **summary.values,
        "claims": claims, "facts": facts, "claims_passed": sum(bool(c["passed"]) for c in claims),
        "claims_total": len(claims), "all_claims_passed": all(c["passed"] for c in claims),
        "criteria_commit": experiment.criteria_commit,
        "cell_seconds": {c.key: store.seconds(c) for c in cells},
    })
    figures = experiment.plot(run_dir) if plots_available() else []
    run_dir.write_text("report.md", render_report(
        title=experiment.title, preset=preset_name, intro=summary.intro, claims=claims, facts=facts,
        criteria=summary.criteria, criteria_commit=experiment.criteria_commit, sections=summary.sections,
        figures=figures))
    log.info("%s %s: %d/%d claims passed", experiment.name, preset_name, sum(c["passed"] for c in claims), len(claims))
    return run_dir
