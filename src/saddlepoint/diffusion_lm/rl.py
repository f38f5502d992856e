"""One RL loop for masked diffusion LMs, shared by wd1, its positive-only ablation and d1.

A step (wd1 / d1 notes, "Training loop")::

    pick B prompts; sample G completions each with the low-confidence sampler (no grad)
    rewards r (B, G); advantages A = r - mean_group(r)
    draw mu prompt masks
    d1 only: old and reference per-token estimates under each mask (2 mu passes, no grad;
             the old ones are skipped when mu = 1, where old = current as in TRL)
    repeat mu times: current estimate under mask m (1 pass, with grad); loss; optimiser step

Everything but the loss is shared, so the arms differ only in ``RLConfig.loss``. The loop
counts likelihood-estimator forward passes: wd1 makes mu per step, d1 3 mu.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field

import numpy as np

from saddlepoint.config import check_choice, check_positive, check_positive_int
from saddlepoint.diffusion_lm.likelihood import OnePassEstimator
from saddlepoint.diffusion_lm.losses import diffu_grpo_loss, group_advantages, wd1_loss
from saddlepoint.diffusion_lm.sampler import SamplerConfig, sample
from saddlepoint.diffusion_lm.tasks import TokenTask
from saddlepoint.errors import InvalidInputError, require

torch = require("torch", "torch")

__all__ = ["LOSSES", "DiffusionRLTrainer", "RLConfig", "evaluate"]

LOSSES = ("wd1", "wd1_positive", "diffu_grpo")


@dataclass(frozen=True)
class RLConfig:
    """Settings of the shared RL loop; ``loss`` picks the arm."""

    loss: str = "wd1"
    """``wd1``, ``wd1_positive`` (no unlearning term) or ``diffu_grpo`` (d1)."""
    prompts_per_step: int = 8
    """Prompts B per step (notes: 8)."""
    group_size: int = 6
    """Completions G per prompt (paper: 6)."""
    inner_updates: int = 4
    """Gradient updates mu per batch of samples, each with a fresh prompt mask (paper: 8; notes: 4)."""
    lr: float = 1e-4
    """AdamW learning rate, equal across arms (paper: 3e-6 for LoRA on 8B)."""
    weight_decay: float = 0.1
    """AdamW weight decay (paper: 0.1)."""
    betas: tuple[float, float] = (0.9, 0.99)
    """AdamW betas (paper: 0.9, 0.99)."""
    grad_clip: float = 0.2
    """Gradient-norm clip (paper: 0.2)."""
    psi: float = 1.0
    """wd1 weight temperature psi (code: 1)."""
    epsilon: float = 0.5
    """d1 ratio clip epsilon (d1: 0.5)."""
    beta: float = 0.04
    """d1 KL coefficient beta (d1: 0.04)."""
    ref_sync_every: int = 64
    """d1: copy the policy into the reference every this many steps; 0 = never (d1: 64)."""
    p_mask_prompt: float = 0.15
    """Prompt masking probability p of the one-pass estimator (paper: 0.15)."""
    sampler: SamplerConfig = field(default_factory=SamplerConfig)
    """Sampler used for the rollouts (temperature 0.9 in the paper)."""

    def __post_init__(self) -> None:
        check_choice("loss", self.loss, LOSSES)
        for name in ("prompts_per_step", "group_size", "inner_updates"):
            check_positive_int(name, getattr(self, name))
        check_positive_int("ref_sync_every", self.ref_sync_every, allow_zero=True)
        for name in ("lr", "grad_clip", "psi", "epsilon"):
            check_positive(name, getattr(self, name))
        check_positive("weight_decay", self.weight_decay, allow_zero=True)
        check_positive("beta", self.beta, allow_zero=True)
        check_positive("p_mask_prompt", self.p_mask_prompt, allow_zero=True)
        object.__setattr__(self, "betas", tuple(self.betas))  # a JSON list becomes a tuple
        if len(self.betas) != 2 or not all(0 <= b < 1 for b in self.betas):
            raise InvalidInputError(f"betas must be two numbers in [0, 1), got {self.betas!r}")
        if isinstance(self.sampler, dict):  # loaded from JSON
            object.__setattr__(self, "sampler", SamplerConfig(**self.sampler))
        if self.sampler.temperature == 0 and self.group_size > 1:
            raise InvalidInputError("sampler.temperature must be > 0 for RL rollouts (a group of greedy samples is identical)")


class DiffusionRLTrainer:
    """The RL loop with an explicit :meth:`step`. The model is trained in place.

    ``seed`` seeds the prompt choice (NumPy) and the sampling and mask draws (torch); the
    reference model (d1 only) is a frozen copy of ``model`` at construction.
    """

    def __init__(self, model: torch.nn.Module, task: TokenTask, config: RLConfig, seed: int = 0) -> None:
        if config.sampler.gen_length != task.completion_length:
            raise InvalidInputError(
                f"sampler.gen_length={config.sampler.gen_length} must equal the task's completion length "
                f"{task.completion_length}")
        if config.prompts_per_step > len(task):
            raise InvalidInputError(f"prompts_per_step={config.prompts_per_step} exceeds the {len(task)} task prompts")
        self.model = model
        self.task = task
        self.config = config
        self.estimator = OnePassEstimator(config.p_mask_prompt)
        self._rng = np.random.default_rng(seed)
        self._gen = torch.Generator().manual_seed(int(seed))
        self._ref = None
        if config.loss == "diffu_grpo":
            self._ref = copy.deepcopy(model).eval().requires_grad_(False)
        self._opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=config.lr,
                                      betas=config.betas, weight_decay=config.weight_decay)
        self._step = 0

    @property
    def iteration(self) -> int:
        """Steps completed."""
        return self._step

    def step(self) -> dict[str, float]:
        """One RL step; returns its statistics: mean reward, mean loss, estimator passes, wall-clock
        ``seconds`` and ``cpu_seconds`` (process CPU time; with one torch thread it is the compute
        time, robust to other processes sharing the machine)."""
        cfg, task = self.config, self.task
        start, cpu_start = time.perf_counter(), time.process_time()
        passes_before = self.estimator.passes
        b, g = cfg.prompts_per_step, cfg.group_size
        idx = self._rng.choice(len(task), size=b, replace=False)
        prompts = torch.as_tensor(task.prompts[idx]).repeat_interleave(g, dim=0)  # (B*G, P)
        completions = sample(self.model, prompts, cfg.sampler, self._gen)  # (B*G, C)
        rewards = torch.as_tensor(task.reward(prompts.numpy(), completions.numpy()), dtype=torch.float32)
        adv = group_advantages(rewards.view(b, g))
        masks = [self.estimator.draw_mask(prompts, self._gen) for _ in range(cfg.inner_updates)]
        old = ref = None
        if cfg.loss == "diffu_grpo":
            with torch.no_grad():
                ref = [self.estimator(self._ref, prompts, completions, m) for m in masks]
                if cfg.inner_updates > 1:
                    old = [self.estimator(self.model, prompts, completions, m) for m in masks]
        losses = []
        for it, m in enumerate(masks):
            tok = self.estimator(self.model, prompts, completions, m)  # (B*G, C)
            if cfg.loss == "diffu_grpo":
                old_it = old[it] if old is not None else tok.detach()
                c = tok.shape[1]
                loss = diffu_grpo_loss(tok.view(b, g, c), old_it.view(b, g, c), ref[it].view(b, g, c), adv,
                                       epsilon=cfg.epsilon, beta=cfg.beta)
            else:
                loss = wd1_loss(tok.sum(dim=1).view(b, g), adv, cfg.psi, negative=cfg.loss == "wd1")
            self._opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), cfg.grad_clip)
            self._opt.step()
            losses.append(float(loss.detach()))
        self._step += 1
        if self._ref is not None and cfg.ref_sync_every and self._step % cfg.ref_sync_every == 0:
            self._ref.load_state_dict(self.model.state_dict())
        return {
            "step": self._step,
            "reward": float(rewards.mean()),
            "loss": float(np.mean(losses)),
            "estimator_passes": self.estimator.passes - passes_before,
            "seconds": time.perf_counter() - start,
            "cpu_seconds": time.process_time() - cpu_start,
        }


@torch.no_grad()
def evaluate(model: torch.nn.Module, task: TokenTask, sampler: SamplerConfig, batch_size: int = 512,
             generator: torch.Generator | None = None) -> dict[str, float]:
    """Mean reward (Sudoku: cell accuracy on blanks) and solve rate on every prompt of ``task``.

    Use a temperature-0 ``sampler`` for greedy decoding (then ``generator`` is unused).
    """
    rewards, solved = [], []
    for lo in range(0, len(task), batch_size):
        prompts = torch.as_tensor(task.prompts[lo:lo + batch_size])
        comp = sample(model, prompts, sampler, generator).numpy()
        rewards.append(task.reward(prompts.numpy(), comp))
        solved.append(task.solved(prompts.numpy(), comp))
    return {"reward": float(np.concatenate(rewards).mean()), "solve_rate": float(np.concatenate(solved).mean())}
