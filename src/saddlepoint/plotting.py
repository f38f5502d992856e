"""Plots made from result files (``metrics.csv``), never from live objects.

:func:`plot_metrics` draws one curve per group (method) with the mean across seeds and a
shaded min-max band, on log axes by default, and states the number of seeds in the caption.
Needs the ``plot`` extra (matplotlib).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from saddlepoint.errors import InvalidInputError, require
from saddlepoint.results import RunDir

log = logging.getLogger(__name__)


def _pyplot():
    matplotlib = require("matplotlib", "plot")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def aggregate(
    rows: Iterable[Mapping[str, Any]], x: str, y: str, group: str | None = None, seed: str = "seed"
) -> dict[str, dict[str, np.ndarray]]:
    """Group rows by ``group`` and align seeds on ``x``: mean, min, max of ``y`` per x value.

    Returns ``{label: {"x", "mean", "lo", "hi", "n_seeds"}}``; rows lacking ``x`` or ``y`` are
    ignored. Only x values that every seed of a group has are kept.
    """
    per: dict[str, dict[Any, dict[float, float]]] = defaultdict(lambda: defaultdict(dict))
    for row in rows:
        xv, yv = row.get(x), row.get(y)
        if xv is None or yv is None or yv == "":
            continue
        label = str(row.get(group, "")) if group else ""
        per[label][row.get(seed, 0)][float(xv)] = float(yv)
    out: dict[str, dict[str, np.ndarray]] = {}
    for label, seeds in per.items():
        common = sorted(set.intersection(*(set(s) for s in seeds.values())))
        if not common:
            continue
        values = np.array([[s[c] for c in common] for s in seeds.values()])
        out[label] = {
            "x": np.array(common), "mean": values.mean(axis=0), "lo": values.min(axis=0),
            "hi": values.max(axis=0), "n_seeds": np.array(len(seeds)),
        }
    return out


def plot_series(
    series: Mapping[str, Mapping[str, np.ndarray]],
    path: str | Path,
    *,
    xlabel: str,
    ylabel: str,
    title: str | None = None,
    logx: bool = True,
    logy: bool = True,
    ax: Any = None,
) -> Path:
    """Draw aggregated series (see :func:`aggregate`) to ``path`` (PNG)."""
    plt = _pyplot()
    own = ax is None
    if own:
        fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=120)
    n_seeds = sorted({int(s["n_seeds"]) for s in series.values()}) or [0]
    for label, s in series.items():
        xs, mean = s["x"], s["mean"]
        if logy:
            keep = mean > 0
            xs, mean, lo, hi = xs[keep], mean[keep], s["lo"][keep], s["hi"][keep]
            lo = np.maximum(lo, mean * 1e-3)
        else:
            lo, hi = s["lo"], s["hi"]
        (line,) = ax.plot(xs, mean, label=label or None, lw=1.6)
        if int(s["n_seeds"]) > 1:
            ax.fill_between(xs, lo, hi, color=line.get_color(), alpha=0.2, lw=0)
    if logx:
        ax.set_xscale("log")
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    seeds_txt = "/".join(map(str, n_seeds))
    ax.set_title((title + "\n" if title else "") + f"mean over {seeds_txt} seed(s); band = min-max", fontsize=9)
    ax.grid(True, which="both", alpha=0.3)
    if any(series):
        ax.legend(fontsize=8)
    out = Path(path)
    if own:
        fig.tight_layout()
        fig.savefig(out)
        plt.close(fig)
    return out


def plot_metrics(
    run: RunDir | str | Path,
    *,
    x: str = "iteration",
    y: str = "exploitability",
    group: str | None = "algo",
    name: str | None = None,
    title: str | None = None,
    logx: bool = True,
    logy: bool = True,
    split: str | None = None,
) -> list[Path]:
    """Plot ``y`` against ``x`` from a run's ``metrics.csv`` into its ``figures/``.

    With ``split`` (e.g. ``"game"``), one figure per value of that column.
    """
    run = run if isinstance(run, RunDir) else RunDir.open(run)
    rows = run.metrics()
    if not rows:
        raise InvalidInputError(f"{run.path}: metrics.csv is empty")
    if x not in rows[0] or y not in rows[0]:
        raise InvalidInputError(f"{run.path}: metrics.csv has no column {x!r} or {y!r}")
    parts: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        parts[str(row.get(split, "")) if split else ""].append(row)
    paths = []
    for key, part in sorted(parts.items()):
        stem = name or f"{y}_vs_{x}"
        fname = f"{stem}_{_slug(key)}.png" if key else f"{stem}.png"
        series = aggregate(part, x, y, group)
        paths.append(plot_series(series, run.figures / fname, xlabel=x, ylabel=y,
                                 title=(title or "") + (f" {key}" if key else ""), logx=logx, logy=logy))
    return paths


def plot_run(run_dir: str | Path) -> list[Path]:
    """Default plots for a run directory: exploitability curves where present, else every
    numeric column against the first column."""
    run = RunDir.open(run_dir)
    rows = run.metrics()
    if not rows:
        raise InvalidInputError(f"{run.path}: metrics.csv is empty")
    cols = list(rows[0])
    group = "algo" if "algo" in cols else None
    split = "game" if "game" in cols and len({r.get("game") for r in rows}) > 1 else None
    if "exploitability" in cols:
        x = "nodes_visited" if "nodes_visited" in cols else "iteration"
        return plot_metrics(run, x=x, y="exploitability", group=group, split=split)
    numeric = [c for c in cols if all(isinstance(r.get(c), float) for r in rows) and c != "seed"]
    if len(numeric) < 2:
        raise InvalidInputError(f"{run.path}: metrics.csv has fewer than two numeric columns to plot")
    x, numeric = numeric[0], numeric[1:]
    out: list[Path] = []
    for c in numeric:
        out += plot_metrics(run, x=x, y=c, group=group, split=split, logx=False, logy=False)
    return out


def _slug(text: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in text).strip("_") or "all"


def plots_available() -> bool:
    """Whether matplotlib is importable (the ``plot`` extra)."""
    try:
        _pyplot()
    except ImportError:
        return False
    return True


__all__: Sequence[str] = ["aggregate", "plot_series", "plot_metrics", "plot_run", "plots_available"]
