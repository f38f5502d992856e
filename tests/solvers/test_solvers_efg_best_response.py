"""Best response, exploitability and node counts against known values."""

import numpy as np
import pytest

from saddlepoint.errors import InvalidInputError
from saddlepoint.solvers.cfr import CFRPlusConfig, CFRSolver, NodeCounter
from saddlepoint.solvers.efg_best_response import (
    behaviour_from_weights,
    best_response,
    best_response_nodes,
    exploitability_behaviour,
    game_value,
    nash_conv,
    nash_conv_behaviour,
    realization_plan,
    uniform_behaviour,
)


def _uniform(cg):
    return uniform_behaviour(cg, 0), uniform_behaviour(cg, 1)


def test_kuhn_uniform_exploitability_and_br_values(kuhn):
    b = _uniform(kuhn)
    assert exploitability_behaviour(kuhn, b) == pytest.approx(0.4583333333333333, abs=1e-12)
    assert nash_conv_behaviour(kuhn, b) == pytest.approx(0.9166666666666666, abs=1e-12)
    x, y = realization_plan(kuhn, 0, b[0]), realization_plan(kuhn, 1, b[1])
    assert best_response(kuhn, 0, y).value == pytest.approx(0.5)
    assert best_response(kuhn, 1, x).value == pytest.approx(0.4166666666666667)
    v = game_value(kuhn, x, y)  # improvements: 0.375 for player 0, 0.541667 for player 1
    assert best_response(kuhn, 0, y).value - v == pytest.approx(0.375)
    assert best_response(kuhn, 1, x).value + v == pytest.approx(0.5416666666666666)


def test_leduc_uniform_exploitability(leduc):
    assert exploitability_behaviour(leduc, _uniform(leduc)) == pytest.approx(2.373611111111111, abs=1e-9)


@pytest.mark.slow
def test_liars_dice_uniform_exploitability(liars_dice):
    assert exploitability_behaviour(liars_dice, _uniform(liars_dice)) == pytest.approx(0.7807, abs=1e-4)


def _kuhn_ne(kuhn, alpha):
    """The Kuhn equilibrium family: P0 bets J/Q/K w.p. α/0/3α, calls after check-bet w.p.
    0/α+1/3/1; P1 bets after a check w.p. 1/3/0/1, calls a bet w.p. 0/1/3/1."""
    p0_bet = {0: alpha, 1: 0.0, 2: 3 * alpha}
    p0_call = {0: 0.0, 1: alpha + 1 / 3, 2: 1.0}
    p1_bet = {0: 1 / 3, 1: 0.0, 2: 1.0}
    p1_call = {0: 0.0, 1: 1 / 3, 2: 1.0}
    out = []
    for p, tp in enumerate(kuhn.players):
        b = np.ones(tp.num_sequences)
        for i, (card, hist) in enumerate(tp.infoset_keys):
            if p == 0:
                q = p0_bet[card] if hist == () else p0_call[card]
            else:
                q = p1_bet[card] if hist == (0,) else p1_call[card]
            f = tp.infoset_first_seq[i]
            b[f], b[f + 1] = 1 - q, q  # actions: 0 pass, 1 bet
        out.append(b)
    return tuple(out)


@pytest.mark.parametrize("alpha", [0.0, 0.2, 1 / 3])
def test_kuhn_equilibrium_family_has_zero_exploitability(kuhn, alpha):
    b = _kuhn_ne(kuhn, alpha)
    assert exploitability_behaviour(kuhn, b) < 1e-15
    x, y = realization_plan(kuhn, 0, b[0]), realization_plan(kuhn, 1, b[1])
    assert game_value(kuhn, x, y) == pytest.approx(-1 / 18, abs=1e-15)


def test_best_response_is_pure_at_every_infoset(leduc):
    # Against a pure opponent, many infosets are unreached; the BR still picks an action there.
    y = realization_plan(leduc, 1, best_response(leduc, 1, realization_plan(leduc, 0, uniform_behaviour(leduc, 0))).behaviour)
    br = best_response(leduc, 0, y)
    tp = leduc.players[0]
    assert br.actions.shape == (tp.num_infosets,)
    assert np.all((br.actions >= tp.infoset_first_seq) & (br.actions < tp.infoset_first_seq + tp.infoset_num_actions))
    sums = np.add.reduceat(br.behaviour[1:], tp.infoset_first_seq - 1)
    assert np.all(sums == 1)
    # the pure BR achieves the BR value
    assert game_value(leduc, realization_plan(leduc, 0, br.behaviour), y) == pytest.approx(br.value)


def test_best_response_ties_take_lowest_action(kuhn):
    zero = np.zeros(kuhn.players[1].num_sequences)  # opponent never reaches anything: all ties
    br = best_response(kuhn, 0, zero)
    assert np.all(br.actions == kuhn.players[0].infoset_first_seq)


def test_nash_conv_is_zero_sum_duality_gap(leduc):
    rng = np.random.default_rng(0)
    b = []
    for p in (0, 1):
        w = rng.random(leduc.players[p].num_sequences)
        b.append(behaviour_from_weights(leduc, p, w))
    x, y = realization_plan(leduc, 0, b[0]), realization_plan(leduc, 1, b[1])
    v = game_value(leduc, x, y)
    br0, br1 = best_response(leduc, 0, y).value, best_response(leduc, 1, x).value
    assert br0 >= v - 1e-12 and br1 >= -v - 1e-12
    assert nash_conv(leduc, x, y) == pytest.approx(br0 + br1)


def test_invalid_behaviour_is_rejected(kuhn):
    b = list(_uniform(kuhn))
    b[0] = b[0] * 2
    with pytest.raises(InvalidInputError, match="sums to"):
        exploitability_behaviour(kuhn, tuple(b))
    with pytest.raises(InvalidInputError, match="shape"):
        exploitability_behaviour(kuhn, (b[1][:-1], b[1]))


@pytest.mark.parametrize("name, per_iteration", [("kuhn", 114), ("leduc", 18912)])
def test_uniform_full_iteration_visits_2_h_minus_1_edges(request, name, per_iteration):
    cg = request.getfixturevalue(name)
    counter = NodeCounter(cg)
    x = realization_plan(cg, 0, uniform_behaviour(cg, 0))
    y = realization_plan(cg, 1, uniform_behaviour(cg, 1))
    assert 2 * counter.count(x, y) == per_iteration == 2 * (cg.num_histories - 1)
    # Both players' reach 0 below a history stops the count there.
    assert counter.count(np.zeros_like(x), np.zeros_like(y)) < counter.full()


def test_best_response_nodes_against_fully_mixed_opponent(leduc):
    y = realization_plan(leduc, 1, uniform_behaviour(leduc, 1))
    assert best_response_nodes(leduc, 0, y) == leduc.num_histories
    x = realization_plan(leduc, 0, best_response(leduc, 0, y).behaviour)
    assert best_response_nodes(leduc, 1, x) < leduc.num_histories


def test_cfr_nodes_visited_starts_at_full_tree(kuhn):
    s = CFRSolver(kuhn, CFRPlusConfig())
    s.step()
    assert s.nodes_visited == 114  # first iteration: uniform strategies, every reach positive


def test_masked_best_response_stays_inside_the_restricted_game(leduc):
    y = realization_plan(leduc, 1, uniform_behaviour(leduc, 1))
    tp = leduc.players[0]
    full = best_response(leduc, 0, y)
    assert best_response(leduc, 0, y, mask=np.ones(tp.num_sequences, dtype=bool)).value == full.value
    # forbid the full best response's own choices wherever another action exists
    mask = np.ones(tp.num_sequences, dtype=bool)
    multi = tp.infoset_num_actions > 1
    mask[full.actions[multi]] = False
    restricted = best_response(leduc, 0, y, mask=mask)
    assert np.all(mask[restricted.actions])
    assert restricted.value < full.value
    mask[tp.infoset_first_seq[0]:tp.infoset_first_seq[0] + tp.infoset_num_actions[0]] = False
    with pytest.raises(InvalidInputError, match="allows no action"):
        best_response(leduc, 0, y, mask=mask)
