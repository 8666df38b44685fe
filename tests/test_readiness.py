"""Honest readiness: an index build reports its progress (done/total, rate, time left) to a file that /readyz
reads and to the build log; while a build runs nothing says "no index"."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from fastapi.testclient import TestClient

from assistant.buildprogress import ProgressReport, describe, progress_path, read_progress
from conftest import CORPUS_DIR, make_settings


class _Inner:
    def __init__(self):
        self.calls = []

    def stage(self, name, total=None):
        self.calls.append(("stage", name, total))

    def advance(self, n=1):
        self.calls.append(("advance", n))


def test_progress_report_writes_rate_and_eta(tmp_path, capsys):
    inner = _Inner()
    p = ProgressReport(inner, tmp_path, every_s=0.0, echo=True)
    p.stage("embed", 100)
    p.stage_t0 -= 10  # ten seconds into the stage
    p.advance(25)
    snap = read_progress(tmp_path)
    assert snap["stage"] == "embed" and snap["done"] == 25 and snap["total"] == 100 and snap["percent"] == 25.0
    assert 2.0 <= snap["rate_per_s"] <= 2.6 and 25 <= snap["eta_s"] <= 35
    assert "embed 25/100 (25.0%" in describe(snap) and "left" in describe(snap)
    out = capsys.readouterr().out
    assert "stage embed (100 items)" in out and "embed 25/100 (25.0%)" in out and "left" in out
    assert inner.calls == [("stage", "embed", 100), ("advance", 25)]  # the terminal display still gets everything
    p.finish()
    assert read_progress(tmp_path) is None  # finished: no build running
    assert json.loads(progress_path(tmp_path).read_text())["state"] == "done"


def test_a_dead_builder_is_no_running_build(tmp_path):
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead = int(proc.stdout)
    progress_path(tmp_path).write_text(json.dumps({"state": "running", "pid": dead, "stage": "embed"}))
    assert read_progress(tmp_path) is None  # killed mid-build: not "building" forever


@pytest.mark.skipif(not CORPUS_DIR.is_dir(), reason=f"the shared corpus is not at {CORPUS_DIR}")
def test_readyz_shows_progress_and_never_says_no_index_while_building(tmp_path):
    from assistant.api.app import create_app

    s = make_settings(tmp_path / "data")
    client = TestClient(create_app(s))
    r = client.get("/readyz")
    assert r.status_code == 503 and "htp index" in r.json()["detail"] and not r.json()["building"]

    # A build (here: this process pretending) is embedding.
    p = ProgressReport(_Inner(), s.data_dir, every_s=0.0, echo=False)
    p.stage("embed", 4800)
    p.stage_t0 -= 100
    p.advance(1200)
    r = client.get("/readyz")
    body = r.json()
    assert r.status_code == 503 and body["building"] is True
    assert body["progress"]["done"] == 1200 and body["progress"]["total"] == 4800 and body["progress"]["eta_s"]
    assert "no index" not in body["detail"] and "htp index" not in body["detail"]
    assert "embed 1200/4800 (25.0%" in body["detail"] and "left" in body["detail"]
    r = client.post("/api/chat", json={"message": "Điều kiện thành lập khu công nghệ cao là gì?"})
    assert r.status_code == 503 and "htp index" not in r.json()["detail"] and "1200/4800" in r.json()["detail"]
    p.finish()
    assert "htp index" in client.get("/readyz").json()["detail"]
    assert os.getpid() == json.loads(progress_path(s.data_dir).read_text())["pid"]
