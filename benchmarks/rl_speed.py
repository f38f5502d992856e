"""Speed of the RL learners against Stable-Baselines3 and d3rlpy, side by side in one run.

Usage: python benchmarks/rl_speed.py [--ppo-steps 8192] [--offline-steps 200] [--no-d3rlpy]
       [--sections ppo,rollout,offline,memory] [--record]

Every learner uses the same conv encoder (saddlepoint.rl.networks.ConvEncoder, channels
(16, 32), strides (1, 2), hidden 64), the same batch and one torch thread.

1. PPO training on 8 narrow 11x11 levels: our PPO on the vectorised simulator against SB3's PPO
   on ``DummyVecEnv`` copies of ``MazeEnv`` (same envs B, rollout length, minibatch, epochs):
   environment steps per second of the whole training loop (rollouts + updates).
2. PPO rollout throughput alone (policy forward + sampling + env step, no update), same encoder:
   ours with the same B, ours with B = 256, and SB3's (``policy.predict`` + ``DummyVecEnv.step``).
3. Offline gradient steps per second: our BC and discrete CQL against d3rlpy's DiscreteBC and
   DiscreteCQL (isolated venv, created once under ~/.cache/saddlepoint) on the same dataset.
4. Memory: bytes held by a 50k-transition symbolic dataset (target < 100 MB).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from _record import Tee, record_section  # benchmarks/_record.py (the script's folder is on sys.path)
from saddlepoint.envs.generators import NARROW
from saddlepoint.envs.vector import MazeVectorEnv
from saddlepoint.offline.collect import collect, collect_mixture
from saddlepoint.offline.dataset import save_npz
from saddlepoint.rl.bc import BCConfig, train_bc
from saddlepoint.rl.cql import DiscreteCQLConfig, train_cql
from saddlepoint.rl.crosscheck import run_d3rlpy, sb3_ppo, sb3_ppo_model
from saddlepoint.rl.networks import ActorCritic, NetworkConfig
from saddlepoint.rl.ppo import PPOConfig, train_ppo

NET = NetworkConfig(channels=(16, 32), strides=(1, 2), hidden=64)


def ppo_training(levels, steps: int) -> dict:
    cfg = PPOConfig(total_steps=steps, num_envs=16, num_steps=128, epochs=4, minibatches=4, lr=1e-3, network=NET)
    warm = dataclasses.replace(cfg, total_steps=cfg.batch_size)  # first-use imports out of the timings
    train_ppo(levels, warm, seed=0)
    sb3_ppo(levels, warm, seed=0)
    ours = train_ppo(levels, cfg, seed=0)
    _, sb3_steps, sb3_seconds = sb3_ppo(levels, cfg, seed=0)
    return {"batch": cfg.batch_size, "minibatch": cfg.batch_size // cfg.minibatches, "B": cfg.num_envs,
            "ours": ours.steps_per_second, "sb3": sb3_steps / sb3_seconds}


def our_rollout(levels, num_envs: int, steps: int) -> float:
    env = MazeVectorEnv(levels, num_envs=num_envs, seed=0)
    obs, _ = env.reset(seed=0)
    net = ActorCritic(obs.shape[1:], 4, NET)
    gen = torch.Generator().manual_seed(0)
    t0 = time.perf_counter()
    for _ in range(steps // num_envs):
        with torch.no_grad():
            logits, _ = net(torch.from_numpy(obs))
            a = torch.multinomial(torch.softmax(logits, 1), 1, generator=gen).squeeze(1)
        obs, *_ = env.step(a.numpy())
    return (steps // num_envs) * num_envs / (time.perf_counter() - t0)


def sb3_rollout(levels, num_envs: int, steps: int) -> float:
    cfg = PPOConfig(num_envs=num_envs, num_steps=128, network=NET)
    model = sb3_ppo_model(levels, cfg, seed=0)
    env = model.get_env()
    obs = env.reset()
    t0 = time.perf_counter()
    for _ in range(steps // num_envs):
        actions, _ = model.policy.predict(obs)
        obs, *_ = env.step(actions)
    return (steps // num_envs) * num_envs / (time.perf_counter() - t0)


def offline(levels, steps: int, use_d3rlpy: bool) -> dict:
    data = collect(levels, 5000, "expert", seed=0)
    out = {"ours_bc": train_bc(data, BCConfig(steps=steps, batch_size=128, network=NET)).steps_per_second,
           "ours_cql": train_cql(data, DiscreteCQLConfig(steps=steps, batch_size=128, network=NET,
                                                         target_update_interval=100)).steps_per_second}
    if use_d3rlpy:
        with tempfile.TemporaryDirectory() as tmp:
            save_npz(data, Path(tmp) / "d.npz")
            theirs = run_d3rlpy(Path(tmp) / "d.npz", [{"algo": "bc", "steps": steps, "lr": 1e-3},
                                                       {"algo": "cql", "steps": steps, "lr": 3e-4}], batch_size=128)
        out.update({f"d3rlpy_{r['algo']}": r["steps_per_second"] for r in theirs})
    return out


def memory() -> float:
    levels = NARROW.sample_many(200, np.random.default_rng(0))
    return collect_mixture(levels, 50_000, seed=0).nbytes / 2**20


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ppo-steps", type=int, default=8192)
    ap.add_argument("--rollout-steps", type=int, default=16384)
    ap.add_argument("--offline-steps", type=int, default=200)
    ap.add_argument("--no-d3rlpy", action="store_true")
    ap.add_argument("--sections", default="ppo,rollout,offline,memory")
    ap.add_argument("--record", action="store_true", help="write the section of benchmarks/RESULTS.md")
    args = ap.parse_args()
    torch.set_num_threads(1)
    levels = NARROW.sample_many(8, np.random.default_rng(0))
    with Tee() as out:
        print(f"machine: {platform.machine()}, {platform.processor() or 'cpu'}; torch {torch.__version__}, "
              "1 torch thread; numbers are env steps (or gradient steps) per second")
        sections = set(args.sections.split(","))
        ppo, roll, off, mem = {}, {}, {}, None
        if "ppo" in sections:
            ppo = ppo_training(levels, args.ppo_steps)
            print(f"\nPPO training, B = {ppo['B']}, batch {ppo['batch']}, minibatch {ppo['minibatch']}, 4 epochs, "
                  f"{args.ppo_steps} env steps:")
            print(f"  ours {ppo['ours']:8.0f} steps/s   SB3 {ppo['sb3']:8.0f} steps/s   "
                  f"ratio {ppo['ours'] / ppo['sb3']:.2f}x")
        if "rollout" in sections:
            roll = {"sb3": sb3_rollout(levels, 16, args.rollout_steps),
                    "ours16": our_rollout(levels, 16, args.rollout_steps),
                    "ours256": our_rollout(levels, 256, args.rollout_steps * 4)}
            print(f"\nPPO rollouts alone (policy + env, no update, same encoder), {args.rollout_steps} env steps:")
            print(f"  ours B=16 {roll['ours16']:8.0f}   ours B=256 {roll['ours256']:8.0f}   SB3 B=16 {roll['sb3']:8.0f} "
                  f"steps/s   ratios {roll['ours16'] / roll['sb3']:.1f}x (B=16), {roll['ours256'] / roll['sb3']:.1f}x "
                  "(B=256)")
        if "offline" in sections:
            off = offline(levels, args.offline_steps, not args.no_d3rlpy)
            print(f"\nOffline gradient steps/s, batch 128, {args.offline_steps} steps:")
            for algo in ("bc", "cql"):
                theirs = off.get(f"d3rlpy_{algo}")
                ratio = f"ratio {off[f'ours_{algo}'] / theirs:.2f}x" if theirs else "(d3rlpy skipped)"
                print(f"  {algo.upper():4s} ours {off[f'ours_{algo}']:7.1f}   d3rlpy "
                      f"{theirs if theirs is None else round(theirs, 1)}   {ratio}")
        if "memory" in sections:
            mem = memory()
            print(f"\nMemory: 50k-transition symbolic 11x11 dataset (uint8 observations): {mem:.1f} MB "
                  "(target < 100 MB)")
        print("\n" + json.dumps({"ppo": ppo, "rollout": roll, "offline": off, "memory_mb": mem}))
    if args.record:
        record_section("RL learners (PPO, BC, CQL)",
                       "## RL learners (PPO, BC, CQL)\n\n`python benchmarks/rl_speed.py --record`\n\n```\n"
                       + out.text.strip() + "\n```\n")


if __name__ == "__main__":
    main()
