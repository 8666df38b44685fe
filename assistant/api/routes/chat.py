"""Chat: JSON answer, Server-Sent Events stream, and a conversation's transcript for the holder of its id."""
from __future__ import annotations

from typing import Any, AsyncIterator

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import iterate_in_threadpool, run_in_threadpool

from ...engine import Assistant, clean_question
from ...models import Answer, Citation, QuestionError
from ..deps import get_assistant, rate_limit
from ..schemas import ChatRequest
from ..sse import SSE_HEADERS, event
from .common import answer_json, public_error, session_for

router = APIRouter(tags=["chat"])


@router.post("/api/chat", summary="Answer a question (the same object as `htp ask --json`, plus session_id)")
async def chat(req: ChatRequest, request: Request, a: Assistant = Depends(get_assistant)) -> dict[str, Any]:
    rate_limit(request, req.session_id)
    clean_question(req.message, a.settings.max_message_chars)  # 422 before a session is created
    sid = await run_in_threadpool(session_for, a, req.session_id)
    ans = await run_in_threadpool(a.answer, req.message, session_id=sid, as_of=req.as_of,
                                  language=req.answer_language())
    return answer_json(ans, sid)


@router.post("/api/chat/stream", summary="Answer as Server-Sent Events: meta, delta…, citation…, done | error",
             response_class=StreamingResponse)
async def chat_stream(req: ChatRequest, request: Request, a: Assistant = Depends(get_assistant)):
    rate_limit(request, req.session_id)
    clean_question(req.message, a.settings.max_message_chars)
    sid = await run_in_threadpool(session_for, a, req.session_id)

    async def events() -> AsyncIterator[bytes]:
        try:
            it = a.stream(req.message, session_id=sid, as_of=req.as_of, language=req.answer_language())
            async for kind, obj in iterate_in_threadpool(it):
                if kind in ("meta", "answer") and isinstance(obj, Answer):
                    yield event("meta", {"session_id": sid, "answer_id": obj.answer_id, "mode": obj.mode,
                                         "language": obj.language, "refused": obj.refused, "as_of": obj.as_of})
                elif kind == "delta":
                    yield event("delta", {"text": obj})
                elif kind == "citation" and isinstance(obj, Citation):
                    yield event("citation", obj.model_dump(mode="json"))
                elif kind == "done" and isinstance(obj, Answer):
                    yield event("done", answer_json(obj, sid))
        except Exception as e:  # noqa: BLE001 — the status line is already sent: report in-band
            if not isinstance(e, QuestionError):
                import logging

                logging.getLogger("htp.api").exception("stream failed")
            yield event("error", {"message": public_error(e)})

    return StreamingResponse(events(), media_type="text/event-stream", headers=SSE_HEADERS)


@router.get("/api/sessions/{session_id}", tags=["sessions"],
            summary="Transcript of one session, for the holder of its id (the widget restores with it)")
async def session(session_id: str, a: Assistant = Depends(get_assistant)) -> dict[str, Any]:
    if not await run_in_threadpool(a.sessions.exists, session_id):
        raise HTTPException(404, detail="unknown session")
    turns = await run_in_threadpool(a.sessions.transcript, session_id)
    return {"session_id": session_id, "turns": turns}
