"""Issue 21's RMOD pieces: standardisation under pi_ref, MOD experts trained to +1 s.d., the
baselines of the claim (best single-objective CD in hindsight) and the interior-w* share."""

import numpy as np
import pytest

from saddlepoint.errors import InvalidInputError
from saddlepoint.experiments.rmod import (
    INTERIOR_TOL,
    Rmod,
    RmodPreset,
    _claim,
    baselines,
    hindsight_single_cd,
    interior_share,
)


def test_scale_from_scores_standardises_and_names_a_constant_objective():
    from saddlepoint.decoding.rules import standardise
    from saddlepoint.decoding.values import scale_from_scores

    scores = np.random.default_rng(0).normal([0.2, 5.0], [0.01, 3.0], size=(200, 2))
    scale = scale_from_scores(scores)
    z = standardise(scores, scale)
    assert np.allclose(z.mean(axis=0), 0, atol=1e-12) and np.allclose(z.std(axis=0, ddof=1), 1)
    with pytest.raises(InvalidInputError, match="distinct"):
        scale_from_scores(np.c_[scores, np.full(200, 0.5)], ["a", "b", "distinct"])
    with pytest.raises(InvalidInputError, match="N >= 2"):
        scale_from_scores(scores[:1])


def _tiny():
    from saddlepoint.decoding.engine import encode_prompt
    from saddlepoint.decoding.synthetic import (
        make_task,
        sample_sequences,
        symbol_tokenizer,
        task_rewards,
        tiny_gpt2,
        train_lm,
    )

    rng = np.random.default_rng(0)
    task = make_task(0)
    tok = symbol_tokenizer(task.n_symbols)
    model = tiny_gpt2(len(tok), seed=0)
    train_lm(model, tok, [" ".join(s) for s in sample_sequences(task, 300, rng)], steps=60, seed=0)
    prompts = [encode_prompt(tok, " ".join(s[:4])) for s in sample_sequences(task, 6, rng)]
    return model, tok, task_rewards(task), prompts


def test_reference_scale_is_the_mean_and_sd_of_reference_samples():
    pytest.importorskip("transformers")
    from saddlepoint.decoding.policy import CausalPolicy
    from saddlepoint.decoding.values import reference_scale, sample_reference, score

    model, tok, rewards, prompts = _tiny()
    policy = CausalPolicy(model)
    scale = reference_scale(policy, tok, prompts, rewards, np.random.default_rng(1), samples_per_prompt=3,
                            max_new_tokens=8)
    texts = sample_reference(policy, tok, prompts, 3, 8, np.random.default_rng(1))
    s = score(rewards, texts)
    assert np.allclose(scale[0], s.mean(axis=0)) and np.allclose(scale[1], s.std(axis=0, ddof=1))


def test_train_expert_improves_its_objective_and_stops_at_the_target():
    pytest.importorskip("transformers")
    from saddlepoint.decoding.policy import CausalPolicy
    from saddlepoint.decoding.synthetic import train_expert
    from saddlepoint.decoding.values import reference_scale

    model, tok, rewards, prompts = _tiny()
    scale = reference_scale(CausalPolicy(model), tok, prompts, rewards, np.random.default_rng(1),
                            samples_per_prompt=4, max_new_tokens=8)
    r = rewards[0]
    expert, hist = train_expert(model, tok, prompts, r, (scale[0][0], scale[1][0]), prompts, np.random.default_rng(2),
                                target_sd=0.5, max_rounds=4, samples_per_prompt=4, max_new_tokens=8, steps=20)
    assert expert is not model and hist["rounds"] == len(hist["per_round"]) <= 4
    assert hist["reached"] == (hist["improvement_sd"] >= 0.5)
    assert all(x < 0.5 for x in hist["per_round"][:-1])  # stops at the first round that reaches the target
    assert hist["improvement_sd"] > 0
    with pytest.raises(InvalidInputError, match="s.d."):
        train_expert(model, tok, prompts, r, (0.5, 0.0), prompts, np.random.default_rng(2))


def _rows(worst: dict[str, list[float]], seeds=(0, 1)) -> list[dict]:
    return [{"section": "response", "seed": s, "prompt": i, "arm": arm, "worst_z": v + 0.01 * s}
            for arm, vals in worst.items() for s in seeds for i, v in enumerate(vals)]


def test_hindsight_choice_is_per_seed_and_baselines_cover_every_single_cd():
    objs = ("a", "b")
    rows = _rows({"cd_a[mc]": [0.0, 0.2], "cd_b[mc]": [0.5, -0.1]}, seeds=(0,))
    rows += _rows({"cd_a[mc]": [0.9, 0.9], "cd_b[mc]": [0.0, 0.0]}, seeds=(1,))
    values, chosen = hindsight_single_cd(rows, objs, "mc")
    assert chosen == {0: "cd_b[mc]", 1: "cd_a[mc]"}
    assert values[(0, 0)] == 0.5 and values[(1, 0)] == pytest.approx(0.91)
    rows += _rows({"cd_uniform[mc]": [0, 0], "bon_avg": [0, 0], "mod_uniform": [0, 0]})
    assert set(baselines(rows, objs, "mc")) == {"cd_uniform[mc]", "cd_a[mc]", "cd_b[mc]",
                                                "cd_best_single_hindsight[mc]", "bon_avg", "mod_uniform"}


def _preset(lams=(0.5, 2.0, 5.0)) -> RmodPreset:
    return RmodPreset(seeds=(0, 1), n_prompts=3, num_candidates=2, block_size=2, max_new_tokens=4, lams=lams,
                      mc_rollouts=1, scale_prompts=1, scale_samples=2, expert_prompts=1, expert_samples=1,
                      expert_steps=1, expert_rounds=1)


def _claim_rows(rmod: dict[float, list[float]], interior: int) -> list[dict]:
    base = {f"cd_{o}[mc]": [0.0, 0.1, 0.0] for o in ("share_a", "share_b", "distinct")}
    base |= {"cd_uniform[mc]": [0.1, 0.0, 0.1], "bon_avg": [0.2, 0.25, 0.2], "mod_uniform": [0.0, 0.0, 0.1]}
    base |= {f"rmod_lam{lam:g}[mc]": v for lam, v in rmod.items()}
    rows = _rows(base)
    rows += [{"section": "block", "arm": "rmod_lam0.5[mc]", "interior": int(i < interior)} for i in range(10)]
    return rows


def test_claim_passes_only_with_a_win_at_small_lambda_no_loss_and_interior_weights():
    p = _preset()
    win = [0.9, 1.0, 1.1]
    claim, d = _claim(_claim_rows({0.5: win, 2.0: [0.2, 0.25, 0.2], 5.0: [0.2, 0.25, 0.2]}, interior=5), p, "mc")
    assert claim.passed and d["best_baseline"] == "bon_avg" and d["lams_winning"] == [0.5]
    # a win only at lambda = 5 (> 2) does not count
    claim, d = _claim(_claim_rows({0.5: [0.2, 0.25, 0.2], 2.0: [0.2, 0.25, 0.2], 5.0: win}, interior=5), p, "mc")
    assert not claim.passed and d["lams_winning"] == []
    # more than 2 s.e. below the best baseline at some lambda fails the claim
    claim, d = _claim(_claim_rows({0.5: win, 2.0: [-1.0, -0.9, -1.1], 5.0: win}, interior=5), p, "mc")
    assert not claim.passed and d["lams_below"] == [2.0]
    # interior w* in fewer than 10% of blocks: vacuous whatever the result
    claim, d = _claim(_claim_rows({0.5: win, 2.0: win, 5.0: win}, interior=0), p, "mc")
    assert not claim.passed and d["vacuous"] and d["result_ignoring_vacuity"] and "VACUOUS" in claim.measured


def test_interior_share_counts_non_one_hot_blocks():
    rows = [{"section": "block", "arm": "rmod_lam1[mc]", "interior": int(w < 1 - INTERIOR_TOL)}
            for w in (1.0, 0.9995, 0.6, 0.5)]
    assert interior_share(rows, "mc") == 0.5 and np.isnan(interior_share(rows, "learned"))


def test_presets_are_public_and_validated():
    assert Rmod.presets["paper"].n_prompts == 300 and Rmod.presets["paper"].lams == (0.5, 1.0, 2.0, 5.0)
    assert Rmod.presets["paper"].seeds == (0, 1, 2) and Rmod.presets["smollm2"].n_prompts == 64
    with pytest.raises(InvalidInputError, match="value_kinds"):
        RmodPreset(n_prompts=1, num_candidates=1, block_size=1, max_new_tokens=1, lams=(1.0,), mc_rollouts=1,
                   value_kinds=("reward",), scale_prompts=1, scale_samples=2, expert_prompts=1, expert_samples=1,
                   expert_steps=1, expert_rounds=1)


def test_run_directories_from_before_the_k_rename_still_load():
    from saddlepoint.experiments.rmod import Rmod

    exp = Rmod()
    fields = exp.presets["paper"].as_dict()
    fields["num_branches"] = fields.pop("num_candidates")  # config.json written before issue 16
    assert exp.preset_from_fields(fields) == exp.presets["paper"]
