"""InferenceGuard and its baselines on the tiny generated model: matched budgets, determinism,
safety flags that agree with an independent evaluation of the cost, resampling accounting, and
the critic's held-out loss."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from saddlepoint.decoding.critic import CriticConfig, collect_rollouts, train_critic
from saddlepoint.decoding.guard import GuardConfig, SafeDecoder, arm_config
from saddlepoint.decoding.policy import CausalPolicy
from saddlepoint.errors import InvalidInputError
from saddlepoint.experiments.inferenceguard import BUDGETS, build_task

N, K, W, D = 8, 2, 4, 16
METHODS = ("bon_lagrangian", "bon_augmented", "beam_lagrangian", "beam_augmented", "guard", "guard_critic")


@pytest.fixture(scope="module")
def setup():
    task = build_task(0, lm_steps=120, max_new_tokens=D)
    policy = CausalPolicy(task.model)
    prompts = task.sample_prompts(12, np.random.default_rng(5))
    critics = {}
    for regime in ("count", "pattern"):
        data = collect_rollouts(policy, task.tokenizer, prompts[4:], task.reward, task.costs[regime],
                                samples_per_prompt=32, block_size=W, max_new_tokens=D, budget=BUDGETS[regime],
                                penalty=10.0, rng=np.random.default_rng(7))
        critics[regime] = (data, *train_critic(data, CriticConfig(epochs=30), np.random.default_rng(8)))
    return task, policy, prompts[:4], critics


def _decoder(setup, method, regime, **kw):
    task, policy, _, critics = setup
    cfg = arm_config(method, num_candidates=N, max_new_tokens=D, block_size=W, beam_width=K,
                     budget=BUDGETS[regime], **kw)
    return SafeDecoder(policy, task.tokenizer, task.reward, task.costs[regime], cfg, critic=critics[regime][1])


@pytest.mark.parametrize("regime", ["count", "pattern"])
def test_matched_budgets_across_arms_and_safety_flags_agree_with_the_cost(setup, regime):
    task, _, prompts, _ = setup
    for prompt in prompts[:2]:
        nominal = {}
        for method in METHODS:
            res = _decoder(setup, method, regime).decode(prompt, np.random.default_rng(0))
            nominal[method] = res.tokens_forwarded - res.resample_tokens
            assert res.resample_tokens == res.resamples * N * W
            # independent check: the cost model on the final text vs the budget
            c = float(task.costs[regime]([res.text])[0])
            assert res.cost == c and res.safe == (c <= BUDGETS[regime])
            assert res.z_trace[0] == BUDGETS[regime] and res.z_trace[-1] == res.z
            assert res.reward == pytest.approx(float(task.reward([res.text])[0]))
        assert set(nominal.values()) == {prompt.shape[1] + N * D}  # equal across arms
        base = _decoder(setup, "base", regime).decode(prompt, np.random.default_rng(0))
        assert base.tokens_forwarded == prompt.shape[1] + D


def test_same_seed_same_response_and_guard_at_least_as_safe_as_sampling(setup):
    _, _, prompts, _ = setup
    for method in ("bon_augmented", "guard_critic"):
        a = _decoder(setup, method, "pattern").decode(prompts[0], np.random.default_rng(3))
        b = _decoder(setup, method, "pattern").decode(prompts[0], np.random.default_rng(3))
        assert a.token_ids == b.token_ids and a.z_trace == b.z_trace
    safe = {m: np.mean([_decoder(setup, m, "count").decode(p, np.random.default_rng(i)).safe
                        for i, p in enumerate(prompts)]) for m in ("base", "guard")}
    assert safe["guard"] >= safe["base"]


def test_resampling_fires_when_every_candidate_is_unsafe(setup):
    from saddlepoint.decoding.safety import CountCost

    task, policy, prompts, _ = setup
    # budget 0 and all but four symbols unsafe: nearly every plain chunk is unsafe
    cost = CountCost(tuple(f"s{i}" for i in range(4, 24)))
    cfg = GuardConfig(num_candidates=N, beam_width=K, block_size=W, max_new_tokens=D, budget=0.0,
                      max_resamples=2, unsafe_logit_penalty=50.0)
    dec = SafeDecoder(policy, task.tokenizer, task.reward, cost, cfg)
    results = [dec.decode(p, np.random.default_rng(i)) for i, p in enumerate(prompts)]
    assert sum(r.resamples for r in results) > 0
    for r in results:
        assert r.resample_tokens == r.resamples * N * W
        if r.exhausted:
            assert r.resamples >= 2
    # penalised resampling lowers the unsafe symbols' logits: it ends safer than plain beam search
    plain = SafeDecoder(policy, task.tokenizer, task.reward, cost,
                        GuardConfig(num_candidates=N, beam_width=K, block_size=W, max_new_tokens=D, budget=0.0))
    base_safe = np.mean([plain.decode(p, np.random.default_rng(i)).safe for i, p in enumerate(prompts)])
    assert np.mean([r.safe for r in results]) > base_safe


def test_critic_training_reduces_its_held_out_loss(setup):
    for regime in ("count", "pattern"):
        data, critic, hist = setup[3][regime]
        assert hist["heldout_loss"] < hist["heldout_loss_initial"]
        assert hist["heldout_loss"] < hist["heldout_loss_constant"]  # beats predicting the mean
        assert hist["train_loss"][-1] < hist["train_loss"][0]
        assert data.hidden.shape[0] == data.z.shape[0] == data.target.shape[0] == hist["pairs"]
        assert set(np.unique(data.target[data.target < 0])) <= {-10.0}
        v = critic.predict(data.hidden[:5], data.z[:5])
        assert v.shape == (5,)


def test_config_validation(setup):
    with pytest.raises(InvalidInputError, match="beam_width"):
        GuardConfig(num_candidates=8, beam_width=3)
    with pytest.raises(InvalidInputError, match="scoring"):
        GuardConfig(scoring="greedy")
    with pytest.raises(InvalidInputError, match="critic"):
        SafeDecoder(setup[1], setup[0].tokenizer, setup[0].reward, setup[0].costs["count"],
                    GuardConfig(num_candidates=8, beam_width=2, scoring="critic"))
    with pytest.raises(InvalidInputError, match="method"):
        arm_config("nope", num_candidates=8, max_new_tokens=8, block_size=4, beam_width=2, budget=1.0)
