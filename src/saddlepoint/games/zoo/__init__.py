"""The game zoo: OpenSpiel's rules and names (plus Leduc-Dummy), built by saddlepoint itself.

Every factory takes OpenSpiel's parameters with OpenSpiel's defaults and returns a game object
for :func:`saddlepoint.games.extensive_form.compile_game`.
"""

from saddlepoint.games.zoo.goofspiel import goofspiel
from saddlepoint.games.zoo.kuhn import kuhn_poker
from saddlepoint.games.zoo.leduc import leduc_dummy, leduc_poker
from saddlepoint.games.zoo.liars_dice import liars_dice
from saddlepoint.games.zoo.oshi_zumo import oshi_zumo

__all__ = ["goofspiel", "kuhn_poker", "leduc_dummy", "leduc_poker", "liars_dice", "oshi_zumo"]
