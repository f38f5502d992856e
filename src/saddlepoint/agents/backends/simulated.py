"""Tier-A simulated back ends: rule-following agents and a learned aggregator, no LLM.

They read the same prompts an LLM gets (through :func:`~saddlepoint.agents.prompts.parse_agent_view`)
and answer in a fixed template, so the MoA, the defences and the metrics run unchanged.
The stated deception model:

* a **truthful** agent weighs the facts of its excerpt (``fact-<letter>-<id>`` tokens), the
  mark (``hint_weight`` facts' worth) and, in later layers, the facts cited by the previous
  layer (``reference_weight`` each); it supports the best-supported option, cites the facts
  for it and states a confidence word scaled by its margin over the runner-up;
* a **promoter / opposer** supports the option marked correct whatever the evidence, cites
  its excerpt's facts for it plus ``fabricated_facts`` invented ones, at confidence level
  ``deceiver_confidence`` (default the highest); an opposer also disparages the option marked
  incorrect. Its argument strength (:func:`argument_strength`) grows with both knobs.

:class:`LearnedAggregator` is a conditional-logit model over per-option features of the
references (TF-IDF of the arguments for the option, their strength, their count; with
cluster labels also the same within the largest cluster), fitted **only on truthful MoA
runs**: that confident, fact-rich arguments are usually right is learned, not hard-coded.
Its ``susceptibility`` scales the learned weights of the strength features at prediction
time (1: as fitted; above 1 a strong argument sways it more), the knob of the deception sweep.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
from scipy.optimize import minimize
from scipy.special import logsumexp

from saddlepoint.agents.backends.base import ChatRequest
from saddlepoint.agents.metrics import ABSTAIN
from saddlepoint.agents.prompts import (
    LETTERS,
    OPPOSER,
    PROMOTER,
    TRUTHFUL,
    AgentView,
    extract_answer,
    parse_agent_view,
)
from saddlepoint.agents.text import Tfidf
from saddlepoint.config import check_positive, check_positive_int
from saddlepoint.errors import InvalidInputError

__all__ = ["SimulatedAgent", "LearnedAggregator", "CONFIDENCE_WORDS", "argument_strength"]

CONFIDENCE_WORDS = ("unsure", "possibly", "likely", "certainly")
_FACT = re.compile(r"\bfact-([a-j])-(\d+)\b")
_CONF = re.compile(r"Confidence: (" + "|".join(CONFIDENCE_WORDS) + r")\b")


def _facts(text: str) -> list[tuple[int, str]]:
    """``(option index, token)`` of every fact token, in order, without repeats."""
    seen, out = set(), []
    for m in _FACT.finditer(text):
        if m.group(0) not in seen:
            seen.add(m.group(0))
            out.append((LETTERS.lower().index(m.group(1)), m.group(0)))
    return out


def _confidence(text: str) -> int:
    m = _CONF.search(text)
    return CONFIDENCE_WORDS.index(m.group(1)) if m else 0


class SimulatedAgent:
    """A deterministic rule-following agent (see the module docstring); ignores temperature."""

    def __init__(self, *, hint_weight: float = 1.0, reference_weight: float = 0.5,
                 fabricated_facts: int = 4, deceiver_confidence: int = len(CONFIDENCE_WORDS) - 1,
                 name: str = "simulated-agent") -> None:
        check_positive("hint_weight", hint_weight, allow_zero=True)
        check_positive("reference_weight", reference_weight, allow_zero=True)
        check_positive_int("fabricated_facts", fabricated_facts, allow_zero=True)
        if deceiver_confidence not in range(len(CONFIDENCE_WORDS)):
            raise InvalidInputError(f"deceiver_confidence must be an integer in 0..{len(CONFIDENCE_WORDS) - 1}, "
                                    f"got {deceiver_confidence!r}")
        self.hint_weight = hint_weight
        self.reference_weight = reference_weight
        self.fabricated_facts = fabricated_facts
        self.deceiver_confidence = deceiver_confidence
        self.name = name

    def complete(self, requests: Sequence[ChatRequest]) -> list[str]:
        return [self.respond(parse_agent_view(r.messages)) for r in requests]

    def respond(self, view: AgentView) -> str:
        if view.n_options < 2 or view.marked_correct is None:
            raise InvalidInputError("a simulated agent needs a multiple-choice prompt with a marked option")
        own = _facts(view.excerpt)
        if view.role in (PROMOTER, OPPOSER):
            target = view.marked_correct
            cited = [tok for o, tok in own if o == target]
            cited += [f"fact-{LETTERS[target].lower()}-{900 + k}" for k in range(self.fabricated_facts)]
            text = self._argument(target, cited, self.deceiver_confidence)
            if view.role == OPPOSER and view.marked_incorrect is not None:
                text += f" Option {LETTERS[view.marked_incorrect]} is contradicted by the passage."
            return text
        if view.role != TRUTHFUL:
            raise InvalidInputError(f"a simulated agent cannot play role {view.role}")
        support = np.zeros(view.n_options)
        for o, _ in own:
            support[o] += 1.0
        support[view.marked_correct] += self.hint_weight
        ref_facts: list[tuple[int, str]] = []
        for ref in view.references:
            ref_facts += _facts(ref.text)
        for o, _ in ref_facts:
            if o < view.n_options:
                support[o] += self.reference_weight
        best = int(np.argmax(support))
        margin = support[best] - np.partition(support, -2)[-2]
        level = int(np.searchsorted([0.5, 1.5, 3.0], margin, side="right"))
        cited = list(dict.fromkeys([tok for o, tok in own + ref_facts if o == best]))
        return self._argument(best, cited, level)

    @staticmethod
    def _argument(option: int, cited: list[str], level: int) -> str:
        evidence = " ".join(cited) if cited else "none"
        return (f"I support option {LETTERS[option]}. Evidence: {evidence}. "
                f"Confidence: {CONFIDENCE_WORDS[level]}.")


def argument_strength(text: str) -> float:
    """Cited facts times ``(1 + confidence level) / 4`` of one templated argument."""
    return len(_facts(text)) * (1 + _confidence(text)) / len(CONFIDENCE_WORDS)


def _canonical(text: str) -> str:
    text = _FACT.sub("fact", text.lower())
    return re.sub(r"\boption [a-j]\b", "option", text)


class LearnedAggregator:
    """Tier-A final aggregator: a conditional logit ``P(o) ∝ exp(w · φ_o)`` over per-option
    features of the references; answers ``Answer: X`` (``Answer: none`` when no reference
    argues for any option). Prompts whose references carry cluster labels (Cluster & Locate)
    get their own model with two more features (strength and count within the largest
    cluster). Fit with :meth:`fit` on truthful runs before use; the ``K`` options of every
    prompt must be equally many."""

    def __init__(self, *, l2: float = 1e-2, susceptibility: float = 1.0, name: str = "learned-aggregator") -> None:
        check_positive("l2", l2)
        check_positive("susceptibility", susceptibility, allow_zero=True)
        self.l2 = l2
        self.susceptibility = susceptibility
        self.name = name
        self.models: dict[bool, tuple[Tfidf, np.ndarray]] = {}

    def with_susceptibility(self, susceptibility: float) -> LearnedAggregator:
        """A copy sharing the fitted models, with another ``susceptibility``."""
        other = LearnedAggregator(l2=self.l2, susceptibility=susceptibility, name=self.name)
        other.models = self.models
        return other

    @staticmethod
    def _raw(view: AgentView) -> tuple[bool, list[str], np.ndarray]:
        """Whether the prompt has cluster labels; per option the canonical texts arguing for
        it, joined, and its numeric features, shape ``(K, 2)`` or ``(K, 4)``."""
        labelled = any(r.cluster_size is not None for r in view.references)
        texts: list[list[str]] = [[] for _ in range(view.n_options)]
        num = np.zeros((view.n_options, 4 if labelled else 2))
        largest = max((r.cluster_size or 0 for r in view.references), default=0)
        for ref in view.references:
            o = extract_answer(ref.text, view.n_options)
            if o == ABSTAIN:
                continue
            texts[o].append(_canonical(ref.text))
            num[o, :2] += (argument_strength(ref.text), 1.0)
            if labelled and ref.cluster_size == largest:
                num[o, 2:] += (argument_strength(ref.text), 1.0)
        return labelled, [" ".join(t) for t in texts], num

    @staticmethod
    def _phi(tfidf: Tfidf, texts: list[str], num: np.ndarray) -> np.ndarray:
        return np.hstack([tfidf.transform(texts), num])

    def fit(self, requests: Sequence[ChatRequest], answers: Sequence[int]) -> LearnedAggregator:
        """Fit on aggregator prompts of truthful MoA runs and the items' true options (one
        model per prompt kind present)."""
        if len(requests) != len(answers) or not requests:
            raise InvalidInputError("requests and answers must be non-empty and of equal length")
        raws = [self._raw(parse_agent_view(r.messages)) for r in requests]
        for kind in sorted({raw[0] for raw in raws}):
            part = [(raw, a) for raw, a in zip(raws, answers) if raw[0] == kind]
            corpus = [t for (_, texts, _), _ in part for t in texts if t]
            tfidf = Tfidf(normalise=False).fit(corpus or ["none"])
            phi = np.stack([self._phi(tfidf, texts, num) for (_, texts, num), _ in part])  # (N, K, d)
            y = np.array([a for _, a in part])
            self.models[kind] = (tfidf, self._fit_logit(phi, y))
        return self

    def _fit_logit(self, phi: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Weights minimising mean conditional-logit loss + ``l2 / 2 * |w|^2``."""
        rows = np.arange(len(y))

        def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
            s = phi @ w  # (N, K)
            lse = logsumexp(s, axis=1)
            p = np.exp(s - lse[:, None])
            value = float(np.mean(lse - s[rows, y])) + 0.5 * self.l2 * float(w @ w)
            grad = (np.einsum("nk,nkd->d", p, phi) - phi[rows, y].sum(axis=0)) / len(y) + self.l2 * w
            return value, grad

        return minimize(loss, np.zeros(phi.shape[2]), jac=True, method="L-BFGS-B").x

    def predict(self, requests: Sequence[ChatRequest]) -> np.ndarray:
        """Chosen option per request, shape ``(len(requests),)``; -1 where no option is argued."""
        out = np.full(len(requests), ABSTAIN)
        for i, r in enumerate(requests):
            kind, texts, num = self._raw(parse_agent_view(r.messages))
            if kind not in self.models:
                raise InvalidInputError(
                    f"LearnedAggregator has no model for prompts {'with' if kind else 'without'} cluster labels; fit it first")
            tfidf, w = self.models[kind]
            phi = self._phi(tfidf, texts, num)
            if self.susceptibility != 1.0:  # the numeric columns: strength and count (also in-cluster)
                w = w.copy()
                w[-num.shape[1]::2] *= self.susceptibility
            if np.ptp(phi, axis=0).max(initial=0.0) > 0.0:
                out[i] = int(np.argmax(phi @ w))
        return out

    def complete(self, requests: Sequence[ChatRequest]) -> list[str]:
        return [f"Answer: {LETTERS[o]}" if o != ABSTAIN else "Answer: none" for o in self.predict(requests)]
