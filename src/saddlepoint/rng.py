"""Explicit random generators. Library code takes a ``numpy.random.Generator``; only the CLI
and the experiment layer turn integer seeds into generators."""

from __future__ import annotations

from typing import Any

import numpy as np

from saddlepoint.errors import InvalidInputError



def make_rng(seed: int | np.random.Generator | None = None) -> np.random.Generator:
    """Return a generator: pass one through, or build one from an integer seed.

    ``None`` gives a generator seeded from the operating system (non-reproducible); every
    library entry point accepts a seed, so reproducible runs pass one.
    """
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None:
        return np.random.default_rng()
    if isinstance(seed, (bool, float)) or not isinstance(seed, (int, np.integer)):
        raise InvalidInputError(f"seed must be a non-negative integer or a Generator, got {seed!r}")
    if seed < 0:
        raise InvalidInputError(f"seed must be non-negative, got {seed}")
    return np.random.default_rng(int(seed))


def spawn(rng: np.random.Generator, n: int) -> list[np.random.Generator]:
    """``n`` independent child generators of ``rng`` (for seeds or workers)."""
    return list(rng.spawn(n))


def rng_state(rng: np.random.Generator) -> dict[str, Any]:
    """JSON-friendly state of a generator's bit generator (for saving a method mid-run)."""
    return {"bit_generator": type(rng.bit_generator).__name__, "state": rng.bit_generator.state}


def restore_rng(state: dict[str, Any]) -> np.random.Generator:
    """A generator in the state saved by :func:`rng_state`."""
    bitgen = getattr(np.random, state["bit_generator"])()
    bitgen.state = state["state"]
    return np.random.Generator(bitgen)


def torch_generator(seed: int):
    """A seeded ``torch.Generator`` (imports torch lazily)."""
    from saddlepoint.errors import require

    torch = require("torch", "torch")
    gen = torch.Generator()
    gen.manual_seed(int(seed))
    return gen
