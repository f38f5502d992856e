"""Task simulators: seeded, exact optima, the coverage task is not solved by an even split."""

import numpy as np
import pytest

from saddlepoint.bayesopt import TASKS, CoverageTask, make_task
from saddlepoint.bayesopt.lattice import enumerate_lattice
from saddlepoint.errors import InvalidInputError


@pytest.mark.parametrize("name", sorted(TASKS))
def test_tasks_are_seeded_and_their_optimum_is_exact(name):
    a, b = make_task(name, np.random.default_rng(5)), make_task(name, np.random.default_rng(5))
    xi = np.random.default_rng(0).dirichlet(np.ones(a.n_actions), size=4)
    np.testing.assert_array_equal(a.payoffs(xi), b.payoffs(xi))
    n = 6
    value, counts = a.optimum(n)
    pts = enumerate_lattice(n, a.n_actions)
    assert value == pytest.approx(a.value(pts / n).max(), rel=1e-12)
    assert counts.sum() == n and a.value(counts / n) == pytest.approx(value)
    assert a.action_features.shape[0] == a.n_actions


def test_coverage_task_matches_the_notes_draw():
    task = CoverageTask.generate(np.random.default_rng(0))
    even = task.value(np.full(5, 0.2))
    best, _ = task.optimum(64)
    # the notes' prototype (seed 0): F(uniform) = 0.734, F* = 1.006 at N = 64
    assert even == pytest.approx(0.734, abs=1e-3) and best == pytest.approx(1.006, abs=1e-3)
    assert best - even > 0.1


def test_observations_are_noisy_payoffs():
    task = make_task("coverage", np.random.default_rng(0))
    actions = np.array([0, 0, 2, 4])
    exact = task.payoffs(np.array([0.5, 0, 0.25, 0, 0.25]))[actions]
    np.testing.assert_allclose(task.observe(actions, np.random.default_rng(1), 0.0), exact)
    noisy = task.observe(np.zeros(20000, dtype=int), np.random.default_rng(1), 0.1)
    assert noisy.std() == pytest.approx(0.1, rel=0.05)
    with pytest.raises(InvalidInputError, match="actions"):
        task.observe(np.array([5]), np.random.default_rng(1), 0.1)
    with pytest.raises(InvalidInputError, match="unknown task"):
        make_task("nope", np.random.default_rng(0))
