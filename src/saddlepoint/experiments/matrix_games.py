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
from pathlib import Path

import numpy as np

from saddlepoint.experiments import claims_markdown, markdown_table
from saddlepoint.games.normal_form import biased_rps, random_zero_sum
from saddlepoint.plotting import aggregate, plot_series, plots_available
from saddlepoint.progress import progress
from saddlepoint.results import ClaimCheck, RunDir
from saddlepoint.solvers.lp import solve_zero_sum
from saddlepoint.solvers.matrix import (
    ExtragradientConfig, FictitiousPlayConfig, HedgeConfig, OptimisticHedgeConfig,
    RegretMatchingConfig, RegretMatchingPlusConfig, solve,
)

PRESETS = ("smoke", "paper")
_CONFIGS = (RegretMatchingConfig, RegretMatchingPlusConfig, HedgeConfig, OptimisticHedgeConfig,
            ExtragradientConfig, FictitiousPlayConfig)


@dataclass(frozen=True)
class _Preset:
    iterations: int
    seeds: tuple[int, ...]
    size: int


_PRESETS = {"smoke": _Preset(2000, (0, 1, 2), 10), "paper": _Preset(100_000, tuple(range(10)), 10)}


def run(preset: str = "smoke", seeds: list[int] | None = None, out: str | Path | None = None,
        show_progress: bool | None = None) -> RunDir:
    """Run the comparison and write a run directory with metrics, plots and a report."""
    p = _PRESETS[preset]
    seeds = tuple(seeds) if seeds is not None else p.seeds
    config = {"preset": preset, "iterations": p.iterations, "seeds": list(seeds), "size": p.size,
              "solvers": [c.algo for c in _CONFIGS], "init": "random"}
    run_dir = RunDir.create("matrix-games", config, root=out)
    games = {"biased_rps": lambda s: biased_rps(), "random_zero_sum": lambda s: random_zero_sum(p.size, p.size, s)}
    rows, finals = [], []
    jobs = [(g, c, s) for g in games for c in _CONFIGS for s in seeds]
    for game_name, cfg_cls, seed in progress(jobs, desc="matrix-games", enabled=show_progress):
        game = games[game_name](seed)
        _, _, lp_value = solve_zero_sum(game)
        res = solve(game, cfg_cls(iterations=p.iterations, init="random"), np.random.default_rng(seed))
        rows += [{"game": game_name, "algo": res.algo, "seed": seed, **row} for row in res.curve]
        finals.append({"game": game_name, "algo": res.algo, "seed": seed, "exploitability": res.exploitability,
                       "last_exploitability": res.last_exploitability, "value_error": abs(res.value - lp_value),
                       "seconds": res.seconds})
    run_dir.write_metrics(rows)

    def final(game: str, algo: str, key: str) -> float:
        return float(np.median([f[key] for f in finals if f["game"] == game and f["algo"] == algo]))

    n = len(seeds)
    claims = [
        ClaimCheck("optimistic Hedge's last iterate converges (Daskalakis & Panageas 2019)",
                   "median last-iterate exploitability on biased RPS < 1e-3",
                   final("biased_rps", "optimistic_hedge", "last_exploitability") < 1e-3,
                   final("biased_rps", "optimistic_hedge", "last_exploitability"), "-> 0", seeds=n),
        ClaimCheck("extragradient's last iterate converges", "median last-iterate exploitability on biased RPS < 1e-3",
                   final("biased_rps", "extragradient", "last_exploitability") < 1e-3,
                   final("biased_rps", "extragradient", "last_exploitability"), "-> 0", seeds=n),
        ClaimCheck("Hedge's last iterate does not converge", "median last-iterate exploitability on biased RPS > 1e-2",
                   final("biased_rps", "hedge", "last_exploitability") > 1e-2,
                   final("biased_rps", "hedge", "last_exploitability"), "cycles", seeds=n),
        ClaimCheck("regret matching+ is faster than regret matching", "median average exploitability on random games: RM+ < RM",
                   final("random_zero_sum", "regret_matching_plus", "exploitability")
                   < final("random_zero_sum", "regret_matching", "exploitability"),
                   [final("random_zero_sum", "regret_matching_plus", "exploitability"),
                    final("random_zero_sum", "regret_matching", "exploitability")], "RM+ faster", seeds=n),
        ClaimCheck("average iterates approach the game value", "max |value - LP value| over all runs < 0.05",
                   max(f["value_error"] for f in finals) < 0.05, max(f["value_error"] for f in finals), "0", seeds=n),
    ]
    claim_dicts = [c.as_dict() for c in claims]
    table = [[g, a, final(g, a, "exploitability"), final(g, a, "last_exploitability"), final(g, a, "seconds")]
             for g in games for a in (c.algo for c in _CONFIGS)]
    run_dir.write_summary({"experiment": "matrix-games", "preset": preset, "seeds": list(seeds),
                           "final": finals, "claims": claim_dicts,
                           "all_claims_passed": all(c.passed for c in claims)})
    figures = []
    if plots_available():
        for game_name in games:
            part = [r for r in rows if r["game"] == game_name]
            for key, label in (("exploitability", "average iterate"), ("last_exploitability", "last iterate")):
                path = run_dir.figures / f"{game_name}_{key}.png"
                plot_series(aggregate(part, "iteration", key, "algo"), path, xlabel="iteration",
                            ylabel=f"exploitability ({label})", title=game_name)
                figures.append(path.name)
    report = [
        f"# Matrix-game solvers ({preset} preset, {p.iterations} iterations, {n} seeds)\n",
        "Median over seeds of the final exploitability (NashConv / 2).\n",
        markdown_table(["game", "solver", "average", "last iterate", "seconds"], table),
        "\n## Checks (textbook facts; criteria fixed before running)\n",
        claims_markdown(claim_dicts),
    ]
    if figures:
        report.append("\n## Figures\n" + "".join(f"\n![{f}](figures/{f})\n" for f in figures))
    run_dir.write_text("report.md", "\n".join(report))
    return run_dir
