"""The language-model self-play trainer on a tiny GPT-2 built from a config (seconds)."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from saddlepoint.errors import InvalidInputError
from saddlepoint.lm.logprobs import sample_responses, sequence_logprobs
from saddlepoint.preference.oracle import BradleyTerryOracle, CallableOracle
from saddlepoint.preference.trainer import SelfPlayConfig, SelfPlayTrainer

VOCAB = 8


PROMPTS = [[1], [2, 3], [4], [5, 6]]


def tiny_gpt2(seed=0):
    cfg = transformers.GPT2Config(vocab_size=VOCAB, n_positions=8, n_embd=16, n_layer=2, n_head=2,
                                  bos_token_id=None, eos_token_id=None)
    torch.manual_seed(seed)
    return transformers.GPT2LMHeadModel(cfg).eval()


def reward(prompt, response):
    """Prefers responses with many copies of token 7."""
    return float(sum(t == 7 for t in response))


ORACLE = BradleyTerryOracle(reward, beta=2.0)


def config(**kw):
    base = {"loss": "rspo", "iterations": 2, "num_responses": 4, "max_new_tokens": 3, "eta": 2.0,
            "reg_coef": 0.1, "learning_rate": 1e-2, "batch_size": 2, "seed": 0}
    base.update(kw)
    return SelfPlayConfig(**base)


@pytest.mark.parametrize("loss", ["sppo", "rspo", "inpo"])
def test_every_parameter_changes_and_loss_is_finite(loss):
    model = tiny_gpt2()
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    trainer = SelfPlayTrainer(model, ORACLE, config(loss=loss, tau=0.1, regularizer="forward_kl_is+reverse_kl"))
    metrics = trainer.step(PROMPTS)
    assert np.isfinite(metrics["loss"]) and np.isfinite(metrics["loss_last"])
    unchanged = [n for n, p in model.named_parameters() if p.requires_grad and torch.equal(p, before[n])]
    assert unchanged == []
    # the reference model is a frozen copy: untouched
    for n, p in trainer.ref_model.named_parameters():
        assert torch.equal(p, before[n]) and not p.requires_grad


def test_sequence_logprobs_sum_over_responses():
    model = tiny_gpt2()
    every = [[a, b] for a in range(VOCAB) for b in range(VOCAB)]
    with torch.no_grad():
        lp = sequence_logprobs(model, [[3]] * len(every), every)
        # summed token log-probs of all two-token continuations normalise to one
        assert lp.exp().sum().item() == pytest.approx(1.0, abs=1e-5)
        # padding does not change a row's value
        alone = sequence_logprobs(model, [[2, 3]], [[5, 6, 7]])
        mixed = sequence_logprobs(model, [[1], [2, 3]], [[0], [5, 6, 7]])
    assert mixed[1].item() == pytest.approx(alone[0].item(), abs=1e-5)


def test_sampling_is_seeded_and_leaves_global_state_alone():
    model = tiny_gpt2()
    torch.manual_seed(123)
    state = torch.get_rng_state()
    a = sample_responses(model, PROMPTS, max_new_tokens=3, seed=5)
    assert torch.equal(state, torch.get_rng_state())
    assert a == sample_responses(model, PROMPTS, max_new_tokens=3, seed=5)
    assert all(len(r) == 3 for r in a)


def test_training_is_deterministic():
    runs = []
    for _ in range(2):
        model = tiny_gpt2()
        SelfPlayTrainer(model, ORACLE, config(iterations=1)).train(PROMPTS)
        runs.append(torch.cat([p.detach().flatten() for p in model.parameters()]))
    assert torch.equal(runs[0], runs[1])


def test_resume_after_snapshot(tmp_path):
    full = tiny_gpt2()
    SelfPlayTrainer(full, ORACLE, config(iterations=2)).train(PROMPTS)
    # run one iteration, then a fresh trainer on the same folder finishes the second
    first = SelfPlayTrainer(tiny_gpt2(), ORACLE, config(iterations=1), output_dir=tmp_path)
    first.train(PROMPTS)
    assert (tmp_path / "iter-1" / "selfplay_state.json").is_file()
    resumed_model = tiny_gpt2()
    resumed = SelfPlayTrainer(resumed_model, ORACLE, config(iterations=2), output_dir=tmp_path,
                              ref_model=tiny_gpt2())
    assert resumed.iteration == 1 and len(resumed.history) == 1
    resumed.train(PROMPTS)
    assert resumed.iteration == 2
    for a, b in zip(full.parameters(), resumed_model.parameters()):
        torch.testing.assert_close(a, b)


def test_callable_oracle_sees_token_tuples():
    seen = []

    def judge(prompt, a, b):
        seen.append((prompt, a, b))
        return 0.5

    SelfPlayTrainer(tiny_gpt2(), CallableOracle(judge), config(iterations=1)).step(PROMPTS[:1])
    assert seen and isinstance(seen[0][1], tuple) and seen[0][0] == PROMPTS[0]


def test_config_validation():
    with pytest.raises(InvalidInputError, match="loss"):
        SelfPlayConfig(loss="dpo")
    with pytest.raises(InvalidInputError, match="num_responses"):
        SelfPlayConfig(num_responses=1)
    with pytest.raises(InvalidInputError, match="string prompts"):
        SelfPlayTrainer(tiny_gpt2(), ORACLE, config()).step(["hello"])
