"""Inference-time alignment by blockwise decoding: best-of-N, controlled decoding (CD) with
fixed weights, MOD and RMOD (arXiv 2503.08796), and safe decoding with InferenceGuard (arXiv
2502.01208: safety-budget state, chunked beam search with a critic, penalised resampling) and
its Lagrangian baselines, over any ``transformers`` causal LM.

Modules: the blockwise engine (:mod:`~saddlepoint.decoding.engine`, best-of-N / CD / MOD / RMOD)
and InferenceGuard's safe search (:mod:`~saddlepoint.decoding.guard`, with its safety state in
:mod:`~saddlepoint.decoding.safety` and latent critic in :mod:`~saddlepoint.decoding.critic`)
share one vocabulary: K candidates per block of B tokens (``num_candidates``, ``block_size``),
and draw tokens with the library's one sampling loop (:mod:`saddlepoint.lm.sampling`).

The weight player (:mod:`~saddlepoint.decoding.weights`) and the selection rules
(:mod:`~saddlepoint.decoding.rules`) are pure NumPy and imported here; the engine,
InferenceGuard, policies, value functions and objectives need the ``llm`` extra (torch,
transformers) and are loaded on first access (``saddlepoint.decoding.BlockwiseDecoder``,
``saddlepoint.decoding.SafeDecoder`` etc.), so importing this package stays light.
"""

from __future__ import annotations

import importlib
from typing import Any

from saddlepoint.decoding.rules import (
    FixedWeightsRule,
    MaxMinRule,
    ReferenceRule,
    RobustRule,
    Selection,
    SelectionRule,
)
from saddlepoint.decoding.weights import WeightSolution, phi, phi_grad, select_branch, solve_weights

_LAZY = {
    "BlockwiseDecoder": "engine", "DecodeConfig": "engine", "DecodeResult": "engine", "Candidates": "engine",
    "SafeDecoder": "guard", "GuardConfig": "guard", "SafeDecodeResult": "guard", "arm_config": "guard",
    "CausalPolicy": "policy", "MixturePolicy": "policy",
    "RewardValues": "values", "MonteCarloValues": "values", "ValueHeads": "values", "HeadValues": "values",
    "ValueTrainingConfig": "values", "train_value_heads": "values",
    "RewardModel": "objectives", "VaderSentiment": "objectives", "MiniLMSimilarity": "objectives",
    "MiniLMEncoder": "objectives", "PromptRelevance": "objectives", "Conciseness": "objectives", "LMJudge": "objectives", "make_objective": "objectives",
}

__all__ = ["FixedWeightsRule", "MaxMinRule", "ReferenceRule", "RobustRule", "Selection", "SelectionRule", "WeightSolution",
           "phi", "phi_grad", "select_branch", "solve_weights",
           "BlockwiseDecoder", "DecodeConfig", "DecodeResult", "Candidates", "SafeDecoder", "GuardConfig",
           "SafeDecodeResult", "arm_config", "CausalPolicy", "MixturePolicy",
           "RewardValues", "MonteCarloValues", "ValueHeads", "HeadValues", "ValueTrainingConfig", "train_value_heads",
           "RewardModel", "VaderSentiment", "MiniLMSimilarity", "MiniLMEncoder", "PromptRelevance", "Conciseness", "LMJudge",
           "make_objective"]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f"saddlepoint.decoding.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'saddlepoint.decoding' has no attribute {name!r}")
