"""`htp corpus changes --since DATE`: which texts took effect, were amended or ceased in a period, each with the
provision that says so — read from the (merged) catalog."""
from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass

from .catalog import Catalog
from .drafter import parse_date


@dataclass(frozen=True)
class Change:
    date: dt.date
    document: str
    kind: str  # took_effect | ceased | amended | articles_effective | articles_ceased
    basis: str  # the provision (or the catalog's note) that says so
    by: str | None = None
    held: bool = True  # False: a text the corpus lacks (not_in_corpus)

    def line(self) -> str:
        what = {"took_effect": "took effect", "ceased": "ceased to have effect", "amended": "amended",
                "articles_effective": "articles took effect", "articles_ceased": "articles ceased"}[self.kind]
        by = f" by {self.by}" if self.by else ""
        held = "" if self.held else " (not held)"
        return f"{self.date.strftime('%d/%m/%Y')}  {self.document}{held}: {what}{by} — {self.basis}"

    def as_dict(self) -> dict:
        d = asdict(self)
        d["date"] = self.date.isoformat()
        return d


def changes(catalog: Catalog, since: dt.date, until: dt.date | None = None) -> list[Change]:
    until = until or dt.date.max
    out: list[Change] = []

    def within(d: dt.date | None) -> bool:
        return d is not None and since <= d <= until

    for doc in catalog.documents:
        if within(doc.effective):
            basis = doc.status_basis if doc.status_basis and doc.number in doc.status_basis else \
                f"{doc.short}: ngày hiệu lực theo danh mục"
            out.append(Change(doc.effective, doc.number, "took_effect", basis))
        if within(doc.expires):
            repl = ", ".join(r.number for r in doc.replaced_by if r.content) or None
            out.append(Change(doc.expires, doc.number, "ceased", doc.status_basis or "", repl))
        for r in doc.amended_by:
            if within(r.from_):
                out.append(Change(r.from_, doc.number, "amended", r.note or "", r.number))
        for rule in doc.article_validity:
            if within(rule.effective) and rule.effective != doc.effective:
                out.append(Change(rule.effective, doc.number, "articles_effective",
                                  f"Điều {', '.join(rule.articles)}: {rule.note or ''}".strip()))
            if within(rule.expires) and rule.expires != doc.expires:
                out.append(Change(rule.expires, doc.number, "articles_ceased",
                                  f"Điều {', '.join(rule.articles)}: {rule.note or ''}".strip()))
    for m in catalog.not_in_corpus:
        status = m.status or ""
        if "hết hiệu lực" in status.lower() or "bị thay thế" in status.lower():
            d = parse_date(status)
            if within(d):
                out.append(Change(d, m.number, "ceased", status, m.replaced_by, held=False))
    return sorted(out, key=lambda c: (c.date, c.document, c.kind))
