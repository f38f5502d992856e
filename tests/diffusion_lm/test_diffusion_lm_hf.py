"""The Hugging Face loader, on a tiny BERT-style masked LM built and saved in the test
(no download). Needs the ``llm`` extra (transformers); skipped without it."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
torch.set_num_threads(1)

from saddlepoint.diffusion_lm.hf import PretrainedConfig, load_pretrained
from saddlepoint.diffusion_lm.rl import DiffusionRLTrainer, RLConfig
from saddlepoint.diffusion_lm.sampler import SamplerConfig, sample
from saddlepoint.diffusion_lm.tasks import sudoku_task
from saddlepoint.errors import InvalidInputError

TRAIN, _ = sudoku_task(np.random.default_rng(0), puzzles_per_grid=1)


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    torch.manual_seed(0)  # transformers initialises from global state; test-only
    cfg = transformers.BertConfig(vocab_size=len(TRAIN.vocab), hidden_size=16, num_hidden_layers=1,
                                  num_attention_heads=2, intermediate_size=32, max_position_embeddings=40)
    model = transformers.BertForMaskedLM(cfg)
    path = tmp_path_factory.mktemp("tiny_mlm")
    model.save_pretrained(path)
    return path, model.eval()


def _load(path, **kw):
    return load_pretrained(PretrainedConfig(str(path), mask_id=TRAIN.mask_id, auto_class="AutoModelForMaskedLM",
                                            trust_remote_code=False, **kw))


def test_loaded_model_gives_the_checkpoint_logits(checkpoint):
    path, reference = checkpoint
    wrapped = _load(path)
    ids = torch.as_tensor(TRAIN.prompts[:3])
    with torch.no_grad():
        torch.testing.assert_close(wrapped(ids), reference(input_ids=ids).logits)
    assert wrapped.mask_id == TRAIN.mask_id


def test_loaded_model_samples_and_trains_in_the_rl_loop(checkpoint):
    wrapped = _load(checkpoint[0])
    sampler = SamplerConfig(gen_length=16, block_length=8, steps=4, temperature=0.9)
    comp = sample(wrapped, torch.as_tensor(TRAIN.prompts[:2]), sampler, torch.Generator().manual_seed(0))
    assert comp.shape == (2, 16) and not (comp == TRAIN.mask_id).any()
    cfg = RLConfig(loss="wd1", prompts_per_step=2, group_size=3, inner_updates=1, sampler=sampler)
    stats = DiffusionRLTrainer(wrapped, TRAIN, cfg, seed=0).step()
    assert stats["estimator_passes"] == 1 and np.isfinite(stats["loss"])


def test_loader_errors_are_clear(checkpoint, tmp_path):
    with pytest.raises(InvalidInputError, match="cannot load"):
        _load(tmp_path / "missing")
    headless = load_pretrained(PretrainedConfig(str(checkpoint[0]), mask_id=TRAIN.mask_id, auto_class="AutoModel",
                                                trust_remote_code=False))
    with pytest.raises(InvalidInputError, match="no logits"):
        headless(torch.as_tensor(TRAIN.prompts[:1]))
    with pytest.raises(InvalidInputError, match="outside the model's vocabulary"):
        load_pretrained(PretrainedConfig(str(checkpoint[0]), mask_id=99, auto_class="AutoModelForMaskedLM",
                                         trust_remote_code=False))
    with pytest.raises(InvalidInputError, match="auto_class"):
        PretrainedConfig("x", auto_class="AutoFoo")
