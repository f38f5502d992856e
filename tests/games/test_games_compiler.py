"""The depth-first compiler gives bit-identical arrays to the breadth-first one it replaced."""

import hashlib

import numpy as np
import pytest

from saddlepoint.games import make_game
from saddlepoint.games.extensive_form import compile_game

# Fingerprints of every compiled array (dtype, shape, bytes), the treeplex ranges and keys, the
# payoff matrices and the level ranges, computed with the breadth-first compiler before the
# depth-first one replaced it (commit b47f748).
FINGERPRINTS = {
    "kuhn_poker": "65c3be445914c83a",
    "leduc_poker": "c4666dc871bd016a",
    "goofspiel(num_cards=4,imp_info=True,points_order=descending)": "45241a0cdf0506d3",
    "goofspiel(num_cards=3)": "9f64998c7cea62bb",
    "goofspiel(num_cards=4,points_order=ascending,returns_type=point_difference)": "c38508da32f5d445",
    "oshi_zumo(coins=3,size=1,horizon=4)": "e770941f3e46381a",
    "oshi_zumo(coins=4,size=1,horizon=6)": "c00dbd36dfb59d00",
}
SLOW_FINGERPRINTS = {
    "liars_dice": "f5194acce03845b9",
}

_HISTORY = ("h_player", "h_infoset", "h_parent", "h_child_start", "h_num_children", "h_chance_prob",
            "h_utility", "h_seq")
_TREEPLEX = ("infoset_first_seq", "infoset_num_actions", "infoset_parent_seq", "infoset_depth",
             "seq_infoset", "seq_parent", "seq_action")


def fingerprint(cg) -> str:
    h = hashlib.sha256()

    def add(a):
        a = np.ascontiguousarray(a)
        h.update(f"{a.dtype}{a.shape}".encode())
        h.update(a.tobytes())

    for f in _HISTORY:
        add(getattr(cg, f))
    for tp in cg.players:
        for f in _TREEPLEX:
            add(getattr(tp, f))
        h.update(repr((tp.level_infosets, tp.level_sequences, tp.infoset_keys)).encode())
    for m in (cg.payoff, cg.payoff_t):
        add(m.data)
        add(m.indices)
        add(m.indptr)
        h.update(repr(m.shape).encode())
    h.update(repr((cg.level_histories, cg.max_abs_utility, cg.name)).encode())
    return h.hexdigest()[:16]


@pytest.mark.parametrize("spec", sorted(FINGERPRINTS))
def test_compiled_arrays_bit_identical_to_breadth_first_compiler(spec):
    assert fingerprint(compile_game(make_game(spec), cache=False)) == FINGERPRINTS[spec]


@pytest.mark.slow
@pytest.mark.parametrize("spec", sorted(SLOW_FINGERPRINTS))
def test_compiled_arrays_bit_identical_on_liars_dice(spec):
    assert fingerprint(compile_game(make_game(spec), cache=False)) == SLOW_FINGERPRINTS[spec]


def test_parent_and_child_ranges_agree(leduc):
    """Derived from child counts: every child's parent points back into its parent's range."""
    kids = np.flatnonzero(leduc.h_num_children > 0)
    for h in kids[:: max(1, kids.size // 200)]:
        lo = leduc.h_child_start[h]
        assert (leduc.h_parent[lo:lo + leduc.h_num_children[h]] == h).all()
    assert leduc.h_parent[0] == -1 and leduc.h_parent.dtype == np.int32
