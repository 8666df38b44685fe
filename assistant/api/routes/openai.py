"""OpenAI-compatible `POST /v1/chat/completions`, so existing chat front-ends and SDKs can use the assistant.

Stateless, as the OpenAI API is: the client sends the whole conversation. The last user message is answered;
earlier user messages are the history used to understand follow-ups; nothing is written to the session
database. Citations travel as an extra top-level `citations` field (SDKs expose unknown fields, e.g. `model_extra`).
Streaming goes through `Assistant.stream` (the same events as /api/chat/stream), given the history.
"""
from __future__ import annotations

import time
import uuid
from typing import Any, AsyncIterator, Iterator

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import iterate_in_threadpool, run_in_threadpool

from ...conversation import Turn, contextualize
from ...engine import Assistant, clean_question
from ...models import Answer, QuestionError
from ...query import parse_query
from ..deps import get_assistant, rate_limit
from ..schemas import OAIChatRequest
from ..sse import SSE_HEADERS, event

router = APIRouter(tags=["openai"])
MODEL_ID = "htp-assistant"


def _history(a: Assistant, questions: list[str]) -> list[Turn]:
    """Rebuild the turns the engine would have recorded for these earlier questions (search query and
    language are what follow-up understanding uses; the cited documents are not known and not needed)."""
    turns: list[Turn] = []
    for q in questions:
        try:
            q = clean_question(q, a.settings.max_message_chars)
        except QuestionError:
            continue
        ctx = contextualize(q, turns)
        turns.append(Turn(q, ctx.query[:600], parse_query(q, a.catalog).language, [], False))
    return turns[-a.settings.history_turns:]


def answer_messages(a: Assistant, history: list[str], question: str, as_of=None, language=None) -> Answer:
    # Stateless: the earlier messages are the history; nothing is recorded.
    return a.answer(question, as_of=as_of, language=language, record=False, history=_history(a, history))


class _Stateless:
    """What `Assistant.stream` needs of its assistant (`answer`), answering with the client's history and
    recording nothing: the stream's events and chunking stay exactly those of the assistant."""

    def __init__(self, a: Assistant, history: list[str]):
        self.a, self.history = a, history

    def answer(self, question: str, session_id=None, as_of=None, language=None) -> Answer:
        return answer_messages(self.a, self.history, question, as_of, language)


def stream_messages(a: Assistant, history: list[str], question: str, as_of=None, language=None) -> Iterator:
    return Assistant.stream(_Stateless(a, history), question, as_of=as_of, language=language)  # type: ignore[arg-type]


def _usage(req: OAIChatRequest, ans: Answer) -> dict[str, int]:
    # No tokenizer here: whitespace words are an honest, documented approximation.
    prompt = sum(len(m.text().split()) for m in req.messages)
    completion = len(ans.answer.split())
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def _extras(ans: Answer) -> dict[str, Any]:
    return {"citations": [c.model_dump(mode="json") for c in ans.citations],
            "htp": {"answer_id": ans.answer_id, "refused": ans.refused, "language": ans.language, "mode": ans.mode,
                    "as_of": ans.as_of, "notes": ans.notes,
                    "procedure": ans.procedure.model_dump(mode="json") if ans.procedure else None}}


@router.get("/v1/models", summary="The one model this server offers")
async def models() -> dict[str, Any]:
    return {"object": "list", "data": [{"id": MODEL_ID, "object": "model", "created": 0, "owned_by": "htp"}]}


@router.post("/v1/chat/completions", summary="OpenAI-compatible chat completion (stream or not)")
async def completions(req: OAIChatRequest, request: Request, a: Assistant = Depends(get_assistant)):
    rate_limit(request, f"user:{req.user}" if req.user else None)
    users = [m.text() for m in req.messages if m.role == "user"]
    if not users:
        raise HTTPException(422, detail="no user message to answer")
    clean_question(users[-1], a.settings.max_message_chars)  # 422 before any work
    lang = req.answer_language()
    created, model = int(time.time()), req.model or MODEL_ID

    if not req.stream:
        ans = await run_in_threadpool(answer_messages, a, users[:-1], users[-1], req.as_of, lang)
        return {"id": f"chatcmpl-{ans.answer_id or uuid.uuid4().hex}", "object": "chat.completion",
                "created": created, "model": model,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": ans.answer},
                             "finish_reason": "stop", "logprobs": None}],
                "usage": _usage(req, ans), **_extras(ans)}

    it = stream_messages(a, users[:-1], users[-1], req.as_of, lang)
    # The answer is computed by the first event: errors (no index: 503) still get their own status code.
    kind, first = await run_in_threadpool(next, it)
    cid = f"chatcmpl-{getattr(first, 'answer_id', None) or uuid.uuid4().hex}"

    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> bytes:
        return event(None, {"id": cid, "object": "chat.completion.chunk", "created": created, "model": model,
                            "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}],
                            **extra})

    async def chunks() -> AsyncIterator[bytes]:
        yield chunk({"role": "assistant", "content": ""})
        async for k, obj in iterate_in_threadpool(it):
            if k == "delta":
                yield chunk({"content": obj})
            elif k == "done" and isinstance(obj, Answer):
                yield chunk({}, "stop", usage=_usage(req, obj), **_extras(obj))
        yield event(None, "[DONE]")

    return StreamingResponse(chunks(), media_type="text/event-stream", headers=SSE_HEADERS)
