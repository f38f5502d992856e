"""Pixel augmentations for offline transitions (colour jitter, colour cut-out, background overlay,
rotations and flips with action relabelling), built on kornia.

Every function works on pairs ``(o, o')``: by default one random draw per transition is applied
to both observations (the notes' default; whether the paper shares it is unverified). Random
parameters are drawn from an explicit ``numpy.random.Generator`` and the images are transformed
with kornia's functional ops, so global random state is never touched.

Observations are ``uint8`` arrays ``(B, H, W, 3)`` (channel-last, as the maze's ``"rgb"`` mode
and gymnasium return them); the result has the same shape and dtype.

Geometric transforms change what a navigation action means: a quarter turn counter-clockwise
maps ``up -> left``, ``right -> up``, ...; a horizontal flip swaps ``left``/``right``; a vertical
flip swaps ``up``/``down``. They are only applied together with that relabelling, for the
maze's action order ``("up", "right", "down", "left")``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from saddlepoint.config import check_positive, check_positive_int
from saddlepoint.errors import InvalidInputError, require

__all__ = ["AUGMENTATIONS", "AugmentConfig", "augment_transitions", "background_mask",
           "rotate_actions", "flip_actions"]

AUGMENTATIONS = ("colour_jitter", "colour_cutout", "background_overlay", "rotate", "flip")
"""Known augmentation names; ``rotate`` and ``flip`` are geometric and relabel actions."""
GEOMETRIC = ("rotate", "flip")
NUM_ACTIONS = 4


def _check_range(name: str, value: tuple[float, float], low: float, high: float) -> None:
    ok = (isinstance(value, tuple) and len(value) == 2
          and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value))
    if not ok or not (low <= value[0] <= value[1] <= high):
        raise InvalidInputError(f"{name} must be a pair (lo, hi) with {low} <= lo <= hi <= {high}, got {value!r}")


@dataclass(frozen=True)
class AugmentConfig:
    """Which augmentations to apply and their strengths (the paper's parameters are unverified)."""

    names: tuple[str, ...] = ("colour_jitter", "colour_cutout", "background_overlay")
    """Augmentations applied in this order; each is one of :data:`AUGMENTATIONS`."""
    brightness: float = 0.3
    """Colour jitter: additive brightness shift drawn from U[-brightness, brightness]."""
    contrast: float = 0.4
    """Colour jitter: contrast factor drawn from U[1 - contrast, 1 + contrast]."""
    saturation: float = 0.5
    """Colour jitter: saturation factor drawn from U[1 - saturation, 1 + saturation]."""
    hue: float = 0.5
    """Colour jitter: hue shift drawn from U[-hue, hue] in units of a half turn (at most 1)."""
    cutout_size: tuple[float, float] = (0.15, 0.4)
    """Colour cut-out: side of the filled rectangle as a fraction of the image side."""
    overlay_alpha: tuple[float, float] = (0.4, 0.9)
    """Background overlay: blend weight of the random texture on background pixels."""
    overlay_cells: int = 4
    """Background overlay: the texture is a ``cells x cells`` grid of random colours, upsampled."""
    background_tolerance: int = 8
    """Background overlay: a pixel is background if every channel is within this many levels of
    the image's most frequent colour."""
    share_draw: bool = True
    """One random draw per (o, o') pair (notes' default); False draws o' independently (not
    allowed with geometric transforms, whose relabelling needs one draw)."""

    def __post_init__(self) -> None:
        if isinstance(self.names, str) or not isinstance(self.names, tuple):
            raise InvalidInputError(f"names must be a tuple of augmentation names, got {self.names!r}")
        for name in self.names:
            if name not in AUGMENTATIONS:
                raise InvalidInputError(f"unknown augmentation {name!r} in names; known: {', '.join(AUGMENTATIONS)}")
        for name in ("brightness", "contrast", "saturation"):
            check_positive(name, getattr(self, name), allow_zero=True)
        if self.contrast > 1 or self.saturation > 1:
            raise InvalidInputError("contrast and saturation must be <= 1 (factors stay non-negative)")
        check_positive("hue", self.hue, allow_zero=True)
        if self.hue > 1:
            raise InvalidInputError(f"hue must be <= 1 (a half turn), got {self.hue}")
        _check_range("cutout_size", self.cutout_size, 0.0, 1.0)
        _check_range("overlay_alpha", self.overlay_alpha, 0.0, 1.0)
        check_positive_int("overlay_cells", self.overlay_cells)
        check_positive_int("background_tolerance", self.background_tolerance, allow_zero=True)
        if not self.share_draw and any(n in GEOMETRIC for n in self.names):
            raise InvalidInputError("share_draw=False cannot be combined with rotate/flip (one relabelling per transition)")


def rotate_actions(actions: np.ndarray, quarter_turns: np.ndarray) -> np.ndarray:
    """Action ids after rotating the maze ``quarter_turns`` times counter-clockwise.

    A counter-clockwise quarter turn maps the move ``(dr, dc)`` to ``(-dc, dr)``: up -> left,
    right -> up, down -> right, left -> down, i.e. ``a -> (a - 1) mod 4``.
    """
    return ((np.asarray(actions) - np.asarray(quarter_turns)) % NUM_ACTIONS).astype(np.int64)


def flip_actions(actions: np.ndarray, flips: np.ndarray) -> np.ndarray:
    """Action ids after flipping: ``flips`` 0 = none, 1 = horizontal (left <-> right), 2 = vertical (up <-> down)."""
    a = np.asarray(actions).astype(np.int64).copy()
    f = np.asarray(flips)
    horizontal = (f == 1) & (a % 2 == 1)   # right (1) <-> left (3)
    vertical = (f == 2) & (a % 2 == 0)     # up (0) <-> down (2)
    a[horizontal | vertical] = (a[horizontal | vertical] + 2) % NUM_ACTIONS
    return a


def background_mask(images: np.ndarray, tolerance: int = 8) -> np.ndarray:
    """``(B, H, W)`` bool: pixels within ``tolerance`` of each image's most frequent colour."""
    b, h, w, _ = images.shape
    pix = images.reshape(b, h * w, 3).astype(np.int64)
    codes = np.sort((pix[..., 0] << 16) | (pix[..., 1] << 8) | pix[..., 2], axis=1)
    starts = np.ones_like(codes, dtype=bool)
    starts[:, 1:] = codes[:, 1:] != codes[:, :-1]
    flat = np.flatnonzero(starts.ravel())
    lengths = np.diff(np.append(flat, codes.size))
    rows = flat // (h * w)
    order = np.lexsort((-lengths, rows))
    _, first = np.unique(rows[order], return_index=True)
    mode = codes.ravel()[flat[order[first]]]
    mode_rgb = np.stack([(mode >> 16) & 255, (mode >> 8) & 255, mode & 255], axis=1)
    diff = np.abs(pix - mode_rgb[:, None, :]).max(axis=2)
    return (diff <= tolerance).reshape(b, h, w)


def _draw(config: AugmentConfig, b: int, h: int, w: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """All random parameters for ``b`` transitions (one draw per augmentation in use)."""
    p: dict[str, np.ndarray] = {}
    if "colour_jitter" in config.names:
        p["brightness"] = rng.uniform(-config.brightness, config.brightness, b)
        p["contrast"] = rng.uniform(1 - config.contrast, 1 + config.contrast, b)
        p["saturation"] = rng.uniform(1 - config.saturation, 1 + config.saturation, b)
        p["hue"] = rng.uniform(-config.hue, config.hue, b) * np.pi
    if "colour_cutout" in config.names:
        lo, hi = config.cutout_size
        ch = np.maximum(1, np.round(rng.uniform(lo, hi, b) * h)).astype(int)
        cw = np.maximum(1, np.round(rng.uniform(lo, hi, b) * w)).astype(int)
        p["cut_top"] = (rng.random(b) * (h - ch + 1)).astype(int)
        p["cut_left"] = (rng.random(b) * (w - cw + 1)).astype(int)
        p["cut_h"], p["cut_w"] = ch, cw
        p["cut_colour"] = rng.random((b, 3))
    if "background_overlay" in config.names:
        p["alpha"] = rng.uniform(*config.overlay_alpha, b)
        p["texture"] = rng.random((b, 3, config.overlay_cells, config.overlay_cells))
    if "rotate" in config.names:
        p["quarter_turns"] = rng.integers(0, 4, b)
    if "flip" in config.names:
        p["flips"] = rng.integers(0, 3, b)
    return p


def _apply(images: np.ndarray, p: dict[str, np.ndarray], config: AugmentConfig) -> np.ndarray:
    """Apply the drawn parameters ``p`` to ``(B, H, W, 3)`` uint8 images, in ``config.names`` order."""
    torch = require("torch", "torch")
    require("kornia", "offline")
    import kornia.enhance as ke
    import kornia.geometry.transform as kg

    b, h, w, _ = images.shape
    x = torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float() / 255.0
    t = lambda a: torch.as_tensor(a, dtype=torch.float32)  # noqa: E731
    for name in config.names:
        if name == "colour_jitter":
            x = ke.adjust_brightness(x, t(p["brightness"]), clip_output=True)
            x = ke.adjust_contrast(x, t(p["contrast"]), clip_output=True)
            x = ke.adjust_saturation(x, t(p["saturation"]))
            x = ke.adjust_hue(x, t(p["hue"])).clamp(0.0, 1.0)
        elif name == "colour_cutout":
            rows = torch.arange(h)[None, :, None]
            cols = torch.arange(w)[None, None, :]
            top, left = torch.as_tensor(p["cut_top"])[:, None, None], torch.as_tensor(p["cut_left"])[:, None, None]
            inside = ((rows >= top) & (rows < top + torch.as_tensor(p["cut_h"])[:, None, None])
                      & (cols >= left) & (cols < left + torch.as_tensor(p["cut_w"])[:, None, None]))
            x = torch.where(inside[:, None], t(p["cut_colour"])[:, :, None, None], x)
        elif name == "background_overlay":
            current = (x.permute(0, 2, 3, 1) * 255).round().to(torch.uint8).numpy()
            mask = torch.from_numpy(background_mask(current, config.background_tolerance))[:, None]
            texture = kg.resize(t(p["texture"]), (h, w), interpolation="bilinear", align_corners=True)
            alpha = t(p["alpha"])[:, None, None, None]
            x = torch.where(mask, (1 - alpha) * x + alpha * texture, x)
        elif name == "rotate":
            if h != w:
                raise InvalidInputError(f"rotate needs square images, got {h}x{w}")
            turns = torch.as_tensor(p["quarter_turns"])
            x = torch.stack([torch.rot90(x[i], int(turns[i]), dims=(1, 2)) for i in range(b)]) if b else x
        elif name == "flip":
            f = torch.as_tensor(p["flips"])[:, None, None, None]
            x = torch.where(f == 1, kg.hflip(x), torch.where(f == 2, kg.vflip(x), x))
    return (x.clamp(0.0, 1.0) * 255).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()


def _check_images(name: str, images: np.ndarray) -> np.ndarray:
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[-1] != 3 or images.dtype != np.uint8:
        raise InvalidInputError(f"{name} must be uint8 images of shape (B, H, W, 3), got {images.dtype} {images.shape}")
    return images


def augment_transitions(
    obs: np.ndarray,
    next_obs: np.ndarray,
    actions: np.ndarray,
    config: AugmentConfig,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Augment a batch of transitions; returns ``(obs', next_obs', actions')``.

    obs, next_obs: ``(B, H, W, 3)`` uint8; actions: ``(B,)`` ids in ``0..3`` (relabelled when
    ``rotate``/``flip`` are in ``config.names``, otherwise returned unchanged). With
    ``config.share_draw`` the same random draw transforms ``o`` and ``o'``.
    """
    obs, next_obs = _check_images("obs", obs), _check_images("next_obs", next_obs)
    actions = np.asarray(actions)
    if obs.shape != next_obs.shape or actions.shape != (obs.shape[0],):
        raise InvalidInputError(f"obs {obs.shape}, next_obs {next_obs.shape} and actions {actions.shape} "
                                "must describe the same B transitions")
    geometric = [n for n in config.names if n in GEOMETRIC]
    if geometric and actions.size and (actions.min() < 0 or actions.max() >= NUM_ACTIONS):
        raise InvalidInputError(f"{'/'.join(geometric)} relabel maze actions, which must lie in 0..3")
    b, h, w, _ = obs.shape
    params = _draw(config, b, h, w, rng)
    next_params = params if config.share_draw else _draw(config, b, h, w, rng)
    new_actions = actions.copy()
    for name in geometric:  # relabel in the order the images are transformed
        new_actions = (rotate_actions(new_actions, params["quarter_turns"]) if name == "rotate"
                       else flip_actions(new_actions, params["flips"]))
    return _apply(obs, params, config), _apply(next_obs, next_params, config), new_actions
