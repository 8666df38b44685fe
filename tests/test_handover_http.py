"""Hand-over requests over real HTTP (`htp serve` on loopback, the small index): the whole life of a request
between an investor and two staff, the CLI's list/export, and requests surviving a server killed mid-write."""
from __future__ import annotations

import csv
import io
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
import sqlalchemy

from assistant.api.indexjob import settings_env
from assistant.auth import add_account
from conftest import CORPUS_DIR, REPO, make_settings
from evals.load import LocalServer
from test_reliability import chat, copy_data

Q = "Điều kiện thành lập khu công nghệ cao là gì?"
EN = "What are the conditions for establishing a high-tech park?"
PW = "mật-khẩu-thử-nghiệm"

pytestmark = pytest.mark.skipif(not CORPUS_DIR.is_dir(), reason=f"the shared corpus is not at {CORPUS_DIR}")


def staff_env(small_settings, root):
    data = copy_data(small_settings, root)
    add_account(data / "staff.json", "lan", PW, role="staff", name="Nguyễn Thị Lan", title="Chuyên viên Phòng Đầu tư")
    add_account(data / "staff.json", "boss", PW, role="admin", name="Trưởng ban")
    return data, settings_env(make_settings(data))


def sign_in(base: str, user: str) -> tuple[httpx.Client, dict]:
    c = httpx.Client(base_url=base, timeout=120)
    r = c.post("/api/staff/login", json={"username": user, "password": PW})
    assert r.status_code == 200, r.text
    return c, {"X-CSRF-Token": r.json()["csrf_token"]}


def hand_over(base: str, sid: str | None, name: str = "Trần Văn B", **kw) -> dict:
    body = {"session_id": sid, "name": name, "organisation": "Công ty TNHH ABC", "contact": "b@abc.vn", **kw}
    r = httpx.post(base + "/api/handover", json=body, timeout=60)
    assert r.status_code == 201, r.text
    return r.json()


def test_request_lifecycle_over_http_and_cli(small_settings, tmp_path):
    data, env = staff_env(small_settings, tmp_path)
    with LocalServer(env, log=tmp_path / "server.log").start() as srv:
        base = srv.base_url
        # The investor asks in English (no language chosen): the answer is English.
        a = chat(base, EN)
        assert a["language"] == "en"
        r = httpx.post(base + "/api/chat", json={"message": EN, "language": "auto"}, timeout=120).json()
        assert r["language"] == "en"
        sid = chat(base, Q, a["session_id"])["session_id"]
        ho = hand_over(base, sid, message="Xin xác nhận bằng công văn.")
        code, url = ho["code"], ho["status_url"]
        assert url == f"{base}/request/{code}" and ho["status"] == "new"
        page = httpx.get(url, timeout=30)
        assert page.status_code == 200 and code not in page.text  # the page reads the code from its address
        assert page.headers["referrer-policy"] == "no-referrer"

        # No sign-in, no inbox.
        assert httpx.get(base + "/api/requests", timeout=30).status_code == 401
        assert httpx.get(base + "/staff/inbox", timeout=30, follow_redirects=False).status_code == 303

        lan, h = sign_in(base, "lan")
        inbox = lan.get("/api/requests").json()["requests"]
        rid = next(x["id"] for x in inbox if x["code"] == code)
        detail = lan.get(f"/api/requests/{rid}").json()
        assert [t["question"] for t in detail["transcript"]] == [EN, Q]
        assert lan.post(f"/api/requests/{rid}/assign", json={"assignee": "lan"}).status_code == 403  # no CSRF
        assert lan.post(f"/api/requests/{rid}/assign", json={"assignee": "lan"}, headers=h).status_code == 200
        pub = httpx.get(f"{base}/api/handover/{code}", timeout=30).json()
        assert pub["status"] == "in_progress" and pub["assignee_role"] == "Chuyên viên Phòng Đầu tư"
        docx = lan.post(f"/api/requests/{rid}/draft", json={"format": "docx"}, headers=h)
        assert docx.status_code == 200 and docx.content[:2] == b"PK"
        assert lan.post(f"/api/requests/{rid}/reply", json={"reply": "Đã trả lời bằng công văn số 12/BQL."},
                        headers=h).status_code == 200
        boss, hb = sign_in(base, "boss")
        assert boss.post(f"/api/requests/{rid}/close", json={"note": "xong"}, headers=hb).json()["status"] == "closed"
        pub = httpx.get(f"{base}/api/handover/{code}", timeout=30).json()
        assert pub["status_label"] == "Đóng" and pub["reply"] == "Đã trả lời bằng công văn số 12/BQL."
        actors = [(e["actor"], e["action"]) for e in boss.get(f"/api/requests/{rid}").json()["events"]]
        assert actors == [("investor", "created"), ("lan", "assigned"), ("lan", "drafted"), ("lan", "replied"),
                          ("boss", "closed")]
        # Signed out: the same cookie no longer opens anything.
        assert lan.post("/api/staff/logout", headers=h).status_code == 200
        assert lan.get("/api/requests").status_code == 401

    # The CLI reads the same store.
    out = subprocess.run([sys.executable, "-m", "assistant.cli", "requests", "export", "--csv"], env=env, cwd=REPO,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    rows = list(csv.DictReader(io.StringIO(out.stdout.lstrip("\ufeff"))))
    assert [(r["code"], r["status"], r["turns"]) for r in rows] == [(code, "closed", "2")]
    assert rows[0]["working_days_to_reply"] == "0"
    out = subprocess.run([sys.executable, "-m", "assistant.cli", "requests", "list", "--status", "all"], env=env,
                         cwd=REPO, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and code in out.stdout and "Đóng" in out.stdout


@pytest.mark.parametrize("db", ["sqlite", "postgresql"])
def test_requests_survive_a_server_killed_mid_write(small_settings, tmp_path, request, db):
    data, env = staff_env(small_settings, tmp_path)
    url = f"sqlite:///{data / 'app.sqlite3'}"
    if db == "postgresql":  # HTP_DATABASE_URL: the same crash with the database on a server
        url = request.getfixturevalue("pg_url")
        env = {**env, "HTP_DATABASE_URL": url}
    srv = LocalServer(env, log=tmp_path / "server-1.log").start()
    try:
        sid = chat(srv.base_url, Q)["session_id"]
        first = hand_over(srv.base_url, sid)
        lan, h = sign_in(srv.base_url, "lan")
        rid = next(x["id"] for x in lan.get("/api/requests").json()["requests"] if x["code"] == first["code"])
        assert lan.post(f"/api/requests/{rid}/reply", json={"reply": "Trả lời trước sự cố"}, headers=h).status_code == 200

        # Hand-overs and staff changes in flight when the process dies: each is recorded whole or not at all.
        def one(i):
            try:
                r = httpx.post(srv.base_url + "/api/handover", json={"session_id": sid, "name": f"NĐT {i}",
                                                                     "contact": f"{i}@x.vn"}, timeout=30)
                return r.json()["code"] if r.status_code == 201 else None
            except httpx.TransportError:
                return None

        with ThreadPoolExecutor(8) as pool:
            futures = [pool.submit(one, i) for i in range(300)]
            time.sleep(0.3)
            srv.kill()
            acknowledged = [c for c in (f.result() for f in futures) if c]
        assert srv.proc.returncode == -signal.SIGKILL
    finally:
        srv.stop()

    engine = sqlalchemy.create_engine(url)
    try:
        with engine.connect() as c:
            if db == "sqlite":
                assert c.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
            # No request without its "created" log entry, and no log entry without its request.
            assert c.exec_driver_sql("SELECT COUNT(*) FROM requests WHERE id NOT IN (SELECT request_id FROM "
                                     "request_events WHERE action='created')").scalar() == 0
            assert c.exec_driver_sql("SELECT COUNT(*) FROM request_events WHERE request_id NOT IN "
                                     "(SELECT id FROM requests)").scalar() == 0
    finally:
        engine.dispose()

    with LocalServer(env, log=tmp_path / "server-2.log").start() as srv2:
        for code in [first["code"], *acknowledged]:  # everything acknowledged before the crash is there
            r = httpx.get(f"{srv2.base_url}/api/handover/{code}", timeout=30)
            assert r.status_code == 200, code
        assert httpx.get(f"{srv2.base_url}/api/handover/{first['code']}", timeout=30).json()["reply"] == \
            "Trả lời trước sự cố"
        # The staff sign-in survived too (sessions are in the same database), and the CSRF token with it.
        assert lan.get(srv2.base_url + "/api/requests").status_code == 200
        lan.close()
