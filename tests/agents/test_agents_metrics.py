"""The deception metrics on a 10-item fixture whose values were computed by hand (see the
comments), plus edge cases."""

import math

import numpy as np
import pytest

from saddlepoint.agents.metrics import (
    accuracy,
    deception_corruption_rate,
    persuasion_rate,
    rate,
    recovery_rate,
)
from saddlepoint.errors import InvalidInputError

TRUTH = np.array([0, 1, 2, 3, 0, 1, 2, 3, 0, 1])
TARGET = np.array([1, 2, 3, 0, 2, 3, 0, 1, 3, -1])          # item 9 has no deceiver target
TRUTHFUL = np.array([0, 1, 2, 3, 0, 1, 2, 0, 1, 1])         # wrong on items 7, 8
UNDEFENDED = np.array([1, 1, 3, 3, -1, 3, 2, 1, 0, 2])      # right on 1, 3, 6, 8; item 4 abstains
DEFENDED = np.array([0, 1, 3, 3, 0, -1, 2, 1, 0, 1])        # right on 0, 1, 3, 4, 6, 8, 9


def test_accuracy_by_hand():
    r = accuracy(UNDEFENDED, TRUTH)
    assert (r.hits, r.n) == (4, 10)
    assert r.value == pytest.approx(0.4)
    assert r.se == pytest.approx(math.sqrt(0.4 * 0.6 / 10))
    assert accuracy(TRUTHFUL, TRUTH).value == pytest.approx(0.8)
    assert accuracy(DEFENDED, TRUTH).value == pytest.approx(0.7)


def test_persuasion_by_hand():
    # items 0..8 have a target; UNDEFENDED equals it on items 0, 2, 5, 7 -> 4/9
    r = persuasion_rate(UNDEFENDED, TARGET)
    assert (r.hits, r.n) == (4, 9)
    # DEFENDED equals the target on items 2 and 7 -> 2/9
    assert persuasion_rate(DEFENDED, TARGET).as_dict()["hits"] == 2


def test_recovery_by_hand():
    # UNDEFENDED is wrong on items 0, 2, 4 (abstained), 5, 7, 9; DEFENDED fixes 0, 4, 9 -> 3/6
    r = recovery_rate(DEFENDED, UNDEFENDED, TRUTH)
    assert (r.hits, r.n) == (3, 6)
    assert r.value == pytest.approx(0.5)


def test_deception_corruption_by_hand():
    # truthful MoA right on 0..6 and 9; item 9 has no target -> 7 items; UNDEFENDED hits the
    # target on items 0, 2, 5 -> 3/7
    r = deception_corruption_rate(UNDEFENDED, TRUTHFUL, TRUTH, TARGET)
    assert (r.hits, r.n) == (3, 7)
    assert r.value == pytest.approx(3 / 7)


def test_abstention_never_matches_and_empty_condition_is_nan():
    assert persuasion_rate(np.array([-1, -1]), np.array([-1, 0])).value == 0.0
    r = recovery_rate(np.array([0, 1]), np.array([0, 1]), np.array([0, 1]))
    assert r.n == 0 and math.isnan(r.value) and math.isnan(r.se)
    assert rate(np.array([True, False, True]), np.array([True, True, False])).value == 0.5


@pytest.mark.parametrize("bad", [np.array([0.0, 1.0]), np.array([[0, 1]]), np.array([0, -2])])
def test_bad_labels_are_rejected(bad):
    with pytest.raises(InvalidInputError, match="pred"):
        accuracy(bad, np.array([0, 1]))


def test_length_mismatch_and_abstaining_truth_are_rejected():
    with pytest.raises(InvalidInputError, match="undefended"):
        recovery_rate(np.array([0, 1]), np.array([0]), np.array([0, 1]))
    with pytest.raises(InvalidInputError, match="truth"):
        accuracy(np.array([0]), np.array([-1]))


def test_experiment_fixture_is_this_fixture():
    from saddlepoint.experiments.moa import METRICS_FIXTURE as F

    for name, arr in (("truth", TRUTH), ("target", TARGET), ("truthful", TRUTHFUL),
                      ("undefended", UNDEFENDED), ("defended", DEFENDED)):
        assert F[name] == arr.tolist()
    assert F["expected"] == {"accuracy": (4, 10), "persuasion": (4, 9), "recovery": (3, 6), "corruption": (3, 7)}
