"""Invariants of the RMDO loop, its window rules, node counting and PSRO/DO on EFGs."""

import itertools

import numpy as np
import pytest

from saddlepoint.errors import InvalidInputError
from saddlepoint.solvers.cfr import CFRPlusConfig, CFRSolver
from saddlepoint.solvers.double_oracle import (
    PSRO,
    RMDO,
    AdaDOConfig,
    AdaDOStochasticConfig,
    DOConfig,
    PDOConfig,
    PDOStochasticConfig,
    PSROConfig,
    XDOConfig,
    XODOConfig,
)
from saddlepoint.solvers.double_oracle.restricted_game import (
    adado_window,
    expand_masks,
    initial_masks,
    restricted_actions,
    restricted_game_size,
    sado_window,
)
from saddlepoint.solvers.double_oracle.rmdo import RestrictedOutcomeSampling
from saddlepoint.solvers.efg_best_response import (
    best_response,
    best_response_nodes,
    realization_plan,
)
from saddlepoint.solvers.efg import solve
from saddlepoint.solvers.mccfr import OutcomeSamplingConfig, OutcomeSamplingMCCFR

DETERMINISTIC = (XDOConfig, XODOConfig, PDOConfig, AdaDOConfig)
ALL_RMDO = DETERMINISTIC + (AdaDOStochasticConfig, PDOStochasticConfig)


def window(loop):
    """One step of a double-oracle loop and its row (as a curve has it)."""
    loop.step()
    return {"iteration": loop.iteration, "nodes_visited": loop.nodes_visited, **loop.metrics()}


def full_masks(cg):
    return tuple(np.ones(tp.num_sequences, dtype=bool) for tp in cg.players)


def test_adado_window_matches_the_paper_notes():
    assert adado_window(936, 3) == 162  # full Leduc
    assert adado_window(24_576, 12) == 8513  # full Liar's Dice
    assert adado_window(12, 2) == 1  # Kuhn-size games
    assert adado_window(1, 1) == 1  # never a 0-iteration window
    assert sado_window(10, 2, 100) == 1
    assert sado_window(9000, 3, 8) == int(0.1 * np.rint(9000 * np.sqrt(3) / 8))


def test_full_leduc_window_is_162(leduc):
    loop = RMDO(leduc, AdaDOConfig(iterations=1), np.random.default_rng(0), masks=full_masks(leduc))
    size = restricted_game_size(leduc, loop.masks)
    assert size["infosets"] == 936 and size["max_actions"] == 3
    assert loop.window_length() == 162


def test_expand_masks_is_a_union():
    m = (np.array([True, True, False, False]), np.array([True, False, True]))
    b = (np.array([1.0, 0.0, 0.0, 1.0]), np.array([1.0, 0.0, 1.0]))
    (n0, n1), grew = expand_masks(m, b)
    assert n0.tolist() == [True, True, False, True] and n1.tolist() == m[1].tolist() and grew
    assert m[0].tolist() == [True, True, False, False]  # inputs untouched
    _, grew = expand_masks((n0, n1), b)
    assert not grew
    assert restricted_actions((n0, n1)) == 3


def test_initial_masks_are_pure_best_responses(kuhn):
    masks = initial_masks(kuhn)
    for p in (0, 1):
        assert np.count_nonzero(masks[p][1:]) == kuhn.players[p].num_infosets  # one action per infoset


@pytest.mark.parametrize("cls", ALL_RMDO)
def test_restricted_game_only_grows(kuhn, leduc, cls):
    for cg, iters in ((kuhn, 300), (leduc, 400)):
        loop = RMDO(cg, cls(iterations=iters, period=20), np.random.default_rng(1))
        prev = loop.masks
        sizes = []
        while not loop.exhausted:
            row = window(loop)
            now = loop.masks
            for p in (0, 1):
                assert np.all(now[p] >= prev[p])  # A_j(I) ⊆ A_{j+1}(I)
            sizes.append(row["restricted_actions"])
            prev = now
        assert sizes == sorted(sizes)
        assert sizes[-1] > restricted_actions(initial_masks(cg))


@pytest.mark.parametrize("cls", (XODOConfig, PDOConfig, AdaDOConfig))
def test_full_restricted_game_reduces_to_cfr_plus(leduc, cls):
    n = 200
    loop = RMDO(leduc, cls(iterations=n, period=7), np.random.default_rng(0), masks=full_masks(leduc))
    while not loop.exhausted:
        loop.step()
    assert loop.expansions == 0 and loop.inner_iterations == n
    ref = CFRSolver(leduc, CFRPlusConfig())
    for _ in range(n):
        ref.step()
    for a, b in zip(loop.output_plans(), ref.average_plans()):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)


def test_full_restricted_xdo_window_is_a_cold_cfr_plus_run(kuhn):
    loop = RMDO(kuhn, XDOConfig(iterations=10_000, epsilon0=1e-3), np.random.default_rng(0),
                masks=full_masks(kuhn))
    row = window(loop)
    ref = CFRSolver(kuhn, CFRPlusConfig())
    for _ in range(row["window_length"]):
        ref.step()
    assert (row["window_length"] - 1) % 50 == 0  # stops at a check
    assert ref.exploitability(restricted=True) < 1e-3
    np.testing.assert_allclose(loop.output_plans()[0], ref.average_plans()[0], atol=1e-12)
    row2 = window(loop)  # rebuilt cold: the same window again, and the threshold has halved
    assert row2["window_length"] >= row["window_length"] and loop.epsilon == pytest.approx(2.5e-4)


@pytest.mark.parametrize("cls", (AdaDOStochasticConfig, PDOStochasticConfig))
def test_full_restricted_stochastic_reduces_to_outcome_sampling(kuhn, cls):
    n = 500
    loop = RMDO(kuhn, cls(iterations=n, period=50), np.random.default_rng(7), masks=full_masks(kuhn))
    while not loop.exhausted:
        loop.step()
    ref = OutcomeSamplingMCCFR(kuhn, OutcomeSamplingConfig(), np.random.default_rng(7))
    for _ in range(n):
        ref.step()
    for a, b in zip(loop.output_plans(), ref.average_plans()):
        np.testing.assert_allclose(a, b, atol=1e-12)


def test_restricted_outcome_sampling_never_plays_disallowed_actions(leduc):
    masks = initial_masks(leduc)
    solver = RestrictedOutcomeSampling(leduc, OutcomeSamplingConfig(), np.random.default_rng(0), masks)
    for _ in range(300):
        solver.step()
    for p in (0, 1):
        assert np.all(np.asarray(solver._avg[p])[~masks[p]] == 0)
        assert np.all(solver.regrets()[p][~masks[p]] == 0)


def test_nodes_counted_as_cfr_pass_plus_best_responses(kuhn):
    # One XODO window on full Kuhn: CFR+ iteration (2 passes x 57 edges) + two best responses
    # against fully mixed averages (58 histories each).
    loop = RMDO(kuhn, XODOConfig(iterations=1), np.random.default_rng(0), masks=full_masks(kuhn))
    row = window(loop)
    assert row["nodes_visited"] == 114 + 2 * 58


def test_initial_best_responses_are_counted(kuhn):
    loop = RMDO(kuhn, AdaDOConfig(iterations=1), np.random.default_rng(0))
    uniform = [realization_plan(kuhn, p, kuhn.players[p].uniform()) for p in (0, 1)]
    assert loop.nodes_visited == best_response_nodes(kuhn, 0, uniform[1]) + best_response_nodes(kuhn, 1, uniform[0])


def pure_plans(cg, p):
    """Every pure strategy of player ``p`` as a realization plan (small games only)."""
    tp = cg.players[p]
    choices = [range(tp.infoset_first_seq[i], tp.infoset_first_seq[i] + tp.infoset_num_actions[i])
               for i in range(tp.num_infosets)]
    for pick in itertools.product(*choices):
        b = np.zeros(tp.num_sequences)
        b[0] = 1.0
        b[list(pick)] = 1.0
        yield realization_plan(cg, p, b)


def test_best_response_is_never_worse_than_any_pure_strategy(kuhn):
    rng = np.random.default_rng(3)
    for _ in range(3):
        beh = [np.ones(tp.num_sequences) for tp in kuhn.players]
        for p, tp in enumerate(kuhn.players):
            for i in range(tp.num_infosets):
                lo, k = tp.infoset_first_seq[i], tp.infoset_num_actions[i]
                beh[p][lo:lo + k] = rng.dirichlet(np.ones(k))
        plans = [realization_plan(kuhn, p, beh[p]) for p in (0, 1)]
        for p in (0, 1):
            br = best_response(kuhn, p, plans[1 - p])
            sign = 1.0 if p == 0 else -1.0
            values = [sign * (x @ kuhn.payoff @ plans[1]) if p == 0 else sign * (plans[0] @ kuhn.payoff @ x)
                      for x in pure_plans(kuhn, p)]
            assert len(values) == 64
            assert br.value >= max(values) - 1e-12
            assert br.value == pytest.approx(max(values), abs=1e-12)


def test_psro_and_do_solve_kuhn_exactly(kuhn):
    for cls in (PSROConfig, DOConfig):
        res = solve(kuhn, cls(iterations=200))
        assert res.exploitability < 1e-9
        assert res.value == pytest.approx(-1 / 18, abs=1e-9)
        assert res.extra["restricted_actions"] <= res.extra["full_actions"]


def test_psro_meta_game_is_exact(kuhn):
    loop = PSRO(kuhn, PSROConfig(iterations=5))
    for _ in range(5):
        loop.step()
    xs = np.stack(loop._pops[0], axis=1)
    ys = np.stack(loop._pops[1], axis=1)
    np.testing.assert_allclose(loop.meta_game(), xs.T @ (kuhn.payoff @ ys), atol=1e-12)


@pytest.mark.parametrize("cls", DETERMINISTIC)
def test_double_oracle_variants_converge_on_kuhn(kuhn, cls):
    res = solve(kuhn, cls(iterations=3000))
    assert res.exploitability < 5e-3
    assert res.extra["nodes_visited"] == res.curve[-1]["nodes_visited"]
    assert res.extra["restricted_actions"] <= res.extra["full_actions"] == 24


def test_warm_start_runs_and_differs(leduc):
    cold = solve(leduc, AdaDOConfig(iterations=600))
    warm = solve(leduc, AdaDOConfig(iterations=600, warm_start=True))
    assert warm.exploitability < 0.5 and cold.exploitability < 0.5
    assert warm.exploitability != cold.exploitability


def test_same_seed_same_result(kuhn):
    a = solve(kuhn, AdaDOStochasticConfig(iterations=2000), 5)
    b = solve(kuhn, AdaDOStochasticConfig(iterations=2000), 5)
    c = solve(kuhn, AdaDOStochasticConfig(iterations=2000), 6)
    assert a.exploitability == b.exploitability and a.extra == b.extra
    assert a.exploitability != c.exploitability


def test_node_budget_stops_the_loop(leduc):
    res = solve(leduc, PDOConfig(iterations=10**6, max_nodes=2_000_000))
    assert 2_000_000 <= res.extra["nodes_visited"] < 2_000_000 + 2 * 10**6


def test_bad_configs_name_the_field():
    with pytest.raises(InvalidInputError, match="window"):
        AdaDOConfig(window="sometimes")
    with pytest.raises(InvalidInputError, match="discount"):
        AdaDOConfig(discount=-1.0)
    with pytest.raises(InvalidInputError, match="inner"):
        PDOConfig(inner="fictitious")
    with pytest.raises(InvalidInputError, match="iterations"):
        PSROConfig(iterations=0)


def test_a_preset_refuses_another_window_rule():
    # AdaDO with a fixed window would silently be PDO: each preset keeps its own rule
    with pytest.raises(InvalidInputError, match="adaptive"):
        AdaDOConfig(window="fixed")
    with pytest.raises(InvalidInputError, match="exploitability"):
        XDOConfig(window="adaptive")
    assert AdaDOConfig(inner="cfr").window == "adaptive"


def test_psro_pair_counts_match_brute_force(kuhn):
    from saddlepoint.solvers.double_oracle.psro import _pair_counts

    w = _pair_counts(kuhn)
    x0, x1 = list(pure_plans(kuhn, 0))[5], list(pure_plans(kuhn, 1))[17]
    brute = np.count_nonzero((x0[kuhn.h_seq[0]] > 0) & (x1[kuhn.h_seq[1]] > 0))
    assert x0 @ (w @ x1) == brute


def test_restricted_game_size_matches_a_tree_walk(leduc):
    cg = leduc
    masks = initial_masks(cg)
    stack, seen, decision, depth = [(0, 0)], set(), 0, 0
    while stack:  # walk the restricted tree: all chance outcomes, allowed actions only
        h, d = stack.pop()
        depth = max(depth, d)
        pl = int(cg.h_player[h])
        if pl in (0, 1):
            seen.add((pl, int(cg.h_infoset[h])))
            decision += 1
        for c in range(cg.h_child_start[h], cg.h_child_start[h] + cg.h_num_children[h]):
            if pl not in (0, 1) or masks[pl][cg.h_seq[pl, c]]:
                stack.append((int(c), d + 1))
    size = restricted_game_size(cg, masks)
    assert size == {"infosets": len(seen), "max_actions": 1, "histories": decision, "depth": depth}
