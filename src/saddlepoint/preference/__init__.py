"""Preference games and self-play alignment: SPPO, RSPO, INPO, Nash-MD, Nash mirror prox.

NumPy only at import. The torch losses live in :mod:`saddlepoint.preference.torch_losses`
and the language-model trainer in :mod:`saddlepoint.preference.trainer` (extra ``llm``).
"""

from saddlepoint.preference.dynamics import (
    INPOConfig,
    NashMDConfig,
    NashMirrorProxConfig,
    PolicyIterate,
    PreferenceDynamics,
    PreferenceLPConfig,
    RSPOConfig,
    SPPOConfig,
)
from saddlepoint.preference.equilibrium import (
    nash_equilibrium,
    regularized_equilibrium,
    stationarity_residual,
)
from saddlepoint.preference.game import (
    PreferenceGame,
    preference_game,
    random_preference_game,
    stack_games,
)
from saddlepoint.preference.losses import (
    REGULARIZERS,
    equivalent_regularization,
    forward_kl_sft_loss,
    inpo_loss,
    nash_md_pg_loss,
    regularizer_penalty,
    rspo_loss,
    sppo_loss,
)
from saddlepoint.preference.metrics import duality_gap, kl_divergence, win_rate
from saddlepoint.preference.oracle import (
    BradleyTerryOracle,
    CallableOracle,
    MatrixOracle,
    PreferenceOracle,
    estimate_win_rates,
    select_pair,
)

__all__ = [
    "REGULARIZERS",
    "BradleyTerryOracle",
    "CallableOracle",
    "INPOConfig",
    "MatrixOracle",
    "NashMDConfig",
    "NashMirrorProxConfig",
    "PolicyIterate",
    "PreferenceDynamics",
    "PreferenceGame",
    "PreferenceLPConfig",
    "PreferenceOracle",
    "RSPOConfig",
    "SPPOConfig",
    "duality_gap",
    "equivalent_regularization",
    "estimate_win_rates",
    "forward_kl_sft_loss",
    "inpo_loss",
    "kl_divergence",
    "nash_equilibrium",
    "nash_md_pg_loss",
    "preference_game",
    "random_preference_game",
    "regularized_equilibrium",
    "regularizer_penalty",
    "rspo_loss",
    "select_pair",
    "sppo_loss",
    "stack_games",
    "stationarity_residual",
    "win_rate",
]
