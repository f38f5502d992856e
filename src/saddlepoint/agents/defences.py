"""Unsupervised defences of an MoA's final aggregation (arXiv 2503.05856, Sec. 5). Each acts
on the **last layer's** references only and returns one answer per task.

* ``none``: aggregate all references.
* ``dropout_vote`` (Dropout & Vote): aggregate every non-empty subset (``2**n - 1`` calls),
  read each answer, return the majority; abstentions do not vote, ties are broken by the
  generator, all-abstain gives -1.
* ``cluster_filter`` (Cluster & Filter): embed the references, split them by 2-means, keep
  the larger cluster and aggregate it. A degenerate split (equal sizes, or centroids with
  cosine similarity >= ``merge_similarity``, i.e. the references agree) keeps all: our
  library choice, since k-means always splits.
* ``cluster_locate`` (Cluster & Locate): aggregate all references, each labelled with its
  cluster id and cluster size.
* ``dropout_cluster`` (Dropout & Cluster, the paper's defence for open-ended tasks; its exact
  semantics are unpublished, this is our reading): aggregate every non-empty subset as
  Dropout & Vote does, embed the ``2**n - 1`` aggregated outputs, split them by 2-means, and
  return the output nearest the larger cluster's centroid (the medoid of all outputs when the
  split is degenerate). On a categorical task this differs from a vote: two answers that
  2-means groups together can outnumber a plurality answer.

``merge_similarity`` (every clustering defence): a 2-means split whose centroids have cosine
similarity at least this is degenerate (the texts agree) and is not used; 1.0 uses every split
with unequal sizes, lower values merge more often.

Unlike the upstream code, the subset aggregations are what Dropout & Vote returns (upstream's
non-categorical branch computed and discarded them), and the embedder is any object with
``embed(texts)`` (TF-IDF by default; upstream's local-embedding path could not run).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from saddlepoint.agents.metrics import ABSTAIN
from saddlepoint.agents.moa import MixtureOfAgents, Task
from saddlepoint.agents.prompts import Reference, extract_answer
from saddlepoint.agents.text import Embedder, TfidfEmbedder, two_means
from saddlepoint.config import check_choice
from saddlepoint.errors import InvalidInputError

__all__ = ["DEFENCES", "DefenceResult", "defend", "majority_vote", "cluster_references",
           "labelled_references"]

DEFENCES = ("none", "dropout_vote", "cluster_filter", "cluster_locate", "dropout_cluster")


@dataclass(frozen=True)
class DefenceResult:
    """Per task: the chosen option (-1 abstain), the aggregator text(s) behind it, and for the
    clustering defences the two cluster sizes and whether the split was kept."""

    answers: np.ndarray
    texts: list[list[str]]
    cluster_sizes: list[tuple[int, int]] = field(default_factory=list)
    split_used: list[bool] = field(default_factory=list)


def majority_vote(answers: Sequence[int], rng: np.random.Generator) -> int:
    """The most frequent non-abstaining answer, ties broken uniformly by ``rng``; -1 if none."""
    votes = [a for a in answers if a != ABSTAIN]
    if not votes:
        return ABSTAIN
    values, counts = np.unique(votes, return_counts=True)
    best = values[counts == counts.max()]
    return int(best[0] if len(best) == 1 else rng.choice(best))


def cluster_references(refs: Sequence[str], embedder: Embedder, merge_similarity: float
                       ) -> tuple[np.ndarray, tuple[int, int], bool]:
    """2-means labels of ``refs`` (0 = larger cluster), the sizes, and whether the split is
    meaningful (not degenerate)."""
    if len(refs) < 2:
        return np.zeros(len(refs), dtype=int), (len(refs), 0), False
    x = embedder.embed(list(refs))
    split = two_means(x)
    c0, c1 = (x[split.labels == c].mean(axis=0) for c in (0, 1))
    norms = np.linalg.norm(c0) * np.linalg.norm(c1)
    similarity = float(c0 @ c1 / norms) if norms > 0 else 1.0
    used = split.sizes[0] > split.sizes[1] and similarity < merge_similarity
    return split.labels, split.sizes, used


def labelled_references(refs: Sequence[str], labels: np.ndarray, sizes: tuple[int, int], used: bool
                        ) -> list[Reference]:
    """References tagged with cluster id (1 = larger) and size, as Cluster & Locate shows
    them; a degenerate split is shown as one cluster holding all."""
    return [Reference(r, int(lab) + 1, sizes[lab]) if used else Reference(r, 1, len(refs))
            for r, lab in zip(refs, labels)]


def _subset_aggregations(moa: MixtureOfAgents, tasks: Sequence[Task], references: Sequence[Sequence[str]],
                         tag: str) -> list[list[str]]:
    """The aggregator's output on every non-empty subset of each task's references (one batch
    for all tasks), per task in subset order."""
    jobs = [(i, subset) for i, refs in enumerate(references)
            for k in range(1, len(refs) + 1) for subset in itertools.combinations(range(len(refs)), k)]
    texts = moa.aggregate([tasks[i] for i, _ in jobs], [[references[i][j] for j in subset] for i, subset in jobs],
                          tag=tag)
    per_task: list[list[str]] = [[] for _ in tasks]
    for (i, _), text in zip(jobs, texts):
        per_task[i].append(text)
    return per_task


def _medoid(x: np.ndarray) -> int:
    """Index of the row of ``x`` ``(n, d)`` nearest the rows' mean (the first on ties)."""
    return int(np.argmin(((x - x.mean(axis=0)) ** 2).sum(axis=1)))


def defend(name: str, moa: MixtureOfAgents, tasks: Sequence[Task], references: Sequence[Sequence[str]],
           rng: np.random.Generator, *, embedder: Embedder | None = None,
           merge_similarity: float = 0.8) -> DefenceResult:
    """Apply defence ``name`` (one of :data:`DEFENCES`) to the last-layer ``references`` of
    each task (``references[i]`` is a list of texts) and aggregate with ``moa``."""
    check_choice("defence", name, DEFENCES)
    if len(tasks) != len(references):
        raise InvalidInputError("tasks and references must have equal length")
    if not 0.0 <= merge_similarity <= 1.0:
        raise InvalidInputError(f"merge_similarity must be in [0, 1], got {merge_similarity}")
    embedder = embedder or TfidfEmbedder()

    def read(texts: list[str], i: int) -> int:
        return extract_answer(texts[i], tasks[i].n_options)

    if name == "none":
        texts = moa.aggregate(tasks, references, tag=name)
        return DefenceResult(np.array([read(texts, i) for i in range(len(tasks))], dtype=int),
                             [[t] for t in texts])
    if name in ("dropout_vote", "dropout_cluster"):
        per_task = _subset_aggregations(moa, tasks, references, name)
        if name == "dropout_vote":
            votes = [[extract_answer(t, task.n_options) for t in texts] for task, texts in zip(tasks, per_task)]
            return DefenceResult(np.array([majority_vote(v, rng) for v in votes], dtype=int), per_task)
        picked, sizes, used = [], [], []
        for task, texts in zip(tasks, per_task):
            labels, size, split = cluster_references(texts, embedder, merge_similarity)
            kept = [j for j, lab in enumerate(labels) if lab == 0 or not split]
            picked.append(extract_answer(texts[kept[_medoid(embedder.embed([texts[j] for j in kept]))]],
                                         task.n_options))
            sizes.append(size)
            used.append(split)
        return DefenceResult(np.array(picked, dtype=int), per_task, sizes, used)
    clusters = [cluster_references(refs, embedder, merge_similarity) for refs in references]
    if name == "cluster_filter":
        kept = [[r for r, lab in zip(refs, labels) if lab == 0 or not used]
                for refs, (labels, _, used) in zip(references, clusters)]
    else:
        kept = [labelled_references(refs, *c) for refs, c in zip(references, clusters)]
    texts = moa.aggregate(tasks, kept, tag=name)
    return DefenceResult(np.array([read(texts, i) for i in range(len(tasks))], dtype=int), [[t] for t in texts],
                         [c[1] for c in clusters], [c[2] for c in clusters])
