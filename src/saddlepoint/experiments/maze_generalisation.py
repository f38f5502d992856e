"""Reproduction: the generalisation gap of offline RL trained on narrow maze data.

The shared starting point of IMAC (arXiv 2509.13341) and "Synthetic Data is Sufficient for
Zero-Shot Visual Generalization from Offline Data" (arXiv 2508.12356): an agent trained on
offline data from a narrow set of procedurally generated levels fails on held-out levels.
At laptop scale (the IMAC notes' "Reproduction at laptop scale"): 11x11 symbolic mazes, a
narrow training set (low wall density, goal within 6 steps), one offline dataset mixing
BFS-optimal epsilon = 0.1, "medium" epsilon = 0.5 and uniform-random behaviour on those levels;
behaviour cloning and discrete CQL trained on it, and online PPO on the same levels as a
ceiling, over several seeds; each agent evaluated on the training levels, on unseen narrow
levels and on broad held-out levels (higher density, optimal path 8-20), plus the
hand-designed held-out mazes.

Claim, fixed before running (see :data:`CRITERION`): each offline agent's success on broad
held-out levels is below its training-level success by more than 2 standard errors (paired
over seeds).
"""

from __future__ import annotations

import functools
import logging
import time
from dataclasses import dataclass

import numpy as np

from saddlepoint.errors import require
from saddlepoint.experiments.base import Cell, Experiment, Preset, Summary
from saddlepoint.experiments.report import markdown_table
from saddlepoint.experiments.stats import exceeds, mean_se
from saddlepoint.results import ClaimCheck, Fact, RunDir

log = logging.getLogger(__name__)

NAME = "maze-generalisation"
ARMS = ("bc", "cql", "ppo")
OFFLINE_ARMS = ("bc", "cql")
LEVEL_SETS = ("train", "unseen_narrow", "broad", "hand_designed")
CRITERION = ("for each offline arm (BC, CQL): mean over seeds of (training-level success - broad held-out "
             "success) > 2 x its standard error across seeds (paired by seed, ddof = 1)")
NOTES_CRITERION = ("the offline agents' success on broad held-out levels is below their training-level success "
                   "by more than 2 s.e.")


@dataclass(frozen=True, kw_only=True)
class MazeGeneralisationPreset(Preset):
    """Sizes and budgets of one run (defaults: the paper preset)."""

    size: int = 11
    """Grid side N of every level (narrow and broad generators of :mod:`saddlepoint.envs.generators`)."""
    train_levels: int = 200
    """Narrow training levels (the only levels in the dataset)."""
    test_levels: int = 200
    """Levels in each test set (unseen narrow, broad)."""
    transitions: int = 50_000
    """Dataset size; equal shares of expert (eps 0.1), medium (eps 0.5) and random behaviour."""
    max_steps: int = 64
    """Episode time limit T."""
    channels: tuple[int, ...] = (16, 32)
    """Conv channels of every agent's encoder."""
    strides: tuple[int, ...] = (1, 2)
    """Conv strides."""
    hidden: int = 64
    """Encoder output width."""
    batch_size: int = 128
    """Minibatch of BC and CQL."""
    bc_steps: int = 1500
    """BC gradient steps."""
    cql_steps: int = 2000
    """CQL gradient steps."""
    cql_alpha: float = 1.0
    """CQL's alpha."""
    cql_target_update: int = 100
    """Gradient steps between target-network copies."""
    ppo_steps: int = 150_000
    """PPO environment steps (the online ceiling)."""
    ppo_envs: int = 16
    """PPO parallel environments."""
    ppo_rollout: int = 128
    """PPO rollout length per environment."""
    ppo_lr: float = 1e-3
    """PPO learning rate."""
    data_seed: int = 12345
    """Seed of the level sets and of the dataset (shared by every arm and training seed)."""


def _network(p: MazeGeneralisationPreset):
    from saddlepoint.rl.networks import NetworkConfig

    return NetworkConfig(channels=p.channels, strides=p.strides, hidden=p.hidden)


@functools.lru_cache(maxsize=4)
def level_sets(size: int, train: int, test: int, seed: int) -> dict[str, list]:
    """The level sets of a run: train / unseen narrow / broad (disjoint, seeded) and hand-designed."""
    from saddlepoint.envs.generators import MazeGenerator, NARROW, BROAD, held_out_mazes

    narrow = MazeGenerator(size=size, wall_density=NARROW.wall_density, path_length=NARROW.path_length)
    broad = MazeGenerator(size=size, wall_density=BROAD.wall_density, path_length=BROAD.path_length)
    rng = np.random.default_rng(seed)
    train_lv = narrow.sample_many(train, rng)
    unseen = narrow.sample_many(test, rng, exclude=train_lv)
    return {"train": train_lv, "unseen_narrow": unseen, "broad": broad.sample_many(test, rng),
            "hand_designed": held_out_mazes(size)}


@functools.lru_cache(maxsize=2)
def narrow_dataset(size: int, train: int, test: int, transitions: int, max_steps: int, seed: int):
    """The offline dataset (cached per process: every cell of a run rebuilds the same one)."""
    from saddlepoint.offline.collect import collect_mixture

    levels = level_sets(size, train, test, seed)["train"]
    return collect_mixture(levels, transitions, {"expert": 1.0, "medium": 1.0, "random": 1.0}, seed=seed,
                           max_steps=max_steps)


class MazeGeneralisation(Experiment):
    """BC and CQL on narrow offline data, PPO on the same levels; success on four level sets.

    Cells: one per (arm, seed); each trains its agent and evaluates it on every level set.
    """

    name = NAME
    title = "Offline RL generalisation gap on procedural mazes"
    presets = {
        "smoke": MazeGeneralisationPreset(seeds=(0, 1), train_levels=20, test_levels=20, transitions=3000,
                                          bc_steps=60, cql_steps=60, ppo_steps=2048, ppo_envs=8, ppo_rollout=64,
                                          batch_size=64),
        "paper": MazeGeneralisationPreset(seeds=(0, 1, 2)),
    }
    criteria_commit = "74ce3d68d0ae8c2910d85f83dfdb207dcdbdb94b"
    timing_fields = frozenset({"seconds", "train_seconds", "steps_per_second"})

    def config(self, preset: Preset) -> dict:
        return {"criterion": CRITERION, "behaviours": {"expert": 0.1, "medium": 0.5, "random": 1.0}}

    def cells(self, p: MazeGeneralisationPreset) -> list[Cell]:
        # PPO (the longest cells) first, so a process pool starts them early.
        return [Cell(f"{arm}/seed={s}", seed=s, params={"arm": arm}) for arm in ("ppo", "cql", "bc") for s in p.seeds]

    def run_cell(self, p: MazeGeneralisationPreset, cell: Cell) -> list[dict]:
        torch = require("torch", "torch")
        from saddlepoint.rl.evaluate import GreedyPolicy, SampledPolicy, evaluate_policy

        torch.set_num_threads(1)
        arm, seed = cell.params["arm"], cell.seed
        sets = level_sets(p.size, p.train_levels, p.test_levels, p.data_seed)
        rows: list[dict] = []
        start = time.perf_counter()
        if arm in OFFLINE_ARMS:
            data = narrow_dataset(p.size, p.train_levels, p.test_levels, p.transitions, p.max_steps, p.data_seed)
            if arm == "bc":
                from saddlepoint.rl.bc import BCConfig, train_bc

                result = train_bc(data, BCConfig(steps=p.bc_steps, batch_size=p.batch_size, network=_network(p)),
                                  seed=seed)
            else:
                from saddlepoint.rl.cql import DiscreteCQLConfig, train_cql

                result = train_cql(data, DiscreteCQLConfig(steps=p.cql_steps, batch_size=p.batch_size,
                                                           alpha=p.cql_alpha,
                                                           target_update_interval=p.cql_target_update,
                                                           network=_network(p)), seed=seed)
            rows.append({"section": "train", "arm": arm, "seed": seed, "final_loss": result.losses[-1],
                         "steps_per_second": result.steps_per_second, "dataset_size": len(data),
                         "dataset_success": data.success_rate()})
        else:
            from saddlepoint.rl.ppo import PPOConfig, train_ppo

            cfg = PPOConfig(total_steps=p.ppo_steps, num_envs=p.ppo_envs, num_steps=p.ppo_rollout, lr=p.ppo_lr,
                            max_steps=p.max_steps, network=_network(p))
            result = train_ppo(sets["train"], cfg, seed=seed)
            rows += [{"section": "ppo_curve", "arm": arm, "seed": seed, "env_steps": h["env_steps"],
                      "rollout_success": h["success_rate"]} for h in result.history]
            rows.append({"section": "train", "arm": arm, "seed": seed, "steps_per_second": result.steps_per_second})
        train_seconds = time.perf_counter() - start
        # BC and CQL act greedily (argmax of logits / Q-values); PPO samples from its stochastic policy,
        # the policy it was trained as (its greedy version loops in mazes it half-solves).
        policy = SampledPolicy(result.network) if arm == "ppo" else GreedyPolicy(result.network)
        for name, levels in sets.items():
            ev = evaluate_policy(policy, levels, max_steps=p.max_steps, seed=1000 + seed)
            rows.append({"section": "eval", "arm": arm, "seed": seed, "level_set": name, "levels": len(levels),
                         **ev.as_dict(), "train_seconds": train_seconds})
        return rows

    def summarise(self, p: MazeGeneralisationPreset, rows: list[dict]) -> Summary:
        ev = [r for r in rows if r.get("section") == "eval"]
        success = {(r["arm"], int(r["seed"]), r["level_set"]): float(r["success_rate"]) for r in ev}
        seeds = sorted({int(r["seed"]) for r in ev})
        table = []
        for arm in ARMS:
            for ls in LEVEL_SETS:
                vals = [success[(arm, s, ls)] for s in seeds if (arm, s, ls) in success]
                m, se = mean_se(vals)
                table.append({"arm": arm, "level_set": ls, "success_mean": m, "success_se": se,
                              "success_min": min(vals), "success_max": max(vals), "seeds": len(vals)})
        claims, gaps = [], {}
        for arm in OFFLINE_ARMS:
            diffs = [success[(arm, s, "train")] - success[(arm, s, "broad")] for s in seeds]
            gap, se = mean_se(diffs)
            gaps[arm] = {"gap": gap, "se": se, "per_seed": diffs}
            claims.append(ClaimCheck(
                claim=f"{arm.upper()} trained on narrow offline data succeeds less on broad held-out levels "
                      "than on its training levels",
                criterion="mean over seeds of (train success - broad success) > 2 s.e. (paired by seed)",
                passed=exceeds(gap, se, 2.0), measured={"gap": gap, "se": se, "per_seed": diffs},
                paper="generalisation gap of offline RL on unseen levels (IMAC; 2508.12356)", tolerance="2 s.e.",
                seeds=len(seeds)))
        data_rows = [r for r in rows if r.get("section") == "train" and "dataset_size" in r]
        facts = [Fact("every arm was evaluated on every level set for every seed",
                      all((a, s, ls) in success for a in ARMS for s in seeds for ls in LEVEL_SETS),
                      len(success))]
        values = {"success": table, "gaps": gaps,
                  "dataset": {"transitions": data_rows[0]["dataset_size"],
                              "behaviour_success": data_rows[0]["dataset_success"]} if data_rows else {}}
        return Summary(claims=claims, facts=facts, values=values, intro=_intro(p),
                       sections=_sections(table, gaps), criteria=[(NOTES_CRITERION, CRITERION, True)])

    def plot(self, run_dir: RunDir) -> list[str]:
        """Success per arm and level set: bars at the seed mean, error bars from min to max over seeds."""
        matplotlib = require("matplotlib", "plot")
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        rows = [r for r in run_dir.metrics() if r.get("section") == "eval"]
        seeds = sorted({int(r["seed"]) for r in rows})
        fig, ax = plt.subplots(figsize=(7, 3.6))
        width = 0.8 / len(ARMS)
        for i, arm in enumerate(ARMS):
            means, lo, hi = [], [], []
            for ls in LEVEL_SETS:
                vals = np.array([float(r["success_rate"]) for r in rows if r["arm"] == arm and r["level_set"] == ls])
                means.append(vals.mean() if vals.size else np.nan)
                lo.append(means[-1] - vals.min() if vals.size else 0)
                hi.append(vals.max() - means[-1] if vals.size else 0)
            x = np.arange(len(LEVEL_SETS)) + (i - (len(ARMS) - 1) / 2) * width
            ax.bar(x, means, width, yerr=[lo, hi], capsize=3, label=arm.upper())
        ax.set_xticks(np.arange(len(LEVEL_SETS)), [ls.replace("_", " ") for ls in LEVEL_SETS])
        ax.set_ylabel("success rate")
        ax.set_ylim(0, 1.05)
        ax.set_title(f"success per arm and level set (mean, min-max over {len(seeds)} seeds)")
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(run_dir.figures / "success_by_level_set.png", dpi=120)
        plt.close(fig)
        return ["success_by_level_set.png"]


def _intro(p: MazeGeneralisationPreset) -> list[str]:
    return [
        "Papers: IMAC (Güzel et al., arXiv 2509.13341) and *Synthetic Data is Sufficient for Zero-Shot "
        "Visual Generalization from Offline Data* (Güzel, Bogunovic, Parker-Holder, arXiv 2508.12356) both "
        "start from an offline agent trained on narrow data that fails on held-out levels. Neither has public "
        "code; this run checks that starting point on the library's own maze family.\n",
        f"Setup: {p.size}x{p.size} symbolic mazes, T = {p.max_steps}. {p.train_levels} narrow training levels "
        f"(10% walls, goal within 6 steps); {p.transitions} transitions from equal shares of BFS epsilon = 0.1, "
        f"epsilon = 0.5 and uniform-random behaviour on them. Test sets: {p.test_levels} unseen narrow levels, "
        f"{p.test_levels} broad levels (30% walls, optimal path 8-20) and the 4 hand-designed held-out mazes "
        f"(rooms, corridor, spiral, labyrinth). BC: {p.bc_steps} steps; discrete CQL (double Q, alpha = "
        f"{p.cql_alpha}, target copy every {p.cql_target_update} steps): {p.cql_steps} steps; batch "
        f"{p.batch_size}. PPO (online ceiling on the training levels): {p.ppo_steps} env steps, "
        f"{p.ppo_envs} envs x {p.ppo_rollout}. Conv encoder channels {list(p.channels)}, strides "
        f"{list(p.strides)}, hidden {p.hidden} for every agent. One episode per level (BC and CQL greedy, PPO sampling "
        f"its stochastic policy). Seeds "
        f"{list(p.seeds)} (training seeds; the levels and the dataset are fixed by data_seed {p.data_seed}).\n",
    ]


def _sections(table: list[dict], gaps: dict) -> list[str]:
    body = [[r["arm"].upper(), r["level_set"].replace("_", " "), f"{r['success_mean']:.3f}",
             "-" if np.isnan(r["success_se"]) else f"{r['success_se']:.3f}",
             f"{r['success_min']:.3f}-{r['success_max']:.3f}", r["seeds"]] for r in table]
    gap_rows = [[a.upper(), f"{g['gap']:.3f}", "-" if np.isnan(g["se"]) else f"{g['se']:.3f}",
                 ", ".join(f"{d:.3f}" for d in g["per_seed"])] for a, g in gaps.items()]
    return [
        "\n## Success rate per arm and level set\n",
        markdown_table(["arm", "level set", "success (mean)", "s.e.", "min-max", "seeds"], body),
        "\n## Generalisation gap (training-level minus broad held-out success)\n",
        markdown_table(["arm", "gap (mean)", "s.e.", "per seed"], gap_rows),
        "\nUnseen narrow levels separate an unseen layout from a harder one: the drop from training to unseen "
        "narrow levels is the memorisation part of the gap, the further drop to broad levels the harder-layout "
        "part.\n",
    ]
