"""Fixtures shared across the test tree: compiled extensive-form games (compiled once per session, on first use)."""

import sys

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


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread():
    """Tiny models run fastest single-threaded on a shared 2-core machine: a test module that
    imported torch runs on one thread, restored afterwards. Modules without torch are untouched
    (torch is not imported for them)."""
    torch = sys.modules.get("torch")
    if torch is None:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
