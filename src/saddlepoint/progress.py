"""Progress bars: tqdm, shown only when stderr is a terminal (never in CI logs or tests)."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from typing import TypeVar

from tqdm.auto import tqdm

T = TypeVar("T")


def _enabled(enabled: bool | None) -> bool:
    return sys.stderr.isatty() if enabled is None else enabled


def progress(
    iterable: Iterable[T], *, total: int | None = None, desc: str | None = None, enabled: bool | None = None
) -> Iterator[T]:
    """Wrap ``iterable`` in a tqdm bar; ``enabled=None`` shows it only on a terminal."""
    return iter(tqdm(iterable, total=total, desc=desc, disable=not _enabled(enabled), leave=False, dynamic_ncols=True))


def progress_bar(total: int, *, desc: str | None = None, enabled: bool | None = None) -> tqdm:
    """A bar advanced by hand with ``bar.update(n)``; close it (or use it as a context manager)."""
    return tqdm(total=total, desc=desc, disable=not _enabled(enabled), leave=False, dynamic_ncols=True)
