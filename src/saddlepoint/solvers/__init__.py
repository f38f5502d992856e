"""Solvers: equilibrium computation for matrix games (LP, regret matching, Hedge, extragradient, ...),
extensive-form games (CFR family, MCCFR, sequence-form LP, double oracle family) and, through
:mod:`saddlepoint.preference`, preference games."""

from saddlepoint.solvers.base import SolveResult
from saddlepoint.solvers.exploitability import best_response, exploitability, nash_conv
from saddlepoint.solvers.lp import solve_zero_sum

__all__ = ["SolveResult", "best_response", "exploitability", "nash_conv", "solve_zero_sum"]
