import json

import numpy as np
import pytest

from saddlepoint.errors import InvalidInputError
from saddlepoint.games import make_game
from saddlepoint.games.normal_form import (
    bimatrix_game, biased_rps, load_payoffs, matching_pennies, random_zero_sum, rock_paper_scissors,
    shapley, symmetric_game, zero_sum_game,
)


def test_named_games_have_expected_structure():
    rps = rock_paper_scissors()
    assert rps.is_zero_sum and rps.is_symmetric and rps.shape == (3, 3)
    assert matching_pennies().is_zero_sum and not matching_pennies().is_symmetric
    assert biased_rps().is_zero_sum and biased_rps().payoff_range == pytest.approx(1.0)
    sh = shapley()
    assert not sh.is_zero_sum and sh.shape == (3, 3)


def test_payoffs_are_read_only_copies():
    a = np.array([[1.0, 2.0], [3.0, 4.0]])
    g = zero_sum_game(a)
    a[0, 0] = 99.0
    assert g.row_payoffs[0, 0] == 1.0
    with pytest.raises(ValueError):
        g.row_payoffs[0, 0] = 5.0


@pytest.mark.parametrize(
    "payoffs, message",
    [
        ([[1.0, np.nan]], r"non-finite payoff at \(0, 1\)"),
        ([[1.0, np.inf], [0.0, 0.0]], "non-finite"),
        (np.zeros((0, 3)), "empty action set"),
        ([1.0, 2.0], "2-D array"),
        ([["a", "b"]], "2-D array of numbers"),
    ],
)
def test_bad_payoffs_get_clear_errors(payoffs, message):
    with pytest.raises(InvalidInputError, match=message):
        zero_sum_game(payoffs)


def test_shape_mismatch_and_asymmetric_square():
    with pytest.raises(InvalidInputError, match="shapes differ"):
        bimatrix_game(np.zeros((2, 3)), np.zeros((3, 2)))
    with pytest.raises(InvalidInputError, match="square"):
        symmetric_game(np.zeros((2, 3)))
    g = symmetric_game([[1, 2], [3, 4]])
    assert g.is_symmetric and np.array_equal(g.col_payoffs, g.row_payoffs.T)


def test_strategy_validation():
    g = rock_paper_scissors()
    with pytest.raises(InvalidInputError, match="shape"):
        g.expected_payoffs(np.ones(2) / 2, np.ones(3) / 3)
    with pytest.raises(InvalidInputError, match="probability"):
        g.expected_payoffs(np.array([0.5, 0.6, -0.1]), np.ones(3) / 3)
    assert g.expected_payoffs(np.array([1.0, 0, 0]), np.array([0, 0, 1.0])) == (1.0, -1.0)


def test_random_zero_sum_is_reproducible_and_validated():
    a, b = random_zero_sum(4, 5, seed=3), random_zero_sum(4, 5, seed=3)
    assert np.array_equal(a.row_payoffs, b.row_payoffs) and a.shape == (4, 5)
    assert not np.array_equal(a.row_payoffs, random_zero_sum(4, 5, seed=4).row_payoffs)
    assert np.all(np.abs(a.row_payoffs) <= 1.0)
    for bad in ({"m": 0}, {"n": -1}, {"seed": -2}, {"m": 2.5}):
        with pytest.raises(InvalidInputError):
            random_zero_sum(**bad)


def test_make_game_from_strings():
    g = make_game("random_zero_sum(m=3,n=2,seed=7)")
    assert g.shape == (3, 2) and np.array_equal(g.row_payoffs, random_zero_sum(3, 2, 7).row_payoffs)
    assert make_game("rock_paper_scissors").name == "rock_paper_scissors"
    with pytest.raises(InvalidInputError, match="unknown game"):
        make_game("nope")
    with pytest.raises(InvalidInputError, match="bad parameters"):
        make_game("rock_paper_scissors(size=3)")
    with pytest.raises(InvalidInputError, match="cannot parse"):
        make_game("random_zero_sum(m=3")


def test_load_payoffs_all_formats(tmp_path):
    a = np.array([[1.0, -2.0, 0.5], [0.0, 3.0, -1.0]])
    np.save(tmp_path / "g.npy", a)
    np.savetxt(tmp_path / "g.csv", a, delimiter=",")
    (tmp_path / "g.json").write_text(json.dumps(a.tolist()))
    (tmp_path / "h.json").write_text(json.dumps({"payoffs": a.tolist()}))
    for name in ("g.npy", "g.csv", "g.json", "h.json"):
        g = load_payoffs(tmp_path / name)
        assert g.is_zero_sum and np.allclose(g.row_payoffs, a)


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("bad.csv", "1,2\n3\n", "cannot read"),
        ("bad.json", "{not json", "cannot read"),
        ("nokey.json", '{"x": [[1]]}', "no 'payoffs' key"),
        ("ragged.json", "[[1, 2], [3]]", "2-D array of numbers"),
        ("bad.txt", "1", "unsupported payoff file type"),
    ],
)
def test_load_payoffs_errors(tmp_path, name, content, message):
    (tmp_path / name).write_text(content)
    with pytest.raises(InvalidInputError, match=message):
        load_payoffs(tmp_path / name)


def test_load_payoffs_missing_file(tmp_path):
    with pytest.raises(InvalidInputError, match="does not exist"):
        load_payoffs(tmp_path / "missing.npy")
