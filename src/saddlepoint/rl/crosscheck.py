"""Cross-checks against d3rlpy and Stable-Baselines3 with the same network, data and budget.

d3rlpy 2.8 pins ``gymnasium==1.0.0`` (and needs the old ``gym``), so it never enters the main
environment: :func:`d3rlpy_python` builds an isolated virtual environment (``--system-site-packages``
so it reuses the installed torch, whose version a constraints file pins) in a cache folder, and
:func:`run_d3rlpy` runs this module there as a script on a dataset saved as ``.npz``. The script
reads the dataset with :func:`saddlepoint.offline.dataset.load_npz`, trains d3rlpy's
``DiscreteCQLConfig`` or ``DiscreteBCConfig`` with our :class:`~saddlepoint.rl.networks.ConvEncoder`
as its encoder, evaluates the greedy policy with :func:`saddlepoint.rl.evaluate.evaluate_policy`
on the dataset's levels and prints one JSON line.

:func:`sb3_ppo` trains Stable-Baselines3's PPO on :class:`saddlepoint.envs.gym.MazeEnv` copies
with the same encoder, heads and hyperparameters as :func:`saddlepoint.rl.ppo.train_ppo`.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

from saddlepoint.errors import InvalidInputError

logger = logging.getLogger(__name__)

D3RLPY_REQUIREMENTS = ("d3rlpy==2.8.1", "gymnasium==1.0.0")


def default_cache() -> Path:
    """``$SADDLEPOINT_CACHE`` or ``~/.cache/saddlepoint``."""
    return Path(os.environ.get("SADDLEPOINT_CACHE", Path.home() / ".cache" / "saddlepoint"))


def d3rlpy_python(cache: str | Path | None = None) -> Path:
    """The Python of an isolated venv with d3rlpy (created on first use; a few minutes)."""
    import torch

    venv = Path(cache or default_cache()) / "d3rlpy-venv"
    python = venv / "bin" / "python"
    ready = venv / ".saddlepoint-ready"
    if ready.is_file():
        return python
    logger.info("creating an isolated d3rlpy venv in %s", venv)
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True)
    constraints = venv / "constraints.txt"
    constraints.write_text(f"torch=={torch.__version__}\n")  # never replace the shared torch
    subprocess.run([str(python), "-m", "pip", "install", "-q", "-c", str(constraints), *D3RLPY_REQUIREMENTS],
                   check=True)
    ready.write_text("ok\n")
    return python


def run_d3rlpy(npz: str | Path, runs: list[dict], *, batch_size: int, seed: int = 0, channels=(16, 32),
               strides=(1, 2), hidden: int = 64, alpha: float = 1.0, target_update_interval: int = 100,
               gamma: float = 0.99, max_steps: int = 64, python: str | Path | None = None,
               timeout: float = 900) -> list[dict]:
    """Train d3rlpy on ``npz`` in the isolated venv, one result dict per entry of ``runs``.

    Each run is ``{"algo": "cql" | "bc", "steps": int, "lr": float, "seed": int (default ``seed``)}``; all
    share one process (d3rlpy's
    import is slow) and the settings given here, which mirror :class:`~saddlepoint.rl.cql.DiscreteCQLConfig`.
    """
    for r in runs:
        if r.get("algo") not in ("cql", "bc"):
            raise InvalidInputError(f"run algo must be 'cql' or 'bc', got {r.get('algo')!r}")
    args = {"npz": str(npz), "runs": runs, "batch_size": batch_size, "seed": seed, "channels": list(channels),
            "strides": list(strides), "hidden": hidden, "alpha": alpha,
            "target_update_interval": target_update_interval, "gamma": gamma, "max_steps": max_steps}
    python = python or d3rlpy_python()
    import saddlepoint

    src = str(Path(saddlepoint.__file__).resolve().parents[1])  # this checkout, not another install
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore",
           "PYTHONPATH": os.pathsep.join(filter(None, [src, os.environ.get("PYTHONPATH")]))}
    out = subprocess.run([str(python), "-m", "saddlepoint.rl.crosscheck", json.dumps(args)], capture_output=True,
                         text=True, timeout=timeout, env=env)
    if out.returncode != 0:
        raise RuntimeError(f"d3rlpy run failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _d3rlpy_main(args: dict) -> dict:
    """Runs inside the d3rlpy venv."""
    import dataclasses

    import d3rlpy
    import numpy as np
    import torch

    from saddlepoint.offline.dataset import load_npz
    from saddlepoint.rl.evaluate import evaluate_policy
    from saddlepoint.rl.networks import ConvEncoder, NetworkConfig

    torch.set_num_threads(1)
    net_cfg = NetworkConfig(tuple(args["channels"]), tuple(args["strides"]), args["hidden"])

    @dataclasses.dataclass()
    class MazeEncoderFactory(d3rlpy.models.encoders.EncoderFactory):
        def create(self, observation_shape):
            return ConvEncoder(tuple(observation_shape), net_cfg)

        @staticmethod
        def get_type() -> str:
            return "saddlepoint_maze"

    d3rlpy.models.encoders.register_encoder_factory(MazeEncoderFactory)
    data = load_npz(args["npz"])
    dataset = d3rlpy.dataset.MDPDataset(
        observations=np.asarray(data.observations), actions=np.asarray(data.actions)[:, None],
        rewards=np.asarray(data.rewards), terminals=np.asarray(data.terminated, np.float32),
        timeouts=np.asarray(data.truncated, np.float32), action_space=d3rlpy.ActionSpace.DISCRETE, action_size=4)
    results = []
    for run in args["runs"]:
        run_seed = int(run.get("seed", args["seed"]))
        d3rlpy.seed(run_seed)
        common = {"batch_size": args["batch_size"], "learning_rate": run["lr"],
                  "encoder_factory": MazeEncoderFactory()}
        if run["algo"] == "cql":
            config = d3rlpy.algos.DiscreteCQLConfig(alpha=args["alpha"], gamma=args["gamma"],
                                                    target_update_interval=args["target_update_interval"], **common)
        else:
            config = d3rlpy.algos.DiscreteBCConfig(**common)
        algo = config.create(device="cpu:0")
        algo.build_with_dataset(dataset)
        start = time.perf_counter()
        algo.fit(dataset, n_steps=run["steps"], n_steps_per_epoch=run["steps"], show_progress=False,
                 save_interval=10**9, logger_adapter=d3rlpy.logging.NoopAdapterFactory())
        seconds = time.perf_counter() - start

        class Greedy:
            def act(self, obs, rng, algo=algo):
                return algo.predict(np.asarray(obs, np.float32))

        ev = evaluate_policy(Greedy(), data.levels(), max_steps=args["max_steps"], seed=1000 + run_seed)
        results.append({"algo": run["algo"], "seed": run_seed, "steps": run["steps"], "seconds": seconds,
                        "steps_per_second": run["steps"] / seconds, **ev.as_dict()})
    return results


def sb3_ppo_model(levels, config, seed: int = 0):
    """An untrained Stable-Baselines3 PPO with the same encoder, linear heads and hyperparameters as
    ``config`` (a :class:`~saddlepoint.rl.ppo.PPOConfig`) on ``config.num_envs`` :class:`MazeEnv`
    copies in a ``DummyVecEnv``."""
    from stable_baselines3 import PPO
    from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
    from stable_baselines3.common.vec_env import DummyVecEnv

    from saddlepoint.envs.gym import MazeEnv
    from saddlepoint.rl.networks import ConvEncoder

    class Encoder(BaseFeaturesExtractor):
        def __init__(self, observation_space, net_cfg):
            super().__init__(observation_space, net_cfg.hidden)
            self.encoder = ConvEncoder(tuple(observation_space.shape), net_cfg)

        def forward(self, obs):
            return self.encoder(obs)

    levels = list(levels)
    env = DummyVecEnv([lambda: MazeEnv(levels, max_steps=config.max_steps, obs_mode=config.obs_mode)
                       for _ in range(config.num_envs)])
    env.seed(seed)
    return PPO("MlpPolicy", env, learning_rate=config.lr, n_steps=config.num_steps,
               batch_size=config.batch_size // config.minibatches, n_epochs=config.epochs, gamma=config.gamma,
               gae_lambda=config.gae_lambda, clip_range=config.clip_coef, ent_coef=config.ent_coef,
               vf_coef=config.vf_coef, max_grad_norm=config.max_grad_norm, seed=seed, device="cpu",
               policy_kwargs={"features_extractor_class": Encoder,
                              "features_extractor_kwargs": {"net_cfg": config.network},
                              "net_arch": {"pi": [], "vf": []}, "normalize_images": False})


def sb3_ppo(levels, config, seed: int = 0):
    """Train :func:`sb3_ppo_model` for ``config.total_steps``; returns (model, env steps, seconds)."""
    model = sb3_ppo_model(levels, config, seed)
    start = time.perf_counter()
    model.learn(total_timesteps=config.total_steps)
    return model, int(model.num_timesteps), time.perf_counter() - start


class SB3Policy:
    """Actions of a Stable-Baselines3 model (greedy, or sampled by SB3 with ``deterministic=False``),
    for :func:`saddlepoint.rl.evaluate.evaluate_policy`."""

    def __init__(self, model, deterministic: bool = True):
        self.model = model
        self.deterministic = deterministic

    def act(self, obs, rng):
        actions, _ = self.model.predict(obs, deterministic=self.deterministic)
        return actions


if __name__ == "__main__":
    print(json.dumps(_d3rlpy_main(json.loads(sys.argv[1]))))
