"""The stepper protocol, make_method and the one evaluation loop (saddlepoint.method)."""

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pytest

from saddlepoint.errors import InvalidInputError
from saddlepoint.method import Budget, Method, evaluation_points, make_method, run


@dataclass(frozen=True)
class CountConfig:
    """A toy method's config: each step visits ``nodes_per_step`` nodes."""

    algo: ClassVar[str] = "count"
    method: ClassVar[str] = f"{__name__}:Count"
    nodes_per_step: int = 3


class Count:
    def __init__(self, problem, config, rng):
        self.problem, self.config, self.rng = problem, config, rng
        self._it = 0

    @property
    def iteration(self):
        return self._it

    @property
    def cost(self):
        return {"iterations": self._it, "nodes_visited": self._it * self.config.nodes_per_step}

    def step(self):
        self._it += 1

    def output(self):
        return self._it


class Batched(Count):
    advances: list

    def advance(self, n):
        self.advances = getattr(self, "advances", []) + [n]
        self._it += n
        return n


class Stuck(Count):
    def step(self):
        pass


def test_make_method_builds_the_configs_method():
    m = make_method("problem", CountConfig(), 0)
    assert isinstance(m, Method) and isinstance(m, Count) and isinstance(m.rng, np.random.Generator)
    with pytest.raises(InvalidInputError, match="names no method"):
        make_method("problem", object())


def test_iteration_budget_rows_and_points():
    trace = run(Count(None, CountConfig(), None), Budget(10), every=3, evaluate=lambda m: {"out": m.output()})
    assert [r["iteration"] for r in trace.rows] == [3, 6, 9, 10]
    assert [r["out"] for r in trace.rows] == [3, 6, 9, 10]
    assert trace.rows[-1]["nodes_visited"] == 30 and "iterations" not in trace.rows[-1]
    assert trace.cost == {"iterations": 10, "nodes_visited": 30} and not trace.stopped
    assert all(r["seconds"] >= 0 for r in trace.rows)


def test_budget_on_another_axis_and_crossing_several_points():
    trace = run(Count(None, CountConfig(nodes_per_step=7), None), Budget(20, "nodes_visited"), every=2)
    # each step spends 7 nodes: points 2,4,6 are crossed by one step and evaluated once
    assert [r["nodes_visited"] for r in trace.rows] == [7, 14, 21]
    assert trace.cost["nodes_visited"] == 21  # the step that crosses the budget is completed


def test_stop_rule_ends_early():
    trace = run(Count(None, CountConfig(), None), 100, every=1, stop=lambda row: row["iteration"] >= 5)
    assert trace.rows[-1]["iteration"] == 5 and trace.stopped and len(trace.rows) == 5


def test_advance_is_used_on_the_iteration_axis():
    m = Batched(None, CountConfig(), None)
    trace = run(m, 10, at=[4, 10])
    assert m.advances == [4, 6] and [r["iteration"] for r in trace.rows] == [4, 10]


def test_bad_input_is_refused_in_one_line():
    with pytest.raises(InvalidInputError, match="positive"):
        Budget(0)
    with pytest.raises(InvalidInputError, match="number"):
        Budget("10")
    with pytest.raises(InvalidInputError, match="counts no 'samples'"):
        run(Count(None, CountConfig(), None), Budget(5, "samples"))
    with pytest.raises(InvalidInputError, match="did not grow"):
        run(Stuck(None, CountConfig(), None), 5)
    with pytest.raises(InvalidInputError, match="evaluation points"):
        run(Count(None, CountConfig(), None), 5, at=[7])


def test_evaluation_points():
    assert evaluation_points(10, every=3) == [3, 6, 9, 10]
    pts = evaluation_points(1000, points=20)
    assert pts[0] == 1 and pts[-1] == 1000 and len(pts) <= 20
    assert evaluation_points(0) == []
    assert evaluation_points(1e8, points=5)[-1] == 100_000_000
