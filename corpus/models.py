"""Typed tree of a parsed legal text.

Provision ids are stable and human-readable: ``10/2024/NĐ-CP:d22``, ``…:d22:k1``, ``…:d22:k2:a``.
"""
from __future__ import annotations

from dataclasses import dataclass, field


def provision_id(document: str, article: str, clause: str | None = None, point: str | None = None) -> str:
    pid = f"{document}:d{article}"
    if clause:
        pid += f":k{clause}"
    if point:
        pid += f":{point}"
    return pid


def parse_provision_id(pid: str) -> tuple[str, str, str | None, str | None]:
    """Inverse of :func:`provision_id`. Raises ValueError on a malformed id."""
    parts = pid.split(":")
    if len(parts) < 2 or not parts[1].startswith("d") or len(parts) > 4:
        raise ValueError(f"not a provision id: {pid!r}")
    document, article = parts[0], parts[1][1:]
    clause = point = None
    for extra in parts[2:]:
        if extra.startswith("k") and clause is None and point is None:
            clause = extra[1:]
        elif point is None:
            point = extra
        else:
            raise ValueError(f"not a provision id: {pid!r}")
    if not document or not article:
        raise ValueError(f"not a provision id: {pid!r}")
    return document, article, clause, point


@dataclass
class Point:
    letter: str
    text: str
    line: int
    notes: list[str] = field(default_factory=list)


@dataclass
class Clause:
    number: str
    text: str  # the clause's own lead text (continuation lines joined)
    line: int
    points: list[Point] = field(default_factory=list)
    tail: list[str] = field(default_factory=list)  # paragraphs after the points
    notes: list[str] = field(default_factory=list)

    def full_text(self) -> str:
        parts = [f"{self.number}. {self.text}".rstrip()]
        parts += [f"{p.letter}) {p.text}" for p in self.points]
        parts += self.tail
        return "\n".join(parts)


@dataclass
class Article:
    number: str  # "22", "28a"
    title: str
    line: int
    chapter: str | None = None
    section: str | None = None
    intro: list[str] = field(default_factory=list)  # text before the first clause
    clauses: list[Clause] = field(default_factory=list)
    points: list[Point] = field(default_factory=list)  # points directly under the article (no clause)
    tail: list[str] = field(default_factory=list)
    source_note: str | None = None  # "(Nguồn pháp điển: …)" line: which act and amendment the wording comes from
    notes: list[str] = field(default_factory=list)  # publisher notes "[Điều này được hướng dẫn bởi …]"
    footnote_refs: list[str] = field(default_factory=list)

    @property
    def heading(self) -> str:
        return f"Điều {self.number}. {self.title}".rstrip(". ") if self.title else f"Điều {self.number}."

    def full_text(self) -> str:
        parts = [self.heading, *self.intro]
        parts += [f"{p.letter}) {p.text}" for p in self.points]
        parts += [c.full_text() for c in self.clauses]
        parts += self.tail
        return "\n".join(p for p in parts if p)

    def body_text(self) -> str:
        """Text without the heading."""
        return self.full_text().split("\n", 1)[1] if "\n" in self.full_text() else ""


@dataclass
class ParseIssue:
    file: str
    line: int
    severity: str  # "error" | "warning"
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.severity}: {self.message}"


@dataclass
class Appendix:
    title: str
    line: int
    text: str


@dataclass
class ParsedDocument:
    """What the text itself says; the catalog adds dates and validity on top."""

    file: str
    number: str | None  # "Số hiệu" from the header
    title: str
    header: dict[str, str]
    preamble: list[str]
    articles: list[Article]
    appendices: list[Appendix]
    footnotes: dict[str, str]
    chapters: list[str]
    issues: list[ParseIssue]
    content_hash: str
    line_count: int

    def article(self, number: str) -> Article | None:
        for a in self.articles:
            if a.number == number:
                return a
        return None
