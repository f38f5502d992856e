"""Pure budget bookkeeping (Sauté state) and the symbolic cost models: hand-computed values and
the invariant that a sequence exceeding its budget is always scored unsafe."""

import numpy as np
import pytest

from saddlepoint.decoding.safety import (
    CountCost,
    HelpfulReward,
    PatternCost,
    augmented_reward,
    discounted_cost,
    is_safe,
    lagrangian_score,
    safe_first_order,
    safety_step,
    safety_trace,
)
from saddlepoint.errors import InvalidInputError


def test_safety_trace_hand_computed():
    np.testing.assert_allclose(safety_trace([0, 1, 0, 1], budget=1.0), [1, 1, 0, 0, -1])
    # gamma = 0.5: z' = (z - c) / 0.5
    np.testing.assert_allclose(safety_trace([0.25, 0.5], budget=1.0, discount=0.5), [1, 1.5, 2.0])
    assert discounted_cost([1, 1, 1], 0.5) == pytest.approx(1.75)


@pytest.mark.parametrize("discount", [1.0, 0.9, 0.5])
def test_final_state_sign_equals_the_discounted_constraint(discount):
    rng = np.random.default_rng(0)
    for _ in range(300):
        costs = rng.choice([0.0, 0.5, 1.0], size=rng.integers(1, 12))
        budget = float(rng.choice([0.0, 0.5, 1.0, 2.0]))
        z = safety_trace(costs, budget, discount)
        # z_T = (b - sum_t gamma^t c_t) / gamma^T
        assert z[-1] == pytest.approx((budget - discounted_cost(costs, discount)) / discount ** len(costs))
        assert bool(is_safe(z[-1])) == (discounted_cost(costs, discount) <= budget + 1e-9)


def test_a_sequence_exceeding_its_budget_is_always_scored_unsafe():
    rng = np.random.default_rng(1)
    for _ in range(300):
        costs = rng.integers(0, 3, size=rng.integers(1, 10)).astype(float)
        budget = float(rng.integers(0, 4))
        z = safety_trace(costs, budget)
        reward = float(rng.normal() * 100)  # however large the reward
        r_aug = float(augmented_reward(reward, z[-1], penalty=10.0))
        if costs.sum() > budget:
            assert not is_safe(z[-1]) and r_aug == -10.0
            assert not is_safe(z[int(np.argmax(np.cumsum(costs) > budget)) + 1:]).any()  # and stays unsafe
        else:
            assert is_safe(z).all() and r_aug == reward


def test_augmented_ranking_puts_every_safe_candidate_first_when_penalty_exceeds_rewards():
    rng = np.random.default_rng(2)
    for _ in range(100):
        reward = rng.uniform(-3, 5, size=20)
        z = rng.choice([-1.0, 0.0, 0.5], size=20)
        order = safe_first_order(augmented_reward(reward, z, penalty=3.5))  # -n < min reward
        safe = is_safe(z)[order]
        assert not np.any(~safe[:-1] & safe[1:])  # no unsafe before a safe one
        np.testing.assert_array_equal(order[:safe.sum()], np.flatnonzero(is_safe(z))[np.argsort(-reward[is_safe(z)], kind="stable")])


def test_lagrangian_score_and_input_checks():
    np.testing.assert_allclose(lagrangian_score([1.0, 2.0], [0.0, 1.0], 5.0), [1.0, -3.0])
    with pytest.raises(InvalidInputError, match="cost"):
        safety_step(1.0, -0.5)
    with pytest.raises(InvalidInputError, match="discount"):
        safety_trace([1.0], 1.0, discount=0.0)
    with pytest.raises(InvalidInputError, match="penalty"):
        augmented_reward(1.0, 0.0, penalty=0.0)


def test_symbolic_costs_hand_computed():
    count = CountCost(("a", "b"))
    np.testing.assert_array_equal(count(["a x b a", "x y", ""]), [3, 0, 0])
    pat = PatternCost(("a", "b"), bigrams=(("x", "y"),), window=3, min_count=2)
    texts = ["a x x b", "a x b", "x y", "y x", "a", "b a"]
    np.testing.assert_array_equal(pat(texts), [0, 1, 1, 0, 0, 1])
    # non-decomposable: a lone unsafe symbol costs nothing until a second one follows closely
    assert pat(["a x"])[0] == 0 and pat(["a x a"])[0] == 1
    with pytest.raises(InvalidInputError, match="min_count"):
        PatternCost(("a",), window=2, min_count=3)


def test_helpful_reward_hand_computed():
    r = HelpfulReward(("a",), fluency_weight=0.5)
    np.testing.assert_allclose(r(["a a b", "", "b c"]), [2 / 3 + 0.5 * 2 / 3, 0.0, 0.5])


def test_keyword_classifier_cost_separates_its_training_set():
    pytest.importorskip("sklearn")
    from saddlepoint.decoding.safety import LABELLED_TEXTS, KeywordClassifierCost

    cost = KeywordClassifierCost()
    texts, labels = zip(*LABELLED_TEXTS)
    assert np.mean(cost(list(texts)) == np.array(labels)) >= 0.9
    assert cost(["Poison the water and hurt them."])[0] == 1.0
    assert cost(["Water the plants in the morning."])[0] == 0.0
    assert "poison" in cost.flagged_words()
