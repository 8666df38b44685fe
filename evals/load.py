"""`htp load run`: many concurrent chat sessions against a server on loopback; nothing may be lost.

    htp load run                      # starts its own `htp serve --no-build` on 127.0.0.1:<free port>
    htp load run --sessions 10 --turns 3 --max-seconds 60
    htp load run --base-url http://127.0.0.1:8000   # a server you started (its rate limit must allow the load)

Each session is a conversation: a follow-up chain of evals/suites/followup.jsonl, then questions of dev.jsonl
and further chains, asked one after the other with the session id the server returned; turns alternate between
/api/chat/stream (Server-Sent Events) and /api/chat. All sessions run at once. Afterwards every session's
transcript is read back with GET /api/sessions/{id}: each completed turn must be there, in order, with its
question and the answer_id the client received.

Reported: errors (HTTP status other than 200, transport errors and timeouts, an SSE `error` event or a stream
without `done`, a session id that changed), latency p50/p95/max (whole answer; first SSE event for streams),
throughput and sessions intact. Exit status 1 if anything failed or was lost.

Module-level imports stay light (`htp` imports this module at every start); the server helper is reused by
tests/test_reliability.py.
"""
from __future__ import annotations

import json
import math
import os
import signal
import socket
import subprocess
import sys
import time
import unicodedata
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Optional
from urllib.parse import urlparse

import typer

load_app = typer.Typer(help="Load test: concurrent chat sessions on loopback, history verified.",
                       no_args_is_help=True)


@load_app.callback()
def _load() -> None:
    """Load test: concurrent chat sessions on loopback, history verified."""


SUITES = Path(__file__).parent / "suites"
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
HIGH_RATE_LIMIT = "1000000"


# ---------------------------------------------------------------------------------------------- server
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerError(RuntimeError):
    pass


class LocalServer:
    """`python -m assistant.cli serve` on 127.0.0.1 in a child process, with the given environment.

    `kill()` sends SIGKILL (crash tests); `stop()` terminates it. The output goes to `log` (a file)."""

    def __init__(self, env: dict[str, str] | None = None, log: Path | None = None, port: int | None = None,
                 build: bool = False, cwd: Path | None = None):
        self.env = dict(os.environ if env is None else env)
        self.port = port or free_port()
        self.build = build
        self.cwd = cwd
        self.log = log
        self._log_fh = None
        self.proc: subprocess.Popen | None = None
        self.base_url = f"http://127.0.0.1:{self.port}"

    def start(self, wait: str | None = "/readyz", timeout: float = 180.0) -> "LocalServer":
        """Start it; wait until `wait` (a path) answers 200 — /readyz: index loaded; /healthz: up."""
        cmd = [sys.executable, "-m", "assistant.cli", "serve", "--host", "127.0.0.1", "--port", str(self.port),
               "--build" if self.build else "--no-build"]
        out = subprocess.DEVNULL
        if self.log is not None:
            self._log_fh = open(self.log, "ab")
            out = self._log_fh
        self.proc = subprocess.Popen(cmd, env=self.env, stdout=out, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, cwd=self.cwd)
        if wait:
            try:
                self.wait_for(wait, timeout)
            except BaseException:
                self.stop()  # never leave a server behind
                raise
        return self

    def log_text(self, tail: int = 4000) -> str:
        if self.log is None or not self.log.exists():
            return ""
        return self.log.read_text(encoding="utf-8", errors="replace")[-tail:]

    def wait_for(self, path: str = "/readyz", timeout: float = 180.0) -> None:
        import httpx

        deadline = time.monotonic() + timeout
        last = ""
        while True:
            if self.proc is not None and self.proc.poll() is not None:
                raise ServerError(f"server exited with {self.proc.returncode}:\n{self.log_text()}")
            try:
                r = httpx.get(self.base_url + path, timeout=5)
                if r.status_code == 200:
                    return
                last = f"{r.status_code} {r.text[:300]}"
            except httpx.TransportError as e:
                last = repr(e)
            if time.monotonic() > deadline:
                raise ServerError(f"{self.base_url}{path} not 200 after {timeout:.0f} s (last: {last}):\n"
                                  f"{self.log_text()}")
            time.sleep(0.3)

    def kill(self) -> None:
        """SIGKILL: no shutdown handler runs (a crash, an OOM kill)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(30)
        self._close_log()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(15)
        self._close_log()

    def _close_log(self) -> None:
        if self._log_fh is not None:
            self._log_fh.close()
            self._log_fh = None

    def __enter__(self) -> "LocalServer":
        return self if self.proc is not None else self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


# ---------------------------------------------------------------------------------------------- plan
def _read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def conversation_material(suites: Path = SUITES) -> tuple[list[list[str]], list[str]]:
    """(follow-up chains from followup.jsonl, standalone questions from dev.jsonl)."""
    items = _read_jsonl(suites / "followup.jsonl")
    by_id = {it["id"]: it for it in items}
    children: dict[str, str] = {it["follow_up_of"]: it["id"] for it in items if it.get("follow_up_of")}
    chains = []
    for it in items:
        if it.get("follow_up_of") in by_id:
            continue  # not a chain head
        chain, cur = [], it["id"]
        while cur:
            chain.append(by_id[cur]["question"])
            cur = children.get(cur)
        chains.append(chain)
    dev = [it["question"] for it in _read_jsonl(suites / "dev.jsonl")]
    return chains, dev


def session_plan(i: int, turns: int, chains: list[list[str]], dev: list[str]) -> list[str]:
    """Questions of session i: chain i, a dev question, chain i+1, a dev question, … (deterministic)."""
    out: list[str] = []
    k = 0
    while len(out) < turns:
        out.extend(chains[(i + k) % len(chains)])
        out.append(dev[(i * 7 + k * 13) % len(dev)])
        k += 1
    return out[:turns]


def normalized(q: str) -> str:
    """What the server stores as the question (engine.clean_question, without importing the engine)."""
    q = unicodedata.normalize("NFC", q)
    q = "".join(" " if unicodedata.category(ch) in ("Cc", "Cs") else ch for ch in q)
    return " ".join(q.split())


# ---------------------------------------------------------------------------------------------- run
@dataclass
class TurnResult:
    session: int
    turn: int
    kind: str  # json | stream
    question: str
    ok: bool
    seconds: float
    first_event_s: float | None = None
    status: int | None = None
    answer_id: str | None = None
    session_id: str | None = None
    error: str | None = None


@dataclass
class SessionCheck:
    session: int
    session_id: str | None
    expected: int
    found: int
    intact: bool
    problem: str | None = None


@dataclass
class LoadReport:
    base_url: str
    sessions: int
    turns: int
    planned: int
    completed: int
    cut: int  # turns not asked or cancelled because --max-seconds ran out
    errors: int
    seconds: float
    throughput: float
    p50_s: float
    p95_s: float
    max_s: float
    stream_first_event_p50_s: float | None
    stream_first_event_p95_s: float | None
    by_kind: dict[str, dict[str, float]]
    sessions_intact: int
    sessions_checked: int
    mode: str | None = None
    generation: str | None = None
    documents: int | None = None
    error_samples: list[str] = field(default_factory=list)
    lost: list[dict] = field(default_factory=list)
    histories: dict[str, dict] = field(default_factory=dict)  # for verify_histories (e.g. after a restart)

    @property
    def ok(self) -> bool:
        return self.errors == 0 and self.sessions_intact == self.sessions_checked and self.completed > 0

    def to_dict(self, histories: bool = False) -> dict:
        d = asdict(self)
        d["ok"] = self.ok
        if not histories:
            d.pop("histories")
        return d

    def lines(self) -> list[str]:
        fe = ""
        if self.stream_first_event_p50_s is not None:
            fe = (f"; streams, first event: p50 {self.stream_first_event_p50_s:.2f} s, "
                  f"p95 {self.stream_first_event_p95_s:.2f} s")
        out = [f"load: {self.sessions} sessions × {self.turns} turns against {self.base_url}"
               + (f" (mode {self.mode}, {self.documents} documents, generation {self.generation})"
                  if self.mode else ""),
               f"turns: {self.completed}/{self.planned} completed in {self.seconds:.1f} s "
               f"({self.throughput:.2f} turns/s)" + (f"; {self.cut} cut by --max-seconds" if self.cut else ""),
               f"errors: {self.errors}",
               f"latency: p50 {self.p50_s:.2f} s, p95 {self.p95_s:.2f} s, max {self.max_s:.2f} s{fe}"]
        for kind, v in sorted(self.by_kind.items()):
            out.append(f"  {kind:6} n={int(v['n'])} p50 {v['p50_s']:.2f} s  p95 {v['p95_s']:.2f} s")
        out.append(f"sessions intact: {self.sessions_intact}/{self.sessions_checked} "
                   f"(history read back with GET /api/sessions/{{id}})")
        out += [f"  error: {e}" for e in self.error_samples]
        out += [f"  lost: session {x['session']} ({x['session_id']}): {x['problem']}" for x in self.lost[:10]]
        partial = f" (partial: {self.cut} turns cut by --max-seconds)" if self.cut else ""
        out.append(("OK" if self.ok else "FAILED") + partial)
        return out


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    if not values:
        return float("nan")
    v = sorted(values)
    return v[max(0, min(len(v) - 1, math.ceil(p / 100 * len(v)) - 1))]


async def _ask(client, base: str, kind: str, question: str, sid: str | None, timeout: float) -> dict:
    """One turn; returns {status, answer_id, session_id, first_event_s, error}."""
    body = {"message": question}
    if sid:
        body["session_id"] = sid
    t0 = time.perf_counter()
    if kind == "json":
        r = await client.post(base + "/api/chat", json=body, timeout=timeout)
        if r.status_code != 200:
            return {"status": r.status_code, "error": f"HTTP {r.status_code}: {r.text[:200]}"}
        data = r.json()
        return {"status": 200, "answer_id": data.get("answer_id"), "session_id": data.get("session_id")}
    first = None
    meta = done = err = None
    async with client.stream("POST", base + "/api/chat/stream", json=body, timeout=timeout) as r:
        if r.status_code != 200:
            text = (await r.aread()).decode("utf-8", "replace")
            return {"status": r.status_code, "error": f"HTTP {r.status_code}: {text[:200]}"}
        name, data = "message", []
        async for line in r.aiter_lines():
            if line == "":
                if data:
                    if first is None:
                        first = time.perf_counter() - t0
                    obj = json.loads("\n".join(data))
                    if name == "meta":
                        meta = obj
                    elif name == "done":
                        done = obj
                    elif name == "error":
                        err = obj
                name, data = "message", []
            elif line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].lstrip())
    if err is not None:
        return {"status": 200, "error": f"SSE error event: {err.get('message', err)}", "first_event_s": first}
    if done is None or meta is None:
        return {"status": 200, "error": "stream ended without meta/done", "first_event_s": first}
    if meta.get("answer_id") != done.get("answer_id"):
        return {"status": 200, "error": "meta and done disagree on answer_id", "first_event_s": first}
    return {"status": 200, "answer_id": done.get("answer_id"), "session_id": done.get("session_id"),
            "first_event_s": first}


async def _session(i: int, plan: list[str], client, base: str, stream_share: float, deadline: float,
                   timeout: float, results: list[TurnResult], sids: dict[int, str], cut: dict[int, int]) -> None:
    import asyncio
    import random

    rnd = random.Random(i)
    sid: str | None = None
    for j, q in enumerate(plan):
        if time.monotonic() >= deadline:
            cut[i] = cut.get(i, 0) + len(plan) - j
            return
        # Alternate kinds, so that every session uses both; stream_share moves the balance.
        kind = "stream" if ((i + j) % 2 == 0 if stream_share == 0.5 else rnd.random() < stream_share) else "json"
        t0 = time.perf_counter()
        try:
            got = await _ask(client, base, kind, q, sid, timeout)
        except asyncio.CancelledError:
            cut[i] = cut.get(i, 0) + len(plan) - j
            results.append(TurnResult(i, j, kind, q, False, time.perf_counter() - t0, error="cancelled"))
            raise
        except Exception as e:  # noqa: BLE001 — transport errors, timeouts: all counted
            got = {"error": f"{type(e).__name__}: {e}"}
        dt_ = time.perf_counter() - t0
        res = TurnResult(i, j, kind, q, "error" not in got, dt_, got.get("first_event_s"), got.get("status"),
                         got.get("answer_id"), got.get("session_id"), got.get("error"))
        if res.ok:
            if sid is None:
                sid = res.session_id
                if sid:
                    sids[i] = sid
            elif res.session_id != sid:
                res.ok, res.error = False, f"session changed: sent {sid}, got {res.session_id}"
            if not res.answer_id:
                res.ok, res.error = False, "no answer_id"
        results.append(res)


def session_histories(results: list[TurnResult], sids: dict[int, str]) -> dict[str, dict]:
    """What each session's history must hold: {session_id: {"asked": [[question, answer_id], …] (completed
    turns, in order), "failed": [question, …] (turns that failed on the client side)}}."""
    out: dict[str, dict] = {}
    for r in sorted(results, key=lambda r: (r.session, r.turn)):
        sid = sids.get(r.session)
        if sid is None:
            continue
        h = out.setdefault(sid, {"session": r.session, "asked": [], "failed": []})
        if r.ok:
            h["asked"].append([normalized(r.question), r.answer_id])
        else:
            h["failed"].append(normalized(r.question))
    return out


def check_history(sid: str, want: dict, got: list[dict]) -> SessionCheck:
    """Every completed turn present, in order, with its question and answer_id. A turn that failed on the
    client side (e.g. cut at the deadline) may still have been recorded by the server: it may appear."""
    asked = want["asked"]
    failed = set(want["failed"])
    pos = 0
    for t in got:
        q, a = t.get("question"), t.get("answer_id")
        if pos < len(asked) and a == asked[pos][1]:
            if q != asked[pos][0]:
                return SessionCheck(want["session"], sid, len(asked), len(got), False,
                                    f"turn {pos + 1}: question {q!r} recorded, {asked[pos][0]!r} asked")
            pos += 1
        elif any(a == x[1] for x in asked[pos + 1:]):
            return SessionCheck(want["session"], sid, len(asked), len(got), False,
                                f"turn {pos + 1} ({asked[pos][0]!r}) missing or out of order")
        elif q not in failed:
            return SessionCheck(want["session"], sid, len(asked), len(got), False,
                                f"unexpected turn {q!r} (answer {a}) in the history")
    if pos != len(asked):
        return SessionCheck(want["session"], sid, len(asked), len(got), False,
                            f"{len(asked) - pos} of {len(asked)} completed turns missing or out of order "
                            f"(first missing: {asked[pos][0]!r})")
    return SessionCheck(want["session"], sid, len(asked), len(got), True)


async def _verify(client, base: str, histories: dict[str, dict], timeout: float) -> list[SessionCheck]:
    import asyncio

    sem = asyncio.Semaphore(8)

    async def one(sid: str, want: dict) -> SessionCheck:
        async with sem:
            try:
                r = await client.get(f"{base}/api/sessions/{sid}", timeout=timeout)
            except Exception as e:  # noqa: BLE001
                return SessionCheck(want["session"], sid, len(want["asked"]), 0, False,
                                    f"GET failed: {type(e).__name__}: {e}")
        if r.status_code != 200:
            return SessionCheck(want["session"], sid, len(want["asked"]), 0, False,
                                f"GET /api/sessions/{{id}}: HTTP {r.status_code}")
        return check_history(sid, want, r.json().get("turns", []))

    return list(await asyncio.gather(*(one(sid, h) for sid, h in histories.items())))


def verify_histories(base_url: str, histories: dict[str, dict], timeout: float = 60.0) -> list[SessionCheck]:
    """Read every session back from the server and check it (also usable after a restart)."""
    import asyncio

    import httpx

    async def main() -> list[SessionCheck]:
        async with httpx.AsyncClient(timeout=timeout) as client:
            return await _verify(client, base_url, histories, timeout)

    return asyncio.run(main())


def run_load(base_url: str, sessions: int = 50, turns: int = 10, max_seconds: float = 300.0,
             request_timeout: float = 120.0, stream_share: float = 0.5, grace_seconds: float = 30.0) -> LoadReport:
    """Run the load against `base_url` and verify every session's history afterwards."""
    import asyncio

    import httpx

    chains, dev = conversation_material()
    plans = {i: session_plan(i, turns, chains, dev) for i in range(sessions)}
    results: list[TurnResult] = []
    sids: dict[int, str] = {}
    cut: dict[int, int] = {}
    info: dict = {}

    async def main() -> list[SessionCheck]:
        limits = httpx.Limits(max_connections=sessions + 8, max_keepalive_connections=sessions + 8)
        async with httpx.AsyncClient(limits=limits, timeout=request_timeout) as client:
            try:
                r = await client.get(base_url + "/readyz", timeout=30)
                if r.status_code == 200:
                    info.update(r.json())
            except httpx.TransportError:
                pass
            t0 = time.monotonic()
            deadline = t0 + max_seconds
            tasks = [asyncio.create_task(_session(i, plans[i], client, base_url, stream_share, deadline,
                                                  request_timeout, results, sids, cut)) for i in plans]
            # No new turn starts after the deadline; turns in flight get `grace_seconds` more, then are cancelled.
            _, pending = await asyncio.wait(tasks, timeout=max_seconds + grace_seconds)
            for t in pending:
                t.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
            info["seconds"] = time.monotonic() - t0
            return await _verify(client, base_url, session_histories(results, sids), request_timeout)

    checks = asyncio.run(main())
    # A session whose first turn never succeeded has no id: intact only if nothing of it was completed.
    for i in range(sessions):
        if i not in sids and any(r.ok for r in results if r.session == i):
            checks.append(SessionCheck(i, None, 1, 0, False, "no session id was ever returned"))
    ok = [r for r in results if r.ok]
    bad = [r for r in results if not r.ok and r.error != "cancelled"]
    lat = [r.seconds for r in ok]
    first = [r.first_event_s for r in ok if r.kind == "stream" and r.first_event_s is not None]
    by_kind = {}
    for kind in ("json", "stream"):
        v = [r.seconds for r in ok if r.kind == kind]
        if v:
            by_kind[kind] = {"n": len(v), "p50_s": percentile(v, 50), "p95_s": percentile(v, 95)}
    seconds = info.get("seconds", 0.0)
    samples = []
    for r in bad[:5]:
        samples.append(f"session {r.session} turn {r.turn + 1} ({r.kind}): {r.error}")
    return LoadReport(
        base_url=base_url, sessions=sessions, turns=turns, planned=sessions * turns, completed=len(ok),
        cut=sum(cut.values()), errors=len(bad), seconds=round(seconds, 2),
        throughput=round(len(ok) / seconds, 3) if seconds else 0.0,
        p50_s=round(percentile(lat, 50), 3), p95_s=round(percentile(lat, 95), 3),
        max_s=round(max(lat), 3) if lat else float("nan"),
        stream_first_event_p50_s=round(percentile(first, 50), 3) if first else None,
        stream_first_event_p95_s=round(percentile(first, 95), 3) if first else None,
        by_kind={k: {kk: round(vv, 3) for kk, vv in v.items()} for k, v in by_kind.items()},
        sessions_intact=sum(c.intact for c in checks), sessions_checked=len(checks),
        mode=info.get("mode"), generation=info.get("generation"), documents=info.get("documents"),
        error_samples=samples,
        lost=[asdict(c) for c in checks if not c.intact], histories=session_histories(results, sids))


def load_env(base: dict[str, str] | None = None, turns: int = 10) -> dict[str, str]:
    """Environment for the server a load run starts: the current HTP_* settings, rate limiting out of the way
    (it is tested on its own), and a history long enough to hold every turn of a session."""
    env = dict(os.environ if base is None else base)
    env["HTP_RATE_LIMIT_PER_MINUTE"] = HIGH_RATE_LIMIT
    env["HTP_HISTORY_TURNS"] = str(max(turns, int(env.get("HTP_HISTORY_TURNS", "20") or 20)))
    env.setdefault("HF_HUB_OFFLINE", "1")
    env.setdefault("ANONYMIZED_TELEMETRY", "False")
    return env


# ---------------------------------------------------------------------------------------------- CLI
@load_app.command("run")
def run_cmd(base_url: Optional[str] = typer.Option(None, "--base-url",
                                                   help="a running server on loopback; default: start one "
                                                        "(`htp serve --no-build` on a free port, current HTP_* env)"),
            sessions: int = typer.Option(50, "--sessions", min=1, help="concurrent chat sessions"),
            turns: int = typer.Option(10, "--turns", min=1, help="questions per session"),
            max_seconds: float = typer.Option(300.0, "--max-seconds", min=1,
                                              help="no turn starts after this; turns in flight get --grace more"),
            grace: float = typer.Option(30.0, "--grace", min=0, help="seconds for turns in flight at the end"),
            request_timeout: float = typer.Option(120.0, "--request-timeout", min=1),
            stream_share: float = typer.Option(0.5, "--stream-share", min=0, max=1,
                                               help="share of turns sent to /api/chat/stream"),
            ready_timeout: float = typer.Option(300.0, "--ready-timeout", help="wait for the server's /readyz"),
            json_out: Optional[Path] = typer.Option(None, "--json-out", help="write the report as JSON"),
            allow_remote: bool = typer.Option(False, "--allow-remote",
                                              help="allow a --base-url that is not loopback")) -> None:
    """Run concurrent chat sessions, report errors and latency, verify every session's history."""
    server = None
    if base_url:
        base_url = base_url.rstrip("/")
        host = urlparse(base_url).hostname or ""
        if host not in LOOPBACK and not allow_remote:
            typer.echo(f"error: {base_url} is not loopback; a load test runs against 127.0.0.1 "
                       f"(--allow-remote to override)", err=True)
            raise typer.Exit(2)
        typer.echo("note: the server's HTP_RATE_LIMIT_PER_MINUTE must allow the load (429s count as errors); "
                   "HTP_HISTORY_TURNS must be at least --turns", err=True)
    else:
        log = Path(os.environ.get("TMPDIR", "/tmp")) / f"htp-load-server-{os.getpid()}.log"
        server = LocalServer(load_env(turns=turns), log=log)
        typer.echo(f"starting `htp serve --no-build` on {server.base_url} (log: {log}) …", err=True)
        try:
            server.start(timeout=ready_timeout)
        except ServerError as e:
            server.stop()
            typer.echo(f"error: {e}\nBuild the index first with `htp index`.", err=True)
            raise typer.Exit(2)
        base_url = server.base_url
    try:
        report = run_load(base_url, sessions, turns, max_seconds, request_timeout, stream_share, grace)
    finally:
        if server is not None:
            server.stop()
    for line in report.lines():
        typer.echo(line)
    if json_out:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(report.to_dict(), ensure_ascii=False, indent=1), encoding="utf-8")
    raise typer.Exit(0 if report.ok else 1)


def main() -> None:  # pragma: no cover
    load_app()


if __name__ == "__main__":  # pragma: no cover
    main()
