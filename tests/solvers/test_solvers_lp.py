import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from saddlepoint.errors import InvalidInputError
from saddlepoint.games.normal_form import biased_rps, matching_pennies, rock_paper_scissors, shapley, zero_sum_game
from saddlepoint.solvers import exploitability, nash_conv, solve_zero_sum


def test_rps_value_zero_uniform():
    x, y, v = solve_zero_sum(rock_paper_scissors())
    assert v == pytest.approx(0.0, abs=1e-12)
    assert np.allclose(x, 1 / 3) and np.allclose(y, 1 / 3)


def test_matching_pennies():
    x, y, v = solve_zero_sum(matching_pennies())
    assert v == pytest.approx(0.0, abs=1e-12)
    assert np.allclose(x, 0.5) and np.allclose(y, 0.5)


def test_two_by_two_by_hand():
    # Row mixes p: 3p - 2(1-p) = -p + (1-p)  => p = 3/7, value 1/7; column q = 2/7.
    x, y, v = solve_zero_sum(zero_sum_game([[3, -1], [-2, 1]]))
    assert v == pytest.approx(1 / 7, abs=1e-10)
    assert np.allclose(x, [3 / 7, 4 / 7]) and np.allclose(y, [2 / 7, 5 / 7])


def test_biased_rps_equilibrium():
    x, y, v = solve_zero_sum(biased_rps())
    assert v == pytest.approx(0.0, abs=1e-12)
    assert np.allclose(x, [1 / 16, 10 / 16, 5 / 16]) and np.allclose(y, x)


def test_saddle_point_with_pure_equilibrium():
    x, y, v = solve_zero_sum(zero_sum_game([[4, 2, 3], [1, 0, -1]]))
    assert v == pytest.approx(2.0) and np.allclose(x, [1, 0]) and np.allclose(y, [0, 1, 0])


def test_lp_refuses_general_sum():
    with pytest.raises(InvalidInputError, match="zero-sum"):
        solve_zero_sum(shapley())


payoff_matrices = st.integers(1, 6).flatmap(
    lambda m: st.integers(1, 6).flatmap(
        lambda n: arrays(np.float64, (m, n), elements=st.floats(-10, 10, allow_nan=False, width=32))
    )
)


@settings(max_examples=60, deadline=None)
@given(payoff_matrices)
def test_lp_equilibrium_invariants(a):
    game = zero_sum_game(a)
    x, y, v = solve_zero_sum(game)
    assert x.min() >= 0 and y.min() >= 0
    assert x.sum() == pytest.approx(1.0) and y.sum() == pytest.approx(1.0)
    # The value lies between the pure maximin and the pure minimax.
    assert a.min(axis=1).max() - 1e-7 <= v <= a.max(axis=0).min() + 1e-7
    # It is an equilibrium: no player gains by deviating.
    assert nash_conv(game, x, y) <= 1e-7 * max(1.0, np.abs(a).max())
    assert exploitability(game, x, y) == pytest.approx(nash_conv(game, x, y) / 2)
    assert float(x @ a @ y) == pytest.approx(v, abs=1e-7 * max(1.0, np.abs(a).max()))


@settings(max_examples=30, deadline=None)
@given(payoff_matrices, st.floats(0.1, 10), st.floats(-5, 5))
def test_lp_value_is_affine_equivariant(a, scale, shift):
    _, _, v = solve_zero_sum(zero_sum_game(a))
    _, _, v2 = solve_zero_sum(zero_sum_game(scale * a + shift))
    assert v2 == pytest.approx(scale * v + shift, abs=1e-6 * max(1.0, scale * np.abs(a).max() + abs(shift)))
