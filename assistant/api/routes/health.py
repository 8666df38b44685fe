"""/healthz (the process is up) and /readyz (an index is loaded; which mode; a running build's progress)."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from ...buildprogress import describe, read_progress
from ...engine import Assistant
from ..deps import get_assistant

router = APIRouter(tags=["health"])


def build_state(request: Request) -> tuple[bool, dict | None]:
    """(a build is running, its progress): our own background job, or any `htp index` on this data dir."""
    snap = read_progress(request.app.state.settings.data_dir)
    return request.app.state.index_job.running() or snap is not None, snap


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="200 with the index mode once an index is loaded, else 503")
async def readyz(request: Request, a: Assistant = Depends(get_assistant)):
    from indexing.store import IndexError_, IndexMissing

    try:
        gen = await run_in_threadpool(a.handle.generation)
        mode = a.handle.mode
        if mode == "hybrid":
            # Reliability fix: readiness used to ignore the vector store, so a removed or damaged Chroma
            # folder answered 200 here and 503/500 on every question. Opening it is cached after the first call.
            await run_in_threadpool(a.handle.collection)
    except (IndexError_, OSError, ValueError) as e:
        building, snap = build_state(request)
        if building and isinstance(e, IndexMissing):
            # Never "no index … build it" while a build runs: that invites a second one.
            msg = ("not ready: the index is being built (Đang xây dựng chỉ mục…)"
                   + (f": {describe(snap)}" if snap else "") + ". Answers start when the keyword index is ready.")
        else:
            hint = ("An index build is running in the background (Đang xây dựng chỉ mục…)." if building
                    else "" if "htp index" in str(e) else "Build it with `htp index`.")
            msg = f"not ready: {e}. {hint}".strip()
        return JSONResponse({"ready": False, "building": building, "progress": snap, "detail": msg}, status_code=503,
                            headers={"Retry-After": "5"})
    m = gen.manifest
    scope = ("off" if not a.settings.scope_check or mode != "hybrid" else
             f"disabled: {a.scope_error}" if a.scope_error else "on")
    building, snap = build_state(request)
    body = {"ready": True, "mode": mode, "generation": m.generation, "documents": m.documents,
            "nodes": m.node_count, "building": building, "scope_check": scope}
    if snap:
        body["progress"] = snap
        body["detail"] = f"answering in {mode} mode; index build: {describe(snap)}"
    return body
