"""Level samplers for unsupervised environment design: domain randomisation, prioritised level
replay (PLR, Jiang et al. 2021), robust PLR (PLR-perp, Jiang et al. 2021b) and ACCEL edits
(Parker-Holder et al. 2022), for any hashable level: imagined ``(context, H)`` pairs or real
maze levels.

The sampler decides, once per batch, whether the batch replays levels from its buffer or draws
fresh ones, and says whether the learner may take a gradient step on it (robust PLR: only on
replayed levels). After the roll-out the learner reports one score per level with
:meth:`LevelSampler.update`.

Replay distribution (PLR eq. 1-3)::

    P_replay(l_i) = (1 - rho) P_S(l_i) + rho P_C(l_i)
    P_S(l_i) ∝ (1 / rank(S_i))^(1/beta)          (rank; top-k keeps only ranks <= k)
    P_C(l_i) ∝ n - C_i                           (n: sampling clock, C_i: last time l_i was drawn)

The clock ``n`` advances by one for every level drawn (replayed or new); ``C_i`` is reset only
for the level drawn. Ties in score share the best rank, so an all-equal buffer has a uniform
P_S. Non-finite scores never enter the buffer (jaxued PR #6): a new level with one is
dropped and a replayed level keeps its old score.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from saddlepoint.config import check_choice, check_positive, check_positive_int
from saddlepoint.errors import InvalidInputError

STRATEGIES = ("dr", "plr", "robust_plr", "accel")
PRIORITISATIONS = ("rank", "topk")


@dataclass(frozen=True)
class SamplerConfig:
    """Level sampler settings (defaults: jaxued's maze PLR)."""

    strategy: str = "robust_plr"
    """``dr`` (always fresh levels), ``plr`` (replay and fresh, learn on both), ``robust_plr``
    (learn only on replayed levels) or ``accel`` (robust PLR whose replayed levels are also edited)."""
    capacity: int = 4000
    """Buffer size (number of levels kept with their scores)."""
    replay_prob: float = 0.8
    """p_replay: probability that a batch is replayed from the buffer once it is filled enough."""
    prioritization: str = "rank"
    """``rank`` (P_S ∝ rank^(-1/beta)) or ``topk`` (the same, restricted to the ``top_k`` best)."""
    temperature: float = 0.3
    """beta: rank temperature; small values concentrate on the highest scores."""
    top_k: int = 1
    """k for ``topk`` prioritisation."""
    staleness_coef: float = 0.3
    """rho: weight of the staleness distribution P_C in P_replay."""
    min_fill: float = 0.5
    """Replay only once the buffer holds at least ``min_fill * capacity`` levels."""
    duplicate_check: bool = True
    """A fresh level that is already in the buffer updates that entry instead of adding a copy."""
    num_edits: int = 5
    """ACCEL: edits applied to each replayed level to make a child level."""

    def __post_init__(self) -> None:
        check_choice("strategy", self.strategy, STRATEGIES)
        check_positive_int("capacity", self.capacity)
        check_choice("prioritization", self.prioritization, PRIORITISATIONS)
        check_positive("temperature", self.temperature)
        check_positive_int("top_k", self.top_k)
        check_positive_int("num_edits", self.num_edits)
        for name in ("replay_prob", "staleness_coef", "min_fill"):
            value = getattr(self, name)
            check_positive(name, value, allow_zero=True)
            if value > 1:
                raise InvalidInputError(f"{name} must lie in [0, 1], got {value!r}")
        if not isinstance(self.duplicate_check, bool):
            raise InvalidInputError(f"duplicate_check must be a bool, got {self.duplicate_check!r}")

    @property
    def robust(self) -> bool:
        """Whether gradient updates happen only on replayed levels."""
        return self.strategy in ("robust_plr", "accel")


@dataclass(frozen=True)
class LevelBatch:
    """One sampling decision for a batch of levels.

    ``levels``: the levels, one per slot; ``slots``: their buffer positions (-1 for a fresh
    level not in the buffer); ``replay``: drawn from the buffer; ``update``: whether the learner
    may take a gradient step on the roll-outs of this batch.
    """

    levels: tuple
    slots: np.ndarray
    replay: bool
    update: bool


def rank_weights(scores: np.ndarray, temperature: float, top_k: int | None = None) -> np.ndarray:
    """P_S: ``(1/rank)^(1/beta)`` normalised; ties share the best rank. (m,) -> (m,), sums to 1.

    Computed in log space so small temperatures do not underflow to an all-zero vector.
    """
    scores = np.asarray(scores, dtype=np.float64)
    if scores.size == 0:
        return np.zeros(0)
    order = np.sort(scores)[::-1]
    # rank = 1 + number of strictly larger scores ("min" ranking of ties)
    ranks = 1 + np.searchsorted(-order, -scores, side="left")
    log_w = -np.log(ranks) / temperature
    if top_k is not None:
        log_w = np.where(ranks <= top_k, log_w, -np.inf)
    log_w -= log_w.max()
    w = np.exp(log_w)
    return w / w.sum()


def staleness_weights(timestamps: np.ndarray, clock: int) -> np.ndarray:
    """P_C ∝ ``clock - C_i``; uniform when every level was drawn at the current clock. (m,) -> (m,)."""
    timestamps = np.asarray(timestamps, dtype=np.float64)
    if timestamps.size == 0:
        return np.zeros(0)
    stale = np.maximum(clock - timestamps, 0.0)
    total = stale.sum()
    if total <= 0:
        return np.full(timestamps.size, 1.0 / timestamps.size)
    return stale / total


class LevelSampler:
    """A level buffer with PLR prioritisation for hashable levels.

    ``new_level(rng)`` draws a fresh level (the domain-randomisation generator); ``edit(level,
    rng)`` makes a small change to a level (ACCEL, one edit per call). ``rng`` drives every
    random choice, and its state is part of :meth:`state_dict`.
    """

    def __init__(
        self,
        config: SamplerConfig,
        new_level: Callable[[np.random.Generator], Hashable],
        rng: np.random.Generator,
        edit: Callable[[Any, np.random.Generator], Hashable] | None = None,
    ) -> None:
        if config.strategy == "accel" and edit is None:
            raise InvalidInputError("strategy 'accel' needs an edit function")
        self.config = config
        self._new_level = new_level
        self._edit = edit
        self._rng = rng
        self._levels: list[Hashable] = []
        self._scores = np.zeros(0)
        self._timestamps = np.zeros(0, dtype=np.int64)
        self._max_returns = np.zeros(0)
        self._index: dict[Hashable, int] = {}
        self._clock = 0

    # read-only views -------------------------------------------------------------------
    @property
    def clock(self) -> int:
        """n: the number of levels drawn so far (replayed and new)."""
        return self._clock

    @property
    def size(self) -> int:
        """Number of levels in the buffer."""
        return len(self._levels)

    @property
    def levels(self) -> tuple:
        """The buffered levels (a copy)."""
        return tuple(self._levels)

    @property
    def scores(self) -> np.ndarray:
        """Scores of the buffered levels (a copy)."""
        return self._scores.copy()

    @property
    def timestamps(self) -> np.ndarray:
        """C_i: clock value when each buffered level was last drawn (a copy)."""
        return self._timestamps.copy()

    def max_returns(self, slots: np.ndarray) -> np.ndarray:
        """Best episode return seen on each buffered slot (NaN for fresh levels, slot -1)."""
        slots = np.asarray(slots)
        out = np.full(slots.shape, np.nan)
        ok = slots >= 0
        out[ok] = self._max_returns[slots[ok]]
        return out

    def can_replay(self) -> bool:
        """Whether the buffer is filled enough to replay (and the strategy replays at all)."""
        if self.config.strategy == "dr" or self.size == 0:
            return False
        return self.size >= self.config.min_fill * self.config.capacity

    def replay_probs(self) -> np.ndarray:
        """P_replay over the buffered levels, (size,); sums to 1 when the buffer is not empty."""
        cfg = self.config
        if self.size == 0:
            return np.zeros(0)
        top_k = cfg.top_k if cfg.prioritization == "topk" else None
        p_s = rank_weights(self._scores, cfg.temperature, top_k)
        p_c = staleness_weights(self._timestamps, self._clock)
        p = (1.0 - cfg.staleness_coef) * p_s + cfg.staleness_coef * p_c
        return p / p.sum()

    def next_level_distribution(self) -> tuple[float, np.ndarray]:
        """Where the next batch comes from: ``(p_new, p_replay_i)``; they sum to 1 in every state."""
        if not self.can_replay():
            return 1.0, np.zeros(self.size)
        q = self.config.replay_prob
        return 1.0 - q, q * self.replay_probs()

    # sampling --------------------------------------------------------------------------
    def sample(self, n: int) -> LevelBatch:
        """Draw ``n`` levels: all replayed (with replacement, from P_replay) or all fresh."""
        check_positive_int("n", n)
        replay = self.can_replay() and self._rng.random() < self.config.replay_prob
        if replay:
            slots = np.empty(n, dtype=np.int64)
            for j in range(n):  # one sampling event per level: the clock moves between draws
                slots[j] = self._rng.choice(self.size, p=self.replay_probs())
                self._clock += 1
                self._timestamps[slots[j]] = self._clock
            levels = tuple(self._levels[s] for s in slots)
        else:
            levels = tuple(self._new_level(self._rng) for _ in range(n))
            slots = np.full(n, -1, dtype=np.int64)
            self._clock += n
        update = replay or not self.config.robust
        return LevelBatch(levels=levels, slots=slots, replay=replay, update=update)

    def edit_batch(self, batch: LevelBatch) -> LevelBatch:
        """ACCEL: children of ``batch``'s levels, ``num_edits`` edits each; a fresh, no-update batch."""
        if self._edit is None:
            raise InvalidInputError("this sampler has no edit function")
        children = []
        for level in batch.levels:
            for _ in range(self.config.num_edits):
                level = self._edit(level, self._rng)
            children.append(level)
        self._clock += len(children)
        return LevelBatch(
            levels=tuple(children), slots=np.full(len(children), -1, dtype=np.int64), replay=False, update=False
        )

    # scoring ---------------------------------------------------------------------------
    def update(self, batch: LevelBatch, scores: Sequence[float], returns: Sequence[float] | None = None) -> int:
        """Report one score (and optionally the best episode return) per level of ``batch``.

        Replayed levels get their new score; fresh levels enter the buffer if it has room or
        if they beat its lowest score. Non-finite scores are ignored. Returns the number of
        levels added.
        """
        scores = np.asarray(scores, dtype=np.float64)
        if scores.shape != (len(batch.levels),):
            raise InvalidInputError(f"expected {len(batch.levels)} scores, got shape {scores.shape}")
        if returns is None:
            returns = np.full(len(batch.levels), np.nan)
        returns = np.asarray(returns, dtype=np.float64)
        if self.config.strategy == "dr":
            return 0
        added = 0
        timestamp = self._clock
        for level, slot, score, ret in zip(batch.levels, batch.slots, scores, returns):
            if slot < 0 and self.config.duplicate_check:
                slot = self._index.get(level, -1)
            if slot >= 0:
                if math.isfinite(score):
                    self._scores[slot] = score
                if math.isfinite(ret):
                    self._max_returns[slot] = np.fmax(self._max_returns[slot], ret)
                continue
            if not math.isfinite(score):
                continue
            added += self._insert(level, float(score), timestamp, ret)
        return added

    def _insert(self, level: Hashable, score: float, timestamp: int, ret: float) -> int:
        if self.size < self.config.capacity:
            self._levels.append(level)
            self._scores = np.append(self._scores, score)
            self._timestamps = np.append(self._timestamps, timestamp)
            self._max_returns = np.append(self._max_returns, ret)
            self._index[level] = self.size - 1
            return 1
        worst = int(np.argmin(self._scores))
        if score <= self._scores[worst]:
            return 0
        old = self._levels[worst]
        if self._index.get(old) == worst:
            del self._index[old]
        self._levels[worst] = level
        self._scores[worst] = score
        self._timestamps[worst] = timestamp
        self._max_returns[worst] = ret
        self._index[level] = worst
        return 1

    # checkpoints -----------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """Everything needed to resume: config, buffer, clock and the generator's state."""
        return {
            "config": dataclasses.asdict(self.config),
            "levels": list(self._levels),
            "scores": self._scores.copy(),
            "timestamps": self._timestamps.copy(),
            "max_returns": self._max_returns.copy(),
            "clock": self._clock,
            "rng": self._rng.bit_generator.state,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore :meth:`state_dict`; the config must match this sampler's."""
        if state.get("config") != dataclasses.asdict(self.config):
            raise InvalidInputError("sampler state was saved with a different SamplerConfig")
        self._levels = list(state["levels"])
        self._scores = np.asarray(state["scores"], dtype=np.float64).copy()
        self._timestamps = np.asarray(state["timestamps"], dtype=np.int64).copy()
        self._max_returns = np.asarray(state["max_returns"], dtype=np.float64).copy()
        self._clock = int(state["clock"])
        self._rng.bit_generator.state = state["rng"]
        self._index = {}
        for i, level in enumerate(self._levels):
            self._index.setdefault(level, i)


def maze_edit(level, rng: np.random.Generator, max_tries: int = 20):
    """ACCEL's edit of a :class:`~saddlepoint.envs.maze.MazeLevel`: add or remove one interior wall
    (never on the start or goal), redrawn until the level stays solvable; after ``max_tries``
    failed draws the level is returned unchanged."""
    from saddlepoint.envs.maze import MazeLevel

    n = level.size
    for _ in range(max_tries):
        cell = (int(rng.integers(1, n - 1)), int(rng.integers(1, n - 1)))
        if cell in (level.start, level.goal):
            continue
        walls = np.array(level.walls)
        walls[cell] = not walls[cell]
        child = MazeLevel(walls, level.start, level.goal)
        if child.is_solvable():
            return child
    return level
