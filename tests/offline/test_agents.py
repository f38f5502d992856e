"""Paper-shaped agents: fine-tuning changes only the acting MLP; same seed same result; errors."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from saddlepoint.errors import InvalidInputError  # noqa: E402
from saddlepoint.offline.agents import (AgentConfig, TrainConfig, encode, encode_transitions,  # noqa: E402
                                        finetune_heads, train_base)
from saddlepoint.offline.upsample import LatentTransitions  # noqa: E402


def _pixels(n, rng):
    obs = rng.integers(0, 256, (n, 9, 9, 3), dtype=np.uint8)
    nxt = rng.integers(0, 256, (n, 9, 9, 3), dtype=np.uint8)
    return obs, rng.integers(0, 4, n), rng.random(n).astype(np.float32), nxt, rng.random(n) < 0.1


@pytest.mark.parametrize("algo", ["bc", "cql"])
def test_finetune_changes_only_acting_head(algo):
    torch.set_num_threads(1)
    data = _pixels(64, np.random.default_rng(0))
    cfg = AgentConfig(algo=algo, channels=(4,), strides=(1,), hidden=16, latent_dim=8, mlp_hidden=16)
    train = TrainConfig(steps=5, batch_size=16, target_update_interval=2)
    agent, losses = train_base(*data, cfg, train, seed=1)
    assert len(losses) == 5 and np.isfinite(losses).all()
    latents = encode_transitions(agent, *[data[i] for i in (0, 1, 2, 3, 4)])
    assert latents.z.shape == (64, 8) and np.abs(latents.z).max() <= 2.0  # sum of two tanh heads
    before = {k: v.clone() for k, v in agent.state_dict().items()}
    finetune_heads(agent, latents, train, seed=2)
    after = agent.state_dict()
    acting = "g_pi." if algo == "bc" else "g_q."
    for k in before:
        changed = not torch.equal(before[k], after[k])
        if k.startswith(acting):
            assert changed, k
        else:
            assert not changed, k


def test_same_seed_same_agent():
    data = _pixels(32, np.random.default_rng(3))
    cfg = AgentConfig(channels=(4,), strides=(1,), hidden=16, latent_dim=8, mlp_hidden=16)
    a1, l1 = train_base(*data, cfg, TrainConfig(steps=3, batch_size=8), seed=4)
    a2, l2 = train_base(*data, cfg, TrainConfig(steps=3, batch_size=8), seed=4)
    assert l1 == l2 and np.array_equal(encode(a1, data[0]), encode(a2, data[0]))


def test_bad_input():
    data = _pixels(16, np.random.default_rng(5))
    cfg = AgentConfig(channels=(4,), strides=(1,), hidden=16, latent_dim=8, mlp_hidden=16)
    agent, _ = train_base(*data, cfg, TrainConfig(steps=1, batch_size=4), seed=0)
    wrong = LatentTransitions(np.zeros((4, 5)), np.zeros(4, int), np.zeros(4), np.zeros((4, 5)), np.zeros(4, bool))
    with pytest.raises(InvalidInputError, match="latent size mismatch"):
        finetune_heads(agent, wrong, TrainConfig(steps=1), seed=0)
    with pytest.raises(InvalidInputError, match="empty"):
        train_base(*(x[:0] for x in data), cfg, TrainConfig(steps=1), seed=0)
    with pytest.raises(InvalidInputError, match="algo"):
        AgentConfig(algo="iql")
