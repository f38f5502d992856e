"""Speed of the Bayesian-optimisation code: seconds per round against N, and our GP
hyper-parameter fit against BoTorch's.

Usage: python benchmarks/bo_speed.py [--rounds 40] [--quick] [--record]

1. Seconds per round (ask + tell, mean over ``--rounds`` rounds, one seed) of MF-GP-UCB
   (per-action and aggregate feedback), AGG-GP-UCB, naive joint GP-UCB (N <= 64) and random
   assignment on the coverage task, for N in {4, 16, 64, 256, 1024}; ratio naive / MF.
   Also one MF-GP-UCB run with BLAS left multi-threaded against single-threaded (same answer).
2. Marginal-likelihood fitting (ARD RBF kernel, learned noise and constant mean) on n points in
   d dimensions: ours (NumPy/SciPy, analytic gradients, L-BFGS-B, no restarts) against BoTorch's
   ``fit_gpytorch_mll`` on the same prior-free model, both from the same start, both
   single-threaded, BoTorch warmed up by one untimed fit; seconds and the log marginal
   likelihood reached (evaluated by our code for both), ratio BoTorch / ours.

``--record`` writes the tables under the heading "Bayesian optimisation" in
the "Bayesian optimisation" section of ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import importlib.util
import platform
import time
from importlib import metadata

import numpy as np

from _record import record_section  # benchmarks/_record.py (the script's folder is on sys.path)
from saddlepoint.bayesopt import (
    AllocationProblem,
    CoverageTask,
    ExactGP,
    FitConfig,
    GPHyperparameters,
    fit_hyperparameters,
    method_config,
    run,
)
from saddlepoint.bayesopt.loop import blas_threads
from saddlepoint.method import make_method

ARMS = {
    "MF-GP-UCB": ("mf-gp-ucb", {}),
    "MF-GP-UCB (aggregate)": ("mf-gp-ucb", {"feedback": "aggregate"}),
    "AGG-GP-UCB": ("agg-gp-ucb", {}),
    "naive GP-UCB": ("naive-gp-ucb", {}),
    "random": ("random", {}),
}


def per_round(ns: list[int], rounds: int) -> tuple[str, dict]:
    task = CoverageTask.generate(np.random.default_rng(0))
    secs: dict[tuple[str, int], float] = {}
    for n in ns:
        for label, (method, cfg) in ARMS.items():
            if method == "naive-gp-ucb" and n > 64:
                continue
            full = {} if method == "random" else {"outputscale": 0.25, **cfg}
            opt = make_method(AllocationProblem.of_task(task, n, np.random.default_rng(2)),
                              method_config(method, full), np.random.default_rng(1))
            rec = run(opt, rounds)
            secs[(label, n)] = float(rec.seconds.mean())
            print(f"  {label:24s} N={n:5d}: {secs[(label, n)]:.4f} s/round  R_T={rec.cumulative_regret[-1]:.2f}")
    header = "| method | " + " | ".join(f"N={n}" for n in ns) + " |\n|" + "---|" * (len(ns) + 1) + "\n"
    body = ""
    for label in ARMS:
        body += f"| {label} | " + " | ".join(f"{secs[(label, n)]:.4f}" if (label, n) in secs else "—"
                                             for n in ns) + " |\n"
    body += "| ratio naive / MF | " + " | ".join(
        f"{secs[('naive GP-UCB', n)] / secs[('MF-GP-UCB', n)]:.2f}" if ("naive GP-UCB", n) in secs else "—"
        for n in ns) + " |\n"
    return header + body, secs


def threads_check(n: int, rounds: int) -> str:
    task = CoverageTask.generate(np.random.default_rng(0))
    out = {}
    for threads in (None, 1):
        opt = make_method(AllocationProblem.of_task(task, n, np.random.default_rng(2)),
                          method_config("mf-gp-ucb", {"outputscale": 0.25}), np.random.default_rng(1))
        t0 = time.perf_counter()
        rec = run(opt, rounds, threads=threads)
        out[threads] = (time.perf_counter() - t0, rec.cumulative_regret[-1])
    same = out[None][1] == out[1][1]
    return (f"MF-GP-UCB, N={n}, {rounds} rounds: BLAS default threads {out[None][0]:.2f} s, one thread "
            f"{out[1][0]:.2f} s (ratio {out[None][0] / out[1][0]:.1f}x); same regret: {same}\n")


def fit_compare(sizes: list[tuple[int, int]]) -> str:
    if importlib.util.find_spec("botorch") is None:
        return "BoTorch not installed (extra `bo`): fit comparison skipped.\n"
    import torch

    from saddlepoint.bayesopt.botorch_backend import fit_hyperparameters_botorch

    torch.set_num_threads(1)  # both sides single-threaded
    warm = ExactGP(1)  # imports and first-call set-up are not timed
    warm.add(np.linspace(0, 1, 5)[:, None], np.sin(np.linspace(0, 3, 5)))
    fit_hyperparameters_botorch(warm)

    rows = ["| n | d | ours s | BoTorch s | ratio BoTorch / ours | ours log ML | BoTorch log ML |",
            "|---|---|---|---|---|---|---|"]
    for n, d in sizes:
        rng = np.random.default_rng(n + d)
        x = rng.uniform(size=(n, d))
        y = np.sin(3 * x[:, 0]) + 0.5 * np.cos(5 * x[:, 1]) + 0.05 * rng.normal(size=n)
        start = GPHyperparameters((0.5,) * d, 1.0, 0.01, 0.0)
        gps = []
        times = []
        for fit in ("ours", "botorch"):
            gp = ExactGP(d, hyper=start)
            gp.add(x, y)
            with blas_threads(1):
                t0 = time.perf_counter()
                if fit == "ours":
                    fit_hyperparameters(gp, FitConfig(restarts=0))
                else:
                    fit_hyperparameters_botorch(gp, FitConfig())
                times.append(time.perf_counter() - t0)
            gps.append(gp)
        rows.append(f"| {n} | {d} | {times[0]:.3f} | {times[1]:.3f} | {times[1] / times[0]:.1f} | "
                    f"{gps[0].log_marginal_likelihood():.3f} | {gps[1].log_marginal_likelihood():.3f} |")
        print("  " + rows[-1])
    return "\n".join(rows) + "\n"


def versions() -> str:
    names = ("numpy", "scipy", "torch", "botorch", "gpytorch", "threadpoolctl")
    vs = []
    for name in names:
        try:
            vs.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            vs.append(f"{name} absent")
    return f"{platform.processor() or platform.machine()}, Python {platform.python_version()}; " + ", ".join(vs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=40)
    ap.add_argument("--quick", action="store_true", help="N up to 64 and small fits")
    ap.add_argument("--record", action="store_true", help="update benchmarks/RESULTS.md")
    args = ap.parse_args()
    ns = [4, 16, 64] if args.quick else [4, 16, 64, 256, 1024]
    sizes = [(50, 2), (200, 5)] if args.quick else [(50, 2), (200, 5), (500, 10)]
    print("seconds per round:")
    table, _ = per_round(ns, args.rounds)
    print(table)
    threads = threads_check(64 if args.quick else 1024, 30)
    print(threads)
    print("GP fitting:")
    fits = fit_compare(sizes)
    print(fits)
    text = (f"## Bayesian optimisation\n\nMachine: {versions()}; a shared 2-core machine, so "
            f"absolute times are noisy. Command: `python benchmarks/bo_speed.py --rounds {args.rounds}"
            f"{' --quick' if args.quick else ''} --record`.\n\n"
            f"### Seconds per round (ask + tell; coverage task, K = 5, {args.rounds} rounds, one seed, "
            f"BLAS single-threaded)\n\n{table}\n{threads}\n"
            f"### Marginal-likelihood fitting: ours vs BoTorch (same model, no priors, same start, "
            f"one thread each, BoTorch warmed up)\n\n"
            f"{fits}")
    if args.record:
        record_section("Bayesian optimisation", text)


if __name__ == "__main__":
    main()
