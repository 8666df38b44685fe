"""The corpus endpoints (assistant/api/corpus_routes.py) in-process: admin upload of a text, recent changes."""
from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
from fastapi.testclient import TestClient

from conftest import make_settings
from corpus.catalog import LOCAL_CATALOG_NAME

DECREE = Path(__file__).parent / "data" / "additions" / "nghi-dinh-501-2027-nd-cp-khu-thu-nghiem.txt"
AUTH = {"Authorization": "Bearer test-admin-token"}


class FakeJob:
    def __init__(self):
        self.started = 0

    def start(self, extra_args=None):
        self.started += 1
        return True, 4242

    def running(self):
        return False


@pytest.fixture
def setup(tmp_path):
    from assistant.api.app import create_app

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    s = make_settings(tmp_path / "data", corpus_dir=corpus, documents=None, embed_backend="none",
                      corpus_upload_max_bytes=4000)
    job = FakeJob()
    # These routes never answer questions: a stand-in assistant keeps the test off the index and the ranker.
    app = create_app(s, assistant=SimpleNamespace(settings=s), index_job=job)
    if "/api/admin/corpus/texts" not in app.openapi()["paths"]:
        pytest.skip("the corpus router is not registered in assistant/api/app.py")
    return TestClient(app), corpus, job


def test_upload_needs_the_admin_token(setup):
    c, corpus, _ = setup
    r = c.post("/api/admin/corpus/texts?name=nd.txt", content=DECREE.read_bytes())
    assert r.status_code == 401
    r = c.post("/api/admin/corpus/texts?name=nd.txt", content=DECREE.read_bytes(),
               headers={"Authorization": "Bearer wrong"})
    assert r.status_code == 403
    assert not any(corpus.iterdir())


def test_upload_over_the_size_limit_is_refused(setup):
    c, corpus, _ = setup
    r = c.post("/api/admin/corpus/texts?name=nd.txt", content=b"x" * 5000, headers=AUTH)
    assert r.status_code == 413 and "limit" in r.json()["detail"]
    assert not any(corpus.iterdir())


def test_upload_drafts_then_applies(setup):
    c, corpus, job = setup
    r = c.post("/api/admin/corpus/texts?name=nd-501.txt", content=DECREE.read_bytes(), headers=AUTH)
    body = r.json()
    assert r.status_code == 200, body
    assert body["number"] == "501/2027/NĐ-CP" and body["applied"] is False
    assert any("10/2024/NĐ-CP: repealed" in x for x in body["changes"])
    assert not any(corpus.iterdir())
    r = c.post("/api/admin/corpus/texts?name=nd-501.txt&apply=true", content=DECREE.read_bytes(),
               headers=AUTH)
    assert r.status_code == 201, r.json()
    assert (corpus / "nd-501.txt").exists() and (corpus / LOCAL_CATALOG_NAME).exists() and job.started == 1
    r = c.post("/api/admin/corpus/texts?name=nd-501b.txt", content=DECREE.read_bytes(), headers=AUTH)
    assert r.status_code == 422 and "already in the catalog" in str(r.json()["detail"])


@pytest.mark.parametrize("name", ["../x.txt", "a/b/c.txt", "x.exe"])
def test_upload_names_leaving_the_corpus_are_refused(setup, name):
    c, corpus, _ = setup
    r = c.post("/api/admin/corpus/texts", params={"name": name}, content=DECREE.read_bytes(), headers=AUTH)
    assert r.status_code == 422
    assert not any(corpus.iterdir())


def test_not_a_legal_text_is_refused(setup):
    c, corpus, _ = setup
    r = c.post("/api/admin/corpus/texts?name=bb.txt", content="Biên bản họp.\nNội dung.".encode(), headers=AUTH)
    assert r.status_code == 422 and "no article" in str(r.json()["detail"])


def test_changes_view(setup):
    c, _, _ = setup
    r = c.get("/api/corpus/changes?since=2026-07-01&until=2026-07-01")
    assert r.status_code == 200
    assert any(x["document"] == "21/2008/QH12" and x["kind"] == "ceased" for x in r.json()["changes"])
