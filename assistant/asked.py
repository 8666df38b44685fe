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


# "mấy năm", "bao nhiêu ngày", "thuế suất bao nhiêu", "how many years": the question asks for a quantity, and the
# clause that states one ("miễn thuế tối đa 04 năm") answers it better than one that only talks about it.
_NUM = r"\b(\d+([.,]\d+)?|mot|hai|ba|bon|nam|sau|bay|tam|chin|muoi|muoi lam)"
_PAREN = r"(\s*\([^)]{0,30}\))?"  # "15 (mười lăm) năm"
_TIME_STATED = _NUM + _PAREN + r"\s+(ngay|thang|nam)\b|toan bo thoi (gian|han)"
_QUANTITIES: list[tuple[re.Pattern, re.Pattern]] = [
    (_rx(r"\b(may|bao nhieu) nam\b|how many years"), _rx(_NUM + _PAREN + r"\s+nam\b|toan bo thoi (gian|han)")),
    (_rx(r"\b(may|bao nhieu) thang\b|how many months"), _rx(_NUM + _PAREN + r"\s+thang\b")),
    (_rx(r"\b(may|bao nhieu) ngay\b|how many days"), _rx(_NUM + _PAREN + r"\s+ngay\b")),
    (_rx(r"\b(may|bao nhieu) gio\b|how many hours"), _rx(_NUM + _PAREN + r"\s+gio\b")),
    (_rx(r"\bbao lau\b|how long|thoi han (la )?bao nhieu"), _rx(_TIME_STATED)),
    (_rx(r"\b(bao nhieu|may) (phan tram|%)|(thue suat|ty le)\b.{0,60}\bbao nhieu|muc thue suat|what (tax )?rate"
         r"|\b(tax|cit|income tax|preferential|incentive) rates?\b|percentage"),
     _rx(r"\d+([.,]\d+)?\s*%")),
    (_rx(r"\bbao nhieu (tien|dong|trieu|ty)|(muc|so tien) ho tro\b.{0,40}\bbao nhieu|how much"),
     _rx(r"\d+([.,]\d+)*\s*(dong|trieu|ty|nghin|%)")),
]


# Dates are not quantities: "trước ngày 01 tháng 7 năm 2026", "sau năm 2025".
_DATES = re.compile(r"\b(ngay \d{1,2} thang \d{1,2} nam \d{4}|thang \d{1,2} nam \d{4}|(sau |truoc |tu )?nam \d{4}"
                    r"|\d{1,2}/\d{1,2}/\d{4}|\d{4})\b")


def asked_quantity(question: str) -> list[re.Pattern]:
    """The patterns of the quantities the question asks for (matched on folded, lower-cased text)."""
    q = fold(question).lower()
    return [ev for ask, ev in _QUANTITIES if ask.search(q)]


def states(quantities: list[re.Pattern], text: str, head: int = 100) -> bool:
    """Whether the text states one of the quantities asked where a provision sets it: at the head of the clause
    or of one of its points ("Miễn thuế tối đa 04 năm …", "a) Miễn 15 (mười lăm) năm …"), not in a condition
    further on ("… không có thu nhập chịu thuế trong 03 năm đầu")."""
    heads = [_DATES.sub(" ", " ".join(fold(line).lower().split())[:head]) for line in text.splitlines()
             if line.strip()]
    return any(qn.search(h) for h in heads for qn in quantities)
