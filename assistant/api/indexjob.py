"""Background index builds: `python -m assistant.cli index` in a child process.

A child process (not a thread) so a build never competes with request handling for the GIL, and a crash in
the embedder cannot take the server down. The running server picks the new generation up by itself
(IndexHandle re-checks CURRENT every 2 s): lexical first, hybrid when the embeddings are done.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

from ..config import Settings


def settings_env(settings: Settings, base: dict[str, str] | None = None) -> dict[str, str]:
    """Environment that makes a child process (or a uvicorn worker) see exactly these settings.

    Settings may come from code (tests, `create_app(settings)`), not only from the environment, so every
    field is written out as its HTP_* variable; lists as JSON, which pydantic-settings parses back."""
    env = dict(os.environ if base is None else base)
    for name in type(settings).model_fields:
        value = getattr(settings, name)
        key = f"HTP_{name.upper()}"
        if value is None:
            if type(settings).model_fields[name].default is not None:
                env[key] = ""  # switched off where the default is on (HTP_ANSWERABILITY_FILE=)
            else:
                env.pop(key, None)
        elif isinstance(value, (list, dict)):
            env[key] = json.dumps(value, ensure_ascii=False)
        elif hasattr(value, "model_dump_json"):  # a nested policy (Settings.ranking): JSON, as it is read back
            env[key] = value.model_dump_json()
        elif isinstance(value, bool):
            env[key] = "true" if value else "false"
        elif isinstance(value, dt.date):
            env[key] = value.isoformat()
        elif isinstance(value, Path):
            env[key] = str(value.resolve())  # the child may not share our working directory
        else:
            env[key] = str(value)
    return env


class IndexJob:
    """At most one build child at a time per server process; its output goes to data_dir/index-build.log."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self._proc: subprocess.Popen | None = None
        self._lock = threading.Lock()

    @property
    def log_path(self) -> Path:
        return self.settings.data_dir / "index-build.log"

    def running(self) -> bool:
        with self._lock:
            return self._proc is not None and self._proc.poll() is None

    def start(self, extra_args: list[str] | None = None) -> tuple[bool, int | None]:
        """(started, pid); does not start a second build while one runs."""
        with self._lock:
            if self._proc is not None and self._proc.poll() is None:
                return False, self._proc.pid
            self.settings.data_dir.mkdir(parents=True, exist_ok=True)
            log = open(self.log_path, "ab")
            try:
                self._proc = subprocess.Popen(
                    [sys.executable, "-m", "assistant.cli", "index", *(extra_args or [])],
                    env=settings_env(self.settings), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                    start_new_session=True)
            finally:
                log.close()  # the child holds its own descriptor
            return True, self._proc.pid

    def stop(self) -> None:
        with self._lock:
            if self._proc is not None and self._proc.poll() is None:
                self._proc.terminate()
