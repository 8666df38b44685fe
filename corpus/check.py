"""`htp corpus check`: what was parsed from each document, and what looks wrong."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from .catalog import Catalog
from .loader import Corpus
from .models import ParseIssue


@dataclass
class DocumentReport:
    number: str
    file: str
    present: bool
    articles: int = 0
    first: str | None = None
    last: str | None = None
    gaps: list[str] = field(default_factory=list)
    known_gaps: list[str] = field(default_factory=list)
    clauses: int = 0
    points: int = 0
    footnotes: int = 0
    appendices: int = 0
    issues: list[ParseIssue] = field(default_factory=list)
    confidence: str = "high"

    @property
    def unexpected_gaps(self) -> list[str]:
        return [g for g in self.gaps if g not in self.known_gaps]


def _numbering_gaps(numbers: list[str]) -> list[str]:
    ints = sorted({int(re.match(r"\d+", n).group()) for n in numbers})
    if not ints:
        return []
    present = set(ints)
    return [str(i) for i in range(ints[0], ints[-1] + 1) if i not in present]


def check_corpus(corpus: Corpus, catalog: Catalog) -> list[DocumentReport]:
    reports = []
    for meta in catalog.documents:
        doc = corpus.documents.get(meta.number)
        rep = DocumentReport(meta.number, meta.file, present=(corpus.directory / meta.file).exists(),
                             known_gaps=list(meta.known_gaps), confidence=meta.confidence)
        rep.issues = [i for i in corpus.issues if Path(i.file).name == Path(meta.file).name]
        if doc:
            arts = doc.parsed.articles
            rep.articles = len(arts)
            rep.first, rep.last = (arts[0].number, arts[-1].number) if arts else (None, None)
            rep.gaps = _numbering_gaps([a.number for a in arts])
            rep.clauses = sum(len(a.clauses) for a in arts)
            rep.points = sum(len(a.points) + sum(len(c.points) for c in a.clauses) for a in arts)
            rep.footnotes = len(doc.parsed.footnotes)
            rep.appendices = len(doc.parsed.appendices)
        elif rep.present and not rep.issues:
            rep.issues.append(ParseIssue(meta.file, 1, "error", "document could not be loaded"))
        elif not rep.present:
            rep.issues.append(ParseIssue(meta.file, 0, "error", f"file missing from {corpus.directory}"))
        reports.append(rep)
    return reports
