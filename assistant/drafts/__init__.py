"""Staff drafting: a first draft of the management board's formal reply letter (công văn) to an investor's request,
grounded only in the provisions the answering pipeline cited. ``write_draft`` writes .docx or Markdown."""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING

from .docx_render import render_docx
from .letter import Letter, build_draft, letter_from_answer
from .markdown import render_markdown

if TYPE_CHECKING:
    from ..engine import Assistant

FORMATS = {".docx": "docx", ".md": "md"}

__all__ = ["Letter", "build_draft", "letter_from_answer", "render", "render_docx", "render_markdown", "write_draft"]


def render(letter: Letter, fmt: str) -> bytes:
    if fmt == "docx":
        return render_docx(letter)
    if fmt == "md":
        return render_markdown(letter).encode("utf-8")
    raise ValueError(f"unknown draft format {fmt!r}: use 'docx' or 'md'")


def write_draft(assistant: Assistant, question: str, out_path: Path | str, org: str | None = None,
                ref: str | None = None, as_of: dt.date | None = None, session_id: str | None = None) -> Path:
    """Answer `question` and write the reply letter to `out_path`; the suffix (.docx or .md) picks the format."""
    path = Path(out_path)
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:  # checked before answering, so a typo costs nothing
        raise ValueError(f"{path}: unsupported draft format {path.suffix or '(no suffix)'!r}; "
                         f"use a .docx (Word) or .md (Markdown) file name")
    data = render(build_draft(assistant, question, org=org, ref=ref, as_of=as_of, session_id=session_id), fmt)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path
