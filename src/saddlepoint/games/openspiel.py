"""Load any two-player zero-sum OpenSpiel game through ``pyspiel`` (the ``openspiel`` extra).

The adapter wraps pyspiel states in saddlepoint's :class:`~saddlepoint.games.extensive_form.State`
protocol, so :func:`~saddlepoint.games.extensive_form.compile_game` can turn the game into flat
arrays once. Simultaneous-move games are converted with OpenSpiel's ``convert_to_turn_based``,
the form in which saddlepoint solves them. Policies can be handed back to OpenSpiel with
:func:`to_openspiel_policy` (for cross-checks of exploitability).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np

from saddlepoint.errors import InvalidInputError, require

__all__ = ["OpenSpielGame", "load_openspiel_game", "to_openspiel_policy"]


class _OSState:
    __slots__ = ("_s",)

    def __init__(self, state: Any) -> None:
        self._s = state

    def current_player(self) -> int:
        return self._s.current_player()

    def is_terminal(self) -> bool:
        return self._s.is_terminal()

    def is_chance_node(self) -> bool:
        return self._s.is_chance_node()

    def legal_actions(self) -> list[int]:
        return self._s.legal_actions()

    def chance_outcomes(self) -> list[tuple[int, float]]:
        return self._s.chance_outcomes()

    def child(self, action: int) -> _OSState:
        return _OSState(self._s.child(action))

    def returns(self) -> Sequence[float]:
        return self._s.returns()

    def information_state_key(self, player: int) -> Hashable:
        return self._s.information_state_string(player)

    def information_state_string(self, player: int) -> str:
        return self._s.information_state_string(player)


class OpenSpielGame:
    """A pyspiel game seen through saddlepoint's game protocol; ``name`` is the game string."""

    def __init__(self, game_string: str) -> None:
        pyspiel = require("pyspiel", "openspiel")
        try:
            game = pyspiel.load_game(game_string)
        except RuntimeError as exc:  # pyspiel.SpielError; its message lists every game after line 1
            first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise InvalidInputError(f"OpenSpiel cannot load {game_string!r}: {first_line}") from None
        info = game.get_type()
        if game.num_players() != 2:
            raise InvalidInputError(f"{game_string!r} has {game.num_players()} players; need 2")
        if info.utility != pyspiel.GameType.Utility.ZERO_SUM:
            raise InvalidInputError(f"{game_string!r} is not zero-sum")
        if info.dynamics == pyspiel.GameType.Dynamics.SIMULTANEOUS:
            game = pyspiel.convert_to_turn_based(game)
        self.pyspiel_game = game
        self.name = f"openspiel:{game_string}"

    def new_initial_state(self) -> _OSState:
        return _OSState(self.pyspiel_game.new_initial_state())

    def num_distinct_actions(self) -> int:
        return self.pyspiel_game.num_distinct_actions()


def load_openspiel_game(game_string: str) -> OpenSpielGame:
    """Load ``game_string`` (OpenSpiel syntax, e.g. ``"leduc_poker"``) with pyspiel."""
    return OpenSpielGame(game_string)


def to_openspiel_policy(pyspiel_game: Any, compiled: Any, behaviour: tuple[np.ndarray, np.ndarray]) -> Any:
    """An OpenSpiel ``TabularPolicy`` for ``pyspiel_game`` from per-sequence behaviour strategies.

    ``compiled`` must come from an :class:`OpenSpielGame` of the same game (its infoset keys are
    OpenSpiel's information-state strings); ``behaviour[p]`` has shape ``(|Σp|,)``.
    """
    policy_mod = require("open_spiel.python.policy", "openspiel")
    pol = policy_mod.TabularPolicy(pyspiel_game)
    for p, tp in enumerate(compiled.players):
        for i, key in enumerate(tp.infoset_keys):
            row = pol.state_lookup[key]
            first, k = int(tp.infoset_first_seq[i]), int(tp.infoset_num_actions[i])
            pol.action_probability_array[row, :] = 0.0
            pol.action_probability_array[row, tp.seq_action[first:first + k]] = behaviour[p][first:first + k]
    return pol
