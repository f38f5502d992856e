"""Learning-rate schedules of the self-play trainer: the rates actually applied per step, restarted
every iteration, recorded in the metrics and snapshots (tiny GPT-2 built from a config)."""

import itertools
import json
import logging
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from saddlepoint.errors import InvalidInputError
from saddlepoint.preference.oracle import BradleyTerryOracle
from saddlepoint.preference.trainer import SelfPlayConfig, SelfPlayTrainer

PROMPTS = [[1], [2], [3], [4], [5], [6], [7], [1, 2], [3, 4], [5, 6]]
ORACLE = BradleyTerryOracle(lambda prompt, response: float(sum(response)) / 4.0)
LR = 1e-3


def tiny_gpt2(seed=0):
    cfg = transformers.GPT2Config(vocab_size=8, n_positions=8, n_embd=16, n_layer=2, n_head=2,
                                  bos_token_id=None, eos_token_id=None)
    torch.manual_seed(seed)
    return transformers.GPT2LMHeadModel(cfg).eval()


def run(iterations=1, prompts=PROMPTS, output_dir=None, **kw):
    base = {"loss": "sppo", "iterations": iterations, "num_responses": 2, "max_new_tokens": 2, "eta": 2.0,
            "learning_rate": LR, "batch_size": 1, "epochs": 2, "seed": 0}
    base.update(kw)
    model = tiny_gpt2()
    trainer = SelfPlayTrainer(model, ORACLE, SelfPlayConfig(**base), output_dir=output_dir)
    trainer.train(prompts)
    return trainer, model


def test_linear_warmup_then_linear_decay_restarting_each_iteration(tmp_path):
    trainer, _ = run(iterations=2, lr_scheduler="linear", warmup_ratio=0.1, output_dir=tmp_path)
    steps, warm = 20, 2  # 10 pairs x 2 epochs, batch 1; warm-up ceil(0.1 * 20)
    expected = [LR * (k / warm if k < warm else (steps - k) / (steps - warm)) for k in range(steps)]
    for metrics in trainer.history:
        lrs = metrics["learning_rates"]
        np.testing.assert_allclose(lrs, expected, rtol=1e-12, atol=0)
        assert lrs[0] == 0.0 and lrs[1] < lrs[2] == pytest.approx(LR)            # warm-up rises
        assert all(a > b for a, b in itertools.pairwise(lrs[2:])) and lrs[-1] < 0.06 * LR  # decays to ~0
    # recorded in the snapshot too
    state = json.loads((tmp_path / "iter-2" / "selfplay_state.json").read_text())
    np.testing.assert_allclose(state["history"][1]["learning_rates"], expected)


def test_cosine_schedule():
    trainer, _ = run(lr_scheduler="cosine", warmup_ratio=0.25, epochs=1)
    steps, warm = 10, 3
    expected = [LR * (k / warm if k < warm else 0.5 * (1 + math.cos(math.pi * (k - warm) / (steps - warm))))
                for k in range(steps)]
    np.testing.assert_allclose(trainer.history[0]["learning_rates"], expected, rtol=1e-12, atol=1e-18)


def test_constant_is_the_old_behaviour():
    trainer, model = run(lr_scheduler="constant", warmup_ratio=0.5)
    assert trainer.history[0]["learning_rates"] == [LR] * 20  # warm-up ignored
    _, same = run(lr_scheduler="constant_with_warmup", warmup_ratio=0.0)
    for a, b in zip(model.parameters(), same.parameters()):
        assert torch.equal(a, b)
    assert SelfPlayConfig().lr_scheduler == "constant"


def test_the_schedule_drives_the_optimiser(caplog):
    """One step per iteration under linear warm-up has learning rate 0: nothing moves (and a warning says so)."""
    before = [p.detach().clone() for p in tiny_gpt2().parameters()]
    with caplog.at_level(logging.WARNING, logger="saddlepoint.preference.trainer"):
        trainer, model = run(prompts=PROMPTS[:1], lr_scheduler="linear", epochs=1)
    assert trainer.history[0]["learning_rates"] == [0.0]
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters()))
    assert "learning rate 0" in caplog.text
    _, moved = run(prompts=PROMPTS[:1], lr_scheduler="constant", epochs=1)
    assert not all(torch.equal(a, b) for a, b in zip(before, moved.parameters()))


def test_schedule_config_validation():
    with pytest.raises(InvalidInputError, match="lr_scheduler"):
        SelfPlayConfig(lr_scheduler="step")
    with pytest.raises(InvalidInputError, match="warmup_ratio"):
        SelfPlayConfig(warmup_ratio=1.5)
    with pytest.raises(InvalidInputError, match="warmup_ratio"):
        SelfPlayConfig(warmup_ratio=-0.1)
