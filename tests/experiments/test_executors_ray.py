"""The Ray executor on a real local Ray cluster: same results as in-process for two
reproductions, a flaky cell retried, a killed worker's cell retried."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from pathlib import Path

import pytest

from saddlepoint.experiments import run_experiment
from saddlepoint.experiments.base import run
from saddlepoint.experiments.executors import RayExecutor
from saddlepoint.experiments.sweep import SolverSweep, SweepPreset

sys.path.insert(0, str(Path(__file__).parent))
import scaffold_toy  # noqa: E402
from scaffold_toy import Toy, ToyPreset  # noqa: E402
from test_scaffold import comparable  # noqa: E402

ray = pytest.importorskip("ray")
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def local_ray():
    """One local Ray for the module (the executor reuses a running Ray and leaves it running)."""
    # Ray workers import the toy experiment by value: it is a test helper, not an installed module.
    ray.cloudpickle.register_pickle_by_value(scaffold_toy)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield
    ray.shutdown()


def test_two_reproductions_give_the_serial_result_on_ray(tmp_path, local_ray):
    serial = run_experiment("linear-bandits", "smoke", out=tmp_path / "serial")
    on_ray = run_experiment("linear-bandits", "smoke", out=tmp_path / "ray", executor=RayExecutor())
    assert comparable(serial.path) == comparable(on_ray.path)
    grid = SweepPreset(games=("kuhn_poker", "leduc_poker"), algos=("cfr", "mccfr_outcome"), iterations=300,
                       seeds=(0, 1))
    a = run(SolverSweep(), grid, out=tmp_path / "sweep_serial")
    b = run(SolverSweep(), grid, out=tmp_path / "sweep_ray", executor=RayExecutor())
    assert comparable(a.path) == comparable(b.path)


def test_a_flaky_cell_is_retried_by_ray(tmp_path, local_ray):
    flaky = tmp_path / "flaky"
    flaky.mkdir()
    out = run(Toy(), ToyPreset(flaky_dir=str(flaky)), out=tmp_path / "run", executor=RayExecutor())
    clean = run(Toy(), ToyPreset(), out=tmp_path / "clean")
    assert comparable(out.path) == comparable(clean.path)
    assert len(list(flaky.iterdir())) == 2


def test_a_killed_ray_worker_is_retried(tmp_path, local_ray):
    pids = tmp_path / "pids"
    pids.mkdir()
    killed: list[int] = []

    def killer() -> None:
        deadline = time.monotonic() + 120
        while not any(pids.iterdir()):
            assert time.monotonic() < deadline, "no cell started"
            time.sleep(0.05)
        pid = int(next(pids.iterdir()).read_text())
        os.kill(pid, signal.SIGKILL)
        killed.append(pid)

    thread = threading.Thread(target=killer)
    thread.start()
    out = run(Toy(), ToyPreset(n_cells=3, sleep=1.0, pid_dir=str(pids)), out=tmp_path / "run",
              executor=RayExecutor())
    thread.join()
    reference = run(Toy(), ToyPreset(n_cells=3), out=tmp_path / "ref")
    assert killed and comparable(out.path)[0] == comparable(reference.path)[0]
