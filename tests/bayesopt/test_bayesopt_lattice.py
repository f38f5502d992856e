"""Lattice utilities: every allocation sums to N; exact optima agree with enumeration."""

import math

import numpy as np
import pytest

from saddlepoint.bayesopt.lattice import (
    assignment_of,
    counts_of,
    enumerate_lattice,
    hill_climb,
    largest_remainder,
    lattice_size,
    min_cost_assignment,
    move_sizes,
    neighbours,
    random_lattice,
    separable_optimum,
)
from saddlepoint.errors import InvalidInputError


def test_enumeration_is_complete_and_sums_to_n():
    pts = enumerate_lattice(5, 3)
    assert pts.shape == (lattice_size(5, 3), 3) == (21, 3)
    assert np.all(pts.sum(1) == 5) and np.all(pts >= 0)
    assert len({tuple(p) for p in pts}) == 21
    with pytest.raises(InvalidInputError, match="limit"):
        enumerate_lattice(100, 10, limit=1000)


def test_largest_remainder_hand_cases_and_sums():
    np.testing.assert_array_equal(largest_remainder(np.array([0.5, 0.25, 0.25]), 7), [3, 2, 2])
    np.testing.assert_array_equal(largest_remainder(np.array([1 / 3] * 3), 4), [2, 1, 1])
    rng = np.random.default_rng(0)
    for n in (1, 3, 17, 1000):
        c = largest_remainder(rng.dirichlet(np.ones(6), size=50), n)
        assert np.all(c.sum(1) == n) and np.all(c >= 0)


def test_random_points_and_neighbours_keep_n():
    rng = np.random.default_rng(1)
    pts = random_lattice(13, 4, 100, rng)
    assert np.all(pts.sum(1) == 13)
    nb = neighbours(np.array([2, 0, 1]), np.array([1, 2]))
    expected = {(1, 1, 1), (1, 0, 2), (3, 0, 0), (2, 1, 0), (0, 2, 1), (0, 0, 3)}
    assert {tuple(r) for r in nb} == expected
    assert list(move_sizes(64)) == [1, 2, 4, 8, 16] and list(move_sizes(64, False)) == [1]


def test_hill_climb_finds_the_concave_maximum():
    target = np.array([7, 0, 3, 10])

    def objective(c):
        return -((c - target) ** 2).sum(-1).astype(float)

    counts, value, steps = hill_climb(objective, np.array([0, 20, 0, 0]), sizes=move_sizes(20))
    np.testing.assert_array_equal(counts, target)
    assert value == 0.0 and counts.sum() == 20 and steps > 0


def test_separable_dynamic_programme_equals_enumeration():
    rng = np.random.default_rng(2)
    n, k = 9, 4
    gain = rng.normal(size=(k, n + 1))
    value, counts = separable_optimum(gain)
    pts = enumerate_lattice(n, k)
    brute = gain[np.arange(k)[None], pts].sum(1)
    assert value == pytest.approx(brute.max())
    assert counts.sum() == n and gain[np.arange(k), counts].sum() == pytest.approx(value)


def test_assignments():
    counts = np.array([2, 0, 3])
    joint = assignment_of(counts)
    np.testing.assert_array_equal(joint, [0, 0, 2, 2, 2])
    np.testing.assert_array_equal(counts_of(joint, 3), counts)
    cost = np.array([[0, 9, 9], [9, 9, 0], [9, 9, 0], [0, 9, 9], [9, 9, 0.0]])
    np.testing.assert_array_equal(min_cost_assignment(counts, cost), [0, 2, 2, 0, 2])
    assert math.comb(12, 2) == lattice_size(10, 3)
