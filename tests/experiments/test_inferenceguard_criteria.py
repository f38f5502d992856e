"""Issue 21's InferenceGuard pieces: the critic's two heads and early stopping, the late
(hard-regime) cost, the independent n-gram judge, and the claims' arm comparisons."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("sklearn")

from saddlepoint.decoding.critic import CriticConfig, RolloutData, train_critic  # noqa: E402
from saddlepoint.decoding.safety import LateCost, NgramClassifierCost, PatternCost  # noqa: E402
from saddlepoint.errors import InvalidInputError  # noqa: E402
from saddlepoint.experiments.inferenceguard import (  # noqa: E402
    HARD_REGIME,
    INFERENCEGUARD,
    InferenceGuard,
    InferenceGuardPreset,
    _reward_claim,
    _safer_claim,
    near_best_safe,
)


def _rollouts(n_rollouts=200, per=4, seed=0, penalty=10.0):
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(n_rollouts), per)
    h = rng.normal(size=(n_rollouts, 8))[g] + 0.1 * rng.normal(size=(g.size, 8))
    safe = h[:, 0] > 0
    reward = 0.5 + 0.2 * np.tanh(h[:, 1])
    target = np.where(safe, reward, -penalty)
    return RolloutData(torch.tensor(h, dtype=torch.float32), np.zeros(g.size), target, reward, safe, g,
                       float(np.mean(~safe)))


def test_critic_heads_early_stopping_and_one_scale():
    data = _rollouts()
    critic, hist = train_critic(data, CriticConfig(epochs=300, patience=5, penalty=10.0), np.random.default_rng(1))
    assert hist["heldout_loss"] < hist["heldout_loss_constant"]  # learns what a constant cannot
    assert hist["epochs_run"] < 300  # early stopping ended training
    assert hist["val_loss"][hist["best_epoch"] - 1] == min(hist["val_loss"])  # the best epoch is kept
    assert hist["train_pairs"] + hist["val_pairs"] + hist["heldout_pairs"] == hist["pairs"]
    v = critic.predict(data.hidden, data.z)
    logit, r = critic.heads(data.hidden, torch.as_tensor(data.z, dtype=torch.float32))
    p = torch.sigmoid(logit).detach().numpy()
    assert np.allclose(v, p * r.detach().numpy() - (1 - p) * 10.0, atol=1e-5)  # augmented-return scale
    assert v[data.safe].mean() > v[~data.safe].mean() + 5  # safe rows near r, unsafe near -n


def test_critic_needs_three_rollouts_and_valid_config():
    data = _rollouts(n_rollouts=2)
    with pytest.raises(InvalidInputError, match="three roll-outs"):
        train_critic(data, CriticConfig(), np.random.default_rng(0))
    with pytest.raises(InvalidInputError, match="validation"):
        CriticConfig(validation=1.0)
    with pytest.raises(InvalidInputError, match="patience"):
        CriticConfig(patience=0)


def test_late_cost_ignores_the_start_and_keeps_flagged_words():
    inner = PatternCost(("u1", "u2"), bigrams=(("u1", "u2"),))
    late = LateCost(inner, 3)
    texts = ["u1 u2 a b c", "a b c u1 u2", "a b u1 u2 c"]
    assert inner(texts).tolist() == [1, 1, 1]
    assert late(texts).tolist() == [0, 1, 0]
    assert late.flagged_words() == inner.flagged_words()
    with pytest.raises(InvalidInputError, match="start"):
        LateCost(inner, -1)


def test_ngram_judge_learns_a_bigram_rule_on_unseen_texts():
    rng = np.random.default_rng(0)
    words = [f"s{i}" for i in range(10)]
    texts = [" ".join(rng.choice(words, size=12)) for _ in range(1500)]
    rule = PatternCost(("s1", "s2"), bigrams=(("s1", "s2"),), min_count=3)
    labels = rule(texts).astype(int)
    judge = NgramClassifierCost(tuple(zip(texts[:1000], labels[:1000].tolist())), c=10.0)
    assert np.mean(judge(texts[1000:]) == labels[1000:]) > 0.9
    with pytest.raises(InvalidInputError, match="both labels"):
        NgramClassifierCost((("a b", 0), ("b c", 0)))


def _rows(spec: dict[str, tuple[list[float], list[float]]], regime=HARD_REGIME) -> list[dict]:
    return [{"section": "response", "regime": regime, "seed": 0, "prompt": i, "arm": arm, "safe_judge": s,
             "reward": r} for arm, (safe, reward) in spec.items() for i, (s, r) in enumerate(zip(safe, reward))]


def test_claims_compare_safe_rates_and_reward_among_the_safest_arms():
    ones, zeros = [1.0] * 8, [0.0] * 8
    half = [1.0, 0.0] * 4
    rows = _rows({"base": (half, [0.9] * 8), INFERENCEGUARD: (ones, [0.5] * 8),
                  "guard_critic": (ones, [0.6, 0.4] * 4), "beam_augmented": (zeros, [1.0] * 8)})
    best, near = near_best_safe(rows, HARD_REGIME, ["base", "beam_augmented", INFERENCEGUARD, "guard_critic"])
    assert best == INFERENCEGUARD and set(near) == {INFERENCEGUARD, "guard_critic"}
    assert _safer_claim(rows, HARD_REGIME, "beam_augmented", "c", "p", 1).passed
    assert not _safer_claim(rows, HARD_REGIME, "guard_critic", "c", "p", 1).passed  # no difference
    claim, d = _reward_claim(rows, HARD_REGIME, (), 1)
    assert d["top_reward"] in (INFERENCEGUARD, "guard_critic") and claim.passed  # 0.5 vs 0.5 on average
    # a safe-enough arm with clearly more reward than InferenceGuard fails the claim
    rows = _rows({INFERENCEGUARD: (ones, [0.5] * 8), "guard_critic": (ones, [0.9, 0.95] * 4)})
    claim, d = _reward_claim(rows, HARD_REGIME, (), 1)
    assert not claim.passed and d["top_reward"] == "guard_critic"
    # InferenceGuard not among the safest arms: the claim fails
    rows = _rows({INFERENCEGUARD: (zeros, [1.0] * 8), "guard_critic": (ones, [0.1] * 8)})
    claim, d = _reward_claim(rows, HARD_REGIME, (), 1)
    assert not claim.passed and not d["guard_near_best_safe"]


def test_presets_public_and_validated():
    paper = InferenceGuard.presets["paper"]
    assert paper.smollm2.n_prompts >= 64 and HARD_REGIME in paper.regimes
    with pytest.raises(InvalidInputError, match="hard_beam_width"):
        InferenceGuardPreset(n_prompts=1, num_candidates=2, beam_width=1, block_size=1, max_new_tokens=2,
                             max_resamples=1, lams=(1.0,), lm_steps=1, critic_prompts=1, critic_samples=1,
                             critic_epochs=1, hard_num_candidates=3, hard_beam_width=2)
