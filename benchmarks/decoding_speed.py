"""Tokens per second of each decoding method against plain ``model.generate`` (the anchor).

Usage: python benchmarks/decoding_speed.py [--model smollm2] [--prompts 3] [--max-new-tokens 32]
       [--branches 8] [--block 8] [--threads 1]

Every method decodes the same prompts; throughput is response tokens per wall-clock second,
also as a ratio to ``generate`` (sampling, same length limit). ``forwarded/token`` is the
compute measure: tokens pushed through a model per response token. Objectives: conciseness
and VADER sentiment (cheap, so the numbers measure decoding, not reward models). MOD mixes two
copies of the model (the cost of a two-policy mixture; the output is the reference policy's).
``--model tiny`` uses an untrained tiny GPT-2 (no download, any machine).
"""

from __future__ import annotations

import argparse
import sys
import platform
import time

import numpy as np
import torch
import transformers

from _record import Tee, record_section  # benchmarks/_record.py (the script's folder is on sys.path)
from saddlepoint.decoding.engine import BlockwiseDecoder, DecodeConfig, encode_prompt
from saddlepoint.decoding.objectives import Conciseness, VaderSentiment
from saddlepoint.decoding.policy import CausalPolicy, MixturePolicy
from saddlepoint.decoding.rules import FixedWeightsRule, ReferenceRule, RobustRule
from saddlepoint.decoding.values import RewardValues
from saddlepoint.experiments.rmod import PAPER_PROMPTS


def _load(name: str):
    if name == "tiny":
        from saddlepoint.decoding.synthetic import symbol_tokenizer, tiny_gpt2

        tok = symbol_tokenizer(24)
        return tok, tiny_gpt2(len(tok), seed=0), ["s1 s2 s3 s4", "s5 s6 s7 s8", "s9 s10 s11 s12"]
    from saddlepoint.lm import load_model, load_tokenizer

    return load_tokenizer(name), load_model(name), list(PAPER_PROMPTS)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="smollm2")
    ap.add_argument("--prompts", type=int, default=3)
    ap.add_argument("--max-new-tokens", type=int, default=32)
    ap.add_argument("--branches", type=int, default=8)
    ap.add_argument("--block", type=int, default=8)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--record", action="store_true", help="update benchmarks/RESULTS.md")
    args = ap.parse_args()
    with Tee() as out:
        _run(args)
    if args.record:
        command = " ".join(["python", "benchmarks/decoding_speed.py"] + sys.argv[1:])
        record_section("Decoding", f"## Decoding\n\n`{command}`\n\n{out.text.strip()}\n")


def _run(args: argparse.Namespace) -> None:
    torch.set_num_threads(args.threads)
    tok, model, texts = _load(args.model)
    prompts = [encode_prompt(tok, t) for t in texts[: args.prompts]]
    rewards = [Conciseness(30), VaderSentiment()]
    values = RewardValues(rewards)
    n, b, k = args.max_new_tokens, args.block, args.branches
    policy = CausalPolicy(model)
    methods = {
        "ref (engine, K=1)": BlockwiseDecoder(policy, tok, ReferenceRule(), DecodeConfig(1, b, n)),
        f"best-of-{k}": BlockwiseDecoder(policy, tok, FixedWeightsRule((0.5, 0.5)), DecodeConfig(k, n, n), values),
        f"CD uniform (K={k}, B={b})": BlockwiseDecoder(policy, tok, FixedWeightsRule((0.5, 0.5)),
                                                       DecodeConfig(k, b, n), values),
        f"RMOD eg (K={k}, B={b})": BlockwiseDecoder(policy, tok, RobustRule(1.0), DecodeConfig(k, b, n), values),
        f"RMOD pgd10 (K={k}, B={b})": BlockwiseDecoder(policy, tok, RobustRule(1.0, solver="pgd10"),
                                                       DecodeConfig(k, b, n), values),
        "MOD (2 policies)": BlockwiseDecoder(MixturePolicy([model, model], [0.5, 0.5]), tok, ReferenceRule(),
                                             DecodeConfig(1, b, n), model_for_eos=model),
    }
    print(f"Setting: {args.model}, {len(prompts)} prompts, max_new_tokens={n}, {args.threads} thread(s); "
          f"torch {torch.__version__}, transformers {transformers.__version__}, python "
          f"{platform.python_version()}, {platform.processor() or platform.machine()}\n")
    print("| method | response tokens | seconds | tokens / s | ratio to generate | forwarded / token |")
    print("|---|---|---|---|---|---|")
    gen_tokens, t0 = 0, time.perf_counter()
    torch.manual_seed(0)  # the anchor uses generate's own (global) sampling state
    for p in prompts:
        out = model.generate(p, attention_mask=torch.ones_like(p), do_sample=True, max_new_tokens=n,
                             pad_token_id=tok.pad_token_id)
        gen_tokens += out.shape[1] - p.shape[1]
    base = gen_tokens / (time.perf_counter() - t0)
    print(f"| generate (anchor) | {gen_tokens} | {gen_tokens / base:.2f} | {base:.1f} | 1.00 | 1.0 |")
    for name, dec in methods.items():
        rng = np.random.default_rng(0)
        t0 = time.perf_counter()
        results = [dec.decode(p, rng) for p in prompts]
        secs = time.perf_counter() - t0
        toks = sum(max(len(r.token_ids), 1) for r in results)
        fwd = sum(r.tokens_forwarded for r in results) - sum(p.shape[1] for p in prompts)
        print(f"| {name} | {toks} | {secs:.2f} | {toks / secs:.1f} | {toks / secs / base:.2f} | {fwd / toks:.1f} |")


if __name__ == "__main__":
    main()
