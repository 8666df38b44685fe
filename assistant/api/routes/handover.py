"""The investor's side of a hand-over: turn a conversation into a request, and follow it by its code."""
from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from starlette.concurrency import run_in_threadpool

from ...auth import StaffAuth, default_title
from ...engine import Assistant
from ...handover import RequestError, RequestStore, public_view
from ..deps import get_assistant, get_auth, get_requests, rate_limit
from ..schemas import HandoverRequest

router = APIRouter(tags=["hand-over"])


def status_url(request: Request, code: str) -> str:
    return str(request.base_url).rstrip("/") + f"/request/{code}"


@router.post("/api/handover", status_code=201,
             summary="Send the conversation to the park's staff: returns a reference code and a status link")
async def handover(body: HandoverRequest, request: Request, a: Assistant = Depends(get_assistant),
                   store: RequestStore = Depends(get_requests)):
    rate_limit(request, body.session_id)
    transcript: list[dict] = []
    if body.session_id:
        # Only the holder of a session id can hand its conversation over; an unknown id is refused, not adopted.
        if not await run_in_threadpool(a.sessions.exists, body.session_id):
            raise HTTPException(404, detail="unknown session")
        turns = await run_in_threadpool(a.sessions.transcript, body.session_id)
        # A snapshot: later questions in the same chat do not change what was handed over.
        transcript = [{"question": t["question"], "answer": t["answer"], "answer_id": t["answer_id"]} for t in turns]
    try:
        r = await run_in_threadpool(lambda: store.create(
            name=body.name, organisation=body.organisation, contact=body.contact, message=body.message,
            session_id=body.session_id, transcript=transcript, language=body.language))
    except RequestError as e:
        raise HTTPException(422, detail=str(e)) from e
    return {"code": r["code"], "status": r["status"], "status_label": r["status_label"], "due": r["due"],
            "created": r["created"], "status_url": status_url(request, r["code"])}


@router.get("/api/handover/{code}", summary="A request's status, for the holder of its code")
async def handover_status(code: str, request: Request, lang: str = Query("vi", pattern="^(vi|en)$"),
                          store: RequestStore = Depends(get_requests), auth: StaffAuth = Depends(get_auth)):
    rate_limit(request)  # codes have 80 random bits; the limit makes even trying pointless
    r = await run_in_threadpool(store.by_code, code)
    if r is None:
        raise HTTPException(404, detail="unknown reference code (không tìm thấy mã yêu cầu)")
    title = None
    if r["assignee"]:
        acct = auth.accounts().get(r["assignee"])
        title = acct.public()["title"] if acct else default_title("staff")
    return public_view(r, title, lang)
