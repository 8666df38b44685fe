"""Load the corpus: catalog entries joined with their parsed texts, plus a flat list of provisions.

A bad file never stops the others: its problems are collected as issues with file:line.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from .catalog import Catalog, DocumentMeta, load_catalog
from .models import Article, ParsedDocument, ParseIssue, provision_id
from .parser import parse_file


@dataclass(frozen=True)
class Provision:
    """The unit that is indexed and cited: one Khoản, or one Điều when it has no khoản."""

    id: str
    document: str
    article: str
    clause: str | None
    article_title: str
    chapter: str | None
    text: str  # the clause (with its points) or the article body
    points: tuple[str, ...]
    line: int


@dataclass
class LegalDocument:
    meta: DocumentMeta
    parsed: ParsedDocument
    path: Path

    @property
    def number(self) -> str:
        return self.meta.number

    def article(self, number: str) -> Article | None:
        return self.parsed.article(number)

    def provisions(self) -> list[Provision]:
        out: list[Provision] = []
        for art in self.parsed.articles:
            intro = "\n".join(art.intro)
            if art.clauses:
                for c in art.clauses:
                    text = c.full_text()
                    # A short lead-in ("… được hưởng các ưu đãi sau:") gives each clause its context.
                    if intro and len(intro) < 400:
                        text = f"{intro}\n{text}"
                    out.append(Provision(provision_id(self.number, art.number, c.number), self.number, art.number,
                                         c.number, art.title, art.chapter, text,
                                         tuple(p.letter for p in c.points), c.line))
            else:
                body = art.body_text()
                if not body.strip():
                    continue
                out.append(Provision(provision_id(self.number, art.number), self.number, art.number, None,
                                     art.title, art.chapter, body, tuple(p.letter for p in art.points), art.line))
        return out


@dataclass
class Corpus:
    catalog: Catalog
    directory: Path
    documents: dict[str, LegalDocument] = field(default_factory=dict)
    issues: list[ParseIssue] = field(default_factory=list)

    def get(self, number: str) -> LegalDocument | None:
        meta = self.catalog.by_number(number)
        return self.documents.get(meta.number) if meta else None

    def provisions(self) -> list[Provision]:
        return [p for d in self.documents.values() for p in d.provisions()]

    def in_force_on(self, as_of: dt.date) -> list[LegalDocument]:
        from .validity import in_force

        return [d for d in self.documents.values() if in_force(d.meta, as_of)]


class CorpusError(RuntimeError):
    pass


def load_corpus(directory: Path | str, catalog: Catalog | None = None, only: set[str] | None = None) -> Corpus:
    """Parse every catalogued file present in `directory` (optionally only some document numbers)."""
    directory = Path(directory)
    if not directory.is_dir():
        raise CorpusError(
            f"corpus folder not found: {directory} — set HTP_CORPUS_DIR to the folder holding the legal texts")
    catalog = catalog or load_catalog(corpus_dir=directory)
    corpus = Corpus(catalog, directory)
    catalogued = set()
    for meta in catalog.documents:
        if only is not None and meta.number not in only:
            continue
        path = directory / meta.file
        catalogued.add(path.resolve())
        if not path.exists():
            continue  # absent files are reported by `htp corpus check`, not fatal
        parsed = parse_file(path, expected_number=meta.number)
        corpus.issues.extend(parsed.issues)
        if any(i.severity == "error" for i in parsed.issues) and not parsed.articles:
            continue
        corpus.documents[meta.number] = LegalDocument(meta, parsed, path)
    if only is None:
        for path in sorted(directory.rglob("*.txt")):
            if path.resolve() not in catalogued:
                corpus.issues.append(ParseIssue(str(path), 1, "warning",
                                                "file not in corpus/catalog.yaml: not loaded (htp corpus add FILE drafts its entry)"))
    return corpus
