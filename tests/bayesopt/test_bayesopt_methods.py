"""Ask/tell methods: permutation invariance, allocations sum to N, save/load, seeds, errors,
the method protocol and registration with the config."""

import numpy as np
import pytest

from saddlepoint.bayesopt import (
    GPUCB,
    SYNTHETIC,
    AllocationProblem,
    GPUCBConfig,
    MeanFieldGPUCB,
    MeanFieldGPUCBConfig,
    NaiveJointGPUCB,
    NaiveJointGPUCBConfig,
    load_optimizer,
    make_task,
    method_config,
    run,
)
from saddlepoint.bayesopt.lattice import counts_of
from saddlepoint.errors import InvalidInputError
from saddlepoint.method import Budget, Method, make_method
from saddlepoint.method import run as run_method
from saddlepoint.registry import BO_METHODS, load

MEAN_FIELD = sorted(n for n, e in BO_METHODS.items() if e.kind == "mean_field")

FAST = {"n_candidates": 40, "n_starts": 1}
CONFIGS = {
    "mf-gp-ucb": FAST, "agg-gp-ucb": FAST, "naive-gp-ucb": {"n_candidates": 40, "sweeps": 1},
    "random": {},
}


def _task():
    return make_task("coverage", np.random.default_rng(0))


def make_optimizer(method, n, k, config=None, rng=None, *, action_features=None, task=None, noise_rng=None):
    """A registered method by name on n agents and k actions (on ``task`` when given)."""
    if task is not None:
        problem = AllocationProblem.of_task(task, n, noise_rng)
    else:
        problem = AllocationProblem(n, k, action_features)
    return make_method(problem, method_config(method, config), rng)


def _played(opt, rounds, seed=3):
    task, rng = _task(), np.random.default_rng(seed)
    for _ in range(rounds):
        a = opt.ask()
        opt.tell(a, task.observe(a, rng, 0.05))


def test_mean_field_surrogate_is_invariant_to_permuting_agents():
    task, rng = _task(), np.random.default_rng(1)
    a = MeanFieldGPUCB(AllocationProblem(8, 5), MeanFieldGPUCBConfig(**FAST), np.random.default_rng(0))
    b = MeanFieldGPUCB(AllocationProblem(8, 5), MeanFieldGPUCBConfig(**FAST), np.random.default_rng(0))
    for _ in range(4):
        joint = rng.integers(0, 5, size=8)
        rewards = task.observe(joint, rng, 0.05)
        perm = rng.permutation(8)
        a.tell(joint, rewards)
        b.tell(joint[perm], rewards[perm])  # the same agents, listed in another order
    xi = rng.dirichlet(np.ones(5), size=20)
    np.testing.assert_array_equal(a.inputs(xi), b.inputs(xi))
    np.testing.assert_allclose(a.acquisition(xi), b.acquisition(xi), atol=1e-12)
    # the kernel between (a, xi_x) and (a, xi_{pi x}) is the prior variance: same input
    joint = rng.integers(0, 5, size=8)
    z1 = a.inputs(counts_of(joint, 5)[None] / 8)
    z2 = a.inputs(counts_of(joint[rng.permutation(8)], 5)[None] / 8)
    np.testing.assert_array_equal(z1, z2)


def test_tight_acquisition_is_never_above_the_loose_one():
    opt = MeanFieldGPUCB(AllocationProblem(6, 5), MeanFieldGPUCBConfig(**FAST), np.random.default_rng(0))
    _played(opt, 3)
    loose = MeanFieldGPUCB.from_state_dict({**opt.state_dict(), "config": {**FAST, "acquisition": "loose"}})
    xi = np.random.default_rng(2).dirichlet(np.ones(5), size=30)
    assert np.all(opt.acquisition(xi) <= loose.acquisition(xi) + 1e-12)


@pytest.mark.parametrize("optimizer", ["hill_climb", "random", "relaxed"])
@pytest.mark.parametrize("n", [1, 3, 37])
def test_lattice_search_returns_allocations_of_n_agents(optimizer, n):
    opt = make_method(AllocationProblem(n, 5), MeanFieldGPUCBConfig(**FAST, lattice_optimizer=optimizer), 0)
    _played(opt, 2)
    joint = opt.ask()
    assert joint.shape == (n,) and counts_of(joint, 5).sum() == n
    assert joint.min() >= 0 and joint.max() < 5


@pytest.mark.parametrize("method", MEAN_FIELD)
def test_ask_tell_round_trips_through_save_and_load(method, tmp_path):
    opt = make_optimizer(method, 6, 5, CONFIGS.get(method, {}), rng=11)
    _played(opt, 4)
    clone = load_optimizer(opt.save(tmp_path / "state.json"))
    assert clone.iteration == opt.iteration == 4
    np.testing.assert_array_equal(clone.history(), opt.history())
    task, r1, r2 = _task(), np.random.default_rng(9), np.random.default_rng(9)
    for _ in range(2):
        a, b = opt.ask(), clone.ask()
        np.testing.assert_array_equal(a, b)
        opt.tell(a, task.observe(a, r1, 0.05))
        clone.tell(b, task.observe(b, r2, 0.05))


@pytest.mark.parametrize("method", MEAN_FIELD)
def test_same_seed_same_run(method):
    records = []
    for _ in range(2):
        opt = make_optimizer(method, 8, 5, CONFIGS.get(method, {}), rng=np.random.default_rng(4), task=_task(),
                             noise_rng=np.random.default_rng(5))
        records.append(run(opt, 5))
    np.testing.assert_array_equal(records[0].counts, records[1].counts)
    np.testing.assert_array_equal(records[0].regret, records[1].regret)
    assert np.all(records[0].regret >= -1e-12)


def test_variants_run_and_aggregate_feedback_uses_one_observation_per_round():
    for cfg in ({"feedback": "aggregate"}, {"acquisition": "loose"}, {"action_encoding": "features"},
                {"beta": "theory"}, {"kernel": "matern52", "refit_every": 2}):
        opt = make_optimizer("mf-gp-ucb", 5, 5, {**FAST, **cfg}, rng=0,
                             action_features=np.random.default_rng(0).uniform(size=(5, 2)))
        _played(opt, 3)
        n_obs = opt.gp.n_observations
        assert n_obs == 3 if cfg.get("feedback") == "aggregate" else n_obs >= 3
    opt = make_optimizer("mf-gp-ucb", 5, 5, {**FAST, "beta": "theory"}, rng=0)
    before = opt.beta_sqrt()
    _played(opt, 3)
    assert opt.beta_sqrt() > before > 1.0  # the width grows with the information gained


def test_naive_joint_default_lengthscale_scales_with_n():
    opt = NaiveJointGPUCB(AllocationProblem(16, 5), NaiveJointGPUCBConfig(), np.random.default_rng(0))
    assert opt.gp.hyper.lengthscales == (pytest.approx(0.7 * 4.0),)
    assert opt.gp.dim == 80


def test_bad_input_gets_clear_errors():
    with pytest.raises(InvalidInputError, match="n_agents"):
        make_optimizer("mf-gp-ucb", 0, 5)
    with pytest.raises(InvalidInputError, match="n_actions"):
        make_optimizer("mf-gp-ucb", 4, 0)
    with pytest.raises(InvalidInputError, match="unknown MeanFieldGPUCBConfig key"):
        make_optimizer("mf-gp-ucb", 4, 5, {"betta": 2})
    with pytest.raises(InvalidInputError, match="feedback"):
        MeanFieldGPUCBConfig(feedback="psychic")
    with pytest.raises(InvalidInputError, match="needs the config that names it"):
        NaiveJointGPUCB(AllocationProblem(4, 5), MeanFieldGPUCBConfig(), np.random.default_rng(0))
    with pytest.raises(InvalidInputError, match="has 5 actions, its task 6"):
        AllocationProblem(4, 5, None, make_task("coverage", np.random.default_rng(0), n_actions=6))
    with pytest.raises(InvalidInputError, match="task and a noise generator"):
        make_optimizer("random", 4, 5).step()
    with pytest.raises(InvalidInputError, match="unknown method"):
        make_optimizer("mf-gp-ucb-multi-fidelity", 4, 5)
    opt = make_optimizer("mf-gp-ucb", 4, 5, FAST, rng=0)
    a = opt.ask()
    with pytest.raises(InvalidInputError, match="NaN"):
        opt.tell(a, np.array([0.1, np.nan, 0.2, 0.3]))
    with pytest.raises(InvalidInputError, match="per-agent"):
        opt.tell(a, 0.5)
    with pytest.raises(InvalidInputError, match="actions"):
        opt.tell(np.array([0, 1, 2, 9]), np.zeros(4))
    assert opt.iteration == 0
    with pytest.raises(InvalidInputError, match="finite"):
        GPUCB(SYNTHETIC["branin"].bounds, rng=0).tell(np.zeros(2), float("nan"))


def test_gp_ucb_on_branin_is_seeded_and_round_trips(tmp_path):
    f = SYNTHETIC["branin"]
    cfg = GPUCBConfig(outputscale=2500.0, lengthscale=0.25, noise_sd=0.01, n_candidates=128, n_polish=1)
    runs = []
    for _ in range(2):
        opt, best = GPUCB(f, cfg, rng=0), -np.inf
        for _ in range(20):
            x = opt.ask()
            y = float(f.fn(x[None])[0])
            opt.tell(x, y)
            best = max(best, y)
        runs.append((best, opt))
    assert runs[0][0] == runs[1][0]
    assert runs[0][0] > f.maximum - 1.0  # within 1 of the optimum (-0.398) after 20 evaluations
    clone = GPUCB.load(runs[0][1].save(tmp_path / "gpucb.json"))
    np.testing.assert_array_equal(clone.ask(), runs[0][1].ask())


# --------------------------------------------------------------------------- search budgets
def test_budgeted_acquisition_counts_and_caps_evaluations():
    from saddlepoint.bayesopt.lattice import BudgetedAcquisition

    calls = []
    acq = BudgetedAcquisition(lambda x: calls.append(len(x)) or x[:, 0].astype(float), 5)
    out = acq(np.arange(8)[:, None])
    assert acq.used == 5 and acq.spent and calls == [5]
    assert np.array_equal(out[:5], np.arange(5)) and np.all(np.isneginf(out[5:]))
    assert np.all(np.isneginf(acq(np.ones((3, 1))))) and calls == [5]


def test_naive_gp_ucb_and_mean_field_search_obey_the_same_evaluation_budget():
    task = make_task("coverage", np.random.default_rng(0), n_actions=6)
    budget = 150
    for method, cfg in (("naive-gp-ucb", {"n_candidates": 40, "n_starts": 3, "max_evaluations": budget}),
                        ("mf-gp-ucb", {"n_candidates": 40, "n_starts": 3, "max_evaluations": budget})):
        opt = make_optimizer(method, 32, 6, {"outputscale": 0.25, **cfg}, 0, task=task,
                             noise_rng=np.random.default_rng(1))
        run(opt, 4)
        assert 0 < opt.acquisition_evaluations <= 4 * budget, method
        assert opt.cost == {"iterations": 4, "acquisition_evaluations": opt.acquisition_evaluations}



# --------------------------------------------------------------------------- the method protocol
def test_every_registered_method_is_built_from_its_config_and_steps_under_run():
    task = _task()
    for name, entry in BO_METHODS.items():
        cls = load(entry.target)
        assert cls.algo == name and isinstance(cls.method, str)
        if entry.kind == "box":
            opt = make_method(SYNTHETIC["branin"], cls(n_candidates=16, n_polish=0), 0)
        else:
            opt = make_optimizer(name, 6, 5, CONFIGS.get(name, {}), 0, task=task, noise_rng=np.random.default_rng(1))
        assert isinstance(opt, Method) and opt.output() is None
        trace = run_method(opt, Budget(3), every=1)
        assert opt.iteration == opt.cost["iterations"] == 3 and len(trace.rows) == 3
        assert opt.output() is not None


def test_stepping_equals_the_ask_tell_loop():
    """step() draws rewards from the task's noise generator exactly as a hand loop would."""
    task = _task()
    stepped = make_optimizer("mf-gp-ucb", 6, 5, FAST, 2, task=task, noise_rng=np.random.default_rng(7))
    by_hand = make_optimizer("mf-gp-ucb", 6, 5, FAST, 2)
    noise = np.random.default_rng(7)
    for _ in range(3):
        stepped.step()
        a = by_hand.ask()
        by_hand.tell(a, task.observe(a, noise, 0.05))
    np.testing.assert_array_equal(stepped.history(), by_hand.history())
    np.testing.assert_array_equal(stepped.output(), by_hand.history()[-1])
