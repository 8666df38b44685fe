"""Paraphrase consistency: each core fact asked many ways (word order, park names, abbreviations, no diacritics,
English) should lead with the same provision and state the fact.

`evals/suites/paraphrase.jsonl` tags every question with its fact (`fact:<name>`);
`evals/suites/paraphrase.facts.yaml` gives, per fact, the provision that states it and a regular expression
found only in an answer that states the value (tried on the answer as is and with diacritics folded).
"""
from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from pathlib import Path

import yaml

from indexing.text import fold

from .suite import REPO, load_suites

SUITE = REPO / "evals" / "suites" / "paraphrase.jsonl"
FACTS = REPO / "evals" / "suites" / "paraphrase.facts.yaml"


def load_facts(path: Path = FACTS) -> dict[str, re.Pattern]:
    d = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return {k: re.compile(v["states"], re.I) for k, v in d.items()}


def states(rx: re.Pattern, text: str) -> bool:
    return bool(rx.search(text) or rx.search(fold(text)))


def run(assistant, as_of: dt.date | None = None) -> dict:
    facts = load_facts()
    items = load_suites([SUITE])
    rows = []
    for it in items:
        fact = next(t for t in it.tags if t.startswith("fact:"))
        ans = assistant.answer(it.question, as_of=it.as_of or as_of, record=False)
        lead = (ans.citations[0].document, ans.citations[0].article) if ans.citations else None
        gold = {g.key for g in it.relevant}
        rows.append({"id": it.id, "fact": fact, "lang": it.lang, "lead": lead, "lead_gold": lead in gold,
                     "states": (not ans.refused) and states(facts[fact], ans.answer), "refused": ans.refused})
    by_fact: dict[str, dict] = {}
    for fact in sorted({r["fact"] for r in rows}):
        rs = [r for r in rows if r["fact"] == fact]
        mode, count = Counter(r["lead"] for r in rs).most_common(1)[0]
        by_fact[fact] = {"n": len(rs), "same_lead": count / len(rs), "modal_lead": mode,
                         "lead_gold": sum(r["lead_gold"] for r in rs) / len(rs),
                         "states": sum(r["states"] for r in rs) / len(rs)}
    n = len(rows) or 1
    summary = {"questions": len(rows),
               "same_lead": sum(f["same_lead"] * f["n"] for f in by_fact.values()) / n,
               "lead_gold": sum(r["lead_gold"] for r in rows) / n,
               "states": sum(r["states"] for r in rows) / n,
               "refused": sum(r["refused"] for r in rows) / n}
    return {"summary": summary, "facts": by_fact, "rows": rows}
