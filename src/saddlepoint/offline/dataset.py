"""Transition datasets for offline RL on the maze family: a validated record, ``.npz`` and Minari I/O.

A :class:`TransitionDataset` holds ``n`` transitions ordered episode by episode::

    observations       (n, *obs_shape) uint8   symbolic 0/1 channels or RGB pixels
    actions            (n,) int64              action ids 0..3
    rewards            (n,) float32
    next_observations  (n, *obs_shape) uint8
    terminated         (n,) bool               goal reached
    truncated          (n,) bool               time limit (or the collection budget) cut the episode
    level_ids          (n,) int32              index into ``level_texts``
    episode_starts     (E,) int64              first transition of each episode (starts at 0)

Observations are stored as ``uint8`` (the symbolic view is 0/1): a 50k-transition 11x11
symbolic dataset takes about 36 MB. Saves go to a temporary sibling first and are renamed into
place, so an interrupted save leaves nothing half-written behind.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import tempfile
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from saddlepoint.errors import InvalidInputError, require

logger = logging.getLogger(__name__)

OBS_MODES = ("symbolic", "egocentric", "rgb")
NUM_ACTIONS = 4
_FIELDS = ("observations", "actions", "rewards", "next_observations", "terminated", "truncated",
           "level_ids", "episode_starts")
_DTYPES = {"observations": np.uint8, "actions": np.int64, "rewards": np.float32,
           "next_observations": np.uint8, "terminated": np.bool_, "truncated": np.bool_,
           "level_ids": np.int32, "episode_starts": np.int64}
_SIDECAR = "saddlepoint_dataset.json"


def _readonly(a: np.ndarray) -> np.ndarray:
    a = np.ascontiguousarray(a)
    a.setflags(write=False)
    return a


@dataclass(frozen=True, eq=False)
class TransitionDataset:
    """An offline dataset of maze transitions (arrays are read-only; see the module docstring)."""

    observations: np.ndarray
    """(n, *obs_shape) uint8: the observation before each action."""
    actions: np.ndarray
    """(n,) int64: action ids in 0..3 (up, right, down, left)."""
    rewards: np.ndarray
    """(n,) float32: reward received after each action."""
    next_observations: np.ndarray
    """(n, *obs_shape) uint8: the observation after each action (the last one for a finished episode)."""
    terminated: np.ndarray
    """(n,) bool: the action reached the goal (no bootstrapping past it)."""
    truncated: np.ndarray
    """(n,) bool: the episode was cut by the time limit or by the end of collection."""
    level_ids: np.ndarray
    """(n,) int32: the level each transition was played on, an index into ``level_texts``."""
    episode_starts: np.ndarray
    """(E,) int64: index of the first transition of each episode; strictly increasing, starts at 0."""
    level_texts: tuple[str, ...]
    """Text form of each level (``MazeLevel.from_text`` rebuilds it)."""
    obs_mode: str = "symbolic"
    """Observation mode the data was collected with: symbolic, egocentric or rgb."""

    def __post_init__(self) -> None:
        for name in _FIELDS:
            value = getattr(self, name)
            if not isinstance(value, np.ndarray):
                raise InvalidInputError(f"dataset field {name!r} must be a NumPy array, got {type(value).__name__}")
            if value.dtype != _DTYPES[name]:
                raise InvalidInputError(f"dataset field {name!r} must have dtype {np.dtype(_DTYPES[name])}, "
                                        f"got {value.dtype}")
        if self.obs_mode not in OBS_MODES:
            raise InvalidInputError(f"obs_mode must be one of {OBS_MODES}, got {self.obs_mode!r}")
        if self.observations.ndim != 4 or self.observations.shape[0] < 1:
            raise InvalidInputError("dataset field 'observations' must have shape (n, C, H, W) or (n, H, W, 3) "
                                    f"with n >= 1, got {self.observations.shape}")
        n = self.observations.shape[0]
        if self.next_observations.shape != self.observations.shape:
            raise InvalidInputError(f"dataset field 'next_observations' must have shape {self.observations.shape}, "
                                    f"got {self.next_observations.shape}")
        for name in ("actions", "rewards", "terminated", "truncated", "level_ids"):
            if getattr(self, name).shape != (n,):
                raise InvalidInputError(f"dataset field {name!r} must have shape ({n},), got {getattr(self, name).shape}")
        if self.actions.min() < 0 or self.actions.max() >= NUM_ACTIONS:
            raise InvalidInputError(f"dataset field 'actions' must lie in 0..{NUM_ACTIONS - 1}")
        if not np.all(np.isfinite(self.rewards)):
            raise InvalidInputError("dataset field 'rewards' must be finite")
        object.__setattr__(self, "level_texts", tuple(str(t) for t in self.level_texts))
        if not self.level_texts or self.level_ids.min() < 0 or self.level_ids.max() >= len(self.level_texts):
            raise InvalidInputError(f"dataset field 'level_ids' must index level_texts (0..{len(self.level_texts) - 1})")
        starts = self.episode_starts
        if starts.ndim != 1 or starts.size == 0 or starts[0] != 0 or np.any(np.diff(starts) <= 0) or starts[-1] >= n:
            raise InvalidInputError("dataset field 'episode_starts' must be strictly increasing indices "
                                    f"starting at 0 and below n={n}")
        ends = np.append(starts[1:], n) - 1
        done = self.terminated | self.truncated
        if not np.all(done[ends]):
            raise InvalidInputError("dataset field 'episode_starts': every episode must end with a terminated or "
                                    "truncated transition")
        if done.sum() != starts.size:
            raise InvalidInputError("dataset fields 'terminated'/'truncated': an episode ends before the next "
                                    "entry of 'episode_starts'")
        for name in _FIELDS:
            object.__setattr__(self, name, _readonly(getattr(self, name)))

    def __len__(self) -> int:
        return int(self.actions.shape[0])

    @property
    def obs_shape(self) -> tuple[int, ...]:
        """Shape of one observation."""
        return tuple(self.observations.shape[1:])

    @property
    def num_episodes(self) -> int:
        """Number of episodes (complete or truncated)."""
        return int(self.episode_starts.size)

    @property
    def nbytes(self) -> int:
        """Memory held by the arrays, in bytes."""
        return int(sum(getattr(self, name).nbytes for name in _FIELDS))

    def episodes(self) -> Iterator[slice]:
        """Yield one slice of transition indices per episode."""
        bounds = np.append(self.episode_starts, len(self))
        for a, b in zip(bounds[:-1], bounds[1:]):
            yield slice(int(a), int(b))

    def levels(self) -> list:
        """The levels as :class:`saddlepoint.envs.maze.MazeLevel` objects (in ``level_ids`` order)."""
        from saddlepoint.envs.maze import MazeLevel

        return [MazeLevel.from_text(t) for t in self.level_texts]

    def success_rate(self) -> float:
        """Fraction of episodes that reached the goal (behaviour-policy quality)."""
        return float(self.terminated.sum() / self.num_episodes)

    def arrays(self) -> dict[str, np.ndarray]:
        """The arrays by field name (read-only views)."""
        return {name: getattr(self, name) for name in _FIELDS}


def concatenate(datasets: Sequence[TransitionDataset]) -> TransitionDataset:
    """Join datasets of one observation mode and shape; levels are merged by text."""
    if not datasets:
        raise InvalidInputError("concatenate needs at least one dataset")
    first = datasets[0]
    for d in datasets[1:]:
        if d.obs_mode != first.obs_mode or d.obs_shape != first.obs_shape:
            raise InvalidInputError(f"cannot concatenate datasets of obs {d.obs_mode}{d.obs_shape} and "
                                    f"{first.obs_mode}{first.obs_shape}")
    texts: dict[str, int] = {}
    level_ids, starts, offset = [], [], 0
    for d in datasets:
        remap = np.array([texts.setdefault(t, len(texts)) for t in d.level_texts], dtype=np.int32)
        level_ids.append(remap[d.level_ids])
        starts.append(d.episode_starts + offset)
        offset += len(d)
    cat = {name: np.concatenate([getattr(d, name) for d in datasets])
           for name in ("observations", "actions", "rewards", "next_observations", "terminated", "truncated")}
    return TransitionDataset(**cat, level_ids=np.concatenate(level_ids), episode_starts=np.concatenate(starts),
                             level_texts=tuple(texts), obs_mode=first.obs_mode)


# --------------------------------------------------------------------------------------------- I/O
@contextlib.contextmanager
def _atomic_target(path: Path, overwrite: bool) -> Iterator[Path]:
    """Yield a temporary sibling of ``path``; on success rename it onto ``path``, on failure delete it."""
    path = Path(path)
    if path.exists() and not overwrite:
        raise InvalidInputError(f"{path} already exists; pass overwrite=True to replace it")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.tmp-", dir=path.parent))
    try:
        yield tmp
        old = None
        if path.exists():
            old = path.with_name(f".{path.name}.old-{os.getpid()}")
            os.replace(path, old)
        os.replace(tmp / "payload", path)
        if old is not None:
            shutil.rmtree(old) if old.is_dir() else old.unlink()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def save_npz(dataset: TransitionDataset, path: str | Path, *, overwrite: bool = False) -> Path:
    """Write ``dataset`` to one compressed ``.npz`` file, atomically; returns the path."""
    path = Path(path)
    with _atomic_target(path, overwrite) as tmp:
        with open(tmp / "payload", "wb") as fh:
            np.savez_compressed(fh, **dataset.arrays(), level_texts=np.array(dataset.level_texts),
                                obs_mode=np.array(dataset.obs_mode))
    return path


def load_npz(path: str | Path) -> TransitionDataset:
    """Read a dataset written by :func:`save_npz`; a missing file or field is one clear error."""
    path = Path(path)
    if not path.is_file():
        raise InvalidInputError(f"no dataset at {path}: file not found")
    try:
        with np.load(path, allow_pickle=False) as data:
            missing = [k for k in (*_FIELDS, "level_texts", "obs_mode") if k not in data.files]
            if missing:
                raise InvalidInputError(f"{path} is not a saddlepoint dataset: missing field(s) {', '.join(missing)}")
            arrays = {k: data[k] for k in _FIELDS}
            texts, mode = tuple(str(t) for t in data["level_texts"]), str(data["obs_mode"])
    except (OSError, ValueError) as exc:
        if isinstance(exc, InvalidInputError):
            raise
        raise InvalidInputError(f"no dataset at {path}: cannot read it as .npz ({exc})") from exc
    return TransitionDataset(**arrays, level_texts=texts, obs_mode=mode)


def _spaces(dataset: TransitionDataset):
    gym = require("gymnasium", "envs")
    high = 255 if dataset.obs_mode == "rgb" else 1
    obs = gym.spaces.Box(0, high, shape=dataset.obs_shape, dtype=np.uint8)
    return obs, gym.spaces.Discrete(NUM_ACTIONS)


@contextlib.contextmanager
def _minari_root(root: Path) -> Iterator[None]:
    old = os.environ.get("MINARI_DATASETS_PATH")
    os.environ["MINARI_DATASETS_PATH"] = str(root)
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("MINARI_DATASETS_PATH", None)
        else:
            os.environ["MINARI_DATASETS_PATH"] = old


def _datasets_root(root: str | Path | None) -> Path:
    if root is not None:
        return Path(root)
    env = os.environ.get("MINARI_DATASETS_PATH")
    if env is None:
        raise InvalidInputError("pass root=DIR or set MINARI_DATASETS_PATH: saddlepoint never writes to or "
                                "downloads into minari's default folder")
    return Path(env)


def save_minari(dataset: TransitionDataset, dataset_id: str, root: str | Path | None = None, *,
                overwrite: bool = False, description: str | None = None) -> Path:
    """Write ``dataset`` as the local Minari dataset ``dataset_id`` under ``root``, atomically.

    ``root`` defaults to ``$MINARI_DATASETS_PATH``. Episodes become Minari episodes (observations
    include the final one); ``infos["level_id"]`` carries each step's level id and the level
    texts sit in ``saddlepoint_dataset.json`` beside Minari's files. Afterwards
    ``minari.load_dataset(dataset_id)`` with ``MINARI_DATASETS_PATH=root`` reads it.
    Returns the dataset directory.
    """
    minari = require("minari", "rl")
    from minari.data_collector import EpisodeBuffer

    root = _datasets_root(root)
    obs_space, act_space = _spaces(dataset)
    buffers = []
    for i, sl in enumerate(dataset.episodes()):
        obs = np.concatenate([dataset.observations[sl], dataset.next_observations[sl.stop - 1:sl.stop]])
        ids = dataset.level_ids[sl]
        buffers.append(EpisodeBuffer(
            id=i, observations=list(obs), actions=list(dataset.actions[sl]), rewards=list(dataset.rewards[sl]),
            terminations=list(dataset.terminated[sl]), truncations=list(dataset.truncated[sl]),
            infos={"level_id": np.append(ids, ids[-1])}))
    target = root / dataset_id
    with _atomic_target(target, overwrite) as tmp, _minari_root(tmp / "root"), warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # minari's advice on permalinks, e-mails and env specs
        minari.create_dataset_from_buffers(
            dataset_id, buffers, observation_space=obs_space, action_space=act_space,
            algorithm_name="saddlepoint.offline.collect", author="saddlepoint", description=description,
            jpeg_encoding=False)
        sidecar = {"level_texts": list(dataset.level_texts), "obs_mode": dataset.obs_mode}
        (tmp / "root" / dataset_id / _SIDECAR).write_text(json.dumps(sidecar))
        os.replace(tmp / "root" / dataset_id, tmp / "payload")
    logger.info("wrote Minari dataset %s (%d transitions) to %s", dataset_id, len(dataset), target)
    return target


def load_minari(dataset_id: str, root: str | Path | None = None) -> TransitionDataset:
    """Read the local Minari dataset ``dataset_id`` under ``root`` (default ``$MINARI_DATASETS_PATH``).

    Never downloads. Datasets written by :func:`save_minari` keep their level texts; any other
    discrete-action Minari dataset with image-like observations loads with one level id per episode
    taken from ``infos["level_id"]`` when present (else 0) and a placeholder level text.
    """
    minari = require("minari", "rl")
    root = _datasets_root(root)
    directory = root / dataset_id
    if not (directory / "data").is_dir():
        raise InvalidInputError(f"no Minari dataset {dataset_id!r} under {root} (expected {directory / 'data'})")
    ds = minari.MinariDataset(directory / "data")
    sidecar = directory / _SIDECAR
    meta = json.loads(sidecar.read_text()) if sidecar.is_file() else {"level_texts": ["?"], "obs_mode": "symbolic"}
    parts: dict[str, list] = {name: [] for name in _FIELDS}
    offset = 0
    for ep in ds.iterate_episodes():
        obs = np.asarray(ep.observations)
        t = len(ep.actions)
        if obs.dtype != np.uint8 or obs.ndim != 4:
            raise InvalidInputError(f"Minari dataset {dataset_id!r}: observations must be uint8 images, "
                                    f"got {obs.dtype} {obs.shape[1:]}")
        level = np.asarray(ep.infos.get("level_id", np.zeros(t + 1)))[:t].astype(np.int32)
        parts["observations"].append(obs[:-1])
        parts["next_observations"].append(obs[1:])
        parts["actions"].append(np.asarray(ep.actions).astype(np.int64).reshape(t))
        parts["rewards"].append(np.asarray(ep.rewards, dtype=np.float32))
        parts["terminated"].append(np.asarray(ep.terminations, dtype=bool))
        parts["truncated"].append(np.asarray(ep.truncations, dtype=bool))
        parts["level_ids"].append(level)
        parts["episode_starts"].append(np.array([offset], dtype=np.int64))
        offset += t
    if offset == 0:
        raise InvalidInputError(f"Minari dataset {dataset_id!r} under {root} has no episodes")
    arrays = {k: np.concatenate(v) for k, v in parts.items()}
    return TransitionDataset(**arrays, level_texts=tuple(meta["level_texts"]), obs_mode=meta["obs_mode"])
