"""Property-based checks of the instance generators (needs hypothesis, the test extra)."""

import numpy as np
import pytest

from saddlepoint.bandits import gam_level, gap_adjusted, sphere_points

hypothesis = pytest.importorskip("hypothesis")
st = hypothesis.strategies


@hypothesis.given(rho=st.floats(0.0, 0.95), seed=st.integers(0, 2**31 - 1),
                  u=st.floats(0.0, 1.0))
@hypothesis.settings(max_examples=60, deadline=None)
def test_gap_adjusted_satisfies_its_bound_for_any_allowed_errors(rho, seed, u):
    rng = np.random.default_rng(seed)
    arms, w = sphere_points(20, 3, rng), sphere_points(1, 3, rng)[0]
    lo, hi = -rho / (1 + rho), rho / (1 - rho)
    e = lo + (hi - lo) * rng.uniform(0, 1, 20) ** (1 + 3 * u)  # errors anywhere in the interval
    inst = gap_adjusted(arms, w, rho, e)
    assert gam_level(inst) <= rho + 1e-9
    assert inst.best_arm == int(np.argmax(arms @ w))
