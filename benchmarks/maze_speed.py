"""Speed of the vectorised maze simulator against MiniGrid's single-environment step rate.

Usage: python benchmarks/maze_speed.py [--num-envs 1024] [--steps 200] [--repeats 7] [--record]

Everything runs on one core (CPU affinity pinned, BLAS/OpenMP threads 1). Measured in the same
run, interleaved:

1. MiniGrid-FourRooms-v0 (minigrid 3.2, ``gymnasium.make``, random actions, reset on done):
   environment steps per second (the anchor).
2. ``MazeVectorEnv`` at B = ``--num-envs`` on 200 narrow 11x11 training levels, T = 64, random
   actions, auto-reset: steps per second (B x vector steps / s) for symbolic, egocentric and RGB
   observations, with zero-copy views (``copy=False``) and with copies (``copy=True``).
3. Our single-level ``saddlepoint/Maze-v0`` through ``gymnasium.make`` (the Python reference).

Targets (issue 17): >= 5 M symbolic steps/s at B = 1024 on one core; >= 500x MiniGrid.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402

import gymnasium as gym  # noqa: E402
import numpy as np  # noqa: E402

from _record import Tee, best_of, record_section  # noqa: E402  (benchmarks/_record.py)
from saddlepoint.envs.generators import NARROW  # noqa: E402
from saddlepoint.envs.gym import ENV_ID  # noqa: E402
from saddlepoint.envs.vector import MazeVectorEnv  # noqa: E402


def best_times(fn: Callable[[], object], repeats: int) -> tuple[float, float]:
    """Fastest wall-clock seconds (``best_of``) and fastest CPU seconds of this process over
    ``repeats`` calls each: on a shared machine the CPU time is what one core spends."""
    wall, _ = best_of(fn, repeats)
    cpu = float("inf")
    for _ in range(repeats):
        t0 = time.process_time()
        fn()
        cpu = min(cpu, time.process_time() - t0)
    return wall, cpu


def minigrid_rate(steps: int, repeats: int) -> tuple[float, float]:
    """Steps per second of MiniGrid-FourRooms-v0 under random actions (ids registered on
    import of minigrid, done in _run)."""

    env = gym.make("MiniGrid-FourRooms-v0")
    env.reset(seed=0)
    actions = np.random.default_rng(0).integers(0, env.action_space.n, size=steps)

    def run() -> None:
        for a in actions:
            _, _, term, trunc, _ = env.step(int(a))
            if term or trunc:
                env.reset()

    wall, cpu = best_times(run, repeats)
    env.close()
    return steps / wall, steps / cpu


def single_rate(levels, steps: int, repeats: int) -> tuple[float, float]:
    """Steps per second of our single-level gymnasium env (Python reference)."""
    env = gym.make(ENV_ID, levels=levels)
    env.reset(seed=0)
    actions = np.random.default_rng(0).integers(0, 4, size=steps)

    def run() -> None:
        for a in actions:
            _, _, term, trunc, _ = env.step(int(a))
            if term or trunc:
                env.reset()

    wall, cpu = best_times(run, repeats)
    return steps / wall, steps / cpu


def vector_rate(levels, b: int, steps: int, repeats: int, **kwargs) -> tuple[float, float]:
    """Environment steps per second (b slots x vector steps / s) of ``MazeVectorEnv``."""
    env = MazeVectorEnv(levels, num_envs=b, max_steps=64, seed=0, **kwargs)
    env.reset()
    actions = np.random.default_rng(0).integers(0, 4, size=(steps, b))
    for a in actions[:20]:                                  # warm the level caches
        env.step(a)

    def run() -> None:
        for a in actions:
            env.step(a)

    wall, cpu = best_times(run, repeats)
    return b * steps / wall, b * steps / cpu


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--num-envs", type=int, default=1024)
    ap.add_argument("--steps", type=int, default=200, help="vector steps per timed repeat")
    ap.add_argument("--minigrid-steps", type=int, default=3000)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--record", action="store_true", help="update benchmarks/RESULTS.md")
    args = ap.parse_args()
    with Tee() as out:
        _run(args)
    if args.record:
        command = " ".join(["python", "benchmarks/maze_speed.py"] + sys.argv[1:])
        record_section("Maze simulator", f"## Maze simulator\n\n`{command}`\n\n{out.text.strip()}\n")


def _run(args: argparse.Namespace) -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    try:
        from threadpoolctl import threadpool_limits
        threadpool_limits(1)
    except ImportError:
        pass
    import minigrid

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"Machine: python {platform.python_version()}, numpy {np.__version__}, gymnasium "
          f"{gym.__version__}, minigrid {minigrid.__version__}, {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} cores (pinned to 1), load average {load:.1f} at start; best of {args.repeats}")
    levels = NARROW.sample_many(200, np.random.default_rng(0))
    b, steps, reps = args.num_envs, args.steps, args.repeats
    arms = [("symbolic (3, 11, 11) float32", dict(obs_mode="symbolic")),
            ("egocentric (3, 5, 5) float32", dict(obs_mode="egocentric")),
            ("rgb (33, 33, 3) uint8, train themes", dict(obs_mode="rgb", themes="train")),
            ("rgb (33, 33, 3) uint8, test themes (noise, blobs)", dict(obs_mode="rgb", themes="test"))]
    mg = minigrid_rate(args.minigrid_steps, reps)
    rates = {}
    for name, kw in arms:
        rgb = kw["obs_mode"] == "rgb"
        n = max(steps // 4, 10) if rgb else steps
        rates[name] = (vector_rate(levels, b, n, reps, copy=False, **kw),
                       vector_rate(levels, b, n, reps, copy=True, **kw))
    mg2 = minigrid_rate(args.minigrid_steps, reps)         # anchor again: the best of both runs
    mg = (max(mg[0], mg2[0]), max(mg[1], mg2[1]))
    single = single_rate(levels, args.minigrid_steps, reps)

    for col, label in ((1, "per CPU-second of this process (best of repeats)"),
                       (0, "per wall-clock second (best of repeats)")):
        anchor = mg[col]
        print(f"\n### Environment steps {label}\n")
        print(f"B = {b}, T = 64, 200 narrow 11x11 levels, random actions, auto-reset.\n")
        print("| simulator | obs | copy=False (views) | copy=True | views vs MiniGrid |")
        print("|---|---|---|---|---|")
        print(f"| MiniGrid-FourRooms-v0 (anchor, 1 env) | 7x7x3 partial view | {anchor:,.0f} | | 1x |")
        print(f"| saddlepoint/Maze-v0 via gymnasium.make (1 env) | symbolic | {single[col]:,.0f} | | "
              f"{single[col] / anchor:.1f}x |")
        for name, (fast, copied) in rates.items():
            print(f"| MazeVectorEnv B = {b} | {name} | {fast[col] / 1e6:.2f} M | {copied[col] / 1e6:.2f} M | "
                  f"{fast[col] / anchor:,.0f}x |")
        sym_fast, sym_copy = (r[col] for r in rates[arms[0][0]])
        print(f"\nTarget >= 5 M symbolic steps/s at B = {b}: {sym_fast / 1e6:.2f} M with views "
              f"({'met' if sym_fast >= 5e6 else 'NOT met'}), {sym_copy / 1e6:.2f} M with copies.")
        print(f"Target >= 500x MiniGrid's single-env rate: {sym_fast / anchor:,.0f}x "
              f"({'met' if sym_fast / anchor >= 500 else 'NOT met'}).")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"\nLoad average at the end: {load:.1f}.")


if __name__ == "__main__":
    main()
