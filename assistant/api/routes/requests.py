"""The staff inbox: hand-over requests with status, assignee and due date; a request beside its conversation;
the reply letter drafted from it; the answer sent; closing; CSV export. Staff sign-in required throughout."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from ...auth import StaffAuth, StaffUser
from ...drafts import letter_from_answer, render
from ...engine import Assistant
from ...handover import STATUSES, RequestError, RequestStore
from ...models import QuestionError
from ..deps import get_assistant, get_auth, get_requests, staff_user
from ..schemas import AssignRequest, CloseRequest, ReplyRequest, RequestDraftRequest, StatusRequest
from .drafts import MEDIA

router = APIRouter(tags=["requests"], dependencies=[Depends(staff_user)])


def _summary(r: dict) -> dict[str, Any]:
    keep = ("id", "code", "status", "status_label", "created", "due", "overdue", "days_left", "assignee", "name",
            "organisation", "question", "replied_at", "closed_at", "turns")
    return {k: r[k] for k in keep}


def _get(store: RequestStore, rid: int) -> dict:
    r = store.get(rid)
    if r is None:
        raise HTTPException(404, detail="unknown request")
    return r


async def _do(fn, *args) -> dict:
    try:
        return await run_in_threadpool(fn, *args)
    except KeyError as e:
        raise HTTPException(404, detail="unknown request") from e
    except RequestError as e:
        raise HTTPException(409, detail=str(e)) from e


@router.get("/api/requests", summary="The inbox: overdue first, then by due date")
async def inbox(status: str = Query("all", pattern="^(all|open|new|in_progress|answered|closed)$"),
                mine: bool = False, user: StaffUser = Depends(staff_user),
                store: RequestStore = Depends(get_requests)) -> dict[str, Any]:
    items = await run_in_threadpool(store.list, None if status == "all" else status, user.username if mine else None)
    return {"today": store.clock.day().isoformat(), "requests": [_summary(r) for r in items],
            "counts": {s: sum(1 for r in items if r["status"] == s) for s in STATUSES},
            "overdue": sum(1 for r in items if r["overdue"])}


@router.get("/api/requests/export.csv", summary="All requests as CSV (the board's monthly report)")
async def export(status: str = Query("all", pattern="^(all|open|new|in_progress|answered|closed)$"),
                 user: StaffUser = Depends(staff_user), store: RequestStore = Depends(get_requests)):
    text = await run_in_threadpool(store.csv, None if status == "all" else status)
    return Response(text, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="requests.csv"', "Cache-Control": "no-store"})


@router.get("/api/requests/{rid}", summary="One request: contact, conversation (with citations), log")
async def detail(rid: int, store: RequestStore = Depends(get_requests)) -> dict[str, Any]:
    r = await run_in_threadpool(_get, store, rid)
    r.pop("closed_ts", None)
    r.pop("replied_ts", None)
    return {**r, "events": await run_in_threadpool(store.events, rid)}


@router.post("/api/requests/{rid}/assign", summary="Assign to a staff account (null: unassign)")
async def assign(rid: int, body: AssignRequest, user: StaffUser = Depends(staff_user),
                 store: RequestStore = Depends(get_requests), auth: StaffAuth = Depends(get_auth)):
    who = (body.assignee or "").strip().lower() or None
    if who and who not in auth.accounts():
        raise HTTPException(422, detail="unknown staff account")
    return _summary(await _do(store.assign, rid, who, user.username))


@router.post("/api/requests/{rid}/status", summary="Set new / in progress")
async def set_status(rid: int, body: StatusRequest, user: StaffUser = Depends(staff_user),
                     store: RequestStore = Depends(get_requests)):
    return _summary(await _do(store.set_status, rid, body.status, user.username))


@router.post("/api/requests/{rid}/reply", summary="Record the answer sent to the investor (they see it by code)")
async def reply(rid: int, body: ReplyRequest, user: StaffUser = Depends(staff_user),
                store: RequestStore = Depends(get_requests)):
    return _summary(await _do(store.reply, rid, body.reply, user.username))


@router.post("/api/requests/{rid}/close", summary="Close the request")
async def close(rid: int, body: CloseRequest | None = None, user: StaffUser = Depends(staff_user),
                store: RequestStore = Depends(get_requests)):
    return _summary(await _do(store.close, rid, user.username, body.note if body else None))


@router.post("/api/requests/{rid}/reopen", summary="Reopen a closed request")
async def reopen(rid: int, user: StaffUser = Depends(staff_user), store: RequestStore = Depends(get_requests)):
    return _summary(await _do(store.reopen, rid, user.username))


@router.post("/api/requests/{rid}/draft", response_class=Response,
             responses={200: {"content": {MEDIA["docx"]: {}, "text/markdown": {}}, "description": "the draft letter"}},
             summary="The reply letter (công văn) drafted from the request's question, addressed to its organisation")
async def draft(rid: int, request: Request, body: RequestDraftRequest | None = None,
                user: StaffUser = Depends(staff_user), store: RequestStore = Depends(get_requests),
                a: Assistant = Depends(get_assistant)):
    body = body or RequestDraftRequest()
    r = await run_in_threadpool(_get, store, rid)
    question = body.question or r["question"]
    day = a.settings.today()

    def build() -> bytes:
        # The request's question answered afresh, in Vietnamese, recording nothing (as `htp draft`).
        ans = a.answer(question, as_of=day, language="vi", record=False)
        letter = letter_from_answer(ans, a.catalog, day, org=r["organisation"] or r["name"], ref=body.ref or r["code"])
        return render(letter, body.format)

    try:
        data = await run_in_threadpool(build)
    except QuestionError as e:
        raise HTTPException(422, detail=str(e)) from e
    await run_in_threadpool(store.log_event, rid, user.username, "drafted", {"format": body.format})
    name = f"cong-van-tra-loi-{r['code']}.{body.format}"
    return Response(data, media_type=MEDIA[body.format],
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
