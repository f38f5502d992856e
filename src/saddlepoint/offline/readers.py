"""Readers for real pixel offline datasets from local paths (the library never downloads them).

* **V-D4RL** (Lu et al. 2022): a folder of HDF5 shards, each holding dm_env time steps under the
  keys ``observation``, ``action``, ``reward``, ``discount`` and ``step_type`` (0 = FIRST,
  1 = MID, 2 = LAST). Step ``t`` carries the action taken at ``t - 1``, the reward it earned and
  the resulting observation, so the transition into step ``t`` (not a FIRST step) is
  ``(obs[t-1], action[t], reward[t], obs[t], discount[t] == 0)``. Without ``step_type`` a shard is
  read as one episode.
* **gen_dgrl Procgen** (Mediratta et al. 2023): a folder of ``.npy`` files, one trajectory each,
  written with ``np.savez_compressed`` (a pickled dict is also accepted) with keys
  ``observations``, ``actions``, ``rewards`` and ``dones``. ``observations`` holds ``T + 1``
  frames (the last is the final next observation) or ``T`` frames (then the last transition's
  next observation is unknown and it is kept only if it ended the episode, with its own frame
  as placeholder).

Both return a :class:`PixelTransitions` record; observations keep their stored layout and dtype.
"""

from __future__ import annotations

import logging
import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from saddlepoint.errors import InvalidInputError, require

__all__ = ["PixelTransitions", "load_vd4rl", "load_gen_dgrl"]

log = logging.getLogger(__name__)

VD4RL_KEYS = ("observation", "action", "reward", "discount")
GEN_DGRL_KEYS = ("observations", "actions", "rewards", "dones")
FIRST = 0


@dataclass(frozen=True, eq=False)
class PixelTransitions:
    """``n`` transitions read from disk, ordered episode by episode."""

    observations: np.ndarray
    """(n, *obs_shape) observation before each action, as stored."""
    actions: np.ndarray
    """(n,) int64 discrete ids (Procgen) or (n, action_dim) float32 (V-D4RL)."""
    rewards: np.ndarray
    """(n,) float32."""
    next_observations: np.ndarray
    """(n, *obs_shape) observation after each action."""
    terminals: np.ndarray
    """(n,) bool: no bootstrapping past this transition."""
    episode_starts: np.ndarray
    """(E,) int64 index of the first transition of each episode/file."""

    def __len__(self) -> int:
        return int(self.rewards.shape[0])


def _files(path: str | Path, suffixes: tuple[str, ...], what: str) -> list[Path]:
    path = Path(path)
    if not path.exists():
        raise InvalidInputError(f"{what} path {path} does not exist")
    if path.is_file():
        return [path]
    files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in suffixes)
    if not files:
        raise InvalidInputError(f"no {'/'.join(suffixes)} files under {path} ({what})")
    return files


def _stack(parts: list[dict[str, np.ndarray]], what: str) -> PixelTransitions:
    parts = [p for p in parts if len(p["rewards"])]
    if not parts:
        raise InvalidInputError(f"{what}: the files hold no transitions")
    lengths = np.array([len(p["rewards"]) for p in parts])
    cat = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    extra = [np.flatnonzero(p["starts"]) + s for p, s in zip(parts, starts)]
    episode_starts = np.unique(np.concatenate([starts, *extra])).astype(np.int64)
    return PixelTransitions(observations=cat["obs"], actions=cat["actions"], rewards=cat["rewards"].astype(np.float32),
                            next_observations=cat["next_obs"], terminals=cat["terminals"].astype(bool),
                            episode_starts=episode_starts)


def _flat(a: np.ndarray, n: int, name: str, where: Path) -> np.ndarray:
    a = np.asarray(a)
    if a.shape[0] != n:
        raise InvalidInputError(f"{where}: {name!r} has {a.shape[0]} entries, expected {n}")
    return a.reshape(n) if a.ndim == 2 and a.shape[1] == 1 else a


def load_vd4rl(path: str | Path) -> PixelTransitions:
    """Read V-D4RL HDF5 shards from a file or a folder (searched recursively, sorted by name)."""
    h5py = require("h5py", "offline")
    parts = []
    for file in _files(path, (".hdf5", ".h5"), "V-D4RL"):
        with h5py.File(file, "r") as f:
            missing = [k for k in VD4RL_KEYS if k not in f]
            if missing:
                raise InvalidInputError(f"{file}: missing V-D4RL key(s) {', '.join(missing)}; found {', '.join(sorted(f))}")
            data = {k: f[k][()] for k in (*VD4RL_KEYS, "step_type") if k in f}
        n = len(data["observation"])
        step_type = _flat(data["step_type"], n, "step_type", file) if "step_type" in data else np.r_[FIRST, np.ones(n - 1)]
        reward, discount = _flat(data["reward"], n, "reward", file), _flat(data["discount"], n, "discount", file)
        action = np.asarray(data["action"], np.float32)
        if len(action) != n:
            raise InvalidInputError(f"{file}: 'action' has {len(action)} entries, expected {n}")
        t = np.flatnonzero(step_type[1:] != FIRST) + 1  # steps reached by an action
        starts = np.zeros(len(t), bool)
        starts[1:] = t[1:] - 1 != t[:-1]  # a new episode begins where the chain of steps breaks
        parts.append({"obs": data["observation"][t - 1], "actions": action[t], "rewards": reward[t],
                      "next_obs": data["observation"][t], "terminals": discount[t] == 0, "starts": starts})
    return _stack(parts, "V-D4RL")


def _load_episode(file: Path) -> dict[str, np.ndarray]:
    try:
        with np.load(file, allow_pickle=False) as data:
            if isinstance(data, np.ndarray):
                raise InvalidInputError(f"{file}: a plain array, not a gen_dgrl trajectory (expected keys "
                                        f"{', '.join(GEN_DGRL_KEYS)})")
            return {k: data[k] for k in data.files}
    except (ValueError, OSError):
        with open(file, "rb") as f:  # older files: a pickled dict of arrays
            data = pickle.load(f)
        if not isinstance(data, dict):
            raise InvalidInputError(f"{file}: not a gen_dgrl trajectory (expected a dict with keys "
                                    f"{', '.join(GEN_DGRL_KEYS)})")
        return data


def load_gen_dgrl(path: str | Path) -> PixelTransitions:
    """Read gen_dgrl Procgen trajectories (one ``.npy`` per trajectory) from a file or folder."""
    parts = []
    for file in _files(path, (".npy", ".npz"), "gen_dgrl"):
        ep = _load_episode(file)
        missing = [k for k in GEN_DGRL_KEYS if k not in ep]
        if missing:
            raise InvalidInputError(f"{file}: missing gen_dgrl key(s) {', '.join(missing)}; found {', '.join(sorted(ep))}")
        obs = np.asarray(ep["observations"])
        n = len(np.asarray(ep["rewards"]).reshape(-1))
        actions = _flat(ep["actions"], n, "actions", file).astype(np.int64)
        rewards, dones = _flat(ep["rewards"], n, "rewards", file), _flat(ep["dones"], n, "dones", file).astype(bool)
        if len(obs) == n + 1:
            nxt = obs[1:]
        elif len(obs) == n:
            keep = n - 1 + int(n > 0 and dones[-1])
            nxt = np.concatenate([obs[1:], obs[-1:]])[:keep]
            obs, actions, rewards, dones = obs[:keep], actions[:keep], rewards[:keep], dones[:keep]
        else:
            raise InvalidInputError(f"{file}: 'observations' has {len(obs)} frames for {n} rewards (expected {n} or {n + 1})")
        starts = np.zeros(len(rewards), bool)
        starts[1:] = dones[:-1]  # a file may hold several episodes back to back
        parts.append({"obs": obs[:len(rewards)], "actions": actions, "rewards": rewards, "next_obs": nxt,
                      "terminals": dones, "starts": starts})
    return _stack(parts, "gen_dgrl")
