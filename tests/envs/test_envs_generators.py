"""Generators hit their parameter ranges; held-out mazes; infeasible parameters fail clearly."""

import numpy as np
import pytest

from saddlepoint.envs.generators import (
    BROAD, HELD_OUT_NAMES, NARROW, MazeGenerator, held_out_maze, held_out_mazes,
)
from saddlepoint.errors import InvalidInputError


@pytest.mark.parametrize("gen", [NARROW, BROAD, MazeGenerator(size=9, wall_density=0.2, path_length=(3, 9)),
                                 MazeGenerator(size=13, wall_density=0.25, path_length=(10, 18))])
def test_generator_hits_parameter_ranges(gen):
    levels = gen.sample_many(60, np.random.default_rng(0))
    lo, hi = gen.path_length
    interior = (gen.size - 2) ** 2
    lengths = [lv.shortest_path_length() for lv in levels]
    assert all(lo <= d <= hi for d in lengths)
    assert len({lv.key for lv in levels}) == 60
    for lv in levels:
        assert lv.size == gen.size
        assert int(lv.walls[1:-1, 1:-1].sum()) == gen.n_walls == round(gen.wall_density * interior)
    # the range is used, not just one end of it
    assert min(lengths) <= lo + (hi - lo) // 3 and max(lengths) >= hi - (hi - lo) // 3


def test_generator_is_seeded():
    a = NARROW.sample_many(5, np.random.default_rng(3))
    b = NARROW.sample_many(5, np.random.default_rng(3))
    c = NARROW.sample_many(5, np.random.default_rng(4))
    assert a == b and a != c


def test_sample_many_excludes_and_unique():
    rng = np.random.default_rng(0)
    train = NARROW.sample_many(30, rng)
    test = NARROW.sample_many(30, rng, exclude=train)
    assert not {lv.key for lv in train} & {lv.key for lv in test}
    tiny = MazeGenerator(size=5, wall_density=0.0, path_length=(4, 4), max_tries=100)  # corners only
    with pytest.raises(InvalidInputError, match="distinct levels"):
        tiny.sample_many(100, np.random.default_rng(0))
    assert len(tiny.sample_many(20, np.random.default_rng(0), unique=False)) == 20


def test_infeasible_parameters_fail_clearly():
    with pytest.raises(InvalidInputError, match="could not sample"):
        MazeGenerator(size=7, wall_density=0.0, path_length=(9, 12), max_tries=50).sample(
            np.random.default_rng(0))
    with pytest.raises(InvalidInputError, match="path_length lo"):
        MazeGenerator(size=5, wall_density=0.5, path_length=(8, 9))
    for kwargs, field in [({"size": 4}, "size"), ({"size": 11.0}, "size"),
                          ({"wall_density": 0.9}, "wall_density"), ({"wall_density": "x"}, "wall_density"),
                          ({"path_length": (5, 2)}, "path_length"), ({"path_length": 3}, "path_length"),
                          ({"path_length": (0, 2)}, "path_length"), ({"max_tries": 0}, "max_tries")]:
        with pytest.raises(InvalidInputError, match=field):
            MazeGenerator(**kwargs)
    with pytest.raises(InvalidInputError, match="n must be"):
        NARROW.sample_many(-1, np.random.default_rng(0))


@pytest.mark.parametrize("size", [9, 11, 13])
def test_held_out_mazes(size):
    mazes = held_out_mazes(size)
    assert len(mazes) == len(HELD_OUT_NAMES) == 4
    assert len({m.key for m in mazes}) == 4
    for m in mazes:
        assert m.size == size and m.is_solvable()
        assert m.shortest_path_length() >= size        # far harder than the narrow levels
    assert held_out_maze("labyrinth", size) == mazes[3]
    corridor = held_out_maze("corridor", size)
    # a serpentine corridor visits every floor cell: its path is the floor count minus one
    assert corridor.shortest_path_length() == int((~corridor.walls).sum()) - 1


def test_held_out_errors():
    with pytest.raises(InvalidInputError, match="unknown held-out maze"):
        held_out_maze("castle")
    with pytest.raises(InvalidInputError, match="odd"):
        held_out_mazes(10)
