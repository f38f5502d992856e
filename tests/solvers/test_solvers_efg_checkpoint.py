"""Checkpoints: solver state round trips, resume equals uninterrupted, a killed solve loses at
most N iterations, and the CLI's --checkpoint-every / --resume."""

import json
import subprocess
import sys

import numpy as np
import pytest

from saddlepoint.errors import InvalidInputError
from saddlepoint.games import make_game
from saddlepoint.solvers.cfr import CFRPlusConfig, CFRSolver
from saddlepoint.method import make_method
from saddlepoint.registry import SOLVERS, load
from saddlepoint.solvers.efg import load_checkpoint, solve
from saddlepoint.solvers.mccfr import ExternalSamplingConfig, OutcomeSamplingConfig

ALGOS = {"cfr_plus": {}, "dcfr": {}, "mccfr_external": {}, "mccfr_outcome": {"epsilon": 0.4},
         "mccfr_outcome-batched": {"batch_size": 8}, "mccfr_external-batched": {"batch_size": 8}}


def _same(a, b):
    assert a.exploitability == b.exploitability
    assert all(np.array_equal(u, v) for u, v in zip(a.strategies, b.strategies))
    assert a.extra["nodes_visited"] == b.extra["nodes_visited"]
    strip = lambda curve: [{k: v for k, v in row.items() if k != "seconds"} for row in curve]  # noqa: E731
    assert strip(a.curve) == strip(b.curve)


@pytest.mark.parametrize("algo", sorted(ALGOS))
def test_resume_equals_uninterrupted(tmp_path, algo):
    game = make_game("leduc_poker")
    config = load(SOLVERS[algo.split("-")[0]].target)
    short = config(iterations=40, **ALGOS[algo])
    full = config(iterations=100, **ALGOS[algo])
    whole = solve(game, full, 5, eval_every=20)
    path = tmp_path / "ckpt.npz"
    solve(game, short, 5, eval_every=20, checkpoint=path, checkpoint_every=20)
    resumed = solve(game, full, 5, eval_every=20, checkpoint=path, checkpoint_every=20, resume=path)
    _same(whole, resumed)
    meta, _ = load_checkpoint(path)
    assert [row["iteration"] for row in meta["curve"]] == [row["iteration"] for row in whole.curve]
    # batched samplers run whole passes of 8: evaluations land on the pass boundary at or past 20k
    assert [row["iteration"] for row in whole.curve] == (
        [24, 40, 64, 80, 100] if "batched" in algo else [20, 40, 60, 80, 100])


class _Killed(Exception):
    pass


def test_killed_solve_loses_at_most_n_iterations(tmp_path, monkeypatch):
    game = make_game("kuhn_poker")
    config = CFRPlusConfig(iterations=100)
    step = CFRSolver.step

    def dying_step(self):
        if self.iteration == 37:
            raise _Killed
        step(self)

    monkeypatch.setattr(CFRSolver, "step", dying_step)
    path = tmp_path / "ckpt.npz"
    with pytest.raises(_Killed):
        solve(game, config, 0, checkpoint=path, checkpoint_every=10)
    _, state = load_checkpoint(path)
    assert int(state["t"]) == 30  # at most N = 10 iterations lost
    monkeypatch.setattr(CFRSolver, "step", step)
    _same(solve(game, config, 0), solve(game, config, 0, checkpoint=path, resume=path))


@pytest.mark.parametrize("config", [CFRPlusConfig(), ExternalSamplingConfig(), OutcomeSamplingConfig(),
                                    ExternalSamplingConfig(batch_size=4), OutcomeSamplingConfig(batch_size=4)])
def test_state_dict_round_trip(leduc, config):
    make = (lambda: CFRSolver(leduc, config)) if isinstance(config, CFRPlusConfig) else (
        lambda: make_method(leduc, config, np.random.default_rng(1)))
    a, b = make(), make()
    for _ in range(30):
        a.step()
    b.load_state_dict({k: np.copy(v) for k, v in a.state_dict().items()})
    for _ in range(30):
        a.step()
        b.step()
    assert all(np.array_equal(u, v) for u, v in zip(a.average_behaviour(), b.average_behaviour()))


def test_resume_rejects_a_different_run(tmp_path, kuhn, leduc):
    path = tmp_path / "ckpt.npz"
    solve(kuhn, CFRPlusConfig(iterations=10), checkpoint=path)
    with pytest.raises(InvalidInputError, match="game"):
        solve(leduc, CFRPlusConfig(iterations=20), resume=path)
    with pytest.raises(InvalidInputError, match="solver"):
        solve(kuhn, load(SOLVERS["cfr"].target)(iterations=20), resume=path)
    with pytest.raises(InvalidInputError, match="past iterations"):
        solve(kuhn, CFRPlusConfig(iterations=5), resume=path)
    with pytest.raises(InvalidInputError, match="no checkpoint"):
        solve(kuhn, CFRPlusConfig(iterations=20), resume=tmp_path / "missing.npz")
    with pytest.raises(InvalidInputError, match="checkpoint_every"):
        solve(kuhn, CFRPlusConfig(iterations=20), checkpoint_every=0, checkpoint=path)
    with pytest.raises(InvalidInputError, match="supported"):
        solve(kuhn, load(SOLVERS["sequence_form_lp"].target)(), checkpoint=path)


def _cli(*args):
    out = subprocess.run([sys.executable, "-m", "saddlepoint", *args], capture_output=True, text=True)
    return out.returncode, out.stdout, out.stderr


def test_cli_checkpoint_and_resume(tmp_path):
    rc, stdout, err = _cli("solve", "leduc_poker", "--algo", "mccfr_external", "--iterations", "60",
                           "--eval-every", "20", "--seed", "3", "--json", "--checkpoint-every", "20", "--out", str(tmp_path))
    assert rc == 0, err
    run_dir = json.loads(stdout)["run_dir"]
    assert (tmp_path / "solve").is_dir() and (json.loads(stdout)["iterations"] == 60)
    rc, stdout, err = _cli("solve", "--resume", run_dir, "--iterations", "100", "--json")
    assert rc == 0, err
    resumed = json.loads(stdout)
    rc, stdout, err = _cli("solve", "leduc_poker", "--algo", "mccfr_external", "--iterations", "100",
                           "--eval-every", "20", "--seed", "3", "--json")
    whole = json.loads(stdout)
    assert resumed["exploitability"] == whole["exploitability"]
    assert [r["exploitability"] for r in resumed["curve"]] == [r["exploitability"] for r in whole["curve"]]
    rc, _, err = _cli("solve", "leduc_poker", "--algo", "cfr", "--checkpoint-every", "5")
    assert rc == 2 and "--out" in err
    rc, _, err = _cli("solve", "--resume", run_dir, "--algo", "cfr")
    assert rc == 2 and "not 'cfr'" in err


def test_cli_batch_size(tmp_path):
    rc, stdout, err = _cli("solve", "leduc_poker", "--algo", "mccfr_outcome", "--batch-size", "64",
                           "--iterations", "640", "--eval-every", "320", "--json")
    assert rc == 0, err
    out = json.loads(stdout)
    assert [row["iteration"] for row in out["curve"]] == [320, 640] and out["exploitability"] < 5
    rc, _, err = _cli("solve", "kuhn_poker", "--algo", "cfr", "--batch-size", "8")
    assert rc == 2 and "MCCFR" in err
