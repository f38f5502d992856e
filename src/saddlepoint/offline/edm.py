"""Vector EDM diffusion model (Karras et al. 2022) with a residual-MLP denoiser, as in SynthER.

The network ``F`` is wrapped in EDM's preconditioning (Table 1 of Karras et al.)::

    D(x; sigma) = c_skip(sigma) x + c_out(sigma) F(c_in(sigma) x, c_noise(sigma))
    c_skip = sd^2 / (sigma^2 + sd^2),  c_out = sigma sd / sqrt(sigma^2 + sd^2),
    c_in = 1 / sqrt(sigma^2 + sd^2),   c_noise = log(sigma) / 4

trained with ``ln sigma ~ N(P_mean, P_std^2)`` and loss weight
``lambda(sigma) = (sigma^2 + sd^2) / (sigma sd)^2``, and sampled with Euler or Heun steps
(Algorithm 2, optional churn) on the Karras schedule
``sigma_i = (sigma_max^(1/rho) + i/(N-1) (sigma_min^(1/rho) - sigma_max^(1/rho)))^rho``, ``sigma_N = 0``.
Data are standardised per dimension before diffusion (except dimensions named in
``skip_normalise``, e.g. done flags, as SynthER does) and mapped back after sampling.
"""

from __future__ import annotations

import logging
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from saddlepoint.config import check_choice, check_positive, check_positive_int, from_dict
from saddlepoint.errors import InvalidInputError, require
from saddlepoint.progress import progress

torch = require("torch", "torch")
nn = torch.nn

__all__ = ["EDMConfig", "ResidualMLPDenoiser", "VectorEDM", "karras_sigmas", "sample_euler", "sample_heun",
           "edm_loss"]

log = logging.getLogger(__name__)
SAMPLERS = ("heun", "euler")


@dataclass(frozen=True)
class EDMConfig:
    """Denoiser size, EDM constants, training and sampling settings (defaults: the notes' laptop
    scale; SynthER: width 2048, 6 blocks, 100k steps, batch 1024, 128 Heun steps)."""

    width: int = 256
    """Hidden width of the residual MLP (notes: 256; SynthER: 2048)."""
    num_blocks: int = 3
    """Residual blocks (notes: 3; SynthER: 6)."""
    time_embed_dim: int = 64
    """Size of the random-Fourier embedding of c_noise (SynthER: 128)."""
    sigma_data: float = 1.0
    """sigma_data of the preconditioning (SynthER: 1.0 on standardised data)."""
    sigma_min: float = 0.002
    """Smallest sampling noise level."""
    sigma_max: float = 80.0
    """Largest sampling noise level (the sampler starts at sigma_max * N(0, I))."""
    rho: float = 7.0
    """Karras schedule exponent rho."""
    p_mean: float = -1.2
    """Training noise: ln sigma ~ N(P_mean, P_std^2)."""
    p_std: float = 1.2
    """Training noise: ln sigma ~ N(P_mean, P_std^2)."""
    steps: int = 32
    """Sampling steps N (notes: 32; SynthER: 128)."""
    sampler: str = "heun"
    """``"heun"`` (2nd order, Algorithm 2) or ``"euler"``."""
    s_churn: float = 80.0
    """Stochasticity of the Heun sampler (SynthER: 80; 0 = deterministic ODE)."""
    s_tmin: float = 0.05
    """Churn is applied only for sigma in [S_tmin, S_tmax]."""
    s_tmax: float = 50.0
    """Churn is applied only for sigma in [S_tmin, S_tmax]."""
    s_noise: float = 1.003
    """Noise inflation S_noise of the churn step."""
    train_steps: int = 2000
    """Gradient steps of ``fit`` (SynthER: 100k)."""
    batch_size: int = 256
    """Training batch size (SynthER: 1024)."""
    lr: float = 3e-4
    """Adam learning rate, cosine-decayed to 0 over ``train_steps``."""
    ema_decay: float = 0.995
    """Decay of the exponential moving average of the weights used for sampling (0 = no EMA)."""
    sample_batch: int = 8192
    """Samples drawn per sampler call (memory bound)."""
    device: str = "cpu"
    """Torch device for training and sampling (``"cuda"`` for a SynthER-sized denoiser)."""

    def __post_init__(self) -> None:
        for name in ("width", "num_blocks", "time_embed_dim", "steps", "train_steps", "batch_size", "sample_batch"):
            check_positive_int(name, getattr(self, name))
        for name in ("sigma_data", "sigma_min", "sigma_max", "rho", "p_std", "lr", "s_noise"):
            check_positive(name, getattr(self, name))
        for name in ("s_churn", "s_tmin", "s_tmax"):
            check_positive(name, getattr(self, name), allow_zero=True)
        if not (isinstance(self.p_mean, (int, float)) and math.isfinite(self.p_mean)):
            raise InvalidInputError(f"p_mean must be a finite number, got {self.p_mean!r}")
        if self.sigma_min >= self.sigma_max:
            raise InvalidInputError(f"sigma_min={self.sigma_min} must be < sigma_max={self.sigma_max}")
        if not (0 <= self.ema_decay < 1):
            raise InvalidInputError(f"ema_decay must be in [0, 1), got {self.ema_decay}")
        check_choice("sampler", self.sampler, SAMPLERS)


class ResidualMLPDenoiser(nn.Module):
    """``F(x_in, c_noise)``: random-Fourier embedding of c_noise concatenated to x, a linear
    projection to ``width``, ``num_blocks`` residual blocks ``h + W2 relu(W1 relu(h))``, and a
    linear read-out (SynthER's shape, without LayerNorm)."""

    def __init__(self, dim: int, config: EDMConfig, generator: torch.Generator) -> None:
        super().__init__()
        half = config.time_embed_dim // 2 or 1
        self.register_buffer("freqs", torch.randn(half, generator=generator) * 16.0)
        self.proj = nn.Linear(dim + 2 * half, config.width)
        self.blocks = nn.ModuleList(
            nn.Sequential(nn.ReLU(), nn.Linear(config.width, config.width), nn.ReLU(),
                          nn.Linear(config.width, config.width))
            for _ in range(config.num_blocks))
        self.out = nn.Sequential(nn.ReLU(), nn.Linear(config.width, dim))
        with torch.no_grad():  # U(-1/sqrt(fan_in), 1/sqrt(fan_in)) weights, zero biases, from `generator`
            for p in self.parameters():
                if p.dim() > 1:
                    bound = 1.0 / math.sqrt(p.shape[1])
                    p.uniform_(-bound, bound, generator=generator)
                else:
                    p.zero_()

    def forward(self, x: torch.Tensor, c_noise: torch.Tensor) -> torch.Tensor:
        """x: ``(B, D)`` preconditioned input; c_noise: ``(B,)``; returns ``(B, D)``."""
        angles = 2 * math.pi * c_noise[:, None] * self.freqs[None, :]
        h = self.proj(torch.cat([x, torch.sin(angles), torch.cos(angles)], dim=1))
        for block in self.blocks:
            h = h + block(h)
        return self.out(h)


def _coefficients(sigma: torch.Tensor, sigma_data: float) -> tuple[torch.Tensor, ...]:
    """EDM preconditioning (Karras et al. Table 1): c_skip, c_out, c_in, c_noise for ``sigma`` (B, 1)."""
    total = sigma ** 2 + sigma_data ** 2
    return sigma_data ** 2 / total, sigma * sigma_data / total.sqrt(), 1 / total.sqrt(), sigma.log() / 4


def precondition(net: nn.Module, x: torch.Tensor, sigma: torch.Tensor, sigma_data: float) -> torch.Tensor:
    """Denoiser ``D(x; sigma) = c_skip x + c_out F(c_in x, c_noise)``; x ``(B, D)``, sigma ``(B,)``."""
    c_skip, c_out, c_in, c_noise = _coefficients(sigma[:, None], sigma_data)
    return c_skip * x + c_out * net(c_in * x, c_noise[:, 0])


def edm_loss(net: nn.Module, x: torch.Tensor, config: EDMConfig, generator: torch.Generator) -> torch.Tensor:
    """EDM training loss on clean data x ``(B, D)``: mean of lambda(sigma) ||D(x + sigma n; sigma) - x||^2 / D
    with ln sigma ~ N(P_mean, P_std^2) and lambda = (sigma^2 + sd^2) / (sigma sd)^2."""
    b = x.shape[0]
    sigma = (config.p_mean + config.p_std * torch.randn(b, generator=generator, device=x.device)).exp()
    noise = torch.randn(x.shape, generator=generator, device=x.device)
    denoised = precondition(net, x + sigma[:, None] * noise, sigma, config.sigma_data)
    weight = (sigma ** 2 + config.sigma_data ** 2) / (sigma * config.sigma_data) ** 2
    return (weight[:, None] * (denoised - x) ** 2).mean()


def karras_sigmas(steps: int, sigma_min: float, sigma_max: float, rho: float) -> torch.Tensor:
    """``(steps + 1,)`` float64 Karras noise levels from sigma_max down to sigma_min, then 0."""
    ramp = torch.linspace(0, 1, steps, dtype=torch.float64)
    lo, hi = sigma_min ** (1 / rho), sigma_max ** (1 / rho)
    return torch.cat([(hi + ramp * (lo - hi)) ** rho, torch.zeros(1, dtype=torch.float64)])


Denoise = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def sample_euler(denoise: Denoise, x: torch.Tensor, sigmas: torch.Tensor) -> torch.Tensor:
    """Euler steps of the probability-flow ODE ``dx/dsigma = (x - D(x; sigma)) / sigma``;
    x ``(B, D)`` starts at noise level ``sigmas[0]``."""
    for i in range(len(sigmas) - 1):
        s, s_next = float(sigmas[i]), float(sigmas[i + 1])
        d = (x - denoise(x, torch.full((x.shape[0],), s, device=x.device))) / s
        x = x + (s_next - s) * d
    return x


def sample_heun(denoise: Denoise, x: torch.Tensor, sigmas: torch.Tensor, *, s_churn: float = 0.0,
                s_tmin: float = 0.0, s_tmax: float = float("inf"), s_noise: float = 1.0,
                generator: torch.Generator | None = None) -> torch.Tensor:
    """Karras et al. Algorithm 2: Heun's 2nd-order steps with optional churn (stochastic when
    ``s_churn > 0``); the last step (to sigma = 0) is an Euler step."""
    n = len(sigmas) - 1
    for i in range(n):
        s, s_next = float(sigmas[i]), float(sigmas[i + 1])
        gamma = min(s_churn / n, math.sqrt(2) - 1) if s_tmin <= s <= s_tmax else 0.0
        s_hat = s * (1 + gamma)
        if gamma > 0:
            eps = torch.randn(x.shape, generator=generator, device=x.device)
            x = x + math.sqrt(s_hat ** 2 - s ** 2) * s_noise * eps
        d = (x - denoise(x, torch.full((x.shape[0],), s_hat, device=x.device))) / s_hat
        x_next = x + (s_next - s_hat) * d
        if s_next > 0:
            d_next = (x_next - denoise(x_next, torch.full((x.shape[0],), s_next, device=x.device))) / s_next
            x_next = x + (s_next - s_hat) * (d + d_next) / 2
        x = x_next
    return x


class VectorEDM:
    """Unconditional EDM model of ``dim``-dimensional vectors: ``fit``, ``sample``, ``save``, ``load``.

    ``skip_normalise`` lists dimensions left unstandardised (e.g. a 0/1 done flag).
    """

    def __init__(self, dim: int, config: EDMConfig | None = None, *, seed: int = 0,
                 skip_normalise: tuple[int, ...] = ()) -> None:
        check_positive_int("dim", dim)
        self.config = config or EDMConfig()
        self.dim = dim
        if any(not (0 <= int(i) < dim) for i in skip_normalise):
            raise InvalidInputError(f"skip_normalise indices must lie in [0, {dim}), got {skip_normalise}")
        self.skip_normalise = tuple(int(i) for i in skip_normalise)
        gen = torch.Generator().manual_seed(int(seed))
        self.net = ResidualMLPDenoiser(dim, self.config, gen).to(self.config.device)
        self.ema = ResidualMLPDenoiser(dim, self.config, gen).to(self.config.device)
        self.ema.load_state_dict(self.net.state_dict())
        self.mean = np.zeros(dim)
        self.std = np.ones(dim)
        self.fitted = False

    def _check(self, data: np.ndarray, what: str) -> np.ndarray:
        data = np.asarray(data, dtype=np.float64)
        if data.ndim != 2 or data.shape[1] != self.dim:
            raise InvalidInputError(f"{what} must have shape (N, {self.dim}) (the model's vector size), got {data.shape}")
        if data.shape[0] == 0:
            raise InvalidInputError(f"{what} is empty: fit needs at least one vector")
        if not np.isfinite(data).all():
            raise InvalidInputError(f"{what} contains non-finite values")
        return data

    def normalise(self, data: np.ndarray) -> np.ndarray:
        """Standardise ``(N, dim)`` data with the fitted mean and std."""
        return (data - self.mean) / self.std

    def denormalise(self, data: np.ndarray) -> np.ndarray:
        """Inverse of :meth:`normalise`."""
        return data * self.std + self.mean

    def denoise(self, x: torch.Tensor, sigma: torch.Tensor, *, ema: bool = True) -> torch.Tensor:
        """Preconditioned denoiser D(x; sigma) in normalised space; x ``(B, dim)``, sigma ``(B,)``."""
        return precondition(self.ema if ema else self.net, x, sigma, self.config.sigma_data)

    def fit(self, data: np.ndarray, rng: np.random.Generator) -> list[float]:
        """Train on ``(N, dim)`` data for ``config.train_steps`` steps; returns the loss per step."""
        data = self._check(data, "data")
        cfg = self.config
        self.mean = data.mean(axis=0)
        self.std = data.std(axis=0) + 1e-6
        if self.skip_normalise:
            self.mean[list(self.skip_normalise)] = 0.0
            self.std[list(self.skip_normalise)] = 1.0
        x = torch.as_tensor(self.normalise(data), dtype=torch.float32, device=cfg.device)
        gen = torch.Generator(device=cfg.device).manual_seed(int(rng.integers(2 ** 62)))
        opt = torch.optim.Adam(self.net.parameters(), lr=cfg.lr)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=cfg.train_steps)
        losses = []
        self.net.train()
        for _ in progress(range(cfg.train_steps), desc="EDM fit"):
            idx = torch.randint(0, x.shape[0], (min(cfg.batch_size, x.shape[0]),), generator=gen, device=cfg.device)
            loss = edm_loss(self.net, x[idx], cfg, gen)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            with torch.no_grad():
                for pe, p in zip(self.ema.parameters(), self.net.parameters()):
                    pe.lerp_(p, 1 - cfg.ema_decay)
            losses.append(float(loss.detach()))
        self.fitted = True
        log.info("EDM fit: %d steps, final loss %.4f", cfg.train_steps, losses[-1])
        return losses

    @torch.no_grad()
    def sample(self, n: int, rng: np.random.Generator, *, steps: int | None = None,
               sampler: str | None = None) -> np.ndarray:
        """``(n, dim)`` samples in data space (``steps``/``sampler`` override the config)."""
        check_positive_int("n", n)
        if not self.fitted:
            raise InvalidInputError("sample() needs a fitted model: call fit() or load() first")
        cfg = self.config
        sampler = sampler or cfg.sampler
        check_choice("sampler", sampler, SAMPLERS)
        sigmas = karras_sigmas(steps or cfg.steps, cfg.sigma_min, cfg.sigma_max, cfg.rho)
        gen = torch.Generator(device=cfg.device).manual_seed(int(rng.integers(2 ** 62)))
        self.ema.eval()
        out = []
        for start in range(0, n, cfg.sample_batch):
            b = min(cfg.sample_batch, n - start)
            x = torch.randn((b, self.dim), generator=gen, device=cfg.device) * float(sigmas[0])
            if sampler == "euler":
                x = sample_euler(self.denoise, x, sigmas)
            else:
                x = sample_heun(self.denoise, x, sigmas, s_churn=cfg.s_churn, s_tmin=cfg.s_tmin,
                                s_tmax=cfg.s_tmax, s_noise=cfg.s_noise, generator=gen)
            out.append(x.cpu().double().numpy())
        return self.denormalise(np.concatenate(out))

    def save(self, path: str | Path) -> None:
        """Write config, normalisation and (EMA and raw) weights to one torch file."""
        torch.save({"config": asdict(self.config), "dim": self.dim, "skip_normalise": list(self.skip_normalise),
                    "mean": torch.as_tensor(self.mean), "std": torch.as_tensor(self.std), "fitted": self.fitted,
                    "net": self.net.state_dict(), "ema": self.ema.state_dict()}, Path(path))

    @classmethod
    def load(cls, path: str | Path, *, device: str | None = None) -> "VectorEDM":
        """Read a model written by :meth:`save` (``device`` overrides the saved one)."""
        path = Path(path)
        if not path.is_file():
            raise InvalidInputError(f"no saved EDM model at {path}")
        state = torch.load(path, map_location="cpu", weights_only=True)
        config = dict(state["config"])
        if device is not None:
            config["device"] = device
        model = cls(int(state["dim"]), from_dict(EDMConfig, config), skip_normalise=tuple(state["skip_normalise"]))
        model.net.load_state_dict(state["net"])
        model.ema.load_state_dict(state["ema"])
        model.mean, model.std = state["mean"].numpy(), state["std"].numpy()
        model.fitted = bool(state["fitted"])
        return model
