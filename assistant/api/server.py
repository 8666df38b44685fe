"""`htp serve`: start answering at once, building the index in the background when it is missing or stale.

The build runs as `python -m assistant.cli index` in a child process. It is incremental: on an up-to-date
index it only parses the corpus, compares fingerprints and exits, so "stale" is decided by the builder
itself, with the same rule as `htp index`. Until a first generation exists /readyz answers 503 and the
widget shows "Đang xây dựng chỉ mục…"; the server switches to lexical then hybrid by itself.
"""
from __future__ import annotations

import os

import uvicorn

from ..config import Settings
from .indexjob import IndexJob, settings_env


def run(settings: Settings, host: str = "127.0.0.1", port: int = 8000, build_in_background: bool = True,
        workers: int = 1) -> None:
    job = IndexJob(settings)
    if build_in_background:
        _, pid = job.start()
        print(f"htp: index build running in the background (pid {pid}); log: {job.log_path}", flush=True)
    try:
        if workers > 1:
            # Workers are separate processes that build their app from the environment: write ours out.
            os.environ.update(settings_env(settings))
            uvicorn.run("assistant.api.app:create_app", factory=True, host=host, port=port, workers=workers,
                        proxy_headers=True, log_level="info")
        else:
            from .app import create_app

            uvicorn.run(create_app(settings, index_job=job), host=host, port=port, proxy_headers=True,
                        log_level="info")
    finally:
        # A build started for this server is useful on its own (it completes the index): leave it running.
        if job.running():
            print(f"htp: the background index build continues (log: {job.log_path})", flush=True)
