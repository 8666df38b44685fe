"""Reliability: load and faults against real servers (`htp serve`, uvicorn) on loopback.

- load: 10 concurrent sessions × 3 turns (streaming and JSON); every session's history read back intact;
- the indexer SIGKILLed while embedding: the server keeps answering from the previous generation, the next
  build succeeds and the server switches to it;
- the server SIGKILLed (also with requests in flight) and restarted: sessions and feedback intact;
- a removed or damaged Chroma folder: a clear error at start-up naming `htp index --rebuild`, and the fix works;
- a malformed corpus file: reported with file:line, the other documents indexed and served;
- the optional LLM endpoint slow or down: the extractive answer, with a note, within the time limit.

Every test works on a copy of the shared small index (`small_settings`), so nothing here disturbs other tests;
the embedding cache travels with the copy, so rebuilds only embed what a test changed.
"""
from __future__ import annotations

import json
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from assistant.api.indexjob import settings_env
from conftest import CORPUS_DIR, SMALL_DOCS, make_settings
from evals.load import LocalServer, load_app, load_env, run_load, verify_histories

REPO = Path(__file__).resolve().parents[1]
Q = "Điều kiện thành lập khu công nghệ cao là gì?"
FOLLOW = "hồ sơ gồm những gì?"
TAX = "Doanh nghiệp công nghệ cao được ưu đãi thuế thu nhập doanh nghiệp như thế nào?"
ADMIN = {"Authorization": "Bearer test-admin-token"}
CHANGED_DOC = "219/2025/NĐ-CP"
MARK = " (sửa đổi thử nghiệm độ tin cậy)"

pytestmark = pytest.mark.skipif(not CORPUS_DIR.is_dir(), reason=f"the shared corpus is not at {CORPUS_DIR}")


# ---------------------------------------------------------------------------------------------- helpers
def copy_data(small_settings, root: Path) -> Path:
    """A private data dir holding a copy of the small index (generations, Chroma, caches); no sessions."""
    data = root / "data"
    shutil.copytree(small_settings.index_dir, data / "index", ignore=shutil.ignore_patterns("build.lock"))
    return data


def copy_small_corpus(root: Path) -> Path:
    from corpus.catalog import load_catalog

    cat = load_catalog()
    corpus = root / "corpus"
    corpus.mkdir(parents=True)
    for number in SMALL_DOCS:
        f = cat.by_number(number).file
        shutil.copy(CORPUS_DIR / f, corpus / f)
    return corpus


def doc_file(number: str) -> str:
    from corpus.catalog import load_catalog

    return load_catalog().by_number(number).file


def cli(env: dict[str, str], *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "assistant.cli", *args], env=env, cwd=REPO, capture_output=True,
                          text=True, timeout=timeout)


def ready(base: str) -> dict:
    r = httpx.get(base + "/readyz", timeout=30)
    assert r.status_code == 200, r.text
    return r.json()


def chat(base: str, message: str = Q, sid: str | None = None, timeout: float = 120) -> dict:
    body = {"message": message, **({"session_id": sid} if sid else {})}
    r = httpx.post(base + "/api/chat", json=body, timeout=timeout)
    assert r.status_code == 200, r.text
    return r.json()


def chat_stream(base: str, message: str = Q, sid: str | None = None, timeout: float = 120) -> dict:
    """The `done` event of /api/chat/stream (asserting meta … done and no error event)."""
    from test_api_http import read_sse

    body = {"message": message, **({"session_id": sid} if sid else {})}
    with httpx.stream("POST", base + "/api/chat/stream", json=body, timeout=timeout) as r:
        assert r.status_code == 200
        events = list(read_sse(r.iter_lines()))
    names = [n for n, _ in events]
    assert names[0] == "meta" and names[-1] == "done" and "error" not in names, events[-1]
    return events[-1][1]


def wait_until(pred, timeout: float, what: str, every: float = 0.3):
    deadline = time.monotonic() + timeout
    while True:
        got = pred()
        if got:
            return got
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(every)


# ---------------------------------------------------------------------------------------------- load
def test_load_concurrent_sessions_lose_nothing(small_settings, tmp_path):
    """10 sessions × 3 turns at once (streaming and JSON), follow-ups from the suites: no error, every history
    intact. Then one recorded turn is deleted behind the server's back: the checker must notice."""
    data = copy_data(small_settings, tmp_path)
    s = make_settings(data)
    with LocalServer(load_env(settings_env(s), turns=3), log=tmp_path / "server.log").start() as srv:
        rep = run_load(srv.base_url, sessions=10, turns=3, max_seconds=90)
        print("\n".join(rep.lines()))
        assert rep.errors == 0, rep.error_samples
        assert rep.completed == rep.planned == 30 and rep.cut == 0
        assert rep.sessions_checked == 10 and rep.sessions_intact == 10, rep.lost
        assert rep.by_kind["stream"]["n"] == rep.by_kind["json"]["n"] == 15
        assert rep.ok and rep.p50_s <= rep.p95_s <= rep.max_s

        # The checker is not vacuous: a lost turn and a reordered history are both caught.
        sid, h = next(iter(rep.histories.items()))
        with sqlite3.connect(data / "app.sqlite3") as db:
            db.execute("DELETE FROM turns WHERE answer_id=?", (h["asked"][1][1],))
        checks = verify_histories(srv.base_url, rep.histories)
        bad = [c for c in checks if not c.intact]
        assert [c.session_id for c in bad] == [sid] and "missing" in bad[0].problem

        # The command line: `htp load run --base-url …` (the lead registers load_app as `htp load`).
        from typer.testing import CliRunner

        out = tmp_path / "load.json"
        r = CliRunner().invoke(load_app, ["run", "--base-url", srv.base_url, "--sessions", "2", "--turns", "2",
                                          "--max-seconds", "60", "--json-out", str(out)])
        assert r.exit_code == 0, r.output
        assert "errors: 0" in r.output and "sessions intact: 2/2" in r.output
        assert json.loads(out.read_text())["ok"] is True
    r = CliRunner().invoke(load_app, ["run", "--base-url", "http://203.0.113.7:8000"])
    assert r.exit_code == 2 and "not loopback" in r.output


# ---------------------------------------------------------------------------------------------- indexer killed
# `htp index` (the real command) with an embedder that hangs on its second batch: the first batch is committed
# to the embedding cache, then the process sits "mid-embedding" until it is SIGKILLed.
HANGING_INDEX = r"""
import sys, time
from pathlib import Path
import indexing.build as build

marker = Path(sys.argv[1])
real = build.make_embedding

class Hanging:
    def __init__(self, model):
        self.model, self.calls = model, 0

    def get_text_embedding_batch(self, texts, **kw):
        self.calls += 1
        if self.calls == 2:
            marker.write_text("embedding")
            time.sleep(600)
        return self.model.get_text_embedding_batch(texts, **kw)

build.make_embedding = lambda *a, **k: Hanging(real(*a, **k))
from assistant.cli import app
app(["index"])
"""


def test_indexer_killed_mid_build_server_keeps_answering(small_settings, tmp_path):
    data = copy_data(small_settings, tmp_path)
    corpus = copy_small_corpus(tmp_path)
    s = make_settings(data, corpus_dir=corpus)
    env = settings_env(s)
    with LocalServer(env, log=tmp_path / "server.log").start() as srv:
        gen0 = ready(srv.base_url)["generation"]
        assert chat(srv.base_url)["citations"]

        # One document changes: three clauses get new text, and so do the three articles holding them (whole-article
        # vectors): 5 distinct texts to embed (Điều 2's first 1,200 characters are its clause 1's too), one batch
        # of which the killed build commits.
        p = corpus / doc_file(CHANGED_DOC)
        lines = p.read_text(encoding="utf-8").split("\n")
        idx = [i for i, line in enumerate(lines) if line.startswith("1. ")][:3]
        for i in idx:
            lines[i] = lines[i][:-1] + MARK + lines[i][-1]  # before the final "." or ":"
        p.write_text("\n".join(lines), encoding="utf-8")

        marker = tmp_path / "embedding.marker"
        build_env = {**env, "HTP_EMBED_BATCH_SIZE": "1"}
        log = open(tmp_path / "killed-build.log", "wb")
        proc = subprocess.Popen([sys.executable, "-c", HANGING_INDEX, str(marker)], env=build_env, cwd=REPO,
                                stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_until(lambda: marker.exists() or proc.poll() is not None, 180, "the build to reach embedding")
            assert proc.poll() is None, (tmp_path / "killed-build.log").read_text(errors="replace")[-3000:]
            # Mid-embedding: a new lexical generation exists on disk, CURRENT still names the old one.
            gens = {d.name for d in (data / "index" / "generations").iterdir()}
            assert len(gens) == 2 and gen0 in gens
            assert ready(srv.base_url)["generation"] == gen0
            assert chat(srv.base_url, TAX)["citations"]
            proc.send_signal(signal.SIGKILL)
            proc.wait(30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(30)
            log.close()
        assert proc.returncode == -signal.SIGKILL

        # The server still answers from the previous (complete, hybrid) generation, JSON and streamed.
        info = ready(srv.base_url)
        assert info["generation"] == gen0 and info["mode"] == "hybrid"
        assert chat(srv.base_url)["mode"] == "hybrid"
        assert chat_stream(srv.base_url, TAX)["citations"]

        # The next build succeeds: it resumes from the embedding cache (the killed build committed one batch).
        r = cli(env, "index")
        assert r.returncode == 0, r.stdout + r.stderr
        assert CHANGED_DOC in r.stdout and "embedded 4 new vectors" in r.stdout, r.stdout
        gen1 = wait_until(lambda: (g := ready(srv.base_url)["generation"]) != gen0 and g, 30,
                          "the server to pick up the new generation")
        assert ready(srv.base_url)["mode"] == "hybrid"
        ans = chat(srv.base_url, "Ủy ban nhân dân cấp tỉnh có thẩm quyền cấp giấy phép lao động cho người lao động "
                                 "nước ngoài không?")
        assert ans["mode"] == "hybrid" and ans["citations"]
        left = sorted(d.name for d in (data / "index" / "generations").iterdir())
        assert left == sorted([gen0, gen1])  # the killed build's orphan is gone, the previous one kept


# ---------------------------------------------------------------------------------------------- server killed
def test_server_killed_and_restarted_keeps_sessions_and_feedback(small_settings, tmp_path):
    data = copy_data(small_settings, tmp_path)
    env = settings_env(make_settings(data))
    srv = LocalServer(env, log=tmp_path / "server-1.log").start()
    try:
        a1 = chat(srv.base_url)
        sid = a1["session_id"]
        a2 = chat_stream(srv.base_url, FOLLOW, sid)
        a3 = chat(srv.base_url, TAX, sid)
        other = chat_stream(srv.base_url, TAX)
        assert a2["session_id"] == a3["session_id"] == sid != other["session_id"]
        fb = []
        for aid, rating, comment in ((a1["answer_id"], 1, "rõ ràng"), (a3["answer_id"], -1, "=HYPERLINK(\"x\")"),
                                     (other["answer_id"], "down", None)):
            r = httpx.post(srv.base_url + "/api/feedback", json={"answer_id": aid, "rating": rating,
                                                                 "comment": comment}, timeout=30)
            assert r.status_code == 201, r.text
            fb.append(r.json()["id"])

        # Requests in flight when the process dies: each is either recorded whole or not at all.
        with ThreadPoolExecutor(6) as pool:
            futures = [pool.submit(lambda i=i: httpx.post(srv.base_url + "/api/chat", json={
                "message": f"{Q} ({i})"}, timeout=60)) for i in range(6)]
            time.sleep(0.4)
            srv.kill()
            for f in futures:
                try:
                    f.result()
                except httpx.TransportError:
                    pass
        assert srv.proc.returncode == -signal.SIGKILL
    finally:
        srv.stop()

    with sqlite3.connect(data / "app.sqlite3") as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        orphans = db.execute("SELECT COUNT(*) FROM turns WHERE answer IS NULL OR session_id NOT IN "
                             "(SELECT id FROM sessions)").fetchone()[0]
        assert orphans == 0

    with LocalServer(env, log=tmp_path / "server-2.log").start() as srv2:
        t = httpx.get(f"{srv2.base_url}/api/sessions/{sid}", timeout=30).json()["turns"]
        assert [x["question"] for x in t] == [Q, FOLLOW, TAX]
        assert [x["answer_id"] for x in t] == [a1["answer_id"], a2["answer_id"], a3["answer_id"]]
        assert t[0]["answer"]["citations"] == a1["citations"]
        t2 = httpx.get(f"{srv2.base_url}/api/sessions/{other['session_id']}", timeout=30).json()["turns"]
        assert [x["answer_id"] for x in t2] == [other["answer_id"]]
        exported = httpx.get(srv2.base_url + "/api/admin/feedback", headers=ADMIN, timeout=30).json()["feedback"]
        got = {row["id"]: row for row in exported}
        assert set(fb) <= set(got)
        assert (got[fb[0]]["rating"], got[fb[0]]["comment"], got[fb[0]]["session_id"]) == (1, "rõ ràng", sid)
        assert got[fb[1]]["rating"] == -1 and got[fb[2]]["session_id"] == other["session_id"]
        # The conversation goes on where it stopped: the next question is read as a follow-up.
        nxt = chat(srv2.base_url, "thời hạn bao lâu?", sid)
        assert nxt["session_id"] == sid and nxt["follow_up"] is True


# ---------------------------------------------------------------------------------------------- Chroma damaged
def _remove_chroma(index: Path) -> None:
    shutil.rmtree(index / "chroma")


def _garbage_chroma(index: Path) -> None:
    (index / "chroma" / "chroma.sqlite3").write_bytes(b"not a sqlite database\x00" * 512)


@pytest.mark.parametrize("damage", [_remove_chroma, _garbage_chroma], ids=["missing", "garbage"])
def test_damaged_chroma_is_reported_at_start_up_and_rebuild_fixes_it(small_settings, tmp_path, damage):
    data = copy_data(small_settings, tmp_path)
    damage(data / "index")
    env = settings_env(make_settings(data))
    fix = "htp index --rebuild"
    with LocalServer(env, log=tmp_path / "server.log").start(wait="/healthz") as srv:
        # /readyz says what is wrong and what to run; so does the server's own output at start-up.
        r = httpx.get(srv.base_url + "/readyz", timeout=30)
        assert r.status_code == 503 and fix in r.json()["detail"] and r.headers["Retry-After"]
        assert "Chroma" in r.json()["detail"]
        wait_until(lambda: fix in srv.log_text(20000), 60, "the start-up warning in the server output")
        r = httpx.post(srv.base_url + "/api/chat", json={"message": Q}, timeout=60)
        assert r.status_code == 503 and fix in r.json()["detail"] and "Đang xây dựng" not in r.json()["detail"]

        # `htp ask` fails (non-zero) with the same instruction.
        r = cli(env, "ask", Q)
        assert r.returncode != 0 and fix in r.stdout + r.stderr

        # The fix, while the server runs: a plain `htp index` repairs a missing folder (the generation is not
        # "up to date" without its vectors); a damaged one needs --rebuild, as the message says.
        if damage is _garbage_chroma:
            r = cli(env, "index")
            assert r.returncode != 0 and fix in r.stdout + r.stderr
        r = cli(env, "index", "--rebuild")
        assert r.returncode == 0 and "embedded 0 new vectors" in r.stdout and "hybrid" in r.stdout, r.stdout + r.stderr
        info = wait_until(lambda: httpx.get(srv.base_url + "/readyz", timeout=30).status_code == 200
                          and ready(srv.base_url), 30, "the server to become ready")
        assert info["mode"] == "hybrid" and info["nodes"] > 100
        ans = chat(srv.base_url)
        assert ans["mode"] == "hybrid" and ans["citations"]


def test_missing_chroma_is_repaired_by_a_plain_index(small_settings, tmp_path):
    """`htp serve` runs a plain (incremental) `htp index` at start: it must not call a generation without its
    vectors up to date."""
    data = copy_data(small_settings, tmp_path)
    _remove_chroma(data / "index")
    env = settings_env(make_settings(data))
    r = cli(env, "index")
    assert r.returncode == 0 and "up to date" not in r.stdout and "embedded 0 new vectors" in r.stdout, r.stdout
    r = cli(env, "index")
    assert r.returncode == 0 and "index up to date" in r.stdout, r.stdout


# ---------------------------------------------------------------------------------------------- corpus file
def test_malformed_corpus_file_is_reported_and_the_rest_served(small_settings, tmp_path):
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS_DIR, corpus)
    bad_doc = "67/2025/QH15"
    bad = corpus / doc_file(bad_doc)
    bad.write_bytes("QUỐC HỘI\nLuật số 67/2025/QH15\n".encode() + b"\xff\xfe garbage \x80\x81 bytes\n" * 3)
    where = f"{bad}:3"

    env = settings_env(make_settings(copy_data(small_settings, tmp_path), corpus_dir=corpus))
    r = cli(env, "corpus", "check", "--corpus-dir", str(corpus))
    out = (r.stdout + r.stderr).replace("\n", "")  # rich wraps long lines
    assert r.returncode == 1 and where in out and "invalid UTF-8" in out, out[-3000:]
    assert "1 errors." in out  # that file only: the rest of the corpus is fine

    r = cli(env, "index")
    out = (r.stdout + r.stderr).replace("\n", "")
    assert r.returncode == 0, out[-3000:]
    assert where in out and "invalid UTF-8" in out, out[-3000:]
    assert "3 documents" in out and "hybrid" in out

    with LocalServer(env, log=tmp_path / "server.log").start() as srv:
        info = ready(srv.base_url)
        assert info["documents"] == 3 and info["mode"] == "hybrid"
        ans = chat(srv.base_url)
        assert ans["citations"] and {c["document"] for c in ans["citations"]} <= set(SMALL_DOCS) - {bad_doc}
        assert chat_stream(srv.base_url, "Thủ tục cấp giấy phép lao động cho người nước ngoài?")["citations"]
        docs = {d["id"]: d for d in httpx.get(srv.base_url + "/api/documents", timeout=30).json()["documents"]}
        assert docs[bad_doc]["in_corpus"] is False and docs["133/2025/QH15"]["in_corpus"] is True


# ---------------------------------------------------------------------------------------------- LLM down
class _SlowLLM(BaseHTTPRequestHandler):
    delay = 6.0

    def log_message(self, *args):
        pass

    def do_POST(self):  # noqa: N802 — never answers within the client's timeout
        time.sleep(type(self).delay)
        try:
            self.send_response(500)
            self.end_headers()
        except OSError:
            pass


def test_llm_slow_or_down_through_the_api(small_settings, tmp_path):
    stub = ThreadingHTTPServer(("127.0.0.1", 0), _SlowLLM)
    stub.daemon_threads = True
    threading.Thread(target=stub.serve_forever, daemon=True).start()
    s = make_settings(copy_data(small_settings, tmp_path), llm_base_url=f"http://127.0.0.1:{stub.server_address[1]}/v1",
                      llm_model="stub", llm_timeout_s=1.0, llm_api_key="sk-test-llm-key-do-not-leak")
    limit = 10.0  # 1 s LLM timeout + the extractive path on 2 shared cores
    try:
        with LocalServer(settings_env(s), log=tmp_path / "server.log").start() as srv:
            chat(srv.base_url, TAX)  # warm caches
            for state in ("slow", "down"):
                if state == "down":
                    stub.shutdown()
                    stub.server_close()  # the port is closed now: connection refused
                t = time.perf_counter()
                ans = chat(srv.base_url)
                took = time.perf_counter() - t
                assert took < limit, f"{state}: {took:.1f} s"
                assert ans["mode"] != "llm" and ans["citations"] and not ans["refused"]
                assert any("Mô hình ngôn ngữ không phản hồi" in n for n in ans["notes"]), ans["notes"]
                assert "sk-test-llm-key" not in json.dumps(ans)
                t = time.perf_counter()
                done = chat_stream(srv.base_url, TAX)
                assert time.perf_counter() - t < limit
                assert done["citations"] and any("không phản hồi" in n for n in done["notes"])
    finally:
        stub.server_close()
