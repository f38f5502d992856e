"""Chat back ends: an OpenAI-compatible HTTP client, a local ``transformers`` model, and the
simulated tier-A agents. Importing this package loads neither torch nor transformers."""

from saddlepoint.agents.backends.base import (
    BackendError,
    BackendHTTPError,
    BackendResponseError,
    BackendTimeoutError,
    ChatBackend,
    ChatRequest,
)
from saddlepoint.agents.backends.http import OpenAIChatBackend, OpenAIChatConfig
from saddlepoint.agents.backends.local import TransformersChatBackend, TransformersChatConfig
from saddlepoint.agents.backends.simulated import LearnedAggregator, SimulatedAgent

__all__ = ["BackendError", "BackendHTTPError", "BackendResponseError", "BackendTimeoutError", "ChatBackend",
           "ChatRequest", "OpenAIChatBackend", "OpenAIChatConfig", "TransformersChatBackend",
           "TransformersChatConfig", "LearnedAggregator", "SimulatedAgent"]
