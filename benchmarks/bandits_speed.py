"""Speed of the linear-bandit code against simple anchors, with the answer checked each time.

Usage: python benchmarks/bandits_speed.py [--seeds 20] [--horizon 20000] [--repeats 1]

1. LinUCB regret curves over many seeds: the vectorised run (all seeds in one loop) against
   the per-seed ask/tell loop (anchor), which must give identical regret; and a naive LinUCB
   that solves ``V w = b`` and ``V^{-1} x`` from scratch every round (second anchor, 1 seed).
2. G-optimal design: Frank-Wolfe with and without away steps against a log-det maximisation by
   SciPy's SLSQP (anchor), with the max leverage / d reached.
3. Phased elimination at T = 1e5 (one seed): seconds and batches.
"""

from __future__ import annotations

import argparse
import sys
import math
import platform

import numpy as np
import scipy
from scipy.optimize import minimize

from _record import Tee, best_of, record_section  # benchmarks/_record.py (the script's folder is on sys.path)
from saddlepoint.bandits import (
    LinUCBConfig, PhasedEliminationConfig, g_optimal_design, gam_split, leverages, oful_radius,
    run, simulate, sphere_points,
)


def naive_linucb(inst, cfg: LinUCBConfig, horizon: int, seed: int, follow: np.ndarray) -> float:
    """Textbook LinUCB with a fresh solve per round (no incremental updates), replaying the arms
    ``follow`` chose. Returns the largest amount by which a replayed arm's UCB falls short of the
    best UCB (0 up to rounding when ``follow`` is LinUCB's own choice; exact ties are common in
    the first rounds, so arms are replayed rather than re-chosen)."""
    noise = np.random.default_rng(seed).standard_normal(horizon)
    d = inst.d
    v, b = cfg.lam * np.eye(d), np.zeros(d)
    worst = 0.0
    for t in range(horizon):
        w = np.linalg.solve(v, b)
        lev = np.einsum("kd,dk->k", inst.arms, np.linalg.solve(v, inst.arms.T))
        ucb = inst.arms @ w + oful_radius(np.linalg.slogdet(v)[1], d, cfg) * np.sqrt(lev)
        a = int(follow[t])
        worst = max(worst, float(ucb.max() - ucb[a]))
        x = inst.arms[a]
        v += np.outer(x, x)
        b += (inst.means[a] + inst.sigma * noise[t]) * x
    return worst


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--horizon", type=int, default=20_000)
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--record", action="store_true", help="update benchmarks/RESULTS.md")
    args = ap.parse_args()
    with Tee() as out:
        _run(args)
    if args.record:
        command = " ".join(["python", "benchmarks/bandits_speed.py"] + sys.argv[1:])
        record_section("Linear bandits", f"## Linear bandits\n\n`{command}`\n\n{out.text.strip()}\n")


def _run(args: argparse.Namespace) -> None:
    print(f"Machine: python {platform.python_version()}, numpy {np.__version__}, "
          f"scipy {scipy.__version__}, "
          f"{platform.processor() or platform.machine()}; best of {args.repeats}")
    cfg = LinUCBConfig()
    seeds = list(range(args.seeds))
    print(f"\n### LinUCB, {args.seeds} seeds x T = {args.horizon}, k = 50\n")
    print("| d | per-seed loop s (anchor) | vectorised s | speed-up | identical | naive 1 seed s | "
          "incremental 1 seed s | speed-up |")
    print("|---|---|---|---|---|---|---|---|")
    for d in (5, 20):
        insts = []
        for s in seeds:
            rng = np.random.default_rng(1000 + s)
            insts.append(gam_split(sphere_points(50, d, rng), sphere_points(1, d, rng)[0], 0.2))
        loop_s, loop = best_of(lambda: simulate(insts, cfg, args.horizon, seeds, vectorised=False),
                               args.repeats)
        vec_s, vec = best_of(lambda: simulate(insts, cfg, args.horizon, seeds), args.repeats)
        same = bool(np.allclose(loop.regret, vec.regret, atol=1e-9))
        short = min(args.horizon, 5000)
        inc_s, inc = best_of(lambda: run(insts[0], cfg, short, 0), args.repeats)
        naive_s, short_by = best_of(lambda: naive_linucb(insts[0], cfg, short, 0, inc.pulls),
                                    args.repeats)
        assert short_by < 1e-9, f"incremental LinUCB's arm is not the naive argmax ({short_by})"
        print(f"| {d} | {loop_s:.2f} | {vec_s:.2f} | {loop_s / vec_s:.1f}x | {same} | "
              f"{naive_s:.2f} (T={short}) | {inc_s:.2f} | {naive_s / inc_s:.1f}x |")

    print("\n### G-optimal design, tolerance 1e-3 (max leverage <= 1.001 d)\n")
    print("| k | d | SLSQP log-det s (anchor) | FW s | FW iters | FW+away s | FW+away iters | "
          "max leverage / d (FW+away) | log det gap to SLSQP |")
    print("|---|---|---|---|---|---|---|---|---|")
    for k, d in ((50, 5), (50, 20), (200, 10)):
        arms = sphere_points(k, d, np.random.default_rng(k + d))

        def slsqp():
            f = lambda p: -np.linalg.slogdet(arms.T @ (p[:, None] * arms))[1]  # noqa: E731
            return minimize(f, np.full(k, 1 / k), method="SLSQP", bounds=[(0, 1)] * k,
                            constraints=[{"type": "eq", "fun": lambda p: p.sum() - 1}],
                            options={"ftol": 1e-10, "maxiter": 1000})

        ref_s, ref = best_of(slsqp, args.repeats)
        fw_s, fw = best_of(lambda: g_optimal_design(arms, 1e-3, away_steps=False), args.repeats)
        aw_s, aw = best_of(lambda: g_optimal_design(arms, 1e-3), args.repeats)
        gap = -ref.fun - np.linalg.slogdet(arms.T @ (aw.weights[:, None] * arms))[1]
        assert leverages(arms, aw.weights).max() <= 1.001 * d + 1e-9
        print(f"| {k} | {d} | {ref_s:.3f} | {fw_s:.3f} | {fw.iterations} | {aw_s:.4f} | "
              f"{aw.iterations} | {aw.max_leverage / d:.5f} | {gap:.2e} |")

    print("\n### Phased elimination, T = 1e5, d = 5, k = 50, one seed\n")
    print("| C | seconds | batches | ceil(log2 T) | R_T |")
    print("|---|---|---|---|---|")
    rng = np.random.default_rng(7)
    inst = gam_split(sphere_points(50, 5, rng), sphere_points(1, 5, rng)[0], 0.2)
    for c in (2.0, 0.2):
        sec, res = best_of(lambda: run(inst, PhasedEliminationConfig(exploration=c), 100_000, 0),
                           args.repeats)
        print(f"| {c:g} | {sec:.3f} | {res.batches_used} | {math.ceil(math.log2(1e5))} | "
              f"{res.regret[-1]:.0f} |")


if __name__ == "__main__":
    main()
