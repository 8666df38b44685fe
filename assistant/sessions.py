"""Conversations and feedback in SQLite (WAL, one transaction per write): a restart keeps both.

Session ids are random 128-bit tokens: knowing one is the only way to read its history.
"""
from __future__ import annotations

import json
import re
import secrets
import sqlite3
import threading
import time
from pathlib import Path

from .conversation import Turn

_SESSION_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (id TEXT PRIMARY KEY, created REAL, updated REAL);
CREATE TABLE IF NOT EXISTS turns (
  id INTEGER PRIMARY KEY AUTOINCREMENT, session_id TEXT NOT NULL, created REAL,
  answer_id TEXT, question TEXT, search_query TEXT, language TEXT, documents TEXT, refused INTEGER,
  answer TEXT);
CREATE INDEX IF NOT EXISTS turns_session ON turns(session_id, id);
CREATE TABLE IF NOT EXISTS feedback (
  id INTEGER PRIMARY KEY AUTOINCREMENT, created REAL, answer_id TEXT, session_id TEXT, rating INTEGER,
  comment TEXT, question TEXT);
"""


def valid_session_id(sid: str) -> bool:
    return bool(_SESSION_ID.match(sid or ""))


class SessionStore:
    def __init__(self, path: Path, history_turns: int = 20):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.history_turns = history_turns
        self._local = threading.local()
        with self._conn() as c:
            c.execute("PRAGMA journal_mode=WAL")
            c.executescript(_SCHEMA)

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(str(self.path), timeout=30)
            conn.execute("PRAGMA busy_timeout=30000")
            conn.execute("PRAGMA synchronous=NORMAL")
            self._local.conn = conn
        return conn

    def new_session(self) -> str:
        sid = secrets.token_urlsafe(18)
        now = time.time()
        with self._conn() as c:
            c.execute("INSERT INTO sessions VALUES (?, ?, ?)", (sid, now, now))
        return sid

    def exists(self, sid: str) -> bool:
        if not valid_session_id(sid):
            return False
        return self._conn().execute("SELECT 1 FROM sessions WHERE id=?", (sid,)).fetchone() is not None

    def ensure(self, sid: str | None) -> str:
        """The given session if it exists, else a new one (unknown ids never reveal anything)."""
        if sid and self.exists(sid):
            return sid
        if sid and valid_session_id(sid):
            # A client-chosen id that does not exist yet (CLI `--session work`): create it.
            now = time.time()
            with self._conn() as c:
                c.execute("INSERT OR IGNORE INTO sessions VALUES (?, ?, ?)", (sid, now, now))
            return sid
        return self.new_session()

    def history(self, sid: str) -> list[Turn]:
        rows = self._conn().execute(
            "SELECT question, search_query, language, documents, refused FROM turns WHERE session_id=? "
            "ORDER BY id DESC LIMIT ?", (sid, self.history_turns)).fetchall()
        return [Turn(q, s, lang, json.loads(d or "[]"), bool(r)) for q, s, lang, d, r in reversed(rows)]

    def transcript(self, sid: str) -> list[dict]:
        rows = self._conn().execute(
            "SELECT answer_id, question, answer, created FROM turns WHERE session_id=? ORDER BY id",
            (sid,)).fetchall()
        return [{"answer_id": a, "question": q, "answer": json.loads(ans) if ans else None, "created": t}
                for a, q, ans, t in rows]

    def add_turn(self, sid: str, turn: Turn, answer_id: str, answer_json: str) -> None:
        now = time.time()
        with self._conn() as c:
            c.execute("INSERT INTO turns (session_id, created, answer_id, question, search_query, language, "
                      "documents, refused, answer) VALUES (?,?,?,?,?,?,?,?,?)",
                      (sid, now, answer_id, turn.question, turn.search_query[:600], turn.language,
                       json.dumps(turn.documents), int(turn.refused), answer_json))
            c.execute("UPDATE sessions SET updated=? WHERE id=?", (now, sid))
            # History is bounded: keep the last N turns of the session.
            c.execute("DELETE FROM turns WHERE session_id=? AND id NOT IN (SELECT id FROM turns WHERE "
                      "session_id=? ORDER BY id DESC LIMIT ?)", (sid, sid, self.history_turns))

    def answer_exists(self, answer_id: str) -> tuple[str, str] | None:
        row = self._conn().execute("SELECT session_id, question FROM turns WHERE answer_id=?",
                                   (answer_id,)).fetchone()
        return (row[0], row[1]) if row else None

    def add_feedback(self, answer_id: str, session_id: str | None, rating: int, comment: str | None,
                     question: str | None) -> int:
        with self._conn() as c:
            cur = c.execute("INSERT INTO feedback (created, answer_id, session_id, rating, comment, question) "
                            "VALUES (?,?,?,?,?,?)", (time.time(), answer_id, session_id, rating, comment, question))
            return int(cur.lastrowid)

    def feedback(self) -> list[dict]:
        rows = self._conn().execute(
            "SELECT id, created, answer_id, session_id, rating, comment, question FROM feedback ORDER BY id").fetchall()
        return [dict(zip(("id", "created", "answer_id", "session_id", "rating", "comment", "question"), r))
                for r in rows]
