"""Monte-Carlo CFR on a compiled extensive-form game (Lanctot et al., NeurIPS 2009).

* External sampling (:class:`ExternalSamplingConfig`): per traverser ``p``, chance and the
  opponent sample one action per history from their current strategy, all of ``p``'s actions
  are followed; ``R(I,a) += ṽ(ha) - ṽ(h)`` with the sampled values; "simple" averaging adds
  ``σ_t(·|I)`` at every visited opponent history (OpenSpiel's formulation, regrets updated in
  place during the walk).
* Outcome sampling (:class:`OutcomeSamplingConfig`): per traverser one terminal is sampled
  with ``(1-ε)σ_t + ε·uniform`` at ``p``'s infosets, ``σ_t`` at the opponent's and chance as
  given; regrets use importance-weighted values with a zero baseline and the average adds
  ``π_p(h) σ_t(·|I) / q(h)`` at ``p``'s sampled infosets (OpenSpiel's formulation).

Each config names its method (:class:`ExternalSampling`, :class:`OutcomeSampling`), which runs
the one-walk reference sampler for ``batch_size == 1`` and the vectorised batched one otherwise.

``nodes_visited`` counts tree edges followed (external sampling) and non-terminal histories on
the sampled trajectories (outcome sampling), as the double-oracle reference counts them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from saddlepoint.config import check_positive, check_positive_int
from saddlepoint.errors import InvalidInputError
from saddlepoint.games.extensive_form import CHANCE, TERMINAL, CompiledGame
from saddlepoint.solvers.efg import EFGMethod, as_compiled
from saddlepoint.solvers.efg_best_response import (
    behaviour_from_weights,
    levels,
    nash_conv,
    realization_plan,
)

__all__ = [
    "BatchedExternalSampling",
    "BatchedOutcomeSampling",
    "ExternalSampling",
    "ExternalSamplingConfig",
    "ExternalSamplingMCCFR",
    "OutcomeSampling",
    "OutcomeSamplingConfig",
    "OutcomeSamplingMCCFR",
]


@dataclass(frozen=True)
class ExternalSamplingConfig:
    """External-sampling MCCFR (one traversal per player per iteration)."""

    algo: ClassVar[str] = "mccfr_external"
    method: ClassVar[str] = "saddlepoint.solvers.mccfr:ExternalSampling"
    iterations: int = 10_000
    """Number of iterations T (each traverses once for each player)."""
    batch_size: int = 1
    """Traversals per player sampled in one vectorised pass, all against the same current
    strategies (regrets updated after the pass); an iteration is still one traversal per
    player. 1 is the one-traversal reference (Lanctot et al. 2009, OpenSpiel's algorithm).
    A pass of more than one weights its number ``t`` as Linear CFR does (Brown & Sandholm
    2019): regrets are multiplied by ``t / (t + 1)`` after it, its average contributions by ``t``."""

    def __post_init__(self) -> None:
        check_positive_int("iterations", self.iterations, allow_zero=True)
        check_positive_int("batch_size", self.batch_size)


@dataclass(frozen=True)
class OutcomeSamplingConfig:
    """Outcome-sampling MCCFR (one sampled episode per player per iteration)."""

    algo: ClassVar[str] = "mccfr_outcome"
    method: ClassVar[str] = "saddlepoint.solvers.mccfr:OutcomeSampling"
    iterations: int = 100_000
    """Number of iterations T (each samples one episode for each player)."""
    epsilon: float = 0.6
    """ε: exploration mixed into the traverser's sampling policy (OpenSpiel's default 0.6)."""
    batch_size: int = 1
    """Episodes per player sampled in one vectorised pass, all against the same current
    strategies (regrets updated after the pass); an iteration is still one episode per player.
    1 is the one-episode reference (Lanctot et al. 2009, OpenSpiel's algorithm).
    A pass of more than one weights its number ``t`` as Linear CFR does (Brown & Sandholm
    2019): regrets are multiplied by ``t / (t + 1)`` after it, its average contributions by ``t``."""

    def __post_init__(self) -> None:
        check_positive_int("iterations", self.iterations, allow_zero=True)
        check_positive_int("batch_size", self.batch_size)
        check_positive("epsilon", self.epsilon)
        if self.epsilon > 1:
            raise InvalidInputError(f"epsilon must be in (0, 1], got {self.epsilon!r}")


class _MCCFRBase:
    def __init__(self, cg: CompiledGame, rng: np.random.Generator) -> None:
        self.cg = cg
        self.rng = rng
        self._t = 0
        self.nodes_visited = 0
        """Nodes counted so far (see the module docstring)."""

    @property
    def iteration(self) -> int:
        """Iterations completed."""
        return self._t

    def average_behaviour(self) -> tuple[np.ndarray, np.ndarray]:
        """Average behaviour strategies (unvisited infosets uniform), ``(m_p,)`` each."""
        s0, s1 = self._avg_weights()
        return behaviour_from_weights(self.cg, 0, s0), behaviour_from_weights(self.cg, 1, s1)

    def average_plans(self) -> tuple[np.ndarray, np.ndarray]:
        """Realization plans of the average strategies."""
        b0, b1 = self.average_behaviour()
        return realization_plan(self.cg, 0, b0), realization_plan(self.cg, 1, b1)

    def nash_conv(self) -> float:
        """NashConv of the average strategies."""
        return nash_conv(self.cg, *self.average_plans())

    def exploitability(self) -> float:
        """Exploitability (NashConv / 2) of the average strategies."""
        return 0.5 * self.nash_conv()

    def _avg_weights(self) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def state_dict(self) -> dict[str, np.ndarray]:
        """Everything :meth:`load_state_dict` needs to continue exactly where this sampler is:
        regrets, average weights, the generator's state and the counters (copies)."""
        regret, avg = self._tables()
        return {"t": np.array(self._t), "nodes_visited": np.array(self.nodes_visited),
                "rng": np.array(json.dumps(self.rng.bit_generator.state)),
                "regret0": np.array(regret[0]), "regret1": np.array(regret[1]),
                "avg0": np.array(avg[0]), "avg1": np.array(avg[1]), **self._extra_state()}

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        """Restore a :meth:`state_dict` taken from a sampler of the same game and config."""
        for p, tp in enumerate(self.cg.players):
            for name in ("regret", "avg"):
                if np.shape(state[f"{name}{p}"]) != (tp.num_sequences,):
                    raise InvalidInputError(f"checkpoint does not fit this game: {name}{p} has shape "
                                            f"{np.shape(state[f'{name}{p}'])}, expected ({tp.num_sequences},)")
        self._t = int(state["t"])
        self.nodes_visited = int(state["nodes_visited"])
        self.rng.bit_generator.state = json.loads(str(state["rng"]))
        self._restore(state)

    def _tables(self) -> tuple[list, list]:
        raise NotImplementedError

    def _extra_state(self) -> dict[str, np.ndarray]:
        return {}

    def _restore(self, state: dict[str, np.ndarray]) -> None:
        raise NotImplementedError


class _ListTables(_MCCFRBase):
    """The history table as Python lists: sampled walks touch a few histories each, where a
    plain loop beats NumPy calls on arrays of a few actions."""

    def __init__(self, cg: CompiledGame, rng: np.random.Generator) -> None:
        super().__init__(cg, rng)
        self._player = cg.h_player.tolist()
        self._infoset = cg.h_infoset.tolist()
        self._child = cg.h_child_start.tolist()
        self._nch = cg.h_num_children.tolist()
        self._prob = cg.h_chance_prob.tolist()
        self._util = cg.h_utility.tolist()
        self._first = [tp.infoset_first_seq.tolist() for tp in cg.players]
        self._regret = [[0.0] * tp.num_sequences for tp in cg.players]
        self._avg = [[0.0] * tp.num_sequences for tp in cg.players]
        self._uniforms: list[float] = []

    def _avg_weights(self) -> tuple[np.ndarray, np.ndarray]:
        return np.array(self._avg[0]), np.array(self._avg[1])

    def _tables(self) -> tuple[list, list]:
        return self._regret, self._avg

    def _extra_state(self) -> dict[str, np.ndarray]:
        return {"uniforms": np.array(self._uniforms, dtype=float)}

    def _restore(self, state: dict[str, np.ndarray]) -> None:
        self._regret = [np.asarray(state[f"regret{p}"], dtype=float).tolist() for p in (0, 1)]
        self._avg = [np.asarray(state[f"avg{p}"], dtype=float).tolist() for p in (0, 1)]
        self._uniforms = np.asarray(state["uniforms"], dtype=float).tolist()

    def _random(self) -> float:
        if not self._uniforms:
            self._uniforms = self.rng.random(4096).tolist()
        return self._uniforms.pop()

    def _strategy(self, pl: int, first: int, k: int) -> list[float]:
        """Regret matching at one infoset (uniform when no regret is positive)."""
        pos = [r if r > 0 else 0.0 for r in self._regret[pl][first:first + k]]
        total = sum(pos)
        return [r / total for r in pos] if total > 0 else [1.0 / k] * k

    def _pick(self, probs: list[float], start: int, k: int) -> int:
        """Sample an index in ``0..k-1`` from ``probs[start:start+k]`` (inverse CDF)."""
        u, j, acc = self._random(), 0, probs[start]
        while u >= acc and j < k - 1:
            j += 1
            acc += probs[start + j]
        return j


class ExternalSamplingMCCFR(_ListTables):
    """External-sampling MCCFR stepper; ``step()`` runs one traversal per player."""

    def __init__(self, cg: CompiledGame, config: ExternalSamplingConfig, rng: np.random.Generator) -> None:
        super().__init__(cg, rng)
        self.config = config

    def step(self) -> None:
        """One iteration: a traversal for player 0, then one for player 1."""
        self._t += 1
        for p in (0, 1):
            self._walk(0, p)

    def _walk(self, h: int, p: int) -> float:
        """The traverser's sampled value of history ``h`` (Lanctot et al. 2009, sec. 3.1)."""
        pl = self._player[h]
        if pl == TERMINAL:
            return self._util[h] if p == 0 else -self._util[h]
        start, k = self._child[h], self._nch[h]
        self.nodes_visited += k if pl == p else 1
        if pl == CHANCE:
            return self._walk(start + self._pick(self._prob, start, k), p)
        first = self._first[pl][self._infoset[h]]
        sigma = self._strategy(pl, first, k)
        if pl != p:
            avg = self._avg[pl]  # "simple" averaging at the opponent's histories
            for b in range(k):
                avg[first + b] += sigma[b]
            return self._walk(start + self._pick(sigma, 0, k), p)
        values = [self._walk(start + b, p) for b in range(k)]
        value = sum(s * v for s, v in zip(sigma, values))
        reg = self._regret[p]
        for b in range(k):
            reg[first + b] += values[b] - value
        return value


class OutcomeSamplingMCCFR(_ListTables):
    """Outcome-sampling MCCFR stepper; ``step()`` samples one episode per player."""

    def __init__(self, cg: CompiledGame, config: OutcomeSamplingConfig, rng: np.random.Generator) -> None:
        super().__init__(cg, rng)
        self.config = config

    def step(self) -> None:
        """One iteration: an episode for player 0, then one for player 1."""
        self._t += 1
        for p in (0, 1):
            self._episode(p)

    def _episode(self, p: int) -> None:
        eps = self.config.epsilon
        h, my_reach, opp_reach, sample_reach = 0, 1.0, 1.0, 1.0
        path = []
        while self._player[h] != TERMINAL:
            pl, start, k = self._player[h], self._child[h], self._nch[h]
            self.nodes_visited += 1
            if pl == CHANCE:  # chance reach enters both opponent and sample reach
                h = start + self._pick(self._prob, start, k)
                opp_reach *= self._prob[h]
                sample_reach *= self._prob[h]
                continue
            first = self._first[pl][self._infoset[h]]
            sigma = self._strategy(pl, first, k)
            sample = self._sampling(pl, first, k, sigma, eps) if pl == p else sigma
            j = self._pick(sample, 0, k)
            path.append((pl, first, k, sigma, sample, j, my_reach, opp_reach, sample_reach))
            if pl == p:
                my_reach *= sigma[j]
            else:
                opp_reach *= sigma[j]
            sample_reach *= sample[j]
            h = start + j
        value = self._util[h] if p == 0 else -self._util[h]
        for pl, first, k, sigma, sample, j, my_r, opp_r, samp_r in reversed(path):
            child = value / sample[j]  # baseline-corrected value of the sampled action (others 0)
            value = sigma[j] * child
            if pl == p:
                scale = opp_r / samp_r
                reg, avg = self._regret[p], self._avg[p]
                for b in self._updated_actions(p, first, k):
                    reg[first + b] += ((child if b == j else 0.0) - value) * scale
                    avg[first + b] += my_r * sigma[b] / samp_r

    def _sampling(self, pl: int, first: int, k: int, sigma: list[float], eps: float) -> list[float]:
        """The traverser's sampling distribution at an infoset: epsilon-uniform mixed with sigma."""
        return [eps / k + (1.0 - eps) * s for s in sigma]

    def _updated_actions(self, p: int, first: int, k: int) -> range | list[int]:
        """The actions whose regrets and average weights an episode updates (all of them here)."""
        return range(k)


class _Batched(_MCCFRBase):
    """Vectorised sampling passes on the history table: ``batch_size`` walks per player at once,
    level by level, all against the strategies of the pass's start.

    Regrets, average weights and strategies are one vector over both players' sequences
    (player 1's after player 0's). Every edge ``h -> c`` reads its probability through
    ``edge_src[c]``: the edge's sequence (player edges) or a slot holding chance's probability,
    both in one value vector whose head is the strategy vector, so a level's edge
    probabilities are one gather. Updates are summed with one ``bincount`` per pass."""

    def __init__(self, cg: CompiledGame, config: ExternalSamplingConfig | OutcomeSamplingConfig,
                 rng: np.random.Generator) -> None:
        super().__init__(cg, rng)
        self.config = config
        m0, m1 = (tp.num_sequences for tp in cg.players)
        self._m0, m = m0, m0 + m1
        self._regret, self._avg = np.zeros(m), np.zeros(m)
        self._passes = 0
        self._rows = np.arange(0)
        player, start, nch = cg.h_player, cg.h_child_start, cg.h_num_children
        kmax = max(int(nch.max(initial=1)), 1)
        self._cols = np.arange(kmax)
        # edge_src[c]: where the probability of the edge into history c lives in _values.
        h_count = cg.num_histories
        edge_src = np.full(h_count + kmax, m + h_count, dtype=np.int64)  # padding -> a zero slot
        edge_src[:h_count] = m + np.arange(h_count)  # chance edges (and the root): chance slots
        for p in (0, 1):
            mine = np.flatnonzero(player == p)
            first = cg.players[p].infoset_first_seq[cg.h_infoset[mine]] + p * m0
            k = nch[mine]
            offs = np.arange(int(k.sum())) - np.repeat(np.cumsum(k) - k, k)
            edge_src[np.repeat(start[mine], k) + offs] = np.repeat(first, k) + offs
        self._edge_src = edge_src
        self._values = np.concatenate([np.ones(m), cg.h_chance_prob, [0.0]])
        self._sigma = self._values[:m]
        self._player, self._child, self._nch = player, start, nch
        self._util = cg.h_utility.astype(np.float64)
        self._lv = (levels(cg, 0), levels(cg, 1))

    def step(self) -> None:
        """One iteration: a walk for player 0, then one for player 1."""
        self.advance(1)

    def advance(self, n: int) -> int:
        """``min(n, batch_size)`` iterations in one pass per player; returns how many."""
        b = min(n, self.config.batch_size)
        if self._rows.size < b:
            self._rows = np.arange(b)
        self._passes += 1
        for p in (0, 1):
            self._regret_matching()
            self._pass(p, b)
            if self.config.batch_size > 1:  # Linear CFR weighting of the batched passes
                self._regret *= self._passes / (self._passes + 1.0)
        self._t += b
        return b

    def _regret_matching(self) -> None:
        for p, lv in enumerate(self._lv):
            lo, hi = p * self._m0, p * self._m0 + self.cg.players[p].num_sequences
            if hi - lo == 1:
                continue
            pos = np.maximum(self._regret[lo + 1:hi], 0.0)
            sums = np.add.reduceat(pos, lv.first1)[lv.seq_inf1]
            out = self._sigma[lo + 1:hi]
            np.divide(1.0, lv.nact_rep, out=out)
            np.divide(pos, sums, out=out, where=sums > 0)

    def _edges(self, h: np.ndarray, k: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per history (one row each, padded to the most actions): each edge's source in the
        value vector (its sequence at player histories), its probability (0 in the padding),
        and which columns are real edges."""
        cols = self._cols[: int(k.max())]
        valid = cols < k[:, None]
        src = self._edge_src[self._child[h][:, None] + cols]
        return src, self._values[src] * valid, valid

    def _choose(self, probs: np.ndarray, k: np.ndarray) -> np.ndarray:
        """One column per row, sampled from the rows of ``probs`` (inverse CDF)."""
        u = self.rng.random(probs.shape[0])
        j = (u[:, None] >= np.cumsum(probs, axis=1)).sum(axis=1)
        return np.minimum(j, k - 1)

    def _add(self, table: np.ndarray, index: list[np.ndarray], weights: list[np.ndarray], scale: float = 1.0) -> None:
        if index:
            table += np.bincount(np.concatenate(index), np.concatenate(weights) * scale, minlength=table.size)

    def _avg_scale(self) -> float:
        """Weight of this pass's average contributions: its number under Linear CFR weighting."""
        return float(self._passes) if self.config.batch_size > 1 else 1.0

    def _avg_weights(self) -> tuple[np.ndarray, np.ndarray]:
        return self._avg[: self._m0].copy(), self._avg[self._m0:].copy()

    def _tables(self) -> tuple[list, list]:
        m0 = self._m0
        return [self._regret[:m0], self._regret[m0:]], [self._avg[:m0], self._avg[m0:]]

    def _extra_state(self) -> dict[str, np.ndarray]:
        return {"passes": np.array(self._passes)}

    def _restore(self, state: dict[str, np.ndarray]) -> None:
        self._passes = int(state["passes"])
        self._regret = np.concatenate([state["regret0"], state["regret1"]]).astype(float)
        self._avg = np.concatenate([state["avg0"], state["avg1"]]).astype(float)


class BatchedExternalSampling(_Batched):
    """External sampling with ``batch_size`` traversals per player per vectorised pass: each
    level of all traversals at once, every traverser action followed, one sampled for chance
    and the opponent; values come back up with one ``bincount`` per level."""

    def _pass(self, p: int, batch: int) -> None:
        player, util = self._player, self._util
        h = np.zeros(batch, dtype=np.int64)
        below: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
        values_at: list[np.ndarray] = []
        avg_idx: list[np.ndarray] = []
        avg_w: list[np.ndarray] = []
        while h.size:
            pl = player[h]
            values_at.append(np.where(pl == TERMINAL, util[h] if p == 0 else -util[h], 0.0))
            k, start = self._nch[h], self._child[h]
            mine = np.flatnonzero(pl == p)
            other = np.flatnonzero((pl != p) & (pl != TERMINAL))
            kk = k[mine]
            self.nodes_visited += int(kk.sum()) + other.size
            parent_m = np.repeat(mine, kk)
            offs = np.arange(parent_m.size) - np.repeat(np.cumsum(kk) - kk, kk)
            child_m = start[parent_m] + offs
            seq = self._edge_src[child_m]
            if other.size:
                src, probs, valid = self._edges(h[other], k[other])
                j = self._choose(probs, k[other])
                opp = pl[other] != CHANCE  # "simple" averaging: add σ at the opponent's histories
                avg_idx.append(src[opp][valid[opp]])
                avg_w.append(probs[opp][valid[opp]])
                child_o = start[other] + j
            else:
                child_o = other
            h = np.concatenate([child_m, child_o])
            weight = np.concatenate([self._sigma[seq], np.ones(other.size)])
            below.append((np.concatenate([parent_m, other]), weight, seq, parent_m))
        v = np.zeros(0)  # the (empty) level below the deepest
        reg_idx, reg_w = [], []
        while below:
            parents, weight, seq, parent_m = below.pop()
            value = values_at.pop()
            value += np.bincount(parents, weights=weight * v, minlength=value.size)
            if parent_m.size:
                reg_idx.append(seq)
                reg_w.append(v[: parent_m.size] - value[parent_m])
            v = value
        self._add(self._regret, reg_idx, reg_w)
        self._add(self._avg, avg_idx, avg_w, self._avg_scale())


class BatchedOutcomeSampling(_Batched):
    """Outcome sampling with ``batch_size`` episodes per player per vectorised pass: all episodes
    step down together; the values of the traverser's sampled histories come back up deepest
    first and the regret and average updates are summed with one ``bincount`` each."""

    def _pass(self, p: int, batch: int) -> None:
        eps = self.config.epsilon
        player = self._player
        live = np.arange(batch)  # the episodes still running; the arrays below follow it
        hh = np.zeros(batch, dtype=np.int64)
        my_reach, opp_reach, sample_reach = np.ones(batch), np.ones(batch), np.ones(batch)
        value = np.zeros(batch)
        path = []
        while True:
            pl = player[hh]
            done = pl == TERMINAL
            if done.any():
                value[live[done]] = self._util[hh[done]] if p == 0 else -self._util[hh[done]]
                keep = ~done
                if not keep.any():
                    break
                live, hh, pl = live[keep], hh[keep], pl[keep]
                my_reach, opp_reach, sample_reach = my_reach[keep], opp_reach[keep], sample_reach[keep]
            n = live.size
            self.nodes_visited += n
            k = self._nch[hh]
            src, probs, valid = self._edges(hh, k)
            mine = pl == p
            sample = probs.copy()
            if mine.any():
                km = k[mine]
                sample[mine] = (eps / km)[:, None] * valid[mine] + (1.0 - eps) * probs[mine]
            j = self._choose(sample, k)
            rows = self._rows[:n]
            pj, sj = probs[rows, j], sample[rows, j]
            if mine.any():
                path.append((live[mine], src[mine], probs[mine], valid[mine], j[mine], sj[mine],
                             (my_reach / sample_reach)[mine], (opp_reach / sample_reach)[mine]))
                my_reach *= np.where(mine, pj, 1.0)
                opp_reach *= np.where(mine, 1.0, pj)  # chance reach enters the opponent's
            else:
                opp_reach *= pj
            sample_reach *= sj
            hh = self._child[hh] + j
        reg_idx, reg_w, avg_idx, avg_w = [], [], [], []
        for who, src, sigma, valid, j, sj, my_scale, opp_scale in reversed(path):
            rows = self._rows[: who.size]
            child = value[who] / sj  # baseline-corrected value of the sampled action (others 0)
            v = sigma[rows, j] * child
            chosen = np.zeros_like(sigma)
            chosen[rows, j] = child
            reg_idx.append(src[valid])
            reg_w.append(((chosen - v[:, None]) * opp_scale[:, None])[valid])
            avg_idx.append(src[valid])
            avg_w.append((sigma * my_scale[:, None])[valid])
            value[who] = v
        self._add(self._regret, reg_idx, reg_w)
        self._add(self._avg, avg_idx, avg_w, self._avg_scale())


class _Sampler(EFGMethod):
    """An MCCFR method: the reference sampler (``batch_size == 1``) or the batched one. An
    iteration budget never cuts a batched pass: ``advance(n)`` runs a whole pass of up to
    ``batch_size`` iterations, limited by what is left of ``config.iterations`` (not by ``n``),
    so evaluation points never change the algorithm; the evaluation lands on the first pass
    boundary at or past its point."""

    reference: ClassVar[type]
    batched: ClassVar[type]

    def __init__(self, game: Any, config: Any, rng: np.random.Generator) -> None:
        self.cg, self.config = as_compiled(game), config
        self.sampler = (self.reference if config.batch_size == 1 else self.batched)(self.cg, config, rng)

    @property
    def iteration(self) -> int:
        return self.sampler.iteration

    @property
    def nodes_visited(self) -> int:  # type: ignore[override]
        return self.sampler.nodes_visited

    def step(self) -> None:
        self.sampler.step()

    def advance(self, n: int) -> int:
        """A whole batched pass (see the class docstring), or one reference iteration."""
        if self.config.batch_size == 1:
            self.sampler.step()
            return 1
        return self.sampler.advance(max(n, self.config.iterations - self.sampler.iteration))

    def average_plans(self) -> tuple[np.ndarray, np.ndarray]:
        return self.sampler.average_plans()

    def average_behaviour(self) -> tuple[np.ndarray, np.ndarray]:
        return self.sampler.average_behaviour()

    def exploitability(self) -> float:
        """Exploitability (NashConv / 2) of the average strategies."""
        return self.sampler.exploitability()

    def state_dict(self) -> dict[str, np.ndarray]:
        return self.sampler.state_dict()

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        self.sampler.load_state_dict(state)


class ExternalSampling(_Sampler):
    """The external-sampling MCCFR method (:class:`ExternalSamplingConfig`)."""

    reference = ExternalSamplingMCCFR
    batched = BatchedExternalSampling


class OutcomeSampling(_Sampler):
    """The outcome-sampling MCCFR method (:class:`OutcomeSamplingConfig`)."""

    reference = OutcomeSamplingMCCFR
    batched = BatchedOutcomeSampling
