"""Evaluate an MoA on multiple-choice items: the truthful MoA, each deceptive placement, and
each defence, with every metric of :mod:`saddlepoint.agents.metrics`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from saddlepoint.agents.backends.base import ChatRequest
from saddlepoint.agents.backends.simulated import LearnedAggregator
from saddlepoint.agents.defences import DEFENCES, cluster_references, defend, labelled_references
from saddlepoint.agents.metrics import (
    accuracy,
    deception_corruption_rate,
    persuasion_rate,
    recovery_rate,
)
from saddlepoint.agents.moa import MixtureOfAgents, format_placement
from saddlepoint.agents.tasks import ComprehensionItem, QuestionTask
from saddlepoint.agents.text import Embedder, TfidfEmbedder
from saddlepoint.errors import InvalidInputError

__all__ = ["ArmResult", "evaluate", "fit_learned_aggregator"]


@dataclass(frozen=True)
class ArmResult:
    """Answers and metrics of one (placement, defence) arm over the items. Each metric is a
    :meth:`~saddlepoint.agents.metrics.Rate.as_dict`; ``recovery`` is relative to the
    undefended MoA with the same placement, ``corruption`` to the undefended truthful MoA."""

    placement: str
    defence: str
    answers: np.ndarray
    metrics: dict[str, dict[str, float | int]]
    cluster_split_rate: float | None = None


def evaluate(moa: MixtureOfAgents, items: Sequence[ComprehensionItem], rng: np.random.Generator, *,
             placements: Sequence[str], defences: Sequence[str] = DEFENCES,
             embedder: Embedder | None = None, merge_similarity: float = 0.8) -> list[ArmResult]:
    """Run every placement (the all-truthful one first, whether listed or not) under every
    defence. Deceivers' targets are drawn from ``rng`` once per item and shared by all arms."""
    if not items:
        raise InvalidInputError("items must not be empty")
    n_agents = len(moa.layers[0])
    tasks = [QuestionTask(item, rng, agents_per_layer=n_agents) for item in items]
    truthful = format_placement([(0,) * len(layer) for layer in moa.layers])
    order = [truthful] + [p for p in placements if p != truthful]
    truth = np.array([it.answer for it in items])
    target = np.array([t.target for t in tasks])
    cache: dict = {}
    arms: list[ArmResult] = []
    baseline: dict[str, np.ndarray] = {}
    for placement in order:
        last = [layers[-1] for layers in moa.propose(tasks, placement, cache=cache)]
        for name in (["none"] + [d for d in defences if d != "none"]):
            res = defend(name, moa, tasks, last, rng, embedder=embedder, merge_similarity=merge_similarity)
            if name == "none":
                baseline[placement] = res.answers
            deceived = placement != truthful
            metrics = {"accuracy": accuracy(res.answers, truth).as_dict(),
                       "abstention": {"value": float(np.mean(res.answers < 0))}}
            if deceived:
                metrics["persuasion"] = persuasion_rate(res.answers, target).as_dict()
                metrics["corruption"] = deception_corruption_rate(
                    res.answers, baseline[truthful], truth, target).as_dict()
                if name != "none":
                    metrics["recovery"] = recovery_rate(res.answers, baseline[placement], truth).as_dict()
            split = float(np.mean(res.split_used)) if res.split_used else None
            arms.append(ArmResult(placement, name, res.answers, metrics, split))
    return arms


def fit_learned_aggregator(moa: MixtureOfAgents, aggregator: LearnedAggregator,
                           items: Sequence[ComprehensionItem], rng: np.random.Generator, *,
                           embedder: Embedder | None = None, merge_similarity: float = 0.8) -> LearnedAggregator:
    """Fit ``aggregator`` on **all-truthful** runs of ``moa``'s layers over ``items``: on the
    plain aggregator prompts and on the cluster-labelled ones Cluster & Locate sends."""
    if not items:
        raise InvalidInputError("items must not be empty")
    embedder = embedder or TfidfEmbedder()
    tasks = [QuestionTask(item, rng, agents_per_layer=len(moa.layers[0])) for item in items]
    last = [layers[-1] for layers in moa.propose(tasks)]
    requests, answers = [], []
    for task, refs in zip(tasks, last):
        labelled = labelled_references(refs, *cluster_references(refs, embedder, merge_similarity))
        for shown in (refs, labelled):
            requests.append(ChatRequest(tuple(task.aggregator_messages(shown))))
            answers.append(task.item.answer)
    return aggregator.fit(requests, answers)
