"""Cost of the synthetic-data pipeline beside the cost of training the base agent, in one run.

Usage: python benchmarks/offline_speed.py [--transitions 10000] [--base-steps 1500] [--record]

On RGB maze data (11x11 NARROW layouts, 3 px per cell, training themes), one torch thread:

1. Base agent (anchor): BC and discrete CQL training of the paper-shaped agent, gradient steps/s
   and seconds for ``--base-steps`` steps.
2. Augmentation (one pass: colour jitter, cut-out, background overlay, shared draw per pair) and
   latent encoding of (o, o'): transitions/s.
3. EDM on the 70-d latent transitions (notes' size: width 256, 3 blocks): fit throughput
   (transitions/s seen in training) and sampling throughput (transitions/s, 32 Heun steps).
4. Head fine-tuning (same steps as the reproduction's paper preset).
5. The whole pipeline (augment + encode + EDM fit + 3|D| samples + fine-tuning) over the base
   training cost: the paper's point is that latent diffusion is cheap.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np
import torch

from _record import Tee, record_section  # benchmarks/_record.py (the script's folder is on sys.path)
from saddlepoint.envs.observations import TRAIN_THEMES
from saddlepoint.experiments.offline_synthetic import collect_themed
from saddlepoint.envs.generators import NARROW
from saddlepoint.offline.agents import AgentConfig, TrainConfig, encode_transitions, finetune_heads, train_base
from saddlepoint.offline.augment import AugmentConfig, augment_transitions
from saddlepoint.offline.edm import EDMConfig
from saddlepoint.offline.upsample import LatentUpsampler


def _timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--transitions", type=int, default=10_000)
    ap.add_argument("--base-steps", type=int, default=1500)
    ap.add_argument("--edm-steps", type=int, default=1000)
    ap.add_argument("--finetune-steps", type=int, default=1000)
    ap.add_argument("--record", action="store_true", help="update benchmarks/RESULTS.md")
    args = ap.parse_args()
    torch.set_num_threads(1)
    with Tee() as out:
        _run(args)
    if args.record:
        record_section("Offline synthetic data (augmentation + latent EDM)",
                       "## Offline synthetic data (augmentation + latent EDM)\n\n```\n" + out.text + "```\n")


def _run(args) -> None:
    rng = np.random.default_rng(0)
    levels = NARROW.sample_many(100, rng, unique=True)
    data = collect_themed(levels, TRAIN_THEMES, args.transitions, 0.2, 32, seed=0)
    fields = [data[k] for k in ("obs", "actions", "rewards", "next_obs", "terminated")]
    n = args.transitions
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.1f}; torch {torch.__version__}, 1 thread")
    print(f"data: {n} RGB transitions {data['obs'].shape[1:]}, batch 128\n")

    base = {}
    for algo in ("bc", "cql"):
        secs, (agent, _) = _timed(lambda: train_base(*fields, AgentConfig(algo=algo),
                                                     TrainConfig(steps=args.base_steps, batch_size=128), seed=0))
        base[algo] = (secs, agent)
        print(f"base {algo.upper():3s}: {args.base_steps} steps in {secs:7.1f} s ({args.base_steps / secs:6.1f} steps/s)")
    agent = base["cql"][1]

    aug_s, (o, o2, a) = _timed(lambda: augment_transitions(data["obs"], data["next_obs"], data["actions"],
                                                           AugmentConfig(), rng))
    enc_s, real = _timed(lambda: encode_transitions(agent, *fields).concat(
        encode_transitions(agent, o, a, data["rewards"], o2, data["terminated"])))
    print(f"augment one pass: {aug_s:6.1f} s ({n / aug_s:8.0f} transitions/s)")
    print(f"encode (o, o') of D and D_aug: {enc_s:6.1f} s ({2 * n / enc_s:8.0f} transitions/s)")

    cfg = EDMConfig(width=256, num_blocks=3, train_steps=args.edm_steps, steps=32, batch_size=256)
    up = LatentUpsampler(32, 4, cfg, seed=0)
    fit_s, _ = _timed(lambda: up.fit(real, rng))
    sample_s, syn = _timed(lambda: up.sample(3 * n, rng))
    dim = 2 * 32 + 4 + 2
    print(f"EDM fit ({dim}-d, width 256 x 3 blocks): {args.edm_steps} steps x 256 in {fit_s:6.1f} s "
          f"({args.edm_steps * 256 / fit_s:8.0f} transitions/s)")
    print(f"EDM sample {3 * n} (32 Heun steps, churn 80): {sample_s:6.1f} s ({3 * n / sample_s:8.0f} transitions/s)")
    ft_s, _ = _timed(lambda: finetune_heads(agent, real.concat(syn), TrainConfig(steps=args.finetune_steps,
                                                                                batch_size=128), seed=0))
    print(f"fine-tune g_Q: {args.finetune_steps} steps in {ft_s:6.1f} s")
    pipeline = aug_s + enc_s + fit_s + sample_s + ft_s
    for algo in ("bc", "cql"):
        print(f"pipeline / base {algo.upper()} training: {pipeline:6.1f} s / {base[algo][0]:6.1f} s = "
              f"{pipeline / base[algo][0]:5.2f}")


if __name__ == "__main__":
    main()
