"""The catalog with validity, documents anchored per Điều/Khoản/Điểm, and single provisions."""
from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query
from starlette.concurrency import run_in_threadpool

from ...engine import Assistant
from .. import documents as docs
from ..deps import get_assistant

router = APIRouter(tags=["documents"])


@router.get("/api/documents", summary="Catalog with validity status")
async def documents(as_of: dt.date | None = None, lang: str = Query("vi", pattern="^(vi|en)$"),
                    a: Assistant = Depends(get_assistant)) -> dict[str, Any]:
    day = as_of or a.settings.today()
    corpus = await run_in_threadpool(lambda: a.corpus)
    items = [docs.document_summary(d, a.catalog, corpus, day, lang)
             for d in [*a.catalog.documents, *a.catalog.not_in_corpus]]
    return {"as_of": day.isoformat(), "documents": items}


@router.get("/api/documents/{doc_id:path}",
            summary="Full text anchored per Điều/Khoản/Điểm (id URL-encoded, e.g. 10%2F2024%2FN%C4%90-CP, "
                    "or slug 10-2024-nd-cp)")
async def document(doc_id: str, as_of: dt.date | None = None, lang: str = Query("vi", pattern="^(vi|en)$"),
                   a: Assistant = Depends(get_assistant)) -> dict[str, Any]:
    meta = docs.resolve(a.catalog, doc_id)
    if meta is None:
        raise HTTPException(404, detail="unknown document")
    corpus = await run_in_threadpool(lambda: a.corpus)
    day = as_of or a.settings.today()
    doc = corpus.get(meta.number)
    if doc is None:
        return {**docs.document_summary(meta, a.catalog, corpus, day, lang), "articles": []}
    return await run_in_threadpool(docs.document_json, doc, a.catalog, corpus, day, lang)


@router.get("/api/provisions/{pid:path}",
            summary="The article holding a provision (e.g. 10/2024/NĐ-CP:d22:k1), with the clause/point highlighted")
async def provision(pid: str, as_of: dt.date | None = None, lang: str = Query("vi", pattern="^(vi|en)$"),
                    a: Assistant = Depends(get_assistant)) -> dict[str, Any]:
    corpus = await run_in_threadpool(lambda: a.corpus)
    try:
        return docs.provision_json(pid, a.catalog, corpus, as_of or a.settings.today(), lang)
    except docs.NotFound as e:
        raise HTTPException(404, detail=str(e)) from e
