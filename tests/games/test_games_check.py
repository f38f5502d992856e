"""The public game conformance check: the whole zoo passes, broken games fail with the reason."""

from __future__ import annotations

import pytest

from saddlepoint.games import make_game
from saddlepoint.games.check import GameCheckError, check_game
from saddlepoint.games.zoo.kuhn import KuhnPoker, KuhnState
from saddlepoint.registry import GAMES

ZOO = ["kuhn_poker", "leduc_poker", "leduc_dummy", "goofspiel(num_cards=4,imp_info=True)",
       "oshi_zumo(coins=4,size=2,horizon=4)", "rock_paper_scissors", "matching_pennies", "biased_rps", "shapley",
       "random_zero_sum(m=5,n=7,seed=3)"]


@pytest.mark.parametrize("spec", ZOO)
def test_the_zoo_passes(spec):
    report = check_game(make_game(spec))
    assert report.histories > 0 and report.terminals > 0 and not report.problems


def test_every_registered_game_is_covered():
    # liars_dice: walked by playthroughs below; random_preference is a preference game, not a two-player game
    covered = {spec.split("(")[0] for spec in ZOO} | {"liars_dice", "random_preference"}
    assert covered == set(GAMES)


def test_a_game_too_large_to_walk_is_checked_by_playthroughs():
    report = check_game(make_game("liars_dice"), max_histories=5_000, playthroughs=50)
    assert not report.exhaustive and report.playthroughs == 50 and report.infosets[0] > 0


def test_kuhn_counts():
    report = check_game(make_game("kuhn_poker"))
    assert report.exhaustive and report.terminals == 30 and report.infosets == (6, 6)


class _Game(KuhnPoker):
    """Kuhn poker whose initial state is a given (broken) state class."""

    def __init__(self, state_cls):
        super().__init__()
        self._cls = state_cls

    def new_initial_state(self):
        return self._cls()


class _BadChance(KuhnState):
    def chance_outcomes(self):
        return [(a, p * 0.9) for a, p in super().chance_outcomes()]

    def child(self, action):
        c = super().child(action)
        return _BadChance(c.cards, c.history)


class _NotZeroSum(KuhnState):
    def returns(self):
        r = super().returns()
        return (r[0], -r[1] + 1)

    def child(self, action):
        c = super().child(action)
        return _NotZeroSum(c.cards, c.history)


class _Forgetful(KuhnState):
    """Player 0 forgets its own first action: its infoset key is its card alone."""

    def information_state_key(self, player):
        return (self.cards[player],) if player == 0 else super().information_state_key(player)

    def child(self, action):
        c = super().child(action)
        return _Forgetful(c.cards, c.history)


class _Mutating(KuhnState):
    def child(self, action):
        if not self.is_chance_node():
            self.history = self.history + (action,)
            return _Mutating(self.cards, self.history)
        c = super().child(action)
        return _Mutating(c.cards, c.history)


@pytest.mark.parametrize("state_cls, message", [
    (_BadChance, "chance probabilities sum to 0.9, not 1"),
    (_NotZeroSum, "terminal returns are not zero-sum"),
    (_Forgetful, "breaks perfect recall"),
    (_Mutating, "child() changed its parent state"),
])
def test_broken_games_fail_with_the_reason(state_cls, message):
    with pytest.raises(GameCheckError, match=message.replace("(", r"\(").replace(")", r"\)")):
        check_game(_Game(state_cls))


def test_not_a_game():
    with pytest.raises(Exception, match="neither a matrix game nor an extensive-form game"):
        check_game(object())
