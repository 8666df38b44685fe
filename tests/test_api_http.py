"""The API over real HTTP: `htp serve` (uvicorn) in a child process on loopback, driven by httpx and the
official `openai` client; and the background index build of a server started on an empty data dir."""
from __future__ import annotations

import json
import os
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import httpx
import pytest

from assistant.api.indexjob import settings_env
from evals.load import LocalServer, ServerError, free_port

Q = "Điều kiện thành lập khu công nghệ cao là gì?"
TAX = "Doanh nghiệp công nghệ cao được ưu đãi thuế thu nhập doanh nghiệp như thế nào?"


@contextmanager
def serve(settings, log: Path, build: bool = False, ready_timeout: float = 180.0,
          wait_ready: bool = True, origins: tuple[str, ...] = ()) -> Iterator[str]:
    """`python -m assistant.cli serve` with these settings (as HTP_* variables); yields the base URL.
    CORS allows the server's own origin and `origins`."""
    port = free_port()
    env = settings_env(settings)
    env["HTP_CORS_ORIGINS"] = json.dumps([f"http://127.0.0.1:{port}", *origins])
    server = LocalServer(env=env, log=log, port=port, build=build)
    try:
        server.start("/readyz" if wait_ready else "/healthz", timeout=ready_timeout)
    except ServerError as e:
        pytest.fail(str(e))
    try:
        yield server.base_url
    finally:
        server.stop()


@pytest.fixture(scope="module")
def server(small_settings, tmp_path_factory) -> Iterator[str]:
    with serve(small_settings, tmp_path_factory.mktemp("http") / "server.log") as base:
        yield base


def read_sse(lines: Iterator[str]) -> Iterator[tuple[str, dict]]:
    name, data = "message", []
    for line in lines:
        if line == "":
            if data:
                yield name, json.loads("\n".join(data))
            name, data = "message", []
        elif line.startswith("event:"):
            name = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].lstrip())


def test_stream_over_http(server):
    with httpx.stream("POST", server + "/api/chat/stream", json={"message": Q}, timeout=120) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        events = list(read_sse(r.iter_lines()))
    names = [n for n, _ in events]
    assert names[0] == "meta" and names[-1] == "done" and names.count("citation") >= 1
    done = events[-1][1]
    assert "".join(d["text"] for n, d in events if n == "delta") == done["answer"]
    # The session continues over HTTP too.
    sid = events[0][1]["session_id"]
    r = httpx.post(server + "/api/chat", json={"message": "hồ sơ gồm những gì?", "session_id": sid},
                   timeout=120)
    assert r.status_code == 200 and r.json()["session_id"] == sid and r.json()["follow_up"] is True


def test_openai_client_non_streamed(server):
    from openai import OpenAI

    client = OpenAI(base_url=server + "/v1", api_key="x", timeout=120, max_retries=0)
    resp = client.chat.completions.create(model="htp-assistant", messages=[{"role": "user", "content": Q}])
    assert resp.object == "chat.completion"
    assert "Theo " in resp.choices[0].message.content.split("\n")[0]
    cits = resp.model_extra["citations"]
    assert cits and cits[0]["provision_id"] and "in_force" in cits[0]
    assert [m.id for m in client.models.list().data] == ["htp-assistant"]


def test_openai_client_streamed(server):
    from openai import OpenAI

    client = OpenAI(base_url=server + "/v1", api_key="x", timeout=120, max_retries=0)
    stream = client.chat.completions.create(model="htp-assistant", stream=True, messages=[
        {"role": "user", "content": TAX}])
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert text and chunks[-1].choices[0].finish_reason == "stop"
    assert chunks[-1].model_extra["citations"]


def test_serve_builds_the_index_in_the_background(tmp_path):
    """Started on an empty data dir: up at once, /readyz 503 naming the build, then ready (lexical here:
    embeddings are off to keep the test short)."""
    from conftest import make_settings

    s = make_settings(tmp_path / "data", documents=["219/2025/NĐ-CP"], embed_backend="none")
    with serve(s, tmp_path / "server.log", build=True, wait_ready=False) as base:
        first = httpx.get(base + "/readyz", timeout=10)
        if first.status_code == 503:  # the build may already be done on a fast machine
            assert first.json()["building"]
            # Never "no index … build it with `htp index`" while a build runs: that invites a second one.
            assert "htp index" not in first.json()["detail"] and "no index" not in first.json()["detail"]
        deadline = time.monotonic() + 240
        while (r := httpx.get(base + "/readyz", timeout=10)).status_code != 200:
            assert time.monotonic() < deadline, (tmp_path / "data" / "index-build.log").read_text(errors="replace")
            time.sleep(1)
        assert r.json()["mode"] == "lexical" and r.json()["documents"] == 1
        q = "Điều kiện cấp giấy phép lao động cho người nước ngoài"
        ans = httpx.post(base + "/api/chat", json={"message": q}, timeout=120)
        assert ans.status_code == 200 and ans.json()["mode"] == "lexical"
    assert os.path.exists(tmp_path / "data" / "index-build.log")


def test_readyz_and_the_build_log_show_embedding_progress(tmp_path):
    """A hybrid build started by `htp serve`: keyword answers first, and while the embeddings are computed
    /readyz (200, lexical) and the build log say how far they are; then hybrid."""
    from conftest import make_settings

    s = make_settings(tmp_path / "data", documents=["219/2025/NĐ-CP"])
    seen = []
    with serve(s, tmp_path / "server.log", build=True, wait_ready=False) as base:
        deadline = time.monotonic() + 900
        while True:
            r = httpx.get(base + "/readyz", timeout=10)
            body = r.json()
            if r.status_code == 503:
                assert body["building"] and "htp index" not in body["detail"], body
            else:
                seen.append(body)
                if body["mode"] == "hybrid" and not body["building"]:
                    break
            assert time.monotonic() < deadline, (tmp_path / "data" / "index-build.log").read_text(errors="replace")
            time.sleep(0.5)
    during = [b for b in seen if b["mode"] == "lexical" and (b.get("progress") or {}).get("stage") == "embed"]
    assert during, seen[:3]
    p = during[-1]["progress"]
    assert p["total"] > 0 and 0 <= p["done"] <= p["total"] and "rate_per_s" in p and "eta_s" in p
    assert "embed" in during[-1]["detail"] and f"/{p['total']}" in during[-1]["detail"]
    log = (tmp_path / "data" / "index-build.log").read_text(errors="replace")
    assert f"htp index: stage embed ({p['total']} items)" in log
