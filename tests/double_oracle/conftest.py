"""Compiled games shared by the double-oracle tests (compiled once per session)."""

import pytest

from saddlepoint.games import zoo
from saddlepoint.games.extensive_form import compile_game


@pytest.fixture(scope="session")
def kuhn_cg():
    return compile_game(zoo.kuhn_poker())


@pytest.fixture(scope="session")
def leduc_cg():
    return compile_game(zoo.leduc_poker())
