import json
import math
import subprocess
import sys
from dataclasses import dataclass

import numpy as np
import pytest

from saddlepoint.config import from_dict
from saddlepoint.errors import InvalidInputError, MissingExtraError, require
from saddlepoint.registry import EXPERIMENTS, GAMES, SOLVERS, load, parse_game_string
from saddlepoint.results import ClaimCheck, RunDir, to_jsonable
from saddlepoint.rng import make_rng
from saddlepoint.method import evaluation_points


def test_import_loads_no_heavy_packages():
    """The NumPy/SciPy families import without torch, transformers, BoTorch, scikit-learn or
    matplotlib (design: a missing extra fails at the point of use, not on import)."""
    modules = ("saddlepoint", "saddlepoint.registry", "saddlepoint.games", "saddlepoint.solvers", "saddlepoint.cli",
               "saddlepoint.bandits", "saddlepoint.decoding", "saddlepoint.decoding.safety")
    code = (f"import sys, {', '.join(modules)};"
            "heavy = [m for m in ('torch', 'transformers', 'botorch', 'matplotlib', 'gpytorch', 'sklearn') "
            "if m in sys.modules];"
            "print(','.join(heavy))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert proc.stdout.strip() == ""


def test_registry_targets_resolve():
    for table in (GAMES, SOLVERS, EXPERIMENTS):
        for name, entry in table.items():
            assert entry.status in ("works", "partial", "planned"), name
            if entry.target is not None:
                assert load(entry.target) is not None, name
            else:
                assert entry.status == "planned", name


def test_parse_game_string():
    assert parse_game_string("kuhn_poker") == ("kuhn_poker", {})
    assert parse_game_string("goofspiel(num_cards=4, imp_info=True, x=0.5, s=abc)") == (
        "goofspiel", {"num_cards": 4, "imp_info": True, "x": 0.5, "s": "abc"})
    for bad in ("1abc", "g(a=)", "g(=1)", "g(a)"):
        with pytest.raises(InvalidInputError):
            parse_game_string(bad)


def test_make_rng():
    assert make_rng(3).integers(1000) == make_rng(3).integers(1000)
    g = np.random.default_rng(0)
    assert make_rng(g) is g
    for bad in (-1, 1.5, "3", True):
        with pytest.raises(InvalidInputError):
            make_rng(bad)


def test_require_names_the_extra():
    with pytest.raises(MissingExtraError, match=r"pip install 'saddlepoint\[llm\]'"):
        require("surely_not_a_module_xyz", "llm")


def test_from_dict_rejects_unknown_keys():
    @dataclass(frozen=True)
    class C:
        a: int = 1

    assert from_dict(C, {"a": 2}) == C(2)
    with pytest.raises(InvalidInputError, match="unknown C key"):
        from_dict(C, {"b": 2})


def test_to_jsonable():
    data = to_jsonable({"a": np.float64(1.5), "b": np.arange(3), "c": math.inf, "d": math.nan, "e": (1, 2)})
    assert json.loads(json.dumps(data)) == {"a": 1.5, "b": [0, 1, 2], "c": "inf", "d": None, "e": [1, 2]}


def test_run_directory_round_trip(tmp_path):
    run = RunDir.create("demo", {"seed": 3, "alpha": np.float32(0.5)}, root=tmp_path, run_id="r1")
    assert run.path == tmp_path / "demo" / "r1" and run.figures.is_dir()
    assert run.config() == {"experiment": "demo", "seed": 3, "alpha": 0.5}
    env = json.loads((run.path / "env.json").read_text())
    assert env["packages"]["numpy"] == np.__version__ and "python" in env
    run.write_metrics([{"iteration": 1, "x": 0.5, "arm": "000_003"}, {"iteration": 2, "x": -2.5e-3, "y": "a"}])
    assert run.metrics() == [{"iteration": 1.0, "x": 0.5, "arm": "000_003", "y": None},
                             {"iteration": 2.0, "x": -2.5e-3, "arm": None, "y": "a"}]
    claim = ClaimCheck("c", "x < 1", True, 0.5, paper=0.4, seeds=3)
    run.write_summary({"claims": [claim.as_dict()]})
    assert run.summary()["claims"][0]["passed"] is True
    with pytest.raises(InvalidInputError, match="already exists"):
        RunDir.create("demo", {}, root=tmp_path, run_id="r1")
    assert RunDir.open(run.path).path == run.path


def test_evaluation_points_of_the_solvers_curves():
    assert evaluation_points(10, every=3) == [3, 6, 9, 10]
    sched = evaluation_points(1000, points=20)
    assert 1 in sched and 1000 in sched and len(sched) <= 21
    assert evaluation_points(0) == []
