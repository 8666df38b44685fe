"""Server-Sent Events framing (no extra dependency: the format is three lines)."""
from __future__ import annotations

import json
from typing import Any

SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no", "Connection": "keep-alive"}


def event(name: str | None, data: Any) -> bytes:
    """One event; `data` is JSON-encoded on a single line so a `data:` field never needs splitting."""
    if isinstance(data, str) and "\n" not in data:
        payload = data  # a bare token such as OpenAI's [DONE]
    else:
        payload = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    head = f"event: {name}\n" if name else ""
    return f"{head}data: {payload}\n\n".encode("utf-8")
