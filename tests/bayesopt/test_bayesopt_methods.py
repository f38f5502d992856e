"""Ask/tell methods: permutation invariance, allocations sum to N, save/load, seeds, errors."""

import numpy as np
import pytest

from saddlepoint.bayesopt import (
    GPUCB,
    METHODS,
    SYNTHETIC,
    GPUCBConfig,
    MeanFieldGPUCB,
    MeanFieldGPUCBConfig,
    NaiveJointGPUCB,
    load_optimizer,
    make_optimizer,
    make_task,
    run,
)
from saddlepoint.bayesopt.lattice import counts_of
from saddlepoint.config import from_dict
from saddlepoint.errors import InvalidInputError

FAST = {"n_candidates": 40, "n_starts": 1}
CONFIGS = {
    "mf-gp-ucb": FAST, "agg-gp-ucb": FAST, "naive-gp-ucb": {"n_candidates": 40, "sweeps": 1},
    "random": {},
}


def _task():
    return make_task("coverage", np.random.default_rng(0))


def _played(opt, rounds, seed=3):
    task, rng = _task(), np.random.default_rng(seed)
    for _ in range(rounds):
        a = opt.ask()
        opt.tell(a, task.observe(a, rng, 0.05))


def test_mean_field_surrogate_is_invariant_to_permuting_agents():
    task, rng = _task(), np.random.default_rng(1)
    a = MeanFieldGPUCB(8, 5, MeanFieldGPUCBConfig(**FAST), rng=0)
    b = MeanFieldGPUCB(8, 5, MeanFieldGPUCBConfig(**FAST), rng=0)
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
    opt = MeanFieldGPUCB(6, 5, MeanFieldGPUCBConfig(**FAST), rng=0)
    _played(opt, 3)
    loose = MeanFieldGPUCB.from_state_dict({**opt.state_dict(), "config": {**FAST, "acquisition": "loose"}})
    xi = np.random.default_rng(2).dirichlet(np.ones(5), size=30)
    assert np.all(opt.acquisition(xi) <= loose.acquisition(xi) + 1e-12)


@pytest.mark.parametrize("optimizer", ["hill_climb", "random", "relaxed"])
@pytest.mark.parametrize("n", [1, 3, 37])
def test_lattice_search_returns_allocations_of_n_agents(optimizer, n):
    opt = MeanFieldGPUCB(n, 5, MeanFieldGPUCBConfig(**FAST, lattice_optimizer=optimizer), rng=0)
    _played(opt, 2)
    joint = opt.ask()
    assert joint.shape == (n,) and counts_of(joint, 5).sum() == n
    assert joint.min() >= 0 and joint.max() < 5


@pytest.mark.parametrize("method", sorted(METHODS))
def test_ask_tell_round_trips_through_save_and_load(method, tmp_path):
    opt = make_optimizer(method, 6, 5, CONFIGS[method], rng=11)
    _played(opt, 4)
    clone = load_optimizer(opt.save(tmp_path / "state.json"))
    assert clone.rounds == opt.rounds == 4
    np.testing.assert_array_equal(clone.history(), opt.history())
    task, r1, r2 = _task(), np.random.default_rng(9), np.random.default_rng(9)
    for _ in range(2):
        a, b = opt.ask(), clone.ask()
        np.testing.assert_array_equal(a, b)
        opt.tell(a, task.observe(a, r1, 0.05))
        clone.tell(b, task.observe(b, r2, 0.05))


@pytest.mark.parametrize("method", sorted(METHODS))
def test_same_seed_same_run(method):
    records = []
    for _ in range(2):
        opt = make_optimizer(method, 8, 5, CONFIGS[method], rng=np.random.default_rng(4))
        records.append(run(_task(), opt, 5, np.random.default_rng(5)))
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
    opt = NaiveJointGPUCB(16, 5, from_dict(METHODS["naive-gp-ucb"].config_cls, {}), rng=0)
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
    assert opt.rounds == 0
    with pytest.raises(InvalidInputError, match="finite"):
        GPUCB(SYNTHETIC["branin"].bounds, rng=0).tell(np.zeros(2), float("nan"))


def test_gp_ucb_on_branin_is_seeded_and_round_trips(tmp_path):
    f = SYNTHETIC["branin"]
    cfg = GPUCBConfig(outputscale=2500.0, lengthscale=0.25, noise_sd=0.01, n_candidates=128, n_polish=1)
    runs = []
    for _ in range(2):
        opt, best = GPUCB(f.bounds, cfg, rng=0), -np.inf
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
    from saddlepoint.bayesopt.meanfield import BudgetedAcquisition

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
        opt = make_optimizer(method, 32, 6, {"outputscale": 0.25, **cfg}, 0)
        run(task, opt, 4, np.random.default_rng(1))
        assert 0 < opt.acquisition_evaluations <= 4 * budget, method
