"""Kuhn poker, OpenSpiel's ``kuhn_poker`` (two players): cards J < Q < K (0, 1, 2), ante 1,
one card each; actions 0 = pass/check/fold, 1 = bet/call. Game value -1/18 for player 0."""

from __future__ import annotations

from dataclasses import dataclass

from saddlepoint.games.extensive_form import CHANCE, TERMINAL

__all__ = ["KuhnPoker", "kuhn_poker"]

_TERMINAL_HISTORIES = {(0, 0), (1, 0), (1, 1), (0, 1, 0), (0, 1, 1)}


class KuhnState:
    __slots__ = ("cards", "history")

    def __init__(self, cards: tuple[int, ...] = (), history: tuple[int, ...] = ()) -> None:
        self.cards = cards
        self.history = history

    def is_chance_node(self) -> bool:
        return len(self.cards) < 2

    def is_terminal(self) -> bool:
        return self.history in _TERMINAL_HISTORIES

    def current_player(self) -> int:
        if self.is_chance_node():
            return CHANCE
        if self.is_terminal():
            return TERMINAL
        return len(self.history) % 2

    def legal_actions(self) -> list[int]:
        if self.is_chance_node():
            return [a for a, _ in self.chance_outcomes()]
        return [] if self.is_terminal() else [0, 1]

    def chance_outcomes(self) -> list[tuple[int, float]]:
        rest = [c for c in range(3) if c not in self.cards]
        return [(c, 1.0 / len(rest)) for c in rest]

    def child(self, action: int) -> KuhnState:
        if self.is_chance_node():
            return KuhnState(self.cards + (action,), self.history)
        return KuhnState(self.cards, self.history + (action,))

    def returns(self) -> tuple[float, float]:
        h = self.history
        if h == (1, 0):  # P1 folds to a bet
            return (1.0, -1.0)
        if h == (0, 1, 0):  # P0 folds to a bet
            return (-1.0, 1.0)
        stake = 2.0 if 1 in h else 1.0
        win = stake if self.cards[0] > self.cards[1] else -stake
        return (win, -win)

    def information_state_key(self, player: int) -> tuple:
        return (self.cards[player], self.history)

    def information_state_string(self, player: int) -> str:
        return f"{self.cards[player]}" + "".join("pb"[a] for a in self.history)


@dataclass(frozen=True)
class KuhnPoker:
    """Two-player Kuhn poker."""

    name: str = "kuhn_poker()"

    def new_initial_state(self) -> KuhnState:
        return KuhnState()

    def num_distinct_actions(self) -> int:
        return 2


def kuhn_poker(players: int = 2) -> KuhnPoker:
    """OpenSpiel's ``kuhn_poker``; only ``players=2`` is supported."""
    if players != 2:
        from saddlepoint.errors import InvalidInputError

        raise InvalidInputError(f"kuhn_poker: players must be 2, got {players}")
    return KuhnPoker()
