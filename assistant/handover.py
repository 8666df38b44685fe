"""Hand-over requests: a conversation the assistant could not settle, handed to the park's staff with a named
person, a defined task and a deadline ("rõ người, rõ việc, rõ thời hạn").

Stored in the same SQLite file as the sessions (WAL; one transaction per change, the change and its log entry
together, so a server killed mid-write leaves either both or neither). Every change is logged with who and when.
The investor holds an unguessable reference code (80 random bits), the only way to read their request.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import secrets
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

STATUSES = ("new", "in_progress", "answered", "closed")
STATUS_LABELS = {
    "vi": {"new": "Mới", "in_progress": "Đang xử lý", "answered": "Đã trả lời", "closed": "Đóng"},
    "en": {"new": "New", "in_progress": "In progress", "answered": "Answered", "closed": "Closed"},
}
OPEN = ("new", "in_progress")
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U
CODE = re.compile(r"^HTP(-[0-9A-HJKMNP-TV-Z]{4}){4}$")
CSV_COLUMNS = ["id", "code", "status", "created", "due", "overdue", "assignee", "name", "organisation", "contact",
               "question", "turns", "replied_at", "replied_by", "closed_at", "working_days_to_reply"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS requests (
  id INTEGER PRIMARY KEY AUTOINCREMENT, code TEXT UNIQUE NOT NULL, session_id TEXT, created REAL NOT NULL,
  updated REAL NOT NULL, created_day TEXT NOT NULL, due TEXT NOT NULL, status TEXT NOT NULL, assignee TEXT,
  name TEXT NOT NULL, organisation TEXT, contact TEXT NOT NULL, message TEXT, language TEXT,
  question TEXT, transcript TEXT NOT NULL, reply TEXT, replied_by TEXT, replied_at REAL, closed_at REAL);
CREATE INDEX IF NOT EXISTS requests_status ON requests(status, due);
CREATE TABLE IF NOT EXISTS request_events (
  id INTEGER PRIMARY KEY AUTOINCREMENT, request_id INTEGER NOT NULL, at REAL NOT NULL, actor TEXT NOT NULL,
  action TEXT NOT NULL, detail TEXT);
CREATE INDEX IF NOT EXISTS request_events_request ON request_events(request_id, id);
"""


class RequestError(ValueError):
    """A change that is not allowed in the request's current state (409) or bad input (422)."""


def new_code() -> str:
    chars = "".join(secrets.choice(_ALPHABET) for _ in range(16))
    return "HTP-" + "-".join(chars[i:i + 4] for i in range(0, 16, 4))


def normalise_code(code: str) -> str | None:
    """'htp-abcd-…' or with spaces → canonical; None when it cannot be a code (nothing is looked up then)."""
    c = re.sub(r"\s+", "", (code or "")[:64]).upper()
    c = c.replace("O", "0").replace("I", "1").replace("L", "1")  # Crockford's read-alikes
    return c if CODE.match(c) else None


def add_working_days(start: dt.date, n: int, holidays: set[dt.date] = frozenset()) -> dt.date:
    """The n-th working day after `start` (Saturdays, Sundays and holidays skipped)."""
    d, left = start, max(0, n)
    while left:
        d += dt.timedelta(days=1)
        if d.weekday() < 5 and d not in holidays:
            left -= 1
    return d


def working_days_between(a: dt.date, b: dt.date, holidays: set[dt.date] = frozenset()) -> int:
    n, d = 0, a
    while d < b:
        d += dt.timedelta(days=1)
        if d.weekday() < 5 and d not in holidays:
            n += 1
    return n


@dataclass
class Clock:
    tz: dt.tzinfo

    def day(self, ts: float | None = None) -> dt.date:
        return dt.datetime.fromtimestamp(time.time() if ts is None else ts, self.tz).date()

    def iso(self, ts: float | None) -> str | None:
        return None if ts is None else dt.datetime.fromtimestamp(ts, self.tz).isoformat(timespec="seconds")


def _clean(text: object, limit: int) -> str:
    s = "" if text is None else str(text)
    s = "".join(ch for ch in s if ch in "\n\t" or (ch.isprintable() and not 0xD800 <= ord(ch) <= 0xDFFF))
    return s.strip()[:limit]


class RequestStore:
    def __init__(self, path: Path, due_working_days: int = 5, holidays: list[str] | None = None,
                 timezone: str = "Asia/Ho_Chi_Minh"):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.due_working_days = due_working_days
        self.holidays = {dt.date.fromisoformat(h) for h in (holidays or [])}
        try:
            tz: dt.tzinfo = ZoneInfo(timezone)
        except Exception:  # noqa: BLE001 — no tz database: Vietnam has no DST, a fixed offset is exact
            tz = dt.timezone(dt.timedelta(hours=7))
        self.clock = Clock(tz)
        self._local = threading.local()
        with self._conn() as c:
            c.execute("PRAGMA journal_mode=WAL")
            c.executescript(_SCHEMA)

    @classmethod
    def from_settings(cls, settings) -> "RequestStore":
        return cls(settings.db_path, settings.handover_due_working_days, settings.holidays, settings.timezone)

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(str(self.path), timeout=30)
            conn.execute("PRAGMA busy_timeout=30000")
            conn.execute("PRAGMA synchronous=FULL")  # a recorded reply survives a power cut, not only a crash
            conn.row_factory = sqlite3.Row
            self._local.conn = conn
        return conn

    @staticmethod
    def _log(c: sqlite3.Connection, rid: int, actor: str, action: str, detail: dict | None, now: float) -> None:
        c.execute("INSERT INTO request_events (request_id, at, actor, action, detail) VALUES (?,?,?,?,?)",
                  (rid, now, actor, action, json.dumps(detail or {}, ensure_ascii=False)))

    # ------------------------------------------------------------------ investor side
    def create(self, *, name: str, contact: str, transcript: list[dict], session_id: str | None = None,
               organisation: str | None = None, message: str | None = None, language: str | None = None,
               now: float | None = None) -> dict:
        name, contact = _clean(name, 200), _clean(contact, 200)
        organisation, message = _clean(organisation, 300) or None, _clean(message, 4000) or None
        if not name or not contact:
            raise RequestError("name and contact are required (cần họ tên và thông tin liên hệ)")
        questions = [t.get("question") for t in transcript if t.get("question")]
        if not questions and not message:
            raise RequestError("nothing to hand over: ask a question first or write a message")
        now = time.time() if now is None else now
        created_day = self.clock.day(now)
        due = add_working_days(created_day, self.due_working_days, self.holidays)
        question = questions[0] if questions else message
        for _ in range(5):
            code = new_code()
            try:
                with self._conn() as c:
                    cur = c.execute(
                        "INSERT INTO requests (code, session_id, created, updated, created_day, due, status, name, "
                        "organisation, contact, message, language, question, transcript) "
                        "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                        (code, session_id, now, now, created_day.isoformat(), due.isoformat(), "new", name,
                         organisation, contact, message, language if language in ("vi", "en") else None,
                         _clean(question, 2000), json.dumps(transcript, ensure_ascii=False)))
                    rid = int(cur.lastrowid)
                    self._log(c, rid, "investor", "created", {"due": due.isoformat(), "turns": len(transcript)}, now)
                return self.get(rid)
            except sqlite3.IntegrityError:  # a code collision (2^-80): draw again
                continue
        raise RuntimeError("could not allocate a reference code")

    def by_code(self, code: str) -> dict | None:
        c = normalise_code(code)
        if c is None:
            return None
        row = self._conn().execute("SELECT * FROM requests WHERE code=?", (c,)).fetchone()
        return self._row(row) if row else None

    # ------------------------------------------------------------------ staff side
    def get(self, rid: int) -> dict | None:
        row = self._conn().execute("SELECT * FROM requests WHERE id=?", (rid,)).fetchone()
        return self._row(row) if row else None

    def events(self, rid: int) -> list[dict]:
        rows = self._conn().execute("SELECT at, actor, action, detail FROM request_events WHERE request_id=? "
                                    "ORDER BY id", (rid,)).fetchall()
        return [{"at": self.clock.iso(r["at"]), "actor": r["actor"], "action": r["action"],
                 "detail": json.loads(r["detail"] or "{}")} for r in rows]

    def list(self, status: str | None = None, assignee: str | None = None, today: dt.date | None = None) -> list[dict]:
        """Overdue first (most overdue on top), then open ones by due date, then answered, then closed."""
        # The inbox needs no transcripts: their length only (json1), not megabytes of parsed answers.
        sql, args = ("SELECT id, code, session_id, created, updated, created_day, due, status, assignee, name, "
                     "organisation, contact, message, language, question, reply, replied_by, replied_at, closed_at, "
                     "json_array_length(transcript) AS turns FROM requests"), []
        where = []
        if status == "open":
            where.append("status IN ('new','in_progress')")
        elif status in STATUSES:
            where.append("status=?")
            args.append(status)
        if assignee:
            where.append("assignee=?")
            args.append(assignee)
        if where:
            sql += " WHERE " + " AND ".join(where)
        items = [self._row(r, today) for r in self._conn().execute(sql, args).fetchall()]
        rank = {"new": 1, "in_progress": 1, "answered": 2, "closed": 3}
        items.sort(key=lambda r: (0 if r["overdue"] else rank[r["status"]], r["due"] if r["status"] != "closed" else "",
                                  -(r["closed_ts"] or 0), r["id"]))
        return items

    def _change(self, rid: int, actor: str, action: str, detail: dict, sets: dict, allowed_from: tuple[str, ...],
                now: float | None = None) -> dict:
        now = time.time() if now is None else now
        with self._conn() as c:
            c.execute("BEGIN IMMEDIATE")  # read-check-write under one lock: two staff never both close it
            row = c.execute("SELECT status FROM requests WHERE id=?", (rid,)).fetchone()
            if row is None:
                raise KeyError(rid)
            if row["status"] not in allowed_from:
                raise RequestError(f"not allowed while the request is {row['status']}")
            cols = ", ".join(f"{k}=?" for k in sets)
            c.execute(f"UPDATE requests SET {cols}, updated=? WHERE id=?", (*sets.values(), now, rid))
            self._log(c, rid, actor, action, {"from": row["status"], **detail}, now)
        return self.get(rid)

    def assign(self, rid: int, assignee: str | None, actor: str) -> dict:
        cur = self.get(rid)
        if cur is None:
            raise KeyError(rid)
        sets: dict = {"assignee": assignee}
        if cur["status"] == "new" and assignee:
            sets["status"] = "in_progress"  # a named person has the task now
        return self._change(rid, actor, "assigned", {"assignee": assignee}, sets, ("new", "in_progress", "answered"))

    def set_status(self, rid: int, status: str, actor: str) -> dict:
        if status not in ("new", "in_progress"):
            raise RequestError("use reply to answer and close to close")
        return self._change(rid, actor, "status", {"to": status}, {"status": status}, ("new", "in_progress"))

    def reply(self, rid: int, text: str, actor: str, now: float | None = None) -> dict:
        text = _clean(text, 20_000)
        if not text:
            raise RequestError("the reply is empty")
        now = time.time() if now is None else now
        return self._change(rid, actor, "replied", {"chars": len(text)},
                            {"reply": text, "replied_by": actor, "replied_at": now, "status": "answered"},
                            ("new", "in_progress", "answered"), now)

    def close(self, rid: int, actor: str, note: str | None = None) -> dict:
        now = time.time()
        return self._change(rid, actor, "closed", {"note": _clean(note, 500)} if note else {},
                            {"status": "closed", "closed_at": now}, ("new", "in_progress", "answered"), now)

    def reopen(self, rid: int, actor: str) -> dict:
        return self._change(rid, actor, "reopened", {}, {"status": "in_progress", "closed_at": None}, ("closed",))

    def log_event(self, rid: int, actor: str, action: str, detail: dict | None = None) -> None:
        with self._conn() as c:
            self._log(c, rid, actor, action, detail, time.time())

    # ------------------------------------------------------------------ views
    def _row(self, r: sqlite3.Row, today: dt.date | None = None) -> dict:
        today = today or self.clock.day()
        due = dt.date.fromisoformat(r["due"])
        full = "transcript" in r.keys()
        transcript = json.loads(r["transcript"] or "[]") if full else None
        return {"id": r["id"], "code": r["code"], "session_id": r["session_id"], "status": r["status"],
                "status_label": STATUS_LABELS["vi"][r["status"]], "created": self.clock.iso(r["created"]),
                "updated": self.clock.iso(r["updated"]), "created_day": r["created_day"], "due": r["due"],
                "overdue": r["status"] in OPEN and due < today,
                "days_left": (due - today).days if r["status"] in OPEN else None,
                "assignee": r["assignee"], "name": r["name"], "organisation": r["organisation"],
                "contact": r["contact"], "message": r["message"], "language": r["language"],
                "question": r["question"], "transcript": transcript,
                "turns": len(transcript) if full else r["turns"],
                "reply": r["reply"], "replied_by": r["replied_by"], "replied_at": self.clock.iso(r["replied_at"]),
                "closed_at": self.clock.iso(r["closed_at"]), "closed_ts": r["closed_at"],
                "replied_ts": r["replied_at"]}

    def csv(self, status: str | None = None) -> str:
        """The monthly report's table: one row per request (UTF-8 with BOM so Excel reads Vietnamese)."""
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=CSV_COLUMNS)
        w.writeheader()
        for r in sorted(self.list(status), key=lambda r: r["id"]):
            wd = None
            if r["replied_ts"]:
                wd = working_days_between(dt.date.fromisoformat(r["created_day"]), self.clock.day(r["replied_ts"]),
                                          self.holidays)
            row = {k: r.get(k) for k in CSV_COLUMNS}
            row.update(working_days_to_reply=wd)
            w.writerow({k: csv_cell(v) for k, v in row.items()})
        return "\ufeff" + buf.getvalue()


def csv_cell(v: object) -> object:
    # Spreadsheet formula injection: names, organisations and questions are investors' text.
    if isinstance(v, str) and v[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + v
    return v


def public_view(r: dict, staff_title: str | None, lang: str = "vi") -> dict:
    """What the holder of the code sees: status, the assignee's role (never their name or account), the due
    date, their own questions, and the reply once sent. No contact details, no internal log."""
    lang = lang if lang in STATUS_LABELS else "vi"
    sent = r["status"] in ("answered", "closed") and r["reply"]
    return {"code": r["code"], "status": r["status"], "status_label": STATUS_LABELS[lang][r["status"]],
            "created": r["created"], "due": r["due"], "overdue": r["overdue"],
            "assignee_role": staff_title if r["assignee"] else None,
            "organisation": r["organisation"], "name": r["name"],
            "questions": [t.get("question") for t in r["transcript"] if t.get("question")] or [r["question"]],
            "message": r["message"],
            "reply": r["reply"] if sent else None, "replied_at": r["replied_at"] if sent else None,
            "closed_at": r["closed_at"]}
