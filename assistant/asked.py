"""What kind of figure does the question ask for, and does the evidence state one?

Investors often ask for a fine, a fee or a tax bracket. The corpus holds the laws that grant incentives and set
procedures, not the sanction decrees, fee circulars or personal income tax schedules: a question "how much is the
fine for …" retrieves the article that forbids the act, which does not answer it. When the question asks for one
of these figures and none of the provisions found mentions it, the honest answer is that the corpus does not
state it (refusal reason ``not_stated``).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from indexing.text import fold


@dataclass(frozen=True)
class AskedConcept:
    name: str
    question: re.Pattern  # matched on the folded, lower-cased question
    evidence: re.Pattern  # matched on the folded, lower-cased provisions
    label_vi: str
    label_en: str


def _rx(p: str) -> re.Pattern:
    return re.compile(p, re.I)


CONCEPTS = [
    AskedConcept("penalty", _rx(r"\b(muc phat|phat tien|bi phat|xu phat|phat bao nhieu|fines?|fined|penalt(y|ies))\b"),
                 _rx(r"\bphat\b"), "mức xử phạt", "the penalty"),
    AskedConcept("fee", _rx(r"\b(le phi|phi bao nhieu|muc phi|fees?)\b"), _rx(r"\bphi\b"),
                 "mức phí, lệ phí", "the fee"),
    AskedConcept("progressive_tax", _rx(r"\b(luy tien|progressive)\b"), _rx(r"\bluy tien\b"),
                 "biểu thuế lũy tiến", "the progressive tax schedule"),
]


def unstated(question: str, evidence_texts: list[str]) -> AskedConcept | None:
    """The concept the question asks for that none of the evidence texts mentions, if any."""
    q = fold(question).lower()
    asked = [c for c in CONCEPTS if c.question.search(q)]
    if not asked:
        return None
    ev = fold(" ".join(evidence_texts)).lower()
    return next((c for c in asked if not c.evidence.search(ev)), None)
