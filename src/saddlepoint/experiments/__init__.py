"""Reproductions. One module per experiment, registered in :mod:`saddlepoint.registry`.

Contract of an experiment module::

    PRESETS = ("smoke", "paper")
    def run(preset="smoke", seeds=None, out=None, show_progress=None) -> RunDir

``run`` writes a run directory (see :mod:`saddlepoint.results`): ``config.json``,
``env.json``, ``metrics.csv``, ``summary.json`` (with a ``claims`` list of
:class:`~saddlepoint.results.ClaimCheck` dicts), ``figures/*.png`` and ``report.md`` with our
numbers beside the paper's. Nothing imports this package except the CLI.
"""

from __future__ import annotations

from pathlib import Path

from saddlepoint.errors import InvalidInputError
from saddlepoint.registry import EXPERIMENTS, load, lookup
from saddlepoint.results import RunDir


def run_experiment(
    name: str,
    preset: str = "smoke",
    seeds: list[int] | None = None,
    out: str | Path | None = None,
    show_progress: bool | None = None,
) -> RunDir:
    """Run the registered experiment ``name`` with a preset and optional seeds."""
    entry = lookup(EXPERIMENTS, name, "experiment")
    run = load(entry.target)  # type: ignore[arg-type]
    presets = getattr(__import__(run.__module__, fromlist=["PRESETS"]), "PRESETS", ("smoke", "paper"))
    if preset not in presets:
        raise InvalidInputError(f"unknown preset {preset!r} for {name}; choose from: {', '.join(presets)}")
    if seeds is not None and (not seeds or any(s < 0 for s in seeds)):
        raise InvalidInputError("seeds must be a non-empty list of non-negative integers")
    return run(preset=preset, seeds=seeds, out=out, show_progress=show_progress)


def markdown_table(header: list[str], rows: list[list[object]]) -> str:
    """A GitHub-flavoured Markdown table; floats printed with 4 significant digits."""

    def fmt(v: object) -> str:
        if isinstance(v, float):
            return f"{v:.4g}"
        if isinstance(v, (list, tuple)):
            return "[" + ", ".join(fmt(x) for x in v) + "]"
        return str(v).replace("|", "\\|")

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(fmt(v) for v in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def claims_markdown(claims: list[dict]) -> str:
    """The claim checks of a summary as a Markdown table."""
    rows = [[c["claim"], c["criterion"], c.get("paper", ""), c["measured"], c.get("seeds", 1),
             "passed" if c["passed"] else "**failed**"] for c in claims]
    return markdown_table(["claim", "criterion (fixed before running)", "paper", "ours", "seeds", "result"], rows)
