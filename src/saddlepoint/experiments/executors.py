"""Where cells run: in this process, in a pool of worker processes, or as Ray tasks.

Every executor has one method, ``submit_all(fn, cells, on_done)``: it runs ``fn(cell)`` for each
cell, retries a cell that raises (or whose worker dies) up to ``retries`` times, and calls
``on_done(cell, result, error, attempts)`` in the driver process as each cell finishes, so the
driver writes its rows to disk at once. Results never depend on the executor: a cell is a pure
function of its preset and seed, and rows are merged in cell order.
"""

from __future__ import annotations

import concurrent.futures as cf
import functools
import logging
import multiprocessing
import os
import socket
from collections.abc import Callable, Sequence
from typing import Any

from saddlepoint.errors import InvalidInputError, require
from saddlepoint.experiments.base import Cell, CellStore, Experiment, Preset, execute_cell
from saddlepoint.progress import progress_bar

log = logging.getLogger(__name__)

OnDone = Callable[[Cell, Any, "str | None", "int | None"], None]
"""``on_done(cell, result, error, attempts)``: ``result`` is what ``fn(cell)`` returned (None on
failure); ``attempts`` is None where the executor cannot count them (Ray retries internally)."""
DEFAULT_RETRIES = 1


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


class SerialExecutor:
    """Cells one after another in this process (the default; what ``--workers 1`` means)."""

    def __init__(self, retries: int = DEFAULT_RETRIES) -> None:
        self.retries = _check_retries(retries)

    def submit_all(self, fn: Callable[[Cell], Any], cells: Sequence[Cell], on_done: OnDone) -> None:
        for cell in cells:
            for attempt in range(1, self.retries + 2):
                try:
                    result = fn(cell)
                except Exception as exc:  # noqa: BLE001 - reported per cell, others go on
                    log.warning("cell %s attempt %d failed: %s", cell.key, attempt, _one_line(exc))
                    if attempt > self.retries:
                        on_done(cell, None, _one_line(exc), attempt)
                    continue
                on_done(cell, result, None, attempt)
                break


def _init_worker() -> None:
    """One BLAS / torch thread per worker process, so N workers use N cores, not N x cores."""
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = "1"
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(1)
    except ImportError:  # pragma: no cover - threadpoolctl is a core dependency
        pass


class ProcessExecutor:
    """A pool of ``workers`` processes (started with ``spawn``: safe with torch and threads).

    A cell that raises is retried ``retries`` times. A worker that dies (killed, out of
    memory) breaks the pool: the pool is rebuilt and the cells that were running in it are
    retried, counted as an attempt each.
    """

    def __init__(self, workers: int, retries: int = DEFAULT_RETRIES) -> None:
        self.workers = _check_workers(workers)
        self.retries = _check_retries(retries)

    def submit_all(self, fn: Callable[[Cell], Any], cells: Sequence[Cell], on_done: OnDone) -> None:
        attempts = {c.key: 0 for c in cells}
        pending = list(cells)
        while pending:
            pending = self._one_pool(fn, pending, attempts, on_done)

    def _one_pool(self, fn: Callable[[Cell], Any], cells: list[Cell], attempts: dict[str, int],
                  on_done: OnDone) -> list[Cell]:
        """Run ``cells`` in a fresh pool; return the cells to run again in another pool."""
        ctx = multiprocessing.get_context("spawn")
        again: list[Cell] = []
        with cf.ProcessPoolExecutor(self.workers, mp_context=ctx, initializer=_init_worker) as pool:
            futures = {pool.submit(fn, c): c for c in cells}
            while futures:
                done, _ = cf.wait(futures, return_when=cf.FIRST_COMPLETED)
                for fut in done:
                    cell = futures.pop(fut)
                    try:
                        result = fut.result()
                    except cf.process.BrokenProcessPool:
                        # The pool is dead: every unfinished cell runs again in a new pool; the
                        # ones that were running there count an attempt.
                        broken = [cell] + list(futures.values())
                        running = {cell.key} | {c.key for f, c in futures.items() if f.running()}
                        futures.clear()
                        for c in broken:
                            if c.key in running:
                                attempts[c.key] += 1
                            if attempts[c.key] > self.retries:
                                on_done(c, None, "its worker process died (killed or out of memory)", attempts[c.key])
                            else:
                                again.append(c)
                        log.warning("a worker process died; restarting the pool for %d cells", len(again))
                        break
                    except Exception as exc:  # noqa: BLE001
                        attempts[cell.key] += 1
                        if attempts[cell.key] > self.retries:
                            on_done(cell, None, _one_line(exc), attempts[cell.key])
                        else:
                            log.warning("cell %s failed (%s); retrying", cell.key, _one_line(exc))
                            futures[pool.submit(fn, cell)] = cell
                    else:
                        attempts[cell.key] += 1
                        on_done(cell, result, None, attempts[cell.key])
        return again


RAY_CONNECT_TIMEOUT = 5.0


def check_address(address: str, timeout: float = RAY_CONNECT_TIMEOUT) -> None:
    """Fail fast, in one line, if nothing answers at a Ray ``host:port`` address."""
    if address == "auto":
        return
    host, sep, port = address.removeprefix("ray://").rpartition(":")
    if not sep or not host or not port.isdigit():
        raise InvalidInputError(f"Ray address must be HOST:PORT (or 'auto'), got {address!r}")
    try:
        with socket.create_connection((host, int(port)), timeout=timeout):
            pass
    except OSError as exc:
        raise InvalidInputError(f"no Ray cluster answers at {address} within {timeout:g} s ({exc.strerror or exc})") from None


class RayExecutor:
    """Cells as Ray tasks on a cluster (``address``) or on a local Ray started on the spot.

    Ray retries a task whose worker dies or that raises (``max_retries=retries``,
    ``retry_exceptions=True``); the driver writes each result as it arrives. A local Ray that
    this executor started is shut down when the cells are done.
    """

    def __init__(self, address: str | None = None, workers: int | None = None, retries: int = DEFAULT_RETRIES) -> None:
        if workers is not None:
            _check_workers(workers)
        self.ray = require("ray", "ray")
        if address is not None:
            check_address(address)
        self.address = address
        self.workers = workers
        self.retries = _check_retries(retries)

    def submit_all(self, fn: Callable[[Cell], Any], cells: Sequence[Cell], on_done: OnDone) -> None:
        ray = self.ray
        started = not ray.is_initialized()
        if started:
            kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False, "configure_logging": False}
            if self.address is None:
                kwargs["num_cpus"] = self.workers or os.cpu_count() or 1
            ray.init(address=self.address, **kwargs)
        try:
            task = ray.remote(num_cpus=1, max_retries=self.retries, retry_exceptions=True)(_ray_cell)
            refs = {task.remote(fn, c): c for c in cells}
            while refs:
                done, _ = ray.wait(list(refs), num_returns=1)
                for ref in done:
                    cell = refs.pop(ref)
                    try:
                        result = ray.get(ref)
                    except Exception as exc:  # noqa: BLE001
                        cause = getattr(exc, "cause", None) or exc
                        on_done(cell, None, _one_line(cause), self.retries + 1)
                    else:
                        on_done(cell, result, None, None)
        finally:
            if started:
                ray.shutdown()


def _ray_cell(fn: Callable[[Cell], Any], cell: Cell) -> Any:
    _init_worker()
    return fn(cell)


def _check_workers(workers: int, name: str = "workers") -> int:
    if not isinstance(workers, int) or isinstance(workers, bool) or workers < 1:
        raise InvalidInputError(f"{name} must be an integer >= 1, got {workers!r}")
    return workers


def _check_retries(retries: int) -> int:
    if not isinstance(retries, int) or isinstance(retries, bool) or retries < 0:
        raise InvalidInputError(f"retries must be a non-negative integer, got {retries!r}")
    return retries


def make_executor(kind: str | None = None, *, workers: int = 1, address: str | None = None,
                  retries: int = DEFAULT_RETRIES) -> SerialExecutor | ProcessExecutor | RayExecutor:
    """The executor the command line asks for: ``serial``, ``process`` or ``ray``; by default
    serial for one worker and a process pool for more."""
    _check_workers(workers, "--workers")
    kind = kind or ("serial" if workers == 1 else "process")
    if address is not None and kind != "ray":
        raise InvalidInputError("--address needs --executor ray")
    if kind == "serial":
        if workers != 1:
            raise InvalidInputError("the serial executor runs one cell at a time; use --executor process for --workers > 1")
        return SerialExecutor(retries)
    if kind == "process":
        return ProcessExecutor(workers, retries)
    if kind == "ray":
        return RayExecutor(address, workers if address is None else None, retries)
    raise InvalidInputError(f"unknown executor {kind!r}; choose from: serial, process, ray")


def run_cells(experiment: Experiment, preset: Preset, cells: Sequence[Cell], store: CellStore, executor: Any,
              *, show_progress: bool | None = None) -> dict[str, str]:
    """Run ``cells`` on ``executor``, saving each as it finishes; return ``{key: error}`` of failures."""
    failures: dict[str, str] = {}
    fn = functools.partial(execute_cell, experiment, preset)
    with progress_bar(len(cells), desc=f"{experiment.name} cells", enabled=show_progress) as bar:

        def on_done(cell: Cell, result: Any, error: str | None, attempts: int | None) -> None:
            if error is not None:
                tries = "" if attempts is None else f" (after {attempts} attempt{'s' if attempts != 1 else ''})"
                failures[cell.key] = error + tries
            else:
                rows, seconds = result
                store.save(cell, rows, seconds=seconds, attempts=attempts)
            bar.update(1)

        executor.submit_all(fn, cells, on_done)
    return failures
