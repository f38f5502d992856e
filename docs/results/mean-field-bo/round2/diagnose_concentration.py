"""Diagnostic behind the second round's "Reading the checks" (run after the report, not a claim):
for each task (seed 0, N = 64, the paper preset's arms), how often each GP arm puts at least half
of the agents on one action and how much of its regret those rounds carry.

    python docs/results/mean-field-bo/round2/diagnose_concentration.py
"""
import numpy as np
from saddlepoint.experiments.mean_field_bo import MeanFieldBO, arms, task_of, NOISE_SD, ARMS
from saddlepoint.bayesopt import AllocationProblem, method_config, run as run_bo
from saddlepoint.method import make_method
from saddlepoint.rng import make_rng, spawn
p = MeanFieldBO.presets["paper"]
n = 64
for t in ("coverage", "bikes", "taxis", "ports"):
    task = task_of(t, 0)
    ones = np.eye(task.n_actions)
    vert = max(task.value(ones[a]) for a in range(task.n_actions))
    best, _ = task.optimum(n)
    print(f"{t}: F*={best:.3f} F(uniform)={task.value(np.full(task.n_actions, 1/task.n_actions)):.3f} best vertex F={vert:.3f}")
    for label in ARMS:
        if label == "random": continue
        method, cfg = arms(p, t)[label]
        opt_rng, noise_rng = spawn(make_rng(0), 2)
        opt = make_method(AllocationProblem.of_task(task, n, noise_rng, NOISE_SD), method_config(method, cfg), opt_rng)
        rec = run_bo(opt, p.rounds)
        share = (rec.counts.max(1) / n >= 0.5).mean()
        print(f"   {label}: R_T={rec.cumulative_regret[-1]:.2f}; rounds with >= half the agents on one action: {share:.2f}; regret of those rounds: {rec.regret[rec.counts.max(1)/n>=0.5].sum():.2f}", flush=True)
