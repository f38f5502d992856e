"""Goofspiel, OpenSpiel's ``goofspiel`` (two players), in the turn-based form of
``convert_to_turn_based``.

Each player holds cards ``1..num_cards`` (action ``c - 1`` plays card ``c``). Each round a prize
card is revealed (drawn by chance with ``points_order=random``, else fixed in ``descending``
or ``ascending`` order); player 0 bids a card, then player 1 without seeing it; the higher card wins the prize's
points, a tie discards it. With one card left the last round plays itself. With ``imp_info``
players see only their own bids and who won each round. Returns: ``win_loss`` (+-1/0 by total
points) or ``point_difference``.
"""

from __future__ import annotations

from dataclasses import dataclass

from saddlepoint.errors import InvalidInputError
from saddlepoint.games.extensive_form import CHANCE, TERMINAL

__all__ = ["Goofspiel", "goofspiel"]

_TIE = -3  # OpenSpiel's marker for a tied round in the win sequence


class GoofspielState:
    __slots__ = ("bids", "game", "pending", "points", "prizes", "wins")

    def __init__(self, game: Goofspiel, prizes=(), bids=(), pending=-1, points=(0, 0), wins=()) -> None:
        self.game = game
        self.prizes = prizes  # prize cards revealed so far (values 1..N)
        self.bids = bids  # completed rounds: (card0, card1) as action ids
        self.pending = pending
        self.points = points
        self.wins = wins

    def _over(self) -> bool:
        return len(self.bids) >= self.game.num_cards

    def is_chance_node(self) -> bool:
        return self.game.points_order == "random" and not self._over() and len(self.prizes) == len(self.bids)

    def is_terminal(self) -> bool:
        return self._over()

    def current_player(self) -> int:
        if self._over():
            return TERMINAL
        if self.is_chance_node():
            return CHANCE
        return 0 if self.pending < 0 else 1

    def _remaining_prizes(self) -> list[int]:
        return [c for c in range(1, self.game.num_cards + 1) if c not in self.prizes]

    def chance_outcomes(self) -> list[tuple[int, float]]:
        rest = self._remaining_prizes()
        return [(c - 1, 1.0 / len(rest)) for c in rest]

    def legal_actions(self) -> list[int]:
        if self._over():
            return []
        if self.is_chance_node():
            return [a for a, _ in self.chance_outcomes()]
        p = 0 if self.pending < 0 else 1
        used = {b[p] for b in self.bids}
        return [c for c in range(self.game.num_cards) if c not in used]

    def child(self, action: int) -> GoofspielState:
        g = self.game
        if self.is_chance_node():
            return GoofspielState(g, self.prizes + (action + 1,), self.bids, -1, self.points, self.wins)
        if self.pending < 0:
            return GoofspielState(g, self.prizes, self.bids, action, self.points, self.wins)
        state = self._resolve(self.prizes, self.bids, self.points, self.wins, (self.pending, action))
        if len(state.bids) == g.num_cards - 1:  # the last card plays itself
            last = tuple(next(c for c in range(g.num_cards) if c not in {b[p] for b in state.bids})
                         for p in (0, 1))
            prizes = state.prizes + tuple(state._remaining_prizes())
            state = self._resolve(prizes, state.bids, state.points, state.wins, last)
        return state

    def _resolve(self, prizes, bids, points, wins, bid) -> GoofspielState:
        prize = prizes[len(bids)]
        if bid[0] > bid[1]:
            points, winner = (points[0] + prize, points[1]), 0
        elif bid[1] > bid[0]:
            points, winner = (points[0], points[1] + prize), 1
        else:
            winner = _TIE
        return GoofspielState(self.game, prizes, bids + (bid,), -1, points, wins + (winner,))

    def returns(self) -> tuple[float, float]:
        if not self._over():
            return (0.0, 0.0)
        diff = self.points[0] - self.points[1]
        if self.game.returns_type == "win_loss":
            diff = (diff > 0) - (diff < 0)
        return (float(diff), float(-diff))

    def information_state_key(self, player: int) -> tuple:
        cur = self.current_player()
        if self.game.imp_info:
            return (cur, tuple(b[player] for b in self.bids), self.prizes, self.wins)
        return (cur, self.bids, self.prizes)

    def information_state_string(self, player: int) -> str:
        return repr(self.information_state_key(player))


@dataclass(frozen=True)
class Goofspiel:
    """Two-player Goofspiel (turn-based form)."""

    num_cards: int = 13
    points_order: str = "random"
    returns_type: str = "win_loss"
    imp_info: bool = False

    @property
    def name(self) -> str:
        return (f"goofspiel(imp_info={str(self.imp_info).lower()},num_cards={self.num_cards},"
                f"points_order={self.points_order},returns_type={self.returns_type})")

    def new_initial_state(self) -> GoofspielState:
        cards = tuple(range(1, self.num_cards + 1))
        order = {"random": (), "ascending": cards, "descending": cards[::-1]}[self.points_order]
        return GoofspielState(self, prizes=order)

    def num_distinct_actions(self) -> int:
        return self.num_cards


def goofspiel(num_cards: int = 13, players: int = 2, points_order: str = "random",
              returns_type: str = "win_loss", imp_info: bool = False, egocentric: bool = False,
              num_turns: int = -1) -> Goofspiel:
    """OpenSpiel's ``goofspiel`` with its defaults; supported: two players, zero-sum returns
    (``win_loss``, ``point_difference``), all turns (``num_turns=-1``)."""
    if players != 2:
        raise InvalidInputError(f"goofspiel: players must be 2, got {players}")
    if isinstance(num_cards, bool) or not isinstance(num_cards, int) or num_cards < 1:
        raise InvalidInputError(f"goofspiel: num_cards must be a positive integer, got {num_cards!r}")
    if points_order not in ("random", "descending", "ascending"):
        raise InvalidInputError(f"goofspiel: points_order must be random, descending or ascending; "
                                f"got {points_order!r}")
    if returns_type not in ("win_loss", "point_difference"):
        raise InvalidInputError(f"goofspiel: returns_type must be win_loss or point_difference "
                                f"(zero-sum), got {returns_type!r}")
    if not isinstance(imp_info, bool) or egocentric is not False:
        raise InvalidInputError("goofspiel: imp_info must be true/false and egocentric false")
    if num_turns not in (-1, num_cards):
        raise InvalidInputError(f"goofspiel: only num_turns=-1 (all cards) is built in, got {num_turns}")
    return Goofspiel(num_cards, points_order, returns_type, imp_info)
