"""The depth-first compiler gives bit-identical arrays to the breadth-first one it replaced;
compiled games save and load unchanged."""

import hashlib
from dataclasses import replace

import numpy as np
import pytest

from saddlepoint.errors import InvalidInputError
from saddlepoint.games import extensive_form, make_game
from saddlepoint.games.extensive_form import CHANCE, TERMINAL, CompiledGame, GameTooLargeError, compile_game

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


# --------------------------------------------------------------------------- save / load
@pytest.mark.parametrize("spec", ["kuhn_poker", "leduc_poker", "goofspiel(num_cards=3)",
                                  "oshi_zumo(coins=3,size=1,horizon=4)"])
def test_saved_game_loads_bit_identical(spec, tmp_path):
    cg = compile_game(make_game(spec), cache=False)
    loaded = CompiledGame.load(cg.save(tmp_path / "game.npz"))
    assert fingerprint(loaded) == FINGERPRINTS.get(spec, fingerprint(cg))
    assert loaded.players[0].infoset_keys == cg.players[0].infoset_keys
    assert not loaded.h_seq.flags.writeable and loaded.nbytes() == cg.nbytes()


def test_loaded_game_gives_identical_solver_results(leduc, tmp_path):
    from saddlepoint.solvers.cfr import CFRPlusConfig, CFRSolver

    loaded = CompiledGame.load(leduc.save(tmp_path / "leduc.npz"))
    plans = []
    for cg in (leduc, loaded):
        solver = CFRSolver(cg, CFRPlusConfig())
        for _ in range(5):
            solver.step()
        plans.append(solver.average_plans())
    for a, b in zip(*plans):
        assert np.array_equal(a, b)


def test_unsupported_keys_are_refused_on_save(kuhn, tmp_path):
    tp = kuhn.players[0]
    odd = replace(tp, infoset_keys=(frozenset({1}),) + tp.infoset_keys[1:])
    with pytest.raises(InvalidInputError, match="frozenset"):
        replace(kuhn, players=(odd, kuhn.players[1])).save(tmp_path / "odd.npz")


def test_load_refuses_other_files(tmp_path):
    np.savez(tmp_path / "other.npz", x=np.zeros(3))
    with pytest.raises(InvalidInputError, match="not a compiled game"):
        CompiledGame.load(tmp_path / "other.npz")
    with pytest.raises(InvalidInputError, match="cannot read"):
        CompiledGame.load(tmp_path / "missing.npz")


def test_cache_dir_compiles_once_then_loads(tmp_path, monkeypatch):
    spec = "goofspiel(num_cards=4,imp_info=True,points_order=descending)"
    first = compile_game(make_game(spec), cache=False, cache_dir=tmp_path)
    assert len(list(tmp_path.glob("*.npz"))) == 1

    def no_compile(*args, **kwargs):
        raise AssertionError("compiled again instead of loading")

    monkeypatch.setattr(extensive_form, "_compile", no_compile)
    second = compile_game(make_game(spec), cache=False, cache_dir=tmp_path)
    assert second is not first and fingerprint(second) == FINGERPRINTS[spec]
    with pytest.raises(GameTooLargeError, match="max_histories"):
        compile_game(make_game(spec), cache=False, cache_dir=tmp_path, max_histories=100)


# --------------------------------------------------------------------------- walk order and memory
class _TreeState:
    """A state of a game given as a nested tuple: ``("c", ((p, node), ...))`` chance,
    ``(player, key, (node, ...))`` a move, ``("t", u)`` a terminal. Counts live instances."""

    live = 0
    peak = 0

    def __init__(self, node):
        self.node = node
        _TreeState.live += 1
        _TreeState.peak = max(_TreeState.peak, _TreeState.live)

    def __del__(self):
        _TreeState.live -= 1

    def current_player(self):
        kind = self.node[0]
        return TERMINAL if kind == "t" else CHANCE if kind == "c" else kind

    def is_terminal(self):
        return self.node[0] == "t"

    def is_chance_node(self):
        return self.node[0] == "c"

    def legal_actions(self):
        return list(range(len(self.node[-1]))) if self.node[0] not in ("t", "c") else []

    def chance_outcomes(self):
        return [(a, p) for a, (p, _) in enumerate(self.node[1])]

    def child(self, action):
        kids = self.node[1] if self.node[0] == "c" else self.node[2]
        return _TreeState(kids[action][1] if self.node[0] == "c" else kids[action])

    def returns(self):
        return (self.node[1], -self.node[1])

    def information_state_key(self, player):
        return self.node[1]

    def information_state_string(self, player):
        return str(self.node[1])


class _TreeGame:
    def __init__(self, name, root):
        self.name, self.root = name, root

    def new_initial_state(self):
        return _TreeState(self.root)

    def num_distinct_actions(self):
        return 2


def _move(key):
    return (0, key, (("t", 1.0), ("t", -1.0)))


@pytest.mark.parametrize("b_kids, expected", [((_move("X"), _move("Y")), ("X", "Y")),
                                               ((_move("Y"), _move("X")), ("Y", "X"))])
def test_infosets_ordered_as_a_breadth_first_walk_meets_them(b_kids, expected):
    """Infoset Y is met first depth-first (at depth 3, under A) but the final order is the
    breadth-first one: by the first depth-2 visit under B."""
    a = ("c", ((1.0, ("c", ((1.0, _move("Y")),))),))
    b = ("c", ((0.5, b_kids[0]), (0.5, b_kids[1])))
    cg = compile_game(_TreeGame(f"tree{expected}", (1, "root", (a, b))), cache=False)
    assert cg.players[0].infoset_keys == expected
    assert cg.level_histories[:3] == ((0, 1), (1, 3), (3, 6))


def _binary(depth, path=()):
    player = len(path) % 2
    if depth == 0:
        return ("t", 1.0 if player else -1.0)
    return (player, path, (_binary(depth - 1, path + (0,)), _binary(depth - 1, path + (1,))))


def test_walk_keeps_only_its_stack_of_states_alive():
    """2^13 - 1 histories, but never more than ~2 states per depth alive at once (the walk
    itself; the size estimate before it holds its own beam)."""
    _TreeState.live = _TreeState.peak = 0
    cg = extensive_form._compile(_TreeGame("binary12", _binary(12)), "binary12", 10**6)
    assert cg.num_histories == 2**13 - 1
    assert _TreeState.peak <= 2 * 13 + 2
