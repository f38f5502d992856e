"""The shared RL loop: estimator passes per step, every parameter updated, determinism."""

import json
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")
torch.set_num_threads(1)

from saddlepoint.config import from_dict, to_dict
from saddlepoint.diffusion_lm.model import DiffusionLMConfig, MaskedDiffusionLM
from saddlepoint.diffusion_lm.pretrain import PretrainConfig, pretrain
from saddlepoint.diffusion_lm.rl import DiffusionRLTrainer, RLConfig, evaluate
from saddlepoint.diffusion_lm.sampler import SamplerConfig
from saddlepoint.diffusion_lm.tasks import sudoku_task
from saddlepoint.errors import InvalidInputError

TRAIN, TEST = sudoku_task(np.random.default_rng(0), puzzles_per_grid=1)
SAMPLER = SamplerConfig(gen_length=16, block_length=16, steps=4, temperature=0.9)


def _model(seed=0):
    cfg = DiffusionLMConfig(len(TRAIN.vocab), 33, TRAIN.mask_id, d_model=16, n_layers=1, n_heads=2, d_ff=32)
    return MaskedDiffusionLM(cfg, torch.Generator().manual_seed(seed))


def _config(loss, mu=3, **kw):
    return RLConfig(loss=loss, prompts_per_step=3, group_size=4, inner_updates=mu, lr=1e-3, weight_decay=0.0,
                    sampler=SAMPLER, **kw)


@pytest.mark.parametrize("loss,per_update", [("wd1", 1), ("wd1_positive", 1), ("diffu_grpo", 3)])
def test_estimator_passes_per_step(loss, per_update):
    trainer = DiffusionRLTrainer(_model(), TRAIN, _config(loss, mu=3), seed=0)
    stats = [trainer.step() for _ in range(2)]
    assert [s["estimator_passes"] for s in stats] == [3 * per_update, 3 * per_update]
    assert trainer.estimator.passes == 6 * per_update


def test_diffu_grpo_with_one_inner_update_reuses_the_current_estimate_as_old():
    trainer = DiffusionRLTrainer(_model(), TRAIN, _config("diffu_grpo", mu=1), seed=0)
    assert trainer.step()["estimator_passes"] == 2  # current + reference (old = current, as in TRL)


@pytest.mark.parametrize("loss", ["wd1", "wd1_positive", "diffu_grpo"])
def test_every_trainable_parameter_changes_after_one_step(loss):
    model = _model()
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    stats = DiffusionRLTrainer(model, TRAIN, _config(loss, mu=1), seed=0).step()
    assert math.isfinite(stats["loss"]) and 0 <= stats["reward"] <= 1
    unchanged = [n for n, p in model.named_parameters() if torch.equal(p, before[n])]
    assert not unchanged


def test_training_is_deterministic_under_a_seed():
    runs = []
    for _ in range(2):
        model = _model()
        trainer = DiffusionRLTrainer(model, TRAIN, _config("wd1", mu=2), seed=7)
        stats = [trainer.step() for _ in range(2)]
        runs.append(([{k: v for k, v in s.items() if "seconds" not in k} for s in stats],
                     [p.detach().clone() for p in model.parameters()]))
    assert runs[0][0] == runs[1][0]
    assert all(torch.equal(a, b) for a, b in zip(runs[0][1], runs[1][1]))
    other = DiffusionRLTrainer(_model(), TRAIN, _config("wd1", mu=2), seed=8).step()
    assert other["loss"] != runs[0][0][0]["loss"]


def test_config_validation_and_round_trip():
    cfg = _config("diffu_grpo")
    assert from_dict(RLConfig, json.loads(json.dumps(to_dict(cfg)))) == cfg
    with pytest.raises(InvalidInputError, match="loss"):
        RLConfig(loss="ppo")
    with pytest.raises(InvalidInputError, match="unknown RLConfig key"):
        from_dict(RLConfig, {"lr": 1e-3, "clip": 0.2})
    with pytest.raises(InvalidInputError, match="temperature"):
        RLConfig(sampler=SamplerConfig(temperature=0.0))
    with pytest.raises(InvalidInputError, match="gen_length"):
        DiffusionRLTrainer(_model(), TRAIN, RLConfig(sampler=SamplerConfig(gen_length=8, block_length=8)))


def test_pretrain_stops_at_the_target_and_evaluate_is_greedy():
    model = _model()
    calls = []

    def score():
        calls.append(1)
        return 1.0 if len(calls) >= 2 else 0.0

    rows = pretrain(model, TRAIN, PretrainConfig(max_steps=50, batch_size=8, eval_every=5, target=0.5), score)
    assert [r["step"] for r in rows] == [5, 10] and rows[-1]["score"] == 1.0
    greedy = SamplerConfig(gen_length=16, block_length=16, steps=4, temperature=0.0)
    sub = type(TEST)(TEST.name, TEST.prompts[:20], TEST.answers[:20], TEST.vocab, TEST.mask_id, TEST.pad_id,
                     TEST.sep_id)
    a, b = evaluate(model, sub, greedy), evaluate(model, sub, greedy)
    assert a == b and 0 <= a["solve_rate"] <= a["reward"] <= 1


def test_pretrain_ceiling_restores_the_last_weights_at_or_below_it():
    model = _model()
    scores = iter([0.1, 0.15, 0.6])
    snapshots = []

    def score():
        snapshots.append({k: v.clone() for k, v in model.state_dict().items()})
        return next(scores)

    cfg = PretrainConfig(max_steps=50, batch_size=8, eval_every=5, target=0.2, ceiling=0.25)
    rows = pretrain(model, TRAIN, cfg, score)
    assert [r["step"] for r in rows] == [5, 10, 15, 15] and rows[-1]["restored_step"] == 10
    assert rows[-1]["score"] == 0.15
    for k, v in model.state_dict().items():
        torch.testing.assert_close(v, snapshots[1][k])
    with pytest.raises(InvalidInputError, match="ceiling"):
        PretrainConfig(target=0.3, ceiling=0.2)
