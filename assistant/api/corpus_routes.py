"""Corpus additions through the API (issue 16): draft or add a legal text (admin), and recent changes (public).

``POST /api/admin/corpus/texts?name=FILE.txt[&apply=true]`` with the text as the request body (UTF-8 .txt, or the
bytes of a .docx / .html): without ``apply`` it answers the drafted entry and what would change for the documents
already described; with it, the text and its entry are written to the corpus folder (its ``catalog.local.yaml``)
and a background index build is started. Nothing is written when anything is wrong, and a failure while writing
restores the corpus and catalog (``corpus.additions.apply_plans``).
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.encoders import jsonable_encoder
from starlette.concurrency import run_in_threadpool

try:  # the API is being split into modules; the admin check lives in deps once that lands
    from .deps import require_admin
except ImportError:  # pragma: no cover
    from .app import require_admin

router = APIRouter(tags=["corpus"])

DEFAULT_MAX_BYTES = 256 * 1024


def _limit(request: Request) -> int:
    return int(getattr(request.app.state.settings, "corpus_upload_max_bytes", DEFAULT_MAX_BYTES))


def _plan_json(plan) -> dict[str, Any]:
    return jsonable_encoder({"file": plan.dest, "number": plan.draft.number, "entry": plan.entry(),
                             "changes": plan.impact.lines, "updates": plan.impact.updates,
                             "conflicts": plan.impact.conflicts, "errors": plan.errors})


@router.post("/api/admin/corpus/texts", dependencies=[Depends(require_admin)],
             summary="Draft (or, with apply=true, add) a legal text: body = the file's bytes; Bearer HTP_ADMIN_TOKEN")
async def add_text(request: Request, name: str = Query(..., max_length=160, description="file name, e.g. nd-1.txt"),
                   apply: bool = Query(False)):
    from corpus.additions import AddError, apply_plans, plan_add
    from corpus.catalog import CatalogError, load_catalog

    settings = request.app.state.settings
    limit = _limit(request)
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > limit:
        raise HTTPException(413, detail=f"{name}: over the upload limit of {limit} bytes")
    data = await request.body()
    if len(data) > limit:
        raise HTTPException(413, detail=f"{name}: over the upload limit of {limit} bytes")
    if not data.strip():
        raise HTTPException(422, detail=f"{name}: empty body: send the text of the document")

    def work() -> tuple[int, dict[str, Any]]:
        try:
            catalog = load_catalog(corpus_dir=settings.corpus_dir)
            plan = plan_add(None, settings.corpus_dir, catalog, name=name, data=data, max_bytes=limit)
        except (AddError, CatalogError) as e:
            return 422, {"detail": str(e)}
        body = _plan_json(plan)
        if not plan.ok:
            return 422, {"detail": "; ".join(plan.errors), **body}
        if not apply:
            return 200, {"applied": False, **body}
        try:
            res = apply_plans([plan], settings.corpus_dir)
        except (AddError, CatalogError) as e:
            return 422, {"detail": str(e), **body}
        started, pid = request.app.state.index_job.start()
        return 201, {"applied": True, "catalog": str(res.catalog_path), "index_build_started": started,
                     "index_build_pid": pid, **body}

    status, body = await run_in_threadpool(work)
    if status >= 400:
        raise HTTPException(status, detail=body.get("detail") if set(body) == {"detail"} else body)
    from fastapi.responses import JSONResponse

    return JSONResponse(body, status_code=status)


@router.get("/api/corpus/changes", summary="Texts that took effect, were amended or ceased in a period")
async def recent_changes(request: Request, since: dt.date = Query(...), until: dt.date | None = Query(None)):
    from corpus.catalog import load_catalog
    from corpus.changes import changes

    settings = request.app.state.settings
    end = until or settings.today()
    items = await run_in_threadpool(lambda: changes(load_catalog(corpus_dir=settings.corpus_dir), since, end))
    return {"since": since.isoformat(), "until": end.isoformat(), "changes": [i.as_dict() for i in items]}
