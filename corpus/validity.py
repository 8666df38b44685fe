"""Validity of a document (or one article of it) on a given date, and the status text users see."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from .catalog import Catalog, DocumentMeta


@dataclass(frozen=True)
class Validity:
    in_force: bool
    effective: dt.date | None
    expires: dt.date | None
    note_vi: str
    note_en: str
    replaced_by: tuple[str, ...] = ()
    doubtful: bool = False  # in force as far as the corpus shows, on a basis that has gone (see the note)

    def note(self, lang: str = "vi") -> str:
        return self.note_en if lang == "en" else self.note_vi


def fmt_date(d: dt.date | None) -> str:
    return d.strftime("%d/%m/%Y") if d else "?"


def interval(doc: DocumentMeta, article: str | None = None) -> tuple[dt.date | None, dt.date | None]:
    effective, expires = doc.effective, doc.expires
    if article:
        for rule in doc.article_validity:
            if article in rule.articles:
                # A key written explicitly (even as null: "no end date") overrides the document's date.
                if "effective" in rule.model_fields_set:
                    effective = rule.effective
                if "expires" in rule.model_fields_set:
                    expires = rule.expires
    return effective, expires


def in_force(doc: DocumentMeta, as_of: dt.date, article: str | None = None) -> bool:
    effective, expires = interval(doc, article)
    if effective and as_of < effective:
        return False
    return not (expires and as_of >= expires)


def doubtful(doc: DocumentMeta, as_of: dt.date) -> bool:
    """In force as far as the corpus shows, but on a basis that has gone (see ``validity_doubt``)."""
    return doc.validity_doubt is not None and as_of >= doc.validity_doubt.since


def validity(doc: DocumentMeta, as_of: dt.date, catalog: Catalog | None = None, article: str | None = None) -> Validity:
    effective, expires = interval(doc, article)
    replaced = tuple(r.number for r in doc.replaced_by)

    def name(number: str) -> str:
        if catalog:
            d = catalog.by_number(number) or catalog.missing(number)
            if d:
                return f"{d.short or number} ({number})" if getattr(d, "short", None) else number
        return number

    repl_vi = ", ".join(name(n) for n in replaced)
    if effective and as_of < effective:
        vi = f"chưa có hiệu lực (có hiệu lực từ {fmt_date(effective)})"
        en = f"not yet in force (in force from {fmt_date(effective)})"
        ok = False
    elif expires and as_of >= expires:
        vi = f"hết hiệu lực từ {fmt_date(expires)}"
        en = f"no longer in force since {fmt_date(expires)}"
        if repl_vi:
            vi += f", thay thế bởi {repl_vi}"
            en += f", replaced by {repl_vi}"
        ok = False
    else:
        vi, en, ok = "còn hiệu lực", "in force", True
        if expires:
            vi += f" (đến hết {fmt_date(expires - dt.timedelta(days=1))})"
            en += f" (until {fmt_date(expires - dt.timedelta(days=1))})"
    doubt = ok and doubtful(doc, as_of)
    if doubt and (doc.model_extra or {}).get("doubt_kind") == "amendments_missing":
        vi = f"còn hiệu lực, nhưng bản trong kho chưa gồm các sửa đổi sau này: {doc.validity_doubt.vi}"
        en = f"in force, but the corpus copy lacks later amendments: {doc.validity_doubt.en}"
    elif doubt:
        vi = f"cần kiểm tra hiệu lực (chưa thấy văn bản bãi bỏ): {doc.validity_doubt.vi}"
        en = f"validity to be checked (no repeal found): {doc.validity_doubt.en}"
    if doc.low_confidence:
        vi += "; bản OCR chưa kiểm chứng, độ tin cậy thấp"
        en += "; unverified OCR copy, low confidence"
    return Validity(ok, effective, expires, vi, en, replaced, doubt)
