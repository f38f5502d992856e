"""Nash-MD in the language-model trainer: the geometric-mixture sampler, the Nash-MD-PG loss
(hand-computed, NumPy vs torch) and trainer iterations on a tiny GPT-2 built from a config."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from saddlepoint.errors import InvalidInputError
from saddlepoint.lm.logprobs import (
    response_token_logprobs,
    sample_mixture_responses,
    sample_responses,
    sequence_logprobs,
)
from saddlepoint.preference import losses as np_losses
from saddlepoint.preference import torch_losses as t_losses
from saddlepoint.preference.oracle import BradleyTerryOracle
from saddlepoint.preference.trainer import NashMDTrainer, NashMDTrainerConfig, SelfPlayConfig, SelfPlayTrainer

VOCAB = 8
PROMPTS = [[1], [2, 3], [4], [5, 6], [3], [7, 1]]


def tiny_gpt2(seed=0, init=0.02):
    """No dropout: at iteration 1 (pi_t = pi_ref) the KL term then has zero gradient, so every
    parameter moves only if the opponents differ from the policy's samples (p != 1/2)."""
    cfg = transformers.GPT2Config(vocab_size=VOCAB, n_positions=16, n_embd=16, n_layer=2, n_head=2,
                                  bos_token_id=None, eos_token_id=None, initializer_range=init,
                                  resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0)
    torch.manual_seed(seed)
    return transformers.GPT2LMHeadModel(cfg).eval()


# ----------------------------------------------------------------------------- loss
def test_nash_md_loss_hand_computed():
    logp = np.array([[-1.0, -2.0], [-0.5, -7.0]])      # [1, 1] is padding: masked out
    logp_ref = np.array([[-1.5, -1.0], [-1.0, -3.0]])
    mask = np.array([[1, 1], [1, 0]])
    p = np.array([0.9, 0.2])
    # row 0: 0.1 (0.5 * -1 + -1 * -2) - 0.4 * -3 = 1.35; row 1: 0.1 (0.5 * -0.5) - (-0.3) (-0.5) = -0.175
    val, grad = np_losses.nash_md_pg_loss(logp, logp_ref, p, 0.1, mask)
    assert val == pytest.approx((1.35 - 0.175) / 2)
    # d/dl = m (beta (l - l_ref) - (p - 1/2)) / B
    np.testing.assert_allclose(grad, [[-0.175, -0.25], [0.175, 0.0]])
    x = torch.tensor(logp, requires_grad=True)
    loss = t_losses.nash_md_pg_loss(x, torch.tensor(logp_ref), torch.tensor(p), 0.1, torch.tensor(mask))
    loss.backward()
    assert loss.item() == pytest.approx((1.35 - 0.175) / 2)
    np.testing.assert_allclose(x.grad.numpy(), [[-0.175, -0.25], [0.175, 0.0]])


def test_nash_md_loss_torch_matches_numpy_per_token():
    rng = np.random.default_rng(1)
    logp, logp_ref = -rng.uniform(0, 4, size=(5, 6)), -rng.uniform(0, 4, size=(5, 6))
    mask = np.arange(6)[None, :] < rng.integers(1, 7, size=5)[:, None]
    p = rng.uniform(size=5)
    val, grad = np_losses.nash_md_pg_loss(logp, logp_ref, p, 0.3, mask)
    x = torch.tensor(logp, requires_grad=True)
    loss = t_losses.nash_md_pg_loss(x, torch.tensor(logp_ref), torch.tensor(p), 0.3, torch.tensor(mask))
    loss.backward()
    assert loss.item() == pytest.approx(val, rel=1e-12)
    np.testing.assert_allclose(x.grad.numpy(), grad, rtol=1e-12, atol=1e-15)
    # a one-token response: the per-token and the summed forms agree
    one = np_losses.nash_md_pg_loss(logp[:, 0], logp_ref[:, 0], p, 0.3)[0]
    assert one == pytest.approx(np_losses.nash_md_pg_loss(logp[:, :1], logp_ref[:, :1], p, 0.3)[0])
    with pytest.raises(InvalidInputError, match="mask"):
        t_losses.nash_md_pg_loss(x, torch.tensor(logp_ref), torch.tensor(p), 0.3, torch.tensor(mask[:, :3]))


def test_response_token_logprobs_sum_to_sequence_logprobs():
    model = tiny_gpt2()
    prompts, responses = [[1], [2, 3, 4], [5]], [[6, 7, 0], [1], [2, 2]]
    with torch.no_grad():
        tok, mask = response_token_logprobs(model, prompts, responses)
        seq = sequence_logprobs(model, prompts, responses)
        alone, _ = response_token_logprobs(model, [[2, 3, 4]], [[1]])
    assert tok.shape == (3, 3) and mask.tolist() == [[True] * 3, [True, False, False], [True, True, False]]
    torch.testing.assert_close(tok.sum(dim=1), seq)
    assert float(tok[1, 0]) == pytest.approx(float(alone[0, 0]), abs=1e-6)
    assert float(tok[1, 1:].abs().sum()) == 0.0


# ----------------------------------------------------------------------------- mixture sampler
def test_mixture_sampler_endpoints_reproduce_each_model():
    policy, ref = tiny_gpt2(0, init=0.3), tiny_gpt2(1, init=0.3)
    prompts = PROMPTS * 3
    # EOS = 7 (likely), padding 0, min_new_tokens, temperature, top-k, uneven prompts, several batches
    kw = {"max_new_tokens": 10, "min_new_tokens": 1, "temperature": 0.8, "top_k": 6, "pad_id": 0, "eos_id": 7,
          "seed": 11, "batch_size": 4}
    own = sample_responses(policy, prompts, **kw)
    theirs = sample_responses(ref, prompts, **kw)
    assert own != theirs
    assert sample_mixture_responses(policy, ref, prompts, mixture_coef=0.0, **kw) == own
    assert sample_mixture_responses(policy, ref, prompts, mixture_coef=1.0, **kw) == theirs
    # the early stop (a whole batch finished before max_new_tokens) was exercised
    assert any(all(len(r) < 10 for r in own[i: i + 4]) for i in range(0, len(own), 4))
    assert all(r.count(7) <= 1 and (7 not in r or r[-1] == 7) and len(r) >= 1 for r in own)
    mixed = sample_mixture_responses(policy, ref, prompts, mixture_coef=0.5, **kw)
    assert mixed != own and mixed != theirs


def test_mixture_sampler_step_is_the_normalised_geometric_mean():
    policy, ref = tiny_gpt2(0, init=0.3), tiny_gpt2(1, init=0.3)
    with torch.no_grad():
        p_pol = torch.softmax(policy(input_ids=torch.tensor([[3]])).logits[0, -1].double(), -1).numpy()
        p_ref = torch.softmax(ref(input_ids=torch.tensor([[3]])).logits[0, -1].double(), -1).numpy()
    geo = np.sqrt(p_pol * p_ref)
    geo /= geo.sum()
    assert np.abs(geo - p_pol).max() > 0.1 and np.abs(geo - p_ref).max() > 0.1
    n = 6000
    draws = sample_mixture_responses(policy, ref, [[3]] * n, mixture_coef=0.5, max_new_tokens=1, seed=2,
                                     batch_size=n)
    freq = np.bincount([r[0] for r in draws], minlength=VOCAB) / n
    assert np.abs(freq - geo).max() < 0.02  # binomial sd <= 0.0065


def test_mixture_sampler_is_seeded_and_validates():
    policy, ref = tiny_gpt2(0), tiny_gpt2(1)
    state = torch.get_rng_state()
    a = sample_mixture_responses(policy, ref, PROMPTS, mixture_coef=0.5, max_new_tokens=3, seed=4)
    assert torch.equal(state, torch.get_rng_state())
    assert a == sample_mixture_responses(policy, ref, PROMPTS, mixture_coef=0.5, max_new_tokens=3, seed=4)
    with pytest.raises(InvalidInputError, match="mixture_coef"):
        sample_mixture_responses(policy, ref, PROMPTS, mixture_coef=1.5, max_new_tokens=3)


# ----------------------------------------------------------------------------- trainer
def reward(prompt, response):
    """Fine-grained so that few pairs tie: the sum of the response's token ids."""
    return float(sum(response)) / 4.0


ORACLE = BradleyTerryOracle(reward, beta=1.0)


def config(**kw):
    base = {"iterations": 2, "max_new_tokens": 3, "tau": 0.1, "mixture_coef": 0.5,
            "learning_rate": 1e-2, "batch_size": 2, "seed": 0}
    base.update(kw)
    return NashMDTrainerConfig(**base)


def test_nash_md_iteration_changes_every_parameter():
    model = tiny_gpt2()
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    trainer = NashMDTrainer(model, ORACLE, config(lr_scheduler="linear"))
    m1 = trainer.step(PROMPTS)
    assert np.isfinite(m1["loss"]) and np.isfinite(m1["loss_last"])
    assert 0.0 <= m1["win_prob_vs_mixture"] <= 1.0 and 0 < m1["mean_response_tokens"] <= 3
    assert m1["kl_to_reference"] == 0.0  # pi_1 = pi_ref exactly: the sample KL estimate vanishes
    assert len(m1["learning_rates"]) == 3 and m1["learning_rates"][0] == 0.0
    unchanged = [n for n, p in model.named_parameters() if p.requires_grad and torch.equal(p, before[n])]
    assert unchanged == []
    for n, p in trainer.ref_model.named_parameters():
        assert torch.equal(p, before[n]) and not p.requires_grad
    m2 = trainer.step(PROMPTS)
    assert m2["kl_to_reference"] != 0.0 and np.isfinite(m2["loss"])


def test_nash_md_resume_after_snapshot(tmp_path):
    full = tiny_gpt2()
    NashMDTrainer(full, ORACLE, config()).train(PROMPTS)
    first = NashMDTrainer(tiny_gpt2(), ORACLE, config(iterations=1), output_dir=tmp_path)
    first.train(PROMPTS)
    resumed_model = tiny_gpt2()
    resumed = NashMDTrainer(resumed_model, ORACLE, config(), output_dir=tmp_path, ref_model=tiny_gpt2())
    assert resumed.iteration == 1 and resumed.history[0]["learning_rates"] == first.history[0]["learning_rates"]
    resumed.train(PROMPTS)
    for a, b in zip(full.parameters(), resumed_model.parameters()):
        torch.testing.assert_close(a, b)


def test_nash_md_config_validation():
    with pytest.raises(InvalidInputError, match="mixture_coef"):
        NashMDTrainerConfig(mixture_coef=1.2)
    with pytest.raises(InvalidInputError, match="tau"):
        NashMDTrainerConfig(tau=-0.1)
    with pytest.raises(InvalidInputError, match="loss"):  # Nash-MD is a trainer of its own, not a loss name
        SelfPlayConfig(loss="nash_md")
    with pytest.raises(InvalidInputError, match="NashMDTrainer needs a NashMDTrainerConfig"):
        NashMDTrainer(tiny_gpt2(), ORACLE, SelfPlayConfig())
    with pytest.raises(InvalidInputError, match="SelfPlayTrainer needs a SelfPlayConfig"):
        SelfPlayTrainer(tiny_gpt2(), ORACLE, config())
