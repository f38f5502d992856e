"""Masked diffusion language models and RL for them: d1 (diffu-GRPO) and wd1.

Submodules (all but :mod:`~saddlepoint.diffusion_lm.tasks` need the ``torch`` extra; the
loader :mod:`~saddlepoint.diffusion_lm.hf` also needs ``llm``):

* ``tasks`` -- generated 4x4 Sudoku (288 grids split by grid) and Countdown, with rewards;
* ``model`` -- a small bidirectional transformer masked diffusion LM;
* ``sampler`` -- LLaDA's low-confidence remasking sampler;
* ``likelihood`` -- the one-pass estimator (d1), the Monte-Carlo ELBO and LLaDA's objective;
* ``losses`` -- ``wd1_loss`` and ``diffu_grpo_loss`` as pure functions;
* ``rl`` -- the RL loop shared by both losses, counting estimator passes;
* ``pretrain`` -- the LLaDA-objective "instruct" stage;
* ``hf`` -- a loader for LLaDA-style models by Hugging Face name or path.

Names listed in ``__all__`` are importable from this package directly; they are loaded on
first use, so ``import saddlepoint.diffusion_lm`` itself imports nothing heavy.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "TokenTask": "tasks", "sudoku_task": "tasks", "sudoku_splits": "tasks", "countdown_task": "tasks", "all_sudoku_grids": "tasks",
    "sudoku_reward": "tasks", "countdown_reward": "tasks",
    "DiffusionLMConfig": "model", "MaskedDiffusionLM": "model", "token_log_probs": "model",
    "SamplerConfig": "sampler", "sample": "sampler", "fill_masked": "sampler",
    "OnePassEstimator": "likelihood", "mc_elbo_logp": "likelihood", "llada_loss": "likelihood",
    "masked_diffusion_loss": "likelihood", "masked_completion_logp": "likelihood",
    "group_advantages": "losses", "wd1_weights": "losses", "wd1_loss": "losses", "diffu_grpo_loss": "losses",
    "RLConfig": "rl", "DiffusionRLTrainer": "rl", "evaluate": "rl",
    "PretrainConfig": "pretrain", "pretrain": "pretrain",
    "PretrainedConfig": "hf", "load_pretrained": "hf",
}
__all__ = [
    "DiffusionLMConfig",
    "DiffusionRLTrainer",
    "MaskedDiffusionLM",
    "OnePassEstimator",
    "PretrainConfig",
    "PretrainedConfig",
    "RLConfig",
    "SamplerConfig",
    "TokenTask",
    "all_sudoku_grids",
    "countdown_reward",
    "countdown_task",
    "diffu_grpo_loss",
    "evaluate",
    "fill_masked",
    "group_advantages",
    "llada_loss",
    "load_pretrained",
    "masked_completion_logp",
    "masked_diffusion_loss",
    "mc_elbo_logp",
    "pretrain",
    "sample",
    "sudoku_reward",
    "sudoku_splits",
    "sudoku_task",
    "token_log_probs",
    "wd1_loss",
    "wd1_weights",
]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
