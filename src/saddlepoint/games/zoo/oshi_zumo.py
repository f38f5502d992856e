"""Oshi-Zumo, OpenSpiel's ``oshi_zumo``, in the turn-based form of ``convert_to_turn_based``.

A field of ``2 * size + 1`` squares with the wrestler in the middle; each round both players bid
from their coins (player 1 bids without seeing player 0's bid); the higher bid pushes the
wrestler one square towards the opponent (player 0 pushes to higher squares), ties do not move
it, bids are spent. The game ends when the wrestler is pushed off the field, both players have
no coins left, or after ``horizon`` rounds. Player 0 wins (+1) if the wrestler ends on player 1's
side (off the field, or with ``alesia=false`` past the middle), loses if on its own, else draw.
"""

from __future__ import annotations

from dataclasses import dataclass

from saddlepoint.errors import InvalidInputError
from saddlepoint.games.extensive_form import TERMINAL

__all__ = ["OshiZumo", "oshi_zumo"]


class OshiZumoState:
    __slots__ = ("coins", "game", "history", "pending", "pos", "round")

    def __init__(self, game: OshiZumo, coins: tuple[int, int], pos: int, rnd: int = 0,
                 pending: int = -1, history: tuple = ()) -> None:
        self.game = game
        self.coins = coins
        self.pos = pos
        self.round = rnd
        self.pending = pending
        self.history = history

    def is_chance_node(self) -> bool:
        return False

    def is_terminal(self) -> bool:
        g = self.game
        return (self.pos < 0 or self.pos > 2 * g.size or self.round >= g.horizon
                or (self.coins[0] == 0 and self.coins[1] == 0))

    def current_player(self) -> int:
        if self.is_terminal():
            return TERMINAL
        return 0 if self.pending < 0 else 1

    def chance_outcomes(self) -> list[tuple[int, float]]:
        return []

    def legal_actions(self) -> list[int]:
        if self.is_terminal():
            return []
        c = self.coins[self.current_player()]
        return list(range(min(self.game.min_bid, c), c + 1))

    def child(self, action: int) -> OshiZumoState:
        if self.pending < 0:
            return OshiZumoState(self.game, self.coins, self.pos, self.round, action, self.history)
        b0, b1 = self.pending, action
        pos = self.pos + (1 if b0 > b1 else -1 if b1 > b0 else 0)
        coins = (self.coins[0] - b0, self.coins[1] - b1)
        return OshiZumoState(self.game, coins, pos, self.round + 1, -1, self.history + ((b0, b1),))

    def returns(self) -> tuple[float, float]:
        if not self.is_terminal():
            return (0.0, 0.0)
        size = self.game.size
        if self.pos > 2 * size or (not self.game.alesia and self.pos > size):
            return (1.0, -1.0)
        if self.pos < 0 or (not self.game.alesia and self.pos < size):
            return (-1.0, 1.0)
        return (0.0, 0.0)

    def information_state_key(self, player: int) -> tuple:
        return (self.current_player(), self.history)

    def information_state_string(self, player: int) -> str:
        return f"Current player: {self.current_player()}\n" + " ".join(f"{a}, {b}" for a, b in self.history)


@dataclass(frozen=True)
class OshiZumo:
    """Two-player Oshi-Zumo (turn-based form)."""

    coins: int = 50
    size: int = 3
    horizon: int = 1000
    min_bid: int = 0
    alesia: bool = False

    @property
    def name(self) -> str:
        return (f"oshi_zumo(alesia={str(self.alesia).lower()},coins={self.coins},horizon={self.horizon},"
                f"min_bid={self.min_bid},size={self.size})")

    def new_initial_state(self) -> OshiZumoState:
        return OshiZumoState(self, (self.coins, self.coins), self.size)

    def num_distinct_actions(self) -> int:
        return self.coins + 1


def oshi_zumo(coins: int = 50, size: int = 3, horizon: int = 1000, min_bid: int = 0,
              alesia: bool = False) -> OshiZumo:
    """OpenSpiel's ``oshi_zumo`` with its defaults (far too large to compile; the papers use
    ``coins=4,size=1,horizon=6``)."""
    for field_name, value, low in (("coins", coins, 0), ("size", size, 0), ("horizon", horizon, 1),
                                   ("min_bid", min_bid, 0)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise InvalidInputError(f"oshi_zumo: {field_name} must be an integer >= {low}, got {value!r}")
    if not isinstance(alesia, bool):
        raise InvalidInputError(f"oshi_zumo: alesia must be true or false, got {alesia!r}")
    return OshiZumo(coins, size, horizon, min_bid, alesia)
