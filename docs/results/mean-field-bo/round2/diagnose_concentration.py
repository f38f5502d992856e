"""Diagnostics behind the second round's "Reading the checks" (run after the report, not claims).

1. For each task (seed 0, N = 64, the paper preset's arms): how often each GP arm puts at least
   half of the agents on one action, and how much of its regret those rounds carry.
2. MF-GP-UCB on bikes (N = 64, seeds 0 and 1) with shorter lengthscales and with one-hot action
   inputs instead of coordinates.

    python docs/results/mean-field-bo/round2/diagnose_concentration.py
"""
import numpy as np

from saddlepoint.bayesopt import AllocationProblem, method_config
from saddlepoint.bayesopt import run as run_bo
from saddlepoint.experiments.mean_field_bo import ARMS, MF, NOISE_SD, RANDOM, MeanFieldBO, arms, task_of
from saddlepoint.method import make_method
from saddlepoint.rng import make_rng, spawn

PRESET = MeanFieldBO.presets["paper"]
N = 64


def run_arm(task_name: str, seed: int, label: str, **overrides):
    """One cell of the paper preset (as MeanFieldBO.run_cell builds it), config fields overridden."""
    method, cfg = arms(PRESET, task_name)[label]
    opt_rng, noise_rng = spawn(make_rng(seed), 2)
    problem = AllocationProblem.of_task(task_of(task_name, seed), N, noise_rng, NOISE_SD)
    return run_bo(make_method(problem, method_config(method, {**cfg, **overrides}), opt_rng), PRESET.rounds)


for t in ("coverage", "bikes", "taxis", "ports"):
    task = task_of(t, 0)
    vertex = max(task.value(np.eye(task.n_actions)[a]) for a in range(task.n_actions))
    uniform = task.value(np.full(task.n_actions, 1 / task.n_actions))
    print(f"{t}: F* = {task.optimum(N)[0]:.3f}, F(uniform) = {uniform:.3f}, best vertex F = {vertex:.3f}")
    for label in ARMS:
        if label == RANDOM:
            continue
        rec = run_arm(t, 0, label)
        piled = rec.counts.max(1) / N >= 0.5
        print(f"   {label}: R_T = {rec.cumulative_regret[-1]:.2f}; rounds with >= half the agents on one "
              f"action: {piled.mean():.2f}; their regret: {rec.regret[piled].sum():.2f}", flush=True)

for overrides in ({}, {"lengthscale": 0.2}, {"lengthscale": 0.1}, {"lengthscale": 0.05},
                  {"action_encoding": "one_hot"}):
    finals = [round(float(run_arm("bikes", s, MF, **overrides).cumulative_regret[-1]), 2) for s in (0, 1)]
    print(f"bikes, MF-GP-UCB {overrides or 'as in the preset'}: R_T (seeds 0, 1) = {finals}", flush=True)
