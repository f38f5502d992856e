"""Model, sampler and likelihood estimators, including an exact oracle model built from a
known joint distribution (tiny, enumerated exhaustively)."""

import itertools
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")
torch.set_num_threads(1)

from saddlepoint.diffusion_lm.likelihood import (
    OnePassEstimator,
    llada_loss,
    masked_completion_logp,
    mc_elbo_logp,
)
from saddlepoint.diffusion_lm.model import DiffusionLMConfig, MaskedDiffusionLM
from saddlepoint.diffusion_lm.sampler import SamplerConfig, fill_masked, sample, transfer_schedule
from saddlepoint.errors import InvalidInputError

MASK = 2  # oracle vocabulary: tokens 0 and 1, then the mask


class JointOracle(torch.nn.Module):
    """A "model" whose conditionals are exactly those of a joint table over {0,1}^L: the
    logit of token v at position k is log P(seq_k = v, visible tokens)."""

    def __init__(self, joint: np.ndarray) -> None:
        super().__init__()
        self.mask_id = MASK
        self.length = joint.ndim
        self.seqs = np.array(list(itertools.product((0, 1), repeat=self.length)))
        self.probs = np.array([joint[tuple(s)] for s in self.seqs])

    def forward(self, ids):
        ids = ids.numpy()
        out = np.full(ids.shape + (3,), -np.inf)
        for b, row in enumerate(ids):
            visible = row != MASK
            ok = (self.seqs[:, visible] == row[visible]).all(axis=1)
            for k in range(self.length):
                for v in (0, 1):
                    mass = self.probs[ok & (self.seqs[:, k] == v)].sum()
                    out[b, k, v] = math.log(mass) if mass > 0 else -np.inf
        return torch.as_tensor(out, dtype=torch.float64)


def _joint(rng, p_len=2, c_len=3, independent=False):
    if independent:  # P(x) prod_k P(y_k | x)
        px = rng.dirichlet(np.ones(2 ** p_len)).reshape((2,) * p_len)
        py = rng.uniform(0.1, 0.9, size=(2,) * p_len + (c_len,))  # P(y_k = 1 | x)
        joint = np.zeros((2,) * (p_len + c_len))
        for s in itertools.product((0, 1), repeat=p_len + c_len):
            x, y = s[:p_len], s[p_len:]
            joint[s] = px[x] * np.prod([py[x][k] if y[k] else 1 - py[x][k] for k in range(c_len)])
        return joint
    return rng.dirichlet(np.ones(2 ** (p_len + c_len))).reshape((2,) * (p_len + c_len))


def _exact_logp(joint, x, y):
    return math.log(joint[tuple(x) + tuple(y)] / joint[tuple(x)].sum())


def test_mc_elbo_is_unbiased_for_the_exact_likelihood_exhaustively():
    """sum over l of (1/C)(C/l) E_{|M|=l} sum_{k in M} log p(y_k | y_rest) = log p(y|x) for
    exact conditionals (chain rule in every order), checked over all masks."""
    joint = _joint(np.random.default_rng(0))
    oracle = JointOracle(joint)
    x, y = torch.tensor([[1, 0]]), torch.tensor([[0, 1, 1]])
    c = y.shape[1]
    expectation = 0.0
    for subset_bits in itertools.product((False, True), repeat=c):
        n = sum(subset_bits)
        if n == 0:
            continue
        cmask = torch.tensor([subset_bits])
        term = masked_completion_logp(oracle, x, y, cmask).sum().item()
        expectation += (1 / c) * (c / n) * term / math.comb(c, n)
    assert expectation == pytest.approx(_exact_logp(joint, [1, 0], [0, 1, 1]), abs=1e-10)
    mc = mc_elbo_logp(oracle, x.repeat(4000, 1), y.repeat(4000, 1), 1, torch.Generator().manual_seed(0))
    se = mc.std().item() / math.sqrt(len(mc))
    assert abs(mc.mean().item() - expectation) < 4 * se


def test_one_pass_estimator_is_exact_for_conditionally_independent_completions():
    joint = _joint(np.random.default_rng(1), independent=True)
    oracle = JointOracle(joint)
    est = OnePassEstimator(p_mask_prompt=0.0)
    for x, y in (([0, 1], [1, 1, 0]), ([1, 1], [0, 0, 1])):
        xt, yt = torch.tensor([x]), torch.tensor([y])
        value = est(oracle, xt, yt, est.draw_mask(xt)).sum().item()
        assert value == pytest.approx(_exact_logp(joint, x, y), abs=1e-10)
    assert est.passes == 2


def test_one_pass_estimator_with_prompt_masking_matches_its_exhaustive_expectation():
    joint = _joint(np.random.default_rng(2))
    oracle = JointOracle(joint)
    p = 0.3
    est = OnePassEstimator(p_mask_prompt=p)
    x, y = torch.tensor([[0, 1]]), torch.tensor([[1, 0, 1]])
    allc = torch.ones_like(y, dtype=torch.bool)
    exact = 0.0
    for bits in itertools.product((False, True), repeat=2):
        weight = np.prod([p if b else 1 - p for b in bits])
        exact += weight * masked_completion_logp(oracle, x, y, allc, torch.tensor([bits])).sum().item()
    n = 3000
    xs, ys = x.repeat(n, 1), y.repeat(n, 1)
    gen = torch.Generator().manual_seed(0)
    values = est(oracle, xs, ys, est.draw_mask(xs, gen)).sum(dim=1)
    assert est.passes == 1  # one forward pass for the whole batch
    se = values.std().item() / math.sqrt(n)
    assert abs(values.mean().item() - exact) < 4 * se


def _tiny_model(seed=0, vocab=8, mask_id=6, length=12):
    cfg = DiffusionLMConfig(vocab, length, mask_id, d_model=16, n_layers=1, n_heads=2, d_ff=32)
    return MaskedDiffusionLM(cfg, torch.Generator().manual_seed(seed))


def test_model_init_is_determined_by_the_generator():
    a, b, c = _tiny_model(0), _tiny_model(0), _tiny_model(1)
    for pa, pb, pc in zip(a.parameters(), b.parameters(), c.parameters()):
        assert torch.equal(pa, pb)
    assert any(not torch.equal(pa, pc) for pa, pc in zip(a.parameters(), c.parameters()))
    logits = a(torch.randint(0, 8, (3, 12), generator=torch.Generator().manual_seed(0)))
    assert logits.shape == (3, 12, 8)


def test_config_errors_name_the_field():
    with pytest.raises(InvalidInputError, match="mask_id"):
        DiffusionLMConfig(8, 12, 8)
    with pytest.raises(InvalidInputError, match="n_heads"):
        DiffusionLMConfig(8, 12, 6, d_model=10, n_heads=4)
    with pytest.raises(InvalidInputError, match="block_length"):
        SamplerConfig(gen_length=8, block_length=3)
    with pytest.raises(InvalidInputError, match="steps"):
        SamplerConfig(gen_length=8, block_length=4, steps=3)


def test_transfer_schedule_spreads_the_masked_count():
    sched = transfer_schedule(torch.tensor([5, 8, 0]), 3)
    torch.testing.assert_close(sched, torch.tensor([[2, 2, 1], [3, 3, 2], [0, 0, 0]]))


@pytest.mark.parametrize("temperature,remasking", [(0.9, "low_confidence"), (0.0, "low_confidence"), (1.0, "random")])
def test_sampler_only_fills_masked_positions(temperature, remasking):
    model = _tiny_model()
    gen = torch.Generator().manual_seed(0)
    x = torch.randint(0, 6, (5, 12), generator=gen)
    holes = torch.rand(5, 12, generator=gen) < 0.6
    holes[:, :4] = False  # the prompt
    holes[0, 4:] = True  # one fully masked completion
    x_masked = x.masked_fill(holes, model.mask_id)
    cfg = SamplerConfig(gen_length=8, block_length=4, steps=4, temperature=temperature, remasking=remasking)
    out = fill_masked(model, x_masked, 4, cfg, gen)
    assert torch.equal(out[~holes], x_masked[~holes])  # untouched where not masked
    assert not (out == model.mask_id).any()  # every masked position filled
    assert out.shape == x.shape


def test_sampling_is_deterministic_under_a_seed_and_greedy_ignores_it():
    model = _tiny_model()
    prompt = torch.randint(0, 6, (4, 4), generator=torch.Generator().manual_seed(1))
    cfg = SamplerConfig(gen_length=8, block_length=8, steps=4, temperature=1.0)
    a = sample(model, prompt, cfg, torch.Generator().manual_seed(5))
    b = sample(model, prompt, cfg, torch.Generator().manual_seed(5))
    assert torch.equal(a, b)
    greedy = SamplerConfig(gen_length=8, block_length=8, steps=4, temperature=0.0)
    assert torch.equal(sample(model, prompt, greedy, torch.Generator().manual_seed(1)),
                       sample(model, prompt, greedy, torch.Generator().manual_seed(2)))


def test_llada_loss_is_finite_and_reduces_with_training():
    model = _tiny_model()
    gen = torch.Generator().manual_seed(0)
    prompt = torch.randint(0, 5, (32, 4), generator=gen)
    completion = prompt.flip(1).repeat(1, 2)  # a deterministic function of the prompt
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    first = None
    for _ in range(150):
        loss = llada_loss(model, prompt, completion, gen)
        first = first if first is not None else loss.item()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert math.isfinite(first)
    final = np.mean([llada_loss(model, prompt, completion, gen).item() for _ in range(10)])
    assert final < 0.5 * first
