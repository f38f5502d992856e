"""Instances and generators: exact misspecification bounds, hand-computed means, bad input."""

import numpy as np
import pytest

from saddlepoint.bandits import (
    LinearBandit, check_gam, gam_level, gam_split, gap_adjusted, hidden_uniform, realizable,
    sphere_points, sup_misspecification, uniformly_misspecified,
)
from saddlepoint.errors import InvalidInputError


def _random(k=50, d=5, seed=0):
    rng = np.random.default_rng(seed)
    return sphere_points(k, d, rng), sphere_points(1, d, rng)[0]


def test_sphere_points_unit_norm():
    x = sphere_points(100, 7, np.random.default_rng(3))
    assert x.shape == (100, 7)
    np.testing.assert_allclose(np.linalg.norm(x, axis=1), 1.0)


def test_gap_adjusted_hand_computed():
    arms = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
    inst = gap_adjusted(arms, np.array([1.0, 0.0]), rho=0.5, e=np.array([0.0, 1.0, -1.0 / 3]))
    # lin = [1, 0, -1], Delta_lin = [0, 1, 2], f = 1 - Delta_lin (1 + e)
    np.testing.assert_allclose(inst.means, [1.0, -1.0, -1.0 / 3])
    np.testing.assert_allclose(inst.gaps, [0.0, 2.0, 4.0 / 3])
    assert inst.best_arm == 0
    assert gam_level(inst) == pytest.approx(0.5, abs=1e-8)
    check_gam(inst, 0.5)
    with pytest.raises(InvalidInputError, match="not rho-GAM"):
        check_gam(inst, 0.49)


def test_realizable_is_exact():
    arms, w = _random()
    inst = realizable(arms, w)
    np.testing.assert_allclose(inst.means, arms @ w)
    assert gam_level(inst) == 0.0
    assert sup_misspecification(inst) == 0.0


@pytest.mark.parametrize("rho", [0.0, 0.1, 0.3, 0.6, 0.9])
def test_gam_split_bound_is_tight_and_keeps_best_arm(rho):
    arms, w = _random(seed=int(rho * 10))
    inst = gam_split(arms, w, rho)
    err = np.abs(inst.means - arms @ w)
    gaps = inst.gaps
    assert np.all(err <= rho * gaps + 1e-12)
    subopt = gaps > 0
    # both extremes of e are used, so |f - w^T x| = rho * Delta on every suboptimal arm
    np.testing.assert_allclose(err[subopt], rho * gaps[subopt], atol=1e-12)
    assert gam_level(inst) == pytest.approx(rho, abs=1e-8)
    assert inst.best_arm == int(np.argmax(arms @ w))
    lin_gap = (arms @ w).max() - arms @ w
    assert np.all(lin_gap >= (1 - rho) * gaps - 1e-12)
    assert np.all(lin_gap <= (1 + rho) * gaps + 1e-12)


def test_hidden_uniform_is_not_gam_and_has_stated_sup_error():
    arms, w = _random()
    inst = hidden_uniform(arms, w, 0.1)
    lin = arms @ w
    hidden = inst.best_arm
    assert inst.means[hidden] == pytest.approx(lin.max() + 0.1)
    assert sup_misspecification(inst) == pytest.approx(lin.max() - lin[hidden] + 0.1)
    assert gam_level(inst) == float("inf")
    assert np.count_nonzero(inst.means != lin) == 1
    with pytest.raises(InvalidInputError):
        check_gam(inst, 0.99)


def test_uniformly_misspecified_bound():
    arms, w = _random()
    inst = uniformly_misspecified(arms, w, 0.05, np.random.default_rng(0))
    assert 0 < sup_misspecification(inst) <= 0.05


def test_bad_instances_get_clear_errors():
    arms, w = _random(k=10, d=3)
    with pytest.raises(InvalidInputError, match="rho"):
        gam_split(arms, w, -0.1)
    with pytest.raises(InvalidInputError, match="rho"):
        gam_split(arms, w, 1.0)
    with pytest.raises(InvalidInputError, match="theta must have shape \\(3,\\)"):
        realizable(arms, np.ones(4))
    with pytest.raises(InvalidInputError, match="empty"):
        realizable(np.zeros((0, 3)), w)
    with pytest.raises(InvalidInputError, match="2-D"):
        realizable(np.ones(3), w)
    with pytest.raises(InvalidInputError, match="e must lie"):
        gap_adjusted(arms, w, 0.2, np.full(10, 0.3))
    with pytest.raises(InvalidInputError, match="means"):
        LinearBandit(arms, np.ones(9))
    with pytest.raises(InvalidInputError, match="sigma"):
        LinearBandit(arms, np.ones(10), sigma=-1.0)
    with pytest.raises(InvalidInputError, match="eps"):
        uniformly_misspecified(arms, w, -0.1, np.random.default_rng(0))


def test_instance_arrays_are_read_only_copies():
    arms, w = _random(k=5, d=2)
    inst = realizable(arms, w)
    arms[0, 0] = 99.0
    assert inst.arms[0, 0] != 99.0
    with pytest.raises(ValueError):
        inst.means[0] = 1.0


def test_load_arms_from_npy_and_csv(tmp_path):
    from saddlepoint.bandits import load_arms

    arms, _ = _random(k=6, d=3)
    np.save(tmp_path / "arms.npy", arms)
    np.savetxt(tmp_path / "arms.csv", arms, delimiter=",")
    np.testing.assert_array_equal(load_arms(tmp_path / "arms.npy"), arms)
    np.testing.assert_allclose(load_arms(tmp_path / "arms.csv"), arms, rtol=1e-15)
    (tmp_path / "bad.csv").write_text("a,b\n1,2\n")
    with pytest.raises(InvalidInputError, match="numeric CSV"):
        load_arms(tmp_path / "bad.csv")
    with pytest.raises(InvalidInputError, match="does not exist"):
        load_arms(tmp_path / "missing.npy")
    (tmp_path / "arms.txt").write_text("1,2\n")
    with pytest.raises(InvalidInputError, match=".npy or .csv"):
        load_arms(tmp_path / "arms.txt")



# --------------------------------------------------------------------------- round-two families
def _sphere_instance(seed=0, k=40, d=5):
    from saddlepoint.bandits import sphere_points

    rng = np.random.default_rng(seed)
    return sphere_points(k, d, rng), sphere_points(1, d, rng)[0]


def test_gam_adversarial_makes_every_arm_look_better_by_rho_times_its_gap():
    from saddlepoint.bandits.instances import gam_adversarial, gam_level

    arms, theta = _sphere_instance()
    inst = gam_adversarial(arms, theta, 0.1)
    over = inst.linear_means() - inst.means
    assert np.all(over >= -1e-12)  # the linear model overestimates every arm
    assert np.allclose(over, 0.1 * inst.gaps)
    assert abs(gam_level(inst) - 0.1) < 1e-6
    assert inst.best_arm == int(np.argmax(arms @ theta))


def test_matched_uniform_has_the_given_largest_error_and_hides_the_optimum():
    from saddlepoint.bandits.instances import gam_adversarial, gam_level, matched_uniform, sup_misspecification

    arms, theta = _sphere_instance(3)
    eps = sup_misspecification(gam_adversarial(arms, theta, 0.1))
    inst = matched_uniform(arms, theta, eps)
    assert abs(sup_misspecification(inst) - eps) < 1e-12
    lin = arms @ theta
    assert inst.best_arm != int(np.argmax(lin))  # the linear model's best is not the true best
    assert gam_level(inst) == float("inf")
    with pytest.raises(InvalidInputError, match="2 eps"):
        matched_uniform(np.array([[1.0, 0.0], [-1.0, 0.0]]), np.array([1.0, 0.0]), 0.1)


def test_separated_moves_close_arms_to_the_minimum_gap_and_stays_realizable():
    from saddlepoint.bandits.instances import gam_level, separated

    arms, theta = _sphere_instance(1, k=60)
    inst = separated(arms, theta, 0.2)
    gaps = inst.gaps[inst.gaps > 1e-9]
    assert gaps.min() >= 0.2 - 1e-9 and inst.k == 60 and gam_level(inst) == 0.0
    far = (arms @ theta).max() - arms @ theta >= 0.2
    assert np.array_equal(inst.arms[far], arms[far])  # arms already far enough are untouched
