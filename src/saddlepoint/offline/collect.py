"""Collect offline datasets on maze levels with epsilon-greedy BFS behaviour policies.

Behaviours (the IMAC notes' data mix): ``optimal`` (BFS, epsilon 0), ``expert`` (epsilon 0.1),
``medium`` (epsilon 0.5) and ``random`` (epsilon 1). With probability epsilon a slot takes a
uniform action, otherwise one of the moves that shorten its BFS distance to the goal (ties
broken uniformly). Episodes run in a :class:`~saddlepoint.envs.vector.MazeVectorEnv` over the
given levels (uniform auto-reset) and are stored whole, in the order they finish; the last one
is cut to the requested size and marked truncated.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

import numpy as np

from saddlepoint.errors import InvalidInputError
from saddlepoint.offline.dataset import TransitionDataset, concatenate

logger = logging.getLogger(__name__)

BEHAVIOURS = {"optimal": 0.0, "expert": 0.1, "medium": 0.5, "random": 1.0}


def _epsilon(behaviour: str | float) -> float:
    if isinstance(behaviour, str):
        if behaviour not in BEHAVIOURS:
            raise InvalidInputError(f"unknown behaviour {behaviour!r}; choose from {', '.join(BEHAVIOURS)} "
                                    "or pass an epsilon in [0, 1]")
        return BEHAVIOURS[behaviour]
    if not 0.0 <= float(behaviour) <= 1.0:
        raise InvalidInputError(f"behaviour epsilon must lie in [0, 1], got {behaviour}")
    return float(behaviour)


def bfs_actions(masks: np.ndarray, positions: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One BFS-optimal move per slot (uniform among ties; uniform if none, e.g. on the goal).

    masks (B, N, N, 4) bool: each slot's ``MazeLevel.optimal_action_mask``; positions (B, 2) int
    (row, col) -> (B,) int64.
    """
    here = masks[np.arange(len(positions)), positions[:, 0], positions[:, 1]].copy()
    here[~here.any(1)] = True
    return (rng.random(here.shape) * here).argmax(1).astype(np.int64)


def collect(levels: Sequence, n_transitions: int, behaviour: str | float = "expert", *, num_envs: int = 64,
            max_steps: int = 64, obs_mode: str = "symbolic", seed: int = 0) -> TransitionDataset:
    """``n_transitions`` transitions of one behaviour on ``levels``; the same seed gives the same dataset."""
    from saddlepoint.envs.maze import as_levels
    from saddlepoint.envs.vector import MazeVectorEnv

    eps = _epsilon(behaviour)
    levels = as_levels(levels, name="levels")
    if isinstance(n_transitions, bool) or not isinstance(n_transitions, (int, np.integer)) or n_transitions < 1:
        raise InvalidInputError(f"n_transitions must be a positive integer, got {n_transitions!r}")
    rng = np.random.default_rng(seed)
    key_to_id: dict[str, int] = {}
    for lv in levels:
        key_to_id.setdefault(lv.key, len(key_to_id))
    texts = [""] * len(key_to_id)
    for lv in levels:
        texts[key_to_id[lv.key]] = lv.to_text()
    list_to_id = np.array([key_to_id[lv.key] for lv in levels], np.int32)
    masks = np.stack([lv.optimal_action_mask for lv in levels])  # (L, N, N, 4)
    env = MazeVectorEnv(levels, num_envs=num_envs, max_steps=max_steps, obs_mode=obs_mode,
                        seed=int(rng.integers(2**31)))
    obs, info = env.reset(seed=int(rng.integers(2**31)))
    current = info["level_index"]
    steps: dict[str, list[np.ndarray]] = {k: [] for k in ("obs", "act", "rew", "next", "term", "trunc", "lvl")}
    finished, t = 0, 0
    complete = np.zeros(num_envs, np.int64)
    while finished < n_transitions:
        greedy = bfs_actions(masks[current], env.agent_pos, rng)
        explore = rng.random(num_envs) < eps
        actions = np.where(explore, rng.integers(0, 4, num_envs), greedy)
        next_obs, reward, term, trunc, info = env.step(actions)
        done = term | trunc
        last = np.where(done.reshape(-1, *[1] * (next_obs.ndim - 1)), info["final_obs"], next_obs)
        steps["obs"].append(obs.astype(np.uint8))
        steps["act"].append(actions)
        steps["rew"].append(np.asarray(reward, np.float32))
        steps["next"].append(last.astype(np.uint8))
        steps["term"].append(np.asarray(term, bool))
        steps["trunc"].append(np.asarray(trunc, bool))
        steps["lvl"].append(list_to_id[current])
        t += 1
        complete[done] = t  # transitions of each slot that belong to finished episodes
        finished = int(complete.sum())
        obs, current = next_obs, info["level_index"]
    return _assemble(steps, n_transitions, tuple(texts), obs_mode)


def _assemble(steps: dict, n: int, texts: tuple, obs_mode: str) -> TransitionDataset:
    a = {k: np.stack(v) for k, v in steps.items()}  # (t, B, ...)
    done = a["term"] | a["trunc"]
    episodes = []  # (end step, slot, start step)
    for slot in range(done.shape[1]):
        ends = np.flatnonzero(done[:, slot])
        starts = np.concatenate([[0], ends[:-1] + 1])
        episodes += [(int(e), slot, int(s)) for s, e in zip(starts, ends)]
    episodes.sort()
    parts: dict[str, list] = {k: [] for k in a}
    count, ep_starts = 0, []
    for end, slot, start in episodes:
        if count >= n:
            break
        take = min(end - start + 1, n - count)
        ep_starts.append(count)
        for k in a:
            parts[k].append(a[k][start:start + take, slot])
        if take < end - start + 1:
            parts["trunc"][-1] = parts["trunc"][-1].copy()
            parts["trunc"][-1][-1] = True
        count += take
    c = {k: np.concatenate(v) for k, v in parts.items()}
    return TransitionDataset(c["obs"], c["act"].astype(np.int64), c["rew"], c["next"], c["term"], c["trunc"],
                             c["lvl"], np.array(ep_starts, np.int64), texts, obs_mode)


def collect_mixture(levels: Sequence, n_transitions: int, mixture: Mapping[str | float, float] | None = None,
                    *, seed: int = 0, **kwargs) -> TransitionDataset:
    """A dataset mixing behaviours in the given proportions (default: equal expert, medium, random)."""
    mixture = dict(mixture) if mixture is not None else {"expert": 1.0, "medium": 1.0, "random": 1.0}
    total = float(sum(mixture.values()))
    if not mixture or total <= 0 or any(w < 0 for w in mixture.values()):
        raise InvalidInputError(f"mixture weights must be non-negative with a positive sum, got {mixture}")
    counts = [int(round(n_transitions * w / total)) for w in mixture.values()]
    counts[-1] = n_transitions - sum(counts[:-1])
    seeds = np.random.SeedSequence(seed).spawn(len(counts))
    parts = [collect(levels, c, b, seed=int(s.generate_state(1)[0]), **kwargs)
             for (b, c), s in zip(zip(mixture, counts), seeds) if c > 0]
    return concatenate(parts)
