"""Request bodies. Every endpoint validates its JSON through one of these: wrong types are a 422, never a 500.

Message length is checked by the engine (``clean_question``, limit from settings) so the API and the CLI say
the same thing; the static caps here only stop absurd payloads before they reach it.
"""
from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

HARD_MAX_CHARS = 100_000


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")
    session_id: str | None = Field(default=None, max_length=128,
                                   description="omit to start a conversation; reuse the returned one for follow-ups")
    message: str = Field(max_length=HARD_MAX_CHARS, description="the question")
    as_of: dt.date | None = Field(default=None, description="validity date YYYY-MM-DD (default: today)")
    language: Literal["vi", "en"] | None = Field(default=None, description="answer language (default: the question's)")


class FeedbackRequest(BaseModel):
    answer_id: str = Field(min_length=1, max_length=64)
    rating: int | str = Field(description="+1 / -1, or \"up\" / \"down\"")
    comment: str | None = Field(default=None, max_length=2000)

    @field_validator("rating", mode="before")
    @classmethod
    def _rating(cls, v: object) -> int:
        # bool is an int in Python: reject it explicitly so `true` is not read as +1.
        if isinstance(v, bool):
            raise ValueError("rating must be +1, -1, \"up\" or \"down\"")
        if isinstance(v, int) and v in (1, -1):
            return v
        if isinstance(v, str) and v.strip().lower() in ("up", "+1", "1", "down", "-1"):
            return 1 if v.strip().lower() in ("up", "+1", "1") else -1
        raise ValueError("rating must be +1, -1, \"up\" or \"down\"")


class OAIMessage(BaseModel):
    model_config = ConfigDict(extra="ignore")
    role: Literal["system", "user", "assistant", "tool", "developer"]
    # OpenAI allows a list of content parts; only text parts carry a question.
    content: str | list[dict] | None = None

    def text(self) -> str:
        if isinstance(self.content, str):
            return self.content
        if isinstance(self.content, list):
            return " ".join(str(p.get("text", "")) for p in self.content if p.get("type") == "text")
        return ""


class OAIChatRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")
    model: str = Field(default="htp-assistant", max_length=200)
    messages: list[OAIMessage] = Field(min_length=1, max_length=200)
    stream: bool = False
    user: str | None = Field(default=None, max_length=256)
    # Extensions understood by this server (ignored by OpenAI clients that do not send them).
    as_of: dt.date | None = None
    language: Literal["vi", "en"] | None = None
