"""Sample-based self-play on tabular policies with the library's real loss functions.

This is the RSPO notes' experiment E2: each prompt has its own preference matrix and a
tabular policy pi = softmax(z) over its K responses. One iteration does what the
language-model trainer does, in miniature (RSPO notes, "One RSPO iteration"):

1. draw ``n_samples`` responses per prompt from the frozen snapshot pi_t;
2. score them with the exact oracle and estimate p_hat within the sample;
3. keep the winner (highest p_hat) and the loser (lowest);
4. take ``inner_steps`` gradient steps on the chosen loss (SPPO, RSPO or INPO from
   :mod:`saddlepoint.preference.losses`) with l_t and l_ref precomputed;
5. snapshot pi_{t+1}.

The objective is the **sum** over prompts of each prompt's loss (prompts have separate
parameters, so each prompt's step does not shrink with the number of prompts). Note the INPO
pitfall: its pairwise residual has gradient norm 2 in the logits, so ``learning_rate=0.5``
flips the residual's sign every step and returns to the start after an even number of steps;
use 0.2.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from saddlepoint.config import check_choice, check_positive, check_positive_int
from saddlepoint.errors import InvalidInputError
from saddlepoint.preference.dynamics import PolicyIterate
from saddlepoint.preference.game import PreferenceGame
from saddlepoint.preference.losses import inpo_loss, rspo_loss
from saddlepoint.preference.objectives import PairLossConfig
from saddlepoint.preference.oracle import estimate_win_rates, select_pair
from saddlepoint.rng import make_rng

__all__ = ["SampledSelfPlay", "SampledSelfPlayConfig", "log_softmax"]

def log_softmax(z: np.ndarray) -> np.ndarray:
    """Row-wise log-softmax of ``(X, K)`` logits."""
    m = z.max(axis=1, keepdims=True)
    return z - (m + np.log(np.exp(z - m).sum(axis=1, keepdims=True)))


@dataclass(frozen=True)
class SampledSelfPlayConfig(PairLossConfig):
    """Sample-based tabular self-play (RSPO notes, E2): the objective's symbols
    (:class:`~saddlepoint.preference.objectives.PairLossConfig`) and the sampling and
    optimisation settings below."""

    algo: ClassVar[str] = "sampled_self_play"
    method: ClassVar[str] = "saddlepoint.preference.sampled:SampledSelfPlay"
    iterations: int = 300
    """Self-play iterations (snapshots) T."""
    n_samples: int = 5
    """Responses drawn per prompt per iteration (K of the paper)."""
    inner_steps: int = 50
    """Gradient steps per iteration (the "epoch")."""
    learning_rate: float = 0.5
    """Gradient-descent step on the logits (0.2 for INPO, see the module docstring)."""
    pairs_per_prompt: int = 1
    """Independent sample groups (each giving one pair) drawn per prompt per iteration; the
    prompt's loss is the mean over its pairs, so more pairs lower the sampling noise of a step
    without changing its expected size."""
    pairs: str = "auto"
    """``extremes``: winner/loser = argmax/argmin of p_hat among the samples (SPPO's data step);
    ``labelled``: the first two samples, ordered by one Bernoulli draw of the oracle (INPO's
    theory, an unbiased labelled pair); ``auto``: ``labelled`` for INPO, else ``extremes``."""

    def __post_init__(self) -> None:
        super().__post_init__()
        check_positive_int("iterations", self.iterations, allow_zero=True)
        check_positive_int("n_samples", self.n_samples)
        if self.n_samples < 2:
            raise InvalidInputError(f"n_samples must be at least 2 to form a pair, got {self.n_samples}")
        check_positive_int("inner_steps", self.inner_steps)
        check_positive_int("pairs_per_prompt", self.pairs_per_prompt)
        check_positive("learning_rate", self.learning_rate)
        check_choice("pairs", self.pairs, ("auto", "extremes", "labelled"))


class SampledSelfPlay:
    """A method (:mod:`saddlepoint.method`): :meth:`step` runs one self-play iteration;
    :meth:`last` / :meth:`average` give the current and the averaged snapshot policies
    ``(X, K)`` (copies), ``output()`` both. Starts at pi_ref. ``cost`` counts iterations and
    the responses sampled (``samples``)."""

    def __init__(self, game: PreferenceGame, config: SampledSelfPlayConfig, rng: np.random.Generator | int | None = None) -> None:
        if not isinstance(game, PreferenceGame):
            raise InvalidInputError(f"expected a PreferenceGame, got {type(game).__name__}")
        self.game, self.config = game, config
        self._rng = make_rng(rng)
        self._log_ref = np.log(game.reference)
        self._z = self._log_ref.copy()
        self._t = 0
        self._sum = np.zeros(game.shape)
        self._rows = np.arange(game.n_prompts)

    @property
    def iteration(self) -> int:
        return self._t

    @property
    def cost(self) -> Mapping[str, float]:
        per_step = self.game.n_prompts * self.config.pairs_per_prompt * self.config.n_samples
        return {"iterations": self._t, "samples": self._t * per_step}

    def output(self) -> PolicyIterate:
        """The last and the average snapshot policies (copies)."""
        return PolicyIterate(self._t, self.last(), self.average())

    def last(self) -> np.ndarray:
        return np.exp(log_softmax(self._z))

    def average(self) -> np.ndarray:
        return self.last() if self._t == 0 else self._sum / self._t

    def _sample_pairs(self, pi: np.ndarray, prompts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Winner and loser indices ``(M,)`` and their win-rate estimates ``(M, 2)``, one pair
        per entry of ``prompts`` ``(M,)`` (prompt indices, repeated for several pairs)."""
        m, n = len(prompts), self.config.n_samples
        cdf = np.cumsum(pi[prompts], axis=1)
        u = self._rng.random((m, n)) * cdf[:, -1:]
        idx = np.minimum((u[:, :, None] > cdf[:, None, :]).sum(axis=2), self.game.n_responses - 1)
        wins = self.game.preferences[prompts[:, None, None], idx[:, :, None], idx[:, None, :]]
        p_hat = estimate_win_rates(wins)
        pairs, at = self.config.pairs, np.arange(m)
        if pairs == "labelled" or (pairs == "auto" and self.config.loss == "inpo"):
            first_wins = self._rng.random(m) < wins[:, 0, 1]
            w, l = np.where(first_wins, 0, 1), np.where(first_wins, 1, 0)
        else:
            w, l = select_pair(p_hat)
        return idx[at, w], idx[at, l], np.stack([p_hat[at, w], p_hat[at, l]], axis=1)

    def step(self) -> None:
        """One self-play iteration (sample, score, pair, ``inner_steps`` gradient steps, snapshot)."""
        cfg = self.config
        pi_t = self.last()
        self._sum += pi_t
        self._t += 1
        prompts = np.repeat(self._rows, cfg.pairs_per_prompt)  # (M,) = (X * pairs,)
        w, l, p_hat = self._sample_pairs(pi_t, prompts)
        cols = np.stack([w, l], axis=1)  # (M, 2)
        rows = np.repeat(prompts[:, None], 2, axis=1)
        logp_t = np.log(pi_t)[rows, cols]
        logp_ref = self._log_ref[rows, cols]
        # the losses average over their rows; rescale to the sum over prompts of each prompt's
        # mean over its pairs
        n_rows = (cols.size if cfg.loss != "inpo" else len(prompts)) / cfg.pairs_per_prompt
        for _ in range(cfg.inner_steps):
            logp_all = log_softmax(self._z)
            logp = logp_all[rows, cols]
            if cfg.loss == "inpo":
                _, g = inpo_loss(logp, logp_t, logp_ref, cfg.eta, cfg.tau)
            else:
                lam = cfg.reg_coef if cfg.loss == "rspo" else 0.0
                _, g = rspo_loss(logp.ravel(), logp_t.ravel(), logp_ref.ravel(), p_hat.ravel(), cfg.eta, lam,
                                 cfg.regularizer, clip=cfg.clip, mix_coef=cfg.mix_coef)
                g = g.reshape(cols.shape)
            g = g * n_rows  # gradient of the sum over prompts of the per-prompt loss
            dense = np.zeros_like(self._z)
            np.add.at(dense, (rows, cols), g)
            # chain rule through log_softmax: d l_y / d z = e_y - pi
            grad_z = dense - np.exp(logp_all) * dense.sum(axis=1, keepdims=True)
            self._z = self._z - cfg.learning_rate * grad_z
