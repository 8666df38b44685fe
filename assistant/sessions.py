"""Conversations and feedback in the app's database (assistant/db.py: a SQLite file by default, or a database
server shared by several workers; one transaction per write): a restart keeps both.

Session ids are random 128-bit tokens: knowing one is the only way to read its history.
"""
from __future__ import annotations

import json
import re
import secrets
import time
from pathlib import Path

from sqlalchemy import Engine, delete, exc, insert, select, update

from .conversation import Turn
from .db import feedback as FB, init_db, sessions as S, turns as T

_SESSION_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")


def valid_session_id(sid: str) -> bool:
    return bool(_SESSION_ID.match(sid or ""))


class SessionStore:
    def __init__(self, path: Path | str | Engine, history_turns: int = 20):
        """`path`: a SQLite file, a database URL (Settings.db_url) or an engine."""
        self.engine = init_db(path)
        self.history_turns = history_turns

    def new_session(self) -> str:
        sid = secrets.token_urlsafe(18)
        now = time.time()
        with self.engine.begin() as c:
            c.execute(insert(S).values(id=sid, created=now, updated=now))
        return sid

    def exists(self, sid: str) -> bool:
        if not valid_session_id(sid):
            return False
        with self.engine.connect() as c:
            return c.execute(select(S.c.id).where(S.c.id == sid)).first() is not None

    def ensure(self, sid: str | None) -> str:
        """The given session if it exists, else a new one (unknown ids never reveal anything)."""
        if sid and self.exists(sid):
            return sid
        if sid and valid_session_id(sid):
            # A client-chosen id that does not exist yet (CLI `--session work`): create it.
            now = time.time()
            try:
                with self.engine.begin() as c:
                    c.execute(insert(S).values(id=sid, created=now, updated=now))
            except exc.IntegrityError:  # created meanwhile by another request or worker: the same session
                pass
            return sid
        return self.new_session()

    def history(self, sid: str) -> list[Turn]:
        stmt = (select(T.c.question, T.c.search_query, T.c.language, T.c.documents, T.c.refused)
                .where(T.c.session_id == sid).order_by(T.c.id.desc()).limit(self.history_turns))
        with self.engine.connect() as c:
            rows = c.execute(stmt).all()
        return [Turn(q, s, lang, json.loads(d or "[]"), bool(r)) for q, s, lang, d, r in reversed(rows)]

    def transcript(self, sid: str) -> list[dict]:
        stmt = select(T.c.answer_id, T.c.question, T.c.answer, T.c.created).where(T.c.session_id == sid)
        with self.engine.connect() as c:
            rows = c.execute(stmt.order_by(T.c.id)).all()
        return [{"answer_id": a, "question": q, "answer": json.loads(ans) if ans else None, "created": t}
                for a, q, ans, t in rows]

    def add_turn(self, sid: str, turn: Turn, answer_id: str, answer_json: str) -> None:
        now = time.time()
        # History is bounded: keep the last N turns of the session (every id up to the (N+1)-th newest goes).
        oldest_dropped = (select(T.c.id).where(T.c.session_id == sid).order_by(T.c.id.desc())
                          .offset(self.history_turns).limit(1).scalar_subquery())
        with self.engine.begin() as c:
            c.execute(insert(T).values(
                session_id=sid, created=now, answer_id=answer_id, question=turn.question,
                search_query=turn.search_query[:600], language=turn.language, documents=json.dumps(turn.documents),
                refused=int(turn.refused), answer=answer_json))
            c.execute(update(S).where(S.c.id == sid).values(updated=now))
            c.execute(delete(T).where(T.c.session_id == sid, T.c.id <= oldest_dropped))

    def answer_exists(self, answer_id: str) -> tuple[str, str] | None:
        with self.engine.connect() as c:
            row = c.execute(select(T.c.session_id, T.c.question).where(T.c.answer_id == answer_id)).first()
        return (row[0], row[1]) if row else None

    def add_feedback(self, answer_id: str, session_id: str | None, rating: int, comment: str | None,
                     question: str | None) -> int:
        with self.engine.begin() as c:
            res = c.execute(insert(FB).values(created=time.time(), answer_id=answer_id, session_id=session_id,
                                              rating=rating, comment=comment, question=question))
            return int(res.inserted_primary_key[0])

    def feedback(self) -> list[dict]:
        cols = ("id", "created", "answer_id", "session_id", "rating", "comment", "question")
        with self.engine.connect() as c:
            rows = c.execute(select(*(FB.c[k] for k in cols)).order_by(FB.c.id)).all()
        return [dict(zip(cols, r)) for r in rows]
