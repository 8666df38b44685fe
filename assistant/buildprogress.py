"""Index-build progress made visible outside the build process.

`htp index` wraps its progress display in `ProgressReport`: every stage and, during the long embedding
stage, done/total, rate and estimated time left go to a small JSON file next to the index
(`data_dir/index-build-progress.json`, replaced atomically) and, when the output is not a terminal
(`htp serve` sends it to `data_dir/index-build.log`), as a plain line every few seconds. `/readyz` reads the
file, so a server can say how far a build is — including one started from another terminal.
"""
from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

FILE = "index-build-progress.json"


def progress_path(data_dir: Path) -> Path:
    return Path(data_dir) / FILE


def _fmt_s(s: float) -> str:
    s = int(s)
    return f"{s // 3600} h {s % 3600 // 60:02d} min" if s >= 3600 else f"{s // 60} min {s % 60:02d} s"


class ProgressReport:
    def __init__(self, inner, data_dir: Path, every_s: float = 10.0, echo: bool | None = None):
        self.inner = inner
        self.path = progress_path(data_dir)
        self.every = every_s
        self.echo = (not sys.stdout.isatty()) if echo is None else echo
        self.started = time.time()
        self.name: str | None = None
        self.total: int | None = None
        self.done = 0
        self.stage_t0 = self.started
        self._last_write = 0.0
        self.stages: list[str] = []

    # The Progress protocol of indexing.build
    def stage(self, name: str, total: int | None = None) -> None:
        self.inner.stage(name, total)
        self.name, self.total, self.done, self.stage_t0 = name, total, 0, time.time()
        self.stages.append(name)
        self._write(force=True)
        if self.echo:
            print(f"htp index: stage {name}" + (f" ({total} items)" if total is not None else ""), flush=True)

    def advance(self, n: int = 1) -> None:
        self.inner.advance(n)
        self.done += n
        self._write()

    def finish(self, state: str = "done") -> None:
        if hasattr(self.inner, "finish"):
            self.inner.finish()
        self.name = None
        self._write(force=True, state=state)

    def snapshot(self, state: str = "running") -> dict:
        now = time.time()
        el = max(1e-6, now - self.stage_t0)
        rate = self.done / el if self.done else 0.0
        eta = (self.total - self.done) / rate if rate and self.total else None
        return {"state": state, "pid": os.getpid(), "started": self.started, "updated": now, "stage": self.name,
                "stages": self.stages, "done": self.done, "total": self.total, "rate_per_s": round(rate, 2),
                "eta_s": round(eta) if eta is not None else None,
                "percent": round(100 * self.done / self.total, 1) if self.total else None}

    def _write(self, force: bool = False, state: str = "running") -> None:
        now = time.time()
        if not force and now - self._last_write < self.every:
            return
        self._last_write = now
        snap = self.snapshot(state)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_name(self.path.name + f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps(snap), encoding="utf-8")
            tmp.replace(self.path)
        except OSError:
            return  # progress reporting never fails a build
        if self.echo and not force and self.total:
            eta = f", about {_fmt_s(snap['eta_s'])} left" if snap["eta_s"] is not None else ""
            print(f"htp index: {self.name} {self.done}/{self.total} ({snap['percent']}%), "
                  f"{snap['rate_per_s']}/s{eta}", flush=True)


def read_progress(data_dir: Path) -> dict | None:
    """The last reported progress while a build runs; None when no build is running (or it has finished)."""
    p = progress_path(data_dir)
    try:
        snap = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if snap.get("state") != "running":
        return None
    return snap if _alive(int(snap.get("pid") or 0)) else None


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie (finished child not yet reaped) is no running build.
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True


def describe(snap: dict) -> str:
    if snap.get("total"):
        eta = f", about {_fmt_s(snap['eta_s'])} left" if snap.get("eta_s") is not None else ""
        return f"{snap['stage']} {snap['done']}/{snap['total']} ({snap['percent']}%, {snap['rate_per_s']}/s{eta})"
    return f"{snap.get('stage') or 'starting'}"
