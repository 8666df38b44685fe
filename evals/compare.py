"""Compare two runs (results.json): metric deltas per slice, and the questions that regressed.

A regression is a question, present in both runs, that was a hit@5 and is now a miss, or whose refusal
decision was right and is now wrong.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .report import CSS, esc, fmt

METRICS = ["acc@1", "recall@5", "mrr@10", "ndcg@10", "citation_precision", "citation_recall", "citation_validity",
           "currency", "refusal_precision", "refusal_recall", "support", "latency_p50_ms", "latency_p95_ms"]
LOWER_IS_BETTER = {"latency_p50_ms", "latency_p95_ms"}


def load(path: Path | str) -> dict[str, Any]:
    p = Path(path)
    if p.is_dir():
        p = p / "results.json"
    return json.loads(p.read_text(encoding="utf-8"))


def _hit5(r: dict) -> bool | None:
    if not (r.get("answerable") and r.get("relevant")) or r.get("error"):
        return None
    return r.get("rank") is not None and r["rank"] <= 5


def _refusal_ok(r: dict) -> bool | None:
    if r.get("answerable") is None or r.get("error"):
        return None
    return bool(r.get("refused")) == (r["answerable"] is False)


def compare(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    deltas: dict[str, dict[str, tuple]] = {}
    for s in [s for s in b["slices"] if s in a["slices"]]:
        row = {}
        for m in METRICS:
            va, vb = a["slices"][s].get(m), b["slices"][s].get(m)
            d = vb - va if isinstance(va, (int, float)) and isinstance(vb, (int, float)) else None
            row[m] = (va, vb, d)
        deltas[s] = row
    ra = {r["uid"]: r for r in a["records"]}
    regressed, improved = [], []
    for r in b["records"]:
        old = ra.get(r["uid"])
        if old is None:
            continue
        why = []
        good = []
        h0, h1 = _hit5(old), _hit5(r)
        if h0 and h1 is False:
            why.append(f"was hit@5 (rank {old['rank']}), now {'rank ' + str(r['rank']) if r['rank'] else 'miss'}")
        if h0 is False and h1:
            good.append(f"now hit@5 (rank {r['rank']})")
        f0, f1 = _refusal_ok(old), _refusal_ok(r)
        if f0 and f1 is False:
            why.append("refusal was right, now wrong (" + ("refused" if r["refused"] else "answered") + ")")
        if f0 is False and f1:
            good.append("refusal now right")
        if why:
            regressed.append({"uid": r["uid"], "question": r["question"], "why": why})
        if good:
            improved.append({"uid": r["uid"], "question": r["question"], "why": good})
    return {"a": a["meta"], "b": b["meta"], "deltas": deltas, "regressed": regressed, "improved": improved,
            "only_a": sorted(set(ra) - {r["uid"] for r in b["records"]}),
            "only_b": sorted({r["uid"] for r in b["records"]} - set(ra))}


def _good(m: str, d: float) -> bool:
    return d < 0 if m in LOWER_IS_BETTER else d > 0


def print_table(c: dict[str, Any], slices: list[str] | None = None) -> None:
    import sys

    from rich.console import Console
    from rich.table import Table

    con = Console(width=None if sys.stdout.isatty() else 200)
    shown = ["acc@1", "recall@5", "mrr@10", "citation_validity", "currency", "refusal_recall", "support",
             "latency_p50_ms"]
    t = Table(title=f"{c['a']['created']} → {c['b']['created']}")
    t.add_column("slice")
    for m in shown:
        t.add_column(m, justify="right")
    for s, row in c["deltas"].items():
        if slices and s not in slices:
            continue
        cells = []
        for m in shown:
            va, vb, d = row[m]
            if d is None:
                cells.append(fmt(vb, m))
            else:
                style = "green" if _good(m, d) else ("red" if d else "")
                sign = f"{d:+.0f}" if m.startswith("latency") else f"{d:+.3f}"
                cells.append(f"{fmt(vb, m)} [{style}]{sign}[/]" if style else f"{fmt(vb, m)} {sign}")
        t.add_row(s, *cells)
    con.print(t)
    con.print(f"[bold red]{len(c['regressed'])} regressed[/], [green]{len(c['improved'])} improved[/]")
    for r in c["regressed"]:
        con.print(f"  [red]✗[/] {r['uid']}: {'; '.join(r['why'])} — {r['question'][:90]}")


def render_html(c: dict[str, Any]) -> str:
    head = "".join(f"<th>{esc(m)}</th>" for m in METRICS)
    rows = ""
    for s, row in c["deltas"].items():
        cells = ""
        for m in METRICS:
            va, vb, d = row[m]
            if d is None or abs(d) < 1e-9:
                cells += f"<td>{fmt(vb, m)}</td>"
            else:
                color = "#166534" if _good(m, d) else "#991b1b"
                sign = f"{d:+.0f}" if m.startswith("latency") else f"{d:+.3f}"
                cells += f'<td>{fmt(vb, m)} <span style="color:{color}">{sign}</span></td>'
        rows += f"<tr><td>{esc(s)}</td>{cells}</tr>"

    def lst(xs: list[dict]) -> str:
        return "".join(f"<li><b>{esc(x['uid'])}</b>: {esc('; '.join(x['why']))} — {esc(x['question'])}</li>"
                       for x in xs) or "<li class=muted>none</li>"

    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Evaluation diff</title>
<style>{CSS}</style></head><body><main><h1>Evaluation diff</h1>
<div class="meta">A: {esc(c['a']['created'])} ({esc(c['a']['generation'])}) → B: {esc(c['b']['created'])}
({esc(c['b']['generation'])}); values are B, deltas B − A</div>
<h2>Metrics</h2><div style="overflow-x:auto"><table><tr><th>slice</th>{head}</tr>{rows}</table></div>
<h2>Regressed ({len(c['regressed'])})</h2><ul class="why">{lst(c['regressed'])}</ul>
<h2>Improved ({len(c['improved'])})</h2><ul>{lst(c['improved'])}</ul>
<p class="note">Only in A: {len(c['only_a'])} · only in B: {len(c['only_b'])}</p></main></body></html>"""
