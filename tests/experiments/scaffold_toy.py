"""A toy experiment for the scaffold's tests: cells that draw from their seed, and can be told
to sleep, record their process id, fail once (flaky) or always.

It lives in an importable module (not a test file) so that process-pool workers and Ray workers
can unpickle it.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from saddlepoint.experiments.base import Cell, Experiment, Preset, Summary
from saddlepoint.experiments.stats import mean_se
from saddlepoint.results import ClaimCheck, Fact


@dataclass(frozen=True, kw_only=True)
class ToyPreset(Preset):
    seeds: tuple[int, ...] = (0, 1)
    n_cells: int = 6
    sleep: float = 0.0
    """Seconds each cell sleeps before returning."""
    pid_dir: str = ""
    """If set, each cell writes ``<key>.pid`` there when it starts."""
    flaky_dir: str = ""
    """If set, the cell ``c1`` fails on its first attempt (a marker file there remembers it)."""
    broken_flag: str = ""
    """If set and this file exists, the cell ``c2`` raises."""


class Toy(Experiment):
    name = "toy"
    title = "Toy"
    presets = {"smoke": ToyPreset()}

    def cells(self, p: ToyPreset) -> list[Cell]:
        return [Cell(f"c{i}/seed={s}", seed=s, params={"i": i}) for i in range(p.n_cells) for s in p.seeds]

    def run_cell(self, p: ToyPreset, cell: Cell) -> list[dict]:
        i = cell.params["i"]
        if p.pid_dir:
            (Path(p.pid_dir) / f"{cell.key.replace('/', '_')}.pid").write_text(str(os.getpid()))
        if p.sleep:
            time.sleep(p.sleep)
        if p.flaky_dir and i == 1:
            marker = Path(p.flaky_dir) / f"{cell.key.replace('/', '_')}.failed-once"
            if not marker.exists():
                marker.write_text("x")
                raise RuntimeError("flaky failure on the first attempt")
        if p.broken_flag and i == 2 and Path(p.broken_flag).exists():
            raise ValueError("cell two is broken")
        rng = np.random.default_rng([cell.seed, i])
        return [{"i": i, "seed": cell.seed, "step": t, "value": float(v)} for t, v in enumerate(rng.normal(size=3))]

    def summarise(self, p: ToyPreset, rows: list[dict]) -> Summary:
        mean, se = mean_se(r["value"] for r in rows)
        return Summary(claims=[ClaimCheck("values are standard normal", "|mean| < 4 s.e.", abs(mean) < 4 * se,
                                          round(mean, 6), seeds=len(p.seeds))],
                       facts=[Fact("three rows per cell", len(rows) == 3 * p.n_cells * len(p.seeds), len(rows))],
                       values={"mean": mean, "se": se})
