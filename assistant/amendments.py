"""Which article amends which: "Điều 5 Luật 90/2025/QH15 … 3. Sửa đổi, bổ sung khoản 21 Điều 16 như sau: …" amends
Điều 16 of the Law on import and export duties. The current wording of a provision is the amended text read
with its amendment, so the two are retrieved together.

Links are read from the amending texts themselves: an instruction line ("Sửa đổi …", "Bổ sung …", "Bãi bỏ …",
"Thay thế …") names the articles; the document is the one the line names, else the one its clause or article
title names ("Sửa đổi, bổ sung một số điều của Luật Thuế xuất khẩu, thuế nhập khẩu").
"""
from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field

from corpus.catalog import Catalog

from .query import find_references

_INSTRUCTION = re.compile(r"^\s*(?:\d+[a-zđ]?\.|[a-zđ]\))?\s*(Sửa đổi|Bổ sung|Bãi bỏ|Thay thế|Sửa|Điều chỉnh)\b", re.I)
_NAMES_TEXT = re.compile(r"\b(của|tại) (Luật|Bộ luật|Nghị định|Thông tư|Pháp lệnh|Nghị quyết)\b")
_ARTICLE = re.compile(r"\bĐiều (\d+[a-zđ]?)\b")


def _instruction(line: str) -> str:
    """The instruction part of a line, without the new wording it quotes."""
    for stop in ("như sau", "“", "\""):
        i = line.find(stop)
        if i >= 0:
            line = line[:i]
    return line


@dataclass
class AmendmentLinks:
    amends: dict[tuple[str, str], set[tuple[str, str]]] = field(default_factory=lambda: defaultdict(set))
    amended_by: dict[tuple[str, str], set[tuple[str, str]]] = field(default_factory=lambda: defaultdict(set))

    def add(self, source: tuple[str, str], target: tuple[str, str]) -> None:
        if source != target and source[0] != target[0]:
            self.amends[source].add(target)
            self.amended_by[target].add(source)

    def linked(self, key: tuple[str, str]) -> set[tuple[str, str]]:
        return self.amends.get(key, set()) | self.amended_by.get(key, set())


def read_links(nodes: list[tuple[str, str, str, str]], catalog: Catalog) -> AmendmentLinks:
    """`nodes`: (document, article, article title, text) of each provision. Only the relations the catalog
    records are read (a text amends those that list it in ``amended_by``), so that "Luật Đầu tư" in an amending
    law of 2025 resolves to the law it amended, not to the newer one of the same name."""
    from indexing.text import fold

    targets: dict[str, list] = defaultdict(list)
    for d in catalog.documents:
        for r in d.amended_by:
            targets[r.number].append(d)
    links = AmendmentLinks()
    context: dict[tuple[str, str], str | None] = {}

    def resolve(part: str, cands: list) -> str | None:
        named = {r.number for r in find_references(part, catalog)[0]}
        hit = [d.number for d in cands if d.number in named]
        if not hit:  # by title, as a whole name: "Luật Đầu tư" is not "Luật Đầu tư công"
            f = fold(part).lower()
            hit = [d.number for d in cands
                   if re.search(re.escape(fold(d.title).lower()) + r"(?=\s*$|\s*[,.;:(]|\s+(so|nam)\b)", f)]
        return hit[0] if len(hit) == 1 else None

    for doc, art, title, text in nodes:
        cands = targets.get(doc)
        if not cands:
            continue
        key = (doc, art)
        if key not in context:
            context[key] = resolve(title or "", cands)
            if context[key] and _INSTRUCTION.match(title or ""):  # "Bổ sung khoản 15 Điều 4 Nghị định …"
                for m in _ARTICLE.finditer(_instruction(title)):
                    links.add(key, (context[key], m.group(1)))
        target = context[key]
        for line in text.splitlines():
            if not _INSTRUCTION.match(line):
                continue
            part = _instruction(line)
            if _NAMES_TEXT.search(part):  # a clause naming its law holds for its points below
                target = resolve(part, cands)
            if target is None:
                continue
            for m in _ARTICLE.finditer(part):
                links.add(key, (target, m.group(1)))
    return links
