"""Observations of a maze state, one level at a time (the reference the vectorised simulator is
tested against), and the visual themes of the RGB rendering.

Modes (``OBS_MODES``):

- ``"symbolic"``: (3, N, N) float32 channels wall, goal, agent (one-hot).
- ``"egocentric"``: (3, k, k) float32, the same channels in a k x k window centred on the agent
  (k odd, default 5); cells outside the grid count as walls.
- ``"rgb"``: (N * cell_px, N * cell_px, 3) uint8, channel-last as gymnasium expects (networks
  transpose); ``cell_px`` = 3 by default. Colours come from a :class:`VisualTheme`.

A theme with ``noise > 0`` or ``distractors > 0`` draws its clutter once per episode from the
environment's random generator (:func:`static_frame`); the agent is painted on top each step.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from saddlepoint.envs.maze import MazeLevel
from saddlepoint.errors import InvalidInputError

OBS_MODES = ("symbolic", "egocentric", "rgb")

Colour = tuple[int, int, int]


def _check_colour(name: str, value: object) -> Colour:
    try:
        rgb = tuple(int(v) for v in value)  # type: ignore[union-attr]
    except (TypeError, ValueError):
        raise InvalidInputError(f"{name}: expected an (r, g, b) triple of ints in [0, 255], got {value!r}") from None
    if len(rgb) != 3 or not all(0 <= v <= 255 for v in rgb):
        raise InvalidInputError(f"{name}: expected an (r, g, b) triple of ints in [0, 255], got {value!r}")
    return rgb  # type: ignore[return-value]


@dataclass(frozen=True)
class VisualTheme:
    """Colours and clutter of the RGB rendering of a level."""

    name: str = "default"
    """Label (used in logs and dataset metadata)."""
    background: Colour = (20, 20, 20)
    """Floor colour (r, g, b), ints in [0, 255]."""
    wall: Colour = (128, 128, 128)
    """Wall tint (r, g, b)."""
    goal: Colour = (40, 200, 60)
    """Goal colour (r, g, b)."""
    agent: Colour = (230, 50, 50)
    """Agent colour (r, g, b); the same in every named theme so the task reads the same."""
    noise: float = 0.0
    """Cluttered background: per-pixel uniform integer noise in [-a, a], a = round(noise * 255),
    added to the floor colour (clipped), drawn per episode; 0 = flat floor. In [0, 1]."""
    distractors: int = 0
    """Number of distractor blobs (filled discs of radius 1-3 px in palette colours) painted on
    the floor per episode. In [0, 16]."""

    def __post_init__(self) -> None:
        for name in ("background", "wall", "goal", "agent"):
            object.__setattr__(self, name, _check_colour(name, getattr(self, name)))
        if not isinstance(self.noise, (int, float)) or not 0.0 <= self.noise <= 1.0:
            raise InvalidInputError(f"noise must be in [0, 1], got {self.noise!r}")
        if isinstance(self.distractors, bool) or not isinstance(self.distractors, int) \
                or not 0 <= self.distractors <= 16:
            raise InvalidInputError(f"distractors must be an integer in [0, 16], got {self.distractors!r}")

    @property
    def is_static(self) -> bool:
        """True when the rendering has no per-episode randomness."""
        return self.noise == 0 and self.distractors == 0


DISTRACTOR_PALETTE = np.array([(220, 200, 40), (40, 200, 220), (200, 60, 200), (200, 200, 200)],
                              dtype=np.uint8)
"""Colours of distractor blobs (none close to the goal green or the agent red)."""

DEFAULT_THEME = VisualTheme()

_TRAIN_BACKGROUNDS = {"grey": (30, 30, 30), "navy": (20, 30, 70), "forest": (20, 60, 30),
                      "brown": (70, 45, 20)}
_TRAIN_WALLS = {"stone": (128, 128, 128), "slate": (100, 120, 160)}

TRAIN_THEMES: tuple[VisualTheme, ...] = tuple(
    VisualTheme(name=f"{b}-{w}", background=bc, wall=wc)
    for b, bc in _TRAIN_BACKGROUNDS.items() for w, wc in _TRAIN_WALLS.items())
"""Training visuals: 4 background colours x 2 wall tints, flat floors, no distractors."""

TEST_THEMES: tuple[VisualTheme, ...] = (
    VisualTheme(name="purple-sand", background=(75, 20, 85), wall=(170, 150, 100)),
    VisualTheme(name="teal-rust", background=(10, 85, 95), wall=(150, 90, 90)),
    VisualTheme(name="noise-grey", background=(40, 40, 40), noise=0.35),
    VisualTheme(name="noise-purple", background=(75, 20, 85), wall=(170, 150, 100), noise=0.35),
    VisualTheme(name="blobs-grey", background=(30, 30, 30), distractors=4),
    VisualTheme(name="blobs-noise-teal", background=(10, 85, 95), wall=(150, 90, 90), noise=0.2,
                distractors=4),
)
"""Test visuals: unseen background colours and wall tints, noise-cluttered floors, distractor
blobs (and both together)."""

THEME_SETS: dict[str, tuple[VisualTheme, ...]] = {
    "default": (DEFAULT_THEME,), "train": TRAIN_THEMES, "test": TEST_THEMES,
}


def as_themes(themes: object) -> tuple[VisualTheme, ...]:
    """Resolve ``None`` (default theme), a theme-set name, one theme or a sequence of themes."""
    if themes is None:
        return (DEFAULT_THEME,)
    if isinstance(themes, str):
        if themes not in THEME_SETS:
            raise InvalidInputError(f"unknown theme set {themes!r}; known: {', '.join(THEME_SETS)}")
        return THEME_SETS[themes]
    if isinstance(themes, VisualTheme):
        return (themes,)
    try:
        out = tuple(themes)  # type: ignore[call-overload]
    except TypeError:
        raise InvalidInputError(f"themes: expected a VisualTheme, a sequence of them or a set name, "
                                f"got {type(themes).__name__}") from None
    if not out or not all(isinstance(t, VisualTheme) for t in out):
        raise InvalidInputError("themes: expected a non-empty sequence of VisualTheme")
    return out


def check_obs_mode(obs_mode: str, view_size: int, cell_px: int) -> None:
    """Validate the observation settings shared by every environment class."""
    if obs_mode not in OBS_MODES:
        raise InvalidInputError(f"obs_mode must be one of {OBS_MODES}, got {obs_mode!r}")
    if isinstance(view_size, bool) or not isinstance(view_size, (int, np.integer)) \
            or view_size < 1 or view_size % 2 == 0:
        raise InvalidInputError(f"view_size must be a positive odd integer, got {view_size!r}")
    if isinstance(cell_px, bool) or not isinstance(cell_px, (int, np.integer)) or not 1 <= cell_px <= 16:
        raise InvalidInputError(f"cell_px must be an integer in [1, 16], got {cell_px!r}")


def obs_shape(obs_mode: str, size: int, view_size: int = 5, cell_px: int = 3) -> tuple[int, ...]:
    """Shape of one observation."""
    if obs_mode == "symbolic":
        return (3, size, size)
    if obs_mode == "egocentric":
        return (3, view_size, view_size)
    return (size * cell_px, size * cell_px, 3)


def symbolic_obs(level: MazeLevel, pos: tuple[int, int]) -> np.ndarray:
    """(3, N, N) float32: wall, goal and agent channels."""
    n = level.size
    obs = np.zeros((3, n, n), dtype=np.float32)
    obs[0] = level.walls
    obs[1][level.goal] = 1.0
    obs[2][pos] = 1.0
    return obs


def egocentric_obs(level: MazeLevel, pos: tuple[int, int], view_size: int = 5) -> np.ndarray:
    """(3, k, k) float32 window centred on ``pos``; outside the grid counts as wall."""
    rad = view_size // 2
    full = symbolic_obs(level, pos)
    padded = np.zeros((3, level.size + 2 * rad, level.size + 2 * rad), dtype=np.float32)
    padded[0] = 1.0
    padded[:, rad:rad + level.size, rad:rad + level.size] = full
    r, c = pos
    return padded[:, r:r + view_size, c:c + view_size].copy()


@lru_cache(maxsize=4096)
def _wall_pixels(level: MazeLevel, cell_px: int) -> np.ndarray:
    """(H, W) bool: pixels of wall cells (cached per level)."""
    return np.repeat(np.repeat(level.walls, cell_px, axis=0), cell_px, axis=1)


@lru_cache(maxsize=64)
def _pixel_grid(h: int) -> tuple[np.ndarray, np.ndarray]:
    yy, xx = np.mgrid[0:h, 0:h]
    return yy.astype(np.float64), xx.astype(np.float64)


def static_frame(level: MazeLevel, theme: VisualTheme, rng: np.random.Generator | None,
                 cell_px: int = 3) -> np.ndarray:
    """(H, W, 3) uint8 frame without the agent: floor (flat or noisy), distractor blobs on floor
    pixels, walls and goal. ``rng`` draws the clutter (unused by a static theme)."""
    n = level.size
    h = n * cell_px
    if not theme.is_static and rng is None:
        raise InvalidInputError(f"theme {theme.name!r} has per-episode clutter: pass an rng")
    frame = np.empty((h, h, 3), dtype=np.uint8)
    if theme.noise > 0:
        amp = int(round(theme.noise * 255))
        noisy = rng.integers(-amp, amp + 1, size=(h, h, 3), dtype=np.int16)
        noisy += np.asarray(theme.background, dtype=np.int16)
        np.clip(noisy, 0, 255, out=noisy)
        frame[:] = noisy
    else:
        frame[:] = theme.background
    if theme.distractors > 0:
        yy, xx = _pixel_grid(h)
        centres = rng.uniform(0, h, size=(theme.distractors, 2))
        radii = rng.uniform(1.0, 3.0, size=theme.distractors)
        colours = DISTRACTOR_PALETTE[rng.integers(len(DISTRACTOR_PALETTE), size=theme.distractors)]
        for (cy, cx), rad, colour in zip(centres, radii, colours):
            frame[(yy - cy) ** 2 + (xx - cx) ** 2 <= rad * rad] = colour
    frame[_wall_pixels(level, cell_px)] = theme.wall
    gr, gc = level.goal
    frame[gr * cell_px:(gr + 1) * cell_px, gc * cell_px:(gc + 1) * cell_px] = theme.goal
    return frame


def rgb_obs(static: np.ndarray, pos: tuple[int, int], theme: VisualTheme, cell_px: int = 3) -> np.ndarray:
    """The frame ``static`` (from :func:`static_frame`) with the agent painted at ``pos``."""
    frame = static.copy()
    r, c = pos
    frame[r * cell_px:(r + 1) * cell_px, c * cell_px:(c + 1) * cell_px] = theme.agent
    return frame
