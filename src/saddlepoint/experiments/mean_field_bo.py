"""Reproduction: mean-field Bayesian optimisation (Steinberg, Ziomek, Jusup & Bogunovic,
arXiv 2502.12315), with our implementation of the mean-field GP-UCB idea.

Claim tested (paper notes, "Reproduction at laptop scale"): MF-GP-UCB's cumulative regret does
not grow with the number of agents N, it beats random assignment at every N, and naive
GP-UCB on the joint action becomes impractical as N grows. Task: the notes' "coverage with
congestion" (K = 5 locations, task seed 0; stands in for bikes / taxis / ports), per-agent
noise sigma = 0.05, fixed GP hyper-parameters (prior variance 0.25, beta^{1/2} = 2). Arms:
MF-GP-UCB with per-action and with aggregate feedback, AGG-GP-UCB (GP on xi), naive joint
GP-UCB (only up to ``naive_max_n`` agents) and random assignment.

Claim criteria are fixed in :func:`_claims` before running and reported whichever way they go.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass

import numpy as np

from saddlepoint.bayesopt import CoverageTask, make_optimizer
from saddlepoint.bayesopt import run as run_bo
from saddlepoint.experiments.base import Cell, Experiment, Preset, Summary
from saddlepoint.experiments.report import markdown_table
from saddlepoint.experiments.stats import mean_se
from saddlepoint.plotting import aggregate, plot_series
from saddlepoint.results import ClaimCheck, RunDir
from saddlepoint.rng import make_rng, spawn

log = logging.getLogger(__name__)

NAME = "mean-field-bo"
MF = "MF-GP-UCB"
NAIVE = "naive GP-UCB"
RANDOM = "random"


@dataclass(frozen=True, kw_only=True)
class MeanFieldBOPreset(Preset):
    """Settings of the mean-field BO reproduction."""

    rounds: int
    """BO rounds T per run."""
    n_agents: tuple[int, ...]
    """Numbers of agents N."""
    naive_max_n: int
    """Largest N naive joint GP-UCB runs at."""
    n_candidates: int
    """Random lattice candidates per acquisition of the mean-field arms."""
    n_starts: int
    """Hill-climbing starts of the mean-field arms."""
    naive_candidates: int
    """Random joint actions per acquisition of naive GP-UCB."""
    naive_sweeps: int
    """Coordinate sweeps of naive GP-UCB's acquisition search."""


TASK_SEED = 0
NOISE_SD = 0.05
_GP = {"outputscale": 0.25, "noise_sd": NOISE_SD, "beta_sqrt": 2.0}

# Prototype numbers from the paper notes (NumPy prototype, T = 60, 2 seeds): the paper itself
# reports no numbers we could verify.
NOTES_PROTOTYPE = {
    MF: {4: 9.27, 16: 10.48, 64: 10.88},
    "AGG-GP-UCB": {4: 9.56, 16: 10.60, 64: 11.49},
    NAIVE: {4: 14.30, 16: 10.50, 64: 13.93},
    RANDOM: {4: 25.30, 16: 19.16, 64: 17.25},
}


def arms(p: MeanFieldBOPreset) -> dict[str, tuple[str, dict, int | None]]:
    """label -> (method, config, largest N it runs at)."""
    search = {"n_candidates": p.n_candidates, "n_starts": p.n_starts}
    return {
        MF: ("mf-gp-ucb", {**_GP, **search, "lengthscale": 0.5, "feedback": "per_action",
                           "acquisition": "tight"}, None),
        "MF-GP-UCB (aggregate)": ("mf-gp-ucb", {**_GP, **search, "lengthscale": 0.5,
                                                "feedback": "aggregate"}, None),
        "AGG-GP-UCB": ("agg-gp-ucb", {**_GP, **search, "lengthscale": 0.5}, None),
        NAIVE: ("naive-gp-ucb", {**_GP, "n_candidates": p.naive_candidates, "sweeps": p.naive_sweeps},
                p.naive_max_n),
        RANDOM: ("random", {}, None),
    }


@functools.lru_cache(maxsize=4)
def task_of(seed: int) -> CoverageTask:
    """The coverage task of a task seed (computed once per process)."""
    return CoverageTask.generate(make_rng(seed))


class MeanFieldBO(Experiment):
    """Cells: one per (arm, N, seed); rows: one per round."""

    name = NAME
    title = "Mean-field Bayesian optimisation"
    presets = {
        "smoke": MeanFieldBOPreset(rounds=12, n_agents=(4, 16), seeds=(0,), naive_max_n=16, n_candidates=60,
                                   n_starts=1, naive_candidates=100, naive_sweeps=1),
        # the notes' grid (T = 100, N up to 1024, 5 seeds); about 10 minutes of one core
        "paper": MeanFieldBOPreset(rounds=100, n_agents=(4, 16, 64, 256, 1024), seeds=(0, 1, 2, 3, 4),
                                   naive_max_n=64, n_candidates=300, n_starts=3, naive_candidates=1000,
                                   naive_sweeps=3),
    }
    timing_fields = frozenset({"seconds", "seconds_per_round", "time ratio"})

    def config(self, p: MeanFieldBOPreset) -> dict:
        task = task_of(TASK_SEED)
        return {"task": {"name": task.name, "seed": TASK_SEED, "demand": task.demand.tolist(),
                         "reward": task.reward.tolist()},
                "noise_sd": NOISE_SD,
                "arms": {label: {"method": m, "config": c, "max_n": mx} for label, (m, c, mx) in arms(p).items()}}

    def cells(self, p: MeanFieldBOPreset) -> list[Cell]:
        return [Cell(f"{label}/N={n}/seed={s}", seed=s, params={"arm": label, "n": n})
                for n in p.n_agents for label, (_, _, mx) in arms(p).items() if mx is None or n <= mx
                for s in p.seeds]

    def run_cell(self, p: MeanFieldBOPreset, cell: Cell) -> list[dict]:
        label, n = cell.params["arm"], cell.params["n"]
        method, cfg, _ = arms(p)[label]
        task = task_of(TASK_SEED)
        opt_rng, noise_rng = spawn(make_rng(cell.seed), 2)  # the same noise stream for every arm
        rec = run_bo(task, make_optimizer(method, n, task.n_actions, cfg, opt_rng), p.rounds, noise_rng,
                     noise_sd=NOISE_SD)
        return [{"method": label, "n_agents": n, "seed": cell.seed, "round": t + 1, "regret": float(rec.regret[t]),
                 "cumulative_regret": float(rec.cumulative_regret[t]), "seconds": float(rec.seconds[t]),
                 "optimum": float(rec.optimum)} for t in range(p.rounds)]

    def summarise(self, p: MeanFieldBOPreset, rows: list[dict]) -> Summary:
        finals: dict[tuple[str, int], list[float]] = {}
        secs: dict[tuple[str, int], list[float]] = {}
        optimum: dict[int, float] = {}
        for r in rows:
            key = (r["method"], r["n_agents"])
            if r["round"] == p.rounds:
                finals.setdefault(key, []).append(r["cumulative_regret"])
            secs.setdefault(key, []).append(r["seconds"])
            optimum[r["n_agents"]] = r["optimum"]
        secs = {k: [float(np.mean(v))] for k, v in secs.items()}  # one mean over every round and seed
        task = task_of(TASK_SEED)
        table = {f"{label} N={n}": {"cumulative_regret_mean": mean_se(v)[0],
                                    "cumulative_regret_sd": float(np.std(v)),
                                    "seconds_per_round": secs[(label, n)][0]}
                 for (label, n), v in finals.items()}
        even = float(task.value(np.full(task.n_actions, 1 / task.n_actions)))
        return Summary(
            claims=_claims(finals, secs, p, len(p.seeds)),
            values={"rounds": p.rounds, "optimum": {str(n): v for n, v in optimum.items()},
                    "even_split_value": even, "results": table},
            intro=_intro(p, optimum, even), sections=_sections(p, finals, secs, rows))

    def plot(self, run_dir: RunDir) -> list[str]:
        """Cumulative regret per N, seconds per round and final regret against N."""
        return _plots(run_dir, run_dir.metrics())


# --------------------------------------------------------------------------- claims
def _claims(finals: dict[tuple[str, int], list[float]], secs: dict[tuple[str, int], list[float]],
            p: MeanFieldBOPreset, n_seeds: int) -> list[ClaimCheck]:
    """Criteria fixed before running (paper notes, success criterion (1)-(3))."""
    ns = list(p.n_agents)
    mf = {n: float(np.mean(finals[(MF, n)])) for n in ns}
    rnd = {n: float(np.mean(finals[(RANDOM, n)])) for n in ns}
    spread = max(mf.values()) / min(mf.values()) - 1.0
    ratio = {n: mf[n] / rnd[n] for n in ns}
    naive_ns = [n for n in ns if (NAIVE, n) in finals]
    lo, hi = min(naive_ns), max(naive_ns)
    t_lo, t_hi = float(np.mean(secs[(NAIVE, lo)])), float(np.mean(secs[(NAIVE, hi)]))
    growth_needed = (hi / lo) / 4.0
    naive_hi = float(np.mean(finals[(NAIVE, hi)]))
    r = lambda v: round(v, 3)
    return [
        ClaimCheck("MF-GP-UCB's regret does not grow with N",
                   f"mean R_T over seeds varies by < 25% across N in {ns} (max/min - 1)",
                   spread < 0.25, {"max/min - 1": r(spread), **{f"N={n}": r(v) for n, v in mf.items()}},
                   "regret bound independent of N", "< 0.25", n_seeds),
        ClaimCheck("MF-GP-UCB beats random assignment at every N",
                   "mean R_T(MF) <= 0.65 mean R_T(random) at every N (>= 35% below)",
                   all(v <= 0.65 for v in ratio.values()), {f"N={n}": r(v) for n, v in ratio.items()},
                   "significantly outperforms benchmarks", "ratio <= 0.65", n_seeds),
        ClaimCheck("naive joint GP-UCB degrades as N grows",
                   f"seconds per round at N={hi} >= {growth_needed:g} x those at N={lo} (N ratio / 4) "
                   f"and its mean R_T at N={hi} >= MF-GP-UCB's",
                   t_hi >= growth_needed * t_lo and naive_hi >= mf[hi],
                   {"time ratio": r(t_hi / t_lo), f"naive R_T N={hi}": r(naive_hi),
                    f"MF R_T N={hi}": r(mf[hi])},
                   "regret bound exponential in N", None, n_seeds),
    ]


# --------------------------------------------------------------------------- figures, report
def _plots(run_dir: RunDir, rows: list[dict]) -> list[str]:
    names = []
    for n in sorted({r["n_agents"] for r in rows}):
        part = [r for r in rows if r["n_agents"] == n]
        series = aggregate(part, "round", "cumulative_regret", "method")
        names.append(plot_series(series, run_dir.figures / f"cumulative_regret_N{int(n)}.png",
                                 xlabel="round t", ylabel="cumulative regret R_t",
                                 title=f"coverage task, N = {int(n)}", logx=False, logy=False).name)
    per_run: dict[tuple, dict] = {}
    for r in rows:
        key = (r["method"], r["n_agents"], r["seed"])
        d = per_run.setdefault(key, {"method": r["method"], "n_agents": r["n_agents"], "seed": r["seed"],
                                     "seconds": 0.0, "rounds": 0, "final": 0.0})
        d["seconds"] += r["seconds"]
        d["rounds"] += 1
        d["final"] = r["cumulative_regret"]
    summary = [{**d, "seconds_per_round": d["seconds"] / d["rounds"]} for d in per_run.values()]
    names.append(plot_series(aggregate(summary, "n_agents", "seconds_per_round", "method"),
                             run_dir.figures / "seconds_per_round_vs_N.png", xlabel="N (agents)",
                             ylabel="seconds per round", title="runtime per round", logx=True, logy=True).name)
    names.append(plot_series(aggregate(summary, "n_agents", "final", "method"),
                             run_dir.figures / "final_regret_vs_N.png", xlabel="N (agents)",
                             ylabel="cumulative regret R_T", title="final regret", logx=True, logy=False).name)
    return names


def _intro(p: MeanFieldBOPreset, optimum: dict[int, float], even: float) -> list[str]:
    ns = list(p.n_agents)
    return [
        ("Our implementation of the mean-field GP-UCB idea (MF-GP-UCB, arXiv 2502.12315) against "
         "AGG-GP-UCB, naive joint GP-UCB and random assignment on the notes' *coverage with "
         "congestion* task (K = 5, task seed 0; F(even split) = "
         f"{even:.3f}, F* = " + ", ".join(f"{optimum[n]:.4f} (N={n})" for n in ns) + ").\n"),
        (f"Rounds T = {p.rounds}; seeds {list(p.seeds)}; per-agent noise sd {NOISE_SD}; fixed GP "
         "hyper-parameters (prior variance 0.25, lengthscale 0.5 on (one-hot action, xi); naive: "
         "0.7 sqrt(N) on the N K one-hot joint action), beta^{1/2} = 2; naive GP-UCB only up to "
         f"N = {p.naive_max_n}.\n"),
    ]


def _sections(p: MeanFieldBOPreset, finals: dict, secs: dict, rows: list[dict]) -> list[str]:
    ns = list(p.n_agents)
    header = ["method"] + [f"N={n}" for n in ns]
    reg_rows, time_rows = [], []
    for label in arms(p):
        reg_rows.append([label] + [
            f"{np.mean(finals[(label, n)]):.2f} ± {np.std(finals[(label, n)]):.2f}"
            if (label, n) in finals else "—" for n in ns])
        time_rows.append([label] + [f"{secs[(label, n)][0]:.4f}" if (label, n) in secs else "—" for n in ns])
    at60: dict[tuple[str, int], list[float]] = {}
    for r in rows:
        if r["round"] == 60:
            at60.setdefault((r["method"], r["n_agents"]), []).append(r["cumulative_regret"])
    proto_rows = []
    for label, vals in NOTES_PROTOTYPE.items():
        for n, v in vals.items():
            ours = at60.get((label, n))
            proto_rows.append([label, n, v, f"{np.mean(ours):.2f}" if ours else "not run"])
    return [
        f"\n## Cumulative regret R_T (mean ± sd over {len(p.seeds)} seeds)\n", markdown_table(header, reg_rows),
        "\n## Seconds per round (ask + tell, mean)\n", markdown_table(header, time_rows),
        "\n## Beside the notes' prototype (R_60)\n",
        ("The paper reports no per-N numbers we could verify; the paper notes give a NumPy "
         "prototype's cumulative regret after 60 rounds (2 seeds). Ours at round 60 where run:\n"),
        markdown_table(["method", "N", "notes prototype R_60", "ours R_60"], proto_rows),
        "\n## Deviations\n",
        ("- The paper's tasks and data are not public here: the task is the notes' generated "
         "coverage task, not bike / taxi / port data.\n"
         "- The algorithm beyond the abstract is the notes' reconstruction (product kernel on "
         "(action, xi), tight acquisition, random-pool + hill-climbing lattice search with "
         "multi-scale moves), not verified against the paper.\n"
         f"- Naive joint GP-UCB runs only up to N = {p.naive_max_n} (the notes: 64); "
         "hyper-parameters are fixed, not learned.\n"),
    ]
