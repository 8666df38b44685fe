"""The app's database on a real PostgreSQL server (HTP_DATABASE_URL) and on the default SQLite file: the same store
tests run on both; two workers share one server; a wrong URL fails fast naming it (password masked); the app built
with HTP_DATABASE_URL takes a hand-over end to end.

The server is a throw-away one: initdb in a temporary folder, trust authentication, 127.0.0.1 on a free port,
started once per test session and stopped at the end (run as the `postgres` user when we are root: initdb refuses
root). Each test gets a database of its own.
"""
from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from assistant.auth import StaffAuth, hash_password
from assistant.config import Settings
from assistant.conversation import Turn
from assistant.db import DatabaseUnavailable, init_db
from assistant.handover import RequestError, RequestStore
from assistant.sessions import SessionStore
from evals.load import free_port

REPO = Path(__file__).resolve().parents[1]
PW = "mật khẩu của Lan 1"


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path) -> str:
    """The same test on the default SQLite file and on the PostgreSQL server."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'data' / 'app.sqlite3'}"
    return request.getfixturevalue("pg_url")


def staff_settings(tmp_path: Path, **kw) -> Settings:
    staff = [{"username": "lan", "role": "staff", "password_hash": hash_password(PW), "name": "Nguyễn Thị Lan"}]
    return Settings(data_dir=tmp_path / "data", staff=staff, staff_file=tmp_path / "no-staff.json", **kw)


def turn(q: str) -> Turn:
    return Turn(q, q, "vi", ["10/2024/NĐ-CP"], False)


# ---------------------------------------------------------------------------------------------- each store
def test_sessions_and_feedback(db_url):
    s = SessionStore(db_url, history_turns=3)
    sid = s.new_session()
    assert s.exists(sid) and not s.exists("no-such-session") and not s.exists("bad id!")
    assert s.ensure(sid) == sid and s.ensure("cli-work-session") == "cli-work-session"
    assert s.ensure("cli-work-session") == "cli-work-session"  # adopted once, then found
    assert s.ensure("bad id!") != "bad id!"
    for i in range(5):
        s.add_turn(sid, turn(f"Câu hỏi {i}?"), f"ans-{i}", f'{{"text": "Trả lời {i}"}}')
    s.add_turn("cli-work-session", turn("Khác?"), "other", "{}")
    # Bounded: the last three turns of this session, oldest first; the other session untouched.
    assert [t.question for t in s.history(sid)] == ["Câu hỏi 2?", "Câu hỏi 3?", "Câu hỏi 4?"]
    assert s.history(sid)[0].documents == ["10/2024/NĐ-CP"] and not s.history(sid)[0].refused
    tr = s.transcript(sid)
    assert [t["answer_id"] for t in tr] == ["ans-2", "ans-3", "ans-4"]
    assert tr[-1]["answer"] == {"text": "Trả lời 4"} and isinstance(tr[-1]["created"], float)
    assert [t.question for t in s.history("cli-work-session")] == ["Khác?"]
    assert s.answer_exists("ans-4") == (sid, "Câu hỏi 4?") and s.answer_exists("ans-0") is None
    f1 = s.add_feedback("ans-4", sid, 1, "Hữu ích", "Câu hỏi 4?")
    f2 = s.add_feedback("ans-3", None, -1, None, None)
    assert f2 > f1
    fb = s.feedback()
    assert [(f["id"], f["answer_id"], f["rating"], f["comment"]) for f in fb] == [
        (f1, "ans-4", 1, "Hữu ích"), (f2, "ans-3", -1, None)]
    assert SessionStore(db_url).transcript(sid) == tr  # a restarted process reads the same


def test_requests_life_inbox_and_export(db_url):
    s = RequestStore(db_url, due_working_days=5)
    day = 86400
    old = s.create(name="Công ty Cũ", contact="a@cu.vn", transcript=[{"question": "Q cũ?"}, {"question": "Q2?"}],
                   now=time.time() - 30 * day)  # long overdue
    new = s.create(name="Trần Văn B", organisation="Công ty ABC", contact="b@abc.vn", language="vi",
                   transcript=[{"question": "Điều kiện thành lập?", "answer": {"text": "…"}}], session_id="s-123")
    msg = s.create(name="C", contact="c@x.vn", message="Xin xác nhận bằng văn bản.", transcript=[])
    with pytest.raises(RequestError):
        s.create(name="", contact="x", transcript=[{"question": "Q?"}])
    assert new["status"] == "new" and new["turns"] == 1 and new["transcript"][0]["answer"] == {"text": "…"}
    assert msg["question"] == "Xin xác nhận bằng văn bản." and msg["turns"] == 0

    inbox = s.list("open")
    assert [r["id"] for r in inbox][0] == old["id"] and inbox[0]["overdue"] and not inbox[1]["overdue"]
    assert {r["id"] for r in inbox} == {old["id"], new["id"], msg["id"]}
    assert inbox[0]["turns"] == 2 and inbox[0]["transcript"] is None  # the inbox reads lengths, not transcripts

    assert s.assign(new["id"], "lan", "boss")["status"] == "in_progress"
    assert [r["id"] for r in s.list(assignee="lan")] == [new["id"]]
    r = s.reply(new["id"], "Đã trả lời theo Điều 5.", "lan")
    assert r["status"] == "answered" and r["replied_by"] == "lan" and r["reply"] == "Đã trả lời theo Điều 5."
    assert s.close(new["id"], "lan", note="xong")["status"] == "closed"
    with pytest.raises(RequestError):
        s.close(new["id"], "lan")
    with pytest.raises(KeyError):
        s.close(999_999, "lan")
    assert s.reopen(new["id"], "boss")["status"] == "in_progress"
    s.log_event(new["id"], "lan", "drafted", {"chars": 12})
    ev = s.events(new["id"])
    assert [e["action"] for e in ev] == ["created", "assigned", "replied", "closed", "reopened", "drafted"]
    assert [e["actor"] for e in ev] == ["investor", "boss", "lan", "lan", "boss", "lan"]
    assert ev[1]["detail"] == {"from": "new", "assignee": "lan"}
    assert ev[3]["detail"] == {"from": "answered", "note": "xong"}
    assert s.events(old["id"])[0]["detail"]["turns"] == 2

    code = new["code"]
    assert s.by_code(code.lower().replace("-", " - "))["id"] == new["id"]  # normalised
    assert s.by_code("HTP-0000-0000-0000-0000") is None and s.by_code("nonsense") is None
    assert s.get(new["id"])["replied_at"] and s.get(12345) is None

    text = s.csv()
    assert text.startswith("\ufeffid,code,status") and code in text and text.count("\n") == 4
    assert s.csv("closed").count("\n") == 1  # the header only: the closed one was reopened


def test_code_collision_draws_again(db_url, monkeypatch):
    import assistant.handover as h

    s = RequestStore(db_url)
    first = s.create(name="A", contact="a@b.vn", transcript=[{"question": "Q?"}])
    codes = iter([first["code"], first["code"], "HTP-AAAA-BBBB-CCCC-DDDD"])
    monkeypatch.setattr(h, "new_code", lambda: next(codes))
    second = s.create(name="B", contact="b@b.vn", transcript=[{"question": "Q?"}])
    assert second["code"] == "HTP-AAAA-BBBB-CCCC-DDDD" and len(s.list()) == 2
    assert [e["action"] for e in s.events(second["id"])] == ["created"]  # no stray log entry from the collisions


def test_two_staff_closing_at_once_close_it_once(db_url):
    s = RequestStore(db_url)
    rid = s.create(name="A", contact="a@b.vn", transcript=[{"question": "Q?"}])["id"]
    results: list[str] = []

    def close(who: str) -> None:
        try:
            s.close(rid, who)
            results.append("closed")
        except RequestError:
            results.append("refused")

    threads = [threading.Thread(target=close, args=(f"staff{i}",)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(results) == ["closed"] + ["refused"] * 5
    assert [e["action"] for e in s.events(rid)] == ["created", "closed"]


def test_staff_sessions(db_url, tmp_path):
    auth = StaffAuth(staff_settings(tmp_path), db_url)
    assert auth.sign_in("lan", "wrong") is None and auth.sign_in("nobody", PW) is None
    token, user = auth.sign_in("LAN ", PW)
    assert user.username == "lan" and user.csrf and user.expires > time.time()
    got, why = auth.user(token)
    assert why == "" and got.username == "lan" and got.csrf == user.csrf
    assert auth.user(None) == (None, "missing") and auth.user("x" * 300) == (None, "invalid")
    assert auth.user("forged-token") == (None, "invalid")
    other = StaffAuth(staff_settings(tmp_path), db_url)  # another worker sees the sign-in
    assert other.user(token)[0].username == "lan"
    auth.expire_now(token)
    assert other.user(token) == (None, "expired")
    token2, _ = auth.sign_in("lan", PW)  # a new sign-in also clears expired rows
    assert auth.user(token) == (None, "invalid") and auth.user(token2)[1] == ""
    other.sign_out(token2)
    assert auth.user(token2) == (None, "invalid")


# ---------------------------------------------------------------------------------------------- several workers
WORKER = """
import sys
from assistant.conversation import Turn
from assistant.handover import RequestStore
from assistant.sessions import SessionStore
url, rid, sid = sys.argv[1], int(sys.argv[2]), sys.argv[3]
RequestStore(url).reply(rid, "Trả lời từ worker 2", "minh")
SessionStore(url).add_turn(sid, Turn("Từ worker 2?", "q", "vi", [], False), "w2-answer", "{}")
print(RequestStore(url).create(name="W2", contact="w2@x.vn", transcript=[{"question": "W2?"}])["code"])
"""


def test_two_workers_share_one_server(pg_url):
    """Two processes (= two workers, possibly on two hosts) on one PostgreSQL database see each other's writes."""
    sessions, requests = SessionStore(pg_url), RequestStore(pg_url)
    sid = sessions.new_session()
    sessions.add_turn(sid, turn("Từ worker 1?"), "w1-answer", "{}")
    rid = requests.create(name="W1", contact="w1@x.vn", transcript=sessions.transcript(sid))["id"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("HTP_")}
    r = subprocess.run([sys.executable, "-c", WORKER, pg_url, str(rid), sid], cwd=REPO, env=env,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    code = r.stdout.strip().splitlines()[-1]
    assert requests.get(rid)["status"] == "answered" and requests.get(rid)["reply"] == "Trả lời từ worker 2"
    assert [e["actor"] for e in requests.events(rid)] == ["investor", "minh"]
    assert [t["answer_id"] for t in sessions.transcript(sid)] == ["w1-answer", "w2-answer"]
    assert requests.by_code(code)["name"] == "W2"
    assert {x["name"] for x in requests.list()} == {"W1", "W2"}


# ---------------------------------------------------------------------------------------------- wrong URLs
def test_unreachable_or_wrong_database_fails_fast_naming_the_masked_url(pg_server):
    base, _ = pg_server
    closed = free_port()
    masked = f"postgresql+psycopg://htp:***@127.0.0.1:{closed}/htp"
    for url, shown in [(f"postgresql+psycopg://htp:s3cret-pw@127.0.0.1:{closed}/htp", masked),  # nothing listens
                       (f"{base}/no_such_database", f"{base}/no_such_database"),  # a server without that database
                       (f"postgresql://htp:s3cret-pw@127.0.0.1:{closed}/htp", masked)]:  # the driver is implied
        t = time.monotonic()
        with pytest.raises(DatabaseUnavailable) as e:
            RequestStore(url)
        assert time.monotonic() - t < 10
        assert shown in str(e.value) and "s3cret-pw" not in str(e.value), str(e.value)
        assert "cannot reach the database" in str(e.value)
    with pytest.raises(DatabaseUnavailable) as e:
        init_db("mysql+nosuchdriver://htp:s3cret-pw@db/htp")
    assert "mysql+nosuchdriver://htp:***@db/htp" in str(e.value) and "s3cret-pw" not in str(e.value)
    with pytest.raises(DatabaseUnavailable) as e:
        init_db("not a url s3cret-pw")
    assert "malformed" in str(e.value) and "s3cret-pw" not in str(e.value)


# ---------------------------------------------------------------------------------------------- the app
def test_app_with_database_url_takes_a_handover(pg_url, tmp_path, monkeypatch):
    from assistant.api.app import create_app

    monkeypatch.setenv("HTP_DATABASE_URL", pg_url)
    s = staff_settings(tmp_path, rate_limit_per_minute=1000)
    assert s.db_url == pg_url
    app = create_app(s)  # no index: a hand-over needs the stores only
    sid = app.state.assistant.sessions.new_session()
    app.state.assistant.sessions.add_turn(sid, turn("Điều kiện thành lập khu công nghệ cao?"), "a-1", "{}")

    anon = TestClient(app)
    r = anon.post("/api/handover", json={"session_id": sid, "name": "Trần Văn B", "contact": "b@abc.vn",
                                         "message": "Xin xác nhận."})
    assert r.status_code == 201, r.text
    code = r.json()["code"]
    assert anon.get(f"/api/handover/{code}").json()["questions"] == ["Điều kiện thành lập khu công nghệ cao?"]

    staff = TestClient(app)
    login = staff.post("/api/staff/login", json={"username": "lan", "password": PW})
    assert login.status_code == 200, login.text
    inbox = staff.get("/api/requests").json()
    assert code in str(inbox)

    # Stored on the server, where another worker reads it; nothing went to a SQLite file in the data dir.
    got = RequestStore(pg_url).by_code(code)
    assert got["session_id"] == sid and got["transcript"][0]["answer_id"] == "a-1"
    assert not (tmp_path / "data" / "app.sqlite3").exists()
