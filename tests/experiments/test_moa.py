"""The ``moa`` reproduction's smoke preset: results written, tier-A claims reported."""

import json

import pytest

from saddlepoint.experiments import run_experiment


@pytest.mark.slow
@pytest.mark.repro
def test_moa_smoke_writes_results_and_tier_a_claims(tmp_path):
    run = run_experiment("moa", preset="smoke", out=tmp_path, show_progress=False)
    summary = json.loads((run.path / "summary.json").read_text())
    claims = {c["claim"]: c for c in summary["claims"]}
    assert len(claims) == 4 and summary["facts"][0]["holds"]
    assert summary["all_claims_passed"], [c for c in claims.values() if not c["passed"]]
    assert claims["one deceiver in layer 2 (000_003) lowers MoA accuracy"]["passed"]
    rows = [r for r in run.metrics() if r["tier"] == "A"]
    sweep = summary["sweep"]
    assert {(e["fabricated"], e["placement"]) for e in sweep} == {(f, p) for f in (0, 4) for p in ("000_002", "000_003")}
    shares = summary["recovery_shares"]
    assert set(shares) == {"dropout_vote", "cluster_filter", "cluster_locate", "dropout_cluster"}
    assert all(v["share"] is None or 0 <= v["share"] <= 1 for per in shares.values() for v in per.values())
    arms = {tuple(r["arm"].split("/")) for r in rows}
    assert len(arms) == 20 and {r["seed"] for r in rows} == {0.0, 1.0}
    # every rate lies in [0, 1]; recovery only where a deceiver was present and a defence ran
    for r in rows:
        for m in ("accuracy", "persuasion", "corruption", "recovery"):
            if r.get(m) is not None:
                assert 0.0 <= r[m] <= 1.0
        placement, defence = r["arm"].split("/")
        assert (r.get("recovery") is not None) == (placement != "000_000" and defence != "none")
    report = (run.path / "report.md").read_text()
    assert report.startswith("# Deception in Mixture-of-Agents") and "not evidence about LLMs" in report
    assert "Reading the checks" in report and "merge_similarity sweep" in report and "Deception sweep" in report
    if (run.path / "figures" / "accuracy_tier_A.png").exists():
        assert "figures/accuracy_tier_A.png" in report


def test_moa_is_registered_as_the_class_with_one_cell_per_seed():
    from saddlepoint.experiments.moa import MoA, MoAPreset
    from saddlepoint.registry import EXPERIMENTS

    assert EXPERIMENTS["moa"].target == "saddlepoint.experiments.moa:MoA"
    p = MoAPreset(seeds=(2, 5), train_items=10, test_items=10, tier_b_items=4, sweep_confidence=(3,),
                  sweep_fabricated=(0,), sweep_susceptibility=(1.0, 2.0), merge_similarities=(0.8,))
    assert [c.key for c in MoA().cells(p)] == ["A/seed=2", "A/seed=5", "sweep/seed=2/conf=3/fab=0/susc=1",
                                                "sweep/seed=2/conf=3/fab=0/susc=2", "merge/seed=2/m=0.8",
                                                "B/items=0-4"]


def test_moa_smoke_is_deterministic(tmp_path):
    from saddlepoint.experiments.moa import tier_a

    a, b = tier_a(3, 60, 40), tier_a(3, 60, 40)
    assert [x.metrics for x in a] == [y.metrics for y in b]


class _FirstOption:
    """A chat back end that always answers option A (accuracy = share of items whose answer is A)."""

    name = "first-option"

    def complete(self, requests):
        return ["Answer: A" for _ in requests]


def test_moa_smollm2_preset_is_tier_b_only_in_chunks():
    from saddlepoint.experiments.moa import MoA, _tier_b_criterion

    p = MoA.presets["smollm2"]
    cells = MoA().cells(p)
    assert p.tier_b_items >= 60 and not p.tier_a
    assert [c.key for c in cells[:2]] == ["B/items=0-8", "B/items=8-16"] and len(cells) == 8
    assert [(c.params["start"], c.params["stop"]) for c in cells][-1] == (56, 64)
    assert _tier_b_criterion(p)[2]  # meets issue 21's ">= 60 items"


def test_tier_b_chunks_cover_the_same_items_and_pool_into_one_report():
    import numpy as np

    from saddlepoint.agents import story_items
    from saddlepoint.experiments.moa import MoA, MoAPreset, _row, tier_b

    p = MoAPreset(seeds=(0,), train_items=0, test_items=0, tier_a=False, tier_b_items=10, tier_b_chunk=4,
                  tier_b_agent_tokens=8, tier_b_aggregator_tokens=8)
    rows = []
    for cell in MoA().cells(p):
        arms = tier_b(0, 10, 8, 8, start=cell.params["start"], stop=cell.params["stop"], backend=_FirstOption())
        rows += [_row("B", 0, arm) for arm in arms]
    truth = np.array([it.answer for it in story_items(10, np.random.default_rng(0))])
    summary = MoA().summarise(p, rows)
    pooled = summary.values["pooled"]["B:000_000:none"]["accuracy"]
    assert pooled["n"] == 10 and pooled["value"] == np.mean(truth == 0)
    assert summary.claims == [] and not summary.criteria[0][2]  # 10 items < issue 21's 60: "same?" is no
    text = "".join(summary.sections)
    assert "Chance is 0.25" in text and "n = 10" in text


def test_tier_b_rejects_a_bad_chunk():
    from saddlepoint.errors import InvalidInputError
    from saddlepoint.experiments.moa import tier_b

    with pytest.raises(InvalidInputError, match="start < stop"):
        tier_b(0, 10, 8, 8, start=8, stop=12, backend=_FirstOption())


@pytest.mark.parametrize("acc, se, verdict", [(0.26, 0.05, "within 2 s.e. of chance"),
                                              (0.60, 0.05, "above chance"), (0.05, 0.02, "below chance")])
def test_chance_verdict(acc, se, verdict):
    from saddlepoint.experiments.moa import chance_verdict

    assert chance_verdict(acc, se) == verdict
