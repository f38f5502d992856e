"""The blockwise engine on a tiny GPT-2: best-of-N against a direct implementation, seeds,
RMOD with one objective equals CD, MOD limits, a beam-keeping plug-in rule."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from saddlepoint.decoding.engine import BlockwiseDecoder, DecodeConfig
from saddlepoint.decoding.policy import CausalPolicy, MixturePolicy
from saddlepoint.decoding.rules import FixedWeightsRule, ReferenceRule, RobustRule, Selection
from saddlepoint.decoding.synthetic import (
    make_task,
    symbol_tokenizer,
    task_rewards,
    tiny_gpt2,
)
from saddlepoint.decoding.values import RewardValues
from saddlepoint.errors import InvalidInputError
from saddlepoint.lm.sampling import torch_generator_from


@pytest.fixture(scope="module")
def setup():
    task = make_task(0)
    tok = symbol_tokenizer(task.n_symbols)
    model = tiny_gpt2(len(tok), seed=0)
    return task, tok, model


def _prompt(tok):
    return torch.tensor([tok("s1 s2 s3 s4", add_special_tokens=False)["input_ids"]])


def test_best_of_n_equals_direct_implementation(setup):
    task, tok, model = setup
    rewards = task_rewards(task)
    n, length = 6, 10
    dec = BlockwiseDecoder(CausalPolicy(model), tok, FixedWeightsRule((1 / 3, 1 / 3, 1 / 3)),
                           DecodeConfig(num_candidates=n, block_size=length, max_new_tokens=length),
                           value_fn=RewardValues(rewards))
    res = dec.decode(_prompt(tok), np.random.default_rng(5))

    # Direct: N samples by full (uncached) forward passes with the same torch generator.
    gen = torch_generator_from(np.random.default_rng(5))
    ids = _prompt(tok).repeat(n, 1)
    done = torch.zeros(n, dtype=torch.bool)
    for _ in range(length):
        with torch.no_grad():
            logp = torch.log_softmax(model(ids).logits[:, -1, :].float(), -1)
        nxt = torch.multinomial(torch.softmax(logp, -1), 1, generator=gen).squeeze(1)
        nxt = torch.where(done, torch.full_like(nxt, tok.pad_token_id), nxt)
        done |= nxt == tok.eos_token_id
        ids = torch.cat([ids, nxt[:, None]], 1)
        if done.all():
            break
    texts = []
    for row in ids[:, 4:].tolist():
        cut = row.index(tok.eos_token_id) if tok.eos_token_id in row else len(row)
        texts.append(tok.decode(row[:cut], skip_special_tokens=True))
    scores = np.mean([r(texts) for r in rewards], axis=0)
    assert res.text == texts[int(np.argmax(scores))]
    np.testing.assert_allclose(res.blocks[0].values, np.stack([r(texts) for r in rewards], 1))
    assert len(res.blocks) == 1 and res.value_rows == n


def test_same_seed_same_text_and_different_seeds_differ(setup):
    task, tok, model = setup
    dec = BlockwiseDecoder(CausalPolicy(model), tok, RobustRule(lam=2.0),
                           DecodeConfig(num_candidates=4, block_size=3, max_new_tokens=12),
                           value_fn=RewardValues(task_rewards(task)))
    a = dec.decode(_prompt(tok), np.random.default_rng(1))
    b = dec.decode(_prompt(tok), np.random.default_rng(1))
    assert a.text == b.text and a.token_ids == b.token_ids
    np.testing.assert_array_equal(a.weight_trace, b.weight_trace)
    others = {dec.decode(_prompt(tok), np.random.default_rng(s)).text for s in range(2, 6)}
    assert len(others | {a.text}) > 1
    assert a.weight_trace.shape == (len(a.blocks), 3)
    assert np.allclose(a.weight_trace.sum(1), 1)


def test_rmod_with_one_objective_equals_controlled_decoding(setup):
    task, tok, model = setup
    values = RewardValues(task_rewards(task)[:1])
    cfg = DecodeConfig(num_candidates=5, block_size=2, max_new_tokens=10)
    for seed in range(3):
        rm = BlockwiseDecoder(CausalPolicy(model), tok, RobustRule(lam=1.0), cfg, values).decode(
            _prompt(tok), np.random.default_rng(seed))
        cd = BlockwiseDecoder(CausalPolicy(model), tok, FixedWeightsRule((1.0,)), cfg, values).decode(
            _prompt(tok), np.random.default_rng(seed))
        assert rm.token_ids == cd.token_ids


def test_mod_with_one_hot_weights_equals_reference_sampling(setup):
    _, tok, model = setup
    other = tiny_gpt2(len(tok), seed=1)
    cfg = DecodeConfig(num_candidates=1, block_size=4, max_new_tokens=12)
    ref = BlockwiseDecoder(CausalPolicy(model), tok, ReferenceRule(), cfg).decode(_prompt(tok), np.random.default_rng(3))
    mod = BlockwiseDecoder(MixturePolicy([model, other], [1.0, 0.0]), tok, ReferenceRule(), cfg,
                           model_for_eos=model).decode(_prompt(tok), np.random.default_rng(3))
    assert ref.token_ids == mod.token_ids
    assert mod.tokens_forwarded == 2 * ref.tokens_forwarded
    with pytest.raises(InvalidInputError, match="simplex"):
        MixturePolicy([model, other], [0.7, 0.7])


class _TopTwo:
    """A beam-style plug-in: keep the two best candidates by the first objective."""

    needs_values = True

    def select(self, values, parents, rng):
        order = np.argsort(-values[:, 0], kind="stable")
        keep = order[:2] if len(values) > 2 else order[:1]
        return Selection(keep, None, {"parents": parents[keep].tolist()})


def test_engine_accepts_a_beam_rule_and_counts_compute(setup):
    task, tok, model = setup
    cfg = DecodeConfig(num_candidates=3, block_size=2, max_new_tokens=6)
    res = BlockwiseDecoder(CausalPolicy(model), tok, _TopTwo(), cfg, RewardValues(task_rewards(task))).decode(
        _prompt(tok), np.random.default_rng(0))
    # block 1: 1 parent x 3 children; later blocks: 2 parents x 3 children (unless all ended)
    assert res.blocks[0].values.shape[0] == 3
    assert all(b.values.shape[0] in (3, 6) for b in res.blocks)
    assert res.tokens_forwarded >= 4 + 3 * 2
    assert len(res.token_ids) <= 6


def test_value_function_is_required_and_bad_config_rejected(setup):
    _, tok, model = setup
    with pytest.raises(InvalidInputError, match="value"):
        BlockwiseDecoder(CausalPolicy(model), tok, RobustRule(), DecodeConfig())
    with pytest.raises(InvalidInputError, match="num_candidates"):
        DecodeConfig(num_candidates=0)
    with pytest.raises(InvalidInputError, match="temperature"):
        DecodeConfig(temperature=-1.0)
