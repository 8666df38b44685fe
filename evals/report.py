"""Self-contained HTML report of an evaluation run: inline CSS, inline SVG plots, no scripts needed to read it."""
from __future__ import annotations

import html
import math
from typing import Any, Sequence

PALETTE = ["#2563eb", "#f59e0b", "#10b981", "#8b5cf6", "#ef4444", "#64748b"]
SLICE_COLS = [("n", "n"), ("acc@1", "Acc@1"), ("recall@5", "R@5"), ("recall@10", "R@10"), ("mrr@10", "MRR@10"),
              ("ndcg@10", "nDCG@10"), ("citation_precision", "Cit. P"), ("citation_recall", "Cit. R"),
              ("citation_validity", "Cit. valid"), ("currency", "Currency"), ("refusal_precision", "Refusal P"),
              ("refusal_recall", "Refusal R"), ("refused_rate", "Refused"), ("support", "Support"),
              ("faithfulness", "Faithful"),
              ("latency_p50_ms", "p50 ms"), ("latency_p95_ms", "p95 ms")]
NEUTRAL = {"refused_rate"}  # neither high nor low is good in itself: not shaded
CARDS = [("acc@1", "Acc@1"), ("recall@5", "Recall@5"), ("mrr@10", "MRR@10"), ("ndcg@10", "nDCG@10"),
         ("citation_precision", "Citation precision"), ("citation_recall", "Citation recall"),
         ("citation_validity", "Citation validity"), ("currency", "Currency"),
         ("refusal_precision", "Refusal precision"), ("refusal_recall", "Refusal recall"), ("support", "Support"),
         ("faithfulness", "Faithfulness (LLM)"), ("latency_p50_ms", "Latency p50"), ("latency_p95_ms", "Latency p95")]

CSS = """
*{box-sizing:border-box}body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1e293b;
margin:0;background:#f8fafc}main{max-width:1320px;margin:0 auto;padding:24px 28px 60px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:30px 0 10px;padding-bottom:4px;border-bottom:1px solid #e2e8f0}
.meta{color:#64748b;font-size:13px}.cards{display:grid;grid-template-columns:repeat(7,1fr);gap:10px;margin-top:16px}
.card{background:#fff;border:1px solid #e2e8f0;border-radius:8px;padding:9px 12px}.card .v{font-size:20px;font-weight:600}
.card .l{color:#64748b;font-size:12px}table{border-collapse:collapse;background:#fff;width:100%;font-size:12.5px}
th,td{border:1px solid #e2e8f0;padding:4px 6px;text-align:right;white-space:nowrap}th{background:#f1f5f9;font-weight:600}
td:first-child,th:first-child{text-align:left}.plots{display:flex;flex-wrap:wrap;gap:18px}
.plot{background:#fff;border:1px solid #e2e8f0;border-radius:8px;padding:10px}.plot h3{margin:0 0 6px;font-size:14px}
.q{background:#fff;border:1px solid #e2e8f0;border-radius:8px;overflow:hidden}
.qh,.q summary{display:grid;grid-template-columns:150px 92px 70px 50px 60px 60px 56px 1fr;gap:8px;padding:5px 10px;
align-items:center}.qh{background:#f1f5f9;font-weight:600;font-size:13px}.q details{border-top:1px solid #eef2f7}
.q summary{cursor:pointer;list-style:none;font-size:13px}.q summary::-webkit-details-marker{display:none}
.q summary:hover{background:#f8fafc}.q details[open] summary{background:#eff6ff}.q .qt{overflow:hidden;
text-overflow:ellipsis;white-space:nowrap}.body{padding:8px 14px 14px 24px;display:grid;grid-template-columns:1fr 1fr;
gap:6px 24px;font-size:13px}.body .full{grid-column:1/3}.body h4{margin:6px 0 2px;font-size:12px;color:#64748b;
text-transform:uppercase;letter-spacing:.03em}.body ol,.body ul{margin:0;padding-left:20px}
.badge{display:inline-block;border-radius:10px;padding:0 8px;font-size:12px;font-weight:600;text-align:center}
.pass{background:#dcfce7;color:#166534}.fail{background:#fee2e2;color:#991b1b}.info{background:#e0e7ff;color:#3730a3}
.hit{color:#166534;font-weight:600}.why{color:#991b1b}pre{white-space:pre-wrap;background:#f8fafc;border:1px solid #e2e8f0;
padding:8px;border-radius:6px;max-height:260px;overflow:auto;font-size:12px;margin:0}.muted{color:#94a3b8}
.legend{font-size:12px;color:#475569}.note{color:#64748b;font-size:12px;margin:6px 0}
"""


def esc(x: Any) -> str:
    return html.escape(str(x), quote=True)


def fmt(v: Any, key: str = "") -> str:
    if v is None:
        return "—"
    if isinstance(v, str):
        return v
    if key.startswith("latency"):
        return f"{v:.0f}"
    if key in ("n", "errors", "n_retrieval") or isinstance(v, int):
        return str(v)
    return f"{v:.3f}"


def _cell(v: Any, key: str) -> str:
    """A metric cell shaded from red (0) to green (1) so weak slices stand out at a glance."""
    if isinstance(v, float) and key not in NEUTRAL and not key.startswith("latency") and 0 <= v <= 1:
        hue = int(120 * v)
        return f'<td style="background:hsl({hue},70%,93%)">{fmt(v, key)}</td>'
    return f"<td>{fmt(v, key)}</td>"


# ---------------------------------------------------------------------------------------------- SVG
def svg_hbars(categories: Sequence[str], series: Sequence[tuple[str, Sequence[float | None]]], width: int = 600,
              bar: int = 9, label_w: int = 150) -> str:
    """Horizontal grouped bars on [0, 1]: one group per category, one bar per series."""
    gap, top, bottom = 10, 26, 22
    group = bar * len(series) + gap
    h = top + group * len(categories) + bottom
    plot_w = width - label_w - 40
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{h}" font-size="11" '
             f'font-family="system-ui,sans-serif">']
    x = label_w
    for i, (name, _) in enumerate(series):  # legend, spaced by label length
        parts.append(f'<rect x="{x}" y="6" width="10" height="10" fill="{PALETTE[i % len(PALETTE)]}"/>'
                     f'<text x="{x + 14}" y="15" fill="#334155">{esc(name)}</text>')
        x += 30 + 6.5 * len(name)
    for t in (0, 0.25, 0.5, 0.75, 1.0):
        x = label_w + t * plot_w
        parts.append(f'<line x1="{x:.1f}" y1="{top - 4}" x2="{x:.1f}" y2="{h - bottom}" stroke="#e2e8f0"/>'
                     f'<text x="{x:.1f}" y="{h - 8}" text-anchor="middle" fill="#64748b">{t:g}</text>')
    for ci, cat in enumerate(categories):
        y0 = top + ci * group
        parts.append(f'<text x="{label_w - 6}" y="{y0 + bar * len(series) / 2 + 4:.1f}" text-anchor="end" '
                     f'fill="#1e293b">{esc(cat)}</text>')
        for si, (name, vals) in enumerate(series):
            v = vals[ci]
            y = y0 + si * bar
            if v is None:
                continue
            w = max(0.0, min(1.0, v)) * plot_w
            parts.append(f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{bar - 1}" '
                         f'fill="{PALETTE[si % len(PALETTE)]}"><title>{esc(cat)} · {esc(name)}: {v:.3f}</title></rect>')
            if bar >= 9:  # value labels only where they do not overlap
                parts.append(f'<text x="{label_w + w + 3:.1f}" y="{y + bar - 1.5}" fill="#475569" font-size="9">'
                             f'{v:.2f}</text>')
    parts.append("</svg>")
    return "".join(parts)


def svg_columns(labels: Sequence[str], counts: Sequence[int], width: int = 420, height: int = 210,
                color: str = PALETTE[0], xlabel: str = "") -> str:
    """Vertical bars with counts (histograms, rank distribution)."""
    left, right, top, bottom = 34, 10, 12, 40
    n = max(1, len(labels))
    pw, ph = width - left - right, height - top - bottom
    cmax = max([*counts, 1])
    step = 10 ** math.floor(math.log10(cmax)) if cmax >= 10 else 1
    ticks = list(range(0, cmax + 1, max(1, step * (2 if cmax / step > 5 else 1))))
    bw = pw / n
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-size="10" '
             f'font-family="system-ui,sans-serif">']
    for t in ticks:
        y = top + ph - t / cmax * ph
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" stroke="#e2e8f0"/>'
                     f'<text x="{left - 4}" y="{y + 3:.1f}" text-anchor="end" fill="#64748b">{t}</text>')
    for i, (lab, c) in enumerate(zip(labels, counts)):
        x = left + i * bw
        bh = c / cmax * ph
        parts.append(f'<rect x="{x + 1.5:.1f}" y="{top + ph - bh:.1f}" width="{max(1.0, bw - 3):.1f}" '
                     f'height="{bh:.1f}" fill="{color}"><title>{esc(lab)}: {c}</title></rect>')
        if c:
            parts.append(f'<text x="{x + bw / 2:.1f}" y="{top + ph - bh - 3:.1f}" text-anchor="middle" '
                         f'fill="#334155">{c}</text>')
        if n <= 14 or i % 2 == 0:
            parts.append(f'<text x="{x + bw / 2:.1f}" y="{top + ph + 13}" text-anchor="middle" '
                         f'fill="#475569">{esc(lab)}</text>')
    parts.append(f'<text x="{left + pw / 2}" y="{height - 6}" text-anchor="middle" fill="#334155">{esc(xlabel)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def latency_hist(lat: Sequence[float], bins: int = 14) -> tuple[list[str], list[int]]:
    if not lat:
        return [], []
    hi = max(lat)
    width = max(1.0, hi / bins)
    # Round bin width to a readable number of milliseconds.
    mag = 10 ** math.floor(math.log10(width))
    width = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= width)
    n = int(hi // width) + 1
    counts = [0] * n
    for v in lat:
        counts[min(n - 1, int(v // width))] += 1
    return [f"{i * width:g}" for i in range(n)], counts


# ---------------------------------------------------------------------------------------------- sections
def _keys(items: list[dict]) -> str:
    return ", ".join(f"Đ{g['article']}{'.' + g['clause'] if g.get('clause') else ''} {g['document']}"
                     for g in items) or '<span class="muted">none</span>'


def _question(r: dict, open_: bool = False) -> str:
    reasons = r.get("reasons") or []
    a = r["answerable"]
    if r.get("error"):
        status = '<span class="badge fail">error</span>'
    elif a is None:
        status = '<span class="badge info">info</span>' if not reasons else '<span class="badge fail">fail</span>'
    else:
        status = '<span class="badge fail">fail</span>' if reasons else '<span class="badge pass">pass</span>'
    rank = r.get("rank")
    rank_s = str(rank) if rank else ("—" if not r["relevant"] else '<span class="why">miss</span>')
    refused = "yes" if r.get("refused") else "no"
    exp = "answer" if a else ("refuse" if a is False else "?")
    summary = (f'<summary><span>{esc(r["uid"])}</span><span>{esc(r["lang"])}</span><span>{status}</span>'
               f'<span>{rank_s}</span><span>{exp}</span><span>{refused}</span>'
               f'<span>{fmt(r.get("latency_ms"), "latency")}</span><span class="qt">{esc(r["question"])}</span></summary>')
    retrieved = "".join(
        f'<li class="{"hit" if x["relevant"] else ""}">Đ{esc(x["article"])}{"." + esc(x["clause"]) if x.get("clause") else ""}'
        f' {esc(x["document"])} <span class="muted">{x["score"]:.3f}{"" if x["in_force"] else " · out of force"}</span></li>'
        for x in r.get("retrieved", []))
    cited = "".join(
        f'<li class="{"hit" if c["relevant"] else ""}">{esc(c["short"])} — {esc(c["status_note"])}'
        f'{"" if c["exists"] and c["retrieved"] else " <span class=why>(invalid)</span>"}</li>'
        for c in r.get("cited", []))
    why = "".join(f"<li>{esc(x)}</li>" for x in reasons) or '<li class="muted">nothing: passed</li>'
    peers = "".join(f"<li>{esc(n)}: rank {b['rank'] or '—'}</li>" for n, b in r.get("baselines", {}).items())
    extra = []
    if r.get("follow_up_of"):
        extra.append(f"follow-up of {esc(r['follow_up_of'])}; searched as: {esc(r.get('search_query', ''))}")
    if r.get("must_cite_current"):
        extra.append(f"must cite current: {esc(r['must_cite_current'])}")
    cited_html = f"<ol>{cited}</ol>" if cited else '<div class="muted">nothing</div>'
    peers_html = f"<h4>Peers (rank of first gold)</h4><ul>{peers}</ul>" if peers else ""
    retrieved_html = f"<ol>{retrieved}</ol>" if retrieved else '<div class="muted">nothing</div>'
    note = " · ".join([esc(r["source"]), "as of " + esc(r["as_of"]), *extra])
    body = "".join([
        f'<div class="body"><div class="full"><h4>Question</h4>{esc(r["question"])}<div class="note">{note}</div></div>',
        f'<div><h4>Gold</h4>{_keys(r["relevant"])}<h4>Why it failed</h4><ul class="why">{why}</ul>',
        f"<h4>Cited</h4>{cited_html}{peers_html}</div>",
        f"<div><h4>Retrieved (gold in green)</h4>{retrieved_html}</div>",
        f'<div class="full"><h4>Answer</h4><pre>{esc(r.get("answer", ""))}</pre></div></div>'])
    return f"<details{' open' if open_ else ''}>{summary}{body}</details>"


def render_report(results: dict[str, Any]) -> str:
    meta, slices, records = results["meta"], results["slices"], results["records"]
    allm = slices.get("all", {})
    cards = "".join(f'<div class="card"><div class="v">{fmt(allm.get(k), k)}{" ms" if k.startswith("latency") and allm.get(k) is not None else ""}'
                    f'</div><div class="l">{esc(lab)}</div></div>' for k, lab in CARDS)
    head = "".join(f"<th>{esc(lab)}</th>" for _, lab in SLICE_COLS)
    rows = "".join(f"<tr><td>{esc(s)}</td>" + "".join(_cell(m.get(k), k) for k, _ in SLICE_COLS) + "</tr>"
                   for s, m in slices.items())
    main_slices = [s for s in slices if slices[s].get("n_retrieval")]
    slice_plot = svg_hbars(main_slices, [(lab, [slices[s].get(k) for s in main_slices])
                                         for k, lab in (("acc@1", "Acc@1"), ("recall@5", "Recall@5"),
                                                        ("mrr@10", "MRR@10"))])
    quality_slices = list(slices)
    quality_plot = svg_hbars(quality_slices, [(lab, [slices[s].get(k) if isinstance(slices[s].get(k), float) else None
                                                     for s in quality_slices])
                                              for k, lab in (("citation_validity", "Cit. validity"),
                                                             ("currency", "Currency"),
                                                             ("refusal_accuracy", "Refusal acc."))])
    lat = [r["latency_ms"] for r in records if r.get("latency_ms") is not None and not r.get("error")]
    hl, hc = latency_hist(lat)
    ranks = [r.get("rank") for r in records if r["answerable"] and r["relevant"] and not r.get("error")]
    rank_labels = [str(i) for i in range(1, 11)] + ["none"]
    rank_counts = [sum(1 for x in ranks if x == i) for i in range(1, 11)] + [sum(1 for x in ranks if x is None)]
    base_html = _baselines(results)
    warn = "".join(f"<li>{esc(w)}</li>" for w in results.get("warnings", []))
    failures = sum(1 for r in records if r.get("reasons"))
    # The first failure is shown open, as an example of what a row holds.
    first_fail = next((r["uid"] for r in records if r.get("reasons")), None)
    questions = "".join(_question(r, r["uid"] == first_fail) for r in records)
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>htp-assistant evaluation — {esc(', '.join(meta['suites']))}</title><style>{CSS}</style></head><body><main>
<h1>Answer-quality evaluation</h1>
<div class="meta">Suites {esc(', '.join(meta['suites']))} · {meta['questions']} questions · index {esc(meta['generation'])}
({meta['documents']} documents, {meta['nodes']} nodes, {esc(meta['mode'])}) · default as-of {esc(meta['as_of'])}
· run {esc(meta['created'])} in {meta['seconds']} s</div>
<div class="cards">{cards}</div>
<h2>By slice</h2>
<p class="note">Retrieval metrics are article level over questions with gold articles (n retrieval = {allm.get('n_retrieval', 0)}
overall); refusal metrics treat a refusal as the positive class; "—" = undefined for the slice.
Faithfulness is LLM-judged and "n/a" without HTP_LLM_BASE_URL.</p>
<table><tr><th>slice</th>{head}</tr>{rows}</table>
<div class="plots" style="margin-top:14px">
<div class="plot"><h3>Retrieval per slice</h3>{slice_plot}</div>
<div class="plot"><h3>Citations, currency and refusals per slice</h3>{quality_plot}</div>
</div>
{base_html}
<h2>Distributions</h2><div class="plots">
<div class="plot"><h3>Latency of Assistant.answer() (ms)</h3>{svg_columns(hl, hc, xlabel="milliseconds (bin start)")}</div>
<div class="plot"><h3>Rank of the first gold article</h3>{svg_columns(rank_labels, rank_counts, color=PALETTE[2], xlabel="rank (answerable questions)")}</div>
</div>
{f'<h2>Suite warnings</h2><ul>{warn}</ul>' if warn else ''}
<h2>Questions <span class="meta">({failures} with a failure reason; click a row for details)</span></h2>
<div class="q"><div class="qh"><span>id</span><span>lang</span><span>status</span><span>rank</span><span>expect</span>
<span>refused</span><span>ms</span><span>question</span></div>{questions}</div>
</main></body></html>"""


def _baselines(results: dict[str, Any]) -> str:
    base = results.get("baselines") or {}
    if not base:
        return ""
    systems = list(base)
    slices = [s for s in base.get("product", {})]
    # Rows are slices, column groups are systems: fits the page however many slices a run has.
    head = "".join(f'<th colspan="3">{"<b>product</b> (answers)" if x == "product" else esc(x)}</th>' for x in systems)
    sub = "".join("<th>Acc@1</th><th>R@5</th><th>MRR</th>" for _ in systems)
    rows = ""
    for s in slices:
        cells = "".join(_cell(base[x].get(s, {}).get(k), k) for x in systems for k in ("acc@1", "recall@5", "mrr@10"))
        rows += f'<tr><td>{esc(s)} <span class="muted">n={base["product"][s]["n"]}</span></td>{cells}</tr>'
    plot = svg_hbars(slices, [(sys_, [base[sys_].get(s, {}).get("recall@5") for s in slices]) for sys_ in systems],
                     width=900, bar=7)
    notes = "".join(f"<li>{esc(n)}</li>" for n in results["meta"].get("peer_notes", []))
    return f"""<h2>Product vs retrieval-only peers</h2>
<p class="note">Same index nodes, same (contextualised) query, aggregated to articles the same way. bm25s-default: bm25s
with its default tokenizer; bm25-underthesea: underthesea words only, no accent-folded features; dense-only /
lexical-only: the product's retriever with one channel off.</p>{f'<ul class="note">{notes}</ul>' if notes else ''}
<div style="overflow-x:auto"><table><tr><th rowspan="2">slice</th>{head}</tr><tr>{sub}</tr>{rows}</table></div>
<div class="plot" style="margin-top:14px"><h3>Recall@5 per slice</h3>{plot}</div>"""
