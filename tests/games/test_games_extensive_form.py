"""The game zoo and the compiler: OpenSpiel's sizes, invariants, refusals, caching."""

import time

import numpy as np
import pytest

from saddlepoint.errors import InvalidInputError
from saddlepoint.games import make_game, zoo
from saddlepoint.games.extensive_form import (
    CHANCE,
    TERMINAL,
    GameTooLargeError,
    compile_game,
    estimate_num_histories,
)

# (histories, terminals, infosets, max actions) from OpenSpiel 2.0.2 (paper notes' table).
SIZES = {
    "kuhn_poker": (58, 30, 12, 2),
    "leduc_poker": (9457, 5520, 936, 3),
    "goofspiel(num_cards=4,imp_info=True,points_order=descending)": (1077, 576, 162, 4),
}


@pytest.mark.parametrize("spec", sorted(SIZES))
def test_sizes_match_openspiel(spec):
    cg = compile_game(make_game(spec))
    s = cg.summary()
    assert (s["histories"], s["terminals"], s["infosets"], s["max_actions"]) == SIZES[spec]


@pytest.mark.slow
def test_large_game_sizes(liars_dice, oshi_zumo):
    assert (liars_dice.num_histories, liars_dice.num_terminals, sum(liars_dice.num_infosets)) == (294883, 147420, 24576)
    assert (oshi_zumo.num_histories, oshi_zumo.num_terminals, sum(oshi_zumo.num_infosets)) == (60553, 29438, 20868)
    assert liars_dice.players[0].max_actions == 12 and oshi_zumo.players[0].max_actions == 5


def test_leduc_dummy_duplicates_every_action():
    s = zoo.leduc_dummy().new_initial_state().child(0).child(3)
    assert s.legal_actions() == [1, 2, 4, 5]  # check/raise and their twins (no fold unbet)
    a, b = s.child(2), s.child(5)  # raise and its twin: same effect, different own infostates
    assert a.contrib == b.contrib and a.legal_actions() == b.legal_actions()
    assert a.information_state_key(0) != b.information_state_key(0)
    assert a.information_state_key(1) == b.information_state_key(1)  # opponent sees a mod 3


def test_treeplex_invariants(leduc):
    for tp in leduc.players:
        m = tp.num_sequences
        assert m == 1 + tp.infoset_num_actions.sum()
        # actions of an infoset are contiguous and map back to it
        for i in range(tp.num_infosets):
            f, k = tp.infoset_first_seq[i], tp.infoset_num_actions[i]
            assert np.all(tp.seq_infoset[f:f + k] == i)
        # infosets sorted by depth, each level contiguous; parents come from shallower levels
        assert np.all(np.diff(tp.infoset_depth) >= 0)
        for d, (lo, hi) in enumerate(tp.level_infosets):
            assert np.all(tp.infoset_depth[lo:hi] == d)
            parents = tp.infoset_parent_seq[lo:hi]
            if d == 0:
                assert np.all(parents == 0)
            else:
                assert np.all(tp.infoset_depth[tp.seq_infoset[parents]] == d - 1)


def test_history_table_invariants(leduc):
    cg = leduc
    chance = cg.h_player == CHANCE
    for h in np.flatnonzero(chance):
        lo, k = cg.h_child_start[h], cg.h_num_children[h]
        assert np.isclose(cg.h_chance_prob[lo:lo + k].sum(), 1.0)
        assert np.all(cg.h_parent[lo:lo + k] == h)
    term = cg.h_player == TERMINAL
    assert np.all(cg.h_num_children[term] == 0)
    assert np.abs(cg.h_utility[term]).max() == 13  # Leduc payoffs lie within +-13
    assert cg.payoff.nnz == cg.num_terminals


def test_chance_weighted_payoff_sums_to_expected_value(kuhn):
    # Every terminal once, weighted by chance, with both players' plans all ones: 2/6 * ... sums
    # to the expected return under "always take every branch", checked via a direct sum.
    reach = np.ones(kuhn.num_histories)
    for lo, hi in kuhn.level_histories[1:]:
        reach[lo:hi] = kuhn.h_chance_prob[lo:hi] * reach[kuhn.h_parent[lo:hi]]
    term = kuhn.h_player == TERMINAL
    assert np.isclose(kuhn.payoff.sum(), (reach[term] * kuhn.h_utility[term]).sum())


def test_too_large_game_is_refused_with_estimate():
    with pytest.raises(GameTooLargeError, match=r"at least .* histories .* of memory"):
        compile_game(zoo.goofspiel())  # OpenSpiel's default: 13 cards, random prizes
    with pytest.raises(GameTooLargeError, match="max_histories"):
        compile_game(zoo.oshi_zumo(coins=4, size=1, horizon=6), max_histories=1000, cache=False)


def test_refusal_comes_before_building_the_tree():
    # 1.58e7 histories (counted by a memoised walk): refused from the estimate, no tree built
    # (it once ran 125 s and reached 6.4 GB first); OpenSpiel's default Oshi-Zumo is deep.
    for game in (zoo.oshi_zumo(coins=6, size=2, horizon=8), zoo.oshi_zumo()):
        t0 = time.perf_counter()
        with pytest.raises(GameTooLargeError, match=r"histories \(~.* of memory\)"):
            compile_game(game, cache=False)
        assert time.perf_counter() - t0 < 5.0  # benchmarks/efg_speed.py times it: < 1 s


# True history counts of every zoo game and parameter setting the tests use.
TRUE_HISTORIES = {
    "kuhn_poker": 58, "leduc_poker": 9457, "leduc_dummy": 468517, "liars_dice": 294883,
    "liars_dice(dice_sides=3)": 1147, "goofspiel(num_cards=3)": 418,
    "goofspiel(num_cards=4,imp_info=True)": 26773,
    "goofspiel(num_cards=4,imp_info=True,points_order=descending)": 1077,
    "oshi_zumo(coins=3,size=1,horizon=4)": 2046, "oshi_zumo(coins=4,size=1,horizon=6)": 60553,
    "oshi_zumo(coins=6,size=2,horizon=8)": 15_756_040,
}


@pytest.mark.parametrize("spec", sorted(TRUE_HISTORIES))
def test_size_estimate_within_2x_on_the_zoo(spec):
    game = make_game(spec)
    for seed in range(3):
        ratio = estimate_num_histories(game, seed=seed) / TRUE_HISTORIES[spec]
        assert 0.5 <= ratio <= 2.0, (spec, seed, ratio)


def test_size_estimate_is_exact_on_uniform_trees():
    # Goofspiel with fixed prizes has the same branching along every level: the estimate is exact.
    assert estimate_num_histories(zoo.goofspiel(num_cards=4, imp_info=True, points_order="descending")) == 1077
    assert estimate_num_histories(zoo.goofspiel(num_cards=7, imp_info=True, points_order="descending"),
                                  width=64) == 47_506_635


def test_compile_cache_returns_same_object():
    a = compile_game(zoo.kuhn_poker())
    b = compile_game(make_game("kuhn_poker"))
    assert a is b


class _ForgetfulState:
    """Player 0 moves twice but cannot tell its first move apart: no perfect recall."""

    def __init__(self, history=()):
        self.history = history

    def current_player(self):
        return TERMINAL if len(self.history) == 2 else 0

    def is_terminal(self):
        return len(self.history) == 2

    def is_chance_node(self):
        return False

    def legal_actions(self):
        return [0, 1]

    def chance_outcomes(self):
        return []

    def child(self, action):
        return _ForgetfulState(self.history + (action,))

    def returns(self):
        return (1.0, -1.0) if self.history[0] == self.history[1] else (-1.0, 1.0)

    def information_state_key(self, player):
        return len(self.history)

    def information_state_string(self, player):
        return str(len(self.history))


class _ForgetfulGame:
    name = "forgetful()"

    def new_initial_state(self):
        return _ForgetfulState()

    def num_distinct_actions(self):
        return 2


def test_imperfect_recall_is_rejected():
    with pytest.raises(InvalidInputError, match="perfect recall"):
        compile_game(_ForgetfulGame(), cache=False)


@pytest.mark.parametrize("bad", ["kuhn_poker(players=3)", "liars_dice(numdice=2)",
                                 "goofspiel(returns_type=total_points)", "oshi_zumo(coins=-1)"])
def test_bad_parameters_raise(bad):
    with pytest.raises(InvalidInputError):
        make_game(bad)


def test_liars_dice_rules():
    g = zoo.liars_dice()
    s = g.new_initial_state().child(5).child(2)  # dice: 6 (wild) and 3
    assert s.legal_actions() == list(range(12))
    s = s.child(3)  # player 0 bids one 4
    assert s.legal_actions() == list(range(4, 13))
    assert s.child(12).returns() == (1.0, -1.0)  # the wild 6 makes the bid true: caller loses
    s2 = g.new_initial_state().child(5).child(2).child(11).child(12)  # bid two 6s: false
    assert s2.returns() == (-1.0, 1.0)


@pytest.mark.parametrize("spec", [
    "kuhn_poker", "leduc_poker", "liars_dice(dice_sides=3)", "goofspiel(num_cards=3)",
    "goofspiel(num_cards=4,imp_info=True)", "goofspiel(num_cards=4,imp_info=True,points_order=descending)",
    "oshi_zumo(coins=3,size=1,horizon=4)",
])
def test_zoo_matches_openspiel_structure(spec):
    pytest.importorskip("pyspiel")
    from saddlepoint.games.openspiel import load_openspiel_game

    ours = compile_game(make_game(spec)).summary()
    theirs = compile_game(load_openspiel_game(spec)).summary()
    ours.pop("game"), theirs.pop("game")
    assert ours == theirs
