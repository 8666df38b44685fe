"""Runs suites through ``Assistant.answer()`` (the entry point behind `htp ask --json`) and scores each answer.

Conversations: items linked by ``follow_up_of`` share one session, in file order, so a follow-up is answered
with its history exactly as in the chat; other items are answered without a session. ``as_of`` is per item
(else the run's date). Output: per-question records, aggregates overall and per slice, optional peers.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import platform
import secrets
import time
from pathlib import Path
from typing import Any, Sequence

from . import metrics as M
from .suite import Item

# Fixed frame text of extractive answers (assistant/compose.py): not claims, so not part of "support".
FRAME = ["Căn cứ pháp lý:", "Lưu ý:", "Theo", "Legal basis (quoted in the original Vietnamese):", "Notes:",
         "Under"]
HEADLINE = ["lead_correct", "acc@1", "recall@5", "mrr@10", "ndcg@10", "citation_precision", "citation_recall",
            "citation_validity", "currency", "refusal_precision", "refusal_recall", "support"]
BASELINE_METRICS = ["acc@1", "recall@5", "mrr@10"]


def limit_items(items: list[Item], n: int | None) -> list[Item]:
    """First n items of each suite; follow-ups whose conversation start was cut are dropped too."""
    if not n:
        return items
    out, per, kept = [], {}, set()
    for it in items:
        if per.get(it.suite, 0) >= n:
            continue
        if it.follow_up_of and f"{it.suite}:{it.follow_up_of}" not in kept:
            continue
        per[it.suite] = per.get(it.suite, 0) + 1
        kept.add(it.uid)
        out.append(it)
    return out


def _sessions(items: list[Item]) -> dict[str, str]:
    """uid → session id, for items that belong to a conversation (a chain of follow_up_of)."""
    root: dict[str, str] = {}
    for it in items:
        parent = f"{it.suite}:{it.follow_up_of}" if it.follow_up_of else None
        root[it.uid] = root.get(parent, parent) if parent else it.uid
    chained = {r for uid, r in root.items() if r != uid}
    token = secrets.token_hex(4)
    return {uid: f"eval-{token}-{hashlib.sha1(r.encode()).hexdigest()[:16]}"
            for uid, r in root.items() if r in chained}


@contextlib.contextmanager
def unseen(assistant, uid: str):
    """Answer as if the question were not in the ranker's question bank (its training suites are the bank's
    source): evaluation and fitting then see what other people's questions get."""
    retriever = getattr(assistant, "retriever", None)
    if retriever is None:  # an assistant without a bank (a stand-in in tests)
        yield
        return
    retriever.bank_exclude = frozenset({uid})
    try:
        yield
    finally:
        retriever.bank_exclude = frozenset()


def traced(assistant, items: list[Item], default_as_of, progress=None):
    """Each item answered as `htp eval run` would (follow-up chains share a session), with what the answer rests
    on: yields (item, trace), trace = [search result, verdict] (the fitting scripts' training rows)."""
    sessions = _sessions(list(items))
    for it in items:
        trace: list = []
        sid = sessions.get(it.uid)
        with unseen(assistant, it.uid):
            assistant.answer(it.question, session_id=sid, as_of=it.as_of or default_as_of, record=sid is not None,
                             trace=trace)
        if progress:
            progress()
        yield it, trace


def slices_of(rec: dict[str, Any]) -> list[str]:
    a = rec["answerable"]
    out = ["all", f"suite:{rec['suite']}", f"lang:{rec['lang']}",
           "answerable" if a else ("unanswerable" if a is False else "not-in-corpus")]
    if rec.get("follow_up_of"):
        out.append("follow-up")
    return out + [f"tag:{t}" for t in rec.get("tags", [])]


_SLICE_ORDER = ["all", "suite:", "lang:vi", "lang:vi-noaccent", "lang:en", "answerable", "unanswerable",
                "not-in-corpus", "follow-up", "tag:"]


def _slice_sort(name: str) -> tuple[int, str]:
    for i, p in enumerate(_SLICE_ORDER):
        if name == p or (p.endswith(":") and name.startswith(p)):
            return (i, name)
    return (len(_SLICE_ORDER), name)


class Runner:
    def __init__(self, assistant, baselines: bool = False, judge=None, k: int = 10):
        self.a = assistant
        self.k = k
        self.judge = judge
        self.peers: list = []
        self.peer_notes: list[str] = []
        if baselines:
            from .baselines import make_peers

            self.peers, self.peer_notes = make_peers(assistant)

    # -------------------------------------------------------------------------------------- one question
    def _exists(self, doc: str, article: str, clause: str | None) -> bool:
        d = self.a.corpus.get(doc)
        art = d.article(article) if d else None
        if art is None:
            return False
        return clause is None or any(c.number == clause for c in art.clauses)

    def _in_force(self, doc: str, article: str, as_of: dt.date) -> bool:
        from corpus.validity import in_force

        meta = self.a.catalog.by_number(doc)
        return in_force(meta, as_of, article) if meta else False

    def evaluate(self, it: Item, as_of: dt.date, session_id: str | None) -> dict[str, Any]:
        from assistant.query import parse_query

        rec: dict[str, Any] = {**it.to_json(), "uid": it.uid, "as_of": as_of.isoformat(), "reasons": [],
                               "error": None, "baselines": {}}
        gold = [g.key for g in it.relevant]
        t0 = time.perf_counter()
        try:
            with unseen(self.a, it.uid):
                ans = self.a.answer(it.question, session_id=session_id, as_of=as_of, k=self.k,
                                    record=session_id is not None)
        except Exception as e:  # one broken question must not stop the run; it is reported as a failure
            rec.update(latency_ms=(time.perf_counter() - t0) * 1000, error=f"{type(e).__name__}: {e}",
                       refused=None, retrieved=[], cited=[], answer="", mode="", rank=None, metrics={})
            rec["reasons"].append(f"error: {type(e).__name__}: {e}")
            return rec
        latency = (time.perf_counter() - t0) * 1000
        retrieved = [(r.document, r.article) for r in ans.retrieved]
        checks = [M.CitedCheck(c.document, c.article, self._exists(c.document, c.article, c.clause),
                               (c.document, c.article) in retrieved, c.in_force,
                               self._in_force(c.document, c.article, as_of)) for c in ans.citations]
        cited = [(c.document, c.article) for c in ans.citations]
        m: dict[str, float | None] = {}
        if it.answerable and gold:
            m.update({name: f(gold, retrieved) for name, f in M.RETRIEVAL.items()})
            m["citation_precision"] = M.citation_precision(gold, cited)
            m["citation_recall"] = M.citation_recall(gold, cited)
            # What the user reads first: the lead citation is a gold article (a refusal is a miss).
            m["lead_correct"] = 1.0 if cited and not ans.refused and cited[0] in gold else 0.0
        m["citation_validity"] = M.citation_validity(checks)
        m["currency"] = M.currency(checks, it.must_cite_current)
        quotes = [c.quote for c in ans.citations]
        frame = FRAME + [x for c in ans.citations for x in (c.citation, c.status_note, c.short)] + ans.notes
        m["support"] = None if ans.refused else M.support(ans.answer, quotes, frame)
        if self.judge is not None and not ans.refused:
            m["faithfulness"] = self.judge(it.question, ans.answer, quotes)
        rank = M.first_relevant_rank(gold, retrieved) if gold else None
        rec.update(latency_ms=round(latency, 1), timings_ms=ans.timings_ms, refused=ans.refused, mode=ans.mode,
                   rank=rank, metrics=m,
                   answer=ans.answer, search_query=ans.search_query, detected_language=ans.language,
                   retrieved=[{"document": r.document, "article": r.article, "clause": r.clause,
                               "score": r.score, "in_force": r.in_force, "relevant": (r.document, r.article) in gold}
                              for r in ans.retrieved],
                   cited=[{"document": c.document, "article": c.article, "clause": c.clause, "point": c.point,
                           "short": c.short, "in_force": c.in_force, "status_note": c.status_note,
                           "exists": ch.exists, "retrieved": ch.retrieved, "actually_in_force": ch.actually_in_force,
                           "relevant": (c.document, c.article) in gold}
                          for c, ch in zip(ans.citations, checks)])
        rec["reasons"] += self._reasons(it, rec, checks)
        q = ans.search_query or it.question  # the same (contextualised) query the product searched with
        # The peers that are the product's own channels rank with the question bank too: without `unseen`, a
        # training suite's question found itself there (stop 29: dense-only 0.901 Acc@1 against the product's
        # 0.861 on five training suites).
        with unseen(self.a, it.uid):
            for peer in self.peers:
                try:
                    keys = peer.search(q, parse_query(q, self.a.catalog), as_of, self.k)
                    rec["baselines"][peer.name] = {"retrieved": [list(k) for k in keys],
                                                   "rank": M.first_relevant_rank(gold, keys) if gold else None}
                except Exception as e:
                    rec["baselines"][peer.name] = {"retrieved": [], "rank": None, "error": str(e)}
        return rec

    def _reasons(self, it: Item, rec: dict, checks: list[M.CitedCheck]) -> list[str]:
        out = []
        gold = [g.key for g in it.relevant]
        if it.answerable and gold:
            r = rec["rank"]
            if r is None:
                out.append(f"no gold article in the top {self.k} retrieved")
            elif r > 5:
                out.append(f"first gold article at rank {r} (outside the top 5)")
            if rec["refused"]:
                out.append("refused an answerable question")
        if it.answerable is False and not rec["refused"]:
            out.append("answered an unanswerable question (cited " +
                       (", ".join(c["short"] for c in rec["cited"]) or "nothing") + ")")
        for c, ch in zip(rec["cited"], checks):
            if not ch.exists:
                out.append(f"citation {c['short']} is not in the corpus")
            elif not ch.retrieved:
                out.append(f"citation {c['short']} was not among the retrieved articles")
            if ch.presented_in_force and not ch.actually_in_force:
                out.append(f"citation {c['short']} is presented as in force but is not on {rec['as_of']}")
        if rec["metrics"].get("currency") == 0.0 and it.must_cite_current and not any(
                ch.presented_in_force and not ch.actually_in_force for ch in checks):
            first = next((c for c, ch in zip(rec["cited"], checks) if ch.actually_in_force), None)
            out.append(f"first in-force citation should be from {it.must_cite_current}, got "
                       f"{first['document'] if first else 'none'}")
        return out

    # -------------------------------------------------------------------------------------- the run
    def run(self, items: Sequence[Item], as_of: dt.date | None = None, progress: bool = True) -> dict[str, Any]:
        default_as_of = as_of or self.a.settings.today()
        sessions = _sessions(list(items))
        records: list[dict[str, Any]] = []
        t0 = time.perf_counter()
        bar = None
        if progress:
            from rich.console import Console
            from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn,
                                       TimeRemainingColumn)

            con = Console(stderr=True)
            bar = Progress(TextColumn("[bold]eval[/] {task.description}"), BarColumn(), MofNCompleteColumn(),
                           TimeElapsedColumn(), TimeRemainingColumn(), console=con)
            bar.start()
            task = bar.add_task("", total=len(items))
        try:
            for n, it in enumerate(items, 1):
                if bar:
                    bar.update(task, description=it.uid)
                records.append(self.evaluate(it, it.as_of or default_as_of, sessions.get(it.uid)))
                if bar:
                    bar.advance(task)
                    if not con.is_terminal and (n % 25 == 0 or n == len(items)):
                        # rich draws nothing live without a terminal: CI logs get a line now and then.
                        con.print(f"eval {n}/{len(items)} ({time.perf_counter() - t0:.0f} s)")
        finally:
            if bar:
                bar.stop()
        return self.results(records, default_as_of, time.perf_counter() - t0)

    def results(self, records: list[dict[str, Any]], as_of: dt.date, seconds: float) -> dict[str, Any]:
        gen = self.a.handle.generation()
        warnings = []
        for r in records:
            for g in r["relevant"]:
                if self.a.corpus.get(g["document"]) is not None and not self._exists(g["document"], g["article"],
                                                                                      None):
                    warnings.append(f"{r['source']}: gold Điều {g['article']} {g['document']} is not in the corpus")
        return {
            "meta": {"created": dt.datetime.now().isoformat(timespec="seconds"), "as_of": as_of.isoformat(),
                     "suites": sorted({r["suite"] for r in records}), "questions": len(records),
                     "seconds": round(seconds, 1), "generation": gen.manifest.generation,
                     "nodes": gen.manifest.node_count, "documents": gen.manifest.documents,
                     "mode": self.a.handle.mode, "judge": self.judge is not None, "host": platform.node(),
                     "peers": [p.name for p in self.peers], "peer_notes": self.peer_notes},
            "slices": aggregate(records, self.judge is not None),
            "baselines": aggregate_baselines(records) if self.peers else {},
            "warnings": warnings,
            "records": records,
        }


def aggregate(records: list[dict[str, Any]], judged: bool = False) -> dict[str, dict[str, Any]]:
    by: dict[str, list[dict]] = {}
    for r in records:
        for s in slices_of(r):
            by.setdefault(s, []).append(r)
    out = {}
    for name in sorted(by, key=_slice_sort):
        rs = by[name]
        ok = [r for r in rs if r["error"] is None]
        scored = [r for r in ok if r["answerable"] is not None]
        unans = [r["answerable"] is False for r in scored]
        refused = [bool(r["refused"]) for r in scored]
        lat = [r["latency_ms"] for r in ok]
        agg: dict[str, Any] = {"n": len(rs), "errors": len(rs) - len(ok),
                               "n_retrieval": sum(1 for r in ok if "acc@1" in r["metrics"])}
        for key in [*M.RETRIEVAL, "lead_correct", "citation_precision", "citation_recall", "citation_validity",
                    "currency", "support"]:
            agg[key] = M.mean(r["metrics"].get(key) for r in ok)
        agg["refusal_precision"] = M.refusal_precision(unans, refused)
        agg["refusal_recall"] = M.refusal_recall(unans, refused)
        agg["refusal_accuracy"] = M.refusal_accuracy(unans, refused)
        agg["refused_rate"] = M.mean(float(bool(r["refused"])) for r in ok) if ok else None
        agg["faithfulness"] = M.mean(r["metrics"].get("faithfulness") for r in ok) if judged else "n/a"
        agg["latency_p50_ms"] = M.percentile(lat, 50)
        agg["latency_p95_ms"] = M.percentile(lat, 95)
        out[name] = agg
    return out


def aggregate_baselines(records: list[dict[str, Any]]) -> dict[str, dict[str, dict[str, Any]]]:
    """system → slice → Acc@1/R@5/MRR@10 on the questions with gold articles, the product included."""
    systems: dict[str, dict[str, list]] = {}
    for r in records:
        if not (r["answerable"] and r["relevant"]) or r["error"]:
            continue
        gold = [(g["document"], g["article"]) for g in r["relevant"]]
        runs = {"product": [(x["document"], x["article"]) for x in r["retrieved"]]}
        runs.update({name: [tuple(k) for k in b["retrieved"]] for name, b in r["baselines"].items()})
        for system, keys in runs.items():
            for s in slices_of(r):
                systems.setdefault(system, {}).setdefault(s, []).append((gold, keys))
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for system, sl in systems.items():
        out[system] = {}
        for s in sorted(sl, key=_slice_sort):
            pairs = sl[s]
            out[system][s] = {"n": len(pairs), **{m: M.mean(M.RETRIEVAL[m](g, k) for g, k in pairs)
                                                  for m in BASELINE_METRICS}}
    return out


# ---------------------------------------------------------------------------------------------- gate
def parse_threshold(spec: str) -> tuple[str, str, float]:
    """'recall@5=0.8' → ('all', 'recall@5', 0.8); 'lang:en/recall@5=0.5' → ('lang:en', 'recall@5', 0.5)."""
    key, sep, value = spec.partition("=")
    if not sep:
        raise ValueError(f"threshold '{spec}' must look like metric=value (e.g. recall@5=0.8)")
    slice_, _, metric = key.strip().rpartition("/")
    try:
        v = float(value)
    except ValueError:
        raise ValueError(f"threshold '{spec}': '{value}' is not a number") from None
    return slice_ or "all", metric, v


def check_thresholds(results: dict[str, Any], specs: list[str]) -> list[str]:
    """Violations, as readable lines (empty when every threshold holds)."""
    out = []
    for spec in specs:
        slice_, metric, want = parse_threshold(spec)
        agg = results["slices"].get(slice_)
        if agg is None:
            out.append(f"{slice_}/{metric}: no such slice in this run")
            continue
        if metric not in agg:
            out.append(f"{metric}: unknown metric (known: {', '.join(k for k in agg if k not in ('n', 'errors'))})")
            continue
        got = agg[metric]
        if not isinstance(got, (int, float)):
            out.append(f"{slice_}/{metric} is n/a, required ≥ {want}")
        elif got < want - 1e-9:
            out.append(f"{slice_}/{metric} = {got:.4f} < {want}")
    return out


# ---------------------------------------------------------------------------------------------- output
def write_outputs(results: dict[str, Any], out_dir: Path | str) -> tuple[Path, Path]:
    from .report import render_report

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    jp, hp = out / "results.json", out / "report.html"
    jp.write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")
    hp.write_text(render_report(results), encoding="utf-8")
    return jp, hp
