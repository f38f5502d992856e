"""The ``decode`` sub-command (wired by the main CLI through add_decode_parser/run_decode)."""

import argparse
import json

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from saddlepoint.decoding.cli import add_decode_parser, run_decode
from saddlepoint.decoding.synthetic import symbol_tokenizer, tiny_gpt2
from saddlepoint.errors import InvalidInputError


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("tiny")
    tok = symbol_tokenizer(24)
    tiny_gpt2(len(tok), seed=0).save_pretrained(path)
    tok.save_pretrained(path)
    return path


def _args(*argv):
    parser = argparse.ArgumentParser()
    add_decode_parser(parser.add_subparsers(dest="command"))
    return parser.parse_args(["decode", *argv])


@pytest.mark.parametrize("method", ["ref", "bon", "cd", "rmod"])
def test_decode_prints_text_and_scores(model_dir, method, capsys):
    args = _args("--model", str(model_dir), "--prompt", "s1 s2 s3", "--objectives", "conciseness=10",
                 "conciseness=20", "--method", method, "--branches", "3", "--block", "2", "--max-new-tokens", "6",
                 "--json")
    assert run_decode(args) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out["scores"]) == {"conciseness"} or len(out["scores"]) >= 1
    assert out["tokens"] <= 6 and 0 <= out["worst"] <= 1
    assert run_decode(args) == 0 and json.loads(capsys.readouterr().out)["text"] == out["text"]  # seeded


def test_unknown_model_and_objective_are_clear_errors(model_dir, tmp_path):
    with pytest.raises(InvalidInputError, match="cannot load model"):
        run_decode(_args("--model", str(tmp_path / "missing"), "--prompt", "x", "--objectives", "conciseness"))
    with pytest.raises(InvalidInputError, match="unknown objective 'joy'"):
        run_decode(_args("--model", str(model_dir), "--prompt", "x", "--objectives", "joy"))
    with pytest.raises(InvalidInputError, match="mod-models"):
        run_decode(_args("--model", str(model_dir), "--prompt", "s1", "--objectives", "conciseness",
                         "--method", "mod"))
