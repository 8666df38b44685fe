"""FastAPI application: builds the app and includes one router per resource (assistant/api/routes/), with the
shared dependencies in assistant/api/deps.py.

Every answer goes through :meth:`Assistant.answer` (or its streaming view) in a worker thread: it is
synchronous and CPU-bound, and must never block the event loop that serves other clients and /healthz.
"""
from __future__ import annotations

import json
import logging
import threading
from contextlib import asynccontextmanager
from typing import AsyncIterator

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, Response

from ..auth import StaffAuth, StaffConfigError
from ..buildprogress import describe, read_progress
from ..config import Settings, apply_hub_policy, get_settings
from ..engine import Assistant
from ..handover import RequestStore
from ..models import QuestionError
from .deps import client_ip, get_assistant, rate_limit, require_admin  # noqa: F401 — re-exported for callers
from .indexjob import IndexJob
from .ratelimit import RateLimiter
from .routes import admin, chat, documents, feedback, handover, health, openai, pages, requests, staff
from .routes.common import CSP, HTML_HEADERS, WEB_DIR  # noqa: F401 — re-exported
from .routes.drafts import router as drafts_router

log = logging.getLogger("htp.api")
MAX_BODY_BYTES = 256 * 1024


def create_app(settings: Settings | None = None, assistant: Assistant | None = None,
               index_job: IndexJob | None = None) -> FastAPI:
    settings = settings or (assistant.settings if assistant else get_settings())
    apply_hub_policy(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Warm up (index, corpus, embedder) off the request path; a missing index is fine: /readyz tells.
        threading.Thread(target=_warm, args=(app,), daemon=True, name="htp-warmup").start()
        yield

    # max_body_size (reliability fix): the Content-Length check in `guard` alone let a chunked body of any size
    # through (no Content-Length header); FastAPI's limit counts the bytes as they arrive and answers 413.
    app = FastAPI(title="htp-assistant API", version="0.1.0", lifespan=lifespan, max_body_size=MAX_BODY_BYTES,
                  description="Grounded answers on Vietnam's high-tech park law, citing Điều/Khoản with validity "
                              "status. Chat (JSON, SSE, OpenAI-compatible), documents, provisions, feedback, "
                              "hand-over requests to the park's staff and the staff inbox.")
    app.state.settings = settings
    app.state.assistant = assistant or Assistant(settings)
    app.state.limiter = RateLimiter(settings.rate_limit_per_minute)
    app.state.index_job = index_job or IndexJob(settings)
    app.state.requests = RequestStore.from_settings(settings)
    app.state.staff_auth = StaffAuth(settings)
    try:
        n = len(app.state.staff_auth.accounts())
        if not n:
            log.warning("htp: no staff accounts configured: /staff and the inbox cannot be signed into "
                        "(add one with `htp staff add USER`)")
    except StaffConfigError as e:
        log.warning("htp: staff accounts are misconfigured, nobody can sign in: %s", e)

    # Credentials are never sent cross-origin: the staff cookie is SameSite=Strict and only same-origin pages
    # use it; partner sites embedding the widget need no cookie at all.
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

    @app.exception_handler(StaffConfigError)
    async def _staff_config_error(request: Request, e: StaffConfigError) -> JSONResponse:
        log.error("htp: staff accounts are misconfigured: %s", e)
        return JSONResponse({"detail": "staff sign-in is misconfigured on this server"}, status_code=503)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, e: RequestValidationError) -> Response:
        # Reliability fix: FastAPI's default handler echoes every invalid input as UTF-8; a string holding a lone
        # surrogate (valid JSON: "\ud800") cannot be encoded, which made a 422 a 500. Echo at most 200 characters
        # of each input (no 100k-character reflections either), as ASCII-escaped JSON. Passwords are never echoed.
        errors = jsonable_encoder(e.errors())
        for err in errors:
            if isinstance(err, dict) and "input" in err:
                v = err["input"]
                if "password" in [str(x) for x in err.get("loc", [])]:
                    err["input"] = "…"
                elif isinstance(v, str):
                    err["input"] = v[:200]
                elif len(json.dumps(v, ensure_ascii=True, default=str)) > 200:
                    err["input"] = "…"
        return Response(json.dumps({"detail": errors}, ensure_ascii=True, default=str), status_code=422,
                        media_type="application/json")

    from indexing.store import IndexError_, IndexMissing

    @app.exception_handler(IndexError_)
    async def _index_error(request: Request, e: IndexError_) -> JSONResponse:
        # "Building" only when it is true: a damaged index is not being rebuilt, its message names the fix.
        snap = read_progress(request.app.state.settings.data_dir)
        building = request.app.state.index_job.running() or snap is not None
        if isinstance(e, IndexMissing) and building:
            detail = ("the index is being built (Đang xây dựng chỉ mục…)" + (f": {describe(snap)}" if snap else "")
                      + "; retry shortly")
        else:
            detail = f"{e} (Đang xây dựng chỉ mục…)" if isinstance(e, IndexMissing) or building else str(e)
        return JSONResponse({"detail": detail}, status_code=503, headers={"Retry-After": "10"})

    for module in (chat, documents, feedback, health, admin, openai, staff, handover, requests):
        app.include_router(module.router)
    app.include_router(drafts_router)
    try:  # the corpus upload endpoint (issue 16), when present
        from .corpus_routes import router as corpus_router

        app.include_router(corpus_router)
    except ImportError:
        pass
    app.include_router(pages.router)  # last: its /{name} route must not shadow anything
    return app


def _warm(app: FastAPI) -> None:
    a: Assistant = app.state.assistant
    try:
        a.warm_up()
        if a.handle.mode == "hybrid":
            a.handle.collection()  # open the vector store too: a damaged Chroma folder is reported at start-up
    except Exception as e:  # noqa: BLE001 — reported by /readyz, not fatal
        from indexing.store import IndexMissing

        # Reliability fix: was log.info, which nothing prints under uvicorn, so `htp serve` started silently on
        # a damaged index. A warning reaches stderr (logging's last-resort handler) and names the fix.
        building = app.state.index_job.running() or read_progress(app.state.settings.data_dir) is not None
        if building and isinstance(e, IndexMissing):
            log.warning("htp: the index is being built in the background; answers start when the keyword index "
                        "is ready (progress: /readyz, %s)", app.state.index_job.log_path)
        else:
            log.warning("htp: the index is not usable yet: %s", e)
