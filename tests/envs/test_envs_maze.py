"""Maze levels: text form, key, BFS, optimal actions, and every bad-input error."""

import pickle

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from saddlepoint.envs.generators import BROAD, NARROW, MazeGenerator
from saddlepoint.envs.maze import MazeLevel, as_levels
from saddlepoint.errors import InvalidInputError

# Hand-counted: the only path goes right 4, down 2, left 4, down 2, right 4 = 16 moves.
CORRIDOR_7 = """
#######
#S....#
#####.#
#.....#
#.#####
#....G#
#######
"""

BLOCKED = """
#####
#S#G#
#####
#####
#####
"""


def test_bfs_length_on_hand_made_mazes():
    five = MazeLevel.from_text("#######\n#S....#\n#####.#\n#G....#\n#######\n#######\n#######")
    assert five.shortest_path_length() == 4 + 2 + 4
    seven = MazeLevel.from_text(CORRIDOR_7)
    assert seven.shortest_path_length() == 4 + 2 + 4 + 2 + 4
    open_room = MazeLevel.from_text("#####\n#S..#\n#...#\n#..G#\n#####")
    assert open_room.shortest_path_length() == 4           # Manhattan distance, no walls
    blocked = MazeLevel.from_text(BLOCKED)
    assert blocked.shortest_path_length() is None and not blocked.is_solvable()
    with pytest.raises(InvalidInputError, match="unsolvable"):
        MazeLevel.from_text(BLOCKED, require_solvable=True)
    with pytest.raises(InvalidInputError, match="unsolvable"):
        blocked.require_solvable()


def test_goal_distances_and_optimal_mask():
    lv = MazeLevel.from_text("#####\n#S..#\n#...#\n#..G#\n#####")
    d = lv.goal_distances
    assert d[3, 3] == 0 and d[1, 1] == 4 and d[0, 0] == -1
    m = lv.optimal_action_mask
    assert m[1, 1].tolist() == [False, True, True, False]   # right or down
    assert not m[3, 3].any() and not m[0, 0].any()
    with pytest.raises(ValueError):
        d[1, 1] = 7                                         # read-only


def test_text_round_trip_key_and_equality():
    lv = MazeLevel.from_text(CORRIDOR_7)
    again = MazeLevel.from_text(lv.to_text())
    assert again == lv and hash(again) == hash(lv) and again.key == lv.key
    assert len(lv.key) == 40 and lv.size == 7
    assert lv.to_text() == CORRIDOR_7.strip()
    moved = MazeLevel(lv.walls, lv.start, (1, 5))
    assert moved != lv and moved.key != lv.key
    assert len({lv, again, moved}) == 2
    assert not lv.walls.flags.writeable
    back = pickle.loads(pickle.dumps(lv))
    assert back == lv and not back.walls.flags.writeable


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), density=st.floats(0.0, 0.4),
       size=st.sampled_from([9, 11, 13]))
def test_text_round_trip_property(seed, density, size):
    gen = MazeGenerator(size=size, wall_density=density, path_length=(1, 40))
    lv = gen.sample(np.random.default_rng(seed))
    back = MazeLevel.from_text(lv.to_text())
    assert back == lv
    assert np.array_equal(back.walls, lv.walls) and back.start == lv.start and back.goal == lv.goal
    assert back.shortest_path_length() == lv.shortest_path_length()


@pytest.mark.parametrize("text, match", [
    ("", "empty"),
    ("#####\n#S.G#\n#####", "square"),
    ("#####\n#S.x#\n#..G#\n#...#\n#####", "characters"),
    ("#####\n#S..#\n#...#\n#...#\n#####", "exactly one 'G'"),
    ("#####\n#S.S#\n#..G#\n#...#\n#####", "exactly one 'S'"),
    ("#####\n#S...\n#..G#\n#...#\n#####", "border"),
    ("###\n#S#\n###", "exactly one 'G'"),
])
def test_malformed_text_errors(text, match):
    with pytest.raises(InvalidInputError, match=match):
        MazeLevel.from_text(text)


def test_constructor_errors():
    walls = np.ones((5, 5), dtype=bool)
    walls[1:4, 1:4] = False
    with pytest.raises(InvalidInputError, match="square"):
        MazeLevel(np.ones((5, 6), bool), (1, 1), (2, 2))
    with pytest.raises(InvalidInputError, match="start.*wall"):
        MazeLevel(walls, (0, 0), (2, 2))
    with pytest.raises(InvalidInputError, match="outside"):
        MazeLevel(walls, (1, 1), (7, 2))
    with pytest.raises(InvalidInputError, match="differ"):
        MazeLevel(walls, (1, 1), (1, 1))
    with pytest.raises(InvalidInputError, match="goal"):
        MazeLevel(walls, (1, 1), "ab")
    with pytest.raises(InvalidInputError, match="size"):
        MazeLevel(np.ones((2, 2), bool), (0, 0), (1, 1))
    with pytest.raises(InvalidInputError, match="level text must be a str"):
        MazeLevel.from_text(5)
    with pytest.raises(InvalidInputError, match="at least one"):
        as_levels([])
    with pytest.raises(InvalidInputError, match=r"levels\[1\]"):
        as_levels([NARROW.sample(np.random.default_rng(0)), 3])
    with pytest.raises(InvalidInputError, match="unsolvable"):
        as_levels([BLOCKED])


def test_named_distributions_are_the_notes():
    assert NARROW.size == BROAD.size == 11
    assert NARROW.path_length == (1, 6) and BROAD.path_length == (8, 20)
    assert NARROW.wall_density < BROAD.wall_density
