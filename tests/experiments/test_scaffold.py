"""The experiment scaffold: same results on every executor, retries, failures in one line,
atomic cell files, resume after a real SIGKILL, and the command line's bad-input errors."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from saddlepoint.errors import InvalidInputError
from saddlepoint.experiments import resume_experiment
from saddlepoint.experiments.base import CellFailedError, CellStore, resume, run
from saddlepoint.experiments.executors import ProcessExecutor, SerialExecutor, make_executor
from saddlepoint.results import RunDir

sys.path.insert(0, str(Path(__file__).parent))
from scaffold_toy import Toy, ToyPreset  # noqa: E402

TIMING = {"seconds", "cell_seconds", "seconds_per_round", "us_per_round"}


def comparable(run_dir: Path) -> tuple[list[dict], dict]:
    """metrics.csv rows and summary.json without timing fields."""
    run = RunDir.open(run_dir)
    rows = [{k: v for k, v in r.items() if k not in TIMING} for r in run.metrics()]

    def strip(obj):
        if isinstance(obj, dict):
            return {k: strip(v) for k, v in obj.items() if k not in TIMING}
        if isinstance(obj, list):
            return [strip(v) for v in obj]
        return obj

    return rows, strip(run.summary())


def test_process_pool_gives_the_serial_result(tmp_path):
    serial = run(Toy(), ToyPreset(seeds=(0, 1, 2)), out=tmp_path / "a")
    pooled = run(Toy(), ToyPreset(seeds=(0, 1, 2)), out=tmp_path / "b", executor=ProcessExecutor(2))
    assert comparable(serial.path) == comparable(pooled.path)
    summary = serial.summary()
    assert summary["claims_total"] == 1 and summary["facts"][0]["holds"]
    assert len(list((serial.path / "cells").glob("*.json"))) == 18
    assert "# Toy (custom preset)" in (serial.path / "report.md").read_text()


@pytest.mark.parametrize("executor", [SerialExecutor(), ProcessExecutor(2)], ids=["serial", "process"])
def test_a_flaky_cell_is_retried_once(tmp_path, executor):
    flaky = tmp_path / "flaky"
    flaky.mkdir()
    out = run(Toy(), ToyPreset(flaky_dir=str(flaky)), out=tmp_path / "run", executor=executor)
    clean = run(Toy(), ToyPreset(), out=tmp_path / "clean")
    assert comparable(out.path) == comparable(clean.path)
    assert len(list(flaky.iterdir())) == 2  # c1 failed once for each of the two seeds
    attempts = {json.loads(f.read_text())["key"]: json.loads(f.read_text())["attempts"]
                for f in (out.path / "cells").glob("*.json")}
    assert attempts["c1/seed=0"] == 2 and attempts["c0/seed=0"] == 1


@pytest.mark.parametrize("workers", [1, 2])
def test_a_failing_cell_is_reported_in_one_line_and_the_others_are_kept(tmp_path, workers):
    flag = tmp_path / "broken"
    flag.write_text("x")
    preset = ToyPreset(broken_flag=str(flag))
    with pytest.raises(CellFailedError) as err:
        run(Toy(), preset, out=tmp_path / "run", executor=make_executor(workers=workers))
    message = str(err.value)
    assert "\n" not in message and "cell 'c2/seed=0' (and 1 more) failed: ValueError: cell two is broken" in message
    assert "after 2 attempts" in message and "--resume" in message
    run_dir = next((tmp_path / "run" / "toy").iterdir())
    assert len(list((run_dir / "cells").glob("*.json"))) == 10
    flag.unlink()  # "fix" the bug, then resume: only the two missing cells run
    done = resume(Toy(), run_dir)
    clean = run(Toy(), ToyPreset(broken_flag=str(flag)), out=tmp_path / "clean")
    assert comparable(done.path) == comparable(clean.path)


def test_an_interrupted_write_leaves_no_file(tmp_path, monkeypatch):
    store = CellStore(tmp_path)
    cell = Toy().cells(ToyPreset())[0]

    def crash(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(KeyboardInterrupt):
        store.save(cell, [{"a": 1}], seconds=0.1, attempts=1)
    monkeypatch.undo()
    assert list((tmp_path / "cells").iterdir()) == [] and store.load(cell) is None
    (tmp_path / "cells" / cell.file_name).write_text('{"key": "c0/seed=0", "rows": [')  # a torn file
    assert store.load(cell) is None  # is treated as missing, so resume re-runs the cell
    store.save(cell, [{"a": 1}], seconds=0.1, attempts=1)
    assert store.load(cell) == [{"a": 1}]


def test_resume_refuses_a_run_of_another_experiment(tmp_path):
    other = RunDir.create("linear-bandits", {"preset": "smoke", "preset_fields": {"seeds": [0]}}, root=tmp_path)
    with pytest.raises(InvalidInputError, match="is a run of 'linear-bandits', not of 'toy'"):
        resume(Toy(), other.path)
    with pytest.raises(InvalidInputError, match="not of 'sweep'"):
        resume_experiment("sweep", other.path)


def test_bad_executor_arguments():
    for kwargs, match in [({"workers": 0}, "workers must be an integer >= 1"),
                          ({"kind": "serial", "workers": 2}, "serial executor runs one cell"),
                          ({"kind": "process", "address": "127.0.0.1:1"}, "--address needs --executor ray"),
                          ({"kind": "gpu"}, "unknown executor")]:
        with pytest.raises(InvalidInputError, match=match):
            make_executor(**kwargs)


def _cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "saddlepoint", *args], capture_output=True, text=True,
                          timeout=timeout)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_cli_rejects_bad_input_in_one_line(tmp_path):
    other = RunDir.create("linear-bandits", {"preset": "smoke", "preset_fields": {"seeds": [0]}}, root=tmp_path)
    cases = [
        (["reproduce", "linear-bandits", "--workers", "0"], "must be positive"),
        (["reproduce", "linear-bandits", "--executor", "ray", "--address", f"127.0.0.1:{_closed_port()}"],
         "no Ray cluster answers at 127.0.0.1:"),
        (["reproduce", "sweep", "--resume", str(other.path)], "is a run of 'linear-bandits', not of 'sweep'"),
        (["sweep", "--games", "kuhn_poker", "--algos", "hedge"], "does not solve efg games"),
        (["sweep", "--games", "no_such_game", "--algos", "cfr"], "unknown game 'no_such_game'"),
        (["sweep", "--games", "kuhn_poker"], "give --games and --algos"),
        (["sweep", "--games", "kuhn_poker", "--algos", "cfr", "--seeds", "4-2"], "empty seed range"),
    ]
    for args, expected in cases:
        start = time.perf_counter()
        proc = _cli(*args)
        assert proc.returncode == 2, (args, proc.stderr)
        assert expected in proc.stderr and len(proc.stderr.strip().splitlines()) == 1, (args, proc.stderr)
        assert time.perf_counter() - start < 60


def test_sweep_writes_a_tidy_csv_and_a_plot(tmp_path):
    pytest.importorskip("matplotlib")
    proc = _cli("sweep", "--games", "kuhn_poker", "leduc_poker", "--algos", "cfr", "lp",
                "--iterations", "50", "--seeds", "0-1", "--out", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    run_dir = next((tmp_path / "sweep").iterdir())
    rows = RunDir.open(run_dir).metrics()
    assert {(r["game"], r["algo"]) for r in rows} == {("kuhn_poker", "cfr"), ("kuhn_poker", "lp"),
                                                      ("leduc_poker", "cfr"), ("leduc_poker", "lp")}
    assert {"seed", "iteration", "exploitability"} <= set(rows[0])
    assert sorted(p.name for p in (run_dir / "figures").glob("*.png")) == [
        "exploitability_00_kuhn_poker.png", "exploitability_01_leduc_poker.png"]
    final = {(r["game"], r["algo"]): r["exploitability_mean"] for r in RunDir.open(run_dir).summary()["final"]}
    assert final[("kuhn_poker", "lp")] < 1e-6 and final[("kuhn_poker", "cfr")] < 0.05


# --------------------------------------------------------------------------- SIGKILL
def _wait_for(predicate, timeout: float = 120.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def _cells_done(root: Path) -> int:
    return sum(1 for _ in root.glob("*/*/cells/*.json"))


SWEEP = ["sweep", "--games", "kuhn_poker", "--algos", "mccfr_outcome", "mccfr_external", "--iterations", "20000",
         "--seeds", "0-2"]


@pytest.mark.slow
def test_sigkill_of_the_run_then_resume_gives_the_uninterrupted_result(tmp_path):
    reference = _cli(*SWEEP, "--out", str(tmp_path / "ref"), timeout=600)
    assert reference.returncode == 0, reference.stderr
    out = tmp_path / "killed"
    proc = subprocess.Popen([sys.executable, "-m", "saddlepoint", *SWEEP, "--out", str(out)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        _wait_for(lambda: _cells_done(out) >= 2, what="two finished cells")
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    run_dir = next((out / "sweep").iterdir())
    done_before = _cells_done(out)
    assert 2 <= done_before < 6 and not (run_dir / "summary.json").exists()
    resumed = _cli("sweep", "--resume", str(run_dir), timeout=600)
    assert resumed.returncode == 0, resumed.stderr
    ref_dir = next((tmp_path / "ref" / "sweep").iterdir())
    assert comparable(run_dir) == comparable(ref_dir)


@pytest.mark.slow
def test_sigkill_of_a_pool_worker_is_retried_in_a_new_pool(tmp_path):
    pids = tmp_path / "pids"
    pids.mkdir()
    preset = ToyPreset(seeds=(0, 1), n_cells=3, sleep=1.0, pid_dir=str(pids))
    reference = run(Toy(), ToyPreset(seeds=(0, 1), n_cells=3), out=tmp_path / "ref")
    import threading

    killed: list[int] = []

    def killer() -> None:
        _wait_for(lambda: any(pids.iterdir()), what="a running cell")
        pid = int(next(pids.iterdir()).read_text())
        os.kill(pid, signal.SIGKILL)
        killed.append(pid)

    thread = threading.Thread(target=killer)
    thread.start()
    out = run(Toy(), preset, out=tmp_path / "run", executor=ProcessExecutor(2))
    thread.join()
    assert killed and comparable(out.path)[0] == comparable(reference.path)[0]
    assert comparable(out.path)[1]["claims"] == comparable(reference.path)[1]["claims"]
    attempts = [json.loads(f.read_text())["attempts"] for f in (out.path / "cells").glob("*.json")]
    assert max(attempts) == 2  # the killed cell ran again
