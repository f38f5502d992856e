"""A DIAMOND-style diffusion world model (Alonso et al., NeurIPS 2024), the pixel world model of
IMAC: a small U-Net denoises the next frame given the last ``frames`` frames (stacked on the
channels of the noisy input) and the last ``frames`` actions (an embedding added, with the noise
level's, to every block), wrapped in EDM's preconditioning.

EDM itself (preconditioning, training loss, Karras schedule, Euler sampler) is
:mod:`saddlepoint.offline.edm`'s, applied to flattened frames. DIAMOND's constants are the
defaults (sigma_data 0.5, ln sigma ~ N(-0.4, 1.2^2), 3 Euler steps over sigma in [2e-3, 5],
rho 7, 4 conditioning frames, channels [64]*4, cond dim 256, AdamW lr 1e-4 wd 1e-2); the
``tiny`` config is what runs in tests on a CPU. Deviations: DIAMOND's offset noise (0.3) and the
clipping of training sigma to [2e-3, 20] are not applied (offline.edm's loss has neither), and the
reward/termination model is not part of this module (the conv world model has those heads).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from saddlepoint.config import check_positive, check_positive_int
from saddlepoint.errors import InvalidInputError, require
from saddlepoint.offline.edm import EDMConfig, edm_loss, karras_sigmas, precondition, sample_euler

torch = require("torch", "torch")
nn = torch.nn
F = torch.nn.functional


@dataclass(frozen=True)
class DiamondConfig:
    """Size and EDM constants of the diffusion world model (defaults: DIAMOND's Atari settings)."""

    frame_channels: int = 3
    """Channels of one frame (3 for RGB or the symbolic maze)."""
    frames: int = 4
    """Conditioning frames (and actions) L."""
    num_actions: int = 4
    """Size of the discrete action space."""
    channels: tuple[int, ...] = (64, 64, 64, 64)
    """U-Net channels per resolution level (each level halves the resolution)."""
    cond_dim: int = 256
    """Size of the noise-level + action conditioning vector."""
    sigma_data: float = 0.5
    """EDM sigma_data."""
    p_mean: float = -0.4
    """Training noise: ln sigma ~ N(p_mean, p_std^2)."""
    p_std: float = 1.2
    """Training noise: ln sigma ~ N(p_mean, p_std^2)."""
    sigma_min: float = 2e-3
    """Smallest sampling noise level."""
    sigma_max: float = 5.0
    """Largest sampling noise level."""
    rho: float = 7.0
    """Karras schedule exponent."""
    sampling_steps: int = 3
    """Euler steps per generated frame."""
    lr: float = 1e-4
    """AdamW learning rate."""
    weight_decay: float = 1e-2
    """AdamW weight decay."""

    def __post_init__(self) -> None:
        for name in ("frame_channels", "frames", "num_actions", "cond_dim", "sampling_steps"):
            check_positive_int(name, getattr(self, name))
        if not self.channels or any(int(c) < 1 for c in self.channels):
            raise InvalidInputError(f"channels must be positive integers, got {self.channels}")
        object.__setattr__(self, "channels", tuple(int(c) for c in self.channels))
        for name in ("sigma_data", "p_std", "sigma_min", "sigma_max", "rho", "lr"):
            check_positive(name, getattr(self, name))
        check_positive("weight_decay", self.weight_decay, allow_zero=True)
        if self.sigma_min >= self.sigma_max:
            raise InvalidInputError(f"sigma_min={self.sigma_min} must be < sigma_max={self.sigma_max}")

    def edm(self) -> EDMConfig:
        """The matching :class:`~saddlepoint.offline.edm.EDMConfig` (EDM constants only)."""
        return EDMConfig(sigma_data=self.sigma_data, p_mean=self.p_mean, p_std=self.p_std,
                         sigma_min=self.sigma_min, sigma_max=self.sigma_max, rho=self.rho,
                         steps=self.sampling_steps, sampler="euler")


CONFIGS = {
    "tiny": DiamondConfig(channels=(8, 16), cond_dim=16),
    "maze-gpu": DiamondConfig(channels=(64, 64, 64), cond_dim=256),
    "procgen-gpu": DiamondConfig(channels=(64, 64, 64, 64), cond_dim=256),
}
"""Named configs: ``tiny`` (CPU tests), ``maze-gpu`` (11x11 or rendered mazes), ``procgen-gpu``
(64x64 Procgen frames, DIAMOND's Atari sizes)."""


class _Block(nn.Module):
    """Conv block with the conditioning vector added after the first conv (DIAMOND adds AdaGN;
    an additive bias is the small-scale stand-in)."""

    def __init__(self, c_in: int, c_out: int, cond_dim: int):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, padding=1)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1)
        self.cond = nn.Linear(cond_dim, c_out)
        self.skip = nn.Conv2d(c_in, c_out, 1) if c_in != c_out else nn.Identity()
        self.norm = nn.GroupNorm(1, c_out)

    def forward(self, x, cond):
        h = F.silu(self.conv1(x) + self.cond(cond)[:, :, None, None])
        return self.skip(x) + self.conv2(F.silu(self.norm(h)))


class DiamondDenoiser(nn.Module):
    """U-Net ``F(c_in x, c_noise | past frames, past actions)``: (B, C, H, W) -> (B, C, H, W)."""

    def __init__(self, config: DiamondConfig):
        super().__init__()
        self.config = config
        c0 = config.channels[0]
        d = config.cond_dim
        self.noise_freqs = nn.Parameter(torch.randn(d // 2), requires_grad=False)
        self.action_embed = nn.Embedding(config.num_actions, d)
        self.cond_mlp = nn.Sequential(nn.Linear(d * 2, d), nn.SiLU(), nn.Linear(d, d))
        self.inp = nn.Conv2d(config.frame_channels * (config.frames + 1), c0, 3, padding=1)
        self.down = nn.ModuleList()
        prev = c0
        for c in config.channels:
            self.down.append(_Block(prev, c, d))
            prev = c
        self.up = nn.ModuleList()
        for c in reversed(config.channels[:-1]):
            self.up.append(_Block(prev + c, c, d))
            prev = c
        self.out = nn.Conv2d(prev, config.frame_channels, 3, padding=1)

    def forward(self, x, c_noise, past_frames, past_actions):
        """x (B, C, H, W), c_noise (B,), past_frames (B, L, C, H, W), past_actions (B, L) int."""
        angles = 2 * math.pi * c_noise[:, None] * self.noise_freqs[None, :]
        noise_emb = torch.cat([angles.sin(), angles.cos()], 1)
        act_emb = self.action_embed(past_actions.long()).mean(1)
        cond = self.cond_mlp(torch.cat([noise_emb, act_emb], 1))
        h = self.inp(torch.cat([x, past_frames.flatten(1, 2)], 1))
        skips = []
        for i, block in enumerate(self.down):
            h = block(h, cond)
            if i < len(self.down) - 1:
                skips.append(h)
                h = F.avg_pool2d(h, 2, ceil_mode=True)
        for block in self.up:
            skip = skips.pop()
            h = F.interpolate(h, size=skip.shape[-2:], mode="nearest")
            h = block(torch.cat([h, skip], 1), cond)
        return self.out(h)


class DiamondWorldModel(nn.Module):
    """EDM-preconditioned next-frame model; frames are floats scaled to about [-1, 1]."""

    def __init__(self, config: DiamondConfig = CONFIGS["tiny"]):
        super().__init__()
        self.config = config
        self.edm_config = config.edm()
        self.net = DiamondDenoiser(config)

    def _check(self, past_frames, past_actions):
        cfg = self.config
        if past_frames.ndim != 5 or past_frames.shape[1] != cfg.frames or past_frames.shape[2] != cfg.frame_channels:
            raise InvalidInputError(f"past_frames must be (B, {cfg.frames}, {cfg.frame_channels}, H, W), "
                                    f"got {tuple(past_frames.shape)}")
        if past_actions.shape != past_frames.shape[:2]:
            raise InvalidInputError(f"past_actions must be (B, {cfg.frames}), got {tuple(past_actions.shape)}")

    def _conditioned(self, shape, past_frames, past_actions):
        def net(x_flat, c_noise):
            return self.net(x_flat.view(shape), c_noise, past_frames, past_actions).flatten(1)
        return net

    def denoise(self, x, sigma, past_frames, past_actions):
        """EDM denoiser D(x; sigma | past); x (B, C, H, W), sigma (B,) -> (B, C, H, W)."""
        net = self._conditioned(x.shape, past_frames, past_actions)
        return precondition(net, x.flatten(1), sigma, self.config.sigma_data).view(x.shape)

    def loss(self, next_frame, past_frames, past_actions, generator=None):
        """EDM training loss of the next frame given the past (offline.edm's weighting)."""
        self._check(past_frames, past_actions)
        net = self._conditioned(next_frame.shape, past_frames, past_actions)
        return edm_loss(net, next_frame.flatten(1), self.edm_config, generator)

    @torch.no_grad()
    def sample(self, past_frames, past_actions, generator=None, steps: int | None = None):
        """Generate the next frame (B, C, H, W) with Euler steps on the Karras schedule."""
        self._check(past_frames, past_actions)
        cfg = self.config
        b, _, c, h, w = past_frames.shape
        sigmas = karras_sigmas(steps or cfg.sampling_steps, cfg.sigma_min, cfg.sigma_max, cfg.rho)
        x = torch.randn((b, c, h, w), generator=generator) * float(sigmas[0])

        def denoise(x_, s_):
            return self.denoise(x_, s_.float(), past_frames, past_actions)

        return sample_euler(denoise, x, sigmas)

    def optimizer(self):
        """DIAMOND's AdamW."""
        return torch.optim.AdamW(self.net.parameters(), lr=self.config.lr, weight_decay=self.config.weight_decay)


def frame_windows(data, frames: int) -> dict:
    """Training windows of a pixel or symbolic transition record for :class:`DiamondWorldModel`.

    ``data``: anything with ``observations``, ``next_observations``, ``actions`` and
    ``episode_starts`` (:class:`~saddlepoint.offline.dataset.TransitionDataset`, or
    :class:`~saddlepoint.offline.readers.PixelTransitions` from ``load_gen_dgrl``). Channel-last
    uint8 frames become channel-first floats in [-1, 1]; 0/1 symbolic channels are mapped the
    same way. Before an episode's start the first frame (and action 0) is repeated.
    Returns ``past_frames`` (n, L, C, H, W), ``past_actions`` (n, L) and ``next_frame`` (n, C, H, W).
    """
    import numpy as np

    check_positive_int("frames", frames)
    n = len(data.actions)
    if n == 0:
        raise InvalidInputError("the dataset is empty")
    obs, nxt = np.asarray(data.observations), np.asarray(data.next_observations)
    if obs.ndim != 4:
        raise InvalidInputError(f"observations must be (n, C, H, W) or (n, H, W, C) frames, got {obs.shape}")
    channel_last = obs.shape[-1] in (1, 3) and obs.shape[1] not in (1, 3)

    def to_float(a):
        a = a.astype(np.float32)
        a = a / 127.5 - 1.0 if a.max() > 1 else a * 2.0 - 1.0
        return np.moveaxis(a, -1, 1) if channel_last else a

    actions = np.asarray(data.actions, dtype=np.int64).reshape(n)
    episode = np.cumsum(np.isin(np.arange(n), np.asarray(data.episode_starts))) - 1
    start = np.asarray(data.episode_starts)[episode]
    offsets = np.arange(-frames + 1, 1)
    idx = np.arange(n)[:, None] + offsets[None, :]
    valid = idx >= start[:, None]
    idx = np.maximum(idx, start[:, None])
    frames_f = to_float(obs)
    return {"past_frames": torch.from_numpy(frames_f[idx]),
            "past_actions": torch.from_numpy(np.where(valid, actions[idx], 0)),
            "next_frame": torch.from_numpy(to_float(nxt))}


def train_diamond(data, config: DiamondConfig = CONFIGS["tiny"], steps: int = 100, batch_size: int = 32,
                  seed: int = 0) -> tuple[DiamondWorldModel, list[float]]:
    """Fit a :class:`DiamondWorldModel` on a transition record (see :func:`frame_windows`); returns
    the model and its training losses. On a GPU pass a ``*-gpu`` config and move tensors yourself."""
    check_positive_int("steps", steps)
    check_positive_int("batch_size", batch_size)
    windows = frame_windows(data, config.frames)
    if windows["next_frame"].shape[1] != config.frame_channels:
        raise InvalidInputError(f"frames have {windows['next_frame'].shape[1]} channels but the config expects "
                                f"{config.frame_channels}")
    gen = torch.Generator().manual_seed(int(seed))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        model = DiamondWorldModel(config)
    opt = model.optimizer()
    losses = []
    n = len(windows["next_frame"])
    for _ in range(steps):
        i = torch.randint(n, (batch_size,), generator=gen)
        loss = model.loss(windows["next_frame"][i], windows["past_frames"][i], windows["past_actions"][i], gen)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return model, losses
