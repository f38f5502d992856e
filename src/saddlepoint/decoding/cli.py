"""``saddlepoint decode``: decode one prompt with a method and print the text and its scores.

Wire into the main command line with :func:`add_decode_parser` (building the sub-parser) and
:func:`run_decode` (running it; returns the exit status). Bad input raises
:class:`~saddlepoint.errors.InvalidInputError`, which the main CLI prints as one line.

Example::

    saddlepoint decode --model smollm2 --objectives sentiment conciseness=30 \\
        "similarity=The town was grey after the storm." --method rmod --lam 1 \\
        --prompt "Describe the weather today."
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np

from saddlepoint.errors import InvalidInputError

__all__ = ["METHODS", "add_decode_parser", "run_decode"]

METHODS = ("ref", "bon", "cd", "mod", "rmod")


def _objective_names(specs: list[str]) -> None:
    from saddlepoint.decoding.objectives import OBJECTIVES

    for spec in specs:
        name = spec.partition("=")[0].strip()
        if name not in OBJECTIVES:
            raise InvalidInputError(f"unknown objective {name!r}; choose from: {', '.join(OBJECTIVES)}")


def add_decode_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``decode`` sub-command to ``subparsers`` (from ``add_subparsers``)."""
    p = subparsers.add_parser("decode", help="decode a prompt with best-of-N, CD, MOD or RMOD")
    p.add_argument("--model", required=True, help="Hugging Face name, local path, or 'smollm2'")
    p.add_argument("--prompt", required=True, help="the prompt (the chat template is applied if the model has one)")
    p.add_argument("--objectives", nargs="+", required=True, metavar="SPEC",
                   help="sentiment | similarity=TEXT | conciseness[=MAX_WORDS] | judge[=QUESTION] "
                        "(the judge is the decoding model)")
    p.add_argument("--method", choices=METHODS, default="rmod", help="decoding method (default rmod)")
    p.add_argument("--weights", type=float, nargs="+", default=None,
                   help="fixed weights for cd / mod (default uniform)")
    p.add_argument("--lam", type=float, default=1.0, help="RMOD lambda (default 1.0)")
    p.add_argument("--solver", choices=("eg", "slsqp", "pgd10"), default="eg", help="RMOD weight solver")
    p.add_argument("--selection", choices=("argmax", "sample"), default="argmax", help="branch selection")
    p.add_argument("--branches", type=int, default=8, help="K branches per block (N for bon; default 8)")
    p.add_argument("--block", type=int, default=8, help="B tokens per block (default 8)")
    p.add_argument("--max-new-tokens", type=int, default=64, help="response length limit (default 64)")
    p.add_argument("--temperature", type=float, default=1.0, help="sampling temperature (default 1.0)")
    p.add_argument("--values", choices=("reward", "mc"), default="reward",
                   help="value of a partial response: its reward, or the mean reward of Monte-Carlo roll-outs")
    p.add_argument("--rollouts", type=int, default=4, help="roll-outs per candidate for --values mc")
    p.add_argument("--value-heads", type=Path, default=None,
                   help="folder of value heads saved by ValueHeads.save (trained on --model); overrides --values")
    p.add_argument("--mod-models", nargs="+", default=None, help="MOD: one policy per objective (same tokenizer)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    return p


def _load(name: str, what: str) -> Any:
    from saddlepoint.lm import load_model

    try:
        return load_model(name)
    except (OSError, ValueError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InvalidInputError(f"cannot load {what} {name!r}: {first}") from None


def _weights(args: argparse.Namespace, g: int) -> tuple[float, ...]:
    if args.weights is None:
        return tuple([1.0 / g] * g)
    w = np.asarray(args.weights, dtype=float)
    if w.size != g or np.any(w < 0) or w.sum() <= 0:
        raise InvalidInputError(f"--weights needs {g} non-negative numbers (one per objective/model)")
    return tuple((w / w.sum()).tolist())


def run_decode(args: argparse.Namespace) -> int:
    """Run ``decode``: load the model, build the method, decode, print text and scores."""
    _objective_names(args.objectives)
    if args.seed < 0:
        raise InvalidInputError("--seed must be non-negative")
    from saddlepoint.decoding.engine import BlockwiseDecoder, DecodeConfig
    from saddlepoint.decoding.objectives import make_objective
    from saddlepoint.decoding.policy import CausalPolicy, MixturePolicy
    from saddlepoint.decoding.rules import FixedWeightsRule, ReferenceRule, RobustRule
    from saddlepoint.decoding.values import (
        HeadValues,
        MonteCarloValues,
        RewardValues,
        ValueHeads,
        score,
    )
    from saddlepoint.lm import load_tokenizer

    model = _load(args.model, "model")
    try:
        tok = load_tokenizer(args.model)
    except (OSError, ValueError) as exc:
        raise InvalidInputError(f"cannot load the tokenizer of {args.model!r}: {exc}") from None
    rewards = [make_objective(s, judge_model=model, judge_tokenizer=tok) for s in args.objectives]
    g = len(rewards)
    policy = CausalPolicy(model)
    k = 1 if args.method in ("ref", "mod") else args.branches
    block = args.max_new_tokens if args.method == "bon" else args.block
    cfg = DecodeConfig(num_candidates=k, block_size=block, max_new_tokens=args.max_new_tokens,
                       temperature=args.temperature)
    if args.value_heads is not None:
        values: Any = HeadValues(ValueHeads.load(args.value_heads))
        if len(values.names) != g:
            raise InvalidInputError(f"the value heads have {len(values.names)} outputs but {g} objectives were given")
    elif args.values == "mc" and args.method in ("cd", "rmod"):
        values = MonteCarloValues(policy, tok, rewards, n_rollouts=args.rollouts, temperature=args.temperature)
    else:
        values = RewardValues(rewards)
    if args.method == "ref":
        dec = BlockwiseDecoder(policy, tok, ReferenceRule(), cfg)
    elif args.method in ("bon", "cd"):
        rule = FixedWeightsRule(_weights(args, g), lam=args.lam, selection=args.selection)
        dec = BlockwiseDecoder(policy, tok, rule, cfg, RewardValues(rewards) if args.method == "bon" else values)
    elif args.method == "mod":
        if not args.mod_models:
            raise InvalidInputError("--method mod needs --mod-models (one aligned policy per objective)")
        models = [_load(m, "MOD model") for m in args.mod_models]
        mix = MixturePolicy(models, _weights(args, len(models)))
        dec = BlockwiseDecoder(mix, tok, ReferenceRule(), cfg, model_for_eos=model)
    else:
        dec = BlockwiseDecoder(policy, tok, RobustRule(lam=args.lam, solver=args.solver, selection=args.selection),
                               cfg, values)
    res = dec.decode(args.prompt, np.random.default_rng(args.seed))
    scores = score(rewards, [res.text])[0]
    out = {"method": args.method, "text": res.text, "scores": {r.name: float(s) for r, s in zip(rewards, scores)},
           "worst": float(scores.min()), "tokens": len(res.token_ids), "tokens_forwarded": res.tokens_forwarded,
           "seconds": res.seconds, "weights_per_block": res.weight_trace.tolist()}
    if args.json:
        print(json.dumps(out))
        return 0
    print(res.text)
    print()
    for name, s in out["scores"].items():
        print(f"{name:<14}{s:.4f}")
    print(f"{'worst':<14}{out['worst']:.4f}")
    if args.method == "rmod" and len(res.weight_trace):
        print(f"{'mean w*':<14}[" + ", ".join(f"{x:.3f}" for x in res.weight_trace.mean(0)) + "]")
    print(f"{'tokens':<14}{out['tokens']} ({out['tokens_forwarded']} forwarded, {res.seconds:.1f} s)")
    return 0
