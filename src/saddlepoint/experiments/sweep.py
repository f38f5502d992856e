"""``saddlepoint sweep``: every solver on every game over seeds, as cells of the scaffold.

A sweep is an experiment whose preset is the grid itself (games x algorithms x seeds), so it
runs on any executor, resumes after a crash, and writes one tidy ``metrics.csv`` (one row per
evaluation: game, algo, seed, iteration, exploitability, ...) and a plot per game.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from saddlepoint.errors import InvalidInputError
from saddlepoint.experiments.base import Cell, Experiment, Preset, Summary
from saddlepoint.experiments.report import markdown_table
from saddlepoint.experiments.stats import mean_se
from saddlepoint.plotting import aggregate, plot_series
from saddlepoint.results import RunDir

# ``--algo lp`` means the exact LP of the game's kind (as in ``saddlepoint solve``).
@dataclass(frozen=True, kw_only=True)
class SweepPreset(Preset):
    """The grid of a sweep."""

    games: tuple[str, ...]
    """Game names or strings (``random_zero_sum(m=10,n=10,seed=0)``)."""
    algos: tuple[str, ...]
    """Solver names; each must solve every game's kind."""
    iterations: int = 1000
    eval_every: int | None = None
    """Evaluate every that many iterations (None: ~50 log-spaced points)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.games:
            raise InvalidInputError("a sweep needs at least one game (--games)")
        if not self.algos:
            raise InvalidInputError("a sweep needs at least one solver (--algos)")
        if not isinstance(self.iterations, int) or self.iterations < 1:
            raise InvalidInputError(f"iterations must be a positive integer, got {self.iterations!r}")
        if self.eval_every is not None and (not isinstance(self.eval_every, int) or self.eval_every < 1):
            raise InvalidInputError(f"eval_every must be a positive integer, got {self.eval_every!r}")


def game_kind(game: str) -> str:
    """The kind (``matrix``, ``efg``, ``preference``) of a registered game name or string."""
    from saddlepoint.registry import GAMES, lookup, parse_game_string

    name, _ = parse_game_string(game)
    return lookup(GAMES, name, "game").kind


def resolve_algo(algo: str, kind: str) -> str:
    """The registered solver ``algo`` means on a game of ``kind``; one clear error if none."""
    from saddlepoint.solvers.base import solver_config

    return type(solver_config(algo, kind)).algo


def validate(preset: SweepPreset) -> None:
    """Check every game and every (game, solver) pair before any cell runs."""
    for game in preset.games:
        kind = game_kind(game)
        for algo in preset.algos:
            resolve_algo(algo, kind)


class SolverSweep(Experiment):
    """Games x solvers x seeds; a cell is one solve."""

    name = "sweep"
    title = "Solver sweep"
    presets = {"smoke": SweepPreset(games=("kuhn_poker", "leduc_poker"), algos=("cfr", "cfr_plus", "dcfr"),
                                    iterations=200, seeds=(0, 1))}

    def cells(self, p: SweepPreset) -> list[Cell]:
        validate(p)
        return [Cell(f"{game}/{algo}/seed={s}", seed=s, params={"game": game, "algo": algo})
                for game in p.games for algo in p.algos for s in p.seeds]

    def run_cell(self, p: SweepPreset, cell: Cell) -> list[dict[str, Any]]:
        from saddlepoint.games import make_game
        from saddlepoint.solvers.base import solve, solver_config

        game_str, algo = cell.params["game"], cell.params["algo"]
        config = solver_config(algo, game_kind(game_str), iterations=p.iterations)
        result = solve(make_game(game_str), config, cell.seed, eval_every=p.eval_every, show_progress=False)
        return [{"game": game_str, "algo": algo, "seed": cell.seed, **row} for row in result.curve]

    def summarise(self, p: SweepPreset, rows: list[dict[str, Any]]) -> Summary:
        table = []
        for game in p.games:
            for algo in p.algos:
                finals = []
                for s in p.seeds:
                    mine = [r for r in rows if r["game"] == game and r["algo"] == algo and r["seed"] == s]
                    if mine:
                        finals.append(mine[-1]["exploitability"])
                mean, se = mean_se(finals)
                table.append({"game": game, "algo": algo, "exploitability_mean": mean, "exploitability_se": se,
                              "seeds": len(finals)})
        section = markdown_table(["game", "solver", "final exploitability (mean)", "s.e.", "seeds"],
                                 [[r["game"], r["algo"], r["exploitability_mean"], r["exploitability_se"], r["seeds"]]
                                  for r in table])
        return Summary(values={"final": table, "iterations": p.iterations},
                       intro=[f"{len(p.games)} games x {len(p.algos)} solvers x {len(p.seeds)} seeds, "
                              f"{p.iterations} iterations each. Exploitability is NashConv / 2.\n"],
                       sections=["\n## Final exploitability\n", section])

    def plot(self, run_dir: RunDir) -> list[str]:
        """Exploitability against iterations, one figure per game, mean and spread over seeds."""
        p = self.preset_of(run_dir)
        rows = run_dir.metrics()
        names = []
        for i, game in enumerate(p.games):
            part = [r for r in rows if r["game"] == game]
            name = f"exploitability_{i:02d}_{''.join(ch if ch.isalnum() else '_' for ch in game).strip('_')}.png"
            plot_series(aggregate(part, "iteration", "exploitability", "algo"), run_dir.figures / name,
                        xlabel="iteration", ylabel="exploitability (NashConv / 2)",
                        title=f"{game} ({len(p.seeds)} seeds)")
            names.append(name)
        return names
