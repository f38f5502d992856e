"""Shared fixtures of the preference tests."""

import importlib.util

import pytest


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread():
    """Tiny models run fastest single-threaded on a shared 2-core machine; restored after.
    A no-op where torch is absent (the NumPy tests still run)."""
    if importlib.util.find_spec("torch") is None:
        yield
        return
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
