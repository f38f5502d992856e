"""Errors that the library raises on purpose, so the CLI can print them as one line."""

from __future__ import annotations

import importlib
from types import ModuleType


class SaddlepointError(Exception):
    """Base class of every error raised deliberately by saddlepoint."""


class InvalidInputError(SaddlepointError, ValueError):
    """A wrong argument: bad shape, non-finite value, unknown name, out-of-range setting."""


class MissingExtraError(SaddlepointError, ImportError):
    """An optional dependency is not installed; the message names the extra to install."""


def require(module: str, extra: str) -> ModuleType:
    """Import ``module`` or raise :class:`MissingExtraError` naming ``saddlepoint[extra]``."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingExtraError(
            f"{module!r} is not installed; install it with: pip install 'saddlepoint[{extra}]'"
        ) from exc
