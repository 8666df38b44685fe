"""Admin: feedback export and background re-indexing (Bearer HTP_ADMIN_TOKEN, or a signed-in admin account)."""
from __future__ import annotations

import csv
import datetime as dt
import io

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from ...engine import Assistant
from ...handover import csv_cell
from ..deps import get_assistant, require_admin
from ..indexjob import IndexJob

router = APIRouter(tags=["admin"], dependencies=[Depends(require_admin)])


@router.get("/api/admin/feedback", summary="Export feedback (JSON, or CSV with ?format=csv); Bearer HTP_ADMIN_TOKEN")
async def export(format: str = Query("json", pattern="^(json|csv)$"), a: Assistant = Depends(get_assistant)):
    rows = await run_in_threadpool(a.sessions.feedback)
    for row in rows:
        row["created"] = dt.datetime.fromtimestamp(row["created"], dt.timezone.utc).isoformat()
    if format == "json":
        return {"feedback": rows}
    buf = io.StringIO()
    cols = ["id", "created", "answer_id", "session_id", "rating", "comment", "question"]
    w = csv.DictWriter(buf, fieldnames=cols)
    w.writeheader()
    for row in rows:
        w.writerow({k: csv_cell(row.get(k)) for k in cols})
    # UTF-8 BOM so Excel opens Vietnamese text correctly.
    return Response("\ufeff" + buf.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="feedback.csv"'})


@router.post("/api/admin/reindex", status_code=202, summary="Start a background index rebuild")
async def reindex(request: Request):
    job: IndexJob = request.app.state.index_job
    started, pid = await run_in_threadpool(job.start)
    return JSONResponse({"started": started, "running": True, "pid": pid, "log": str(job.log_path),
                         "detail": "index build started" if started else "an index build is already running"},
                        status_code=202)
