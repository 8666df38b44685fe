"""The HTTP API in-process (FastAPI TestClient) over the shared small hybrid index."""
from __future__ import annotations

import csv
import importlib.util
import io
import json
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from assistant.api.app import create_app
from assistant.api.ratelimit import RateLimiter

Q = "Điều kiện thành lập khu công nghệ cao là gì?"
ADMIN = {"Authorization": "Bearer test-admin-token"}


@pytest.fixture(scope="module")
def client(small_settings, assistant):
    return TestClient(create_app(small_settings, assistant=assistant))


@pytest.fixture(scope="module")
def first(client):
    r = client.post("/api/chat", json={"message": Q})
    assert r.status_code == 200, r.text
    return r.json()


def sse_events(text: str) -> list[tuple[str, dict]]:
    out = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        name, data = "message", []
        for line in block.splitlines():
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].lstrip())
        if data:
            out.append((name, json.loads("\n".join(data))))
    return out


# ---------------------------------------------------------------------------------------------- chat
def test_chat_matches_the_answer_contract(first):
    for key in ("question", "answer", "refused", "language", "citations", "retrieved", "session_id", "answer_id"):
        assert key in first
    assert first["question"] == Q and first["language"] == "vi" and first["refused"] is False
    assert first["citations"], first["answer"]
    for c in first["citations"]:
        assert {"document", "title", "article", "clause", "point", "quote", "in_force", "status_note"} <= c.keys()
    for r in first["retrieved"]:
        assert {"document", "article", "clause", "score"} <= r.keys()
    assert len(first["session_id"]) >= 16  # server-generated, unguessable


def test_follow_up_uses_the_same_session_and_transcript(client, first):
    sid = first["session_id"]
    r = client.post("/api/chat", json={"message": "hồ sơ gồm những gì?", "session_id": sid})
    assert r.status_code == 200
    body = r.json()
    assert body["session_id"] == sid and body["follow_up"] is True
    t = client.get(f"/api/sessions/{sid}").json()
    assert [x["question"] for x in t["turns"]][-2:] == [Q, "hồ sơ gồm những gì?"]
    assert t["turns"][-1]["answer"]["answer_id"] == body["answer_id"]


def test_unknown_or_forged_session_never_reads_another(client, first):
    forged = "forged-session-0001"
    r = client.post("/api/chat", json={"message": "hồ sơ gồm những gì?", "session_id": forged})
    assert r.status_code == 200
    new = r.json()["session_id"]
    assert new not in (forged, first["session_id"]) and r.json()["follow_up"] is False
    assert client.get(f"/api/sessions/{forged}").status_code == 404
    turns = client.get(f"/api/sessions/{new}").json()["turns"]
    assert [x["question"] for x in turns] == ["hồ sơ gồm những gì?"]
    assert client.get("/api/sessions/..%2F..%2Fetc").status_code == 404


def test_stream_events(client):
    with client.stream("POST", "/api/chat/stream", json={"message": Q}) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        events = sse_events(r.read().decode("utf-8"))
    names = [n for n, _ in events]
    assert names[0] == "meta" and names[-1] == "done" and "delta" in names and "citation" in names
    meta, done = events[0][1], events[-1][1]
    assert meta["session_id"] and meta["answer_id"] == done["answer_id"] and meta["mode"] in ("lexical", "hybrid")
    assert "".join(d["text"] for n, d in events if n == "delta") == done["answer"]
    cits = [d for n, d in events if n == "citation"]
    assert [c["provision_id"] for c in cits] == [c["provision_id"] for c in done["citations"]]
    assert done["session_id"] == meta["session_id"]


def test_stream_rejects_bad_input_before_streaming(client):
    r = client.post("/api/chat/stream", json={"message": "   "})
    assert r.status_code == 422


# ---------------------------------------------------------------------------------------------- OpenAI
def test_openai_compatible_completion(client):
    r = client.post("/v1/chat/completions", json={"model": "htp-assistant", "messages": [
        {"role": "system", "content": "Bạn là trợ lý."}, {"role": "user", "content": Q}]})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["object"] == "chat.completion" and body["choices"][0]["message"]["role"] == "assistant"
    assert "Theo " in body["choices"][0]["message"]["content"].split("\n")[0]  # the lead quotes a provision
    assert body["citations"] and body["citations"][0]["provision_id"]
    assert body["usage"]["total_tokens"] > 0


def test_openai_history_makes_a_follow_up(client):
    r = client.post("/v1/chat/completions", json={"model": "x", "messages": [
        {"role": "user", "content": Q}, {"role": "assistant", "content": "…"},
        {"role": "user", "content": "hồ sơ gồm những gì?"}]})
    assert r.status_code == 200
    assert r.json()["htp"]["refused"] is False


def test_openai_stream_ends_with_done(client):
    with client.stream("POST", "/v1/chat/completions",
                       json={"model": "x", "stream": True, "messages": [{"role": "user", "content": Q}]}) as r:
        lines = [ln for ln in r.read().decode("utf-8").splitlines() if ln.startswith("data: ")]
    assert lines[-1] == "data: [DONE]"
    chunks = [json.loads(ln[6:]) for ln in lines[:-1]]
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop" and chunks[-1]["citations"]
    assert "Theo " in "".join(c["choices"][0]["delta"].get("content", "") for c in chunks).split("\n")[0]


def test_openai_without_user_message_is_422(client):
    r = client.post("/v1/chat/completions", json={"model": "x", "messages": [{"role": "system", "content": "hi"}]})
    assert r.status_code == 422


# ---------------------------------------------------------------------------------------------- documents
def test_documents_list_with_validity(client):
    body = client.get("/api/documents").json()
    assert body["as_of"] == "2026-11-27"
    by_id = {d["id"]: d for d in body["documents"]}
    nd10 = by_id["10/2024/NĐ-CP"]
    assert nd10["in_corpus"] is True and nd10["in_force"] is False and nd10["status"] == "expired"
    assert by_id["133/2025/QH15"]["in_force"] is True
    assert by_id["21/2008/QH12"]["in_corpus"] is False  # catalogued, not in this small corpus
    assert all("low_confidence" in d for d in body["documents"])
    assert by_id["38/2020/QĐ-TTg"]["missing_annexes"][0]["name"] == "Phụ lục I"  # the lists the copy lacks
    assert by_id["133/2025/QH15"]["missing_annexes"] == []
    old = {d["id"]: d for d in client.get("/api/documents?as_of=2025-01-01").json()["documents"]}
    assert old["10/2024/NĐ-CP"]["in_force"] is True


@pytest.mark.parametrize("ident", [quote("10/2024/NĐ-CP", safe=""), "10-2024-nd-cp", "10/2024/NĐ-CP"])
def test_document_by_encoded_id_or_slug(client, ident):
    r = client.get(f"/api/documents/{ident}")
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["id"] == "10/2024/NĐ-CP" and doc["status"] == "expired"
    art = next(a for a in doc["articles"] if a["number"] == "5")
    assert art["provision_id"] == "10/2024/NĐ-CP:d5" and art["anchor"] == "d5"
    cl = next(c for c in art["clauses"] if c["number"] == "3")
    assert cl["provision_id"] == "10/2024/NĐ-CP:d5:k3"
    assert [p["provision_id"] for p in cl["points"]][:1] == ["10/2024/NĐ-CP:d5:k3:a"]


@pytest.mark.parametrize("path", ["/api/documents/..%2F..%2Fetc%2Fpasswd", "/api/documents/%2Fetc%2Fpasswd",
                                  "/api/documents/..%2Fcorpus%2Fcatalog.yaml", "/api/documents/nope-1-2",
                                  "/api/provisions/..%2F..%2Fetc%2Fpasswd:d1", "/api/provisions/%2Fetc%2Fpasswd",
                                  "/api/provisions/10-2024-nd-cp:d999", "/api/provisions/10-2024-nd-cp:d5:k3:zz",
                                  "/api/provisions/not-an-id"])
def test_bad_ids_are_404(client, path):
    assert client.get(path).status_code in (404, 422)


def test_provision_highlights_clause_and_point(client):
    r = client.get("/api/provisions/" + quote("10/2024/NĐ-CP:d5:k3:c", safe=""))
    assert r.status_code == 200
    p = r.json()
    assert p["highlight"] == {"clause": "3", "point": "c", "anchor": "d5-k3-c"}
    assert p["text"].startswith("c) ") and p["in_force"] is False and p["status"] == "expired"
    assert p["citation"] == ("điểm c khoản 3 Điều 5 Nghị định số 10/2024/NĐ-CP "
                             "quy định về khu công nghệ cao")
    assert p["article_full"]["number"] == "5"
    slug = client.get("/api/provisions/133-2025-qh15:d22:k3").json()
    assert slug["document"] == "133/2025/QH15" and slug["in_force"] is True and slug["highlight"]["clause"] == "3"
    assert client.get("/api/provisions/133-2025-qh15:d22:k3?lang=en").json()["status_note"] == "in force"


# ---------------------------------------------------------------------------------------------- feedback / admin
def test_feedback_and_admin_export(client, first):
    assert client.post("/api/feedback", json={"answer_id": "nope", "rating": 1}).status_code == 404
    assert client.post("/api/feedback", json={"answer_id": first["answer_id"], "rating": 5}).status_code == 422
    assert client.post("/api/feedback", json={"answer_id": first["answer_id"], "rating": True}).status_code == 422
    r = client.post("/api/feedback", json={"answer_id": first["answer_id"], "rating": "down",
                                           "comment": "=HYPERLINK(\"http://x\")"})
    assert r.status_code == 201 and r.json()["rating"] == -1
    assert client.post("/api/feedback", json={"answer_id": first["answer_id"], "rating": 1}).status_code == 201

    assert client.get("/api/admin/feedback").status_code == 401
    assert client.get("/api/admin/feedback", headers={"Authorization": "Bearer wrong"}).status_code == 403
    rows = client.get("/api/admin/feedback", headers=ADMIN).json()["feedback"]
    mine = [x for x in rows if x["answer_id"] == first["answer_id"]]
    assert [x["rating"] for x in mine][-2:] == [-1, 1] and mine[-1]["question"] == Q
    assert mine[-1]["session_id"] == first["session_id"]
    r = client.get("/api/admin/feedback?format=csv", headers=ADMIN)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(r.text.lstrip("\ufeff"))))
    assert any(row["comment"].startswith("'=HYPERLINK") for row in table)  # formula injection neutralised


def test_admin_disabled_without_token(small_settings, assistant):
    c = TestClient(create_app(small_settings.model_copy(update={"admin_token": None}), assistant=assistant))
    assert c.get("/api/admin/feedback", headers=ADMIN).status_code == 403
    assert c.get("/api/admin/feedback").status_code == 403


def test_reindex_starts_a_background_build(small_settings, assistant):
    class FakeJob:
        started = 0

        log_path = small_settings.data_dir / "index-build.log"

        def start(self):
            FakeJob.started += 1
            return True, 4242

        def running(self):
            return FakeJob.started > 0

    c = TestClient(create_app(small_settings, assistant=assistant, index_job=FakeJob()))
    assert c.post("/api/admin/reindex").status_code == 401
    assert c.post("/api/admin/reindex", headers={"Authorization": "Bearer nope"}).status_code == 403
    r = c.post("/api/admin/reindex", headers=ADMIN)
    assert r.status_code == 202 and r.json()["pid"] == 4242 and FakeJob.started == 1
    assert c.get("/readyz").json()["building"] is True


def test_index_job_env_round_trips_settings(small_settings):
    from assistant.api.indexjob import settings_env
    from assistant.config import Settings

    import os

    def round_trip(settings: Settings) -> Settings:
        old = dict(os.environ)
        try:
            os.environ.clear()
            os.environ.update(settings_env(settings, base={}))
            return Settings()
        finally:
            os.environ.clear()
            os.environ.update(old)

    back = round_trip(small_settings)
    assert back.documents == small_settings.documents and back.as_of == small_settings.as_of
    assert back.data_dir == small_settings.data_dir.resolve() and back.admin_token == small_settings.admin_token
    assert back.answerability_file == small_settings.answerability_file
    # A setting switched off where its default is on stays off in the child (not back to the default).
    assert round_trip(small_settings.model_copy(update={"answerability_file": None})).answerability_file is None


# ---------------------------------------------------------------------------------------------- limits
@pytest.mark.parametrize("body", [{"message": "   "}, {"message": 123}, {"message": ["a"]}, {},
                                  {"message": "ok?", "as_of": "yesterday"}, {"message": "ok?", "language": "fr"},
                                  {"message": "ok?", "session_id": 5}])
def test_invalid_requests_are_422(client, body):
    assert client.post("/api/chat", json=body).status_code == 422


def test_too_long_message_is_422_with_a_clear_message(client, small_settings):
    r = client.post("/api/chat", json={"message": "a" * (small_settings.max_message_chars + 1)})
    assert r.status_code == 422 and "too long" in r.json()["detail"]
    bad_json = client.post("/api/chat", content=b"{not json", headers={"Content-Type": "application/json"})
    assert bad_json.status_code == 422


def test_rate_limit_429_with_retry_after(small_settings, assistant):
    c = TestClient(create_app(small_settings.model_copy(update={"rate_limit_per_minute": 3}), assistant=assistant))
    codes = [c.post("/api/chat", json={"message": Q}).status_code for _ in range(3)]
    assert codes == [200, 200, 200]
    r = c.post("/api/chat", json={"message": Q})
    assert r.status_code == 429 and 1 <= int(r.headers["Retry-After"]) <= 60
    assert c.post("/api/chat/stream", json={"message": Q}).status_code == 429
    assert c.get("/healthz").status_code == 200  # reads are not limited


def test_rate_limiter_counts_sessions_and_addresses_separately():
    rl = RateLimiter(2)
    assert rl.hit("ip:a", "session:s") == 0 and rl.hit("ip:b", "session:s") == 0
    assert rl.hit("ip:c", "session:s") > 0  # third use of one session from any address
    assert rl.hit("ip:c", "session:t") == 0  # the refused hit was not counted against ip:c


def test_cors_allowlist(client):
    ok = client.options("/api/chat", headers={"Origin": "http://localhost:8000",
                                              "Access-Control-Request-Method": "POST",
                                              "Access-Control-Request-Headers": "content-type"})
    assert ok.status_code == 200 and ok.headers["access-control-allow-origin"] == "http://localhost:8000"
    bad = client.options("/api/chat", headers={"Origin": "https://evil.example",
                                               "Access-Control-Request-Method": "POST"})
    assert bad.status_code == 400 and "access-control-allow-origin" not in bad.headers
    simple = client.get("/healthz", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in simple.headers


# ---------------------------------------------------------------------------------------------- health, pages
def test_health_and_readiness(client, small_settings, assistant, tmp_path):
    assert client.get("/healthz").json() == {"status": "ok"}
    r = client.get("/readyz").json()
    assert r["ready"] and r["mode"] == "hybrid" and r["documents"] == 4 and r["nodes"] > 100 and r["generation"]
    assert r["scope_check"] == "on"
    empty = TestClient(create_app(small_settings.model_copy(update={"data_dir": tmp_path})))
    r = empty.get("/readyz")
    assert r.status_code == 503 and "htp index" in r.json()["detail"]
    r = empty.post("/api/chat", json={"message": Q})
    assert r.status_code == 503 and "htp index" in r.json()["detail"]


def test_pages_and_security_headers(client):
    r = client.get("/")
    assert r.status_code == 200 and '<script src="/widget.js"' in r.text
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert r.headers["x-content-type-options"] == "nosniff"
    assert client.get("/staff").headers["content-security-policy"] == csp
    js = client.get("/widget.js")
    assert js.status_code == 200 and "javascript" in js.headers["content-type"] and "innerHTML" not in js.text
    assert "innerHTML" not in client.get("/staff.js").text
    assert client.get("/widget.css").headers["content-type"].startswith("text/css")
    assert client.get("/app.py").status_code == 404 and client.get("/..%2Fapi%2Fapp.py").status_code == 404
    assert client.get("/docs").status_code == 200
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/api/chat", "/api/chat/stream", "/v1/chat/completions", "/api/feedback"} <= paths.keys()
    if importlib.util.find_spec("assistant.drafts.router") is not None:
        assert "/api/drafts" in paths  # mounted when the drafts package is present


def test_openai_stream_reads_the_history_through_assistant_stream(client):
    """Streaming goes through Assistant.stream with the client's history: a follow-up is understood, and the
    streamed text equals the non-streamed answer."""
    msgs = [{"role": "user", "content": Q}, {"role": "assistant", "content": "…"},
            {"role": "user", "content": "hồ sơ gồm những gì?"}]
    plain = client.post("/v1/chat/completions", json={"messages": msgs}).json()
    with client.stream("POST", "/v1/chat/completions", json={"stream": True, "messages": msgs}) as r:
        lines = [ln for ln in r.iter_lines() if ln.startswith("data: ")]
    chunks = [json.loads(ln[6:]) for ln in lines[:-1]]
    assert "".join(c["choices"][0]["delta"].get("content", "") for c in chunks) == plain["choices"][0]["message"]["content"]
    assert chunks[-1]["citations"] == plain["citations"]


def test_language_follows_the_question_unless_chosen(client):
    en = "What are the conditions for establishing a high-tech park?"
    assert client.post("/api/chat", json={"message": en}).json()["language"] == "en"
    assert client.post("/api/chat", json={"message": en, "language": "auto"}).json()["language"] == "en"
    assert client.post("/api/chat", json={"message": en, "language": "vi"}).json()["language"] == "vi"
    assert client.post("/api/chat", json={"message": en, "language": "fr"}).status_code == 422
