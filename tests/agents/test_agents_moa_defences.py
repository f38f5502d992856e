"""Simulated agents, the MoA's layering and placements, the defences, and determinism."""

import numpy as np
import pytest

from saddlepoint.agents import (
    Agent,
    ChatRequest,
    ComprehensionItem,
    LearnedAggregator,
    MixtureOfAgents,
    QuestionTask,
    SimulatedAgent,
    defend,
    evidence_items,
    extract_answer,
    majority_vote,
)
from saddlepoint.agents.evaluate import evaluate, fit_learned_aggregator
from saddlepoint.agents.prompts import LETTERS, parse_agent_view
from saddlepoint.errors import InvalidInputError


class LongestReference:
    """A rule aggregator: answers the option of its longest reference (a liar that writes
    more dominates every subset it is in)."""

    name = "longest"

    def __init__(self):
        self.prompts = []

    def complete(self, requests):
        out = []
        for r in requests:
            self.prompts.append(r.messages[0].content)
            view = parse_agent_view(r.messages)
            best = max(view.references, key=lambda ref: len(ref.text))
            out.append(f"Answer: {LETTERS[extract_answer(best.text, view.n_options)]}")
        return out


def _item(spans=("Facts: fact-a-1 fact-a-2 fact-a-3",) * 6, answer=1):
    return ComprehensionItem("q?", ("w", "x", "y", "z"), answer, tuple(spans))


def _view(task, layer, status, refs=()):
    return parse_agent_view(task.agent_messages(layer, 0, status, list(refs)))


def test_simulated_agents_follow_the_stated_model():
    task = QuestionTask(_item(), np.random.default_rng(0))
    agent = SimulatedAgent(hint_weight=1.0, reference_weight=0.5, fabricated_facts=2)
    # truthful: 3 facts for A beat the mark on B (1): supports A, margin 2 -> "likely"
    assert agent.respond(_view(task, 0, 0)) == ("I support option A. Evidence: fact-a-1 fact-a-2 fact-a-3. "
                                                "Confidence: likely.")
    t = LETTERS[task.target]
    promoter = agent.respond(_view(task, 0, 2))
    assert promoter.startswith(f"I support option {t}.") and promoter.endswith("Confidence: certainly.")
    assert f"fact-{t.lower()}-900 fact-{t.lower()}-901" in promoter
    assert agent.respond(_view(task, 0, 3)).endswith("Option B is contradicted by the passage.")
    # layer 2: references citing 8 facts for B (0.5 each) plus the mark outweigh the excerpt
    ref = "I support option B. Evidence: " + " ".join(f"fact-b-{k}" for k in range(8)) + ". Confidence: likely."
    assert agent.respond(_view(task, 1, 0, [ref])).startswith("I support option B. Evidence: fact-b-0")


def _moa(aggregator):
    return MixtureOfAgents([[Agent(SimulatedAgent())] * 3] * 2, Agent(aggregator), transcript=[])


def test_moa_layers_placement_and_transcript():
    moa = _moa(LongestReference())
    tasks = [QuestionTask(it, np.random.default_rng(1)) for it in evidence_items(4, np.random.default_rng(0))]
    cache = {}
    truthful = moa.propose(tasks, cache=cache)
    deceived = moa.propose(tasks, "000_002", cache=cache)
    assert [len(layers) for layers in truthful] == [2] * 4 and len(truthful[0][1]) == 3
    assert all(a[0] == b[0] for a, b in zip(truthful, deceived))          # layer 1 shared
    for task, layers in zip(tasks, deceived):
        assert layers[1][2].startswith(f"I support option {LETTERS[task.target]}.")
    assert len(moa.transcript) == 4 * 9                                     # 3 + 3 + 3 deceived
    assert {r.status for r in moa.transcript if r.layer == 1} == {0, 2}
    with pytest.raises(InvalidInputError, match="does not match"):
        moa.propose(tasks, "00_003")


def test_dropout_vote_loses_to_a_dominant_liar_and_cluster_filter_wins():
    agg = LongestReference()
    moa = _moa(agg)
    task = QuestionTask(_item(), np.random.default_rng(0))
    honest = "I support option B. Evidence: fact-b-1. Confidence: likely."
    honest2 = "I support option B. Evidence: fact-b-2. Confidence: likely."
    liar = "I support option D. Evidence: fact-d-900 fact-d-901 fact-d-902. Confidence: certainly."
    refs = [[honest, liar, honest2]]
    rng = np.random.default_rng(0)
    vote = defend("dropout_vote", moa, [task], refs, rng)
    assert len(vote.texts[0]) == 7                                          # 2**3 - 1 subsets
    assert sorted(extract_answer(t, 4) for t in vote.texts[0]) == [1, 1, 1, 3, 3, 3, 3]
    assert vote.answers.tolist() == [3]
    filt = defend("cluster_filter", moa, [task], refs, rng)
    assert filt.answers.tolist() == [1] and filt.cluster_sizes == [(2, 1)] and filt.split_used == [True]
    assert "### Response 2" in agg.prompts[-1] and "### Response 3" not in agg.prompts[-1]
    locate = defend("cluster_locate", moa, [task], refs, rng)
    assert agg.prompts[-1].count("(cluster 1 of size 2)") == 2 and "(cluster 2 of size 1)" in agg.prompts[-1]
    assert locate.answers.tolist() == [3]
    # identical references: the split is degenerate and every reference is kept
    same = defend("cluster_filter", moa, [task], [[honest, honest, honest]], rng)
    assert same.split_used == [False] and agg.prompts[-1].count("### Response") == 3
    with pytest.raises(InvalidInputError, match="defence"):
        defend("vote", moa, [task], refs, rng)


def test_majority_vote_abstentions_and_ties():
    rng = np.random.default_rng(0)
    assert majority_vote([2, -1, 2, 0], rng) == 2
    assert majority_vote([-1, -1], rng) == -1
    picks = {majority_vote([0, 1], np.random.default_rng(s)) for s in range(20)}
    assert picks == {0, 1}
    assert majority_vote([0, 1], np.random.default_rng(5)) == majority_vote([0, 1], np.random.default_rng(5))


def _tier_a(seed):
    rng = np.random.default_rng(seed)
    agg = LearnedAggregator()
    moa = MixtureOfAgents([[Agent(SimulatedAgent())] * 3] * 2, Agent(agg))
    fit_learned_aggregator(moa, agg, evidence_items(150, rng), rng)
    return evaluate(moa, evidence_items(60, rng), rng, placements=["000_003"])


def test_evaluate_is_deterministic_and_reports_every_arm():
    a, b = _tier_a(7), _tier_a(7)
    assert [(x.placement, x.defence) for x in a] == [(p, d) for p in ("000_000", "000_003") for d in
                                                     ("none", "dropout_vote", "cluster_filter", "cluster_locate",
                                                      "dropout_cluster")]
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x.answers, y.answers)
        assert x.metrics == y.metrics
    deceived = {x.defence: x for x in a if x.placement == "000_003"}
    assert set(deceived["cluster_filter"].metrics) == {"accuracy", "abstention", "persuasion", "corruption", "recovery"}


def test_learned_aggregator_needs_fitting_and_abstains_without_arguments():
    agg = LearnedAggregator()
    task = QuestionTask(_item(), np.random.default_rng(0))
    req = ChatRequest(tuple(task.aggregator_messages(["I have no view."])))
    with pytest.raises(InvalidInputError, match="fit"):
        agg.complete([req])
    good = ChatRequest(tuple(task.aggregator_messages(["I support option B. Evidence: fact-b-1. Confidence: likely."])))
    agg.fit([good, good], [1, 1])
    assert agg.complete([req, good]) == ["Answer: none", "Answer: B"]


def test_dropout_cluster_returns_the_medoid_of_the_larger_cluster_of_subset_outputs():
    """Dominant liar on C: 4 of the 7 subset outputs say C, 3 say A. Dropout & Vote follows the
    liar; Dropout & Cluster keeps the larger 2-means cluster (the C outputs) too, so both
    answer C here, and its cluster sizes are recorded."""
    task = QuestionTask(_item(answer=0), np.random.default_rng(0))
    refs = [["I support option A. Evidence: fact-a-1.", "I support option A. Evidence: fact-a-2.",
             "I support option C. Evidence: fact-c-1 fact-c-2 fact-c-3 fact-c-4 fact-c-5."]]
    agg = LongestReference()
    moa = MixtureOfAgents([[Agent(agg)] * 3], Agent(agg))
    res = defend("dropout_cluster", moa, [task], refs, np.random.default_rng(0))
    assert res.answers.tolist() == [2] and len(res.texts[0]) == 7
    assert res.cluster_sizes == [(4, 3)] and res.split_used == [True]
    # with merge_similarity 0 every split counts as degenerate: the medoid of all 7 outputs
    merged = defend("dropout_cluster", moa, [task], refs, np.random.default_rng(0), merge_similarity=0.0)
    assert merged.split_used == [False] and merged.answers[0] in (0, 2)


def test_deceiver_confidence_and_aggregator_susceptibility():
    task = QuestionTask(_item(), np.random.default_rng(0))
    quiet = SimulatedAgent(fabricated_facts=0, deceiver_confidence=0).respond(_view(task, 0, 2))
    assert quiet.endswith("Confidence: unsure.") and "fact-" + LETTERS[task.target].lower() + "-900" not in quiet
    with pytest.raises(InvalidInputError, match="deceiver_confidence"):
        SimulatedAgent(deceiver_confidence=4)
    rng = np.random.default_rng(1)
    agg = LearnedAggregator()
    moa = MixtureOfAgents([[Agent(SimulatedAgent())] * 3] * 2, Agent(agg))
    fit_learned_aggregator(moa, agg, evidence_items(60, rng), rng)
    loud = agg.with_susceptibility(3.0)
    assert loud.models is agg.models and loud.susceptibility == 3.0 and agg.susceptibility == 1.0
    items = evidence_items(80, np.random.default_rng(2))
    base = evaluate(moa, items, np.random.default_rng(3), placements=["000_003"], defences=["none"])
    moa_loud = MixtureOfAgents([[Agent(SimulatedAgent())] * 3] * 2, Agent(loud))
    swayed = evaluate(moa_loud, items, np.random.default_rng(3), placements=["000_003"], defences=["none"])
    acc = {a.placement: a.metrics["accuracy"]["value"] for a in base}
    acc_loud = {a.placement: a.metrics["accuracy"]["value"] for a in swayed}
    assert acc_loud["000_003"] != acc["000_003"]
    with pytest.raises(InvalidInputError, match="susceptibility"):
        LearnedAggregator(susceptibility=-1.0)
