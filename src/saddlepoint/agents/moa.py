"""Mixture-of-Agents (Wang et al. 2024) with per-agent statuses from placement strings
(arXiv 2503.05856, App. A): layers of agents, each later layer reading the previous layer's
responses, then a final aggregator. Runs a batch of tasks layer by layer so a back end gets
all its requests of a layer at once."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from saddlepoint.agents.backends.base import ChatBackend, ChatRequest
from saddlepoint.agents.prompts import STATUSES, TRUTHFUL, Message, Reference
from saddlepoint.config import check_positive, check_positive_int
from saddlepoint.errors import InvalidInputError

log = logging.getLogger(__name__)

__all__ = ["Agent", "Task", "CallRecord", "MixtureOfAgents", "parse_placement", "format_placement"]


def parse_placement(text: str) -> tuple[tuple[int, ...], ...]:
    """Statuses per layer from a placement string such as ``"000_003"`` (layers split by
    ``_``, one digit per agent: 0 truthful, 1 open-ended deceiver, 2 promoter, 3 opposer).
    Statuses are keyed by agent position, never by model name (an upstream pitfall: two
    copies of one model in a layer would collide)."""
    if not isinstance(text, str) or not text:
        raise InvalidInputError(f"placement must be a non-empty string like '000_003', got {text!r}")
    layers = []
    for part in text.split("_"):
        if not part or any(ch not in "".join(map(str, STATUSES)) for ch in part):
            raise InvalidInputError(f"placement {text!r}: each layer must be digits in 0-3, got {part!r}")
        layers.append(tuple(int(ch) for ch in part))
    return tuple(layers)


def format_placement(statuses: Sequence[Sequence[int]]) -> str:
    """Inverse of :func:`parse_placement`."""
    return "_".join("".join(str(s) for s in layer) for layer in statuses)


class Task(Protocol):
    """One prompt as the MoA sees it (see :class:`~saddlepoint.agents.tasks.QuestionTask`)."""

    n_options: int

    def agent_messages(self, layer: int, index: int, status: int, references: Sequence[str]) -> list[Message]: ...

    def aggregator_messages(self, references: Sequence[str | Reference]) -> list[Message]: ...


@dataclass(frozen=True)
class Agent:
    """A back end with its sampling settings (paper: temperature 0.7, max_tokens 2048)."""

    backend: ChatBackend
    temperature: float = 0.7
    max_tokens: int = 2048

    def __post_init__(self) -> None:
        check_positive("temperature", self.temperature, allow_zero=True)
        check_positive_int("max_tokens", self.max_tokens)


@dataclass(frozen=True)
class CallRecord:
    """One back-end call of a transcript: where in the MoA it was made, what was sent and said."""

    task: int
    layer: int
    agent: int
    status: int
    backend: str
    messages: tuple[Message, ...]
    response: str
    seconds: float
    tag: str = ""


@dataclass
class MixtureOfAgents:
    """``layers[l][j]`` is agent ``j`` of layer ``l``; ``aggregator`` synthesises the last
    layer. With a ``transcript`` list, every call is appended to it (layer ``-1`` marks the
    aggregator); ``None`` keeps no transcript (large tier-A runs)."""

    layers: Sequence[Sequence[Agent]]
    aggregator: Agent
    transcript: list[CallRecord] | None = None

    def __post_init__(self) -> None:
        if not self.layers or any(not layer for layer in self.layers):
            raise InvalidInputError("layers must be a non-empty list of non-empty agent lists")

    def check_placement(self, placement: str | Sequence[Sequence[int]]) -> tuple[tuple[int, ...], ...]:
        statuses = parse_placement(placement) if isinstance(placement, str) else tuple(map(tuple, placement))
        shape = [len(layer) for layer in self.layers]
        if [len(layer) for layer in statuses] != shape:
            raise InvalidInputError(f"placement {format_placement(statuses)!r} does not match layer sizes {shape}")
        return statuses

    def propose(self, tasks: Sequence[Task], placement: str | Sequence[Sequence[int]] | None = None,
                cache: dict | None = None) -> list[list[list[str]]]:
        """Responses ``[task][layer][agent]`` of every layer (the default placement is all truthful).

        With a ``cache`` dict (one per batch of tasks), layers whose statuses so far match an
        earlier call are reused, so arms that differ only in layer 2 share layer 1 (a paired
        comparison, and fewer calls)."""
        statuses = self.check_placement(placement) if placement is not None else tuple(
            (TRUTHFUL,) * len(layer) for layer in self.layers)
        out: list[list[list[str]]] = [[] for _ in tasks]
        previous: list[list[str]] = [[] for _ in tasks]
        for l, layer in enumerate(self.layers):
            key = statuses[:l + 1]
            if cache is not None and key in cache:
                current = cache[key]
                for i in range(len(tasks)):
                    out[i].append(current[i])
                previous = current
                continue
            current = [[""] * len(layer) for _ in tasks]
            for j, agent in enumerate(layer):
                requests = [ChatRequest(tuple(t.agent_messages(l, j, statuses[l][j], previous[i])),
                                        agent.temperature, agent.max_tokens) for i, t in enumerate(tasks)]
                for i, text in enumerate(self._call(agent, requests, layer=l, index=j, status=statuses[l][j])):
                    current[i][j] = text
            for i in range(len(tasks)):
                out[i].append(current[i])
            if cache is not None:
                cache[key] = current
            previous = current
        return out

    def aggregate(self, tasks: Sequence[Task], references: Sequence[Sequence[str | Reference]],
                  tag: str = "") -> list[str]:
        """The aggregator's answer for each task given its references (one batch)."""
        if len(tasks) != len(references):
            raise InvalidInputError("tasks and references must have equal length")
        requests = [ChatRequest(tuple(t.aggregator_messages(r)), self.aggregator.temperature,
                                self.aggregator.max_tokens) for t, r in zip(tasks, references)]
        return self._call(self.aggregator, requests, layer=-1, index=0, status=TRUTHFUL, tag=tag)

    def _call(self, agent: Agent, requests: list[ChatRequest], *, layer: int, index: int, status: int,
              tag: str = "") -> list[str]:
        if not requests:
            return []
        start = time.perf_counter()
        texts = agent.backend.complete(requests)
        if len(texts) != len(requests):
            raise InvalidInputError(f"back end {agent.backend.name} returned {len(texts)} answers "
                                    f"for {len(requests)} requests")
        per = (time.perf_counter() - start) / len(requests)
        if self.transcript is not None:
            self.transcript.extend(CallRecord(i, layer, index, status, agent.backend.name, r.messages, t, per, tag)
                                   for i, (r, t) in enumerate(zip(requests, texts)))
        return texts
