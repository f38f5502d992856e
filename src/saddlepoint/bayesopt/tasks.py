"""Seeded mean-field task simulators "inspired by" the paper's tasks (its data are not shipped).

A task has K actions (stations, regions, ports) and a per-agent payoff f(a, xi) common to all
agents, where xi (K,) is the share of agents on each action. The team objective is
F(xi) = sum_a xi_a f(a, xi); regret is measured against F* = max over the N-lattice, found
exactly: by dynamic programming when f(a, xi) depends on xi only through xi_a (separable), by
enumeration for small lattices otherwise. Every task is built from a ``numpy`` generator and
holds plain arrays, so it is deterministic given a seed and needs no files.

- :class:`CoverageTask`: the notes' "coverage with congestion", f = r_a min(1, d_a / xi_a)
  smoothed.
- :class:`BikeSharingTask`: stations in the unit square, demand from a Gaussian mixture of
  hotspots scaled by a time-of-day profile, decaying with walking distance.
- :class:`TaxiFleetTask`: grid regions, Poisson demand, payoff softmin(1, demand / supply)
  minus the repositioning cost from the depot.
- :class:`RefuellingPortsTask`: log-normal fuel prices, detour costs from a shipping lane,
  congestion cost growing with the share of vessels at a port.
- :class:`QuadraticInteractionTask`: synthetic, non-separable: f = r_a - (W xi)_a.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from saddlepoint.bayesopt.lattice import (
    counts_of,
    enumerate_lattice,
    lattice_size,
    separable_optimum,
)
from saddlepoint.config import check_positive, check_positive_int
from saddlepoint.errors import InvalidInputError

__all__ = [
    "TASKS",
    "BikeSharingTask",
    "CoverageTask",
    "MeanFieldTask",
    "QuadraticInteractionTask",
    "RefuellingPortsTask",
    "TaxiFleetTask",
    "make_task",
    "soft_min_one",
]

_EPS = 1e-3


def soft_min_one(demand: np.ndarray, supply: np.ndarray) -> np.ndarray:
    """Smooth min(1, demand / supply) = demand / ((supply + eps)^4 + demand^4)^{1/4}: the
    share of units that find work when ``supply`` units meet ``demand``."""
    return demand / ((supply + _EPS) ** 4 + demand ** 4) ** 0.25


@dataclass(frozen=True)
class MeanFieldTask:
    """Base class: subclasses define :meth:`payoffs`; features are one-hot unless given."""

    name: str = field(default="task", init=False)
    separable: bool = field(default=True, init=False)

    @property
    def n_actions(self) -> int:
        raise NotImplementedError

    @property
    def action_features(self) -> np.ndarray:
        """Features of each action (K, p) for the surrogate's kernel (default: one-hot)."""
        return np.eye(self.n_actions)

    def payoffs(self, xi: np.ndarray) -> np.ndarray:
        """f(a, xi) for every action: shape (..., K) -> (..., K)."""
        raise NotImplementedError

    def value(self, xi: np.ndarray) -> np.ndarray:
        """Team objective F(xi) = sum_a xi_a f(a, xi): shape (..., K) -> (...)."""
        x = np.asarray(xi, dtype=float)
        return (x * self.payoffs(x)).sum(-1)

    def optimum(self, n_agents: int, *, limit: int = 2_000_000) -> tuple[float, np.ndarray]:
        """Exact (F*, counts) over the N-lattice: dynamic programming for separable tasks,
        enumeration of at most ``limit`` points otherwise."""
        check_positive_int("n_agents", n_agents)
        k = self.n_actions
        if self.separable:
            c = np.arange(n_agents + 1) / n_agents
            gain = (c[:, None] * self.payoffs(np.repeat(c[:, None], k, axis=1))).T  # (k, n+1)
            return separable_optimum(gain)
        if lattice_size(n_agents, k) > limit:
            raise InvalidInputError(f"{self.name}: no exact optimum for N={n_agents} (lattice larger "
                                    f"than {limit}); use a smaller N")
        counts = enumerate_lattice(n_agents, k, limit=limit)
        vals = self.value(counts / n_agents)
        i = int(np.argmax(vals))
        return float(vals[i]), counts[i]

    def observe(self, actions: np.ndarray, rng: np.random.Generator, noise_sd: float) -> np.ndarray:
        """Per-agent noisy payoffs f(x_i, xi_x) + noise_sd * eps_i for a joint action (N,)."""
        a = np.asarray(actions)
        if a.ndim != 1 or a.size == 0 or not np.issubdtype(a.dtype, np.integer):
            raise InvalidInputError("actions must be a non-empty 1-D integer array")
        if a.min() < 0 or a.max() >= self.n_actions:
            raise InvalidInputError(f"actions must lie in 0..{self.n_actions - 1}")
        xi = counts_of(a, self.n_actions) / a.size
        f = self.payoffs(xi)[a]
        return f + noise_sd * rng.standard_normal(a.size)


@dataclass(frozen=True)
class CoverageTask(MeanFieldTask):
    """Coverage with congestion: f(a, xi) = r_a softmin(1, d_a / xi_a) (notes' task)."""

    demand: np.ndarray = field(default_factory=lambda: np.full(5, 0.2))
    """Demand share d_a of each location (K,), summing to one."""
    reward: np.ndarray = field(default_factory=lambda: np.ones(5))
    """Value r_a of serving one unit of demand at location a (K,)."""
    name: str = field(default="coverage", init=False)

    @classmethod
    def generate(cls, rng: np.random.Generator, n_actions: int = 5,
                 concentration: float = 0.4) -> CoverageTask:
        """d ~ Dirichlet(concentration), r ~ U[0.5, 1.5]."""
        check_positive_int("n_actions", n_actions)
        check_positive("concentration", concentration)
        return cls(demand=rng.dirichlet(np.full(n_actions, concentration)),
                   reward=rng.uniform(0.5, 1.5, size=n_actions))

    @property
    def n_actions(self) -> int:
        return self.demand.shape[0]

    def payoffs(self, xi: np.ndarray) -> np.ndarray:
        return self.reward * soft_min_one(self.demand, np.asarray(xi, dtype=float))


@dataclass(frozen=True)
class BikeSharingTask(MeanFieldTask):
    """Bike placement: f(a, xi) = softmin(1, d_a / xi_a) rides per bike at station a, with
    d_a the demand that reaches station a from a hotspot mixture at one hour of the day."""

    stations: np.ndarray = field(default_factory=lambda: np.zeros((1, 2)))
    """Station coordinates (K, 2) in the unit square."""
    demand: np.ndarray = field(default_factory=lambda: np.ones(1))
    """Demand share reaching each station (K,)."""
    name: str = field(default="bikes", init=False)

    @classmethod
    def generate(cls, rng: np.random.Generator, n_stations: int = 6, n_hotspots: int = 3,
                 hour: float = 8.0, walk: float = 0.15, n_trips: int = 4000) -> BikeSharingTask:
        """Hotspots with random centres; residential ones peak at 8h, business ones at 18h;
        trips drawn from the mixture go to the nearest station and are kept with probability
        exp(-distance / walk)."""
        check_positive_int("n_stations", n_stations)
        check_positive_int("n_hotspots", n_hotspots)
        check_positive("walk", walk)
        stations = rng.uniform(size=(n_stations, 2))
        centres = rng.uniform(0.1, 0.9, size=(n_hotspots, 2))
        business = rng.uniform(size=n_hotspots) < 0.5
        peak = np.where(business, 18.0, 8.0)
        weight = 0.2 + np.exp(-0.5 * ((hour - peak) / 2.0) ** 2)
        spot = rng.choice(n_hotspots, size=n_trips, p=weight / weight.sum())
        trips = np.clip(centres[spot] + 0.08 * rng.standard_normal((n_trips, 2)), 0, 1)
        dist = np.linalg.norm(trips[:, None, :] - stations[None], axis=-1)
        nearest = dist.argmin(1)
        kept = rng.uniform(size=n_trips) < np.exp(-dist[np.arange(n_trips), nearest] / walk)
        demand = np.bincount(nearest[kept], minlength=n_stations) / n_trips
        return cls(stations=stations, demand=demand)

    @property
    def n_actions(self) -> int:
        return self.demand.shape[0]

    @property
    def action_features(self) -> np.ndarray:
        return self.stations.copy()

    def payoffs(self, xi: np.ndarray) -> np.ndarray:
        return soft_min_one(self.demand, np.asarray(xi, dtype=float))


@dataclass(frozen=True)
class TaxiFleetTask(MeanFieldTask):
    """Taxi distribution: f(a, xi) = softmin(1, d_a / xi_a) - c * distance(depot, region a)."""

    centres: np.ndarray = field(default_factory=lambda: np.zeros((1, 2)))
    """Region centres (R, 2) on a grid in the unit square."""
    demand: np.ndarray = field(default_factory=lambda: np.ones(1))
    """Demand share of each region (R,), from Poisson ride counts."""
    cost: np.ndarray = field(default_factory=lambda: np.zeros(1))
    """Repositioning cost of sending one taxi to each region (R,)."""
    name: str = field(default="taxis", init=False)

    @classmethod
    def generate(cls, rng: np.random.Generator, grid: int = 3, rides: float = 200.0,
                 cost_per_distance: float = 0.2) -> TaxiFleetTask:
        """Regions on a grid x grid lattice, log-normal intensities, Poisson ride counts with
        ``rides`` expected in total; the depot sits at the corner (0, 0)."""
        check_positive_int("grid", grid)
        check_positive("rides", rides)
        g = (np.arange(grid) + 0.5) / grid
        centres = np.stack(np.meshgrid(g, g, indexing="ij"), -1).reshape(-1, 2)
        intensity = rng.lognormal(0.0, 1.0, size=grid * grid)
        counts = rng.poisson(rides * intensity / intensity.sum()) + 1
        return cls(centres=centres, demand=counts / counts.sum(),
                   cost=cost_per_distance * np.linalg.norm(centres, axis=1))

    @property
    def n_actions(self) -> int:
        return self.demand.shape[0]

    @property
    def action_features(self) -> np.ndarray:
        return self.centres.copy()

    def payoffs(self, xi: np.ndarray) -> np.ndarray:
        return soft_min_one(self.demand, np.asarray(xi, dtype=float)) - self.cost


@dataclass(frozen=True)
class RefuellingPortsTask(MeanFieldTask):
    """Refuelling ports: f(a, xi) = base - price_a - detour_a - congestion * xi_a / capacity_a
    (a payoff, i.e. minus the cost of refuelling at port a)."""

    ports: np.ndarray = field(default_factory=lambda: np.zeros((1, 2)))
    """Port coordinates (K, 2); the shipping lane is the line y = 0.5."""
    price: np.ndarray = field(default_factory=lambda: np.zeros(1))
    """Fuel price at each port (K,)."""
    detour: np.ndarray = field(default_factory=lambda: np.zeros(1))
    """Detour cost from the lane to each port (K,)."""
    capacity: np.ndarray = field(default_factory=lambda: np.ones(1))
    """Relative capacity of each port (K,)."""
    congestion: float = 1.0
    """Congestion cost at a port serving all vessels with capacity 1."""
    base: float = 2.0
    """Constant that keeps payoffs positive."""
    name: str = field(default="ports", init=False)

    @classmethod
    def generate(cls, rng: np.random.Generator, n_ports: int = 5, congestion: float = 1.0,
                 detour_cost: float = 1.0) -> RefuellingPortsTask:
        """Ports uniform in the unit square, prices LogNormal(log 0.5, 0.3), capacities
        U[0.5, 1.5]."""
        check_positive_int("n_ports", n_ports)
        check_positive("congestion", congestion)
        ports = rng.uniform(size=(n_ports, 2))
        return cls(ports=ports, price=rng.lognormal(np.log(0.5), 0.3, size=n_ports),
                   detour=detour_cost * np.abs(ports[:, 1] - 0.5),
                   capacity=rng.uniform(0.5, 1.5, size=n_ports), congestion=congestion)

    @property
    def n_actions(self) -> int:
        return self.price.shape[0]

    @property
    def action_features(self) -> np.ndarray:
        return self.ports.copy()

    def payoffs(self, xi: np.ndarray) -> np.ndarray:
        x = np.asarray(xi, dtype=float)
        return self.base - self.price - self.detour - self.congestion * x / self.capacity


@dataclass(frozen=True)
class QuadraticInteractionTask(MeanFieldTask):
    """Synthetic, non-separable: f(a, xi) = r_a - (W xi)_a with W positive definite, so
    F(xi) = r^T xi - xi^T W xi is concave (the optimum is found by enumeration)."""

    reward: np.ndarray = field(default_factory=lambda: np.ones(3))
    """Base payoff r_a (K,)."""
    interaction: np.ndarray = field(default_factory=lambda: np.eye(3))
    """Interaction matrix W (K, K)."""
    name: str = field(default="quadratic", init=False)
    separable: bool = field(default=False, init=False)

    @classmethod
    def generate(cls, rng: np.random.Generator, n_actions: int = 4) -> QuadraticInteractionTask:
        """r ~ U[0.5, 1.5], W = A A^T / K + 0.5 I with A standard normal."""
        check_positive_int("n_actions", n_actions)
        a = rng.standard_normal((n_actions, n_actions))
        return cls(reward=rng.uniform(0.5, 1.5, size=n_actions),
                   interaction=a @ a.T / n_actions + 0.5 * np.eye(n_actions))

    @property
    def n_actions(self) -> int:
        return self.reward.shape[0]

    def payoffs(self, xi: np.ndarray) -> np.ndarray:
        return self.reward - np.asarray(xi, dtype=float) @ self.interaction.T


TASKS = {"coverage": CoverageTask, "bikes": BikeSharingTask, "taxis": TaxiFleetTask,
         "ports": RefuellingPortsTask, "quadratic": QuadraticInteractionTask}


def make_task(name: str, rng: np.random.Generator, **params) -> MeanFieldTask:
    """Build a registered task from a generator, e.g. ``make_task("bikes", rng, n_stations=8)``."""
    if name not in TASKS:
        raise InvalidInputError(f"unknown task {name!r}; choose from: {', '.join(TASKS)}")
    return TASKS[name].generate(rng, **params)
