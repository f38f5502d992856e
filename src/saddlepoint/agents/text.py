"""Offline text features for the defences and the tier-A aggregator: tokenising, TF-IDF
embeddings and exact 2-means clustering (NumPy only, no weights to download)."""

from __future__ import annotations

import itertools
import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from saddlepoint.errors import InvalidInputError

__all__ = ["tokenize", "Tfidf", "Embedder", "TfidfEmbedder", "TwoMeans", "two_means"]

_TOKEN = re.compile(r"[a-z0-9]+(?:[-_][a-z0-9]+)*")


def tokenize(text: str) -> list[str]:
    """Lower-case word tokens; hyphen/underscore compounds (``fact-b-3``) stay one token."""
    return _TOKEN.findall(text.lower())


class Tfidf:
    """TF-IDF with smooth idf ``log((1 + N) / (1 + df)) + 1`` and L2-normalised rows (the
    scikit-learn default), fitted on a corpus; unseen tokens are ignored at transform time."""

    def __init__(self, *, sublinear_tf: bool = False, normalise: bool = True) -> None:
        self.sublinear_tf = sublinear_tf
        self.normalise = normalise
        self.vocabulary: dict[str, int] = {}
        self.idf = np.zeros(0)

    def fit(self, texts: Sequence[str]) -> Tfidf:
        if len(texts) == 0:
            raise InvalidInputError("texts must not be empty")
        df: Counter[str] = Counter()
        for text in texts:
            df.update(set(tokenize(text)))
        self.vocabulary = {tok: i for i, tok in enumerate(sorted(df))}
        n = len(texts)
        self.idf = np.array([math.log((1 + n) / (1 + df[t])) + 1.0 for t in sorted(df)])
        return self

    def transform(self, texts: Sequence[str]) -> np.ndarray:
        """Rows of TF-IDF weights, shape ``(len(texts), len(vocabulary))``."""
        out = np.zeros((len(texts), len(self.vocabulary)))
        for row, text in enumerate(texts):
            for tok, count in Counter(tokenize(text)).items():
                j = self.vocabulary.get(tok)
                if j is not None:
                    out[row, j] = 1.0 + math.log(count) if self.sublinear_tf else count
        out *= self.idf
        if self.normalise:
            norms = np.linalg.norm(out, axis=1, keepdims=True)
            out = np.divide(out, norms, out=np.zeros_like(out), where=norms > 0)
        return out

    def fit_transform(self, texts: Sequence[str]) -> np.ndarray:
        return self.fit(texts).transform(texts)


class Embedder(Protocol):
    """Maps texts to vectors, shape ``(len(texts), d)``; used by the clustering defences."""

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...


class TfidfEmbedder:
    """The offline default embedder: TF-IDF fitted on the texts being clustered."""

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if all(not tokenize(t) for t in texts):
            return np.zeros((len(texts), 1))
        return Tfidf().fit_transform(texts)


@dataclass(frozen=True)
class TwoMeans:
    """A 2-means partition: ``labels`` (shape ``(n,)``, the larger cluster is 0), its
    within-cluster sum of squares ``inertia`` and the cluster sizes."""

    labels: np.ndarray
    inertia: float
    sizes: tuple[int, int]


_MAX_EXACT = 16


def two_means(x: np.ndarray) -> TwoMeans:
    """The exact minimiser of the k-means (k = 2) objective over all bipartitions of the rows
    of ``x`` (shape ``(n, d)``, 2 <= n <= 16).

    The paper runs Lloyd's k-means (seed 42); for the handful of references a defence sees,
    enumerating the ``2**(n-1) - 1`` bipartitions gives the optimum Lloyd's only approximates,
    with no seed. Ties go to the first partition in enumeration order; cluster 0 is the larger
    one (on equal sizes, the one holding row 0).
    """
    x = np.asarray(x, dtype=float)
    if x.ndim != 2:
        raise InvalidInputError(f"x must have shape (n, d), got {x.shape}")
    n = x.shape[0]
    if not 2 <= n <= _MAX_EXACT:
        raise InvalidInputError(f"two_means needs 2 to {_MAX_EXACT} rows, got {n}")
    best: tuple[float, np.ndarray] | None = None
    for bits in itertools.product((0, 1), repeat=n - 1):
        labels = np.array((0,) + bits)
        if labels.sum() == 0:
            continue
        inertia = sum(float(((x[labels == c] - x[labels == c].mean(axis=0)) ** 2).sum()) for c in (0, 1))
        if best is None or inertia < best[0] - 1e-12:
            best = (inertia, labels)
    assert best is not None
    inertia, labels = best
    size0, size1 = int((labels == 0).sum()), int((labels == 1).sum())
    if size1 > size0:
        labels, (size0, size1) = 1 - labels, (size1, size0)
    return TwoMeans(labels, inertia, (size0, size1))
