"""Reproduction: IMAC, imagined autocurricula (Güzel et al., NeurIPS 2025, arXiv 2509.13341) at laptop scale.

Offline data (BFS expert / medium / random behaviour, equal shares) on 200 narrow training
mazes; a conv world model learned from it (:mod:`saddlepoint.ued.world_model`; a categorical
next-cell head replaces the paper's pixel diffusion model); PPO trained only inside the model
(:mod:`saddlepoint.ued.imagination`) with three level distributions over imagined levels
lambda = (context, H):

- ``U``: uniform contexts, H = 32 (the key ablation without a curriculum);
- ``DR-H``: uniform contexts, H uniform in 4..64;
- ``IMAC``: robust PLR over (context, H) (buffer 2000, replay 0.8, rank temperature 0.3,
  staleness 0.3, positive-value-loss score; gradient steps only on replayed levels);

and, on the same data, ``BC`` and discrete ``CQL``; ``online`` is robust PLR in the real maze
on the training levels (a ceiling that sees the true dynamics). Every agent is evaluated on 200
broad held-out mazes and 200 unseen narrow ones. One offline dataset and one world model are
shared by every arm; seeds vary the agents' training.

Claims and their criteria are fixed in :func:`claims` in a commit of their own before the paper
preset runs (:attr:`IMAC.criteria_commit`).
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import math
from dataclasses import dataclass

import numpy as np

from saddlepoint.errors import InvalidInputError
from saddlepoint.experiments.base import Cell, Experiment, Preset, Summary
from saddlepoint.experiments.report import markdown_table
from saddlepoint.experiments.stats import mean_se, paired_difference
from saddlepoint.results import ClaimCheck, Fact, RunDir

log = logging.getLogger(__name__)

NAME = "imac"
ARMS = ("U", "DR-H", "IMAC", "BC", "CQL", "online")
IMAGINED_ARMS = ("U", "DR-H", "IMAC")
LEVEL_SETS = ("broad", "narrow_unseen")


@dataclass(frozen=True, kw_only=True)
class IMACPreset(Preset):
    """Settings of the IMAC reproduction."""

    arms: tuple[str, ...] = ARMS
    """Arms to run (subset of U, DR-H, IMAC, BC, CQL, online)."""
    train_levels: int = 200
    """Narrow training mazes the offline data is collected on."""
    test_levels: int = 200
    """Held-out mazes per level set (broad, unseen narrow)."""
    transitions: int = 50_000
    """Offline transitions (expert / medium / random thirds)."""
    wm_updates: int = 2000
    """World-model gradient steps."""
    wm_eval_horizon: int = 32
    """Longest open-loop horizon of the world-model accuracy curve."""
    updates: int = 300
    """PPO roll-outs (sampler decisions) per imagination arm; also the online arm's."""
    num_envs: int = 32
    """Parallel (imagined or real) environments."""
    num_steps: int = 32
    """Roll-out length per environment and update."""
    u_horizon: int = 32
    """H of the U arm."""
    h_range: tuple[int, int] = (4, 64)
    """Inclusive range of H for DR-H and IMAC's fresh levels."""
    buffer: int = 2000
    """IMAC's level buffer capacity."""
    min_fill: float = 0.1
    """IMAC replays once the buffer holds min_fill * buffer levels."""
    offline_steps: int = 5000
    """Gradient steps of BC and CQL."""

    def __post_init__(self) -> None:
        super().__post_init__()
        unknown = [a for a in self.arms if a not in ARMS]
        if unknown or not self.arms:
            raise InvalidInputError(f"unknown arm(s) {unknown}; choose from {', '.join(ARMS)}")
        lo, hi = self.h_range
        if self.u_horizon <= 0 or lo <= 0 or hi < lo:
            raise InvalidInputError(f"horizons must be positive (u_horizon={self.u_horizon}, h_range={self.h_range})")
        for name in ("train_levels", "test_levels", "transitions", "wm_updates", "wm_eval_horizon", "updates",
                     "num_envs", "num_steps", "buffer", "offline_steps"):
            if int(getattr(self, name)) < 1:
                raise InvalidInputError(f"{name} must be a positive integer, got {getattr(self, name)}")


# --------------------------------------------------------------------------- shared set-up
@functools.lru_cache(maxsize=2)
def _levels(train: int, test: int) -> tuple[list, list, list]:
    """(training narrow, held-out broad, unseen narrow) mazes; fixed seeds, disjoint keys."""
    from saddlepoint.envs.generators import BROAD, NARROW

    train_lv = NARROW.sample_many(train, np.random.default_rng(10_000))
    broad = BROAD.sample_many(test, np.random.default_rng(10_001), exclude=train_lv)
    narrow = NARROW.sample_many(test, np.random.default_rng(10_002), exclude=train_lv)
    return train_lv, broad, narrow


@functools.lru_cache(maxsize=2)
def _offline(train: int, test: int, transitions: int, wm_updates: int):
    """The shared offline dataset and the world model trained on it (once per process)."""
    from saddlepoint.offline.collect import collect_mixture
    from saddlepoint.ued.world_model import WorldModelConfig, train_world_model

    train_lv, _, _ = _levels(train, test)
    data = collect_mixture(train_lv, transitions, seed=0)
    model, _, metrics = train_world_model(data, WorldModelConfig(updates=wm_updates), seed=0)
    return data, model, metrics


def _shared(p: IMACPreset):
    return _offline(p.train_levels, p.test_levels, p.transitions, p.wm_updates)


def _ppo(p: IMACPreset):
    from saddlepoint.rl.ppo import PPOConfig

    return PPOConfig(num_envs=p.num_envs, num_steps=p.num_steps, epochs=4, minibatches=4, lr=5e-4,
                     gamma=0.99, gae_lambda=0.95, ent_coef=0.01)


def sampler_config(arm: str, p: IMACPreset, capacity: int | None = None):
    """The level-sampler settings of an arm (U and DR-H: domain randomisation, no buffer)."""
    from saddlepoint.ued.samplers import SamplerConfig

    if arm in ("U", "DR-H"):
        return SamplerConfig(strategy="dr")
    if arm in ("IMAC", "online"):
        return SamplerConfig(strategy="robust_plr", capacity=capacity or p.buffer, replay_prob=0.8,
                             temperature=0.3, staleness_coef=0.3, min_fill=p.min_fill)
    raise InvalidInputError(f"unknown arm {arm!r}; choose from {', '.join(ARMS)}")


def train_arm(p: IMACPreset, arm: str, seed: int):
    """Train one arm; returns (policy, training-history rows)."""
    from saddlepoint.rl.evaluate import GreedyPolicy, SampledPolicy
    from saddlepoint.ued.curriculum import CurriculumConfig, CurriculumTrainer
    from saddlepoint.ued.samplers import LevelSampler

    if arm not in ARMS:
        raise InvalidInputError(f"unknown arm {arm!r}; choose from {', '.join(ARMS)}")
    train_lv, _, _ = _levels(p.train_levels, p.test_levels)
    if arm in ("BC", "CQL"):
        from saddlepoint.rl.bc import BCConfig, train_bc
        from saddlepoint.rl.cql import DiscreteCQLConfig, train_cql

        data, _, _ = _shared(p)
        if arm == "BC":
            return SampledPolicy(train_bc(data, BCConfig(steps=p.offline_steps), seed=seed).network), []
        return GreedyPolicy(train_cql(data, DiscreteCQLConfig(steps=p.offline_steps), seed=seed).network), []
    rng = np.random.default_rng(seed)
    config = CurriculumConfig(updates=p.updates, ppo=_ppo(p), score="pvl")
    if arm == "online":
        from saddlepoint.envs.vector import MazeVectorEnv

        env = MazeVectorEnv(train_lv, num_envs=p.num_envs, seed=seed)
        sampler = LevelSampler(sampler_config(arm, p, capacity=len(train_lv)),
                               lambda r: train_lv[int(r.integers(len(train_lv)))], rng)
    else:
        from saddlepoint.ued.imagination import ImaginationVectorEnv, uniform_levels

        data, model, _ = _shared(p)
        horizons = [p.u_horizon] if arm == "U" else list(range(p.h_range[0], p.h_range[1] + 1))
        env = ImaginationVectorEnv(model, data, num_envs=p.num_envs, seed=seed)
        sampler = LevelSampler(sampler_config(arm, p), uniform_levels(len(data), horizons), rng)
    trainer = CurriculumTrainer(env, sampler, config, seed=seed)
    history = trainer.train()
    return SampledPolicy(trainer.network), history


# --------------------------------------------------------------------------- the experiment
class IMAC(Experiment):
    """Cells: one for the world model's accuracy, one per (arm, seed)."""

    name = NAME
    title = "IMAC: imagined autocurricula"
    presets = {
        "smoke": IMACPreset(seeds=(0,), train_levels=40, test_levels=40, transitions=6000, wm_updates=300,
                            wm_eval_horizon=16, updates=12, num_envs=16, num_steps=16, buffer=200,
                            offline_steps=150),
        # sized for ~10 CPU-minutes; the field defaults (300 updates, 2000 world-model and 5000
        # BC/CQL steps) are the intended scale, ~35 CPU-minutes (under 1 h on 2 quiet cores)
        "paper": IMACPreset(seeds=(0, 1, 2), updates=60, wm_updates=1000, offline_steps=500),
    }
    criteria_commit = "282037b207abf6d913f4937bda7d926f614fe407"

    def config(self, p: IMACPreset) -> dict:
        return {"ppo": dataclasses.asdict(_ppo(p)),
                "samplers": {a: dataclasses.asdict(sampler_config(a, p)) for a in ("U", "IMAC")},
                "world_model": "ued.world_model.WorldModelConfig defaults, updates = wm_updates"}

    def cells(self, p: IMACPreset) -> list[Cell]:
        cells = [Cell("world-model", params={"arm": "world-model"})]
        cells += [Cell(f"{arm}/seed={s}", seed=s, params={"arm": arm}) for arm in p.arms for s in p.seeds]
        return cells

    def run_cell(self, p: IMACPreset, cell: Cell) -> list[dict]:
        import torch

        torch.set_num_threads(1)
        arm = cell.params["arm"]
        if arm == "world-model":
            return _world_model_rows(p)
        from saddlepoint.rl.evaluate import evaluate_policy

        policy, history = train_arm(p, arm, cell.seed)
        _, broad, narrow = _levels(p.train_levels, p.test_levels)
        rows = [{"section": "trace", "arm": arm, "seed": cell.seed, **h} for h in history]
        for name, levels in zip(LEVEL_SETS, (broad, narrow)):
            res = evaluate_policy(policy, levels, seed=1000 + cell.seed)
            rows.append({"section": "eval", "arm": arm, "seed": cell.seed, "level_set": name,
                         "success": res.success_rate, "mean_return": res.mean_return})
        return rows

    def summarise(self, p: IMACPreset, rows: list[dict]) -> Summary:
        table = success_table(rows, p)
        checks, criteria = claims(rows, p)
        wm = [r for r in rows if r["section"] == "world-model"]
        wm_one = [r for r in rows if r["section"] == "world-model-one-step"]
        facts = [Fact("IMAC takes gradient steps only on replayed batches (robust PLR)",
                      all(bool(r["updated"]) == bool(r["replay"]) for r in rows
                          if r["section"] == "trace" and r["arm"] in ("IMAC", "online")))]
        sections = ["\n## Held-out success\n", markdown_table(
            ["arm", "level set", "success (mean)", "s.e. over seeds", "seeds"],
            [[t["arm"], t["level_set"], t["mean"], t["se"], t["n"]] for t in table])]
        if wm_one:
            sections += ["\n## World model\n", markdown_table(
                ["data", "next-cell accuracy", "done accuracy", "reward MSE"],
                [[r["data"], r["position_accuracy"], r["done_accuracy"], r["reward_mse"]] for r in wm_one])]
            sections.append("Open-loop next-cell accuracy at horizon 1 / 8 / 16 / max: " + "; ".join(
                f"{d}: " + ", ".join(f"{_at(wm, d, k):.3f}" for k in (1, 8, 16, p.wm_eval_horizon))
                for d in LEVEL_SETS) + "\n")
        return Summary(claims=checks, facts=facts, criteria=criteria,
                       values={"success": table, "world_model": wm_one}, intro=_intro(p), sections=sections)

    def plot(self, run_dir: RunDir) -> list[str]:
        """Success per arm and level set, the curriculum trace and the world model's open-loop accuracy."""
        from saddlepoint.plotting import aggregate, plot_series

        p = self.preset_of(run_dir)
        rows = run_dir.metrics()
        names = []
        table = success_table(rows, p)
        if table:
            _bar(table, run_dir.figures / "success.png")
            names.append("success.png")
        trace = [r for r in rows if r.get("section") == "trace" and r.get("arm") == "IMAC"
                 and str(r.get("replay")) in ("True", "true", "1")]
        if trace:
            plot_series(aggregate(trace, "update", "mean_horizon", "arm"), run_dir.figures / "curriculum.png",
                        xlabel="PPO update", ylabel="mean H of replayed levels", logx=False, logy=False,
                        title="IMAC curriculum trace")
            names.append("curriculum.png")
        wm = [r for r in rows if r.get("section") == "world-model"]
        if wm:
            plot_series(aggregate(wm, "horizon", "accuracy", "data"), run_dir.figures / "world_model.png",
                        xlabel="open-loop horizon (steps)", ylabel="next-cell accuracy", logx=False, logy=False,
                        title="world model, open loop, held-out levels")
            names.append("world_model.png")
        return names


def _world_model_rows(p: IMACPreset) -> list[dict]:
    from saddlepoint.offline.collect import collect
    from saddlepoint.ued.world_model import one_step_accuracy, open_loop_accuracy

    data, model, metrics = _shared(p)
    _, broad, narrow = _levels(p.train_levels, p.test_levels)
    rows = [{"section": "world-model-one-step", "data": "training (held-out episodes)",
             "position_accuracy": metrics.get("heldout_position_accuracy", math.nan),
             "done_accuracy": metrics.get("heldout_done_accuracy", math.nan),
             "reward_mse": metrics.get("heldout_reward_mse", math.nan)}]
    for name, levels in zip(LEVEL_SETS, (broad, narrow)):
        ref = collect(levels, 20 * len(levels), "medium", seed=7)
        one = one_step_accuracy(model, ref)
        rows.append({"section": "world-model-one-step", "data": name, **{k: one[k] for k in
                                                                            ("position_accuracy", "done_accuracy",
                                                                             "reward_mse")}})
        acc = open_loop_accuracy(model, ref, p.wm_eval_horizon)
        rows += [{"section": "world-model", "data": name, "seed": 0, "horizon": k + 1, "accuracy": float(a)}
                 for k, a in enumerate(acc) if np.isfinite(a)]
    return rows


def _at(rows: list[dict], data: str, horizon: int) -> float:
    hit = [float(r["accuracy"]) for r in rows if r["data"] == data and int(r["horizon"]) == horizon]
    return hit[0] if hit else math.nan


def success_table(rows: list[dict], p: IMACPreset) -> list[dict]:
    """Mean and s.e. over seeds of held-out success, per arm and level set."""
    out = []
    for arm in p.arms:
        for name in LEVEL_SETS:
            vals = [float(r["success"]) for r in rows
                    if r.get("section") == "eval" and r["arm"] == arm and r["level_set"] == name]
            if vals:
                m, se = mean_se(vals)
                out.append({"arm": arm, "level_set": name, "mean": m, "se": se, "n": len(vals)})
    return out


def _per_seed(rows: list[dict], arm: str, level_set: str = "broad") -> dict[int, float]:
    return {int(r["seed"]): float(r["success"]) for r in rows
            if r.get("section") == "eval" and r["arm"] == arm and r["level_set"] == level_set}


def horizon_rise(rows: list[dict], seed: int) -> float:
    """IMAC's mean replayed H over the last third of its updates minus that over the first third."""
    trace = [r for r in rows if r.get("section") == "trace" and r["arm"] == "IMAC" and int(r["seed"]) == seed]
    if not trace:
        return math.nan
    n = max(int(r["update"]) for r in trace)
    replayed = [(int(r["update"]), float(r["mean_horizon"])) for r in trace if str(r["replay"]) in ("True", "1", "true")]
    early = [h for u, h in replayed if u <= n / 3]
    late = [h for u, h in replayed if u > 2 * n / 3]
    if not early or not late:
        return math.nan
    return float(np.mean(late) - np.mean(early))


def claims(rows: list[dict], p: IMACPreset) -> tuple[list[ClaimCheck], list[tuple[str, str, bool]]]:
    """The three claims of issue 18 with the criteria fixed before the paper run."""
    n = len(p.seeds)
    out, criteria = [], []
    if "IMAC" in p.arms and "U" in p.arms:
        diff, se = paired_difference(_per_seed(rows, "IMAC"), _per_seed(rows, "U"))
        passed = bool(np.isfinite(se) and diff > 2 * se)
        out.append(ClaimCheck("IMAC > U on broad held-out success by more than 2 s.e.",
                              "mean over seeds of (IMAC - U) broad success > 2 x its s.e. over seeds "
                              "(paired by seed; needs >= 2 seeds)", passed,
                              {"IMAC - U": diff, "s.e.": se}, "IMAC beats uniform imagination", 2, n))
        criteria.append(("IMAC > U on broad held-out success by > 2 s.e.",
                         "paired by seed, s.e. of the per-seed differences (3 seeds in the paper preset)", True))
    if "IMAC" in p.arms:
        rises = [horizon_rise(rows, s) for s in p.seeds]
        passed = bool(all(np.isfinite(r) and r > 0 for r in rises))
        out.append(ClaimCheck("the mean horizon of replayed levels rises over training",
                              "mean H of IMAC's replayed batches in the last third of updates > that in the first "
                              "third, on every seed", passed, {"late - early H per seed": rises},
                              "curriculum moves from short to long horizons", 0, n))
        criteria.append(("the mean horizon of replayed levels rises over training",
                         "last-third mean replayed H > first-third mean replayed H on every seed", True))
    if all(a in p.arms for a in ("IMAC", "BC", "CQL")):
        imac = mean_se(_per_seed(rows, "IMAC").values())[0]
        bc, cql = (mean_se(_per_seed(rows, a).values())[0] for a in ("BC", "CQL"))
        best = max(bc, cql)
        out.append(ClaimCheck("IMAC > the better of BC and CQL on broad held-out success",
                              "mean broad success over seeds: IMAC > max(BC, CQL)", bool(imac > best),
                              {"IMAC": imac, "BC": bc, "CQL": cql}, "+17-48% vs model-free offline RL", 0, n))
        criteria.append(("IMAC > the better of BC and CQL on broad held-out success",
                         "mean over seeds, strict >, no s.e. margin (the issue states none)", True))
    return out, criteria


def _intro(p: IMACPreset) -> list[str]:
    return [
        "Paper: Güzel et al., *Imagined Autocurricula*, NeurIPS 2025 (arXiv 2509.13341). No code is public.\n",
        f"Setup: {p.transitions} offline transitions (expert / medium / random BFS behaviour, equal shares) on "
        f"{p.train_levels} narrow 11x11 training mazes; a conv world model (local crop, categorical next-cell head, "
        f"reward and done heads; {p.wm_updates} updates) replaces the paper's pixel diffusion model. Imagination "
        f"arms: {p.updates} PPO roll-outs of {p.num_envs} x {p.num_steps} imagined steps. Evaluation: "
        f"{p.test_levels} broad and {p.test_levels} unseen narrow mazes, one episode each (T = 64); PPO and BC "
        "policies sample their actions, CQL acts greedily on its Q-values.\n",
    ]


def _bar(table: list[dict], path) -> None:
    from saddlepoint.errors import require

    matplotlib = require("matplotlib", "plot")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    arms = list(dict.fromkeys(t["arm"] for t in table))
    fig, ax = plt.subplots(figsize=(7, 4), dpi=120)
    width = 0.38
    for j, name in enumerate(LEVEL_SETS):
        part = {t["arm"]: t for t in table if t["level_set"] == name}
        xs = np.arange(len(arms)) + (j - 0.5) * width
        means = [part[a]["mean"] if a in part else np.nan for a in arms]
        errs = [part[a]["se"] if a in part and np.isfinite(part[a]["se"]) else 0 for a in arms]
        ax.bar(xs, means, width, yerr=errs, capsize=3, label=name)
    ax.set_xticks(np.arange(len(arms)), arms)
    ax.set_ylabel("success rate")
    n = sorted({t["n"] for t in table})
    ax.set_title(f"held-out success; bars = mean over {'/'.join(map(str, n))} seed(s), whiskers = s.e.", fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
