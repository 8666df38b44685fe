"""Documents and provisions as JSON: catalog entries with validity, and texts anchored per Điều/Khoản/Điểm.

Ids come from users (URL path): they are only ever compared with catalog numbers and slugs, never used to
build a filesystem path, so ``../`` cannot reach a file; such ids are rejected outright anyway.
"""
from __future__ import annotations

import datetime as dt
import re
from typing import Any

from corpus.catalog import Catalog, DocumentMeta, MissingDocument
from corpus.citation import full_citation, short_citation
from corpus.loader import Corpus, LegalDocument
from corpus.models import Article, Clause, Point, parse_provision_id, provision_id
from corpus.validity import Validity, validity
from indexing.text import fold

_SAFE_ID = re.compile(r"^[\w./:\- ]{1,120}$")


def slugify(number: str) -> str:
    """'10/2024/NĐ-CP' → '10-2024-nd-cp' (URL-safe alias of a document number)."""
    return re.sub(r"[^a-z0-9]+", "-", fold(number).lower()).strip("-")


def safe_id(ident: str) -> bool:
    """Plausible id text: no traversal, no absolute path, no control characters."""
    return bool(_SAFE_ID.match(ident)) and ".." not in ident and not ident.startswith(("/", "\\", "."))


def resolve(catalog: Catalog, ident: str) -> DocumentMeta | MissingDocument | None:
    if not safe_id(ident):
        return None
    hit = catalog.by_number(ident) or catalog.missing(ident)
    if hit is not None:
        return hit
    key = slugify(ident)
    for d in [*catalog.documents, *catalog.not_in_corpus]:
        if slugify(d.number) == key:
            return d
    return None


def status_word(v: Validity, as_of: dt.date) -> str:
    if v.in_force:
        return "in_force"
    return "not_yet_in_force" if v.effective and as_of < v.effective else "expired"


def _iso(d: dt.date | None) -> str | None:
    return d.isoformat() if d else None


def document_summary(meta: DocumentMeta | MissingDocument, catalog: Catalog, corpus: Corpus, as_of: dt.date,
                     lang: str) -> dict[str, Any]:
    slug = slugify(meta.number)
    base: dict[str, Any] = {"id": meta.number, "slug": slug, "title": meta.title, "url": f"/api/documents/{slug}"}
    if isinstance(meta, MissingDocument):
        return {**base, "short": meta.short or meta.number, "type": None, "in_corpus": False, "in_force": None,
                "status": "unknown", "status_note": meta.status or meta.note or "", "low_confidence": False,
                "replaced_by": [{"number": meta.replaced_by}] if meta.replaced_by else []}
    v = validity(meta, as_of, catalog)
    return {**base, "short": meta.short, "type": meta.type, "title_en": meta.title_en, "issuer": meta.issuer,
            "issued": _iso(meta.issued), "effective": _iso(meta.effective), "expires": _iso(meta.expires),
            "in_corpus": corpus.get(meta.number) is not None, "in_force": v.in_force,
            "status": status_word(v, as_of), "status_note": v.note(lang), "low_confidence": meta.low_confidence,
            "validity_doubt": v.doubtful,
            "confidence": meta.confidence, "partial": meta.partial,
            "missing_annexes": [{"name": a.name, "content": a.en if lang == "en" else a.vi}
                                for a in meta.missing_annexes],
            "replaced_by": [{"number": r.number, "from": _iso(r.from_), "note": r.note} for r in meta.replaced_by],
            "amended_by": [{"number": r.number, "from": _iso(r.from_), "note": r.note} for r in meta.amended_by]}


def anchor(article: str, clause: str | None = None, point: str | None = None) -> str:
    """HTML id for a provision: 'd22', 'd22-k1', 'd22-k1-a'."""
    return "-".join(x for x in (f"d{article}", f"k{clause}" if clause else "", point or "") if x)


def _point(doc: str, art: str, clause: str | None, p: Point) -> dict[str, Any]:
    return {"letter": p.letter, "text": p.text, "provision_id": provision_id(doc, art, clause, p.letter),
            "anchor": anchor(art, clause, p.letter)}


def _clause(doc: str, art: str, c: Clause) -> dict[str, Any]:
    return {"number": c.number, "text": c.text, "provision_id": provision_id(doc, art, c.number),
            "anchor": anchor(art, c.number), "points": [_point(doc, art, c.number, p) for p in c.points],
            "tail": c.tail}


def article_json(doc: LegalDocument, art: Article, catalog: Catalog, as_of: dt.date, lang: str) -> dict[str, Any]:
    meta, n = doc.meta, doc.number
    v = validity(meta, as_of, catalog, art.number)
    return {"number": art.number, "title": art.title, "heading": art.heading, "chapter": art.chapter,
            "section": art.section, "provision_id": provision_id(n, art.number), "anchor": anchor(art.number),
            "intro": art.intro, "points": [_point(n, art.number, None, p) for p in art.points],
            "clauses": [_clause(n, art.number, c) for c in art.clauses], "tail": art.tail,
            "source_note": art.source_note, "notes": art.notes,
            "in_force": v.in_force, "status": status_word(v, as_of), "status_note": v.note(lang),
            "citation": full_citation(meta, art.number, lang=lang), "short": short_citation(meta, art.number),
            "text": art.full_text()}


def document_json(doc: LegalDocument, catalog: Catalog, corpus: Corpus, as_of: dt.date, lang: str) -> dict[str, Any]:
    p = doc.parsed
    return {**document_summary(doc.meta, catalog, corpus, as_of, lang), "header": p.header, "preamble": p.preamble,
            "chapters": p.chapters, "articles": [article_json(doc, a, catalog, as_of, lang) for a in p.articles],
            "appendices": [{"title": a.title, "text": a.text} for a in p.appendices],
            "known_gaps": doc.meta.known_gaps}


class NotFound(LookupError):
    pass


def provision_json(pid: str, catalog: Catalog, corpus: Corpus, as_of: dt.date, lang: str) -> dict[str, Any]:
    """The article holding a provision, which clause/point to highlight, its own text, validity and citation."""
    if not safe_id(pid):
        raise NotFound("invalid provision id")
    try:
        doc_id, art_no, clause_no, point = parse_provision_id(pid)
    except ValueError as e:
        raise NotFound(str(e)) from e
    meta = resolve(catalog, doc_id)
    doc = corpus.get(meta.number) if isinstance(meta, DocumentMeta) else None
    if doc is None:
        raise NotFound(f"document not in the corpus: {doc_id}")
    art = doc.article(art_no)
    if art is None:
        raise NotFound(f"no Điều {art_no} in {doc.number}")
    text = art.full_text()
    if clause_no:
        clause = next((c for c in art.clauses if c.number == clause_no), None)
        if clause is None:
            raise NotFound(f"no khoản {clause_no} in Điều {art_no} {doc.number}")
        text = clause.full_text()
        points = clause.points
    else:
        points = art.points
    if point:
        pt = next((p for p in points if p.letter == point), None)
        if pt is None:
            raise NotFound(f"no điểm {point} there")
        text = f"{pt.letter}) {pt.text}"
    v = validity(doc.meta, as_of, catalog, art.number)
    return {"provision_id": provision_id(doc.number, art_no, clause_no, point),
            "document": doc.number, "document_slug": slugify(doc.number), "title": doc.meta.title,
            "article": art_no, "clause": clause_no, "point": point,
            "anchor": anchor(art_no, clause_no, point), "text": text,
            "highlight": {"clause": clause_no, "point": point, "anchor": anchor(art_no, clause_no, point)},
            "in_force": v.in_force, "status": status_word(v, as_of), "status_note": v.note(lang),
            "low_confidence": doc.meta.low_confidence, "as_of": as_of.isoformat(),
            "validity_doubt": v.doubtful,
            "citation": full_citation(doc.meta, art_no, clause_no, point, lang=lang),
            "citation_vi": full_citation(doc.meta, art_no, clause_no, point, lang="vi"),
            "short": short_citation(doc.meta, art_no, clause_no, point),
            "article_full": article_json(doc, art, catalog, as_of, lang)}
