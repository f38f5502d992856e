"""The one token-sampling loop (saddlepoint.lm.sampling): the four samplers it replaced draw the
same tokens as before (literals computed with the former implementations: generate-based
sample_responses, the trainer's mixture sampler, the engine's and InferenceGuard's growth loops),
``generate`` parity, and the loop's own rules (EOS, padding, minimum length, hook, greedy)."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from saddlepoint.decoding.engine import BlockwiseDecoder, DecodeConfig
from saddlepoint.decoding.guard import ChunkSampler
from saddlepoint.decoding.policy import CausalPolicy, MixturePolicy
from saddlepoint.decoding.rules import ReferenceRule, RobustRule
from saddlepoint.decoding.synthetic import make_task, symbol_tokenizer, task_rewards
from saddlepoint.decoding.synthetic import tiny_gpt2 as symbol_gpt2
from saddlepoint.decoding.values import RewardValues
from saddlepoint.errors import InvalidInputError
from saddlepoint.lm.logprobs import left_pad, sample_mixture_responses, sample_responses
from saddlepoint.lm.sampling import CachedLM, GeometricMixture, sample, torch_generator_from

VOCAB = 12
PROMPTS = [[1], [2, 3], [4, 5, 6], [7], [8, 9], [10, 11, 3, 2], [5]]

# Frozen outputs of the four former sampling loops (same seeds, same settings as below).
PLAIN = [[5, 5, 5, 4, 5, 6], [4, 9, 9, 7, 7, 7], [9, 4, 9, 5, 4, 4], [1, 1, 5, 5, 5, 5], [10, 11, 9, 4, 4, 6],
         [11, 6, 5, 4, 4, 4], [5, 5, 4, 3, 11, 0]]
MIXTURE = [[6, 5, 5, 5, 5], [5, 5, 0, 0, 6], [6, 6, 11, 0, 0], [1], [2, 7, 9, 11, 0], [11, 11, 0, 3, 5], [5, 5, 4, 11, 0]]
ENGINE = [21, 9, 9, 13, 4, 8, 10, 22, 21, 6, 11, 13]
MOD = [8, 1]
CHUNK = [[12, 5, 23, 24, 11], [11, 26, 1, 0, 0], [4, 7, 7, 19, 5], [21, 26, 9, 11, 7]]
PENALISED = [[11, 11, 24, 22, 15], [6, 19, 7, 8, 10], [6, 17, 19, 6, 18], [7, 7, 3, 20, 14]]


def tiny_gpt2(seed):
    cfg = transformers.GPT2Config(vocab_size=VOCAB, n_positions=32, n_embd=16, n_layer=2, n_head=2, bos_token_id=None,
                                  eos_token_id=None, initializer_range=0.5, resid_pdrop=0.0, embd_pdrop=0.0,
                                  attn_pdrop=0.0)
    torch.manual_seed(seed)
    return transformers.GPT2LMHeadModel(cfg).eval()


@pytest.fixture(scope="module")
def models():
    return tiny_gpt2(0), tiny_gpt2(1)


@pytest.fixture(scope="module")
def symbols():
    task = make_task(0)
    tok = symbol_tokenizer(task.n_symbols)
    prompt = torch.tensor([tok("s1 s2 s3 s4", add_special_tokens=False)["input_ids"]])
    return task, tok, symbol_gpt2(len(tok), seed=0), symbol_gpt2(len(tok), seed=1), prompt


def test_sample_responses_draws_the_former_generate_tokens(models):
    pol, _ = models
    assert sample_responses(pol, PROMPTS, max_new_tokens=6, eos_id=0, min_new_tokens=2, temperature=0.8, top_k=6,
                            seed=3, batch_size=4) == PLAIN


def test_mixture_sampler_draws_the_former_mixture_tokens(models):
    pol, ref = models
    assert sample_mixture_responses(pol, ref, PROMPTS, mixture_coef=0.4, max_new_tokens=5, eos_id=1, pad_id=0, seed=2,
                                    batch_size=3) == MIXTURE


def test_engine_and_guard_draw_the_former_tokens(symbols):
    task, tok, m, m2, prompt = symbols
    res = BlockwiseDecoder(CausalPolicy(m), tok, RobustRule(lam=2.0), DecodeConfig(4, 3, 12, temperature=0.9, top_k=8),
                           value_fn=RewardValues(task_rewards(task))).decode(prompt, np.random.default_rng(4))
    assert res.token_ids == ENGINE
    mod = BlockwiseDecoder(MixturePolicy([m, m2], [0.3, 0.7]), tok, ReferenceRule(), DecodeConfig(1, 5, 10))
    assert mod.decode(prompt, np.random.default_rng(6)).token_ids == MOD
    sampler = ChunkSampler(CausalPolicy(m), tok)
    gen = torch_generator_from(np.random.default_rng(8))
    t0 = prompt.shape[1]
    plain = sampler.grow(sampler.start(prompt), torch.zeros(4, dtype=torch.long), 5, gen)
    assert plain.seqs[:, t0:].tolist() == CHUNK
    flagged = torch.tensor([0, 1, 4, 5])
    penalised = sampler.grow(sampler.start(prompt), torch.zeros(4, dtype=torch.long), 5, gen, flagged, 4.0)
    assert penalised.seqs[:, t0:].tolist() == PENALISED
    # the ended row (EOS = 1) is padded and its length stops growing; no early stop in a chunk
    assert plain.finished.tolist() == [False, True, False, False] and plain.lengths.tolist() == [5, 3, 5, 5]


def test_same_tokens_as_generate_and_global_state_untouched(models):
    pol, _ = models
    kw = dict(max_new_tokens=5, eos_id=3, pad_id=0, min_new_tokens=1, temperature=1.2, top_k=5)
    torch.manual_seed(123)
    before = torch.get_rng_state()
    ours = sample_responses(pol, PROMPTS, seed=9, batch_size=8, **kw)
    assert torch.equal(torch.get_rng_state(), before)
    ids, attn = left_pad(PROMPTS, 0)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(9)
        gen = pol.generate(input_ids=ids, attention_mask=attn, do_sample=True, max_new_tokens=5, min_new_tokens=1,
                           temperature=1.2, top_k=5, top_p=None, pad_token_id=0, eos_token_id=3)
    rows = [r[: r.index(3) + 1] if 3 in r else r for r in gen[:, ids.shape[1]:].tolist()]
    assert ours == rows


def test_loop_rules_minimum_length_padding_hook_and_greedy(models):
    pol, ref = models
    lm = CachedLM(pol)
    ids, attn = left_pad(PROMPTS, 0)
    seen = []

    def favour_eos(step, logits, state):
        seen.append((step, state.sequences.shape[1]))
        out = logits.clone()
        out[:, 2] += 50.0  # EOS (2) all but certain ...
        return out

    gen = torch.Generator().manual_seed(0)
    out = sample(lm, lm.start(ids, attn), 6, gen, eos=[2], pad=0, min_new_tokens=3, logits_hook=favour_eos)
    # ... but suppressed for the first 3 tokens; then every row ends at once and the loop stops
    assert out.tokens.shape == (len(PROMPTS), 4) and bool(out.finished.all())
    assert (out.tokens[:, :3] != 2).all() and (out.tokens[:, 3] == 2).all()
    assert out.counts.tolist() == [4] * len(PROMPTS)
    assert seen == [(s, ids.shape[1] + s) for s in range(4)]
    # no early stop: exactly `steps` tokens, padding after EOS
    out = sample(lm, lm.start(ids, attn), 6, gen, eos=[2], pad=7, logits_hook=favour_eos, stop_when_finished=False)
    assert out.tokens.shape == (len(PROMPTS), 6) and (out.tokens[:, 1:] == 7).all() and out.counts.tolist() == [1] * 7
    # temperature 0 is greedy: the argmax of the logits, whatever the generator
    greedy = sample(lm, lm.start(ids, attn), 1, gen, temperature=0.0).tokens[:, 0]
    with torch.no_grad():
        positions = (attn.cumsum(-1) - 1).clamp(min=0)  # left padding: positions start at each prompt
        direct = pol(input_ids=ids, attention_mask=attn, position_ids=positions).logits[:, -1].argmax(-1)
    assert torch.equal(greedy, direct)
    # the mixture hook at c = 0 and c = 1 gives the policy's and the reference's samples
    kw = dict(max_new_tokens=4, eos_id=1, seed=5)
    assert sample_mixture_responses(pol, ref, PROMPTS, mixture_coef=0.0, **kw) == sample_responses(pol, PROMPTS, **kw)
    assert sample_mixture_responses(pol, ref, PROMPTS, mixture_coef=1.0, **kw) == sample_responses(ref, PROMPTS, **kw)


def test_bad_input_is_refused(models):
    pol, ref = models
    with pytest.raises(InvalidInputError, match="mixture_coef"):
        GeometricMixture(ref, 1.5)
    with pytest.raises(InvalidInputError, match="max_new_tokens"):
        sample_responses(pol, PROMPTS, max_new_tokens=0)
    with pytest.raises(InvalidInputError, match="at least one token"):
        sample_responses(pol, [[1], []], max_new_tokens=2)
    with pytest.raises(InvalidInputError, match="steps"):
        sample(CachedLM(pol), None, -1, torch.Generator())
