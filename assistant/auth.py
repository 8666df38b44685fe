"""Staff accounts and sign-in sessions.

Accounts are configured (``HTP_STAFF`` as JSON and/or a staff file, default ``data_dir/staff.json``), each with a
bcrypt password hash made by ``htp staff add`` (the ``bcrypt`` library: no hand-rolled crypto). A sign-in
creates a server-side session in the same database as the conversations (assistant/db.py): the browser holds a random
256-bit token in an HttpOnly, SameSite=Strict cookie; the database holds only its SHA-256, the user, the role,
a CSRF token and the expiry. Sign-out deletes the row, so a copied cookie stops working at once.

CSRF: every state-changing staff request must carry the session's CSRF token in ``X-CSRF-Token`` (the page
receives it from the sign-in answer and ``GET /api/staff/me``; another site cannot read it), and a request whose
``Origin`` is another site is refused outright.
"""
from __future__ import annotations

import hashlib
import json
import re
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

import bcrypt
from sqlalchemy import Engine, delete, insert, select, update

from .config import Settings
from .db import init_db, staff_sessions as SS

ROLES = ("staff", "admin")
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
MAX_PASSWORD_BYTES = 72  # bcrypt's limit: longer passwords are refused, never silently cut
COOKIE = "htp_staff"
CSRF_HEADER = "x-csrf-token"
# Checked against when the username is unknown, so a wrong name costs the same time as a wrong password.
_DUMMY_HASH = bcrypt.hashpw(b"not-a-password", bcrypt.gensalt(rounds=12))

class StaffConfigError(ValueError):
    pass


@dataclass(frozen=True)
class StaffAccount:
    username: str
    role: str
    password_hash: str
    name: str = ""
    title: str = ""

    def public(self) -> dict:
        return {"username": self.username, "role": self.role, "name": self.name or self.username,
                "title": self.title or default_title(self.role)}


@dataclass(frozen=True)
class StaffUser:
    """Who is acting: a signed-in account, or the admin token (``via='token'``)."""
    username: str
    role: str
    name: str = ""
    title: str = ""
    csrf: str = ""
    expires: float = 0.0
    via: str = "session"

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def public(self) -> dict:
        return {"username": self.username, "role": self.role, "name": self.name or self.username,
                "title": self.title or default_title(self.role), "expires": self.expires, "via": self.via}


def default_title(role: str) -> str:
    return "Lãnh đạo Ban quản lý" if role == "admin" else "Chuyên viên Ban quản lý"


def hash_password(password: str) -> str:
    data = password.encode("utf-8")
    if not password or len(data) > MAX_PASSWORD_BYTES:
        raise ValueError(f"a password must be 1 to {MAX_PASSWORD_BYTES} bytes long")
    return bcrypt.hashpw(data, bcrypt.gensalt(rounds=12)).decode("ascii")


def check_password(password: str, password_hash: str | None) -> bool:
    data = password.encode("utf-8", "surrogatepass") if isinstance(password, str) else b""
    target = password_hash.encode("ascii", "ignore") if password_hash else _DUMMY_HASH
    if not data or len(data) > MAX_PASSWORD_BYTES:
        bcrypt.checkpw(b"x", _DUMMY_HASH)  # same cost either way
        return False
    try:
        ok = bcrypt.checkpw(data, target)
    except ValueError:  # a malformed hash in the configuration: never a match
        return False
    return ok and password_hash is not None


def _account(raw: object, where: str) -> StaffAccount:
    if not isinstance(raw, dict):
        raise StaffConfigError(f"{where}: each staff entry must be an object")
    username = str(raw.get("username", "")).strip().lower()
    role = str(raw.get("role", "staff")).strip().lower()
    ph = str(raw.get("password_hash", ""))
    if not USERNAME.match(username):
        raise StaffConfigError(f"{where}: invalid username {username!r} (a-z, 0-9, . _ -)")
    if role not in ROLES:
        raise StaffConfigError(f"{where}: role of {username} must be staff or admin, not {role!r}")
    if not ph.startswith(("$2a$", "$2b$", "$2y$")):
        raise StaffConfigError(f"{where}: {username} needs a bcrypt password_hash (make one with `htp staff add`)")
    return StaffAccount(username, role, ph, str(raw.get("name") or ""), str(raw.get("title") or ""))


def staff_file(settings: Settings) -> Path:
    return settings.staff_file or settings.data_dir / "staff.json"


def load_accounts(settings: Settings) -> dict[str, StaffAccount]:
    """HTP_STAFF entries, then the staff file's (a file entry overrides one of the same name)."""
    accounts: dict[str, StaffAccount] = {}
    for i, raw in enumerate(settings.staff):
        a = _account(raw, f"HTP_STAFF[{i}]")
        accounts[a.username] = a
    path = staff_file(settings)
    if path.is_file():
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as e:
            raise StaffConfigError(f"{path}: {e}") from e
        if not isinstance(data, list):
            raise StaffConfigError(f"{path}: must hold a JSON list of staff entries")
        for i, raw in enumerate(data):
            a = _account(raw, f"{path}[{i}]")
            accounts[a.username] = a
    return accounts


def add_account(path: Path, username: str, password: str, role: str = "staff", name: str = "",
                title: str = "") -> StaffAccount:
    """Add or replace an account in a staff file (written atomically, readable by its owner only)."""
    entry = {"username": username.strip().lower(), "role": role, "password_hash": hash_password(password),
             "name": name, "title": title}
    acct = _account(entry, "new account")
    data = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else []
    data = [d for d in data if str(d.get("username", "")).lower() != acct.username] + [entry]
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
    tmp.chmod(0o600)
    tmp.replace(path)
    return acct


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


class StaffAuth:
    """Accounts (re-read when the staff file changes) and sign-in sessions (in the database, shared by all workers)."""

    def __init__(self, settings: Settings, db_path: Path | str | Engine | None = None):
        """`db_path`: a SQLite file, a database URL or an engine; by default the app's database (Settings.db_url)."""
        self.settings = settings
        self.engine = init_db(db_path or settings.db_url)
        self._accounts: dict[str, StaffAccount] = {}
        self._stamp: object = object()

    # ------------------------------------------------------------------ accounts
    def accounts(self) -> dict[str, StaffAccount]:
        path = staff_file(self.settings)
        try:
            st = path.stat()
            stamp: object = (st.st_mtime_ns, st.st_size)
        except OSError:
            stamp = None
        if stamp != self._stamp:
            self._accounts = load_accounts(self.settings)
            self._stamp = stamp
        return self._accounts

    def configured(self) -> bool:
        return bool(self.accounts())

    # ------------------------------------------------------------------ sessions
    def sign_in(self, username: str, password: str) -> tuple[str, StaffUser] | None:
        acct = self.accounts().get((username or "").strip().lower())
        if not check_password(password, acct.password_hash if acct else None) or acct is None:
            return None
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        now = time.time()
        expires = now + 60 * self.settings.staff_session_minutes
        with self.engine.begin() as c:
            c.execute(delete(SS).where(SS.c.expires < now))
            c.execute(insert(SS).values(token_hash=_digest(token), username=acct.username, role=acct.role, csrf=csrf,
                                        created=now, expires=expires))
        return token, StaffUser(acct.username, acct.role, acct.name, acct.title, csrf, expires)

    def user(self, token: str | None) -> tuple[StaffUser | None, str]:
        """(user, "") for a live session, else (None, why): "missing", "invalid", "expired"."""
        if not token:
            return None, "missing"
        if len(token) > 200:
            return None, "invalid"
        with self.engine.connect() as c:
            row = c.execute(select(SS.c.username, SS.c.role, SS.c.csrf, SS.c.expires)
                            .where(SS.c.token_hash == _digest(token))).first()
        if row is None:
            return None, "invalid"
        username, role, csrf, expires = row
        if expires < time.time():
            return None, "expired"
        acct = self.accounts().get(username)
        if acct is None:  # removed from the configuration since: signed out everywhere
            return None, "invalid"
        # The role is the configured one now, not the one at sign-in (a demotion takes effect at once).
        return StaffUser(username, acct.role, acct.name, acct.title, csrf, expires), ""

    def sign_out(self, token: str | None) -> None:
        if token:
            with self.engine.begin() as c:
                c.execute(delete(SS).where(SS.c.token_hash == _digest(token)))

    def expire_now(self, token: str) -> None:
        """Tests and admin tooling: make a session expired without waiting."""
        with self.engine.begin() as c:
            c.execute(update(SS).where(SS.c.token_hash == _digest(token)).values(expires=time.time() - 1))
