"""The widget and the staff page in a real browser (Debian's Chromium via Playwright) against `htp serve`.

Screenshots go to $HTP_SCREENSHOT_DIR (set it to docs/ to refresh docs/widget.png and docs/staff.png),
otherwise to a temporary folder, so a test run leaves the working tree clean.
"""
from __future__ import annotations

import importlib.util
import os
import re
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
DOCS = Path(os.environ.get("HTP_SCREENSHOT_DIR") or tempfile.mkdtemp(prefix="htp-screens-"))
Q = "Điều kiện thành lập khu công nghệ cao là gì?"
# A dossier question the small index answers with a dossier clause (NĐ 219/2025 Điều 20): it gets a procedure
# card. (On the small index the high-tech-enterprise dossier is not held, and a card is only built from clauses
# that state a dossier, an authority, a time limit or a step.)
PROCEDURAL = "Hồ sơ đề nghị cấp giấy phép lao động gồm những gì?"
XSS = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>'
STAFF_PW = "mật-khẩu-thử-nghiệm"

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(),
                                reason=f"{CHROMIUM} not installed (apt-get install -y chromium)")

# Counts text nodes appended to the conversation while it is on screen: only streamed deltas do that
# (everything else is built off-document and attached whole).
COUNT_DELTAS = """() => {
  window.__deltas = 0;
  const log = document.getElementById('htp-assistant-root').shadowRoot.querySelector('.htp-log');
  new MutationObserver(ms => ms.forEach(m => m.addedNodes.forEach(n => { if (n.nodeType === 3) window.__deltas++; })))
    .observe(log, {childList: true, subtree: true});
}"""
ROOT = "document.getElementById('htp-assistant-root').shadowRoot"
ACTIVE_CLASS = f"() => {ROOT}.activeElement?.className || ''"


@pytest.fixture(scope="module")
def partner():
    """A third-party site on its own loopback origin that embeds the widget with the one tag."""
    from test_api_http import free_port

    state = {"api": ""}

    class Page(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            body = (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Partner</title></head>'
                    f'<body><h1>Partner site</h1><script src="{state["api"]}/widget.js" data-title="Legal help" '
                    f'data-lang="en"></script></body></html>').encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", free_port()), Page)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    state["origin"] = f"http://127.0.0.1:{httpd.server_address[1]}"
    yield state
    httpd.shutdown()


@pytest.fixture(scope="module")
def server(small_settings, tmp_path_factory, partner):
    from test_api_http import serve

    from assistant.auth import hash_password

    staff = [{"username": "lan", "role": "staff", "password_hash": hash_password(STAFF_PW)}]
    with serve(small_settings.model_copy(update={"staff": staff}), tmp_path_factory.mktemp("browser") / "server.log",
               origins=(partner["origin"],)) as base:
        partner["api"] = base
        yield base


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def new_page(browser, problems: list[str], **kw):
    page = browser.new_page(viewport=kw.pop("viewport", {"width": 1280, "height": 860}), **kw)
    page.on("pageerror", lambda e: problems.append(f"pageerror: {e}"))
    page.on("console", lambda m: problems.append(f"console: {m.text}") if m.type == "error" else None)
    return page


def sign_in(page, user: str, password: str | None = None) -> None:
    from playwright.sync_api import expect

    expect(page).to_have_url(re.compile(r"/staff/login\?next="))
    page.locator("#username").fill(user)
    page.locator("#password").fill(password or STAFF_PW)
    page.locator("#login-btn").click()
    expect(page).not_to_have_url(re.compile(r"/staff/login"))


def wait_answer(page, n: int) -> None:
    """Until the n-th assistant message (1-based) is complete."""
    page.wait_for_function(
        """n => { const m = document.getElementById('htp-assistant-root').shadowRoot.querySelectorAll('.htp-bot');
                  return m.length >= n && !m[n - 1].hasAttribute('aria-busy'); }""",
        arg=n, timeout=90_000)


def test_widget_chat_citations_keyboard_and_screenshots(server, browser):
    from playwright.sync_api import expect

    problems: list[str] = []
    page = new_page(browser, problems)
    page.goto(server + "/")
    launcher = page.locator(".htp-launcher")
    expect(launcher).to_have_attribute("aria-expanded", "false")
    launcher.focus()
    page.keyboard.press("Enter")  # keyboard opens it; focus goes to the question box
    expect(page.locator(".htp-panel")).to_be_visible()
    assert page.evaluate(ACTIVE_CLASS) == "htp-input"
    expect(page.locator(".htp-suggestion")).to_have_count(4)

    page.evaluate(COUNT_DELTAS)
    page.keyboard.type(Q)
    page.keyboard.press("Enter")
    wait_answer(page, 1)
    assert page.evaluate("window.__deltas") >= 2, "answer text was not streamed in pieces"
    expect(page.locator(".htp-bot .htp-lead").first).to_contain_text("Điều")
    chips = page.locator(".htp-bot .htp-chip")
    assert chips.count() >= 1
    expect(chips.first.locator(".htp-chip-status")).to_have_text("Còn hiệu lực")
    expect(page.locator(".htp-mode")).to_have_text("Tìm kiếm kết hợp")
    DOCS.mkdir(exist_ok=True)
    page.screenshot(path=str(DOCS / "widget.png"))

    # A chip opens the provision in a side sheet; Escape closes it and gives focus back to the chip.
    chips.first.click()
    sheet = page.locator(".htp-sheet")
    expect(sheet).to_be_visible()
    expect(sheet.locator(".htp-article")).to_contain_text("khu công nghệ cao", timeout=20_000)
    expect(sheet.locator(".htp-badge")).to_contain_text("hiệu lực")
    assert sheet.locator(".htp-hl").count() == 1
    page.keyboard.press("Escape")
    expect(sheet).to_be_hidden()
    assert "htp-chip" in page.evaluate(ACTIVE_CLASS)

    page.locator(".htp-fb").first.click()
    expect(page.locator(".htp-fb-status").first).to_have_text("Cảm ơn phản hồi của bạn!")

    # Hostile text is shown literally and never runs.
    page.locator(".htp-input").fill(XSS)
    page.locator(".htp-send").click()
    wait_answer(page, 2)
    assert page.evaluate("window.__xss") is None
    expect(page.locator(".htp-user .htp-bubble").last).to_have_text(XSS)
    assert page.evaluate(f"{ROOT}.querySelectorAll('img,script').length") == 0

    # Language switch: UI strings and suggestions follow.
    page.get_by_role("button", name="English").click()
    expect(page.locator(".htp-input")).to_have_attribute("placeholder", "Type your question…")
    page.locator(".htp-head .htp-icon-btn").first.click()  # new conversation
    expect(page.locator(".htp-suggestion").first).to_have_text(
        "What are the conditions for establishing a high-tech park?")

    page.keyboard.press("Escape")
    expect(page.locator(".htp-panel")).to_be_hidden()
    assert "htp-launcher" in page.evaluate(ACTIVE_CLASS)
    assert not problems, problems


def test_staff_page_shows_conversation_and_provisions(server, browser):
    from playwright.sync_api import expect

    problems: list[str] = []
    page = new_page(browser, problems)
    page.goto(server + "/")
    page.locator(".htp-launcher").click()
    page.locator(".htp-input").fill(PROCEDURAL)
    page.keyboard.press("Enter")
    wait_answer(page, 1)
    card = page.locator(".htp-proc")  # a procedural question gets a procedure card with chips
    expect(card).to_be_visible()
    assert card.locator("dt").count() >= 1 and card.locator(".htp-mini-chip").count() >= 1
    sid = page.evaluate("Object.entries(localStorage).find(([k]) => k.endsWith(':session'))[1]")
    page.close()

    staff = new_page(browser, problems, viewport={"width": 1440, "height": 900})
    staff.goto(f"{server}/staff?session={sid}")  # the sign-in page first, then back to this session
    sign_in(staff, "lan")
    expect(staff.locator(".turn .q")).to_contain_text(PROCEDURAL)
    expect(staff.locator(".prov .article").first).to_be_visible(timeout=20_000)
    assert staff.locator(".prov").count() == staff.locator(".turn .chip").count() >= 1
    assert staff.locator(".prov .hl").count() >= 1
    expect(staff.locator("#session-id")).to_have_value(sid)
    staff.wait_for_timeout(300)
    staff.screenshot(path=str(DOCS / "staff.png"))
    if importlib.util.find_spec("assistant.drafts.router") is not None:  # written separately; optional
        staff.locator("#org").fill("Công ty TNHH ABC")
        with staff.expect_download(timeout=90_000) as dl:
            staff.get_by_role("button", name="Soạn công văn").click()
        assert dl.value.suggested_filename.endswith(".docx")
        expect(staff.locator("#status")).to_contain_text("Đã tải xuống")
    expect(staff.locator("#me")).to_contain_text("Cán bộ")
    staff.locator("#logout").click()  # the desk page signs out too, for real: the session is gone on the server
    expect(staff).to_have_url(re.compile(r"/staff/login"))
    staff.goto(f"{server}/staff?session={sid}")
    expect(staff).to_have_url(re.compile(r"/staff/login"))
    assert not problems, problems


def test_building_notice_then_ready(server, browser):
    from playwright.sync_api import expect

    problems: list[str] = []
    page = new_page(browser, problems)
    page.route("**/readyz", lambda route: route.fulfill(
        status=503, content_type="application/json",
        body='{"ready": false, "building": true, "detail": "no index yet: build it with `htp index`"}'))
    page.goto(server + "/")
    page.locator(".htp-launcher").click()
    notice = page.locator(".htp-notice")
    expect(notice).to_have_text("Đang xây dựng chỉ mục… Trợ lý sẽ sẵn sàng trong giây lát.")
    expect(page.locator(".htp-mode")).to_be_hidden()
    page.unroute("**/readyz")
    expect(notice).to_be_hidden(timeout=10_000)  # the widget polls /readyz while building
    expect(page.locator(".htp-mode")).to_have_text("Tìm kiếm kết hợp")
    assert not [p for p in problems if "503" not in p], problems


def test_embedding_on_another_origin(server, partner, browser):
    """The one-tag embed on a third-party page: API base from the script's src, CORS from the allowlist."""
    from playwright.sync_api import expect

    problems: list[str] = []
    page = new_page(browser, problems)
    page.goto(partner["origin"] + "/")
    page.locator(".htp-launcher").click()
    expect(page.locator(".htp-title")).to_have_text("Legal help")
    expect(page.locator(".htp-input")).to_have_attribute("placeholder", "Type your question…")
    page.locator(".htp-input").fill(Q)
    page.keyboard.press("Enter")
    wait_answer(page, 1)
    assert page.locator(".htp-bot .htp-chip").count() >= 1
    assert not problems, problems


# ---------------------------------------------------------------------------------------------- hand-over loop
EN_Q = "What are the conditions for establishing a high-tech park?"
REPLY = "Kính gửi Công ty TNHH Minh Phát: Ban quản lý xác nhận điều kiện theo Điều 23 Luật Công nghệ cao (công văn số 12/BQL)."


@pytest.fixture(scope="module")
def staffed(small_settings, tmp_path_factory):
    """A server with two staff accounts and one old request already overdue."""
    import time as _time

    from assistant.auth import add_account
    from assistant.handover import RequestStore
    from conftest import make_settings
    from test_api_http import serve
    from test_reliability import copy_data

    root = tmp_path_factory.mktemp("browser-staff")
    data = copy_data(small_settings, root)
    add_account(data / "staff.json", "lan", STAFF_PW, role="staff", name="Nguyễn Thị Lan",
                title="Chuyên viên Phòng Quản lý Đầu tư")
    add_account(data / "staff.json", "boss", STAFF_PW, role="admin", name="Lê Văn Trưởng")
    old = RequestStore(data / "app.sqlite3").create(
        name="Phạm Thị Hoa", organisation="Công ty CP Điện tử Sao Mai", contact="hoa@saomai.vn",
        transcript=[{"question": "Thủ tục gia hạn Giấy chứng nhận doanh nghiệp công nghệ cao?", "answer": None}],
        now=_time.time() - 12 * 86400)
    with serve(make_settings(data), root / "server.log") as base:
        yield {"base": base, "old": old}


def test_handover_loop_inbox_and_status_page(staffed, browser):
    """Investor asks (in English, no language chosen: the answer is English), hands over and gets a code; staff
    signs in, sees it after the overdue one, assigns, drafts, answers, closes; the investor's link shows it."""
    from playwright.sync_api import expect

    base = staffed["base"]
    problems: list[str] = []
    inv = new_page(browser, problems)
    inv.goto(base + "/")
    inv.locator(".htp-launcher").click()
    expect(inv.locator(".htp-handover")).to_be_hidden()  # nothing to hand over yet
    inv.locator(".htp-input").fill(EN_Q)
    with inv.expect_response(lambda r: r.url.endswith("/api/chat/stream")) as resp:
        inv.keyboard.press("Enter")
    assert '"language":"auto"' in resp.value.request.post_data  # the switch was never touched
    wait_answer(inv, 1)
    assert '"language":"en"' in resp.value.text()  # answered in English though the page is Vietnamese
    expect(inv.locator(".htp-title")).to_have_text("Trợ lý pháp lý Khu CNC")  # chrome follows the switch (vi)

    inv.locator(".htp-handover").click()
    expect(inv.locator(".htp-sheet-title")).to_have_text("Gửi cuộc trò chuyện cho Ban quản lý")
    inv.locator(".htp-ho-submit").click()
    expect(inv.locator(".htp-ho-status")).to_have_text("Vui lòng nhập họ tên và thông tin liên hệ.")
    inv.locator(".htp-ho-name").fill("Trần Minh Phát")
    inv.locator(".htp-ho-org").fill("Công ty TNHH Minh Phát")
    inv.locator(".htp-ho-contact").fill("phat@minhphat.vn")
    inv.locator(".htp-ho-message").fill("Xin Ban quản lý xác nhận bằng công văn.")
    inv.locator(".htp-ho-submit").click()
    code_el = inv.locator(".htp-ho-code")
    expect(code_el).to_have_text(re.compile(r"^HTP(-[0-9A-Z]{4}){4}$"), timeout=30_000)
    code = code_el.text_content()
    link = inv.locator(".htp-ho-link").get_attribute("href")
    assert link == f"{base}/request/{code}"

    # Staff: the inbox asks for a sign-in first.
    ctx = browser.new_context(viewport={"width": 1500, "height": 920}, accept_downloads=True)
    staff = ctx.new_page()
    staff.on("pageerror", lambda e: problems.append(f"pageerror: {e}"))
    staff.goto(base + "/staff/inbox")
    expect(staff).to_have_url(re.compile(r"/staff/login\?next="))
    staff.locator("#username").fill("lan")
    staff.locator("#password").fill("wrong")
    staff.locator("#login-btn").click()
    expect(staff.locator("#status")).to_have_text("Sai tên đăng nhập hoặc mật khẩu.")
    staff.locator("#password").fill(STAFF_PW)
    staff.locator("#login-btn").click()
    expect(staff).to_have_url(re.compile(r"/staff/inbox"))
    items = staff.locator(".req-item")
    expect(items).to_have_count(2)
    expect(items.nth(0)).to_have_class(re.compile("overdue"))  # the overdue one first
    expect(items.nth(0)).to_contain_text("Công ty CP Điện tử Sao Mai")
    expect(items.nth(1)).to_contain_text("Công ty TNHH Minh Phát")
    expect(items.nth(1)).to_contain_text("Mới")
    items.nth(1).click()
    expect(staff.locator("#req-code")).to_have_text(code)
    expect(staff.locator(".req-detail .turn .q")).to_contain_text(EN_Q)
    expect(staff.locator(".prov .article").first).to_be_visible(timeout=20_000)
    staff.locator("#take-btn").click()
    expect(items.nth(1)).to_contain_text("Đang xử lý")
    expect(staff.locator(".facts")).to_contain_text("lan")
    with staff.expect_download(timeout=90_000) as dl:
        staff.locator("#draft-btn").click()
    assert dl.value.suggested_filename == f"cong-van-tra-loi-{code}.docx"
    staff.wait_for_timeout(300)
    staff.screenshot(path=str(DOCS / "inbox.png"))
    staff.locator("#reply").fill(REPLY)
    staff.locator("#reply-btn").click()
    expect(staff.locator(".sent")).to_have_text(REPLY)
    staff.locator("#close-btn").click()
    expect(staff.locator(".facts .st")).to_have_text("Đóng")
    expect(staff.locator(".log li")).to_have_count(5)  # created, assigned, drafted, replied, closed
    staff.locator("#logout").click()
    expect(staff).to_have_url(re.compile(r"/staff/login"))
    staff.goto(base + "/staff/inbox")
    expect(staff).to_have_url(re.compile(r"/staff/login"))  # signed out for real
    ctx.close()

    # The investor's link shows the answer.
    inv.goto(link)
    expect(inv.locator("#status")).to_have_text("Đóng")
    expect(inv.locator("#reply")).to_have_text(REPLY)
    expect(inv.locator("#assignee")).to_have_text("Chuyên viên Phòng Quản lý Đầu tư")
    inv.locator("#lang-en").click()
    expect(inv.locator("#status")).to_have_text("Closed")
    inv.locator("#lang-vi").click()
    expect(inv.locator("#status")).to_have_text("Đóng")
    inv.screenshot(path=str(DOCS / "request-status.png"), full_page=True)
    inv.goto(base + "/request/HTP-0000-0000-0000-0000")
    expect(inv.locator(".error")).to_contain_text("Không tìm thấy")
    assert not [p for p in problems if "status of 40" not in p], problems  # 401 (wrong password), 404 (bad code)
