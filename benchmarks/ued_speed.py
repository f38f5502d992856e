"""Imagined environment steps per second (the default world model) beside real-maze steps per second.

Usage: python benchmarks/ued_speed.py [--num-envs 256] [--steps 200] [--repeats 5] [--threads 1] [--record]

Both environments run in the same process and the same run, interleaved, under uniform random
actions with auto-reset:

1. ``MazeVectorEnv`` (the real maze, NumPy) on 200 narrow 11x11 training levels (the anchor).
2. ``ImaginationVectorEnv`` stepping the default ``MazeWorldModel`` (trained for 300 updates on a
   20k-transition narrow dataset so its termination rate is realistic), contexts uniform, H = 32.

Target (issue 18): >= 25k imagined steps/s on 2 cores. Torch runs with ``--threads`` intra-op
threads (one is fastest for these tiny batches on a shared 2-core machine).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import platform  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

from _record import Tee, best_of, record_section  # noqa: E402  (benchmarks/_record.py)
from saddlepoint.envs.generators import NARROW  # noqa: E402
from saddlepoint.envs.vector import MazeVectorEnv  # noqa: E402
from saddlepoint.offline.collect import collect_mixture  # noqa: E402
from saddlepoint.ued.imagination import ImaginationVectorEnv  # noqa: E402
from saddlepoint.ued.world_model import WorldModelConfig, train_world_model  # noqa: E402


def rate(env, steps: int, repeats: int, num_envs: int) -> tuple[float, float]:
    """(wall, CPU) steps per second of ``env`` under random actions."""
    env.reset(seed=0)
    actions = np.random.default_rng(0).integers(0, 4, size=(steps, num_envs))

    def run() -> None:
        for a in actions:
            env.step(a)

    wall, _ = best_of(run, repeats)
    cpu = float("inf")
    for _ in range(repeats):
        t0 = time.process_time()
        run()
        cpu = min(cpu, time.process_time() - t0)
    return steps * num_envs / wall, steps * num_envs / cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--num-envs", type=int, default=256)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--record", action="store_true", help="write the section of benchmarks/RESULTS.md")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    levels = NARROW.sample_many(200, np.random.default_rng(0))
    data = collect_mixture(levels, 20_000, seed=0)
    t0 = time.perf_counter()
    model, _, metrics = train_world_model(data, WorldModelConfig(updates=300), seed=0)
    train_s = time.perf_counter() - t0
    with Tee() as out:
        print(f"machine: {platform.machine()} {platform.processor() or ''}, {os.cpu_count()} CPUs; "
              f"torch {torch.__version__}, {args.threads} torch thread(s); B = {args.num_envs}")
        print(f"world model: {sum(p.numel() for p in model.parameters())} parameters, 300 updates in "
              f"{train_s:.1f}s, held-out next-cell accuracy {metrics['heldout_position_accuracy']:.3f}")
        real = MazeVectorEnv(levels, num_envs=args.num_envs, seed=0, copy=False)
        imagined = ImaginationVectorEnv(model, data, num_envs=args.num_envs, horizon=32, seed=0)
        r_wall, r_cpu = rate(real, args.steps, args.repeats, args.num_envs)
        i_wall, i_cpu = rate(imagined, args.steps, args.repeats, args.num_envs)
        print("| environment | steps/s (wall) | steps/s (CPU time) |")
        print("|---|---|---|")
        print(f"| real maze (MazeVectorEnv, anchor) | {r_wall:,.0f} | {r_cpu:,.0f} |")
        print(f"| imagined (ImaginationVectorEnv) | {i_wall:,.0f} | {i_cpu:,.0f} |")
        print(f"imagined / real: {i_wall / r_wall:.3f} (wall); target >= 25,000 imagined steps/s: "
              f"{'met' if i_wall >= 25_000 else 'NOT met'}")
    if args.record:
        record_section("UED imagination", "## UED imagination\n\n`python benchmarks/ued_speed.py --record`\n\n"
                       + out.text)


if __name__ == "__main__":
    main()
