"""Hand-over requests: a conversation the assistant could not settle, handed to the park's staff with a named
person, a defined task and a deadline ("rõ người, rõ việc, rõ thời hạn").

Stored in the same database as the sessions (assistant/db.py: a SQLite file, or a database server shared by several
workers; one transaction per change, the change and its log entry together, so a server killed mid-write leaves
either both or neither). Every change is logged with who and when.
The investor holds an unguessable reference code (80 random bits), the only way to read their request.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import JSON, Connection, Engine, Integer, Row, cast, exc, func, insert, select, update

from .db import init_db, request_events as EV, requests as R

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
    def __init__(self, path: Path | str | Engine, due_working_days: int = 5, holidays: list[str] | None = None,
                 timezone: str = "Asia/Ho_Chi_Minh"):
        """`path`: a SQLite file, a database URL (Settings.db_url) or an engine."""
        self.engine = init_db(path)
        self.due_working_days = due_working_days
        self.holidays = {dt.date.fromisoformat(h) for h in (holidays or [])}
        try:
            tz: dt.tzinfo = ZoneInfo(timezone)
        except Exception:  # noqa: BLE001 — no tz database: Vietnam has no DST, a fixed offset is exact
            tz = dt.timezone(dt.timedelta(hours=7))
        self.clock = Clock(tz)
        # The inbox needs no transcripts: their length only, not megabytes of parsed answers. The column is text:
        # PostgreSQL's json_array_length wants it cast to json, SQLite's (json1) reads text.
        t = cast(R.c.transcript, JSON) if self.engine.dialect.name == "postgresql" else R.c.transcript
        self._turns = func.json_array_length(t, type_=Integer).label("turns")

    @classmethod
    def from_settings(cls, settings) -> "RequestStore":
        return cls(settings.db_url, settings.handover_due_working_days, settings.holidays, settings.timezone)

    @staticmethod
    def _log(c: Connection, rid: int, actor: str, action: str, detail: dict | None, now: float) -> None:
        c.execute(insert(EV).values(request_id=rid, at=now, actor=actor, action=action,
                                    detail=json.dumps(detail or {}, ensure_ascii=False)))

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
                with self.engine.begin() as c:
                    rid = int(c.execute(insert(R).values(
                        code=code, session_id=session_id, created=now, updated=now, created_day=created_day.isoformat(),
                        due=due.isoformat(), status="new", name=name, organisation=organisation, contact=contact,
                        message=message, language=language if language in ("vi", "en") else None,
                        question=_clean(question, 2000), transcript=json.dumps(transcript, ensure_ascii=False),
                    )).inserted_primary_key[0])
                    self._log(c, rid, "investor", "created", {"due": due.isoformat(), "turns": len(transcript)}, now)
                return self.get(rid)
            except exc.IntegrityError:  # a code collision (2^-80): draw again
                continue
        raise RuntimeError("could not allocate a reference code")

    def by_code(self, code: str) -> dict | None:
        c = normalise_code(code)
        if c is None:
            return None
        with self.engine.connect() as conn:
            row = conn.execute(select(R).where(R.c.code == c)).first()
        return self._row(row) if row else None

    # ------------------------------------------------------------------ staff side
    def get(self, rid: int) -> dict | None:
        with self.engine.connect() as c:
            row = c.execute(select(R).where(R.c.id == rid)).first()
        return self._row(row) if row else None

    def events(self, rid: int) -> list[dict]:
        with self.engine.connect() as c:
            rows = c.execute(select(EV.c.at, EV.c.actor, EV.c.action, EV.c.detail)
                             .where(EV.c.request_id == rid).order_by(EV.c.id)).all()
        return [{"at": self.clock.iso(at), "actor": actor, "action": action, "detail": json.loads(detail or "{}")}
                for at, actor, action, detail in rows]

    def list(self, status: str | None = None, assignee: str | None = None, today: dt.date | None = None) -> list[dict]:
        """Overdue first (most overdue on top), then open ones by due date, then answered, then closed."""
        stmt = select(*(col for col in R.c if col.name != "transcript"), self._turns)
        if status == "open":
            stmt = stmt.where(R.c.status.in_(OPEN))
        elif status in STATUSES:
            stmt = stmt.where(R.c.status == status)
        if assignee:
            stmt = stmt.where(R.c.assignee == assignee)
        with self.engine.connect() as c:
            rows = c.execute(stmt).all()
        items = [self._row(r, today) for r in rows]
        rank = {"new": 1, "in_progress": 1, "answered": 2, "closed": 3}
        items.sort(key=lambda r: (0 if r["overdue"] else rank[r["status"]], r["due"] if r["status"] != "closed" else "",
                                  -(r["closed_ts"] or 0), r["id"]))
        return items

    def _change(self, rid: int, actor: str, action: str, detail: dict, sets: dict, allowed_from: tuple[str, ...],
                now: float | None = None) -> dict:
        now = time.time() if now is None else now
        with self.engine.begin() as c:
            # Read-check-write under one lock, so two staff never both close it: a write comes first and takes
            # the lock (SQLite's database write lock, PostgreSQL's row lock) before the status is read; a refusal
            # below rolls it back.
            if c.execute(update(R).where(R.c.id == rid).values(updated=now)).rowcount == 0:
                raise KeyError(rid)
            status = c.execute(select(R.c.status).where(R.c.id == rid)).scalar_one()
            if status not in allowed_from:
                raise RequestError(f"not allowed while the request is {status}")
            c.execute(update(R).where(R.c.id == rid).values(**sets))
            self._log(c, rid, actor, action, {"from": status, **detail}, now)
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
        with self.engine.begin() as c:
            self._log(c, rid, actor, action, detail, time.time())

    # ------------------------------------------------------------------ views
    def _row(self, row: Row, today: dt.date | None = None) -> dict:
        today = today or self.clock.day()
        r = row._mapping
        due = dt.date.fromisoformat(r["due"])
        full = "transcript" in r
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
