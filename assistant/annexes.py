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
                          r"listed|annex(es)?|"
                          r"appendi(x|ces)|schedules?|forms?|templates?)\b")
# "không có trong danh mục thì sao?" takes the answer (not listed) as given: that one the articles answer.
_MEMBERSHIP = re.compile(r"(?<!khong )(?<!chua )\b(nam trong|thuoc|co trong|co ten trong|co mat trong|"
                         r"duoc liet ke trong)\b.{0,40}\b(danh muc|danh sach|phu luc)\b|"
                         r"(?<!not )\b(on|in|included in|part of)\b.{0,30}\b(lists?|annex)\b|(?<!not )\blisted\b")


def about_annex(question: str) -> bool:
    return bool(_ABOUT_ANNEX.search(fold(question).lower()))


def asks_membership(question: str) -> bool:
    """ "Is X on the list?" ("công nghệ in 3D có nằm trong danh mục … không?")."""
    return bool(_MEMBERSHIP.search(fold(question).lower()))


def mentions_annex(text: str) -> bool:
    return "phu luc" in fold(text).lower() or "danh muc" in fold(text).lower()


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
