"""Uniform play over all actions at infosets the restricted game cannot reach (the RMDO notes'
extension), the default for double oracle's best responses and exploitability."""

import numpy as np
import pytest

from saddlepoint.errors import InvalidInputError
from saddlepoint.games import zoo
from saddlepoint.games.extensive_form import compile_game
from saddlepoint.solvers.double_oracle import RMDO, AdaDOConfig
from saddlepoint.solvers.double_oracle.restricted_game import extend_uniform, initial_masks, unreachable_sequences
from saddlepoint.solvers.efg_best_response import behaviour_from_weights, realization_plan


@pytest.fixture(scope="module")
def kuhn():
    return compile_game(zoo.kuhn_poker())


def test_full_masks_leave_nothing_unreachable(kuhn):
    full = tuple(np.ones(tp.num_sequences, dtype=bool) for tp in kuhn.players)
    assert all(not u.any() for u in unreachable_sequences(kuhn, full))


def test_extension_is_uniform_over_all_actions_only_where_the_restricted_game_cannot_reach(kuhn):
    masks = initial_masks(kuhn)
    dead = unreachable_sequences(kuhn, masks)
    assert any(d.any() for d in dead)
    rng = np.random.default_rng(0)
    # a restricted strategy: random over allowed actions, zero on disallowed ones
    plans = tuple(realization_plan(kuhn, p, behaviour_from_weights(kuhn, p, masks[p] * rng.random(masks[p].shape)))
                  for p in (0, 1))
    ext = extend_uniform(kuhn, plans, dead)
    for p in (0, 1):
        tp = kuhn.players[p]
        before, after = behaviour_from_weights(kuhn, p, plans[p]), behaviour_from_weights(kuhn, p, ext[p])
        live = ~dead[p]
        live[0] = False
        assert np.allclose(after[live], before[live])
        assert np.allclose(after[dead[p]], 1.0 / tp.infoset_num_actions[tp.seq_infoset[dead[p]]])
        # the restricted strategy played some action with probability 0 at a dead infoset; now all get mass
        assert np.all(after[dead[p]] > 0)


def test_rmdo_uses_the_extension_by_default_and_it_changes_the_first_exploitability(kuhn):
    assert AdaDOConfig().unreachable == "uniform_all"
    rows = {}
    for ext in ("uniform_all", "allowed"):
        loop = RMDO(kuhn, AdaDOConfig(iterations=10**9, max_nodes=200_000, unreachable=ext), np.random.default_rng(0))
        rows[ext] = []
        for _ in range(3):
            loop.step()
            rows[ext].append(loop.metrics())
    assert rows["uniform_all"][0]["exploitability"] != pytest.approx(rows["allowed"][0]["exploitability"])
    # after one CFR+ iteration the extended output plays like the uniform policy (notes: e = 0.458333)
    assert rows["uniform_all"][0]["exploitability"] == pytest.approx(0.458333, abs=1e-5)


def test_bad_extension_name_is_rejected():
    with pytest.raises(InvalidInputError, match="unreachable"):
        AdaDOConfig(unreachable="zero")
