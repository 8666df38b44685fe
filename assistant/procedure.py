"""Procedure cards — "rõ người, rõ việc, rõ thời hạn" — extracted from the cited provisions' own words.

Every field carries the provision it was read from; nothing is shown that the text does not say.
"""
from __future__ import annotations

import re

from corpus.models import Article, provision_id

from .models import ProcedureCard, ProcedureField

_TIME = re.compile(
    r"(?:(?:trong|trong thời hạn|trong vòng|chậm nhất|không quá|tối đa|sau)\s+(?:thời hạn\s+)?)"
    r"(\d{1,3}|một|hai|ba|năm|mười|mười lăm|ba mươi)\s*(?:\(\w+\)\s*)?"
    r"(ngày làm việc|ngày|tháng|giờ)[^.;\n]{0,120}", re.I)
_AUTHORITY = re.compile(
    r"(?:nộp|gửi|nộp trực tiếp|nộp trực tuyến)[^.;\n]{0,80}?(?:đến|tới|cho|tại)\s+"
    r"((?:Ban quản lý|Bộ|Ủy ban nhân dân|Sở|cơ quan|Cục|Chi cục|Cơ quan)[^,.;:\n(]{3,90})", re.I)
_AUTHORITY2 = re.compile(
    r"((?:Ban quản lý khu công nghệ cao|Bộ Khoa học và Công nghệ|Bộ Tài chính|Ủy ban nhân dân cấp tỉnh|"
    r"Sở Nội vụ|Bộ Nội vụ|cơ quan đăng ký đầu tư|cơ quan thuế|cơ quan hải quan|Bộ Kế hoạch và Đầu tư|"
    r"Thủ tướng Chính phủ)[^,.;:\n]{0,40}?)\s+(?:tiếp nhận|xem xét|thẩm định|cấp|quyết định|có trách nhiệm)", re.I)
_RESULT = re.compile(
    r"((?:cấp|cấp lại|gia hạn|điều chỉnh|ban hành|ra quyết định|có văn bản trả lời|thông báo)\s+"
    r"(?:Giấy chứng nhận|giấy chứng nhận|giấy phép|Giấy phép|văn bản|quyết định|Quyết định)[^.;\n]{0,100})", re.I)
_DOSSIER = re.compile(r"hồ sơ[^.;:\n]{0,120}(?:gồm|bao gồm)", re.I)
PROCEDURAL_Q = re.compile(
    r"thủ tục|hồ sơ|thời hạn|bao lâu|mấy ngày|nộp|đăng ký|cấp phép|cấp giấy|trình tự|ở đâu|cơ quan nào|"
    r"thu tuc|ho so|thoi han|bao lau|may ngay|nop |dang ky|trinh tu|"
    r"procedure|documents|dossier|how long|apply|application|where|which authority|who issues|time limit", re.I)


def _whole(text: str, m: re.Match, group: int = 0) -> str:
    """The match, without a word cut in half at its end (the patterns stop after a fixed length)."""
    value = m.group(group)
    end = m.end(group)
    if end < len(text) and text[end].isalnum() and " " in value:
        value = value.rsplit(" ", 1)[0]
    return value


def _short(s: str, n: int = 160) -> str:
    s = " ".join(s.split()).strip(" ,;:")
    return s if len(s) <= n else s[: n - 1].rsplit(" ", 1)[0] + "…"


def _units(doc_number: str, art: Article):
    """(provision id, text) of each clause (and the article intro) of an article."""
    if art.intro:
        yield provision_id(doc_number, art.number), "\n".join(art.intro)
    for p in art.points:
        yield provision_id(doc_number, art.number, None, p.letter), p.text
    for c in art.clauses:
        yield provision_id(doc_number, art.number, c.number), c.text + "\n" + "\n".join(c.tail)
        for p in c.points:
            yield provision_id(doc_number, art.number, c.number, p.letter), p.text


def extract_card(articles: list[tuple]) -> ProcedureCard:
    """articles: (document number, article, short label of the document[, clause number]): with a clause, only
    that clause is read."""
    card = ProcedureCard()
    seen: set[str] = set()

    def add(lst: list[ProcedureField], value: str, pid: str, label: str) -> None:
        v = _short(value)
        key = v.lower()
        if v and key not in seen and len(lst) < 6:
            seen.add(key)
            art = pid.split(":")[1][1:]
            rest = [x for x in pid.split(":")[2:]]
            chip = f"Đ{art}" + "".join("." + (x[1:] if x.startswith("k") else x) for x in rest)
            lst.append(ProcedureField(value=v, provision_id=pid, short=f"{chip} {label}"))

    for doc_number, art, label, *only in articles:
        clause_no = only[0] if only else None
        for pid, text in _units(doc_number, art):
            if clause_no and not (pid.endswith(f":k{clause_no}") or f":k{clause_no}:" in pid):
                continue
            for m in _TIME.finditer(text):
                add(card.time_limit, _whole(text, m), pid, label)
            for m in _AUTHORITY.finditer(text):
                add(card.authority, _whole(text, m, 1), pid, label)
            for m in _AUTHORITY2.finditer(text):
                add(card.authority, _whole(text, m, 1), pid, label)
            for m in _RESULT.finditer(text):
                add(card.result, _whole(text, m, 1), pid, label)
        # Documents required: the points of a clause introduced by "hồ sơ … gồm".
        for c in art.clauses:
            if clause_no and c.number != clause_no:
                continue
            if _DOSSIER.search(c.text) and c.points:
                for p in c.points:
                    add(card.documents, p.text, provision_id(doc_number, art.number, c.number, p.letter), label)
        if not clause_no and _DOSSIER.search("\n".join(art.intro)) and art.points:
            for p in art.points:
                add(card.documents, p.text, provision_id(doc_number, art.number, None, p.letter), label)
    return card


def is_procedural(question: str) -> bool:
    return bool(PROCEDURAL_Q.search(question))
