"""Helpers shared by the routers (not dependencies: plain functions)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.responses import FileResponse

from ...engine import Assistant
from ...models import Answer, QuestionError

WEB_DIR = Path(__file__).resolve().parents[2] / "web"
# Only our own scripts and styles: the pages insert all data as text, and a CSP makes any slip inert.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'self'")
HTML_HEADERS = {"Content-Security-Policy": CSP, "X-Frame-Options": "SAMEORIGIN", "Cache-Control": "no-cache"}


def session_for(a: Assistant, sid: str | None) -> str:
    """The caller's session if it exists, else a fresh server-generated token.

    Unlike SessionStore.ensure (which adopts a well-formed unknown id, for the CLI), the API never adopts a
    client-chosen id: two clients picking the same easy id would otherwise share a conversation."""
    return a.sessions.ensure(sid if sid and a.sessions.exists(sid) else None)


def answer_json(ans: Answer, session_id: str | None) -> dict[str, Any]:
    data = ans.model_dump(mode="json")
    data["session_id"] = session_id
    return data


def public_error(e: Exception) -> str:
    from indexing.store import IndexError_

    if isinstance(e, (QuestionError, IndexError_)):
        return str(e)
    return "internal error while answering (lỗi nội bộ khi trả lời); please retry"


def page(name: str, **headers: str) -> FileResponse:
    return FileResponse(WEB_DIR / name, media_type="text/html; charset=utf-8", headers={**HTML_HEADERS, **headers})
