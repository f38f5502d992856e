"""Names of games, solvers and experiments, mapped to ``"module:attr"`` strings.

Listing imports nothing heavy; :func:`load` imports a target on first use. Each family adds
its own lines to the tables below (status ``works``, ``partial`` or ``planned``).
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass
from typing import Any

from saddlepoint.errors import InvalidInputError


@dataclass(frozen=True)
class Entry:
    """A registered name: where it lives, what kind of thing it is, and how finished it is."""

    target: str | None
    kind: str
    status: str
    description: str


def _nf(attr: str, description: str) -> Entry:
    return Entry(f"saddlepoint.games.normal_form:{attr}", "matrix", "works", description)


# Games. Matrix games take keyword parameters in OpenSpiel's string syntax, e.g.
# ``random_zero_sum(m=10,n=10,seed=0)``.
GAMES: dict[str, Entry] = {
    "rock_paper_scissors": _nf("rock_paper_scissors", "Rock-paper-scissors, value 0"),
    "matching_pennies": _nf("matching_pennies", "Matching pennies, value 0"),
    "biased_rps": _nf("biased_rps", "Rock-paper-scissors with asymmetric payoffs"),
    "shapley": _nf("shapley", "Shapley's 3x3 general-sum game (fictitious play cycles)"),
    "random_zero_sum": _nf("random_zero_sum", "Uniform [-1,1] payoffs; params m, n, seed"),
    "kuhn_poker": Entry("saddlepoint.games.zoo:kuhn_poker", "efg", "works", "Kuhn poker (OpenSpiel rules)"),
    "leduc_poker": Entry("saddlepoint.games.zoo:leduc_poker", "efg", "works", "Leduc poker (OpenSpiel rules)"),
    "leduc_dummy": Entry("saddlepoint.games.zoo:leduc_dummy", "efg", "works",
                         "Leduc-Dummy: Leduc with every action duplicated (RMDO paper)"),
    "liars_dice": Entry("saddlepoint.games.zoo:liars_dice", "efg", "works", "Liar's dice (OpenSpiel rules)"),
    "goofspiel": Entry("saddlepoint.games.zoo:goofspiel", "efg", "works", "Goofspiel, turn-based form"),
    "oshi_zumo": Entry("saddlepoint.games.zoo:oshi_zumo", "efg", "works", "Oshi-Zumo, turn-based form"),
    "random_preference": Entry("saddlepoint.preference.game:random_preference_game", "preference", "works",
                               "Preference game P = 1/2 + A, pi_ref ~ Dir(1); params n_responses, n_prompts, seed"),
}

# Solvers: configs whose ``method`` class variable names the method class (saddlepoint.method);
# ``kind`` lists the game kinds each solves (comma-separated). ``saddlepoint solve`` runs any of
# them through ``saddlepoint.solvers.base.solve``.
SOLVERS: dict[str, Entry] = {
    "lp": Entry("saddlepoint.solvers.matrix:LPConfig", "matrix", "works",
                "Exact equilibrium and value by linear programming (HiGHS)"),
    "regret_matching": Entry("saddlepoint.solvers.matrix:RegretMatchingConfig", "matrix", "works",
                             "Regret matching, simultaneous updates, uniform averaging"),
    "regret_matching_plus": Entry("saddlepoint.solvers.matrix:RegretMatchingPlusConfig", "matrix",
                                  "works", "Regret matching+, alternating updates, linear averaging"),
    "hedge": Entry("saddlepoint.solvers.matrix:HedgeConfig", "matrix", "works",
                   "Multiplicative weights (Hedge)"),
    "optimistic_hedge": Entry("saddlepoint.solvers.matrix:OptimisticHedgeConfig", "matrix", "works",
                              "Optimistic multiplicative weights (last iterate converges)"),
    "extragradient": Entry("saddlepoint.solvers.matrix:ExtragradientConfig", "matrix", "works",
                           "Extragradient / mirror prox with entropic mirror map"),
    "fictitious_play": Entry("saddlepoint.solvers.matrix:FictitiousPlayConfig", "matrix", "works",
                             "Fictitious play (simultaneous best responses)"),
    "cfr": Entry("saddlepoint.solvers.cfr:CFRConfig", "efg", "works", "Counterfactual regret minimisation"),
    "cfr_plus": Entry("saddlepoint.solvers.cfr:CFRPlusConfig", "efg", "works", "CFR+"),
    "linear_cfr": Entry("saddlepoint.solvers.cfr:LinearCFRConfig", "efg", "works", "Linear CFR"),
    "dcfr": Entry("saddlepoint.solvers.cfr:DCFRConfig", "efg", "works", "Discounted CFR"),
    "mccfr_external": Entry("saddlepoint.solvers.mccfr:ExternalSamplingConfig", "efg", "works",
                            "External-sampling MCCFR"),
    "mccfr_outcome": Entry("saddlepoint.solvers.mccfr:OutcomeSamplingConfig", "efg", "works",
                           "Outcome-sampling MCCFR"),
    "sequence_form_lp": Entry("saddlepoint.solvers.sequence_form_lp:SequenceFormLPConfig", "efg",
                              "works", "Exact EFG equilibrium by the sequence-form LP (HiGHS)"),
    "adado": Entry("saddlepoint.solvers.double_oracle.rmdo:AdaDOConfig", "efg", "works",
                   "Adaptive double oracle (AdaDO), CFR+ inside"),
    "xdo": Entry("saddlepoint.solvers.double_oracle.rmdo:XDOConfig", "efg", "works",
                 "Extensive-form double oracle (XDO), CFR+ inside"),
    "xodo": Entry("saddlepoint.solvers.double_oracle.rmdo:XODOConfig", "efg", "works",
                  "XODO: best responses after every CFR+ iteration"),
    "pdo": Entry("saddlepoint.solvers.double_oracle.rmdo:PDOConfig", "efg", "works",
                 "Periodic double oracle (fixed window of CFR+ iterations)"),
    "adado_stochastic": Entry("saddlepoint.solvers.double_oracle.rmdo:AdaDOStochasticConfig", "efg", "works",
                              "Stochastic AdaDO (SADO): outcome-sampling MCCFR inside"),
    "pdo_stochastic": Entry("saddlepoint.solvers.double_oracle.rmdo:PDOStochasticConfig", "efg", "works",
                            "Stochastic PDO (SPDO): outcome-sampling MCCFR inside"),
    "psro": Entry("saddlepoint.solvers.double_oracle.psro:PSROConfig", "efg", "works",
                  "PSRO with an exact meta-game and an LP Nash meta-solver"),
    "do": Entry("saddlepoint.solvers.double_oracle.matrix_do:DOConfig", "matrix,efg", "works",
                "Double oracle: LP on restricted matrix games; on an EFG over its pure strategies (= exact PSRO)"),
    "double_oracle": Entry("saddlepoint.solvers.double_oracle.matrix_do:DoubleOracleConfig", "matrix,efg", "works",
                           "Double oracle (as `do`, stopping at NashConv <= 1e-12)"),
    "sppo": Entry("saddlepoint.preference.dynamics:SPPOConfig", "preference", "works",
                  "SPPO, exact tabular limit (multiplicative weights), eta = 1"),
    "rspo": Entry("saddlepoint.preference.dynamics:RSPOConfig", "preference", "works",
                  "RSPO, reverse KL, exact regression (magnetic MD), eta = 1, tau = 0.05"),
    "inpo": Entry("saddlepoint.preference.dynamics:INPOConfig", "preference", "works",
                  "INPO / online mirror descent on the KL-regularised game, eta = 1, tau = 0.05"),
    "nash_md": Entry("saddlepoint.preference.dynamics:NashMDConfig", "preference", "works",
                     "Nash-MD (geometric-mixture mirror descent), eta = 1, tau = 0.05"),
    "nash_mirror_prox": Entry("saddlepoint.preference.dynamics:NashMirrorProxConfig", "preference", "works",
                              "Nash mirror prox (extragradient, magnetic MD steps), eta = 1, tau = 0.05"),
    "preference_lp": Entry("saddlepoint.preference.dynamics:PreferenceLPConfig", "preference", "works",
                           "Nash equilibrium of a preference game by LP per prompt (value 1/2)"),
}

# Bayesian optimisation: name -> method config (its ``method`` class variable names the class;
# kind ``mean_field``: N agents on K actions, ``box``: a black box on a box).
BO_METHODS: dict[str, Entry] = {
    "mf-gp-ucb": Entry("saddlepoint.bayesopt.config:MeanFieldGPUCBConfig", "mean_field", "works",
                       "Mean-field GP-UCB: GP on (action, mean field) (2502.12315)"),
    "agg-gp-ucb": Entry("saddlepoint.bayesopt.config:AggregateGPUCBConfig", "mean_field", "works",
                        "GP-UCB on the mean field with the team average as a scalar"),
    "naive-gp-ucb": Entry("saddlepoint.bayesopt.config:NaiveJointGPUCBConfig", "mean_field", "works",
                          "GP-UCB on the one-hot joint action (input dimension N K)"),
    "random": Entry("saddlepoint.bayesopt.config:RandomAssignmentConfig", "mean_field", "works",
                    "Every agent picks an action uniformly at random"),
    "gp-ucb": Entry("saddlepoint.bayesopt.config:GPUCBConfig", "box", "works",
                    "GP-UCB on a box (Srinivas et al. 2010)"),
}

# Linear bandit algorithms: name -> config (its ``method`` class variable names the class).
BANDIT_ALGORITHMS: dict[str, Entry] = {
    "linucb": Entry("saddlepoint.bandits.algorithms:LinUCBConfig", "bandit", "works", "LinUCB / OFUL"),
    "phased_elimination": Entry("saddlepoint.bandits.algorithms:PhasedEliminationConfig", "bandit", "works",
                                "Phased elimination with G-optimal design"),
    "explore_then_commit": Entry("saddlepoint.bandits.algorithms:ExploreThenCommitConfig", "bandit", "works",
                                 "Explore-then-commit (round-robin, then least squares)"),
    "uniform": Entry("saddlepoint.bandits.algorithms:UniformConfig", "bandit", "works", "Uniformly random arms"),
}

# Reproductions: subclasses of ``saddlepoint.experiments.base.Experiment`` (the class is the target).
EXPERIMENTS: dict[str, Entry] = {
    "matrix-games": Entry("saddlepoint.experiments.matrix_games:MatrixGames", "experiment", "works",
                          "Matrix-game solvers: average and last-iterate exploitability"),
    "adado": Entry("saddlepoint.experiments.adado:AdaDO", "experiment", "works",
                   "AdaDO / RMDO vs XDO and CFR (2411.00954)"),
    "rspo": Entry("saddlepoint.experiments.rspo:RSPO", "experiment", "works",
                  "RSPO and self-play baselines (2503.00030)"),
    "rspo-smollm2": Entry("saddlepoint.experiments.rspo_smollm2:RSPOSmolLM2", "experiment", "works",
                          "RSPO vs SPPO on SmolLM2 under a verbosity-biased judge (2503.00030)"),
    "rmod": Entry("saddlepoint.experiments.rmod:Rmod", "experiment", "works",
                  "Robust multi-objective decoding (2503.08796)"),
    "inferenceguard": Entry("saddlepoint.experiments.inferenceguard:InferenceGuard", "experiment", "works",
                            "Safe decoding (2502.01208)"),
    "wd1": Entry("saddlepoint.experiments.wd1:WD1", "experiment", "works",
                 "wd1 vs d1 on a masked diffusion LM (2507.08838)"),
    "linear-bandits": Entry("saddlepoint.experiments.linear_bandits:LinearBandits", "experiment", "works",
                            "Gap-adjusted misspecified linear bandits (2501.05361)"),
    "mean-field-bo": Entry("saddlepoint.experiments.mean_field_bo:MeanFieldBO", "experiment", "works",
                           "Mean-field GP-UCB (2502.12315)"),
    "imac": Entry("saddlepoint.experiments.imac:IMAC", "experiment", "works",
                  "Imagined autocurricula (2509.13341)"),
    "maze-generalisation": Entry("saddlepoint.experiments.maze_generalisation:MazeGeneralisation", "experiment",
                                 "works", "Offline RL (BC, CQL) generalisation gap on procedural mazes, PPO ceiling"),
    "offline-synthetic": Entry("saddlepoint.experiments.offline_synthetic:OfflineSynthetic", "experiment", "works",
                               "Synthetic data for offline RL (2508.12356)"),
    "moa": Entry("saddlepoint.experiments.moa:MoA", "experiment", "works",
                 "Deception in Mixture-of-Agents (2503.05856)"),
    "sweep": Entry("saddlepoint.experiments.sweep:SolverSweep", "experiment", "works",
                   "Games x solvers x seeds (use `saddlepoint sweep --games ... --algos ...`)"),
}


def load(target: str) -> Any:
    """Import ``"module:attr"`` and return the attribute."""
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)


def lookup(table: dict[str, Entry], name: str, what: str) -> Entry:
    """The entry for ``name`` or an error listing the valid names; planned entries are refused."""
    entry = table.get(name)
    if entry is None:
        raise InvalidInputError(f"unknown {what} {name!r}; choose from: {', '.join(sorted(table))}")
    if entry.target is None:
        raise InvalidInputError(f"{what} {name!r} is planned but not implemented yet")
    return entry


_GAME_STRING = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?:\((.*)\))?\s*$")


def parse_game_string(text: str) -> tuple[str, dict[str, Any]]:
    """Split OpenSpiel-style ``name(key=value,...)`` into a name and typed parameters.

    Values become ``int``, ``float``, ``bool`` (``true``/``false``) or stay strings.
    """
    match = _GAME_STRING.match(text)
    if match is None:
        raise InvalidInputError(f"cannot parse game string {text!r}; expected name(key=value,...)")
    name, body = match.group(1), match.group(2)
    params: dict[str, Any] = {}
    if body and body.strip():
        for item in body.split(","):
            key, sep, value = item.partition("=")
            key, value = key.strip(), value.strip()
            if not sep or not key or not value:
                raise InvalidInputError(f"bad parameter {item.strip()!r} in game string {text!r}")
            params[key] = _parse_value(value)
    return name, params


def _parse_value(value: str) -> Any:
    if value.lower() in ("true", "false"):
        return value.lower() == "true"
    for cast in (int, float):
        try:
            return cast(value)
        except ValueError:
            pass
    return value
