"""Games: normal-form (matrix) games, two-player zero-sum extensive-form games compiled to flat
arrays, the zoo (Kuhn, Leduc, Leduc-Dummy, Liar's Dice, Goofspiel, Oshi-Zumo) and a public
conformance check (:func:`saddlepoint.games.check.check_game`) for games of your own.

:func:`make_game` builds any registered game from an OpenSpiel-style string such as
``"random_zero_sum(m=10,n=10,seed=0)"``.
"""

from __future__ import annotations

import inspect
from typing import Any

from saddlepoint.errors import InvalidInputError
from saddlepoint.registry import GAMES, load, lookup, parse_game_string


def make_game(spec: str) -> Any:
    """Build a registered game from ``name`` or ``name(key=value,...)``."""
    name, params = parse_game_string(spec)
    entry = lookup(GAMES, name, "game")
    factory = load(entry.target)  # type: ignore[arg-type]
    try:
        inspect.signature(factory).bind(**params)
    except TypeError as exc:
        raise InvalidInputError(f"bad parameters for game {name!r}: {exc}") from None
    return factory(**params)


__all__ = ["make_game"]
