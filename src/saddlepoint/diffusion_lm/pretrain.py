"""The "instruct" stage: train a masked diffusion LM on prompt/answer pairs with LLaDA's
objective until a modest solve rate, leaving headroom for RL (wd1 notes, "Instruct" stage)."""

from __future__ import annotations

import copy

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from saddlepoint.config import check_positive, check_positive_int
from saddlepoint.diffusion_lm.likelihood import llada_loss
from saddlepoint.diffusion_lm.tasks import TokenTask
from saddlepoint.errors import InvalidInputError, require
from saddlepoint.progress import progress

torch = require("torch", "torch")
log = logging.getLogger(__name__)

__all__ = ["PretrainConfig", "pretrain"]


@dataclass(frozen=True)
class PretrainConfig:
    """Settings of the LLaDA-objective pretraining."""

    max_steps: int = 3000
    """Most optimiser steps."""
    batch_size: int = 64
    """Prompt/answer pairs per step."""
    lr: float = 1e-3
    """AdamW learning rate."""
    weight_decay: float = 0.0
    """AdamW weight decay."""
    eps: float = 1e-3
    """Smallest masking level t of ``t ~ U(eps, 1)``."""
    eval_every: int = 100
    """Steps between evaluations of the stopping score."""
    target: float = 0.25
    """Stop at the first evaluation whose score reaches this (a modest solve rate)."""
    ceiling: float | None = None
    """If an evaluation's score exceeds this, restore the last evaluated weights whose score was
    at most this (the initial weights if none) and stop, so the model keeps room to improve
    (wd1: solve rate at most 0.25). None: no ceiling."""

    def __post_init__(self) -> None:
        for name in ("max_steps", "batch_size", "eval_every"):
            check_positive_int(name, getattr(self, name))
        check_positive("lr", self.lr)
        check_positive("weight_decay", self.weight_decay, allow_zero=True)
        if not 0 < self.eps < 1:
            raise InvalidInputError(f"eps must be in (0, 1), got {self.eps}")
        if not 0 <= self.target <= 1:
            raise InvalidInputError(f"target must be in [0, 1], got {self.target}")
        if self.ceiling is not None and not self.target <= self.ceiling <= 1:
            raise InvalidInputError(f"ceiling must be in [target, 1], got {self.ceiling}")


def pretrain(model: torch.nn.Module, task: TokenTask, config: PretrainConfig, score: Callable[[], float],
             seed: int = 0, show_progress: bool | None = None) -> list[dict[str, float]]:
    """Train ``model`` in place; ``score()`` (e.g. a greedy solve rate) decides when to stop.

    Returns one row per evaluation: ``step``, ``loss`` (mean since the last evaluation),
    ``score`` and ``seconds`` (training time so far); with a ``ceiling`` that was crossed, a
    last row ``restored_step`` / ``score`` of the weights the model is left with.
    """
    rng = np.random.default_rng(seed)
    gen = torch.Generator().manual_seed(int(seed))
    opt = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    prompts, answers = torch.as_tensor(task.prompts), torch.as_tensor(task.answers)
    rows, losses, elapsed = [], [], 0.0
    kept = (0, float("nan"), copy.deepcopy(model.state_dict())) if config.ceiling is not None else None
    for step in progress(range(1, config.max_steps + 1), desc="pretrain", enabled=show_progress):
        start = time.perf_counter()
        idx = torch.as_tensor(rng.choice(len(task), size=min(config.batch_size, len(task)), replace=False))
        loss = llada_loss(model, prompts[idx], answers[idx], gen, config.eps)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        elapsed += time.perf_counter() - start
        losses.append(float(loss.detach()))
        if step % config.eval_every == 0 or step == config.max_steps:
            value = float(score())
            rows.append({"step": step, "loss": float(np.mean(losses)), "score": value, "seconds": elapsed})
            log.info("pretrain step %d loss %.4f score %.3f", step, rows[-1]["loss"], value)
            losses = []
            if kept is not None and value > config.ceiling:
                model.load_state_dict(kept[2])
                rows.append({"step": step, "restored_step": kept[0], "score": kept[1], "seconds": elapsed})
                log.info("pretrain score %.3f above the ceiling %.3f: restored step %d", value, config.ceiling, kept[0])
                break
            if kept is not None:
                kept = (step, value, copy.deepcopy(model.state_dict()))
            if value >= config.target:
                break
    return rows
