"""Matrix-game solvers side by side: the library's quick demonstration.

Runs every iterative matrix-game solver on biased rock-paper-scissors and on random 10x10
zero-sum games, from a random initial point per seed, and records the exploitability of the
average and of the last iterate. Textbook facts are checked (criteria fixed in code before
running): optimistic Hedge's and extragradient's *last* iterates converge on biased RPS while
Hedge's last iterate does not; regret matching+ ends below regret matching; every average
iterate's value is close to the exact LP value.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from saddlepoint.experiments.base import Cell, Experiment, Preset, Summary
from saddlepoint.experiments.report import markdown_table
from saddlepoint.games.normal_form import NormalFormGame, biased_rps, random_zero_sum
from saddlepoint.plotting import aggregate, plot_series
from saddlepoint.results import ClaimCheck, RunDir
from saddlepoint.solvers.base import solve
from saddlepoint.solvers.lp import solve_zero_sum
from saddlepoint.solvers.matrix import (
    ExtragradientConfig, FictitiousPlayConfig, HedgeConfig, OptimisticHedgeConfig,
    RegretMatchingConfig, RegretMatchingPlusConfig,
)

SOLVERS = {c.algo: c for c in (RegretMatchingConfig, RegretMatchingPlusConfig, HedgeConfig, OptimisticHedgeConfig,
                               ExtragradientConfig, FictitiousPlayConfig)}
"""Solver name -> its config class (each run with ``init="random"``)."""
GAMES = ("biased_rps", "random_zero_sum")


@dataclass(frozen=True, kw_only=True)
class MatrixGamesPreset(Preset):
    """Settings of the matrix-games comparison."""

    iterations: int
    """Iterations of every solver."""
    size: int = 10
    """Actions per player of the random zero-sum games."""


def make_game(name: str, seed: int, size: int) -> NormalFormGame:
    """The game ``name`` of a seed (biased RPS is the same for every seed)."""
    return biased_rps() if name == "biased_rps" else random_zero_sum(size, size, seed)


class MatrixGames(Experiment):
    """Cells: one per (game, solver, seed); rows: the solver's curve and one ``final`` row."""

    name = "matrix-games"
    title = "Matrix-game solvers"
    presets = {
        "smoke": MatrixGamesPreset(iterations=2000, seeds=(0, 1, 2)),
        "paper": MatrixGamesPreset(iterations=100_000, seeds=tuple(range(10))),
    }

    def config(self, p: MatrixGamesPreset) -> dict:
        return {"solvers": list(SOLVERS), "games": list(GAMES), "init": "random"}

    def cells(self, p: MatrixGamesPreset) -> list[Cell]:
        return [Cell(f"{g}/{algo}/seed={s}", seed=s, params={"game": g, "algo": algo})
                for g in GAMES for algo in SOLVERS for s in p.seeds]

    def run_cell(self, p: MatrixGamesPreset, cell: Cell) -> list[dict]:
        game_name, algo = cell.params["game"], cell.params["algo"]
        game = make_game(game_name, cell.seed, p.size)
        _, _, lp_value = solve_zero_sum(game)
        res = solve(game, SOLVERS[algo](iterations=p.iterations, init="random"), np.random.default_rng(cell.seed))
        head = {"game": game_name, "algo": res.algo, "seed": cell.seed}
        rows = [{"section": "curve", **head, **row} for row in res.curve]
        return rows + [{"section": "final", **head, "exploitability": res.exploitability,
                        "last_exploitability": res.last_exploitability, "value_error": abs(res.value - lp_value),
                        "seconds": res.seconds}]

    def summarise(self, p: MatrixGamesPreset, rows: list[dict]) -> Summary:
        finals = [r for r in rows if r["section"] == "final"]

        def final(game: str, algo: str, key: str) -> float:
            return float(np.median([f[key] for f in finals if f["game"] == game and f["algo"] == algo]))

        n = len(p.seeds)
        last = {a: final("biased_rps", a, "last_exploitability") for a in ("optimistic_hedge", "extragradient", "hedge")}
        rm_plus, rm = (final("random_zero_sum", a, "exploitability") for a in ("regret_matching_plus", "regret_matching"))
        value_error = max(f["value_error"] for f in finals)
        claims = [
            ClaimCheck("optimistic Hedge's last iterate converges (Daskalakis & Panageas 2019)",
                       "median last-iterate exploitability on biased RPS < 1e-3",
                       last["optimistic_hedge"] < 1e-3, last["optimistic_hedge"], "-> 0", seeds=n),
            ClaimCheck("extragradient's last iterate converges", "median last-iterate exploitability on biased RPS < 1e-3",
                       last["extragradient"] < 1e-3, last["extragradient"], "-> 0", seeds=n),
            ClaimCheck("Hedge's last iterate does not converge", "median last-iterate exploitability on biased RPS > 1e-2",
                       last["hedge"] > 1e-2, last["hedge"], "cycles", seeds=n),
            ClaimCheck("regret matching+ is faster than regret matching",
                       "median average exploitability on random games: RM+ < RM", rm_plus < rm, [rm_plus, rm],
                       "RM+ faster", seeds=n),
            ClaimCheck("average iterates approach the game value", "max |value - LP value| over all runs < 0.05",
                       value_error < 0.05, value_error, "0", seeds=n),
        ]
        table = [[g, a, final(g, a, "exploitability"), final(g, a, "last_exploitability"), final(g, a, "seconds")]
                 for g in GAMES for a in SOLVERS]
        return Summary(
            claims=claims,
            values={"final": [{k: v for k, v in f.items() if k != "section"} for f in finals]},
            intro=[f"{p.iterations} iterations, {n} seeds. Median over seeds of the final exploitability "
                   "(NashConv / 2).\n", markdown_table(["game", "solver", "average", "last iterate", "seconds"], table)],
        )

    def plot(self, run_dir: RunDir) -> list[str]:
        """Average- and last-iterate exploitability curves per game, from ``metrics.csv``."""
        rows = [r for r in run_dir.metrics() if r["section"] == "curve"]
        names = []
        for game_name in GAMES:
            part = [r for r in rows if r["game"] == game_name]
            for key, label in (("exploitability", "average iterate"), ("last_exploitability", "last iterate")):
                path = run_dir.figures / f"{game_name}_{key}.png"
                plot_series(aggregate(part, "iteration", key, "algo"), path, xlabel="iteration",
                            ylabel=f"exploitability ({label})", title=game_name)
                names.append(path.name)
        return names
