"""The OpenAI-compatible HTTP back end against a real HTTP server on 127.0.0.1 (the test
suite's own, see agents_chat_server.py): answers, keys, retries with back-off on 429/5xx, timeouts,
malformed bodies, and a whole MoA run over HTTP."""

import socket
import sys
import time
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from agents_chat_server import ChatServer  # noqa: E402

from saddlepoint.agents import (  # noqa: E402
    Agent,
    BackendError,
    BackendHTTPError,
    BackendResponseError,
    BackendTimeoutError,
    ChatRequest,
    Message,
    MixtureOfAgents,
    OpenAIChatBackend,
    OpenAIChatConfig,
    evaluate,
    evidence_items,
)
from saddlepoint.errors import InvalidInputError  # noqa: E402

REQ = ChatRequest((Message("system", "s"), Message("user", "Question\nMarked correct: C")), 0.7, 64)


@pytest.fixture
def server():
    with ChatServer(slow_s=0.6) as srv:
        yield srv


def _backend(server, **kw):
    cfg = dict(model="tiny-rule", timeout_s=5.0, max_retries=3, backoff_s=0.05, backoff_max_s=1.0,
               api_key_env="SADDLEPOINT_TEST_KEY")
    cfg.update(kw)
    return OpenAIChatBackend(OpenAIChatConfig(server.base_url, **cfg))


def test_answer_payload_and_key(server, monkeypatch):
    monkeypatch.delenv("SADDLEPOINT_TEST_KEY", raising=False)
    b = _backend(server)
    assert b.complete([REQ]) == ["I support option C. My excerpt agrees."]
    assert server.requests[0] == {"model": "tiny-rule", "messages": [{"role": "system", "content": "s"},
                                  {"role": "user", "content": "Question\nMarked correct: C"}],
                                  "temperature": 0.7, "max_tokens": 64}
    assert "Authorization" not in server.headers_seen[0]
    monkeypatch.setenv("SADDLEPOINT_TEST_KEY", "sk-local")
    b.complete([REQ])
    assert server.headers_seen[1]["Authorization"] == "Bearer sk-local"


def test_429_and_5xx_are_retried_with_backoff(server):
    server.script.extend(["429", "500", "503"])
    b = _backend(server)
    assert b.complete([REQ])[0].startswith("I support option C")
    assert b.attempts == 4 and len(server.requests) == 4
    gaps = np.diff(server.times)
    # waits 0.05, 0.1, then max(0.2, Retry-After 0.2) = 0.2
    assert gaps[0] >= 0.05 and gaps[1] >= 0.1 and gaps[2] >= 0.2


def test_dropped_connection_is_retried(server):
    server.script.append("disconnect")
    b = _backend(server)
    assert b.complete([REQ])[0].startswith("I support option C")
    assert b.attempts == 2


def test_retries_are_bounded(server):
    server.script.extend(["429"] * 10)
    b = _backend(server, max_retries=2)
    with pytest.raises(BackendHTTPError, match="HTTP 429") as info:
        b.complete([REQ])
    assert info.value.status == 429 and b.attempts == 3


def test_client_errors_are_not_retried(server):
    server.script.append("400")
    b = _backend(server)
    with pytest.raises(BackendHTTPError, match="scripted 400"):
        b.complete([REQ])
    assert b.attempts == 1


def test_slow_reply_times_out_then_recovers(server):
    server.script.extend(["slow", "slow"])
    b = _backend(server, timeout_s=0.15, max_retries=1)
    start = time.monotonic()
    with pytest.raises(BackendTimeoutError, match="within 0.15s"):
        b.complete([REQ])
    assert b.attempts == 2 and time.monotonic() - start < 2.0
    server.script.append("slow")
    assert _backend(server, timeout_s=0.15, max_retries=1).complete([REQ])[0].startswith("I support")


@pytest.mark.parametrize("action,match", [("malformed", "not JSON"), ("no_choices", "choices")])
def test_malformed_bodies_fail_clearly_without_retry(server, action, match):
    server.script.append(action)
    b = _backend(server)
    with pytest.raises(BackendResponseError, match=match):
        b.complete([REQ])
    assert b.attempts == 1


def test_refused_connection_is_retried_then_reported():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    b = OpenAIChatBackend(OpenAIChatConfig(f"http://127.0.0.1:{port}/v1", "m", max_retries=1, backoff_s=0.01))
    with pytest.raises(BackendError, match="cannot reach"):
        b.complete([REQ])
    assert b.attempts == 2


def test_config_is_validated():
    with pytest.raises(InvalidInputError, match="base_url"):
        OpenAIChatConfig("127.0.0.1:8080", "m")
    with pytest.raises(InvalidInputError, match="max_retries"):
        OpenAIChatConfig("http://127.0.0.1:1/v1", "m", max_retries=-1)


def test_moa_over_http_matches_the_rule_model(server):
    """3-3-1 MoA over HTTP, 4 requests in flight: truthful agents follow the mark, so the
    truthful MoA is always right; an opposer in layer 2 is outvoted 2:1, and the honest
    references win at least 4 of Dropout & Vote's 7 subsets."""
    backend = _backend(server, max_workers=4)
    moa = MixtureOfAgents([[Agent(backend, 0.7, 32)] * 3] * 2, Agent(backend, 0.7, 16), transcript=[])
    items = evidence_items(5, np.random.default_rng(0))
    arms = {(a.placement, a.defence): a for a in evaluate(moa, items, np.random.default_rng(1),
                                                            placements=["000_003"])}
    truth = np.array([it.answer for it in items])
    np.testing.assert_array_equal(arms["000_000", "none"].answers, truth)
    np.testing.assert_array_equal(arms["000_003", "none"].answers, truth)   # 2 honest vs 1 liar
    assert arms["000_003", "dropout_vote"].metrics["accuracy"]["value"] == 1.0  # 4 of 7 subsets honest-majority
    assert all(r.backend == "openai:tiny-rule" for r in moa.transcript)
    assert len(server.requests) == len(moa.transcript)


def test_tier_c_run_endpoint_against_the_test_server(server, tmp_path):
    from saddlepoint.experiments.moa import run_endpoint

    run = run_endpoint(server.base_url, "tiny-rule", n_items=3, placements=["000_002"], max_tokens=32,
                       api_key_env=None, out=tmp_path)
    rows = run.metrics()
    assert {r["arm"] for r in rows} == {f"{p}/{d}" for p in ("000_000", "000_002")
                                        for d in ("none", "dropout_vote", "cluster_filter", "cluster_locate",
                                                  "dropout_cluster")}
    truthful = next(r for r in rows if r["arm"] == "000_000/none")
    assert truthful["accuracy"] == 1.0                       # the rule model follows the marks
    assert run.summary()["attempts"] == len(server.requests)
    assert "tiny-rule" in (run.path / "report.md").read_text()
