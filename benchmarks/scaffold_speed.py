"""Speed of the experiment scaffold's executors, measured side by side in one run.

Usage: python benchmarks/scaffold_speed.py [--experiment linear-bandits] [--preset paper]
       [--small-cells 200] [--record]

1. A reproduction's preset run serially (one process) and on a pool of 2 worker processes:
   wall seconds and the speed-up (target: >= 1.7x on 2 cores for a CPU-bound reproduction).
   The two runs' metrics are checked to be identical apart from timing fields.
2. Per-cell overhead on small cells: a sweep of ``--small-cells`` one-iteration CFR solves of
   Kuhn poker (a few milliseconds of work each) run serially, on the process pool (2 workers)
   and on a local Ray (2 CPUs, start-up timed separately): milliseconds per cell beyond the
   serial cost.

``--record`` writes the tables as the "Experiment scaffold" section of benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from importlib import metadata

from _record import Tee, record_section  # benchmarks/_record.py (the script's folder is on sys.path)
from saddlepoint.experiments import get_experiment
from saddlepoint.experiments.base import run
from saddlepoint.experiments.executors import ProcessExecutor, RayExecutor, SerialExecutor
from saddlepoint.experiments.sweep import SolverSweep, SweepPreset
from saddlepoint.results import RunDir


def _timed_run(experiment, preset, executor) -> tuple[float, RunDir]:
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        run_dir = run(experiment, preset, out=out, executor=executor, show_progress=False)
        seconds = time.perf_counter() - start
        rows = [{k: v for k, v in r.items() if k not in experiment.timing_fields} for r in run_dir.metrics()]
    return seconds, rows


def reproduction(name: str, preset: str) -> None:
    experiment = get_experiment(name)
    p = experiment.preset(preset)
    print(f"### {name}, {preset} preset ({len(experiment.cells(p))} cells)\n")
    serial, rows_a = _timed_run(experiment, p, SerialExecutor())
    pooled, rows_b = _timed_run(experiment, p, ProcessExecutor(2))
    print("| executor | wall s | speed-up |\n|---|---|---|")
    print(f"| serial (1 process) | {serial:.1f} | 1.00x |")
    print(f"| process pool, 2 workers | {pooled:.1f} | {serial / pooled:.2f}x |")
    print(f"\nmetrics identical apart from timing fields: {rows_a == rows_b}\n")


def small_cells(n: int) -> None:
    experiment = SolverSweep()
    p = SweepPreset(games=("kuhn_poker",), algos=("cfr",), iterations=1, seeds=tuple(range(n)))
    serial, _ = _timed_run(experiment, p, SerialExecutor())
    pooled, _ = _timed_run(experiment, p, ProcessExecutor(2))
    import ray

    start = time.perf_counter()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    ray_start = time.perf_counter() - start
    try:
        on_ray, _ = _timed_run(experiment, p, RayExecutor())
    finally:
        ray.shutdown()
    print(f"### Per-cell overhead: {n} cells of one CFR iteration on Kuhn poker\n")
    print("| executor | wall s | ms per cell | overhead vs serial, ms per cell |\n|---|---|---|---|")
    for label, secs in (("serial", serial), ("process pool, 2 workers", pooled), ("Ray, 2 CPUs (running)", on_ray)):
        print(f"| {label} | {secs:.2f} | {1e3 * secs / n:.1f} | {1e3 * (secs - serial) / n:+.1f} |")
    print(f"\nRay start-up (ray.init of a local cluster, not included above): {ray_start:.1f} s. "
          f"Ray / process-pool wall ratio: {on_ray / pooled:.2f}x.\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--experiment", default="linear-bandits")
    parser.add_argument("--preset", default="paper")
    parser.add_argument("--small-cells", type=int, default=200)
    parser.add_argument("--record", action="store_true")
    args = parser.parse_args()
    with Tee() as out:
        print(f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
              f"Python {platform.python_version()}, numpy {metadata.version('numpy')}, "
              f"ray {metadata.version('ray')}.\n")
        reproduction(args.experiment, args.preset)
        small_cells(args.small_cells)
    if args.record:
        command = (f"python benchmarks/scaffold_speed.py --experiment {args.experiment} --preset {args.preset} "
                   f"--small-cells {args.small_cells} --record")
        record_section("Experiment scaffold", f"## Experiment scaffold\n\n`{command}`\n\n{out.text.strip()}\n")


if __name__ == "__main__":
    main()
