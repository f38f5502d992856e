"""The rmod reproduction's smoke preset writes a complete run directory; the light imports."""

import json
import subprocess
import sys

import pytest


def test_decoding_package_import_stays_light():
    code = ("import sys, saddlepoint.decoding, saddlepoint.registry; "
            "print(any(m in sys.modules for m in ('torch', 'transformers')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.slow
def test_smoke_preset_writes_results(tmp_path):
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from saddlepoint.experiments import run_experiment
    from saddlepoint.experiments.rmod import Rmod, arm_names

    run = run_experiment("rmod", preset="smoke", out=tmp_path)
    summary = json.loads((run.path / "summary.json").read_text())
    rows = [r for r in run.metrics() if r["section"] == "response"]
    arms = {r["arm"] for r in rows}
    assert arms == set(arm_names(Rmod.presets["smoke"]))
    assert {"ref", "bon_avg", "oracle_bon_min", "mod_uniform", "cd_uniform[mc]", "rmod_lam1[mc]",
            "rmod_lam5[learned]"} <= arms
    assert len(rows) == len(arms) * 5  # every arm decodes every prompt
    assert len(summary["claims"]) == 6 and all("passed" in c for c in summary["claims"])
    for numbers in summary["arms"].values():
        assert 0 <= numbers["worst"] <= numbers["average"] <= 1
    # oracle best-of-N by min_g r_g is, per prompt, at least best-of-N by the average's worst case
    by = {(r["prompt"], r["arm"]): r["worst"] for r in rows}
    assert all(by[(i, "oracle_bon_min")] >= by[(i, "bon_avg")] for i in range(5))
    # matched compute: every branch-based arm forwards the same order of tokens (MC roll-outs aside)
    assert summary["arms"]["cd_uniform[learned]"]["tokens_forwarded"] <= summary["arms"]["bon_avg"]["tokens_forwarded"] * 1.5
    w = summary["mean_w_star"]["rmod_lam1[mc]"]
    assert sum(w.values()) == pytest.approx(1.0)
    assert (run.path / "report.md").read_text().startswith("# RMOD reproduction")
    blocks = [r for r in run.metrics() if r["section"] == "block"]
    assert blocks and {b["arm"] for b in blocks} == {a for a in arms if a.startswith("rmod")}
