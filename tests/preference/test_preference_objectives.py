"""One objective per method for every fidelity: the exact updates minimise the objectives, and
the same function gives the same value on NumPy arrays and torch tensors."""

import numpy as np
import pytest

from saddlepoint.errors import InvalidInputError
from saddlepoint.method import make_method
from saddlepoint.preference import SPPOConfig, random_preference_game
from saddlepoint.preference.objectives import (
    PairLossConfig,
    geometric_mixture,
    magnetic_mirror_step,
    sppo_residual,
)


def test_exact_sppo_step_zeroes_the_sppo_residual_up_to_the_normaliser():
    game = random_preference_game(6, 3, seed=1)
    dyn = make_method(game, SPPOConfig(eta=0.7), 0)
    before = np.log(dyn.last())
    dyn.step()
    r = sppo_residual(np.log(dyn.last()), before, game.win_rates(np.exp(before)), 0.7)
    np.testing.assert_allclose(r - r[:, :1], 0.0, atol=1e-12)  # one constant per prompt


def test_magnetic_step_with_tau_zero_is_mirror_ascent_and_mixture_weights():
    rng = np.random.default_rng(0)
    logp, logp_ref, g = rng.normal(size=(3, 2, 5))
    np.testing.assert_allclose(magnetic_mirror_step(logp, logp_ref, g, 0.3, 0.0), logp + 0.3 * g)
    np.testing.assert_allclose(geometric_mixture(logp, logp_ref, 0.5, 2.0), logp_ref)  # eta tau = 1: pi_ref


@pytest.mark.parametrize("loss", ["sppo", "rspo", "inpo"])
def test_pair_objective_is_one_function_for_numpy_and_torch(loss):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    logp, logp_t, logp_ref = -rng.uniform(0.1, 3.0, size=(3, 4, 2))
    p_hat = rng.uniform(size=(4, 2))
    cfg = PairLossConfig(loss=loss, eta=2.0, reg_coef=0.3, regularizer="forward_kl_is+reverse_kl", tau=0.1)
    value = cfg.objective(logp, logp_t, logp_ref, p_hat)
    tensors = [torch.tensor(a) for a in (logp, logp_t, logp_ref, p_hat)]
    assert float(cfg.objective(*tensors)) == pytest.approx(float(value), rel=1e-12)
    if loss == "sppo":  # SPPO is RSPO without the regulariser
        rspo = PairLossConfig(loss="rspo", eta=2.0, reg_coef=0.0)
        assert rspo.objective(logp, logp_t, logp_ref, p_hat) == value
    with pytest.raises(InvalidInputError, match="loss"):
        PairLossConfig(loss="nash_md")
