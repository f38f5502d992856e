"""Reproductions, one module per experiment, registered in :mod:`saddlepoint.registry`, all
written on one scaffold (:mod:`saddlepoint.experiments.base`): a preset, cells (the units of
work, run in-process, in a process pool or on Ray by :mod:`~saddlepoint.experiments.executors`),
``summarise`` (claims, facts, tables) and figures; :mod:`~saddlepoint.experiments.stats` and
:mod:`~saddlepoint.experiments.report` are shared by all of them.

Every run writes a run directory (see :mod:`saddlepoint.results`): ``config.json``,
``env.json``, ``cells/`` (each finished cell's rows), ``metrics.csv``, ``summary.json`` (with
``claims`` and ``facts``), ``figures/*.png`` and ``report.md``. Nothing imports this package
except the CLI.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from saddlepoint.registry import EXPERIMENTS, load, lookup
from saddlepoint.results import RunDir

__all__ = ["get_experiment", "resume_experiment", "run_experiment"]


def get_experiment(name: str) -> Any:
    """The registered experiment ``name`` (an :class:`~saddlepoint.experiments.base.Experiment`)."""
    entry = lookup(EXPERIMENTS, name, "experiment")
    return load(entry.target)()  # type: ignore[arg-type]


def run_experiment(name: str, preset: str = "smoke", seeds: Sequence[int] | None = None,
                   out: str | Path | None = None, show_progress: bool | None = None,
                   executor: Any = None) -> RunDir:
    """Run the registered experiment ``name`` with a preset, optional seeds and an executor."""
    from saddlepoint.experiments.base import run

    return run(get_experiment(name), preset, seeds=seeds, out=out, executor=executor, show_progress=show_progress)


def resume_experiment(name: str | None, run_dir: str | Path, show_progress: bool | None = None,
                      executor: Any = None) -> RunDir:
    """Finish an interrupted run: re-run only its missing cells, then summarise.

    ``name`` (optional) must match the run directory's experiment.
    """
    from saddlepoint.errors import InvalidInputError
    from saddlepoint.experiments.base import resume

    recorded = RunDir.open(run_dir).config().get("experiment")
    if name is not None and name != recorded:
        raise InvalidInputError(f"{run_dir} is a run of {recorded!r}, not of {name!r}")
    return resume(get_experiment(str(recorded)), run_dir, executor=executor, show_progress=show_progress)
