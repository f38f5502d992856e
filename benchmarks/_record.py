"""Shared by the benchmark scripts: best-of-N timing, and writing one "## <heading>" section
of benchmarks/RESULTS.md."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).with_name("RESULTS.md")


def record_section(heading: str, text: str, path: Path = RESULTS) -> None:
    """Replace (or append) the section ``## heading`` of ``path`` with ``text`` (which starts
    with that heading line); other sections are kept as they are."""
    marker = f"## {heading}"
    old = path.read_text() if path.exists() else "# Benchmark results\n\n"
    head, sep, rest = old.partition(marker)
    tail = ""
    if sep:
        nxt = rest.find("\n## ")
        tail = rest[nxt + 1:] if nxt >= 0 else ""
    path.write_text(head.rstrip() + "\n\n" + text.rstrip() + "\n" + ("\n" + tail if tail else ""))
    print(f"updated section {marker!r} of {path}")


class Tee:
    """Copy everything printed inside ``with Tee() as out:`` into ``out.text`` as well."""

    def __enter__(self) -> "Tee":
        import io
        import sys

        self._stdout, self._buffer = sys.stdout, io.StringIO()

        class _Both(io.TextIOBase):
            def write(inner, s: str) -> int:  # noqa: N805
                self._stdout.write(s)
                return self._buffer.write(s)

        sys.stdout = _Both()
        return self

    def __exit__(self, *exc: object) -> None:
        import sys

        sys.stdout = self._stdout
        self.text = self._buffer.getvalue()


def best_of(fn: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    """The fastest of ``repeats`` timed calls of ``fn`` (seconds) and the last call's result."""
    best, out = float("inf"), None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out
