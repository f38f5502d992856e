"""Reproduction of "Sample-Efficient Regret-Minimizing Double Oracle in Extensive-Form Games"
(Tang et al., arXiv 2411.00954): AdaDO against XDO, XODO, PDO, PSRO, the CFR family and
outcome-sampling MCCFR, exploitability against nodes visited on one shared counter.

Every method runs until it has visited its game's node budget. Double-oracle methods log the
exploitability of every window's output (the best responses that end a window give it for
free); CFR-family and MCCFR baselines are evaluated at log-spaced node counts (evaluations not
counted). Stochastic methods (OS-MCCFR, stochastic AdaDO) run for several seeds.

Second round (issue 20): the claims' criteria are fixed in :func:`_claims` in a commit of
their own before the paper preset runs (:attr:`AdaDO.criteria_commit`):

1. On Leduc and on Liar's Dice, cold-start AdaDO reaches e <= 0.02 and e <= 0.005 with fewer
   nodes than XDO with CFR+ inside, budget 1e8 nodes; all four comparisons must hold (a
   threshold only AdaDO reaches counts for AdaDO).
2. On Leduc-Dummy the best double-oracle arm reaches e <= 0.005 with fewer nodes than Linear
   CFR and than outcome-sampling MCCFR (see :func:`mccfr_nodes_to` for an MCCFR run that stops
   short of the threshold).

Lines reported either way (observations, not claims): on Leduc-Dummy AdaDO and PDO reach 0.02
before XDO and Linear CFR; AdaDO-WS needs fewer nodes than AdaDO to 0.005. Facts: the
restricted game ends smaller than the full game on Leduc-Dummy; XDO's curve shows saw-teeth.
Double-oracle outputs play uniformly over all actions at infosets the restricted game cannot
reach (the default of :class:`~saddlepoint.solvers.double_oracle.RMDOConfig`); the arms
``adado_allowed`` and ``xdo_allowed`` keep the inner solver's play there, to measure the
difference.

Cells: one per (game, method, seed); a cell's rows are its thinned curve (``section =
"curve"``) and one ``final`` row holding the full curve's nodes to each threshold, its saw-tooth
count, its last row and the game's size, so every claim is judged on the unthinned curve.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from saddlepoint.errors import require
from saddlepoint.experiments.base import Cell, Experiment, Preset, Summary
from saddlepoint.experiments.report import markdown_table
from saddlepoint.games import zoo
from saddlepoint.games.extensive_form import CompiledGame, compile_game
from saddlepoint.plotting import plot_series
from saddlepoint.results import ClaimCheck, Fact, RunDir
from saddlepoint.method import Budget, make_method, run
from saddlepoint.solvers.cfr import CFRConfig, CFRPlusConfig, DCFRConfig, LinearCFRConfig
from saddlepoint.solvers.double_oracle import (
    AdaDOConfig,
    AdaDOStochasticConfig,
    PDOConfig,
    PSROConfig,
    XDOConfig,
    XODOConfig,
)
from saddlepoint.solvers.efg_best_response import behaviour_from_weights
from saddlepoint.solvers.mccfr import OutcomeSamplingConfig

THRESHOLDS = (0.5, 0.2, 0.09, 0.02, 0.005, 1e-3, 3e-4)
"""Exploitability thresholds of the nodes-to-threshold table (the paper's grid plus 1e-3)."""

GAMES = {
    "kuhn": ("Kuhn", zoo.kuhn_poker),
    "leduc": ("Leduc", zoo.leduc_poker),
    "leduc_dummy": ("Leduc-Dummy", zoo.leduc_dummy),
    "liars_dice": ("Liar's Dice", zoo.liars_dice),
    "oshi_zumo": ("Oshi-Zumo", lambda: zoo.oshi_zumo(coins=4, size=1, horizon=6)),
}
DETERMINISTIC = ("adado", "adado_ws", "xdo", "xdo_cfr", "xodo", "pdo", "pdo_ws", "psro", "cfr", "cfr_plus",
                 "linear_cfr", "dcfr")
STOCHASTIC = ("mccfr_outcome", "adado_stochastic")
EXTENSION = ("adado_allowed", "xdo_allowed")
"""Arms whose output keeps the inner solver's play at unreachable infosets (run on the
preset's ``extension_games``), against which the default uniform extension is measured."""
DO_ARMS = ("adado", "adado_ws", "xdo", "xdo_cfr", "xodo", "pdo", "pdo_ws", "psro")
SUPPORT_LEVELS = (0.0, 1e-4, 1e-3, 1e-2, 0.1)
"""The support table counts actions played with probability above each level at e < 1e-3."""

RMDO_ARMS = {"adado": AdaDOConfig(), "adado_ws": AdaDOConfig(warm_start=True), "xdo": XDOConfig(),
             "xdo_cfr": XDOConfig(inner="cfr"), "xodo": XODOConfig(), "pdo": PDOConfig(),
             "pdo_ws": PDOConfig(warm_start=True), "adado_stochastic": AdaDOStochasticConfig(),
             "adado_allowed": AdaDOConfig(unreachable="allowed"), "xdo_allowed": XDOConfig(unreachable="allowed")}
"""The RMDO-loop arms and their configs (budgets are set per cell)."""
_CFR = {"cfr": CFRConfig, "cfr_plus": CFRPlusConfig, "linear_cfr": LinearCFRConfig, "dcfr": DCFRConfig}


@dataclass(frozen=True, kw_only=True)
class AdaDOPreset(Preset):
    """Settings of the AdaDO reproduction. Budgets are ``(game, nodes)`` pairs (tuples, not
    dicts, so the preset round-trips through JSON)."""

    budgets: tuple[tuple[str, int], ...]
    """Nodes-visited budget of the deterministic methods, per game."""
    stochastic_budgets: tuple[tuple[str, int], ...]
    """Budget of the stochastic methods, per game (only these games run them)."""
    psro_iterations: int
    """Cap on PSRO iterations (its LP meta-solve grows with the population)."""
    extension_games: tuple[str, ...] = ()
    """Games on which the :data:`EXTENSION` arms run (deterministic budget)."""
    eval_points: int = 60
    """Log-spaced evaluation points of the baselines."""


@functools.lru_cache(maxsize=8)
def compiled(game: str) -> CompiledGame:
    """The compiled game ``game`` (once per process)."""
    return compile_game(GAMES[game][1]())


def game_size(cg: CompiledGame) -> dict[str, int]:
    """Histories, infosets and (infoset, action) pairs of a compiled game."""
    return {"histories": cg.num_histories, "infosets": sum(cg.num_infosets),
            "actions": sum(tp.num_sequences - 1 for tp in cg.players)}


# --------------------------------------------------------------------------- running one method
def support(cg: CompiledGame, behaviours: tuple[np.ndarray, np.ndarray]) -> dict[str, float]:
    """Share of all (infoset, action) pairs of both players played with probability above each
    of :data:`SUPPORT_LEVELS`."""
    probs = np.concatenate([b[1:] for b in behaviours])
    return {f"support_gt_{lv:g}": float(np.mean(probs > lv)) for lv in SUPPORT_LEVELS}


def _behaviour_of_plans(cg: CompiledGame, plans: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    return behaviour_from_weights(cg, 0, plans[0]), behaviour_from_weights(cg, 1, plans[1])


def _run_double_oracle(cg: CompiledGame, algo: str, budget: int, seed: int,
                       psro_iterations: int) -> tuple[list[dict], dict[str, float]]:
    """The curve (one row per window, until the node budget is spent or PSRO converges) and
    the support of the first output with e < 1e-3."""
    config = (PSROConfig(iterations=psro_iterations, max_nodes=budget) if algo == "psro"
              else dataclasses.replace(RMDO_ARMS[algo], iterations=None, max_nodes=budget))
    method = make_method(cg, config, np.random.default_rng(seed))
    supp: dict[str, float] = {}

    def evaluate(m: Any) -> dict[str, Any]:
        row = m.metrics()
        if not supp and row["exploitability"] < 1e-3:
            supp.update(support(cg, _behaviour_of_plans(cg, m.output_plans())))
        return {k: row[k] for k in ("exploitability", "restricted_actions", "window")} | {
            "expansions": row.get("expansions", row.get("population"))}

    trace = run(method, Budget(budget, "nodes_visited"), evaluate=evaluate, every_step=1, show_progress=False)
    return [{k: r[k] for k in ("nodes_visited", "exploitability", "restricted_actions", "window", "expansions",
                              "seconds")} for r in trace.rows], supp


def _run_baseline(cg: CompiledGame, algo: str, budget: int, seed: int,
                  points: int) -> tuple[list[dict], dict[str, float]]:
    """The curve at log-spaced node counts and the support of the first average with e < 1e-3."""
    config = OutcomeSamplingConfig() if algo == "mccfr_outcome" else _CFR[algo]()
    method = make_method(cg, config, np.random.default_rng(seed))
    supp: dict[str, float] = {}

    def evaluate(m: Any) -> dict[str, float]:
        e = m.metrics()["exploitability"]
        if not supp and e < 1e-3:
            supp.update(support(cg, _behaviour_of_plans(cg, m.average_plans())))
        return {"exploitability": e}

    marks = np.geomspace(max(budget / 1e4, 10), budget, points).tolist()
    trace = run(method, Budget(budget, "nodes_visited"), evaluate=evaluate, at=marks, show_progress=False)
    return [{k: r[k] for k in ("nodes_visited", "exploitability", "seconds")} for r in trace.rows], supp


# --------------------------------------------------------------------------- analysis
def nodes_to(rows: list[dict], threshold: float) -> float:
    """Nodes visited when ``exploitability <= threshold`` first holds (inf if never)."""
    for row in rows:
        if row["exploitability"] <= threshold:
            return float(row["nodes_visited"])
    return math.inf


def mccfr_nodes_to(final: dict, threshold: float) -> tuple[float, bool]:
    """Nodes an OS-MCCFR run needs to reach ``threshold``, and whether that number was measured.

    Reached within the budget: the measured count. Not reached: the budget scaled by the
    O(1/sqrt(nodes)) rate of outcome sampling from the last exploitability e_B at budget B,
    ``B (e_B / threshold)^2`` (an extrapolation, flagged False)."""
    measured = float(final[f"nodes_to_{threshold:g}"])
    if math.isfinite(measured):
        return measured, True
    return float(final["nodes_visited"]) * (float(final["exploitability"]) / threshold) ** 2, False


def beats(a: float, b: float) -> bool:
    """``a < b`` for nodes-to-threshold counts, where a count only ``a`` has (``b`` infinite)
    counts for ``a`` and neither reaching counts for nobody."""
    return math.isfinite(a) and a < b


def restart_rises(rows: list[dict], factor: float = 1.1) -> int:
    """How often the exploitability rises by more than ``factor`` between consecutive windows."""
    e = [r["exploitability"] for r in rows]
    return sum(1 for u, v in itertools.pairwise(e) if v > factor * u)


def _thin(rows: list[dict], points: int = 300) -> list[dict]:
    """Keep the first row past each of ``points`` log-spaced node marks, and the last row."""
    if len(rows) <= points:
        return rows
    marks = np.geomspace(rows[0]["nodes_visited"], rows[-1]["nodes_visited"], points)
    idx = np.unique(np.searchsorted([r["nodes_visited"] for r in rows], marks))
    keep = [rows[i] for i in idx if i < len(rows)]
    return keep if keep[-1] is rows[-1] else keep + [rows[-1]]


_FLOOR = 1e-12
"""Exploitabilities below this (exact solutions, e.g. PSRO on Kuhn) are drawn at it."""


def _series(runs: dict[int, list[dict]], x: str = "nodes_visited") -> dict[str, np.ndarray]:
    """Mean / min / max over seeds on a common log-spaced grid of ``x`` (log-log interpolation)."""
    curves = [[r for r in c if r[x] > 0] for c in runs.values()]
    curves = [c for c in curves if c]
    lo = max(c[0][x] for c in curves)
    hi = min(c[-1][x] for c in curves)
    grid = np.geomspace(lo, max(hi, lo), 80) if len(curves) > 1 else np.array([r[x] for r in curves[0]], float)
    vals = np.array([np.exp(np.interp(np.log(grid), np.log([r[x] for r in c]),
                                      np.log(np.maximum([r["exploitability"] for r in c], _FLOOR))))
                     for c in curves])
    return {"x": grid, "mean": vals.mean(0), "lo": vals.min(0), "hi": vals.max(0), "n_seeds": np.array(len(curves))}


# --------------------------------------------------------------------------- the experiment
class AdaDO(Experiment):
    """Every method on every game of the preset; see the module docstring."""

    name = "adado"
    title = "AdaDO / RMDO reproduction"
    presets = {
        "smoke": AdaDOPreset(budgets=(("kuhn", 300_000), ("leduc", 60_000_000)),
                             stochastic_budgets=(("kuhn", 200_000),), seeds=(0, 1), psro_iterations=60,
                             extension_games=("kuhn",)),
        # The notes: 1e8 (Kuhn, Large Kuhn) / 1e9 (others) deterministic nodes; issue 20 fixes 1e8 for
        # the claim-1 games (Leduc, Liar's Dice). Stochastic runs are shrunk to what one core does in
        # minutes (OS-MCCFR visits ~2e4 nodes a second here).
        "paper": AdaDOPreset(budgets=(("kuhn", 3_000_000), ("leduc", 100_000_000), ("liars_dice", 100_000_000),
                                      ("leduc_dummy", 300_000_000), ("oshi_zumo", 100_000_000)),
                             stochastic_budgets=(("kuhn", 1_000_000), ("leduc_dummy", 2_000_000)), seeds=(0, 1, 2),
                             psro_iterations=300, extension_games=("leduc", "liars_dice")),
    }
    criteria_commit = "284ccd381dc96c570b6879c64e885f787896a6f7"

    def config(self, p: AdaDOPreset) -> dict:
        return {"thresholds": list(THRESHOLDS), "deterministic_methods": list(DETERMINISTIC),
                "stochastic_methods": list(STOCHASTIC), "extension_methods": list(EXTENSION),
                "rmdo": {a: {"class": type(c).__name__, **dataclasses.asdict(c)} for a, c in RMDO_ARMS.items()},
                "mccfr_outcome": {"epsilon": 0.6}}

    def cells(self, p: AdaDOPreset) -> list[Cell]:
        det = dict(p.budgets)
        cells = [Cell(f"{g}/{a}/seed=0", seed=0, params={"game": g, "algo": a, "budget": b})
                 for g, b in p.budgets for a in DETERMINISTIC + (EXTENSION if g in p.extension_games else ())]
        cells += [Cell(f"{g}/{a}/seed=0", seed=0, params={"game": g, "algo": a, "budget": det[g]})
                  for g in p.extension_games if g not in det for a in EXTENSION]
        return cells + [Cell(f"{g}/{a}/seed={s}", seed=s, params={"game": g, "algo": a, "budget": b})
                        for g, b in p.stochastic_budgets for a in STOCHASTIC for s in p.seeds]

    def run_cell(self, p: AdaDOPreset, cell: Cell) -> list[dict]:
        game, algo, budget = cell.params["game"], cell.params["algo"], cell.params["budget"]
        cg = compiled(game)
        if algo in RMDO_ARMS or algo == "psro":
            curve, supp = _run_double_oracle(cg, algo, budget, cell.seed, p.psro_iterations)
        else:
            curve, supp = _run_baseline(cg, algo, budget, cell.seed, p.eval_points)
        head = {"game": game, "algo": algo, "seed": cell.seed}
        final = {"section": "final", **head, **curve[-1], **game_size(cg), "restart_rises": restart_rises(curve),
                 **{f"nodes_to_{t:g}": nodes_to(curve, t) for t in THRESHOLDS}, **supp}
        return [{"section": "curve", **head, **r} for r in _thin(curve)] + [final]

    def summarise(self, p: AdaDOPreset, rows: list[dict]) -> Summary:
        finals = {(r["game"], r["algo"], r["seed"]): r for r in rows if r["section"] == "final"}
        sizes = {g: {k: r[k] for k in ("histories", "infosets", "actions")} for (g, _, _), r in finals.items()}
        groups: dict[tuple[str, str], list[dict]] = {}
        for (g, a, _), r in finals.items():
            groups.setdefault((g, a), []).append(r)
        table, table_rows = {}, []
        for (g, a), per in groups.items():
            entry = {t: float(np.median([float(r[f"nodes_to_{t:g}"]) for r in per])) for t in THRESHOLDS}
            table[(g, a)] = entry
            ra = per[0].get("restricted_actions")
            table_rows.append([GAMES[g][0], a, len(per)] + [_fmt_nodes(entry[t]) for t in THRESHOLDS]
                              + [float(np.median([r["exploitability"] for r in per])),
                                 f"{int(ra)} / {sizes[g]['actions']}" if ra is not None else "full",
                                 int(per[0]["expansions"]) if per[0].get("expansions") is not None else "—"])
        claims, criteria = _claims(finals, p)
        final_keys = ("nodes_visited", "exploitability", "restricted_actions", "window", "expansions", "seconds")
        return Summary(
            claims=claims, facts=_facts(finals, sizes), criteria=criteria,
            values={"sizes": sizes,
                    "nodes_to_threshold": [{"game": g, "algo": a, **{str(t): v for t, v in e.items()}}
                                           for (g, a), e in table.items()],
                    "final": [{"game": g, "algo": a, "seed": s, **{k: r[k] for k in final_keys if k in r}}
                              for (g, a, s), r in finals.items()],
                    "observations": _observations(finals)},
            intro=_intro(p),
            sections=_sections(p, sizes, table_rows) + _support_section(finals) + _extension_section(finals, p)
            + _reading(claims, finals))

    def plot(self, run_dir: RunDir) -> list[str]:
        """Exploitability against nodes visited and against wall time, one panel per game."""
        curves: dict[tuple[str, str], dict[int, list[dict]]] = {}
        for r in run_dir.metrics():
            if r["section"] == "curve":
                curves.setdefault((r["game"], r["algo"]), {}).setdefault(int(r["seed"]), []).append(r)
        return [_figure(run_dir, curves, "nodes_visited", "nodes visited", "exploitability_vs_nodes.png"),
                _figure(run_dir, curves, "seconds", "wall time (s)", "exploitability_vs_seconds.png")]


def _fmt_nodes(v: float) -> str:
    return "—" if not math.isfinite(v) else f"{v:.3g}"


def _nodes(finals: dict, game: str, algo: str, t: float) -> float:
    r = finals.get((game, algo, 0))
    return float(r[f"nodes_to_{t:g}"]) if r is not None else math.nan


def _claims(finals: dict[tuple[str, str, int], dict], p: AdaDOPreset) -> tuple[list[ClaimCheck], list]:
    """Second-round claims (criteria fixed before the paper run) and the criteria table."""
    claims = []
    games = [g for g in ("leduc", "liars_dice") if (g, "adado", 0) in finals and (g, "xdo", 0) in finals]
    if games:
        comps = {f"{GAMES[g][0]} e<={t:g}": {"adado": _nodes(finals, g, "adado", t), "xdo": _nodes(finals, g, "xdo", t),
                                              "holds": beats(_nodes(finals, g, "adado", t), _nodes(finals, g, "xdo", t))}
                 for g in games for t in (0.02, 0.005)}
        budgets = {GAMES[g][0]: b for g, b in p.budgets if g in games}
        claims.append(ClaimCheck(
            "AdaDO needs fewer nodes than XDO (CFR+ inside) to reach e <= 0.02 and e <= 0.005 on Leduc and Liar's Dice",
            f"nodes to e <= 0.02 and to e <= 0.005: AdaDO < XDO on {', '.join(GAMES[g][0] for g in games)}, all "
            f"{len(comps)} comparisons; budgets {budgets}; only AdaDO reaching counts for AdaDO",
            len(games) == 2 and all(c["holds"] for c in comps.values()), comps,
            paper="AdaDO below XDO at every threshold (Fig. 2, Table 2)", seeds=1))
    g = "leduc_dummy"
    if (g, "linear_cfr", 0) in finals:
        t = 0.005
        do = {a: _nodes(finals, g, a, t) for a in DO_ARMS if (g, a, 0) in finals}
        best_arm = min(do, key=lambda a: do[a])
        best = do[best_arm]
        lcfr = _nodes(finals, g, "linear_cfr", t)
        mc = [mccfr_nodes_to(r, t) for (gg, a, _), r in finals.items() if gg == g and a == "mccfr_outcome"]
        mc_nodes = float(np.median([m[0] for m in mc])) if mc else math.nan
        claims.append(ClaimCheck(
            "on Leduc-Dummy the best double-oracle arm reaches e <= 0.005 with fewer nodes than Linear CFR and "
            "than outcome-sampling MCCFR",
            "min over DO arms of nodes to e <= 0.005 < Linear CFR's and < OS-MCCFR's (median over seeds; an "
            "OS-MCCFR run that stops short is extrapolated as B (e_B / 0.005)^2)",
            beats(best, lcfr) and beats(best, mc_nodes),
            {"best DO arm": best_arm, "DO nodes": best, "linear_cfr nodes": lcfr, "os_mccfr nodes": mc_nodes,
             "os_mccfr measured (not extrapolated)": [m[1] for m in mc]},
            paper="fewer samples than Linear CFR and MCCFR (abstract)", seeds=len(mc) or 1))
    criteria = [
        ("Leduc and Liar's Dice: cold-start AdaDO reaches e <= 0.02 and e <= 0.005 with fewer nodes than XDO "
         "(CFR+ inside), budget 1e8; all four comparisons; a threshold only AdaDO reaches counts for AdaDO",
         "the same (one claim, four comparisons, both games at 1e8 nodes)", True),
        ("Leduc-Dummy: the best DO arm reaches e <= 0.005 with fewer nodes than Linear CFR and than OS-MCCFR "
         "(the abstract's claim)",
         "the same, except that OS-MCCFR's budget (" + ", ".join(f"{b:.0e}" for gg, b in p.stochastic_budgets
                                                              if gg == g) +
         " nodes) is far below the DO arms'; a run that stops short is extrapolated at OS-MCCFR's 1/sqrt(nodes) "
         "rate", False),
    ]
    return claims, criteria


def _facts(finals: dict, sizes: dict) -> list[Fact]:
    facts = []
    if (g := "leduc_dummy", "adado", 0) in finals:
        ra = int(finals[(g, "adado", 0)]["restricted_actions"])
        facts.append(Fact("AdaDO's final restricted game is smaller than the full game on Leduc-Dummy",
                          ra < sizes[g]["actions"], {"restricted_actions": ra, "full_actions": sizes[g]["actions"]}))
    rises = {g: int(finals[(g, "xdo", 0)]["restart_rises"]) for g in ("leduc", "liars_dice") if (g, "xdo", 0) in finals}
    if rises:
        facts.append(Fact("XDO's curve shows its restarts (exploitability rises > 10% between consecutive windows)",
                          any(v > 0 for v in rises.values()), rises))
    return facts


def _observations(finals: dict) -> dict[str, Any]:
    """Lines reported either way (not claims): Leduc-Dummy at 0.02, warm start at 0.005."""
    out: dict[str, Any] = {}
    g = "leduc_dummy"
    if (g, "adado", 0) in finals:
        n = {a: _nodes(finals, g, a, 0.02) for a in ("adado", "pdo", "xdo", "linear_cfr")}
        out["Leduc-Dummy: AdaDO and PDO reach 0.02 before XDO and Linear CFR"] = {
            "holds": all(beats(n[a], n[b]) for a in ("adado", "pdo") for b in ("xdo", "linear_cfr")), "nodes": n}
    for game in dict.fromkeys(gg for gg, a, _ in finals if a == "adado_ws"):
        a, w = _nodes(finals, game, "adado", 0.005), _nodes(finals, game, "adado_ws", 0.005)
        out[f"{GAMES[game][0]}: AdaDO-WS needs fewer nodes than AdaDO to 0.005"] = {
            "holds": beats(w, a), "adado_ws": w, "adado": a}
    return out


def _support_section(finals: dict) -> list[str]:
    rows = [[GAMES[g][0], a, s] + [r.get(f"support_gt_{lv:g}") for lv in SUPPORT_LEVELS]
            for (g, a, s), r in finals.items() if r.get("support_gt_0") is not None]
    if not rows:
        return []
    return ["\n## Support at e < 1e-3\n",
            "Share of all (infoset, action) pairs of both players played with probability above each level, for "
            "the first output (DO: window output; CFR family: average) with exploitability below 1e-3. DO outputs "
            "play uniformly over all actions where the restricted game cannot reach, which counts there as support.\n",
            markdown_table(["game", "method", "seed"] + [f"> {lv:g}" for lv in SUPPORT_LEVELS], rows)]


def _extension_section(finals: dict, p: AdaDOPreset) -> list[str]:
    rows = []
    for g in p.extension_games:
        for base, alt in (("adado", "adado_allowed"), ("xdo", "xdo_allowed")):
            if (g, base, 0) in finals and (g, alt, 0) in finals:
                rows.append([GAMES[g][0], base] + [f"{_fmt_nodes(_nodes(finals, g, base, t))} / "
                                                   f"{_fmt_nodes(_nodes(finals, g, alt, t))}" for t in (0.09, 0.02, 0.005, 1e-3)]
                            + [f"{finals[(g, base, 0)]['exploitability']:.3g} / {finals[(g, alt, 0)]['exploitability']:.3g}"])
    if not rows:
        return []
    return ["\n## How much the uniform extension changes the curves\n",
            "Nodes to each exploitability with the default extension (uniform over all actions at infosets the "
            "restricted game cannot reach) / with the inner solver's play there (uniform over the allowed actions). "
            "The extension changes the best responses, hence the expansions, not only the measured exploitability.\n",
            markdown_table(["game", "method", "≤ 0.09", "≤ 0.02", "≤ 0.005", "≤ 0.001", "final e"], rows)]


def _reading(claims: list[ClaimCheck], finals: dict) -> list[str]:
    lines = ["\n## Reading the checks\n",
             "Each claim passes only if every comparison in it holds; a count is the nodes visited when the "
             "curve first reaches the threshold ('inf': not within budget).\n"]
    for c in claims:
        lines.append(f"- {'passed' if c.passed else '**missed**'}: {c.claim}; measured {c.measured}.\n")
    obs = _observations(finals)
    if obs:
        lines.append("\nLines reported either way (not claims):\n")
        lines += [f"- {'holds' if v['holds'] else 'does not hold'}: {k} ({ {kk: vv for kk, vv in v.items() if kk != 'holds'} })\n"
                  for k, v in obs.items()]
    return lines


def _figure(run_dir: RunDir, curves: dict, x: str, xlabel: str, name: str) -> str:
    require("matplotlib", "plot")
    import matplotlib.pyplot as plt

    games = list(dict.fromkeys(g for g, _ in curves))
    cols = min(3, len(games))
    nrows = math.ceil(len(games) / cols)
    fig, axes = plt.subplots(nrows, cols, figsize=(5.2 * cols, 4.0 * nrows), dpi=110, squeeze=False)
    for ax, game in zip(axes.flat, games):
        ax.set_prop_cycle(color=plt.cm.tab20.colors[::2] + plt.cm.tab20.colors[1::2])
        series = {a: _series(per, x) for (g, a), per in curves.items() if g == game}
        plot_series(series, run_dir.figures / name, xlabel=xlabel, ylabel="exploitability", title=GAMES[game][0], ax=ax)
    for ax in list(axes.flat)[len(games):]:
        ax.set_visible(False)
    fig.tight_layout()
    fig.savefig(run_dir.figures / name)
    plt.close(fig)
    return name


def _intro(p: AdaDOPreset) -> list[str]:
    budgets = ", ".join(f"{GAMES[g][0]} {b:.0e}" for g, b in p.budgets)
    sbudgets = ", ".join(f"{GAMES[g][0]} {b:.0e}" for g, b in p.stochastic_budgets)
    return [
        ("Paper: Tang et al., *Sample-Efficient Regret-Minimizing Double Oracle in Extensive-Form Games*, "
         "arXiv 2411.00954. **Paper's claim:** XDO's expansion schedule makes its sample complexity "
         "exponential in the final restricted-game size; AdaDO's adaptive window makes it polynomial, so "
         "AdaDO reaches a given exploitability with fewer nodes visited than XDO, the CFR family and PSRO.\n"),
        (f"Budgets (nodes visited): deterministic methods {budgets}; stochastic methods (seeds "
         f"{list(p.seeds)}) {sbudgets}. PSRO capped at {p.psro_iterations} iterations. Exploitability = "
         "NashConv / 2; nodes counted the same way for every method (solver passes + best responses; "
         "see docs/double_oracle.md).\n"),
    ]


def _sections(p: AdaDOPreset, sizes: dict, table_rows: list) -> list[str]:
    lines = [
        "\n## Games\n",
        markdown_table(["game", "histories", "infosets", "(infoset, action) pairs"],
                       [[GAMES[g][0], s["histories"], s["infosets"], s["actions"]] for g, s in sizes.items()]),
        "\n## Nodes visited to reach each exploitability (median over seeds; — = not within budget)\n",
        (f"Baselines are evaluated at {p.eval_points} log-spaced node counts, so their entries are rounded up to "
         "the next evaluation; double-oracle methods are evaluated after every window.\n"),
        markdown_table(["game", "method", "seeds"] + [f"≤ {t:g}" for t in THRESHOLDS]
                       + ["final exploitability", "restricted / all actions", "expansions"], table_rows),
    ]
    lines.append("\n**Shrunk from the paper:** deterministic budgets are those above (the notes: 1e8 on Kuhn, 1e9 on "
                 "the others; issue 20 fixes 1e8 for Leduc and Liar's Dice); stochastic runs use small budgets (the "
                 "paper: 1e7-2e8 nodes, 5 seeds); no Large Kuhn; PSRO capped. Expansions: windows that added an "
                 "action (PSRO: population size).\n")
    return lines
