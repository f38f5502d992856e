"""Cross-checks against OpenSpiel (the ``openspiel`` extra; skipped when pyspiel is absent)."""

import numpy as np
import pytest

pyspiel = pytest.importorskip("pyspiel")

from saddlepoint.games import make_game
from saddlepoint.games.extensive_form import compile_game
from saddlepoint.games.openspiel import load_openspiel_game, to_openspiel_policy
from saddlepoint.solvers.cfr import CFRConfig, CFRPlusConfig, CFRSolver
from saddlepoint.solvers.efg_best_response import exploitability_behaviour, uniform_behaviour
from saddlepoint.method import make_method
from saddlepoint.solvers.mccfr import ExternalSamplingConfig


def _openspiel_exploitability(game, cg, behaviour):
    from open_spiel.python import policy as policy_mod

    tab = to_openspiel_policy(game.pyspiel_game, cg, behaviour)
    return pyspiel.exploitability(game.pyspiel_game, policy_mod.python_policy_to_pyspiel_policy(tab))


@pytest.mark.parametrize("name", ["kuhn_poker", "leduc_poker"])
def test_exploitability_matches_openspiel(name):
    game = load_openspiel_game(name)
    cg = compile_game(game)
    policies = [(uniform_behaviour(cg, 0), uniform_behaviour(cg, 1))]
    solver = CFRSolver(cg, CFRPlusConfig())
    for _ in range(30):
        solver.step()
    policies += [solver.average_behaviour(), solver.current_behaviour()]
    mc = make_method(cg, ExternalSamplingConfig(), np.random.default_rng(0))
    for _ in range(200):
        mc.step()
    policies.append(mc.average_behaviour())
    for behaviour in policies:
        ours = exploitability_behaviour(cg, behaviour)
        assert ours == pytest.approx(_openspiel_exploitability(game, cg, behaviour), rel=1e-9, abs=1e-12)


def test_cfr_matches_openspiel_cpp_solver():
    game = pyspiel.load_game("leduc_poker")
    theirs = pyspiel.CFRSolver(game)
    cg = compile_game(make_game("leduc_poker"))
    ours = CFRSolver(cg, CFRConfig())
    for _ in range(50):
        theirs.evaluate_and_update_policy()
        ours.step()
    assert ours.exploitability() == pytest.approx(pyspiel.exploitability(game, theirs.average_policy()), rel=1e-9)


@pytest.mark.parametrize("spec", ["kuhn_poker", "leduc_poker", "liars_dice(dice_sides=3)",
                                  "goofspiel(num_cards=4,imp_info=True,points_order=descending)",
                                  "goofspiel(num_cards=3)", "oshi_zumo(coins=3,size=1,horizon=4)"])
def test_zoo_game_plays_like_openspiel(spec):
    # Same structure and payoffs: CFR+ trajectories on the zoo game and on the pyspiel game agree.
    ours = CFRSolver(compile_game(make_game(spec)), CFRPlusConfig())
    theirs = CFRSolver(compile_game(load_openspiel_game(spec)), CFRPlusConfig())
    for _ in range(20):
        ours.step()
        theirs.step()
    assert ours.exploitability() == pytest.approx(theirs.exploitability(), rel=1e-9, abs=1e-12)
    assert ours.nodes_visited == theirs.nodes_visited
