"""The run-directory format shared by every command and reproduction.

A run writes ``<out>/<experiment>/<run-id>/`` holding::

    config.json    resolved configuration and seeds
    env.json       package versions, Python, platform, git revision
    metrics.csv    one row per evaluation (long format: any columns, one header)
    summary.json   final numbers and each claim checked (tolerance, number of seeds)
    figures/*.png  plots made from the files above
    report.md      (reproductions) our numbers beside the paper's

Nothing is written inside the package; the root defaults to ``./runs``.
"""

from __future__ import annotations

import csv
import datetime as _dt
import json
import math
import platform
import re
import subprocess
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from saddlepoint.errors import InvalidInputError

DEFAULT_ROOT = Path("runs")
_VERSIONED_PACKAGES = (
    "saddlepoint", "numpy", "scipy", "tqdm", "matplotlib", "torch", "transformers",
    "botorch", "gpytorch", "open_spiel",
)


def to_jsonable(obj: Any) -> Any:
    """Convert NumPy scalars/arrays, paths, dataclasses and non-finite floats for ``json``."""
    if isinstance(obj, Mapping):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return to_jsonable(obj.tolist())
    if isinstance(obj, np.generic):
        return to_jsonable(obj.item())
    if isinstance(obj, float) and not math.isfinite(obj):
        return None if math.isnan(obj) else ("inf" if obj > 0 else "-inf")
    if isinstance(obj, Path):
        return str(obj)
    if hasattr(obj, "__dataclass_fields__"):
        import dataclasses

        return to_jsonable(dataclasses.asdict(obj))
    return obj


def write_json(path: Path, obj: Any) -> None:
    """Write ``obj`` as indented JSON, converting NumPy types."""
    path.write_text(json.dumps(to_jsonable(obj), indent=2, sort_keys=False) + "\n")


def git_revision(cwd: Path | None = None) -> str | None:
    """The current git commit of ``cwd`` (or of the working directory), if inside a repository."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, timeout=5, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def environment_info() -> dict[str, Any]:
    """Versions of Python, the platform and every relevant installed package (None if absent)."""
    versions: dict[str, str | None] = {}
    for name in _VERSIONED_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "machine": platform.machine(),
        "packages": versions,
        "git_revision": git_revision(Path(__file__).resolve().parent),
    }


def new_run_id() -> str:
    """A sortable, unique-enough run id: UTC timestamp with microseconds."""
    return _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%d-%H%M%S-%f")


@dataclass(frozen=True)
class RunDir:
    """A run directory. Create with :meth:`create`; reopen an existing one with :meth:`open`."""

    path: Path

    @classmethod
    def create(
        cls,
        experiment: str,
        config: Mapping[str, Any],
        *,
        root: str | Path | None = None,
        run_id: str | None = None,
    ) -> RunDir:
        """Make ``root/experiment/run_id/`` with ``config.json`` and ``env.json`` written."""
        base = Path(root) if root is not None else DEFAULT_ROOT
        path = base / experiment / (run_id or new_run_id())
        try:
            (path / "figures").mkdir(parents=True, exist_ok=False)
        except FileExistsError:
            raise InvalidInputError(f"run directory {path} already exists") from None
        except OSError as exc:
            raise InvalidInputError(f"cannot create run directory {path}: {exc.strerror}") from None
        run = cls(path)
        write_json(path / "config.json", {"experiment": experiment, **config})
        write_json(path / "env.json", environment_info())
        return run

    @classmethod
    def open(cls, path: str | Path) -> RunDir:
        """An existing run directory (it must hold ``config.json``)."""
        p = Path(path)
        if not (p / "config.json").is_file():
            raise InvalidInputError(f"{p} is not a run directory (no config.json)")
        return cls(p)

    @property
    def figures(self) -> Path:
        return self.path / "figures"

    def write_metrics(self, rows: Iterable[Mapping[str, Any]]) -> Path:
        """Write ``metrics.csv`` from dict rows; the header is the union of keys in order seen."""
        rows = [dict(r) for r in rows]
        header: list[str] = []
        for row in rows:
            header.extend(k for k in row if k not in header)
        target = self.path / "metrics.csv"
        with target.open("w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=header)
            writer.writeheader()
            for row in rows:
                writer.writerow({k: to_jsonable(v) for k, v in row.items()})
        return target

    def write_summary(self, summary: Mapping[str, Any]) -> Path:
        """Write ``summary.json`` (final numbers and claim checks)."""
        target = self.path / "summary.json"
        write_json(target, summary)
        return target

    def write_text(self, name: str, text: str) -> Path:
        """Write a text file (e.g. ``report.md``) into the run directory."""
        target = self.path / name
        target.write_text(text)
        return target

    def config(self) -> dict[str, Any]:
        return json.loads((self.path / "config.json").read_text())

    def summary(self) -> dict[str, Any]:
        return json.loads((self.path / "summary.json").read_text())

    def metrics(self) -> list[dict[str, Any]]:
        """Rows of ``metrics.csv`` with numeric strings converted to floats."""
        with (self.path / "metrics.csv").open(newline="") as fh:
            return [{k: _parse_cell(v) for k, v in row.items()} for row in csv.DictReader(fh)]


_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?|[+-]?inf|nan", re.IGNORECASE)


def _parse_cell(value: str) -> Any:
    """Empty -> None, a plain decimal number -> float, anything else (``"000_003"``) stays text."""
    if value == "":
        return None
    return float(value) if _NUMBER.fullmatch(value) else value


@dataclass(frozen=True)
class ClaimCheck:
    """One claim of a paper, the criterion fixed before running, and whether we met it."""

    claim: str
    criterion: str
    passed: bool
    measured: Any
    paper: Any = None
    tolerance: Any = None
    seeds: int = 1

    def as_dict(self) -> dict[str, Any]:
        return to_jsonable(self.__dict__)


@dataclass(frozen=True)
class Fact:
    """A check that cannot fail by construction (a theorem, a definition, a count fixed by the
    design, a unit-level equality): reported as "facts checked", never counted as a claim."""

    statement: str
    holds: bool
    measured: Any = None

    def as_dict(self) -> dict[str, Any]:
        return to_jsonable(self.__dict__)
