"""The verbosity-biased judge and the length-controlled win rate (RSPO E3)."""

import numpy as np
import pytest

from saddlepoint.errors import InvalidInputError
from saddlepoint.preference.game import PreferenceGame
from saddlepoint.preference.length_control import (
    fit_length_bias,
    length_controlled_preferences,
    length_controlled_win_rate,
    mean_length,
    verbosity_biased_game,
)
from saddlepoint.preference.metrics import win_rate


def test_fit_recovers_an_exact_length_term():
    lengths = np.array([[0.0, 1.0, 3.0]])
    d = lengths[:, :, None] - lengths[:, None, :]
    prefs = 1 / (1 + np.exp(-1.7 * d))
    assert fit_length_bias(prefs, lengths) == pytest.approx(1.7)
    np.testing.assert_allclose(length_controlled_preferences(prefs, lengths, 1.7), 0.5, atol=1e-9)


def test_the_judge_prefers_length_beyond_quality_and_the_fit_finds_its_bias():
    g = verbosity_biased_game(64, 10, seed=3, verbosity=3.0)
    assert fit_length_bias(g.judge.preferences, g.lengths) == pytest.approx(3.0, abs=0.5)
    assert fit_length_bias(g.oracle.preferences, g.lengths) == pytest.approx(0.0, abs=0.5)
    # a policy that shifts mass to the longest response wins under the judge, much less under LC
    ref = g.judge.reference
    longest = np.zeros_like(ref)
    longest[np.arange(64), g.lengths.argmax(axis=1)] = 1.0
    raw = win_rate(g.judge, longest, ref)
    lc = length_controlled_win_rate(g.judge, g.lengths, longest, ref)
    oracle = win_rate(g.oracle, longest, ref)
    assert raw > 0.6 and abs(lc - oracle) < 0.05 and lc < raw - 0.1
    assert mean_length(longest, g.lengths) > mean_length(ref, g.lengths)


def test_same_seed_same_game_and_clear_errors():
    a, b = verbosity_biased_game(4, 5, seed=1), verbosity_biased_game(4, 5, seed=1)
    np.testing.assert_array_equal(a.judge.preferences, b.judge.preferences)
    flat = PreferenceGame(np.full((1, 2, 2), 0.5), np.full((1, 2), 0.5))
    with pytest.raises(InvalidInputError, match="same length"):
        fit_length_bias(flat.preferences, np.ones((1, 2)))
    with pytest.raises(InvalidInputError, match="lengths must have shape"):
        fit_length_bias(flat.preferences, np.ones((2, 2)))
    with pytest.raises(InvalidInputError, match="verbosity"):
        verbosity_biased_game(2, 3, seed=0, verbosity=-1.0)
