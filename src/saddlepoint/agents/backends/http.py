"""A client for any OpenAI-compatible chat-completions endpoint (vLLM, llama.cpp server,
LM Studio, Ollama, hosted APIs), standard library only.

``POST {base_url}/chat/completions`` with ``{"model", "messages", "temperature",
"max_tokens"}``; the key is read from the environment variable named by ``api_key_env`` at
call time (no header is sent when it is unset, as local servers need none). HTTP 429 and 5xx,
timeouts, refused or dropped connections are retried with exponential back-off (``Retry-After`` is
honoured up to ``backoff_max_s``); other 4xx statuses and malformed bodies fail at once with
an error that quotes the server.
"""

from __future__ import annotations

import http.client
import json
import logging
import os
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from saddlepoint.agents.backends.base import (
    BackendError,
    BackendHTTPError,
    BackendResponseError,
    BackendTimeoutError,
    ChatRequest,
)
from saddlepoint.config import check_positive, check_positive_int
from saddlepoint.errors import InvalidInputError

log = logging.getLogger(__name__)

__all__ = ["OpenAIChatConfig", "OpenAIChatBackend"]


@dataclass(frozen=True)
class OpenAIChatConfig:
    """Where and how to call an OpenAI-compatible endpoint."""

    base_url: str
    """Root of the API, e.g. ``http://127.0.0.1:8080/v1`` (``/chat/completions`` is appended)."""
    model: str
    """Model name sent in every request."""
    api_key_env: str | None = "OPENAI_API_KEY"
    """Environment variable holding the bearer key; ``None`` or unset sends no key."""
    timeout_s: float = 120.0
    """Seconds to wait for one HTTP answer before the attempt counts as timed out."""
    max_retries: int = 4
    """Retries after the first attempt for 429, 5xx, timeouts and refused connections."""
    backoff_s: float = 1.0
    """First back-off wait; attempt ``k`` waits ``backoff_s * 2**k`` (capped)."""
    backoff_max_s: float = 30.0
    """Cap on one wait, also on a server's ``Retry-After``."""
    max_workers: int = 4
    """Requests of one batch in flight at once."""

    def __post_init__(self) -> None:
        if not self.base_url.startswith(("http://", "https://")):
            raise InvalidInputError(f"base_url must start with http:// or https://, got {self.base_url!r}")
        if not self.model:
            raise InvalidInputError("model must not be empty")
        check_positive("timeout_s", self.timeout_s)
        check_positive_int("max_retries", self.max_retries, allow_zero=True)
        check_positive("backoff_s", self.backoff_s, allow_zero=True)
        check_positive("backoff_max_s", self.backoff_max_s, allow_zero=True)
        check_positive_int("max_workers", self.max_workers)


class _Retryable(Exception):
    def __init__(self, error: BackendError, retry_after: float | None = None) -> None:
        self.error = error
        self.retry_after = retry_after


class OpenAIChatBackend:
    """:class:`~saddlepoint.agents.backends.base.ChatBackend` over HTTP. ``attempts`` counts
    every HTTP attempt made (for logs and tests)."""

    def __init__(self, config: OpenAIChatConfig) -> None:
        self.config = config
        self.name = f"openai:{config.model}"
        self.url = config.base_url.rstrip("/") + "/chat/completions"
        self.attempts = 0

    def complete(self, requests: Sequence[ChatRequest]) -> list[str]:
        if len(requests) <= 1 or self.config.max_workers == 1:
            return [self.complete_one(r) for r in requests]
        with ThreadPoolExecutor(max_workers=min(self.config.max_workers, len(requests))) as pool:
            return list(pool.map(self.complete_one, requests))

    def complete_one(self, request: ChatRequest) -> str:
        """One request with retries; raises a :class:`BackendError` subclass on failure."""
        payload: dict[str, Any] = {"model": self.config.model,
                                   "messages": [m.as_dict() for m in request.messages],
                                   "temperature": request.temperature, "max_tokens": request.max_tokens}
        if request.seed is not None:
            payload["seed"] = request.seed
        body = json.dumps(payload).encode()
        for attempt in range(self.config.max_retries + 1):
            try:
                return self._attempt(body)
            except _Retryable as exc:
                if attempt == self.config.max_retries:
                    raise exc.error from None
                wait = min(self.config.backoff_s * 2 ** attempt, self.config.backoff_max_s)
                if exc.retry_after is not None:
                    wait = min(max(wait, exc.retry_after), self.config.backoff_max_s)
                log.warning("%s: %s; retry %d/%d in %.2fs", self.url, exc.error, attempt + 1,
                            self.config.max_retries, wait)
                time.sleep(wait)
        raise AssertionError("unreachable")

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        key = os.environ.get(self.config.api_key_env) if self.config.api_key_env else None
        if key:
            headers["Authorization"] = f"Bearer {key}"
        return headers

    def _attempt(self, body: bytes) -> str:
        self.attempts += 1
        req = urllib.request.Request(self.url, data=body, headers=self._headers(), method="POST")
        try:
            with urllib.request.urlopen(req, timeout=self.config.timeout_s) as resp:
                raw = resp.read()
        except urllib.error.HTTPError as exc:
            detail = exc.read()[:300].decode("utf-8", "replace")
            err = BackendHTTPError(f"{self.url} answered HTTP {exc.code}: {detail}", exc.code)
            if exc.code == 429 or 500 <= exc.code < 600:
                raise _Retryable(err, _retry_after(exc.headers.get("Retry-After"))) from None
            raise err from None
        except (TimeoutError, socket.timeout):
            raise _Retryable(BackendTimeoutError(
                f"{self.url} did not answer within {self.config.timeout_s}s")) from None
        except urllib.error.URLError as exc:
            if isinstance(exc.reason, (TimeoutError, socket.timeout)):
                raise _Retryable(BackendTimeoutError(
                    f"{self.url} did not answer within {self.config.timeout_s}s")) from None
            raise _Retryable(BackendError(f"cannot reach {self.url}: {exc.reason}")) from None
        except ConnectionError as exc:
            raise _Retryable(BackendError(f"connection to {self.url} failed: {exc!r}")) from None
        except http.client.HTTPException as exc:  # e.g. a truncated body
            raise _Retryable(BackendError(f"broken HTTP answer from {self.url}: {exc!r}")) from None
        return _parse_completion(raw, self.url)


def _retry_after(value: str | None) -> float | None:
    try:
        return max(float(value), 0.0) if value is not None else None
    except ValueError:
        return None


def _parse_completion(raw: bytes, url: str) -> str:
    """The first choice's message content of a chat-completions body."""
    snippet = raw[:200].decode("utf-8", "replace")
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise BackendResponseError(f"{url} returned a body that is not JSON: {snippet!r}") from None
    try:
        content = data["choices"][0]["message"]["content"]
    except (KeyError, IndexError, TypeError):
        raise BackendResponseError(
            f"{url} returned JSON without choices[0].message.content: {snippet!r}") from None
    if not isinstance(content, str):
        raise BackendResponseError(f"{url} returned non-text content: {snippet!r}")
    return content
