"""Self-play preference training of a causal language model (SPPO, RSPO, INPO, Nash-MD) on transformers.

One iteration t of SPPO / RSPO / INPO (RSPO notes, "One RSPO iteration"; extra ``llm``):

1. sample K responses per prompt from the current policy (its frozen snapshot pi_t);
2. score all pairs with a :class:`~saddlepoint.preference.oracle.PreferenceOracle` and
   estimate p_hat within the K responses;
3. keep one pair per prompt: winner = best, loser = worst (by the oracle's ``scores`` if it
   has them, as SPPO does with PairRM scores, else by p_hat);
4. precompute, once per kept response, l_t (current model) and l_ref (reference model), the
   summed token log-probabilities, so only pi_theta needs gradients;
5. train ``epochs`` epochs over the pairs with the config's objective
   (:meth:`~saddlepoint.preference.objectives.PairLossConfig.objective`: the functions of
   :mod:`saddlepoint.preference.objectives` on tensors, the same the exact dynamics and the
   tabular experiments use);
6. save a snapshot ``output_dir/iter-<t>/`` (weights, tokenizer, metrics). A new trainer on
   the same ``output_dir`` resumes after the last complete snapshot.

Nash-MD (:class:`NashMDTrainer` with a :class:`NashMDTrainerConfig`; Munos et al. 2024,
Nash-MD-PG as TRL <= 1.13 implemented it) replaces steps 1-5: per prompt one y ~ pi_t and one
opponent y' from the token-level geometric mixture of pi_t and pi_ref, p = P(y > y') from the
oracle, per-token l_ref(y) precomputed, then ``epochs`` epochs of
:func:`saddlepoint.preference.torch_losses.nash_md_pg_loss` on (y, p).

Each iteration's optimiser and learning-rate schedule start afresh (``lr_scheduler``,
``warmup_ratio``, via ``transformers.get_scheduler``), as the official pipeline launches one
training run per iteration.

Prompts are strings when a tokenizer is given (with ``use_chat_template`` the tokenizer's
chat template wraps each prompt), or lists of token ids for tokenizer-free toy models; the
oracle then receives decoded strings or tuples of token ids.
"""

from __future__ import annotations

import copy
import json
import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from saddlepoint.config import check_choice, check_positive, check_positive_int, to_dict
from saddlepoint.errors import InvalidInputError, require
from saddlepoint.lm.logprobs import (
    response_token_logprobs,
    sample_mixture_responses,
    sample_responses,
    seeded_torch,
    sequence_logprobs,
)
from saddlepoint.preference.objectives import PAIR_LOSSES, PairLossConfig
from saddlepoint.preference.oracle import estimate_win_rates, select_pair
from saddlepoint.progress import progress

torch = require("torch", "llm")

from saddlepoint.preference import torch_losses

log = logging.getLogger(__name__)

__all__ = ["LOSSES", "LR_SCHEDULERS", "NashMDTrainer", "NashMDTrainerConfig", "SelfPlayConfig", "SelfPlayTrainer",
           "TrainerConfig"]

_STATE = "selfplay_state.json"

#: :class:`SelfPlayTrainer`'s pairwise losses (Nash-MD has a trainer of its own).
LOSSES = PAIR_LOSSES
#: ``transformers.get_scheduler`` names offered (the official scripts use ``linear``, warm-up 0.1).
LR_SCHEDULERS = ("constant", "linear", "cosine", "constant_with_warmup")


@dataclass(frozen=True)
class TrainerConfig:
    """Settings shared by :class:`SelfPlayTrainer` and :class:`NashMDTrainer` (sampling,
    optimiser, schedule, batches, seed); defaults follow the official RSPO scripts where they
    fit a small model."""

    iterations: int = 3
    """Self-play iterations (3 in the paper's main runs)."""
    max_new_tokens: int = 64
    """Longest response in tokens."""
    min_new_tokens: int = 0
    """Shortest response in tokens (EOS is suppressed before that)."""
    temperature: float = 1.0
    """Sampling temperature."""
    top_k: int = 0
    """Top-k sampling (0: off)."""
    learning_rate: float = 5e-7
    """Optimiser step size (paper: 5e-7 with RMSprop on 7B models)."""
    optimizer: str = "rmsprop"
    """``rmsprop`` (paper) or ``adamw``; a fresh optimiser per iteration."""
    lr_scheduler: str = "constant"
    """Learning-rate schedule over each iteration's steps, restarted every iteration
    (:data:`LR_SCHEDULERS`; the official scripts use ``linear``). ``constant`` ignores warm-up;
    it is the default because toy runs have few steps per iteration, and warm-up gives the
    first step rate 0 (a one-step iteration would not move at all)."""
    warmup_ratio: float = 0.1
    """Fraction of an iteration's steps spent warming up linearly from 0: ceil(ratio * steps)
    steps, as transformers' ``TrainingArguments`` counts them (official scripts: 0.1)."""
    batch_size: int = 4
    """Prompts (pairs) per gradient step."""
    epochs: int = 1
    """Passes over the iteration's pairs (1 in the paper)."""
    max_grad_norm: float = 1.0
    """Gradient-norm clip (0: off)."""
    generation_batch_size: int = 8
    """Sequences generated at once (also the chunk size of the frozen log-prob passes)."""
    use_chat_template: bool = True
    """Wrap string prompts with the tokenizer's chat template when it has one."""
    seed: int = 0
    """Seeds sampling (per iteration) and the order of training pairs."""

    def __post_init__(self) -> None:
        check_choice("optimizer", self.optimizer, ("rmsprop", "adamw"))
        check_choice("lr_scheduler", self.lr_scheduler, LR_SCHEDULERS)
        for name in ("iterations", "max_new_tokens", "batch_size", "epochs", "generation_batch_size"):
            check_positive_int(name, getattr(self, name))
        check_positive_int("min_new_tokens", self.min_new_tokens, allow_zero=True)
        check_positive_int("top_k", self.top_k, allow_zero=True)
        check_positive_int("seed", self.seed, allow_zero=True)
        if self.min_new_tokens > self.max_new_tokens:
            raise InvalidInputError("min_new_tokens must not exceed max_new_tokens")
        for name in ("temperature", "learning_rate"):
            check_positive(name, getattr(self, name))
        check_positive("max_grad_norm", self.max_grad_norm, allow_zero=True)
        _check_unit("warmup_ratio", self.warmup_ratio)


def _check_unit(name: str, value: float) -> None:
    check_positive(name, value, allow_zero=True)
    if value > 1:
        raise InvalidInputError(f"{name} must lie in [0, 1], got {value}")


@dataclass(frozen=True)
class SelfPlayConfig(TrainerConfig, PairLossConfig):
    """Settings of :class:`SelfPlayTrainer` (SPPO, RSPO, INPO): the objective's symbols
    (:class:`~saddlepoint.preference.objectives.PairLossConfig`), the settings shared with
    Nash-MD (:class:`TrainerConfig`) and K."""

    # the official RSPO scripts' values (eta = 1 / beta = 1000 needs the paper's tiny learning rate)
    loss: str = "rspo"
    eta: float = 1000.0
    reg_coef: float = 0.1
    tau: float = 0.001
    num_responses: int = 5
    """K, responses sampled per prompt per iteration."""

    def __post_init__(self) -> None:
        PairLossConfig.__post_init__(self)
        TrainerConfig.__post_init__(self)
        check_positive_int("num_responses", self.num_responses)
        if self.num_responses < 2:
            raise InvalidInputError(f"num_responses must be at least 2, got {self.num_responses}")


@dataclass(frozen=True)
class NashMDTrainerConfig(TrainerConfig):
    """Settings of :class:`NashMDTrainer` (Nash-MD-PG; TRL's defaults for its two symbols)."""

    mixture_coef: float = 0.5
    """c in [0, 1], weight of pi_ref in the opponent's token-level geometric mixture
    log_softmax(c ref_logits + (1 - c) policy_logits): eta tau of
    :func:`saddlepoint.preference.objectives.geometric_mixture` (TRL's ``mixture_coef``, 0.5)."""
    tau: float = 0.1
    """Regularisation tau towards pi_ref: the KL coefficient of the Nash-MD-PG objective
    (TRL's ``beta``, 0.1)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_unit("mixture_coef", self.mixture_coef)
        check_positive("tau", self.tau, allow_zero=True)


class SelfPlayTrainer:
    """Iterative self-play on a causal LM with the pairwise losses (SPPO, RSPO, INPO; steps 1-6
    of the module docstring). ``model`` is trained in place; ``ref_model`` (pi_ref, frozen)
    defaults to a copy of ``model`` taken at construction.

    Use :meth:`train` for all iterations (resuming from ``output_dir``), or :meth:`step`
    for one. ``history`` holds one metrics dict per completed iteration. Subclasses (as
    :class:`NashMDTrainer`) replace :meth:`_iteration` and keep the rest: prompts, the
    training loop, snapshots and resuming.
    """

    config_type: type[TrainerConfig] = SelfPlayConfig

    def __init__(self, model, oracle, config: TrainerConfig, *, tokenizer=None, ref_model=None,
                 output_dir: str | Path | None = None, show_progress: bool | None = None) -> None:
        if not isinstance(config, self.config_type):
            raise InvalidInputError(f"{type(self).__name__} needs a {self.config_type.__name__}, "
                                    f"got {type(config).__name__}")
        if not hasattr(oracle, "win_matrix"):
            raise InvalidInputError("oracle must have a win_matrix(prompt, responses) method")
        self.model, self.oracle, self.config, self.tokenizer = model, oracle, config, tokenizer
        self.ref_model = ref_model if ref_model is not None else copy.deepcopy(model)
        self.ref_model.eval().requires_grad_(False)
        self.output_dir = Path(output_dir) if output_dir is not None else None
        self.show_progress = show_progress
        self.history: list[dict[str, Any]] = []
        self.iteration = 0
        if tokenizer is not None:
            self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
            self.eos_id = tokenizer.eos_token_id
        else:
            self.pad_id = 0
            self.eos_id = getattr(getattr(model, "generation_config", None), "eos_token_id", None)
        if isinstance(self.eos_id, list):
            self.eos_id = self.eos_id[0] if self.eos_id else None
        if self.output_dir is not None:
            self._resume()

    @classmethod
    def from_pretrained(cls, name_or_path: str | Path, oracle, config: TrainerConfig, *, dtype: Any = "float32",
                        device: str = "cpu", **kwargs: Any) -> SelfPlayTrainer:
        """Load policy, reference and tokenizer by Hugging Face name, local path or SmolLM2 alias."""
        from saddlepoint.lm import load_model, load_tokenizer

        model = load_model(name_or_path, dtype=dtype, device=device)
        ref = load_model(name_or_path, dtype=dtype, device=device)
        return cls(model, oracle, config, tokenizer=load_tokenizer(name_or_path), ref_model=ref, **kwargs)

    # ----------------------------------------------------------------- data
    def encode_prompts(self, prompts: Sequence[Any]) -> list[list[int]]:
        """Token ids of each prompt (strings need a tokenizer; id lists pass through)."""
        out = []
        for p in prompts:
            if isinstance(p, str):
                if self.tokenizer is None:
                    raise InvalidInputError("string prompts need a tokenizer; pass token-id lists otherwise")
                if self.config.use_chat_template and getattr(self.tokenizer, "chat_template", None):
                    ids = self.tokenizer.apply_chat_template([{"role": "user", "content": p}],
                                                             add_generation_prompt=True, tokenize=True)
                    ids = ids["input_ids"] if hasattr(ids, "keys") else ids
                else:
                    ids = self.tokenizer(p)["input_ids"]
                out.append([int(i) for i in ids])
            else:
                ids = [int(i) for i in p]
                if not ids:
                    raise InvalidInputError("a prompt has no tokens")
                out.append(ids)
        return out

    def _as_oracle_response(self, ids: list[int]):
        if self.tokenizer is None:
            return tuple(ids)
        return self.tokenizer.decode(ids, skip_special_tokens=True)

    # ----------------------------------------------------------------- one iteration
    def step(self, prompts: Sequence[Any]) -> dict[str, Any]:
        """Run one self-play iteration on ``prompts`` and return its metrics."""
        if not prompts:
            raise InvalidInputError("prompts must not be empty")
        start = time.perf_counter()
        enc = self.encode_prompts(prompts)
        self.model.eval()
        metrics = self._iteration(prompts, enc)
        self.iteration += 1
        metrics = {"iteration": self.iteration, **metrics, "seconds": time.perf_counter() - start}
        self.history.append(metrics)
        log.info("self-play iteration %d: %s", self.iteration,
                 {k: v for k, v in metrics.items() if k != "learning_rates"})
        if self.output_dir is not None:
            self._save()
        return metrics

    def _sampling(self) -> dict[str, Any]:
        cfg = self.config
        return {"max_new_tokens": cfg.max_new_tokens, "min_new_tokens": cfg.min_new_tokens,
                "temperature": cfg.temperature, "top_k": cfg.top_k, "pad_id": self.pad_id, "eos_id": self.eos_id,
                "batch_size": cfg.generation_batch_size}

    def _iteration(self, prompts: Sequence[Any], enc: list[list[int]]) -> dict[str, Any]:
        """SPPO / RSPO / INPO: K samples, oracle, winner/loser pair, frozen l_t and l_ref, epochs."""
        cfg = self.config
        start = time.perf_counter()
        k = cfg.num_responses
        flat = [p for p in enc for _ in range(k)]
        responses = sample_responses(self.model, flat, seed=cfg.seed * 100_003 + self.iteration, **self._sampling())
        gen_seconds = time.perf_counter() - start
        pair_resp, p_pair, score_sum, wins, lens = [], [], [], [], []
        for i, prompt in enumerate(prompts):
            resp = responses[i * k: (i + 1) * k]
            shown = [self._as_oracle_response(r) for r in resp]
            w_mat = np.asarray(self.oracle.win_matrix(prompt, shown), dtype=float)
            p_hat = estimate_win_rates(w_mat)
            scores = self.oracle.scores(prompt, shown) if hasattr(self.oracle, "scores") else p_hat
            win, lose = (int(v) for v in select_pair(scores))
            pair_resp.append((resp[win], resp[lose]))
            p_pair.append((p_hat[win], p_hat[lose]))
            wins.append(w_mat[win, lose])
            lens.extend(len(r) for r in resp)
            score_sum.append(float(np.mean(scores)))
        # step 4: frozen log-probs, once per kept response
        lp_t = self._frozen(lambda idx: self._pair_logprobs(self.model, [enc[i] for i in idx], [pair_resp[i] for i in idx]),
                            len(enc))
        lp_ref = self._frozen(lambda idx: self._pair_logprobs(self.ref_model, [enc[i] for i in idx],
                                                              [pair_resp[i] for i in idx]), len(enc))
        p_hat_t = torch.tensor(p_pair, dtype=torch.float32)
        device = self._device()

        def batch_loss(idx: list[int]):
            logp = self._pair_logprobs(self.model, [enc[i] for i in idx], [pair_resp[i] for i in idx])
            return self.config.objective(logp, lp_t[idx].to(device), lp_ref[idx].to(device), p_hat_t[idx].to(device))

        losses, lrs = self._train(len(enc), batch_loss)
        return {
            "loss": float(np.mean(losses)), "loss_first": losses[0], "loss_last": losses[-1],
            "mean_score": float(np.mean(score_sum)), "mean_response_tokens": float(np.mean(lens)),
            "winner_win_prob": float(np.mean(wins)), "p_hat_winner": float(np.mean([p[0] for p in p_pair])),
            "p_hat_loser": float(np.mean([p[1] for p in p_pair])), "learning_rates": lrs,
            "generation_seconds": gen_seconds,
        }

    def _device(self):
        return next(self.model.parameters()).device

    def _frozen(self, fn: Callable[[list[int]], Any], n: int):
        """``fn`` on chunks of ``generation_batch_size`` indices without gradients, concatenated on CPU."""
        step = self.config.generation_batch_size
        with torch.no_grad():
            return torch.cat([fn(list(range(i, min(i + step, n)))).cpu() for i in range(0, n, step)])

    def _pair_logprobs(self, model, prompts, pairs):
        """Summed log-probs of winners and losers: tensor ``(B, 2)``."""
        lp = sequence_logprobs(model, prompts + prompts, [w for w, _ in pairs] + [l for _, l in pairs], pad_id=self.pad_id)
        return torch.stack([lp[: len(prompts)], lp[len(prompts):]], dim=1).float()

    def _train(self, n: int, batch_loss: Callable[[list[int]], Any]) -> tuple[list[float], list[float]]:
        """``epochs`` epochs over ``n`` examples in seeded random batches with a fresh optimiser and
        schedule; ``batch_loss(indices)`` gives the scalar loss. Returns the per-step losses and
        the learning rate each step applied."""
        cfg = self.config
        from transformers import get_scheduler

        params = [p for p in self.model.parameters() if p.requires_grad]
        if cfg.optimizer == "rmsprop":
            opt = torch.optim.RMSprop(params, lr=cfg.learning_rate, foreach=True)
        else:
            opt = torch.optim.AdamW(params, lr=cfg.learning_rate, foreach=True)
        steps = cfg.epochs * math.ceil(n / cfg.batch_size)
        # restarts every iteration, as one official training run per iteration does
        schedule = get_scheduler(cfg.lr_scheduler, opt, num_warmup_steps=math.ceil(cfg.warmup_ratio * steps),
                                 num_training_steps=steps)
        seed = cfg.seed * 7919 + self.iteration
        gen = torch.Generator().manual_seed(seed)
        self.model.train()
        losses: list[float] = []
        lrs: list[float] = []
        # dropout draws from torch's global generator: fork it so runs are seeded and the
        # caller's random state is left as it was
        with seeded_torch(seed, self._device()):
            for _ in range(cfg.epochs):
                order = torch.randperm(n, generator=gen).tolist()
                batches = [order[i: i + cfg.batch_size] for i in range(0, n, cfg.batch_size)]
                for idx in progress(batches, desc=f"self-play iter {self.iteration + 1}", enabled=self.show_progress):
                    loss = batch_loss(idx)
                    opt.zero_grad(set_to_none=True)
                    loss.backward()
                    if cfg.max_grad_norm > 0:
                        torch.nn.utils.clip_grad_norm_(params, cfg.max_grad_norm)
                    lrs.append(float(opt.param_groups[0]["lr"]))
                    opt.step()
                    schedule.step()
                    losses.append(float(loss.detach()))
        self.model.eval()
        if max(lrs) == 0.0:
            log.warning("the %s schedule gave every one of this iteration's %d steps learning rate 0 (warm-up "
                        "covers them all); the model did not move", cfg.lr_scheduler, steps)
        return losses, lrs

    # ----------------------------------------------------------------- loop, snapshots
    def train(self, prompts: Sequence[Any]) -> list[dict[str, Any]]:
        """Run the remaining iterations (after any snapshot already in ``output_dir``)."""
        while self.iteration < self.config.iterations:
            self.step(prompts)
        return self.history

    def _snapshot_dir(self, t: int) -> Path:
        assert self.output_dir is not None
        return self.output_dir / f"iter-{t}"

    def _save(self) -> None:
        path = self._snapshot_dir(self.iteration)
        path.mkdir(parents=True, exist_ok=True)
        self.model.save_pretrained(path, safe_serialization=True)
        if self.tokenizer is not None:
            self.tokenizer.save_pretrained(path)
        state = {"iteration": self.iteration, "config": to_dict(self.config), "history": self.history}
        (path / _STATE).write_text(json.dumps(state, indent=2))  # written last: marks completion

    def _resume(self) -> None:
        assert self.output_dir is not None
        done = sorted((int(p.name.split("-", 1)[1]), p) for p in self.output_dir.glob("iter-*")
                      if (p / _STATE).is_file() and p.name.split("-", 1)[1].isdigit())
        if not done:
            return
        t, path = done[-1]
        from safetensors.torch import load_file

        files = sorted(path.glob("*.safetensors"))
        if not files:
            raise InvalidInputError(f"snapshot {path} has no safetensors weights")
        state_dict: dict[str, Any] = {}
        for f in files:
            state_dict.update(load_file(str(f)))
        missing, unexpected = self.model.load_state_dict(state_dict, strict=False)
        tied = set(getattr(self.model, "_tied_weights_keys", None) or [])
        if unexpected or any(m not in tied for m in missing):
            raise InvalidInputError(f"snapshot {path} does not match the model (missing {missing}, unexpected {unexpected})")
        state = json.loads((path / _STATE).read_text())
        self.iteration = int(state["iteration"])
        self.history = list(state["history"])
        log.info("resumed self-play from %s (iteration %d)", path, t)


class NashMDTrainer(SelfPlayTrainer):
    """Nash-MD-PG on a causal LM (Munos et al. 2024, as TRL <= 1.13 implemented it): per prompt
    one y ~ pi_t and one opponent y' from the token-level geometric mixture of pi_t and pi_ref
    (:func:`saddlepoint.lm.logprobs.sample_mixture_responses`), p = P(y > y') from the oracle,
    per-token l_ref(y) precomputed, then ``epochs`` epochs of
    :func:`saddlepoint.preference.torch_losses.nash_md_pg_loss` on (y, p); the training loop,
    snapshots and resuming are :class:`SelfPlayTrainer`'s."""

    config_type = NashMDTrainerConfig

    def _iteration(self, prompts: Sequence[Any], enc: list[list[int]]) -> dict[str, Any]:
        """Nash-MD-PG: y ~ pi_t, y' ~ mixture(pi_t, pi_ref), p = P(y > y'), frozen per-token l_ref(y), epochs."""
        cfg = self.config
        start = time.perf_counter()
        seed = cfg.seed * 100_003 + self.iteration
        ys = sample_responses(self.model, enc, seed=seed, **self._sampling())
        # an independent seed for the opponents; torch's CPU generator keeps only a seed's low
        # 32 bits, so offsets such as seed + 2**32 would replay the policy's draws
        opp_seed = int(np.random.SeedSequence([cfg.seed, self.iteration, 1]).generate_state(1)[0])
        opponents = sample_mixture_responses(self.model, self.ref_model, enc, mixture_coef=cfg.mixture_coef,
                                             seed=opp_seed, **self._sampling())
        gen_seconds = time.perf_counter() - start
        p, scores = [], []
        for prompt, y, y_opp in zip(prompts, ys, opponents):
            shown = [self._as_oracle_response(y), self._as_oracle_response(y_opp)]
            p.append(float(np.asarray(self.oracle.win_matrix(prompt, shown), dtype=float)[0, 1]))
            if hasattr(self.oracle, "scores"):
                scores.append(float(self.oracle.scores(prompt, shown[:1])[0]))
        width = max(len(y) for y in ys)

        def frozen_tokens(model):
            def chunk(idx):
                lp, _ = response_token_logprobs(model, [enc[i] for i in idx], [ys[i] for i in idx], pad_id=self.pad_id)
                return torch.nn.functional.pad(lp.float(), (0, width - lp.shape[1]))
            return self._frozen(chunk, len(enc))

        ref_tok = frozen_tokens(self.ref_model)
        kl_ref = (frozen_tokens(self.model) - ref_tok).sum(dim=1)  # l_t(y) - l_ref(y), y ~ pi_t: E = KL(pi_t || ref)
        p_t = torch.tensor(p, dtype=torch.float32)
        device = self._device()

        def batch_loss(idx: list[int]):
            logp, mask = response_token_logprobs(self.model, [enc[i] for i in idx], [ys[i] for i in idx],
                                                 pad_id=self.pad_id)
            ref = ref_tok[idx, : logp.shape[1]].to(device)
            return torch_losses.nash_md_pg_loss(logp, ref, p_t[idx].to(device), cfg.tau, mask)

        losses, lrs = self._train(len(enc), batch_loss)
        return {
            "loss": float(np.mean(losses)), "loss_first": losses[0], "loss_last": losses[-1],
            "mean_score": float(np.mean(scores)) if scores else float(np.mean(p)),
            "mean_response_tokens": float(np.mean([len(y) for y in ys])),
            "mixture_response_tokens": float(np.mean([len(y) for y in opponents])),
            "win_prob_vs_mixture": float(np.mean(p)), "kl_to_reference": float(kl_ref.mean()),
            "learning_rates": lrs, "generation_seconds": gen_seconds,
        }
