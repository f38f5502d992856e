"""Leduc poker, OpenSpiel's ``leduc_poker`` (two players), and Leduc-Dummy.

Six cards (ranks J, Q, K in two suits; card ``c`` has rank ``c // 2``), ante 1, one private card
each, two betting rounds with raise sizes 2 then 4 and at most two raises per round; fold is
legal only facing a bet. A public card is dealt between the rounds. At showdown a pair with the
public card wins, else the higher rank; equal ranks split. Actions: 0 fold, 1 call/check,
2 raise. Player 0 acts first in both rounds.

Leduc-Dummy (the double-oracle paper's test game) doubles every action: ``a`` and ``a + 3``
have the same effect; the mover's information state records which twin it chose, the opponent
sees only ``a mod 3``.
"""

from __future__ import annotations

from dataclasses import dataclass

from saddlepoint.errors import InvalidInputError
from saddlepoint.games.extensive_form import CHANCE, TERMINAL

__all__ = ["LeducPoker", "leduc_dummy", "leduc_poker"]

_FOLD, _CALL, _RAISE = 0, 1, 2
_RAISE_SIZE = (2, 4)


class LeducState:
    __slots__ = ("cards", "contrib", "dummy", "folded", "over", "player", "raises", "rounds")

    def __init__(self, dummy: bool, cards=(), rounds=((),), contrib=(1, 1), raises=0, player=0,
                 folded=-1, over=False) -> None:
        self.dummy = dummy
        self.cards = cards
        self.rounds = rounds
        self.contrib = contrib
        self.raises = raises
        self.player = player
        self.folded = folded
        self.over = over

    def is_chance_node(self) -> bool:
        return len(self.cards) < 2 or (len(self.rounds) == 2 and len(self.cards) == 2)

    def is_terminal(self) -> bool:
        return self.over

    def current_player(self) -> int:
        if self.over:
            return TERMINAL
        return CHANCE if self.is_chance_node() else self.player

    def chance_outcomes(self) -> list[tuple[int, float]]:
        rest = [c for c in range(6) if c not in self.cards]
        return [(c, 1.0 / len(rest)) for c in rest]

    def legal_actions(self) -> list[int]:
        if self.over:
            return []
        if self.is_chance_node():
            return [a for a, _ in self.chance_outcomes()]
        base = []
        if self.contrib[self.player] < max(self.contrib):
            base.append(_FOLD)
        base.append(_CALL)
        if self.raises < 2:
            base.append(_RAISE)
        return base + [a + 3 for a in base] if self.dummy else base

    def child(self, action: int) -> LeducState:
        if self.is_chance_node():
            return LeducState(self.dummy, self.cards + (action,), self.rounds, self.contrib,
                              self.raises, self.player, self.folded, self.over)
        p = self.player
        kind = action % 3
        rounds = self.rounds[:-1] + (self.rounds[-1] + (action,),)
        contrib = list(self.contrib)
        if kind == _FOLD:
            return LeducState(self.dummy, self.cards, rounds, self.contrib, self.raises, p, p, True)
        if kind == _CALL:
            contrib[p] = max(contrib)
            if self.rounds[-1]:  # a call that is not the round's first action closes the round
                if len(self.rounds) == 2:
                    return LeducState(self.dummy, self.cards, rounds, tuple(contrib), self.raises, p, -1, True)
                return LeducState(self.dummy, self.cards, rounds + ((),), tuple(contrib), 0, 0)
            return LeducState(self.dummy, self.cards, rounds, tuple(contrib), self.raises, 1 - p)
        contrib[p] = max(contrib) + _RAISE_SIZE[len(self.rounds) - 1]
        return LeducState(self.dummy, self.cards, rounds, tuple(contrib), self.raises + 1, 1 - p)

    def returns(self) -> tuple[float, float]:
        if not self.over:
            return (0.0, 0.0)
        if self.folded >= 0:
            loser = self.folded
        else:
            public = self.cards[2] // 2
            r0, r1 = self.cards[0] // 2, self.cards[1] // 2
            s0 = (r0 == public, r0)
            s1 = (r1 == public, r1)
            if s0 == s1:
                return (0.0, 0.0)
            loser = 1 if s0 > s1 else 0
        win = float(self.contrib[loser])
        return (-win, win) if loser == 0 else (win, -win)

    def _seen(self, player: int) -> tuple:
        if not self.dummy:
            return self.rounds
        return tuple(tuple(a if i % 2 == player else a % 3 for i, a in enumerate(r)) for r in self.rounds)

    def information_state_key(self, player: int) -> tuple:
        public = self.cards[2] if len(self.cards) > 2 else -1
        return (self.cards[player], public, self._seen(player))

    def information_state_string(self, player: int) -> str:
        public = self.cards[2] if len(self.cards) > 2 else -1
        bets = "|".join("".join(map(str, r)) for r in self._seen(player))
        return f"[Player: {player}][Private: {self.cards[player]}][Public: {public}][Bets: {bets}]"


@dataclass(frozen=True)
class LeducPoker:
    """Two-player Leduc poker (``dummy=True``: Leduc-Dummy)."""

    dummy: bool = False

    @property
    def name(self) -> str:
        return "leduc_dummy()" if self.dummy else "leduc_poker()"

    def new_initial_state(self) -> LeducState:
        return LeducState(self.dummy)

    def num_distinct_actions(self) -> int:
        return 6 if self.dummy else 3


def leduc_poker(players: int = 2) -> LeducPoker:
    """OpenSpiel's ``leduc_poker``; only ``players=2`` is supported."""
    if players != 2:
        raise InvalidInputError(f"leduc_poker: players must be 2, got {players}")
    return LeducPoker()


def leduc_dummy() -> LeducPoker:
    """Leduc-Dummy: Leduc with every action duplicated (468 517 histories)."""
    return LeducPoker(dummy=True)
