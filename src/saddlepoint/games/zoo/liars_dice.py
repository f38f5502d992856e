"""Liar's Dice, OpenSpiel's ``liars_dice`` (two players, one die each, ``reset-face`` bids).

Chance rolls player 0's die, then player 1's. Players alternate strictly increasing bids
``b = (quantity - 1) * dice_sides + (face - 1)`` (quantity 1..2, face 1..dice_sides) or, after the
first bid, call liar (action ``2 * dice_sides``). The highest face is wild. If the last bid is
true (enough matching dice) the caller loses, otherwise the bidder: returns +-1.
"""

from __future__ import annotations

from dataclasses import dataclass

from saddlepoint.errors import InvalidInputError
from saddlepoint.games.extensive_form import CHANCE, TERMINAL

__all__ = ["LiarsDice", "liars_dice"]


class LiarsDiceState:
    __slots__ = ("bids", "called", "dice", "sides")

    def __init__(self, sides: int, dice=(), bids=(), called=False) -> None:
        self.sides = sides
        self.dice = dice
        self.bids = bids
        self.called = called

    def is_chance_node(self) -> bool:
        return len(self.dice) < 2

    def is_terminal(self) -> bool:
        return self.called

    def current_player(self) -> int:
        if self.called:
            return TERMINAL
        return CHANCE if len(self.dice) < 2 else len(self.bids) % 2

    def chance_outcomes(self) -> list[tuple[int, float]]:
        return [(f, 1.0 / self.sides) for f in range(self.sides)]

    def legal_actions(self) -> list[int]:
        if self.called:
            return []
        if len(self.dice) < 2:
            return list(range(self.sides))
        first = self.bids[-1] + 1 if self.bids else 0
        actions = list(range(first, 2 * self.sides))
        if self.bids:
            actions.append(2 * self.sides)
        return actions

    def child(self, action: int) -> LiarsDiceState:
        if len(self.dice) < 2:
            return LiarsDiceState(self.sides, self.dice + (action,), self.bids)
        if action == 2 * self.sides:
            return LiarsDiceState(self.sides, self.dice, self.bids, True)
        return LiarsDiceState(self.sides, self.dice, self.bids + (action,))

    def returns(self) -> tuple[float, float]:
        if not self.called:
            return (0.0, 0.0)
        bid = self.bids[-1]
        quantity, face = bid // self.sides + 1, bid % self.sides
        wild = self.sides - 1
        matches = sum(1 for d in self.dice if d == face or d == wild)
        caller = len(self.bids) % 2
        loser = caller if matches >= quantity else 1 - caller
        return (-1.0, 1.0) if loser == 0 else (1.0, -1.0)

    def information_state_key(self, player: int) -> tuple:
        return (self.dice[player], self.bids)

    def information_state_string(self, player: int) -> str:
        bids = " ".join(f"{b // self.sides + 1}-{b % self.sides + 1}" for b in self.bids)
        return f"{self.dice[player] + 1} {bids}"


@dataclass(frozen=True)
class LiarsDice:
    """Two-player Liar's Dice with one die each."""

    dice_sides: int = 6

    @property
    def name(self) -> str:
        return f"liars_dice(dice_sides={self.dice_sides})" if self.dice_sides != 6 else "liars_dice()"

    def new_initial_state(self) -> LiarsDiceState:
        return LiarsDiceState(self.dice_sides)

    def num_distinct_actions(self) -> int:
        return 2 * self.dice_sides + 1


def liars_dice(players: int = 2, numdice: int = 1, dice_sides: int = 6,
               bidding_rule: str = "reset-face") -> LiarsDice:
    """OpenSpiel's ``liars_dice``; supported: ``players=2``, ``numdice=1``, ``reset-face`` bids
    (other settings: load the game through the OpenSpiel adapter)."""
    if players != 2:
        raise InvalidInputError(f"liars_dice: players must be 2, got {players}")
    if numdice != 1:
        raise InvalidInputError(f"liars_dice: only numdice=1 is built in, got {numdice}; "
                                "use the OpenSpiel adapter for more dice")
    if bidding_rule != "reset-face":
        raise InvalidInputError(f"liars_dice: bidding_rule must be 'reset-face', got {bidding_rule!r}")
    if isinstance(dice_sides, bool) or not isinstance(dice_sides, int) or dice_sides < 2:
        raise InvalidInputError(f"liars_dice: dice_sides must be an integer >= 2, got {dice_sides!r}")
    return LiarsDice(dice_sides)
