"""Staff sign-in, the hand-over request and the inbox, in-process (the real app, store and assistant on the
small index): who may reach what (no sign-in, wrong password, forged or expired session, someone else's code,
CSRF missing or wrong, another site's Origin), and the request's whole life."""
from __future__ import annotations

import datetime as dt
import time

import pytest
from fastapi.testclient import TestClient

from assistant.api.app import create_app
from assistant.auth import COOKIE, add_account, check_password, hash_password, load_accounts
from assistant.handover import RequestStore, add_working_days, normalise_code, working_days_between
from conftest import CORPUS_DIR, make_settings

Q = "Điều kiện thành lập khu công nghệ cao là gì?"
PW = {"lan": "mật khẩu của Lan 1", "minh": "Minh-pass-2", "boss": "boss pass 3"}
HOST = "http://testserver"

pytestmark = pytest.mark.skipif(not CORPUS_DIR.is_dir(), reason=f"the shared corpus is not at {CORPUS_DIR}")


@pytest.fixture(scope="module")
def staff_settings(small_settings, tmp_path_factory):
    staff = [{"username": "lan", "role": "staff", "password_hash": hash_password(PW["lan"]), "name": "Nguyễn Thị Lan",
              "title": "Chuyên viên Phòng Quản lý Đầu tư"},
             {"username": "minh", "role": "staff", "password_hash": hash_password(PW["minh"])}]
    data = tmp_path_factory.mktemp("staff-data")
    s = small_settings.model_copy(update={"staff": staff, "staff_file": data / "staff.json"})
    add_account(data / "staff.json", "boss", PW["boss"], role="admin", name="Trưởng ban")
    return s, data


@pytest.fixture(scope="module")
def app(staff_settings, assistant, tmp_path_factory):
    from assistant.auth import StaffAuth

    s, data = staff_settings
    application = create_app(s, assistant=assistant)
    # A database of its own for requests and staff sessions (the session store is the assistant's).
    application.state.requests = RequestStore(data / "requests.sqlite3")
    application.state.staff_auth = StaffAuth(s, data / "requests.sqlite3")
    return application


@pytest.fixture
def anon(app):
    return TestClient(app)


def signed_in(app, user: str) -> tuple[TestClient, str]:
    c = TestClient(app)
    r = c.post("/api/staff/login", json={"username": user, "password": PW[user]})
    assert r.status_code == 200, r.text
    return c, r.json()["csrf_token"]


@pytest.fixture(scope="module")
def conversation(app) -> str:
    c = TestClient(app)
    r = c.post("/api/chat", json={"message": Q})
    assert r.status_code == 200
    return r.json()["session_id"]


def handover(client, sid, **kw) -> dict:
    body = {"session_id": sid, "name": "Trần Văn B", "organisation": "Công ty TNHH ABC", "contact": "b@abc.vn",
            "message": "Chúng tôi cần xác nhận bằng văn bản.", **kw}
    r = client.post("/api/handover", json=body)
    assert r.status_code == 201, r.text
    return r.json()


# ---------------------------------------------------------------------------------------------- passwords
def test_passwords_are_bcrypt_hashed_and_checked():
    h = hash_password("đúng")
    assert h.startswith("$2b$") and "đúng" not in h
    assert check_password("đúng", h) and not check_password("sai", h) and not check_password("", h)
    assert not check_password("đúng", None) and not check_password("đúng", "not-a-hash")
    with pytest.raises(ValueError):
        hash_password("x" * 73)  # bcrypt's limit: refused, never silently cut
    assert not check_password("x" * 100, h)


def test_staff_file_accounts_and_bad_config(tmp_path):
    f = tmp_path / "staff.json"
    add_account(f, "Lan", "pw-1", role="admin")
    s = make_settings(tmp_path, staff_file=f)
    acc = load_accounts(s)
    assert acc["lan"].role == "admin" and check_password("pw-1", acc["lan"].password_hash)
    assert oct(f.stat().st_mode & 0o777) == "0o600"
    from assistant.auth import StaffConfigError

    for bad in ({"username": "x", "role": "root", "password_hash": "$2b$x"}, {"username": "x", "password_hash": "plain"},
                {"username": "../x", "password_hash": "$2b$x"}):
        with pytest.raises(StaffConfigError):
            load_accounts(make_settings(tmp_path, staff=[bad], staff_file=tmp_path / "none.json"))


# ---------------------------------------------------------------------------------------------- the boundary
STAFF_GETS = ["/api/requests", "/api/requests?status=open", "/api/requests/1", "/api/requests/export.csv",
              "/api/staff/me", "/api/staff/accounts"]
STAFF_POSTS = [("/api/requests/1/assign", {"assignee": "lan"}), ("/api/requests/1/reply", {"reply": "x"}),
               ("/api/requests/1/close", {}), ("/api/requests/1/status", {"status": "new"}),
               ("/api/requests/1/draft", {}), ("/api/staff/logout", {})]


@pytest.mark.parametrize("path", STAFF_GETS)
def test_staff_reads_need_sign_in(anon, path):
    r = anon.get(path)
    assert r.status_code == 401 and "sign in" in r.json()["detail"]
    r = anon.get(path, cookies={COOKIE: "forged-" + "A" * 40})
    assert r.status_code == 401
    r = anon.get(path, headers={"Authorization": "Bearer wrong-token"})
    assert r.status_code == 403


@pytest.mark.parametrize("path,body", STAFF_POSTS)
def test_staff_writes_need_sign_in(anon, path, body):
    assert anon.post(path, json=body).status_code == 401


def test_staff_pages_redirect_to_sign_in(anon):
    for path in ("/staff", "/staff/inbox", "/staff?session=abc"):
        r = anon.get(path, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/staff/login?next=%2Fstaff")
    r = anon.get("/staff/login")
    assert r.status_code == 200 and "script-src 'self'" in r.headers["content-security-policy"]


def test_drafts_of_a_conversation_need_staff(app, anon, conversation):
    body = {"question": Q, "session_id": conversation, "format": "md"}
    assert anon.post("/api/drafts", json=body).status_code == 401
    c, csrf = signed_in(app, "lan")
    assert c.post("/api/drafts", json=body).status_code == 403  # CSRF token missing
    r = c.post("/api/drafts", json=body, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 200 and "Điều" in r.text
    # A draft of a question alone says what /api/chat says: open, as before.
    assert anon.post("/api/drafts", json={"question": Q, "format": "md"}).status_code == 200


def test_sign_in_wrong_password_unknown_user_and_cross_site(anon):
    for user, pw in (("lan", "wrong"), ("nobody", "x"), ("lan", PW["minh"]), ("LAN ", "wrong")):
        r = anon.post("/api/staff/login", json={"username": user, "password": pw})
        assert r.status_code == 401 and COOKIE not in r.cookies
    r = anon.post("/api/staff/login", json={"username": "lan", "password": PW["lan"]},
                  headers={"Origin": "https://evil.example"})
    assert r.status_code == 403 and COOKIE not in r.cookies
    r = anon.post("/api/staff/login", json={"username": "lan", "password": "p" * 500})
    assert r.status_code == 422 and "p" * 50 not in r.text  # the password is never echoed


def test_sign_in_cookie_me_and_sign_out(app):
    c = TestClient(app)
    r = c.post("/api/staff/login", json={"username": "LAN", "password": PW["lan"]})
    assert r.status_code == 200
    cookie = r.headers["set-cookie"]
    assert "httponly" in cookie.lower() and "samesite=strict" in cookie.lower() and "Max-Age=" in cookie
    token = r.cookies[COOKIE]
    me = c.get("/api/staff/me").json()
    assert me["username"] == "lan" and me["role"] == "staff" and me["title"] == "Chuyên viên Phòng Quản lý Đầu tư"
    assert me["csrf_token"] == r.json()["csrf_token"]
    assert c.post("/api/staff/logout").status_code == 403  # sign-out needs the CSRF token too
    assert c.post("/api/staff/logout", headers={"X-CSRF-Token": me["csrf_token"]}).status_code == 200
    # The old cookie is dead on the server, not only deleted in this browser.
    assert TestClient(app).get("/api/staff/me", cookies={COOKIE: token}).status_code == 401


def test_expired_session_is_refused(app):
    c, _ = signed_in(app, "minh")
    token = c.cookies[COOKIE]
    assert c.get("/api/requests").status_code == 200
    app.state.staff_auth.expire_now(token)
    r = c.get("/api/requests")
    assert r.status_code == 401 and "expired" in r.json()["detail"]


def test_csrf_missing_wrong_and_cross_origin(app, anon, conversation):
    code = handover(anon, conversation)["code"]
    rid = app.state.requests.by_code(code)["id"]
    c, csrf = signed_in(app, "lan")
    url = f"/api/requests/{rid}/assign"
    assert c.post(url, json={"assignee": "lan"}).status_code == 403
    wrong = ("y" if csrf[0] == "x" else "x") + csrf[1:]  # one character off (a token may itself start with "x")
    assert c.post(url, json={"assignee": "lan"}, headers={"X-CSRF-Token": wrong}).status_code == 403
    _, other = signed_in(app, "minh")  # another person's valid token is still the wrong one
    assert c.post(url, json={"assignee": "lan"}, headers={"X-CSRF-Token": other}).status_code == 403
    r = c.post(url, json={"assignee": "lan"}, headers={"X-CSRF-Token": csrf, "Origin": "https://evil.example"})
    assert r.status_code == 403
    r = c.post(url, json={"assignee": "lan"}, headers={"X-CSRF-Token": csrf, "Origin": HOST})
    assert r.status_code == 200 and r.json()["assignee"] == "lan"
    assert app.state.requests.get(rid)["status"] == "in_progress"


def test_admin_token_and_admin_role(app, anon):
    h = {"Authorization": "Bearer test-admin-token"}
    assert anon.get("/api/requests", headers=h).status_code == 200  # scripts: the admin token, no CSRF
    assert anon.get("/api/admin/feedback", headers=h).status_code == 200
    c, csrf = signed_in(app, "lan")
    assert c.get("/api/admin/feedback").status_code == 403  # staff is not admin
    b, _ = signed_in(app, "boss")
    assert b.get("/api/admin/feedback").status_code == 200
    assert b.post("/api/admin/reindex").status_code == 403  # without the CSRF token


# ---------------------------------------------------------------------------------------------- investors
def test_handover_needs_a_real_session_and_contact(anon, conversation):
    base = {"name": "A", "contact": "a@b.vn"}
    assert anon.post("/api/handover", json={**base, "session_id": "forged-session-id-123"}).status_code == 404
    assert anon.post("/api/handover", json={**base, "session_id": conversation, "contact": ""}).status_code == 422
    assert anon.post("/api/handover", json={"session_id": conversation, "name": "A"}).status_code == 422
    assert anon.post("/api/handover", json=base).status_code == 422  # nothing to hand over
    assert anon.post("/api/handover", json={**base, "message": "Xin gặp cán bộ"}).status_code == 201


def test_an_investor_reaches_only_their_own_request(app, anon, conversation):
    mine = handover(anon, conversation)
    other_sid = TestClient(app).post("/api/chat", json={"message": "Hồ sơ gồm những gì?"}).json()["session_id"]
    theirs = handover(anon, other_sid, name="Người khác", contact="0901 234 567")
    assert mine["code"] != theirs["code"] and normalise_code(mine["code"]) == mine["code"]
    assert mine["status_url"].endswith("/request/" + mine["code"])
    a = anon.get(f"/api/handover/{mine['code']}").json()
    assert a["status"] == "new" and a["questions"] == [Q] and a["reply"] is None
    assert "contact" not in a and "session_id" not in a and "Người khác" not in str(a)
    assert anon.get(f"/api/handover/{mine['code'].lower()}").json()["code"] == mine["code"]  # typed by hand
    forged = mine["code"][:-1] + ("0" if mine["code"][-1] != "0" else "1")
    for bad in (forged, "HTP-0000-0000-0000-0000", "1", "' OR 1=1 --", "HTP-" + "A" * 200):
        r = anon.get(f"/api/handover/{bad}")
        assert r.status_code == 404 and "Người khác" not in r.text
    # The transcript is a snapshot: later questions in the chat are not part of the request.
    TestClient(app).post("/api/chat", json={"message": "Hồ sơ gồm những gì?", "session_id": conversation})
    assert anon.get(f"/api/handover/{mine['code']}").json()["questions"] == [Q]
    assert anon.get(f"/request/{mine['code']}").status_code == 200


# ---------------------------------------------------------------------------------------------- the life of a request
def test_request_lifecycle_inbox_draft_reply_close_and_log(app, anon, conversation):
    store: RequestStore = app.state.requests
    code = handover(anon, conversation)["code"]
    rid = store.by_code(code)["id"]
    # An old one, overdue: the inbox puts it first.
    old = store.create(name="Cũ", contact="x@y.vn", transcript=[{"question": "Câu cũ?"}], now=time.time() - 20 * 86400)
    c, csrf = signed_in(app, "lan")
    h = {"X-CSRF-Token": csrf}
    inbox = c.get("/api/requests?status=open").json()
    assert inbox["requests"][0]["id"] == old["id"] and inbox["requests"][0]["overdue"]
    assert any(r["id"] == rid for r in inbox["requests"]) and inbox["overdue"] >= 1
    d = c.get(f"/api/requests/{rid}").json()
    assert d["contact"] == "b@abc.vn" and d["transcript"][0]["question"] == Q
    assert d["transcript"][0]["answer"]["citations"], "the conversation comes with its cited provisions"
    assert [e["action"] for e in d["events"]] == ["created"] and d["events"][0]["actor"] == "investor"

    assert c.post(f"/api/requests/{rid}/assign", json={"assignee": "nobody"}, headers=h).status_code == 422
    assert c.post(f"/api/requests/{rid}/assign", json={"assignee": "minh"}, headers=h).json()["status"] == "in_progress"
    pub = anon.get(f"/api/handover/{code}").json()
    assert pub["status_label"] == "Đang xử lý" and pub["assignee_role"] == "Chuyên viên Ban quản lý"
    assert "minh" not in str(pub)

    r = c.post(f"/api/requests/{rid}/draft", json={}, headers=h)
    assert r.status_code == 200 and r.content[:2] == b"PK" and code in r.headers["content-disposition"]
    md = c.post(f"/api/requests/{rid}/draft", json={"format": "md"}, headers=h).text
    assert "Công ty TNHH ABC" in md and code in md and "Điều" in md

    reply = "Kính gửi Công ty TNHH ABC: theo khoản 1 Điều 23 Luật Công nghệ cao …"
    assert c.post(f"/api/requests/{rid}/reply", json={"reply": reply}, headers=h).json()["status"] == "answered"
    pub = anon.get(f"/api/handover/{code}?lang=en").json()
    assert pub["reply"] == reply and pub["status_label"] == "Answered" and pub["replied_at"]
    assert c.post(f"/api/requests/{rid}/close", json={}, headers=h).json()["status"] == "closed"
    assert c.post(f"/api/requests/{rid}/reply", json={"reply": "x"}, headers=h).status_code == 409
    assert c.post(f"/api/requests/{rid}/close", json={}, headers=h).status_code == 409
    assert anon.get(f"/api/handover/{code}").json()["reply"] == reply  # still shown once closed
    ev = c.get(f"/api/requests/{rid}").json()["events"]
    assert [e["action"] for e in ev] == ["created", "assigned", "drafted", "drafted", "replied", "closed"]
    assert all(e["actor"] == "lan" and e["at"] for e in ev[1:])
    assert c.post("/api/requests/999999/close", json={}, headers=h).status_code == 404
    assert c.get("/api/requests/abc").status_code == 422

    csv_text = c.get("/api/requests/export.csv").text
    assert csv_text.startswith("\ufeffid,code,status") and code in csv_text


def test_csv_neutralises_formulas(tmp_path):
    s = RequestStore(tmp_path / "r.sqlite3")
    s.create(name="=HYPERLINK(\"http://x\")", contact="+84 90", transcript=[{"question": "@SUM(1)"}])
    text = s.csv()
    assert "'=HYPERLINK" in text and "'+84 90" in text and "'@SUM(1)" in text


def test_requests_survive_a_new_store_on_the_same_file(tmp_path):
    path = tmp_path / "app.sqlite3"
    a = RequestStore(path)
    r = a.create(name="A", contact="a@b.vn", transcript=[{"question": "Q?"}])
    a.reply(r["id"], "Trả lời", "lan")
    b = RequestStore(path)  # a restarted process
    got = b.by_code(r["code"])
    assert got["status"] == "answered" and got["reply"] == "Trả lời"
    assert [e["action"] for e in b.events(r["id"])] == ["created", "replied"]


def test_working_days(tmp_path):
    fri = dt.date(2026, 11, 27)
    assert fri.weekday() == 4
    assert add_working_days(fri, 5) == dt.date(2026, 12, 4)  # Sat/Sun skipped
    assert add_working_days(fri, 1) == dt.date(2026, 11, 30)
    assert add_working_days(fri, 5, {dt.date(2026, 12, 2)}) == dt.date(2026, 12, 7)
    assert working_days_between(fri, dt.date(2026, 12, 4)) == 5
    s = RequestStore(tmp_path / "wd.sqlite3", due_working_days=3)
    r = s.create(name="A", contact="a@b.vn", transcript=[{"question": "Q?"}])
    assert r["due"] == add_working_days(dt.date.fromisoformat(r["created_day"]), 3).isoformat()
