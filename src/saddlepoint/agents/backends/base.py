"""The chat back-end protocol every agent talks through, and the back-end errors."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from saddlepoint.agents.prompts import Message
from saddlepoint.config import check_positive, check_positive_int
from saddlepoint.errors import InvalidInputError, SaddlepointError

__all__ = ["ChatRequest", "ChatBackend", "BackendError", "BackendTimeoutError",
           "BackendHTTPError", "BackendResponseError"]


@dataclass(frozen=True)
class ChatRequest:
    """One chat completion to make: messages, sampling temperature (0 = greedy) and a cap on
    generated tokens (the paper uses 0.7 and 2048)."""

    messages: tuple[Message, ...]
    temperature: float = 0.7
    max_tokens: int = 2048
    seed: int | None = field(default=None)

    def __post_init__(self) -> None:
        if not self.messages:
            raise InvalidInputError("messages must not be empty")
        check_positive("temperature", self.temperature, allow_zero=True)
        check_positive_int("max_tokens", self.max_tokens)


@runtime_checkable
class ChatBackend(Protocol):
    """Anything that answers a batch of chat requests with one text each, in order.

    Batches let a local model pad and generate together and an HTTP client run requests
    concurrently; a back end that cannot answer raises a :class:`BackendError`.
    """

    name: str

    def complete(self, requests: Sequence[ChatRequest]) -> list[str]: ...


class BackendError(SaddlepointError):
    """A chat back end could not produce an answer."""


class BackendTimeoutError(BackendError):
    """The server did not answer within the timeout, on every attempt."""


class BackendHTTPError(BackendError):
    """The server answered with an HTTP error status (after retries, for 429 and 5xx)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class BackendResponseError(BackendError):
    """The server answered 200 with a body that is not a chat completion."""
