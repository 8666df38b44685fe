"""``POST /api/drafts``: the reply letter as a .docx download or Markdown.

A draft of a question alone is open (it says what /api/chat says); a draft built on a conversation
(``session_id``: someone's chat history) needs a staff sign-in and its CSRF token."""
from __future__ import annotations

import unicodedata

import datetime as dt
from typing import Literal

from fastapi import APIRouter, HTTPException, Request, Response
from pydantic import BaseModel, Field, field_validator

from ...drafts import build_draft, render
from ...models import QuestionError

router = APIRouter()

MEDIA = {"docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
         "md": "text/markdown; charset=utf-8"}


class DraftRequest(BaseModel):
    question: str = Field(description="the investor's question, as in their letter")
    org: str | None = Field(default=None, max_length=300, description="addressee, e.g. 'Công ty TNHH ABC'")
    ref: str | None = Field(default=None, max_length=100, description="number of the incoming letter")
    as_of: dt.date | None = Field(default=None, description="letter date and validity date (default today)")
    session_id: str | None = Field(default=None, max_length=100, description="chat session: follow-ups use it")
    format: Literal["docx", "md"] = "docx"

    @field_validator("org", "ref")
    @classmethod
    def _printable(cls, v: str | None) -> str | None:
        # Word documents cannot hold control characters: drop them instead of failing the whole draft.
        return "".join(ch for ch in v if unicodedata.category(ch) not in ("Cc", "Cs")).strip() or None if v else v


@router.post("/api/drafts", tags=["drafts"], response_class=Response,
             responses={200: {"content": {MEDIA["docx"]: {}, "text/markdown": {}},
                              "description": "the draft letter"},
                        422: {"description": "invalid question or request"}})
def create_draft(body: DraftRequest, request: Request) -> Response:
    """Draft a formal reply letter (công văn) citing only the provisions the assistant retrieved and cited."""
    assistant = getattr(request.app.state, "assistant", None)
    if assistant is None:
        raise HTTPException(503, "the assistant is not ready")
    if body.session_id:
        from ..deps import staff_user

        staff_user(request)  # 401/403 unless signed in as staff (with the CSRF token)
    try:
        letter = build_draft(assistant, body.question, org=body.org, ref=body.ref, as_of=body.as_of,
                             session_id=body.session_id)
    except QuestionError as e:
        raise HTTPException(422, str(e)) from e
    name = f"cong-van-tra-loi-{letter.date.isoformat()}.{body.format}"
    return Response(render(letter, body.format), media_type=MEDIA[body.format],
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
