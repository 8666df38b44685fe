"""The one database behind conversations, feedback, hand-over requests and staff sign-ins.

By default a SQLite file in the data dir (``Settings.db_path``: one host, any number of worker processes on it);
with ``HTP_DATABASE_URL`` a database server, e.g. ``postgresql+psycopg://user:password@db-host/htp``, shared by
workers on several hosts. The stores speak SQLAlchemy Core only, so the same statements run on both.
"""
from __future__ import annotations

import os
import threading
from pathlib import Path

from sqlalchemy import (Column, Double, Engine, Index, Integer, MetaData, Table, Text, create_engine, event, exc,
                        make_url)
from sqlalchemy.schema import CreateIndex, CreateTable
from sqlalchemy.sql import text

metadata = MetaData()

# The columns and index names of the SQL schemas the stores created before, so existing SQLite files keep working.
# sqlite_autoincrement: ids are never reused there (AUTOINCREMENT), as before; PostgreSQL uses a sequence.
sessions = Table("sessions", metadata, Column("id", Text, primary_key=True), Column("created", Double),
                 Column("updated", Double))
turns = Table(
    "turns", metadata, Column("id", Integer, primary_key=True, autoincrement=True),
    Column("session_id", Text, nullable=False), Column("created", Double), Column("answer_id", Text),
    Column("question", Text), Column("search_query", Text), Column("language", Text), Column("documents", Text),
    Column("refused", Integer), Column("answer", Text),
    Index("turns_session", "session_id", "id"), sqlite_autoincrement=True)
feedback = Table(
    "feedback", metadata, Column("id", Integer, primary_key=True, autoincrement=True), Column("created", Double),
    Column("answer_id", Text), Column("session_id", Text), Column("rating", Integer), Column("comment", Text),
    Column("question", Text), sqlite_autoincrement=True)
requests = Table(
    "requests", metadata, Column("id", Integer, primary_key=True, autoincrement=True),
    Column("code", Text, unique=True, nullable=False), Column("session_id", Text),
    Column("created", Double, nullable=False), Column("updated", Double, nullable=False),
    Column("created_day", Text, nullable=False), Column("due", Text, nullable=False),
    Column("status", Text, nullable=False), Column("assignee", Text), Column("name", Text, nullable=False),
    Column("organisation", Text), Column("contact", Text, nullable=False), Column("message", Text),
    Column("language", Text), Column("question", Text), Column("transcript", Text, nullable=False),
    Column("reply", Text), Column("replied_by", Text), Column("replied_at", Double), Column("closed_at", Double),
    Index("requests_status", "status", "due"), sqlite_autoincrement=True)
request_events = Table(
    "request_events", metadata, Column("id", Integer, primary_key=True, autoincrement=True),
    Column("request_id", Integer, nullable=False), Column("at", Double, nullable=False),
    Column("actor", Text, nullable=False), Column("action", Text, nullable=False), Column("detail", Text),
    Index("request_events_request", "request_id", "id"), sqlite_autoincrement=True)
staff_sessions = Table(
    "staff_sessions", metadata, Column("token_hash", Text, primary_key=True),
    Column("username", Text, nullable=False), Column("role", Text, nullable=False),
    Column("csrf", Text, nullable=False), Column("created", Double, nullable=False),
    Column("expires", Double, nullable=False), Index("staff_sessions_expires", "expires"))

# SQLite: WAL (readers never wait for the writer), a writer waits up to 30 s for another, and every commit is on
# disk before it is acknowledged (FULL: a recorded reply survives a power cut, not only a crash).
SQLITE_PRAGMAS = ("busy_timeout=30000", "journal_mode=WAL", "synchronous=FULL")
CONNECT_TIMEOUT_S = 5  # a database server that does not answer fails the start in seconds, not minutes

_engines: dict[str, Engine] = {}
_lock = threading.Lock()


class DatabaseUnavailable(RuntimeError):
    """The configured database cannot be used (unreachable, refused, driver missing, malformed URL)."""


def masked(engine_or_url) -> str:
    url = engine_or_url.url if isinstance(engine_or_url, Engine) else engine_or_url
    return url.render_as_string(hide_password=True)


def get_engine(target: Engine | str | Path) -> Engine:
    """The engine for a URL (``sqlite:///…``, ``postgresql+psycopg://…``) or a SQLite file path; one per URL and
    process, so every store of a worker shares its connection pool."""
    if isinstance(target, Engine):
        return target
    try:
        url = make_url(f"sqlite:///{target}" if isinstance(target, Path) else target)
    except exc.ArgumentError:  # never echo the string: it may hold a password
        raise DatabaseUnavailable("the database URL is malformed (expected dialect+driver://user:password@host/db, "
                            "e.g. postgresql+psycopg://htp:secret@db-host/htp)") from None
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")  # the driver installed with the project (psycopg 3)
    sqlite = url.get_backend_name() == "sqlite"
    if sqlite and url.database and url.database != ":memory:" and not url.database.startswith("file:"):
        # Absolute, so a later change of working directory cannot point the pool at another file.
        path = Path(url.database).expanduser().resolve()
        path.parent.mkdir(parents=True, exist_ok=True)
        url = url.set(database=str(path))
    key = url.render_as_string(hide_password=False)
    with _lock:
        engine = _engines.get(key)
        if engine is None:
            engine = _engines[key] = _create(url, sqlite)
    return engine


def _create(url, sqlite: bool) -> Engine:
    backend = url.get_backend_name()
    args = {"timeout": 30} if sqlite else {"connect_timeout": CONNECT_TIMEOUT_S} if backend == "postgresql" else {}
    try:
        # pool_pre_ping: a connection the server dropped (restart, failover) is replaced, not handed to a request.
        engine = create_engine(url, connect_args=args, pool_pre_ping=True)
    except (ImportError, exc.NoSuchModuleError, exc.ArgumentError) as e:
        raise DatabaseUnavailable(f"cannot use the database {masked(url)}: {e} "
                            "(PostgreSQL needs the psycopg driver: pip install 'psycopg[binary]')") from None
    if sqlite:
        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record) -> None:
            cur = dbapi_conn.cursor()
            for pragma in SQLITE_PRAGMAS:
                cur.execute(f"PRAGMA {pragma}")
            cur.close()
    return engine


def init_db(target: Engine | str | Path) -> Engine:
    """The engine, with every table created if missing; fails fast with a clear error naming the (masked) URL."""
    engine = get_engine(target)
    try:
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                # Workers starting together would race on CREATE TABLE: one at a time (released at commit).
                conn.execute(text("SELECT pg_advisory_xact_lock(727211)"))
            # IF NOT EXISTS rather than a look-then-create: safe when several SQLite workers start at once too.
            for table in metadata.sorted_tables:
                conn.execute(CreateTable(table, if_not_exists=True))
                for index in sorted(table.indexes, key=lambda i: i.name):
                    conn.execute(CreateIndex(index, if_not_exists=True))
    except exc.DBAPIError as e:
        reason = " ".join(line.strip() for line in str(e.orig).splitlines() if line.strip()) or type(e.orig).__name__
        raise DatabaseUnavailable(f"cannot reach the database {masked(engine)}: {reason}") from e
    return engine


def _after_fork() -> None:
    # A forked child must not share its parent's open connections: it opens its own.
    for engine in list(_engines.values()):
        engine.dispose(close=False)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)
