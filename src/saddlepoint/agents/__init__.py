"""Robust Mixture-of-Agents (arXiv 2503.05856): MoA layers and aggregator over a
:class:`~saddlepoint.agents.backends.ChatBackend`, deceptive agents set by placement strings,
the unsupervised defences and the deception metrics. NumPy/SciPy only at import time."""

from saddlepoint.agents.backends import (
    BackendError,
    BackendHTTPError,
    BackendResponseError,
    BackendTimeoutError,
    ChatBackend,
    ChatRequest,
    LearnedAggregator,
    OpenAIChatBackend,
    OpenAIChatConfig,
    SimulatedAgent,
    TransformersChatBackend,
    TransformersChatConfig,
)
from saddlepoint.agents.defences import DEFENCES, DefenceResult, defend, majority_vote
from saddlepoint.agents.evaluate import ArmResult, evaluate, fit_learned_aggregator
from saddlepoint.agents.metrics import (
    ABSTAIN,
    Rate,
    accuracy,
    deception_corruption_rate,
    persuasion_rate,
    recovery_rate,
)
from saddlepoint.agents.moa import (
    Agent,
    CallRecord,
    MixtureOfAgents,
    format_placement,
    parse_placement,
)
from saddlepoint.agents.prompts import (
    DECEIVER,
    OPPOSER,
    PROMOTER,
    TRUTHFUL,
    Message,
    extract_answer,
)
from saddlepoint.agents.tasks import (
    ComprehensionItem,
    QuestionTask,
    evidence_items,
    quality_items,
    split_passage,
    story_items,
)

__all__ = [
    "ABSTAIN", "Agent", "ArmResult", "evaluate", "fit_learned_aggregator", "quality_items", "BackendError", "BackendHTTPError", "BackendResponseError", "BackendTimeoutError",
    "CallRecord", "ChatBackend", "ChatRequest", "ComprehensionItem", "DECEIVER", "DEFENCES", "DefenceResult",
    "LearnedAggregator", "Message", "MixtureOfAgents", "OPPOSER", "OpenAIChatBackend", "OpenAIChatConfig",
    "PROMOTER", "QuestionTask", "Rate", "SimulatedAgent", "TRUTHFUL", "TransformersChatBackend",
    "TransformersChatConfig", "accuracy", "deception_corruption_rate", "defend", "evidence_items",
    "extract_answer", "format_placement", "majority_vote", "parse_placement", "persuasion_rate",
    "recovery_rate", "split_passage", "story_items",
]
