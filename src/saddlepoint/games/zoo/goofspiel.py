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
_UNUSED: dict[int, dict[int, tuple[int, ...]]] = {}  # num_cards -> per played-cards bitmask, the unused cards


class GoofspielState:
    """One history. Besides the public fields it keeps, per player, the bitmask of cards played
    and the tuple of own bids, so that ``child``, ``legal_actions`` and the information-state
    key cost a few tuple operations (the compiler visits every history once)."""

    __slots__ = ("bids", "game", "masks", "own", "pending", "points", "prizes", "wins")

    def __init__(self, game: Goofspiel, prizes=(), bids=(), pending=-1, points=(0, 0), wins=(),
                 masks=(0, 0), own=((), ())) -> None:
        self.game = game
        self.prizes = prizes  # prize cards revealed so far (values 1..N)
        self.bids = bids  # completed rounds: (card0, card1) as action ids
        self.pending = pending
        self.points = points
        self.wins = wins
        self.masks = masks  # per player, bit c set when card c + 1 was bid
        self.own = own  # per player, own bids in order

    def _over(self) -> bool:
        return len(self.bids) >= self.game.num_cards

    def is_chance_node(self) -> bool:
        return self.game.points_order == "random" and not self._over() and len(self.prizes) == len(self.bids)

    def is_terminal(self) -> bool:
        return self._over()

    def current_player(self) -> int:
        if len(self.bids) >= self.game.num_cards:
            return TERMINAL
        if self.pending >= 0:
            return 1
        if len(self.prizes) == len(self.bids) and self.game.points_order == "random":
            return CHANCE
        return 0

    def _remaining_prizes(self) -> list[int]:
        return [c for c in range(1, self.game.num_cards + 1) if c not in self.prizes]

    def chance_outcomes(self) -> list[tuple[int, float]]:
        rest = self._remaining_prizes()
        return [(c - 1, 1.0 / len(rest)) for c in rest]

    def legal_actions(self) -> list[int]:
        if len(self.bids) >= self.game.num_cards:
            return []
        if self.pending >= 0:
            return list(self.game._unused(self.masks[1]))
        if self.is_chance_node():
            return [a for a, _ in self.chance_outcomes()]
        return list(self.game._unused(self.masks[0]))

    def child(self, action: int) -> GoofspielState:
        g = self.game
        if self.pending < 0:
            if self.is_chance_node():
                return GoofspielState(g, self.prizes + (action + 1,), self.bids, -1, self.points, self.wins,
                                      self.masks, self.own)
            return GoofspielState(g, self.prizes, self.bids, action, self.points, self.wins, self.masks,
                                  self.own)
        state = self._resolve(self.prizes, (self.pending, action))
        if len(state.bids) == g.num_cards - 1:  # the last card plays itself
            last = (g._unused(state.masks[0])[0], g._unused(state.masks[1])[0])
            prizes = state.prizes
            if len(prizes) < g.num_cards:
                prizes += tuple(state._remaining_prizes())
            state = state._resolve(prizes, last)
        return state

    def _resolve(self, prizes, bid) -> GoofspielState:
        """The state after this round's bids ``bid`` (card ids), with prize cards ``prizes``."""
        prize = prizes[len(self.bids)]
        points = self.points
        if bid[0] > bid[1]:
            points, winner = (points[0] + prize, points[1]), 0
        elif bid[1] > bid[0]:
            points, winner = (points[0], points[1] + prize), 1
        else:
            winner = _TIE
        masks, own = self.masks, self.own
        return GoofspielState(self.game, prizes, self.bids + (bid,), -1, points, self.wins + (winner,),
                              (masks[0] | 1 << bid[0], masks[1] | 1 << bid[1]),
                              (own[0] + (bid[0],), own[1] + (bid[1],)))

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
            return (cur, self.own[player], self.prizes, self.wins)
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

    def _unused(self, mask: int) -> tuple[int, ...]:
        """The cards (action ids, ascending) not set in ``mask``; cached per number of cards."""
        table = _UNUSED.setdefault(self.num_cards, {})
        out = table.get(mask)
        if out is None:
            out = table[mask] = tuple(c for c in range(self.num_cards) if not mask >> c & 1)
        return out


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
