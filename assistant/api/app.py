"""FastAPI application: chat (JSON, SSE, OpenAI-compatible), documents, provisions, sessions, feedback, admin,
health, the embeddable widget and the demo/staff pages.

Every answer goes through :meth:`Assistant.answer` (or its streaming view) in a worker thread: it is
synchronous and CPU-bound, and must never block the event loop that serves other clients and /healthz.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
import logging
import secrets
import threading
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, AsyncIterator

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.concurrency import iterate_in_threadpool, run_in_threadpool

from ..config import Settings, apply_hub_policy, get_settings
from ..engine import Assistant, clean_question
from ..models import Answer, Citation, QuestionError
from . import documents as docs
from .indexjob import IndexJob
from .ratelimit import RateLimiter
from .schemas import ChatRequest, FeedbackRequest
from .sse import SSE_HEADERS, event

log = logging.getLogger("htp.api")
WEB_DIR = Path(__file__).resolve().parents[1] / "web"
MAX_BODY_BYTES = 256 * 1024

# Only our own scripts and styles: the pages insert all data as text, and a CSP makes any slip inert.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'self'")
HTML_HEADERS = {"Content-Security-Policy": CSP, "X-Frame-Options": "SAMEORIGIN",
                "Cache-Control": "no-cache"}
STATIC = {"widget.js": "text/javascript", "widget.css": "text/css", "staff.js": "text/javascript",
          "staff.css": "text/css", "site.css": "text/css", "favicon.svg": "image/svg+xml"}


# ---------------------------------------------------------------------------------------------- dependencies
def get_assistant(request: Request) -> Assistant:
    """Dependency for routers mounted from other packages (e.g. assistant.drafts.router)."""
    return request.app.state.assistant


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def rate_limit(request: Request, session_id: str | None = None) -> None:
    keys = [f"ip:{client_ip(request)}"]
    if session_id:
        keys.append(f"session:{session_id[:128]}")
    wait = request.app.state.limiter.hit(*keys)
    if wait:
        raise HTTPException(429, headers={"Retry-After": str(int(wait))},
                            detail=f"too many requests: retry in {int(wait)} s "
                                   f"(quá nhiều yêu cầu, vui lòng thử lại sau {int(wait)} giây)")


def require_admin(request: Request) -> None:
    token = request.app.state.settings.admin_token
    if not token:
        raise HTTPException(403, detail="admin endpoints are disabled: set HTP_ADMIN_TOKEN")
    auth = request.headers.get("authorization")
    if not auth:
        raise HTTPException(401, detail="missing Authorization: Bearer <HTP_ADMIN_TOKEN>",
                            headers={"WWW-Authenticate": "Bearer"})
    scheme, _, cred = auth.partition(" ")
    if scheme.lower() != "bearer" or not secrets.compare_digest(cred.strip().encode(), token.encode()):
        raise HTTPException(403, detail="invalid admin token")


def _session(a: Assistant, sid: str | None) -> str:
    """The caller's session if it exists, else a fresh server-generated token.

    Unlike SessionStore.ensure (which adopts a well-formed unknown id, for the CLI), the API never adopts a
    client-chosen id: two clients picking the same easy id would otherwise share a conversation."""
    return a.sessions.ensure(sid if sid and a.sessions.exists(sid) else None)


def _answer_json(ans: Answer, session_id: str | None) -> dict[str, Any]:
    data = ans.model_dump(mode="json")
    data["session_id"] = session_id
    return data


def _public_error(e: Exception) -> str:
    from indexing.store import IndexError_

    if isinstance(e, (QuestionError, IndexError_)):
        return str(e)
    return "internal error while answering (lỗi nội bộ khi trả lời); please retry"


def _page(name: str) -> FileResponse:
    return FileResponse(WEB_DIR / name, media_type="text/html; charset=utf-8", headers=HTML_HEADERS)


# ---------------------------------------------------------------------------------------------- app
def create_app(settings: Settings | None = None, assistant: Assistant | None = None,
               index_job: IndexJob | None = None) -> FastAPI:
    settings = settings or (assistant.settings if assistant else get_settings())
    apply_hub_policy(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Warm up (index, corpus, embedder) off the request path; a missing index is fine: /readyz tells.
        threading.Thread(target=_warm, args=(app.state.assistant,), daemon=True, name="htp-warmup").start()
        yield

    # max_body_size (reliability fix): the Content-Length check in `guard` alone let a chunked body of any size
    # through (no Content-Length header); FastAPI's limit counts the bytes as they arrive and answers 413.
    app = FastAPI(title="htp-assistant API", version="0.1.0", lifespan=lifespan, max_body_size=MAX_BODY_BYTES,
                  description="Grounded answers on Vietnam's high-tech park law, citing Điều/Khoản with validity "
                              "status. Chat (JSON, SSE, OpenAI-compatible), documents, provisions, feedback.")
    app.state.settings = settings
    app.state.assistant = assistant or Assistant(settings)
    app.state.limiter = RateLimiter(settings.rate_limit_per_minute)
    app.state.index_job = index_job or IndexJob(settings)

    app.add_middleware(CORSMiddleware, allow_origins=list(settings.cors_origins), allow_credentials=False,
                       allow_methods=["GET", "POST", "OPTIONS"], allow_headers=["Content-Type", "Authorization"],
                       expose_headers=["Retry-After"], max_age=600)

    @app.middleware("http")
    async def guard(request: Request, call_next):
        # Cheap size check before any body is read; chat messages are limited far below this anyway.
        length = request.headers.get("content-length")
        if length and length.isdigit() and int(length) > MAX_BODY_BYTES:
            return JSONResponse({"detail": "request body too large"}, status_code=413)
        response = await call_next(request)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        return response

    @app.exception_handler(QuestionError)
    async def _question_error(request: Request, e: QuestionError) -> JSONResponse:
        return JSONResponse({"detail": str(e)}, status_code=422)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, e: RequestValidationError) -> Response:
        # Reliability fix: FastAPI's default handler echoes every invalid input as UTF-8; a string holding a lone
        # surrogate (valid JSON: "\ud800") cannot be encoded, which made a 422 a 500. Echo at most 200 characters
        # of each input (no 100k-character reflections either), as ASCII-escaped JSON.
        errors = jsonable_encoder(e.errors())
        for err in errors:
            if isinstance(err, dict) and "input" in err:
                v = err["input"]
                if isinstance(v, str):
                    err["input"] = v[:200]
                elif len(json.dumps(v, ensure_ascii=True, default=str)) > 200:
                    err["input"] = "…"
        return Response(json.dumps({"detail": errors}, ensure_ascii=True, default=str), status_code=422,
                        media_type="application/json")

    from indexing.store import IndexError_, IndexMissing

    @app.exception_handler(IndexError_)
    async def _index_error(request: Request, e: IndexError_) -> JSONResponse:
        # "Building" only when it is true: a damaged index is not being rebuilt, its message names the fix.
        building = isinstance(e, IndexMissing) or request.app.state.index_job.running()
        return JSONResponse({"detail": f"{e} (Đang xây dựng chỉ mục…)" if building else str(e)}, status_code=503,
                            headers={"Retry-After": "10"})

    app.include_router(_api_router())
    app.include_router(_admin_router())
    from .openai_compat import router as openai_router

    app.include_router(openai_router)
    try:
        from ..drafts.router import router as drafts_router  # written separately; optional

        app.include_router(drafts_router)
    except ImportError:
        log.info("assistant.drafts.router not available: /api/drafts disabled")
    app.include_router(_pages_router())  # last: its /{name} route must not shadow anything
    return app


def _warm(a: Assistant) -> None:
    try:
        a.warm_up()
        if a.handle.mode == "hybrid":
            a.handle.collection()  # open the vector store too: a damaged Chroma folder is reported at start-up
    except Exception as e:  # noqa: BLE001 — reported by /readyz, not fatal
        # Reliability fix: was log.info, which nothing prints under uvicorn, so `htp serve` started silently on
        # a damaged index. A warning reaches stderr (logging's last-resort handler) and names the fix.
        log.warning("htp: the index is not usable yet: %s", e)


# ---------------------------------------------------------------------------------------------- chat & data
def _api_router() -> APIRouter:
    r = APIRouter(tags=["chat"])

    @r.post("/api/chat", summary="Answer a question (the same object as `htp ask --json`, plus session_id)")
    async def chat(req: ChatRequest, request: Request, a: Assistant = Depends(get_assistant)) -> dict[str, Any]:
        rate_limit(request, req.session_id)
        clean_question(req.message, a.settings.max_message_chars)  # 422 before a session is created
        sid = await run_in_threadpool(_session, a, req.session_id)
        ans = await run_in_threadpool(a.answer, req.message, session_id=sid, as_of=req.as_of,
                                      language=req.language)
        return _answer_json(ans, sid)

    @r.post("/api/chat/stream", summary="Answer as Server-Sent Events: meta, delta…, citation…, done | error",
            response_class=StreamingResponse)
    async def chat_stream(req: ChatRequest, request: Request, a: Assistant = Depends(get_assistant)):
        rate_limit(request, req.session_id)
        clean_question(req.message, a.settings.max_message_chars)
        sid = await run_in_threadpool(_session, a, req.session_id)

        async def events() -> AsyncIterator[bytes]:
            try:
                it = a.stream(req.message, session_id=sid, as_of=req.as_of, language=req.language)
                async for kind, obj in iterate_in_threadpool(it):
                    if kind in ("meta", "answer") and isinstance(obj, Answer):
                        yield event("meta", {"session_id": sid, "answer_id": obj.answer_id, "mode": obj.mode,
                                             "language": obj.language, "refused": obj.refused, "as_of": obj.as_of})
                    elif kind == "delta":
                        yield event("delta", {"text": obj})
                    elif kind == "citation" and isinstance(obj, Citation):
                        yield event("citation", obj.model_dump(mode="json"))
                    elif kind == "done" and isinstance(obj, Answer):
                        yield event("done", _answer_json(obj, sid))
            except Exception as e:  # noqa: BLE001 — the status line is already sent: report in-band
                if not isinstance(e, QuestionError):
                    log.exception("stream failed")
                yield event("error", {"message": _public_error(e)})

        return StreamingResponse(events(), media_type="text/event-stream", headers=SSE_HEADERS)

    @r.get("/api/sessions/{session_id}", tags=["sessions"], summary="Transcript of one session")
    async def session(session_id: str, a: Assistant = Depends(get_assistant)) -> dict[str, Any]:
        if not await run_in_threadpool(a.sessions.exists, session_id):
            raise HTTPException(404, detail="unknown session")
        turns = await run_in_threadpool(a.sessions.transcript, session_id)
        return {"session_id": session_id, "turns": turns}

    @r.post("/api/feedback", tags=["feedback"], status_code=201, summary="Thumbs up/down on an answer")
    async def feedback(req: FeedbackRequest, request: Request, a: Assistant = Depends(get_assistant)):
        rate_limit(request)
        found = await run_in_threadpool(a.sessions.answer_exists, req.answer_id)
        if found is None:
            raise HTTPException(404, detail="unknown answer_id")
        sid, question = found
        fid = await run_in_threadpool(a.sessions.add_feedback, req.answer_id, sid, int(req.rating),
                                      req.comment, question)
        return {"id": fid, "answer_id": req.answer_id, "rating": int(req.rating)}

    @r.get("/api/documents", tags=["documents"], summary="Catalog with validity status")
    async def documents(as_of: dt.date | None = None, lang: str = Query("vi", pattern="^(vi|en)$"),
                        a: Assistant = Depends(get_assistant)) -> dict[str, Any]:
        day = as_of or a.settings.today()
        corpus = await run_in_threadpool(lambda: a.corpus)
        items = [docs.document_summary(d, a.catalog, corpus, day, lang)
                 for d in [*a.catalog.documents, *a.catalog.not_in_corpus]]
        return {"as_of": day.isoformat(), "documents": items}

    @r.get("/api/documents/{doc_id:path}", tags=["documents"],
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

    @r.get("/api/provisions/{pid:path}", tags=["documents"],
           summary="The article holding a provision (e.g. 10/2024/NĐ-CP:d22:k1), with the clause/point highlighted")
    async def provision(pid: str, as_of: dt.date | None = None, lang: str = Query("vi", pattern="^(vi|en)$"),
                        a: Assistant = Depends(get_assistant)) -> dict[str, Any]:
        corpus = await run_in_threadpool(lambda: a.corpus)
        try:
            return docs.provision_json(pid, a.catalog, corpus, as_of or a.settings.today(), lang)
        except docs.NotFound as e:
            raise HTTPException(404, detail=str(e)) from e

    @r.get("/healthz", tags=["health"])
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @r.get("/readyz", tags=["health"], summary="200 with the index mode once an index is loaded, else 503")
    async def readyz(request: Request, a: Assistant = Depends(get_assistant)):
        from indexing.store import IndexError_

        try:
            gen = await run_in_threadpool(a.handle.generation)
            mode = a.handle.mode
            if mode == "hybrid":
                # Reliability fix: readiness used to ignore the vector store, so a removed or damaged Chroma
                # folder answered 200 here and 503/500 on every question. Opening it is cached after the first call.
                await run_in_threadpool(a.handle.collection)
        except (IndexError_, OSError, ValueError) as e:
            building = request.app.state.index_job.running()
            hint = ("An index build is running in the background (Đang xây dựng chỉ mục…)." if building
                    else "" if "htp index" in str(e) else "Build it with `htp index`.")
            msg = f"not ready: {e}. {hint}".strip()
            return JSONResponse({"ready": False, "building": building, "detail": msg}, status_code=503,
                                headers={"Retry-After": "5"})
        m = gen.manifest
        scope = ("off" if not a.settings.scope_check or mode != "hybrid" else
                 f"disabled: {a.scope_error}" if a.scope_error else "on")
        return {"ready": True, "mode": mode, "generation": m.generation, "documents": m.documents,
                "nodes": m.node_count, "building": request.app.state.index_job.running(), "scope_check": scope}

    return r


# ---------------------------------------------------------------------------------------------- admin
def _csv_cell(v: object) -> object:
    # Spreadsheet formula injection: feedback comments are user text opened in Excel by staff.
    if isinstance(v, str) and v[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + v
    return v


def _admin_router() -> APIRouter:
    r = APIRouter(tags=["admin"], dependencies=[Depends(require_admin)])

    @r.get("/api/admin/feedback", summary="Export feedback (JSON, or CSV with ?format=csv); Bearer HTP_ADMIN_TOKEN")
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
            w.writerow({k: _csv_cell(row.get(k)) for k in cols})
        # UTF-8 BOM so Excel opens Vietnamese text correctly.
        return Response("\ufeff" + buf.getvalue(), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": 'attachment; filename="feedback.csv"'})

    @r.post("/api/admin/reindex", status_code=202, summary="Start a background index rebuild")
    async def reindex(request: Request):
        job: IndexJob = request.app.state.index_job
        started, pid = await run_in_threadpool(job.start)
        return JSONResponse({"started": started, "running": True, "pid": pid, "log": str(job.log_path),
                             "detail": "index build started" if started else "an index build is already running"},
                            status_code=202)

    return r


# ---------------------------------------------------------------------------------------------- pages
def _pages_router() -> APIRouter:
    r = APIRouter(include_in_schema=False)

    @r.api_route("/", methods=["GET", "HEAD"])
    async def index() -> FileResponse:
        return _page("index.html")

    @r.api_route("/staff", methods=["GET", "HEAD"])
    async def staff() -> FileResponse:
        return _page("staff.html")

    @r.api_route("/{name}", methods=["GET", "HEAD"])
    async def static(name: str) -> FileResponse:
        # A fixed allowlist: the name never reaches the filesystem unless it is one of our files.
        if name not in STATIC:
            raise HTTPException(404)
        return FileResponse(WEB_DIR / name, media_type=STATIC[name], headers={"Cache-Control": "public, max-age=300"})

    return r
