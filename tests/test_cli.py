import json
import subprocess
import sys

import numpy as np
import pytest

from saddlepoint.cli import main


def run_cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_module_entry_point_lp_json():
    proc = subprocess.run([sys.executable, "-m", "saddlepoint", "solve", "rock_paper_scissors", "--algo", "lp", "--json"],
                          capture_output=True, text=True, timeout=60, check=True)
    data = json.loads(proc.stdout)
    assert {"game", "algo", "iterations", "value", "exploitability", "nash_conv", "seconds"} <= set(data)
    assert data["value"] == 0.0 and data["exploitability"] < 1e-9 and data["algo"] == "lp"


def test_iterative_solve_json_with_curve(capsys):
    code, out, _ = run_cli(capsys, "solve", "random_zero_sum(m=5,n=4,seed=2)", "--algo", "regret_matching_plus",
                           "--iterations", "200", "--eval-every", "50", "--json")
    data = json.loads(out)
    assert code == 0 and data["iterations"] == 200
    assert [row["iteration"] for row in data["curve"]] == [50, 100, 150, 200]
    assert data["exploitability"] == pytest.approx(data["nash_conv"] / 2)


def test_payoff_file_and_table_output(capsys, tmp_path):
    np.save(tmp_path / "g.npy", np.array([[3.0, -1.0], [-2.0, 1.0]]))
    code, out, _ = run_cli(capsys, "solve", "--payoffs", str(tmp_path / "g.npy"), "--algo", "lp")
    assert code == 0 and "value" in out and "0.142857" in out


def test_out_writes_run_directory(capsys, tmp_path):
    code, out, _ = run_cli(capsys, "solve", "biased_rps", "--algo", "extragradient", "--iterations", "100",
                           "--json", "--out", str(tmp_path))
    run_dir = tmp_path / json.loads(out)["run_dir"].split(str(tmp_path) + "/")[1]
    for name in ("config.json", "env.json", "metrics.csv", "summary.json"):
        assert (run_dir / name).is_file()
    assert list((run_dir / "figures").glob("*.png"))
    code, out, _ = run_cli(capsys, "plot", str(run_dir))
    assert code == 0 and out.strip().endswith(".png")


@pytest.mark.parametrize(
    "argv, message",
    [
        (["solve", "no_such_game", "--algo", "lp"], "unknown game 'no_such_game'"),
        (["solve", "rock_paper_scissors", "--algo", "nope"], "unknown solver 'nope'"),
        (["solve", "rock_paper_scissors", "--algo", "hedge", "--iterations", "-5"], "must be non-negative"),
        (["solve", "rock_paper_scissors", "--algo", "hedge", "--iterations", "ten"], "expected an integer"),
        (["solve", "--algo", "lp"], "exactly one of GAME or --payoffs"),
        (["solve", "shapley", "--algo", "lp"], "zero-sum"),
        (["solve", "rock_paper_scissors", "--algo", "cfr"], "does not solve matrix games"),
        (["solve", "random_zero_sum(m=0)", "--algo", "lp"], "m must be a positive integer"),
        (["reproduce", "no-such-experiment"], "unknown experiment"),
        (["reproduce", "matrix-games", "--preset", "huge"], "unknown preset"),
        (["plot", "/nonexistent/run"], "not a run directory"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_bad_input_is_one_line_no_traceback(capsys, argv, message):
    code, out, err = run_cli(capsys, *argv)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and message in err and "Traceback" not in err


def test_malformed_payoff_file(capsys, tmp_path):
    (tmp_path / "bad.csv").write_text("1,2\n3\n")
    code, _, err = run_cli(capsys, "solve", "--payoffs", str(tmp_path / "bad.csv"), "--algo", "lp")
    assert code == 2 and "cannot read payoffs" in err and err.count("\n") == 1


def test_bad_input_in_a_subprocess_has_no_traceback():
    proc = subprocess.run([sys.executable, "-m", "saddlepoint", "solve", "rock_paper_scissors", "--algo", "lp",
                           "--iterations", "-1"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and proc.stderr.count("\n") == 1


def test_list_and_env(capsys):
    code, out, _ = run_cli(capsys, "list", "--json")
    data = json.loads(out)
    assert code == 0 and data["solvers"]["lp"]["status"] == "works"
    assert data["experiments"]["matrix-games"]["status"] == "works"
    code, out, _ = run_cli(capsys, "env", "--json")
    assert code == 0 and json.loads(out)["packages"]["numpy"] == np.__version__


def test_lp_means_the_exact_lp_of_the_games_kind(capsys):
    code, out, _ = run_cli(capsys, "solve", "kuhn_poker", "--algo", "lp", "--json")
    data = json.loads(out)
    assert code == 0 and data["algo"] == "sequence_form_lp"
    assert data["value"] == pytest.approx(-1 / 18, abs=1e-9) and data["exploitability"] < 1e-9
    code, out, _ = run_cli(capsys, "solve", "leduc_poker", "--algo", "cfr_plus", "--iterations", "20", "--json")
    assert code == 0 and json.loads(out)["nodes_visited"] > 0


def test_planned_solver_is_refused_clearly(capsys, monkeypatch):
    from saddlepoint import registry

    monkeypatch.setitem(registry.SOLVERS, "future_method", registry.Entry(None, "matrix", "planned", "not yet"))
    code, _, err = run_cli(capsys, "solve", "rock_paper_scissors", "--algo", "future_method")
    assert code == 2 and "planned but not implemented" in err and err.count("\n") == 1
