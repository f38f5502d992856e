"""Preference games, metrics, equilibria and oracles: known values and invariants."""

import numpy as np
import pytest

from saddlepoint.errors import InvalidInputError
from saddlepoint.preference import (
    BradleyTerryOracle,
    CallableOracle,
    MatrixOracle,
    PreferenceOracle,
    duality_gap,
    estimate_win_rates,
    kl_divergence,
    nash_equilibrium,
    preference_game,
    random_preference_game,
    regularized_equilibrium,
    select_pair,
    stack_games,
    stationarity_residual,
    win_rate,
)

RPS = np.array([[0.5, 0.0, 1.0], [1.0, 0.5, 0.0], [0.0, 1.0, 0.5]])  # rock, paper, scissors


def test_random_game_is_a_preference_game():
    g = random_preference_game(10, 3, seed=4)
    p = g.preferences
    assert p.shape == (3, 10, 10) and g.reference.shape == (3, 10)
    np.testing.assert_allclose(p + p.transpose(0, 2, 1), 1.0)
    np.testing.assert_allclose(np.diagonal(p, axis1=1, axis2=2), 0.5)
    assert p.min() >= 0 and p.max() <= 1
    np.testing.assert_allclose(g.reference.sum(axis=1), 1.0)
    assert not p.flags.writeable
    np.testing.assert_array_equal(random_preference_game(10, 3, seed=4).preferences, p)


@pytest.mark.parametrize("bad", [np.full((2, 2), 0.7), np.array([[0.5, 1.2], [-0.2, 0.5]]), np.ones((2, 3)) / 2])
def test_bad_preferences_are_rejected(bad):
    with pytest.raises(InvalidInputError, match="preferences"):
        preference_game(bad)


def test_bad_reference_is_rejected():
    with pytest.raises(InvalidInputError, match="reference"):
        preference_game(RPS, [1.0, 0.0, 0.0])
    with pytest.raises(InvalidInputError, match="reference"):
        preference_game(RPS, [0.5, 0.5])


def test_duality_gap_known_values():
    g = preference_game(RPS)
    assert duality_gap(g, np.full(3, 1 / 3)) == pytest.approx(0.0, abs=1e-15)
    # Against pure rock, paper wins with probability 1: DG = 2 * 1 - 1 = 1.
    assert duality_gap(g, [1.0, 0.0, 0.0]) == pytest.approx(1.0)
    # Against (1/2, 1/2, 0): P(paper > pi) = 0.75, DG = 0.5.
    assert duality_gap(g, [0.5, 0.5, 0.0]) == pytest.approx(0.5)


def test_duality_gap_nonnegative_and_lp_equilibrium_has_value_half():
    g = random_preference_game(10, 20, seed=1)
    rng = np.random.default_rng(0)
    for _ in range(20):
        assert np.all(duality_gap(g, rng.dirichlet(np.ones(10), size=20), per_prompt=True) >= 0)
    ne, values = nash_equilibrium(g)
    np.testing.assert_allclose(values, 0.5, atol=1e-9)
    assert duality_gap(g, ne) == pytest.approx(0.0, abs=1e-8)
    np.testing.assert_allclose(ne.sum(axis=1), 1.0)
    # win rate of any policy against itself is 1/2 (P + P^T = 1)
    pi = rng.dirichlet(np.ones(10), size=20)
    assert win_rate(g, pi, pi) == pytest.approx(0.5)


def test_rps_equilibrium_is_uniform():
    ne, value = nash_equilibrium(preference_game(RPS))
    np.testing.assert_allclose(ne[0], 1 / 3, atol=1e-9)
    assert value[0] == pytest.approx(0.5)


def test_kl_divergence():
    p, q = np.array([0.5, 0.5, 0.0]), np.array([0.25, 0.25, 0.5])
    assert kl_divergence(p, q) == pytest.approx(np.log(2))
    assert kl_divergence(q, q) == 0.0


def test_reverse_kl_equilibrium_solves_its_fixed_point():
    g = random_preference_game(10, 4, seed=2)
    tau = 0.05
    pi = regularized_equilibrium(g, tau_reverse=tau)
    target = g.reference * np.exp(g.win_rates(pi) / tau)
    np.testing.assert_allclose(pi, target / target.sum(axis=1, keepdims=True), atol=1e-12)
    # larger tau -> closer to the reference
    pi_big = regularized_equilibrium(g, tau_reverse=1.0)
    assert kl_divergence(pi_big, g.reference) < kl_divergence(pi, g.reference)


def test_forward_kl_equilibrium_solves_its_fixed_point():
    g = random_preference_game(8, 3, seed=5)
    tau = 0.05
    pi = regularized_equilibrium(g, tau_forward=tau)
    # pi_y (c - (P pi)_y) = tau ref_y with one c per prompt
    c = g.win_rates(pi) + tau * g.reference / pi
    np.testing.assert_allclose(c, c[:, :1] * np.ones_like(c), atol=1e-11)
    assert stationarity_residual(g, pi, tau_forward=tau) < 1e-11


def test_regularized_equilibrium_rejects_zero_tau():
    with pytest.raises(InvalidInputError, match="tau"):
        regularized_equilibrium(random_preference_game(3), tau_reverse=0.0)


def test_stack_games_keeps_prompts():
    a, b = random_preference_game(5, 1, 0), random_preference_game(5, 2, 1)
    s = stack_games([a, b])
    assert s.shape == (3, 5)
    np.testing.assert_array_equal(s.preferences[1:], b.preferences)
    with pytest.raises(InvalidInputError):
        stack_games([a, random_preference_game(4, 1, 0)])


def test_oracles_agree():
    g = random_preference_game(6, 2, seed=3)
    matrix = MatrixOracle(g)
    fn = CallableOracle(lambda x, a, b: g.preferences[x, a, b])
    idx = [4, 0, 2, 2]
    for oracle in (matrix, fn):
        assert isinstance(oracle, PreferenceOracle)
        w = oracle.win_matrix(1, idx)
        np.testing.assert_allclose(w, g.preferences[1][np.ix_(idx, idx)])
        np.testing.assert_allclose(w + w.T, 1.0)


def test_bradley_terry_oracle():
    bt = BradleyTerryOracle(lambda x, y: len(y), beta=2.0)
    w = bt.win_matrix("prompt", ["a", "abc", "ab"])
    assert w[1, 0] == pytest.approx(1 / (1 + np.exp(-4.0)))
    np.testing.assert_allclose(w + w.T, 1.0)
    assert bt.win_prob("p", "ab", "a") == pytest.approx(w[2, 0])
    np.testing.assert_allclose(bt.scores("p", ["a", "abc"]), [1.0, 3.0])


def test_win_rate_estimate_and_pair_selection():
    w = np.array([[0.5, 0.9, 0.2], [0.1, 0.5, 0.3], [0.8, 0.7, 0.5]])
    p_hat = estimate_win_rates(w)
    np.testing.assert_allclose(p_hat, [1.6 / 3, 0.9 / 3, 2.0 / 3])
    win, lose = select_pair(p_hat)
    assert (int(win), int(lose)) == (2, 1)
    win, lose = select_pair(np.array([[1.0, 1.0, 0.0, 0.0]]))
    assert (int(win[0]), int(lose[0])) == (0, 3)
