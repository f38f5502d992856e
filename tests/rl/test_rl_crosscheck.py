"""Cross-checks: our BC / discrete CQL against d3rlpy (isolated venv), our PPO against Stable-Baselines3."""

import importlib.metadata
import importlib.util

import numpy as np
import pytest

from saddlepoint.envs.generators import NARROW
from saddlepoint.offline.collect import collect
from saddlepoint.offline.dataset import save_npz
from saddlepoint.rl.bc import BCConfig, train_bc
from saddlepoint.rl.cql import DiscreteCQLConfig, train_cql
from saddlepoint.rl.crosscheck import SB3Policy, run_d3rlpy, sb3_ppo
from saddlepoint.rl.evaluate import GreedyPolicy, RandomPolicy, SampledPolicy, evaluate_policy
from saddlepoint.rl.ppo import PPOConfig, train_ppo

STEPS, BATCH, LR, SEEDS = 600, 64, 1e-3, (0, 1)


@pytest.mark.slow
def test_bc_and_cql_not_worse_than_d3rlpy(tmp_path):
    """Same data, network, optimiser, batch and budget; mean training-level success over two seeds."""
    gymnasium_before = importlib.metadata.version("gymnasium")
    levels = NARROW.sample_many(20, np.random.default_rng(0))
    data = collect(levels, 3000, "expert", seed=0)
    save_npz(data, tmp_path / "data.npz")
    runs = [{"algo": a, "steps": STEPS, "lr": LR, "seed": s} for a in ("cql", "bc") for s in SEEDS]
    results = run_d3rlpy(tmp_path / "data.npz", runs, batch_size=BATCH, target_update_interval=50)
    theirs = {a: np.mean([r["success_rate"] for r in results if r["algo"] == a]) for a in ("cql", "bc")}
    ours = {}
    for algo, train, cfg in (("cql", train_cql, DiscreteCQLConfig(steps=STEPS, batch_size=BATCH, lr=LR,
                                                                  target_update_interval=50)),
                             ("bc", train_bc, BCConfig(steps=STEPS, batch_size=BATCH, lr=LR))):
        ours[algo] = np.mean([evaluate_policy(GreedyPolicy(train(data, cfg, seed=s).network), levels,
                                              seed=1000 + s).success_rate for s in SEEDS])
    for algo in ("cql", "bc"):
        assert ours[algo] >= theirs[algo] - 0.10, (algo, ours, theirs)
    assert ours["bc"] >= 0.5  # the budget is enough to learn something
    # the isolated venv never touched the main environment
    assert importlib.metadata.version("gymnasium") == gymnasium_before
    assert importlib.util.find_spec("d3rlpy") is None


@pytest.mark.slow
def test_ppo_comparable_to_stable_baselines3():
    """Same levels, encoder, heads, hyperparameters and env-step budget; both policies sampled."""
    levels = NARROW.sample_many(4, np.random.default_rng(1))
    cfg = PPOConfig(total_steps=24_576, num_envs=16, num_steps=32, minibatches=4, lr=1e-3)
    ours = train_ppo(levels, cfg, seed=0)
    model, steps, _ = sb3_ppo(levels, cfg, seed=0)
    assert steps == ours.env_steps

    def success(policy):
        return evaluate_policy(policy, levels, episodes_per_level=25, seed=0).success_rate

    s_ours, s_sb3, s_random = success(SampledPolicy(ours.network)), success(SB3Policy(model, False)), \
        success(RandomPolicy())
    assert s_ours >= s_sb3 - 0.15, (s_ours, s_sb3)
    assert s_ours >= s_random + 0.2, (s_ours, s_random)  # it learned
