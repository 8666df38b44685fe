"""Thumbs up/down on an answer."""
from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Request
from starlette.concurrency import run_in_threadpool

from ...engine import Assistant
from ..deps import get_assistant, rate_limit
from ..schemas import FeedbackRequest

router = APIRouter(tags=["feedback"])


@router.post("/api/feedback", status_code=201, summary="Thumbs up/down on an answer")
async def feedback(req: FeedbackRequest, request: Request, a: Assistant = Depends(get_assistant)):
    rate_limit(request)
    found = await run_in_threadpool(a.sessions.answer_exists, req.answer_id)
    if found is None:
        raise HTTPException(404, detail="unknown answer_id")
    sid, question = found
    fid = await run_in_threadpool(a.sessions.add_feedback, req.answer_id, sid, int(req.rating), req.comment, question)
    return {"id": fid, "answer_id": req.answer_id, "rating": int(req.rating)}
