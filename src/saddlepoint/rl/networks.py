"""Torch networks for the maze family: a conv encoder for symbolic or RGB observations and its heads.

Observations arrive as the environment or a dataset gives them: symbolic/egocentric
``(B, C, H, W)`` 0/1 channels (float32 or uint8) or RGB ``(B, H, W, 3)`` uint8 pixels
(channel-last, as gymnasium renders them). The encoder transposes and scales RGB to [0, 1]
itself, so callers pass raw arrays.
"""

from __future__ import annotations

from dataclasses import dataclass

from saddlepoint.errors import InvalidInputError, require

torch = require("torch", "torch")
nn = torch.nn


@dataclass(frozen=True)
class NetworkConfig:
    """Size of the conv encoder and of the heads on top of it."""

    channels: tuple[int, ...] = (16, 32)
    """Output channels of each 3x3 conv layer (padding 1, ReLU)."""
    strides: tuple[int, ...] = (1, 2)
    """Stride of each conv layer (same length as ``channels``); stride 2 halves the grid."""
    hidden: int = 64
    """Width of the linear layer after the convs (the encoder's output size)."""

    def __post_init__(self) -> None:
        if not self.channels or any(int(c) < 1 for c in self.channels):
            raise InvalidInputError(f"channels must be positive integers, got {self.channels}")
        if len(self.strides) != len(self.channels) or any(int(s) < 1 for s in self.strides):
            raise InvalidInputError(f"strides must be positive integers, one per conv layer, got {self.strides}")
        object.__setattr__(self, "strides", tuple(int(s) for s in self.strides))
        if self.hidden < 1:
            raise InvalidInputError(f"hidden must be >= 1, got {self.hidden}")
        object.__setattr__(self, "channels", tuple(int(c) for c in self.channels))


def is_rgb(obs_shape: tuple[int, ...]) -> bool:
    """RGB observations are channel-last ``(H, W, 3)``; symbolic ones are ``(C, H, W)``."""
    return len(obs_shape) == 3 and obs_shape[-1] == 3 and obs_shape[0] != 3


class ConvEncoder(nn.Module):
    """Conv layers + linear: ``(B, *obs_shape) -> (B, hidden)``.

    RGB input first goes through a 3x3 conv with stride 3 (one output per 3-pixel cell) with
    ``channels[0]`` outputs, then through the same stack as symbolic input.
    """

    def __init__(self, obs_shape: tuple[int, ...], config: NetworkConfig = NetworkConfig()):
        super().__init__()
        if len(obs_shape) != 3:
            raise InvalidInputError(f"obs_shape must be (C, H, W) or (H, W, 3), got {obs_shape}")
        self.rgb = is_rgb(tuple(obs_shape))
        c_in = 3 if self.rgb else obs_shape[0]
        layers: list = []
        if self.rgb:
            layers += [nn.Conv2d(3, config.channels[0], 3, stride=3), nn.ReLU()]
            c_in = config.channels[0]
        for c, stride in zip(config.channels, config.strides):
            layers += [nn.Conv2d(c_in, c, 3, stride=stride, padding=1), nn.ReLU()]
            c_in = c
        self.convs = nn.Sequential(*layers, nn.Flatten())
        with torch.no_grad():
            flat = self.convs(torch.zeros(1, *self._chw(obs_shape))).shape[1]
        self.linear = nn.Sequential(nn.Linear(flat, config.hidden), nn.ReLU())
        self.out_dim = config.hidden

    def _chw(self, shape):
        return (shape[2], shape[0], shape[1]) if self.rgb else tuple(shape)

    def forward(self, obs):
        """obs: (B, *obs_shape) any numeric dtype -> (B, hidden) float32."""
        if self.rgb:
            x = obs.permute(0, 3, 1, 2).float() / 255.0
        else:
            x = obs.float()
        return self.linear(self.convs(x))


class ActorCritic(nn.Module):
    """Shared encoder with a policy-logit head and a value head (PPO)."""

    def __init__(self, obs_shape: tuple[int, ...], num_actions: int = 4, config: NetworkConfig = NetworkConfig()):
        super().__init__()
        self.encoder = ConvEncoder(obs_shape, config)
        self.policy = nn.Linear(self.encoder.out_dim, num_actions)
        self.value = nn.Linear(self.encoder.out_dim, 1)
        nn.init.orthogonal_(self.policy.weight, 0.01)
        nn.init.zeros_(self.policy.bias)

    def forward(self, obs):
        """obs (B, ...) -> (logits (B, A), values (B,))."""
        h = self.encoder(obs)
        return self.policy(h), self.value(h).squeeze(-1)


class DiscreteHead(nn.Module):
    """Encoder + linear head with one output per action: policy logits (BC) or Q-values (CQL)."""

    def __init__(self, obs_shape: tuple[int, ...], num_actions: int = 4, config: NetworkConfig = NetworkConfig()):
        super().__init__()
        self.encoder = ConvEncoder(obs_shape, config)
        self.head = nn.Linear(self.encoder.out_dim, num_actions)

    def forward(self, obs):
        """obs (B, ...) -> (B, A)."""
        return self.head(self.encoder(obs))


def seeded(seed: int, factory, *args, **kwargs):
    """Build a module with its parameters initialised from ``seed`` (global torch RNG left untouched)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        return factory(*args, **kwargs)
