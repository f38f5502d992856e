"""Shared fixtures for the extensive-form tests: compiled games (compiled once per session)."""

import pytest

from saddlepoint.games import zoo
from saddlepoint.games.extensive_form import compile_game


@pytest.fixture(scope="session")
def kuhn():
    return compile_game(zoo.kuhn_poker())


@pytest.fixture(scope="session")
def leduc():
    return compile_game(zoo.leduc_poker())


@pytest.fixture(scope="session")
def liars_dice():
    return compile_game(zoo.liars_dice())


@pytest.fixture(scope="session")
def goofspiel4():
    return compile_game(zoo.goofspiel(num_cards=4, imp_info=True, points_order="descending"))


@pytest.fixture(scope="session")
def oshi_zumo():
    return compile_game(zoo.oshi_zumo(coins=4, size=1, horizon=6))
