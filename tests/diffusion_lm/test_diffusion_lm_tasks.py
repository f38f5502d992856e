"""Generated tasks: the 288 Sudoku grids, the split by grid, Countdown, and both rewards."""

from fractions import Fraction

import numpy as np
import pytest

from saddlepoint.diffusion_lm.tasks import (
    all_sudoku_grids,
    countdown_task,
    parse_expression,
    sudoku_reward,
    sudoku_solved,
    sudoku_task,
)
from saddlepoint.errors import InvalidInputError


def _units():
    g = np.arange(16).reshape(4, 4)
    boxes = [g[r:r + 2, c:c + 2].ravel() for r in (0, 2) for c in (0, 2)]
    return list(g) + list(g.T) + boxes


def test_exactly_288_distinct_valid_grids():
    grids = all_sudoku_grids()
    assert grids.shape == (288, 16)
    assert len({g.tobytes() for g in grids}) == 288
    for unit in _units():
        assert (np.sort(grids[:, unit], axis=1) == [1, 2, 3, 4]).all()


def test_split_is_by_grid_and_puzzles_are_unique_and_consistent():
    train, test = sudoku_task(np.random.default_rng(0), puzzles_per_grid=3)
    train_grids = {a.tobytes() for a in train.answers}
    test_grids = {a.tobytes() for a in test.answers}
    assert not train_grids & test_grids
    assert len(train_grids) + len(test_grids) == 288
    assert len(test_grids) == round(0.2 * 288)
    for task in (train, test):
        assert task.prompts.shape[1] == 17 and (task.prompts[:, 16] == task.sep_id).all()
        blanks = (task.prompts[:, :16] == 0).sum(axis=1)
        assert blanks.min() >= 6 and blanks.max() <= 10
        clues = task.prompts[:, :16] != 0
        assert (task.prompts[:, :16][clues] == task.answers[clues]).all()
        np.testing.assert_array_equal(task.reward(task.prompts, task.answers), 1.0)
        assert task.solved(task.prompts, task.answers).all()


def test_sudoku_generation_is_deterministic_under_a_seed():
    a, _ = sudoku_task(np.random.default_rng(3), puzzles_per_grid=1)
    b, _ = sudoku_task(np.random.default_rng(3), puzzles_per_grid=1)
    np.testing.assert_array_equal(a.prompts, b.prompts)


def test_sudoku_reward_counts_blank_cells_only():
    grid = all_sudoku_grids()[0]
    puzzle = grid.copy()
    puzzle[[0, 5, 10, 15, 3, 12]] = 0  # six blanks
    # this puzzle is unique (checked against all grids by the reward itself)
    comp = grid.copy()
    comp[5] = grid[5] % 4 + 1  # one blank wrong
    comp[1] = grid[1] % 4 + 1  # a clue cell overwritten: not counted by the reward
    prompt = np.append(puzzle, 5)[None]
    np.testing.assert_allclose(sudoku_reward(prompt, comp[None]), [5 / 6])
    assert not sudoku_solved(prompt, comp[None])[0]
    assert sudoku_solved(prompt, grid[None])[0]
    with pytest.raises(InvalidInputError, match="completions"):
        sudoku_reward(prompt, comp[None, :8])


def test_parse_expression_values():
    assert parse_expression("(3+4)*2") == (Fraction(14), [3, 4, 2])
    assert parse_expression("12/8-1") == (Fraction(1, 2), [12, 8, 1])
    assert parse_expression("3+4*2") == (Fraction(11), [3, 4, 2])
    for bad in ("3+", "(3+4", "3/0", "", "3++4", "34)"):
        assert parse_expression(bad) is None


def test_countdown_answers_score_one_and_wrong_ones_zero():
    task = countdown_task(np.random.default_rng(0), 30)
    np.testing.assert_array_equal(task.reward(task.prompts, task.answers), 1.0)
    tok = {s: i for i, s in enumerate(task.vocab)}
    prompt = np.array([tok[c] for c in "03,04,02=14"] + [task.sep_id])[None]

    def comp(text):
        ids = [tok[c] for c in text] + [task.pad_id] * (task.completion_length - len(text))
        return np.array(ids)[None]

    assert task.reward(prompt, comp("(3+4)*2"))[0] == 1.0
    assert task.reward(prompt, comp("2*(4+3)"))[0] == 1.0
    assert task.reward(prompt, comp("3*4+2"))[0] == 1.0
    assert task.reward(prompt, comp("3+4+2"))[0] == 0.0  # wrong value
    assert task.reward(prompt, comp("(3+4)*2*1"))[0] == 0.0  # extra number
    assert task.reward(prompt, comp("(3+4)*"))[0] == 0.0  # malformed
    middle_pad = comp("3*4+2")
    middle_pad[0, 1] = task.pad_id
    assert task.reward(prompt, middle_pad)[0] == 0.0
