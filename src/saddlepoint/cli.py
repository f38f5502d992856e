"""The ``saddlepoint`` command line (also ``python -m saddlepoint``).

Bad input prints one line to stderr and exits with status 2; an unexpected failure prints one
line and exits with status 1 (``--debug`` shows the traceback).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

import numpy as np

from saddlepoint._version import __version__
from saddlepoint.decoding.cli import add_decode_parser, run_decode  # NumPy/SciPy only until run
from saddlepoint.errors import InvalidInputError, SaddlepointError

log = logging.getLogger("saddlepoint")


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr and exit status 2."""

    def error(self, message: str) -> NoReturn:
        raise InvalidInputError(f"{self.prog}: {message}")


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be non-negative, got {value}")
    return value


def _positive_int(text: str) -> int:
    value = _non_negative_int(text)
    if value == 0:
        raise argparse.ArgumentTypeError("must be positive, got 0")
    return value


def _seeds(text: str) -> list[int]:
    """``3`` or an inclusive range ``0-4``."""
    first, sep, last = text.partition("-")
    if not sep:
        return [_non_negative_int(text)]
    lo, hi = _non_negative_int(first), _non_negative_int(last)
    if hi < lo:
        raise argparse.ArgumentTypeError(f"empty seed range {text!r}")
    return list(range(lo, hi + 1))


def _add_executor_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--workers", type=_positive_int, default=1,
                   help="cells run in parallel (default 1: in this process)")
    p.add_argument("--executor", choices=("serial", "process", "ray"), default=None,
                   help="where cells run (default: serial for 1 worker, else a process pool)")
    p.add_argument("--address", default=None, help="Ray cluster address HOST:PORT (with --executor ray)")
    p.add_argument("--resume", type=Path, default=None, metavar="RUN_DIR",
                   help="finish an interrupted run: re-run only its missing cells")
    p.add_argument("--out", type=Path, default=None, help="root of the run directories (default ./runs)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="saddlepoint", description="Robust and game-theoretic learning.")
    parser.add_argument("--version", action="version", version=f"saddlepoint {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks and debug logs")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("list", help="games, solvers and experiments with their status")
    p.add_argument("--json", action="store_true", help="print one JSON object")

    p = sub.add_parser("solve", help="solve a game and report exploitability")
    p.add_argument("game", nargs="?", help="game name or string, e.g. 'random_zero_sum(m=10,n=10,seed=0)'")
    p.add_argument("--payoffs", type=Path, help="zero-sum payoff file (.npy, .csv, .json) instead of GAME")
    p.add_argument("--algo", default=None, help="solver name (see `saddlepoint list`); required unless --resume")
    p.add_argument("--iterations", type=_non_negative_int, default=None, help="iterations (default 1000)")
    p.add_argument("--eval-every", type=_positive_int, default=None,
                   help="evaluate every K iterations (default: ~50 log-spaced points)")
    p.add_argument("--seed", type=_non_negative_int, default=0, help="random seed (default 0)")
    p.add_argument("--json", action="store_true", help="print one JSON object to stdout")
    p.add_argument("--out", type=Path, default=None, help="also write a run directory under OUT")
    p.add_argument("--checkpoint-every", type=_positive_int, default=None, metavar="N",
                   help="extensive-form CFR/MCCFR: save the solver to the run directory every N iterations "
                        "(needs --out)")
    p.add_argument("--resume", type=Path, default=None, metavar="RUN_DIR",
                   help="continue a checkpointed solve from its run directory (game, solver, seed from there)")
    p.add_argument("--batch-size", type=_positive_int, default=None, metavar="B",
                   help="MCCFR: walks per vectorised pass (default 1, the one-walk reference)")

    p = sub.add_parser("reproduce", help="run a paper reproduction")
    p.add_argument("experiment", help="experiment name (see `saddlepoint list`)")
    p.add_argument("--preset", default="smoke", help="smoke (quick) or paper (default smoke)")
    p.add_argument("--seeds", type=_seeds, nargs="+", default=None, help="seeds to run (e.g. 0 1 2 or 0-19)")
    _add_executor_options(p)

    p = sub.add_parser("sweep", help="every solver on every game over seeds (one tidy CSV and a plot)")
    p.add_argument("--games", nargs="+", default=None, help="game names or strings")
    p.add_argument("--algos", nargs="+", default=None, help="solver names")
    p.add_argument("--iterations", type=_positive_int, default=1000, help="iterations per solve (default 1000)")
    p.add_argument("--eval-every", type=_positive_int, default=None, help="evaluate every K iterations")
    p.add_argument("--seeds", type=_seeds, nargs="+", default=[[0]], help="seeds (e.g. 0-4; default 0)")
    _add_executor_options(p)

    add_decode_parser(sub)

    p = sub.add_parser("plot", help="plot run directories")
    p.add_argument("run_dirs", nargs="+", type=Path, help="run directories")

    p = sub.add_parser("env", help="versions, for bug reports")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    return parser


# --------------------------------------------------------------------------- commands
def _cmd_list(args: argparse.Namespace) -> int:
    from saddlepoint.registry import EXPERIMENTS, GAMES, SOLVERS

    tables = {"games": GAMES, "solvers": SOLVERS, "experiments": EXPERIMENTS}
    if args.json:
        print(json.dumps({k: {n: {"kind": e.kind, "status": e.status, "description": e.description}
                              for n, e in t.items()} for k, t in tables.items()}, indent=2))
        return 0
    for title, table in tables.items():
        print(f"{title}:")
        width = max(len(n) for n in table)
        for name, entry in table.items():
            print(f"  {name:<{width}}  {entry.kind:<10}  {entry.status:<8}  {entry.description}")
        print()
    return 0


def _load_game(args: argparse.Namespace) -> tuple[Any, str]:
    from saddlepoint.games import make_game
    from saddlepoint.games.normal_form import load_payoffs
    from saddlepoint.registry import GAMES, parse_game_string

    if (args.game is None) == (args.payoffs is None):
        raise InvalidInputError("give exactly one of GAME or --payoffs FILE")
    if args.payoffs is not None:
        return load_payoffs(args.payoffs), "matrix"
    name, _ = parse_game_string(args.game)
    game = make_game(args.game)
    return game, GAMES[name].kind


# Strategies go into the JSON only when small (Liar's Dice has ~24k probabilities per player).
_MAX_PRINTED_PROBABILITIES = 2000


def _cmd_solve(args: argparse.Namespace) -> int:
    from saddlepoint.solvers.base import solve, solver_config

    run = _checkpoint_run(args)
    if args.algo is None:
        raise InvalidInputError("give --algo (or --resume RUN_DIR)")
    if args.iterations is None:
        args.iterations = 1000
    game, kind = _load_game(args)
    config = solver_config(args.algo, kind, iterations=args.iterations)
    options: dict[str, Any] = {}
    if run is not None:
        if kind != "efg":
            raise InvalidInputError("--checkpoint-every and --resume work for extensive-form games only")
        options = {"checkpoint": run.path / "checkpoint.npz", "checkpoint_every": args.checkpoint_every,
                   "resume": run.path / "checkpoint.npz" if args.resume is not None else None}
    if args.batch_size is not None:
        if not hasattr(config, "batch_size"):
            raise InvalidInputError(f"--batch-size applies to extensive-form MCCFR solvers only, not {args.algo!r}")
        config = dataclasses.replace(config, batch_size=args.batch_size)
    result = solve(game, config, args.seed, eval_every=args.eval_every,
                   show_progress=None if not args.json else False, **options)
    small = sum(np.size(s) for s in result.strategies) <= _MAX_PRINTED_PROBABILITIES
    summary = result.summary(include_strategies=small)
    if small and result.last_strategies is not None:  # last-iterate methods: the policy they end at
        summary["last_strategies"] = [np.asarray(s).tolist() for s in result.last_strategies]
    if args.out is not None or run is not None:
        summary["run_dir"] = str(_write_solve_run(args, result, summary, run))
    if args.json:
        print(json.dumps(summary))
    else:
        _print_solve_table(summary)
    return 0


def _checkpoint_run(args: argparse.Namespace) -> Any:
    """The run directory of a checkpointed solve (None without --checkpoint-every/--resume).
    ``--resume`` takes the game, solver, seed and schedule from the run's ``config.json``
    (``--iterations`` may raise the target)."""
    from saddlepoint.results import RunDir, write_json

    if args.resume is not None:
        run = RunDir.open(args.resume)
        saved = run.config()
        if "checkpoint_every" not in saved:
            raise InvalidInputError(f"{args.resume} is not a checkpointed solve (no checkpoint_every in config.json)")
        for key in ("game", "algo"):
            given = getattr(args, key)
            if given is not None and given != saved[key]:
                raise InvalidInputError(f"{args.resume} solved {key} {saved[key]!r}, not {given!r}")
        args.game, args.algo, args.seed, args.eval_every = saved["game"], saved["algo"], saved["seed"], saved["eval_every"]
        args.batch_size = saved.get("batch_size")
        args.checkpoint_every = args.checkpoint_every or saved["checkpoint_every"]
        if args.iterations is not None and args.iterations != saved["iterations"]:
            write_json(run.path / "config.json", {**saved, "iterations": args.iterations})
        args.iterations = args.iterations if args.iterations is not None else saved["iterations"]
        return run
    if args.checkpoint_every is None:
        return None
    if args.out is None or args.game is None or args.algo is None:
        raise InvalidInputError("--checkpoint-every needs GAME, --algo and --out DIR")
    config = {"game": args.game, "algo": args.algo, "iterations": 1000 if args.iterations is None else args.iterations,
              "seed": args.seed, "eval_every": args.eval_every, "payoffs": None, "checkpoint_every": args.checkpoint_every,
              "batch_size": args.batch_size}
    return RunDir.create("solve", config, root=args.out)


def _write_solve_run(args: argparse.Namespace, result: Any, summary: dict[str, Any], run: Any = None) -> Path:
    from saddlepoint.plotting import plot_metrics, plots_available
    from saddlepoint.results import RunDir

    config = {"game": result.game, "algo": result.algo, "iterations": args.iterations, "seed": args.seed,
              "eval_every": args.eval_every, "payoffs": args.payoffs}
    run = run or RunDir.create("solve", config, root=args.out)
    run.write_metrics([{"game": result.game, "algo": result.algo, "seed": args.seed, **row} for row in result.curve])
    run.write_summary(summary)
    if result.curve and plots_available():
        plot_metrics(run, x="iteration", y="exploitability", group="algo", title=result.game)
        if "nodes_visited" in result.curve[0]:
            plot_metrics(run, x="nodes_visited", y="exploitability", group="algo", title=result.game)
    return run.path


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, list) and value and all(isinstance(v, (int, float)) for v in value):
        return "[" + ", ".join(f"{v:.4f}" for v in value) + "]"
    return str(value)


def _print_solve_table(summary: dict[str, Any]) -> None:
    keys = ["game", "algo", "iterations", "value", "exploitability", "nash_conv", "last_exploitability",
            "duality_gap", "avg_duality_gap", "target_regularization", "kl_to_equilibrium",
            "nodes_visited", "seconds", "run_dir"]
    rows = [(k, summary[k]) for k in keys if summary.get(k) is not None]
    strategies = summary.get("strategies") or []
    if len(strategies) == 2 and all(isinstance(s, list) and len(s) <= 12 for s in strategies):
        rows += [("row strategy", strategies[0]), ("column strategy", strategies[1])]
    last = summary.get("last_strategies") or []
    if len(last) == 1 and len(last[0]) == 1 and len(last[0][0]) <= 12:  # one-prompt preference game
        rows.append(("last policy", last[0][0]))
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"{key:<{width}}  {_fmt(value)}")


def _executor(args: argparse.Namespace) -> Any:
    from saddlepoint.experiments.executors import make_executor

    return make_executor(args.executor, workers=args.workers, address=args.address)


def _flat_seeds(seeds: list[list[int]] | None) -> list[int] | None:
    return None if seeds is None else [s for group in seeds for s in group]


def _print_run(run: Any) -> int:
    report = run.path / "report.md"
    if report.is_file():
        print(report.read_text())
    print(f"results: {run.path}")
    return 0


def _cmd_reproduce(args: argparse.Namespace) -> int:
    from saddlepoint.experiments import resume_experiment, run_experiment

    executor = _executor(args)
    if args.resume is not None:
        return _print_run(resume_experiment(args.experiment, args.resume, executor=executor))
    return _print_run(run_experiment(args.experiment, preset=args.preset, seeds=_flat_seeds(args.seeds),
                                     out=args.out, executor=executor))


def _cmd_sweep(args: argparse.Namespace) -> int:
    from saddlepoint.experiments import resume_experiment
    from saddlepoint.experiments.base import run
    from saddlepoint.experiments.sweep import SolverSweep, SweepPreset

    executor = _executor(args)
    if args.resume is not None:
        if args.games or args.algos:
            raise InvalidInputError("--resume takes the grid from the run directory; drop --games/--algos")
        return _print_run(resume_experiment("sweep", args.resume, executor=executor))
    if not args.games or not args.algos:
        raise InvalidInputError("give --games and --algos (or --resume RUN_DIR)")
    preset = SweepPreset(games=tuple(args.games), algos=tuple(args.algos), iterations=args.iterations,
                         eval_every=args.eval_every, seeds=tuple(_flat_seeds(args.seeds) or [0]))
    return _print_run(run(SolverSweep(), preset, out=args.out, executor=executor, preset_name="grid"))


def _cmd_plot(args: argparse.Namespace) -> int:
    """Redraw a run's figures: the experiment's own ``plot(run_dir)`` if it has one, else the
    generic curves of :func:`saddlepoint.plotting.plot_run`."""
    from saddlepoint.experiments import get_experiment
    from saddlepoint.plotting import plot_run
    from saddlepoint.registry import EXPERIMENTS
    from saddlepoint.results import RunDir

    for run_dir in args.run_dirs:
        run = RunDir.open(run_dir)
        entry = EXPERIMENTS.get(str(run.config().get("experiment")))
        if entry and entry.target and "preset_fields" in run.config():
            names = get_experiment(str(run.config()["experiment"])).plot(run)
            paths = [run.figures / n for n in names]
        else:
            paths = plot_run(run_dir)
        for path in paths or []:
            print(path)
    return 0


def _cmd_env(args: argparse.Namespace) -> int:
    from saddlepoint.results import environment_info

    info = environment_info()
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    print(f"saddlepoint {__version__}")
    print(f"python      {info['python']}")
    print(f"platform    {info['platform']}")
    print(f"git         {info['git_revision']}")
    for name, version in info["packages"].items():
        print(f"{name:<12}{version or '(not installed)'}")
    return 0


_COMMANDS = {"list": _cmd_list, "solve": _cmd_solve, "reproduce": _cmd_reproduce, "sweep": _cmd_sweep,
             "decode": run_decode,
             "plot": _cmd_plot, "env": _cmd_env}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    logging.basicConfig(level=logging.DEBUG if debug else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        args = build_parser().parse_args(argv)
        return _COMMANDS[args.command](args)
    except SaddlepointError as exc:
        if debug:
            raise
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # e.g. `saddlepoint list | head`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - the CLI never shows a traceback unless asked
        if debug:
            raise
        first = str(exc).splitlines()[0] if str(exc) else ""
        print(f"internal error: {type(exc).__name__}: {first} (rerun with --debug for the traceback)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
