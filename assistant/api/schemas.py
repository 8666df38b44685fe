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
    language: Literal["vi", "en", "auto"] | None = Field(
        default=None, description="answer language; omitted or \"auto\": the question's own")

    def answer_language(self) -> str | None:
        return None if self.language in (None, "auto") else self.language


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
    language: Literal["vi", "en", "auto"] | None = None

    def answer_language(self) -> str | None:
        return None if self.language in (None, "auto") else self.language


# ---------------------------------------------------------------------------------------------- hand-over, staff
class HandoverRequest(BaseModel):
    session_id: str | None = Field(default=None, max_length=128, description="the conversation to hand over")
    name: str = Field(min_length=1, max_length=200)
    organisation: str | None = Field(default=None, max_length=300)
    contact: str = Field(min_length=3, max_length=200, description="e-mail or telephone")
    message: str | None = Field(default=None, max_length=4000, description="what the staff should know or decide")
    language: Literal["vi", "en"] | None = None


class SignInRequest(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=200)


class AssignRequest(BaseModel):
    assignee: str | None = Field(default=None, max_length=64, description="a staff username; null unassigns")


class StatusRequest(BaseModel):
    status: Literal["new", "in_progress"]


class ReplyRequest(BaseModel):
    reply: str = Field(min_length=1, max_length=20_000)


class CloseRequest(BaseModel):
    note: str | None = Field(default=None, max_length=500)


class RequestDraftRequest(BaseModel):
    format: Literal["docx", "md"] = "docx"
    question: str | None = Field(default=None, max_length=2000, description="default: the request's question")
    ref: str | None = Field(default=None, max_length=100)
