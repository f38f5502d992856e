"""The inferenceguard reproduction's smoke preset writes a complete run directory."""

import json

import pytest


@pytest.mark.slow
def test_smoke_preset_writes_results(tmp_path):
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from saddlepoint.experiments import run_experiment
    from saddlepoint.experiments.inferenceguard import HARD_REGIME, REGIMES, InferenceGuard, arm_names

    run = run_experiment("inferenceguard", preset="smoke", out=tmp_path)
    p = InferenceGuard.presets["smoke"]
    summary = json.loads((run.path / "summary.json").read_text())
    rows = [r for r in run.metrics() if r["section"] == "response"]
    arms = arm_names(p.lams)
    assert len(rows) == len(REGIMES) * len(arms) * p.n_prompts  # every arm, regime and prompt
    claims = {c["claim"]: c for c in summary["claims"]}
    assert len(claims) == 2  # the hard regime's two claims; smoke has no SmolLM2 regime
    assert all("hard regime" in c or f"({HARD_REGIME})" in c for c in claims)
    facts = {f["statement"]: f for f in summary["facts"]}
    assert facts["resampling fires in the hard regime (guard arms)"]["holds"]
    for regime in REGIMES:
        numbers = summary["arms"][regime]
        assert set(numbers) == set(arms)
        # matched budgets: every search arm has the same nominal forward passes per response
        assert len({numbers[a]["nominal_forward_passes"] for a in arms if a != "base"}) == 1
        for a in arms:
            assert 0 <= numbers[a]["safe_cost"] <= 1 and 0 <= numbers[a]["safe_judge"] <= 1
            assert numbers[a]["forward_passes"] >= numbers[a]["nominal_forward_passes"]
        assert numbers["base"]["resample_events"] == 0
    assert summary["arms"][HARD_REGIME]["guard"]["resample_events"] > 0
    for info in summary["setup"]:
        assert all(info["judge_agreement"][r] > 0.7 for r in REGIMES)
    report = (run.path / "report.md").read_text()
    assert report.startswith("# InferenceGuard reproduction") and "## Reading the checks" in report
