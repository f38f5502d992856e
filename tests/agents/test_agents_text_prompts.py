"""TF-IDF and exact 2-means (cross-checked against scikit-learn where installed), answer
extraction, reference formatting and placement strings."""

import itertools

import numpy as np
import pytest

from saddlepoint.agents.moa import format_placement, parse_placement
from saddlepoint.agents.prompts import (
    Reference,
    extract_answer,
    format_references,
    parse_references,
)
from saddlepoint.agents.tasks import ComprehensionItem, QuestionTask, split_passage
from saddlepoint.agents.text import Tfidf, tokenize, two_means
from saddlepoint.errors import InvalidInputError

DOCS = ["I support option B. Evidence: fact-b-1 fact-b-2.", "option b is likely", "fact-a-3 certainly"]


def test_tokenize_keeps_compounds():
    assert tokenize("I support Option B. fact-b-12!") == ["i", "support", "option", "b", "fact-b-12"]


def test_tfidf_by_hand():
    m = Tfidf(normalise=False).fit(["a b", "a"])
    # idf(a) = log(3/3) + 1 = 1; idf(b) = log(3/2) + 1
    np.testing.assert_allclose(m.transform(["a a b"]), [[2.0, np.log(1.5) + 1.0]])
    assert m.transform(["zzz"]).sum() == 0.0


def test_tfidf_matches_scikit_learn():
    text = pytest.importorskip("sklearn.feature_extraction.text")
    ours = Tfidf().fit_transform(DOCS)
    ref = text.TfidfVectorizer(tokenizer=tokenize, lowercase=False, token_pattern=None).fit(DOCS)
    order = [ref.vocabulary_[t] for t in sorted(ref.vocabulary_)]
    np.testing.assert_allclose(ours, ref.transform(DOCS).toarray()[:, order], atol=1e-12)


def _brute_inertia(x):
    best = np.inf
    for labels in itertools.product((0, 1), repeat=len(x)):
        labels = np.array(labels)
        if labels.min() == labels.max():
            continue
        best = min(best, sum(((x[labels == c] - x[labels == c].mean(0)) ** 2).sum() for c in (0, 1)))
    return best


def test_two_means_is_the_exact_optimum():
    rng = np.random.default_rng(3)
    for n in (2, 3, 5, 7):
        x = rng.normal(size=(n, 3))
        res = two_means(x)
        assert res.inertia == pytest.approx(_brute_inertia(x))
        assert res.sizes[0] >= res.sizes[1] and sum(res.sizes) == n
        assert (res.labels == 0).sum() == res.sizes[0]


def test_two_means_agrees_with_scikit_learn_kmeans():
    cluster = pytest.importorskip("sklearn.cluster")
    x = np.array([[0.0, 0.0], [0.1, 0.0], [0.0, 0.2], [5.0, 5.0], [5.2, 4.9]])
    ours = two_means(x)
    km = cluster.KMeans(n_clusters=2, n_init=10, random_state=42).fit(x)
    assert ours.inertia == pytest.approx(km.inertia_)
    assert ours.sizes == (3, 2)
    np.testing.assert_array_equal(ours.labels, [0, 0, 0, 1, 1])


@pytest.mark.parametrize("text,expected", [
    ("Answer: B", 1), ("so the answer is (C).", 2), ("I support option D. Option A is wrong.", 3),
    ("B. Because the passage says so", 1), ("Answer: **A**", 0), ("the answer is a good one", -1),
    ("no idea", -1), ("Answer: E", -1), ("first option A, then option C", 2), ("Answer: none", -1),
])
def test_extract_answer(text, expected):
    assert extract_answer(text, 4) == expected


def test_references_round_trip():
    refs = [Reference("first\nline two", 1, 2), Reference("second", 2, 1), Reference("third", 1, 2)]
    assert parse_references("head\n\n" + format_references(refs)) == refs
    assert [r.text for r in parse_references(format_references(["x", "y"]))] == ["x", "y"]
    assert parse_references("no references") == []


def test_placement_strings():
    assert parse_placement("000_003") == ((0, 0, 0), (0, 0, 3))
    assert format_placement(parse_placement("02_31")) == "02_31"
    for bad in ("", "004", "00__0", "0a0"):
        with pytest.raises(InvalidInputError, match="placement"):
            parse_placement(bad)


def test_split_passage_is_contiguous_and_even():
    spans = split_passage("abcdefghij" * 3, 6)
    assert "".join(spans) == "abcdefghij" * 3 and {len(s) for s in spans} == {5}


def test_question_task_marks_per_status():
    item = ComprehensionItem("q?", ("w", "x", "y", "z"), 1, tuple(f"span {k}" for k in range(6)))
    task = QuestionTask(item, np.random.default_rng(0))
    assert task.target in (0, 2, 3)
    t = "ABCD"[task.target]
    user = lambda s: task.agent_messages(1, 2, s, ["ref"])[1].content  # noqa: E731
    assert "span 5" in user(0) and "Marked correct: B" in user(0)
    assert "Marked correct: " + t in user(2) and "Marked incorrect" not in user(2)
    assert "Marked incorrect: B" in user(3) and "Marked correct: " + t in user(3)
    agg = task.aggregator_messages(["r1", "r2"])
    assert "span" not in agg[0].content + agg[1].content and "### Response 2" in agg[0].content
    with pytest.raises(InvalidInputError, match="status"):
        task.agent_messages(0, 0, 1, [])


def test_generated_items_are_seeded_and_well_formed():
    from saddlepoint.agents.tasks import evidence_items, story_items

    a = story_items(3, np.random.default_rng(0))
    assert a == story_items(3, np.random.default_rng(0)) and a != story_items(3, np.random.default_rng(1))
    for item in a:
        assert len(item.spans) == 6 and len(set(item.options)) == 4
        assert item.options[item.answer] in "".join(item.spans)
    for item in evidence_items(5, np.random.default_rng(0)):
        assert len(item.spans) == 6 and all(s.startswith("Facts: ") for s in item.spans)


def test_quality_items_reads_the_hard_subset(tmp_path):
    import json

    from saddlepoint.agents.tasks import quality_items

    record = {"article_id": "x1", "article": "abcdef" * 10, "questions": [
        {"question": "q1", "options": ["a", "b", "c", "d"], "gold_label": 3, "difficult": 1},
        {"question": "q2", "options": ["a", "b", "c", "d"], "gold_label": 1, "difficult": 0},
        {"question": "q3", "options": ["a", "b", "c", "d"], "difficult": 1}]}
    path = tmp_path / "quality.jsonl"
    path.write_text(json.dumps(record) + "\n")
    items = quality_items(path)
    assert [(i.question, i.answer, len(i.spans)) for i in items] == [("q1", 2, 6)]
    assert len(quality_items(path, hard_only=False)) == 2
    path.write_text("{not json\n")
    with pytest.raises(InvalidInputError, match="quality.jsonl:1"):
        quality_items(path)


def test_importing_agents_loads_no_heavy_modules():
    import subprocess
    import sys

    code = ("import sys, saddlepoint.agents, saddlepoint.experiments.moa; "
            "print([m for m in ('torch', 'transformers', 'sklearn', 'matplotlib') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
