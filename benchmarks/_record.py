"""Shared by the benchmark scripts: write one "## <heading>" section of benchmarks/RESULTS.md."""

from __future__ import annotations

from pathlib import Path

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
