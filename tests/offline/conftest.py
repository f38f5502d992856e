import numpy as np
import pytest

from saddlepoint.offline.dataset import TransitionDataset


def consistent_dataset(n_episodes: int = 6, length: int = 5, seed: int = 0) -> TransitionDataset:
    """Random but self-consistent episodes (next obs = following obs) without the simulator."""
    rng = np.random.default_rng(seed)
    obs, nxt, term, trunc, starts, lvl = [], [], [], [], [], []
    for e in range(n_episodes):
        frames = rng.integers(0, 2, (length + 1, 3, 7, 7), dtype=np.uint8)
        obs.append(frames[:-1])
        nxt.append(frames[1:])
        t = np.zeros(length, bool)
        u = np.zeros(length, bool)
        (t if e % 2 == 0 else u)[-1] = True
        term.append(t)
        trunc.append(u)
        starts.append(e * length)
        lvl.append(np.full(length, e % 3, np.int32))
    n = n_episodes * length
    return TransitionDataset(np.concatenate(obs), rng.integers(0, 4, n).astype(np.int64),
                             rng.random(n).astype(np.float32), np.concatenate(nxt), np.concatenate(term),
                             np.concatenate(trunc), np.concatenate(lvl), np.array(starts, np.int64),
                             ("#####\n#S.G#\n#####", "#####\n#SG.#\n#####", "#####\n#GS.#\n#####"))


@pytest.fixture
def small_dataset() -> TransitionDataset:
    return consistent_dataset()
