"""docs/deploy.md, tested: two API processes on loopback share one Chroma server and one data dir."""
from __future__ import annotations

import httpx

from assistant.indexer import build
from conftest import make_settings
from test_api_http import serve
from test_chroma_server import chroma_url  # noqa: F401  (fixture: a real `chroma run`)


def test_two_workers_one_chroma_server_shared_sessions(chroma_url, tmp_path):  # noqa: F811
    s = make_settings(tmp_path / "data", chroma_url=chroma_url, documents=["219/2025/NĐ-CP"])
    res = build(s)
    assert res.dense_ready
    with serve(s, tmp_path / "a.log") as a, serve(s, tmp_path / "b.log") as b:
        assert httpx.get(f"{a}/readyz").json()["mode"] == "hybrid"
        r1 = httpx.post(f"{a}/api/chat", json={"message": "Thủ tục cấp giấy phép lao động thế nào?"},
                        timeout=120).json()
        sid = r1["session_id"]
        # The follow-up goes to the other process: the conversation is in the shared SQLite store.
        r2 = httpx.post(f"{b}/api/chat", json={"session_id": sid, "message": "hồ sơ gồm những gì?"},
                        timeout=120).json()
        assert r2["session_id"] == sid and r2["follow_up"]
        assert r2["citations"][0]["document"] == "219/2025/NĐ-CP"
        turns = httpx.get(f"{a}/api/sessions/{sid}").json()
        questions = [t["question"] for t in (turns["turns"] if isinstance(turns, dict) else turns)]
        assert questions == ["Thủ tục cấp giấy phép lao động thế nào?", "hồ sơ gồm những gì?"]
