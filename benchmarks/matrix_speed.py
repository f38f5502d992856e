"""Time the LP and every iterative matrix-game solver on one random 200x200 zero-sum game.

Usage: python benchmarks/matrix_speed.py [--size 200] [--iterations 2000] [--repeats 3] [--record]

The anchor is the exact LP (HiGHS); each solver's time is also reported as a ratio to it, and
the exploitability it reached, so speed is never read without accuracy.
"""

from __future__ import annotations

import argparse
import os
import platform

import numpy as np
import scipy

from _record import best_of, record_section  # benchmarks/_record.py (the script's folder is on sys.path)
from saddlepoint.games.normal_form import random_zero_sum
from saddlepoint.solvers.matrix import (
    ExtragradientConfig, FictitiousPlayConfig, HedgeConfig, LPConfig, OptimisticHedgeConfig,
    RegretMatchingConfig, RegretMatchingPlusConfig, solve,
)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=200)
    ap.add_argument("--iterations", type=int, default=2000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--record", action="store_true", help="update benchmarks/RESULTS.md")
    args = ap.parse_args()
    game = random_zero_sum(args.size, args.size, seed=0)
    rng = np.random.default_rng(0)
    lines = [
        "## Normal-form games", "",
        f"`python benchmarks/matrix_speed.py --size {args.size} --iterations {args.iterations}`: a "
        f"{args.size}x{args.size} random zero-sum game, best of {args.repeats}; Python "
        f"{platform.python_version()}, NumPy {np.__version__}, SciPy {scipy.__version__}, "
        f"{platform.machine()}, {os.cpu_count()} cores. Ratio = solver seconds / LP seconds.", "",
    ]
    lp_s, lp = best_of(lambda: solve(game, LPConfig()), args.repeats)
    lines += ["| solver | iterations | seconds | ms / iteration | ratio to LP | exploitability |",
              "|---|---|---|---|---|---|",
              f"| lp (anchor) | 1 | {lp_s:.4f} | - | 1.00 | {lp.exploitability:.2e} |"]
    for cfg in (RegretMatchingConfig, RegretMatchingPlusConfig, HedgeConfig, OptimisticHedgeConfig,
                ExtragradientConfig, FictitiousPlayConfig):
        config = cfg(iterations=args.iterations)
        secs, res = best_of(lambda: solve(game, config, rng, eval_every=args.iterations), args.repeats)
        lines.append(f"| {cfg.algo} | {args.iterations} | {secs:.4f} | {1e3 * secs / args.iterations:.4f} | "
                     f"{secs / lp_s:.2f} | {res.exploitability:.2e} |")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.record:
        record_section("Normal-form games", text)


if __name__ == "__main__":
    main()
