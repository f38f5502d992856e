"""Restricted games of the double-oracle family (pure functions on a compiled game).

A restricted game (XDO style, McAleer et al. 2021) is one boolean mask per player over its
sequences (``True`` = the action is allowed at its infoset); it starts from each player's exact
best response to the uniform opponent and grows by OR-ing in the actions of new best responses,
which are full pure strategies (an action at every infoset, reached or not). The window rules
of AdaDO and its stochastic version are functions of the restricted game's size.
"""

from __future__ import annotations

import math

import numpy as np

from saddlepoint.games.extensive_form import CHANCE, TERMINAL, CompiledGame
from saddlepoint.solvers.efg_best_response import behaviour_from_weights, best_response, realization_plan

__all__ = ["Masks", "adado_window", "expand_masks", "extend_uniform", "initial_masks", "restricted_actions",
           "restricted_br_nodes", "restricted_game_size", "sado_window", "unreachable_sequences"]

Masks = tuple[np.ndarray, np.ndarray]


def adado_window(num_infosets: int, max_actions: int, scale: float = 0.1) -> int:
    """AdaDO's window ``max(1, ⌊scale · rint(√A_max · |S|)⌋)`` (RMDO paper, AdaDO rule;
    full Leduc (936 infosets, 3 actions) -> 162, full Liar's Dice (24 576, 12) -> 8 513)."""
    return max(1, math.floor(scale * float(np.rint(math.sqrt(max_actions) * num_infosets))))


def sado_window(num_histories: int, max_actions: int, depth: int, scale: float = 0.1) -> int:
    """Stochastic AdaDO's window ``max(1, ⌊scale · rint(s · √A_max / d)⌋)`` with ``s``
    non-chance histories and ``d`` the depth of the restricted game (the reference's formula
    with exact best responses; the 0-iteration guard is ours)."""
    return max(1, math.floor(scale * float(np.rint(num_histories * math.sqrt(max_actions) / max(depth, 1)))))


def initial_masks(cg: CompiledGame) -> Masks:
    """Each player's exact best response to the uniform opponent, as an action mask ``(m_p,)``
    (Π_p^1 of the RMDO loop)."""
    plans = [realization_plan(cg, p, cg.players[p].uniform()) for p in (0, 1)]
    return tuple(best_response(cg, p, plans[1 - p]).behaviour > 0 for p in (0, 1))  # type: ignore[return-value]


def expand_masks(masks: Masks, behaviours: tuple[np.ndarray, np.ndarray]) -> tuple[Masks, bool]:
    """``A_{j+1}(I) = A_j(I) ∪ {β_p(I)}``: OR each player's pure best response ``(m_p,)`` into its
    mask. Returns the new masks (fresh arrays) and whether any action was added."""
    new = tuple(np.logical_or(m, b > 0) for m, b in zip(masks, behaviours))
    grew = any(int(n.sum()) > int(m.sum()) for n, m in zip(new, masks))
    return new, grew  # type: ignore[return-value]


def restricted_actions(masks: Masks) -> int:
    """Size of a restricted game: allowed (infoset, action) pairs of both players."""
    return int(sum(int(np.count_nonzero(m[1:])) for m in masks))


def _mask_reach(cg: CompiledGame, masks: Masks) -> tuple[np.ndarray, np.ndarray]:
    """Per player, 1 on sequences the restricted game can reach, 0 elsewhere."""
    return tuple(realization_plan(cg, p, np.asarray(masks[p], dtype=float)) > 0 for p in (0, 1))  # type: ignore[return-value]


def unreachable_sequences(cg: CompiledGame, masks: Masks) -> Masks:
    """Per player, a boolean ``(m_p,)`` marking the sequences of the infosets the restricted game
    cannot reach (no history of the infoset is reached when both players keep to their masks)."""
    reach = _mask_reach(cg, masks)
    in_tree = reach[0][cg.h_seq[0]] & reach[1][cg.h_seq[1]]
    out = []
    for p in (0, 1):
        tp = cg.players[p]
        live = np.zeros(len(tp.infoset_first_seq), dtype=bool)
        live[cg.h_infoset[in_tree & (cg.h_player == p)]] = True
        dead = np.zeros(tp.num_sequences, dtype=bool)
        dead[1:] = ~live[tp.seq_infoset[1:]]
        out.append(dead)
    return out[0], out[1]


def extend_uniform(cg: CompiledGame, plans: tuple[np.ndarray, np.ndarray],
                   unreachable: Masks) -> tuple[np.ndarray, np.ndarray]:
    """Realization plans of restricted-game strategies extended by uniform play over *all*
    actions A(I) at the infosets the restricted game cannot reach (``unreachable``, from
    :func:`unreachable_sequences`): the extension the RMDO paper's best responses and
    exploitability use. Elsewhere the behaviour is unchanged."""
    out = []
    for p in (0, 1):
        b = behaviour_from_weights(cg, p, plans[p])
        dead = unreachable[p]
        b[dead] = 1.0 / cg.players[p].infoset_num_actions[cg.players[p].seq_infoset[dead]]
        out.append(realization_plan(cg, p, b))
    return out[0], out[1]


def restricted_game_size(cg: CompiledGame, masks: Masks) -> dict[str, int]:
    """Sizes of the restricted game: ``infosets`` of both players met by a traversal of its tree
    (histories both masks reach), ``max_actions`` over them, ``histories`` (non-chance,
    non-terminal) and ``depth`` (longest history)."""
    reach = _mask_reach(cg, masks)
    in_tree = reach[0][cg.h_seq[0]] & reach[1][cg.h_seq[1]]
    decision = in_tree & (cg.h_player != CHANCE) & (cg.h_player != TERMINAL)
    infosets, amax = 0, 1
    for p in (0, 1):
        tp = cg.players[p]
        live = np.unique(cg.h_infoset[decision & (cg.h_player == p)])
        infosets += int(live.size)
        if live.size:
            allowed = np.add.reduceat(masks[p][1:].astype(np.int64), tp.infoset_first_seq - 1)
            amax = max(amax, int(allowed[live].max()))
    depth = max((d for d, (lo, hi) in enumerate(cg.level_histories) if in_tree[lo:hi].any()), default=0)
    return {"infosets": infosets, "max_actions": amax, "histories": int(np.count_nonzero(decision)),
            "depth": int(depth)}


def restricted_br_nodes(cg: CompiledGame, player: int, opponent_plan: np.ndarray, own_mask: np.ndarray) -> int:
    """Histories a memoised best response of ``player`` *inside* the restricted game evaluates:
    those whose opponent sequence has positive probability and whose own sequence the
    restricted game allows (the restricted analogue of ``best_response_nodes``)."""
    own = realization_plan(cg, player, np.asarray(own_mask, dtype=float)) > 0
    return int(np.count_nonzero((opponent_plan[cg.h_seq[1 - player]] > 0) & own[cg.h_seq[player]]))
