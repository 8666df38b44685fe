"""Annexes the corpus copies lack: a question about a list, an annex or a form that only lives there.

QĐ 38/2020 is two lists (Phụ lục I, II) that the corpus copy does not hold; NĐ 219/2025's forms and most of
NQ 24/2026's annexes are missing too (catalog field ``missing_annexes``). The articles that issue them can be
cited, but "is X on the list?" cannot be answered from them: the answer says the annex is missing, and a
question whether something is on such a list is refused as ``not_in_corpus`` instead of guessed.
"""
from __future__ import annotations

import re

from corpus.catalog import Catalog, DocumentMeta
from indexing.text import fold

# Matched on the folded, lower-case question.
_ABOUT_ANNEX = re.compile(r"\b(danh muc|phu luc|danh sach|mau (so|don|van ban|to khai|nao)|bieu mau|to khai|lists?|"
                          r"annex(es)?|"
                          r"appendi(x|ces)|schedules?|forms?|templates?)\b")
_MEMBER_VI = re.compile(r"\b(nam trong|thuoc|co trong|co ten trong|co mat trong|duoc liet ke trong)\b.{0,40}"
                        r"\b(danh muc|danh sach|phu luc)\b")
_MEMBER_EN = re.compile(r"\b(on|in|included in|part of) (the|a|this|that|any) (\w+ ){0,6}(list|annex)\b")
# "không có trong danh mục thì sao?", "not on the list": the item is taken as not listed, and what follows from
# that the articles do answer.
_NEGATED = re.compile(r"\b(khong|chua|ko)\b( \w+){0,2} (nam trong|thuoc|co trong|co ten trong|co mat trong)\b|"
                      r"\b(not|n't|isnt|arent)\b( \w+){0,3} (on|in|included in|part of)\b|n't (\w+ ){0,3}(on|in)\b")


def about_annex(question: str) -> bool:
    return bool(_ABOUT_ANNEX.search(fold(question).lower()))


def asks_membership(question: str) -> bool:
    """ "Is X on the list?" ("công nghệ in 3D có nằm trong danh mục … không?")."""
    q = fold(question).lower()
    return bool((_MEMBER_VI.search(q) or _MEMBER_EN.search(q)) and not _NEGATED.search(q))


def mentions_annex(text: str) -> bool:
    t = fold(text).lower()
    return "phu luc" in t or "danh muc" in t


def annex_notes(documents: list[str], catalog: Catalog, lang: str) -> list[str]:
    """One note per cited document whose annexes the corpus lacks, in citation order."""
    out = []
    for number in dict.fromkeys(documents):
        meta: DocumentMeta | None = catalog.by_number(number)
        if meta is None or not meta.missing_annexes:
            continue
        if lang == "en":
            parts = "; ".join(f"{a.name} ({a.en})" for a in meta.missing_annexes)
            out.append(f"The corpus copy of {meta.short} lacks {parts}: whether a given item is listed there cannot "
                       f"be checked here; see the official text.")
        else:
            parts = "; ".join(f"{a.name} ({a.vi})" for a in meta.missing_annexes)
            out.append(f"Kho văn bản không có {parts} của {meta.short}: không thể tra một mục cụ thể trong đó; "
                       f"cần đối chiếu văn bản chính thức.")
    return out
