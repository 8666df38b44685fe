"""Draft a catalog entry from a legal text's own words (`htp corpus add`).

What is read, and where from:
- number, type, issuer, signing date, signer, title: the collector's header when the file has one (``Số hiệu:`` …),
  otherwise the official layout (``Số: 219/2025/NĐ-CP``, ``Hà Nội, ngày 07 tháng 8 năm 2025``, the upper-case
  type line, the issuing body's line, the signature block);
- effect dates: the text's own effect article ("… này có hiệu lực thi hành từ ngày …", "các điều 11, 28 và 29 …
  có hiệu lực …"); where the header disagrees the text wins and the difference is put up for review;
- relations stated by the text: "bãi bỏ", "hết hiệu lực", "thay thế" (ends), "sửa đổi, bổ sung", "thay thế cụm
  từ" (amends), the transition article, each with the article, clause and point that state it;
- relations stated about the text: the amending acts a consolidated text (VBHN) lists in its preamble, the
  codification's source lines ("có nội dung được sửa đổi bởi Điều 75 Luật số 67/2014/QH13 …") and publisher notes
  ("[Khoản này được sửa đổi bởi … Nghị định 291/2025/NĐ-CP …]") — the last two are marked as not the text's own
  words.

Nothing is guessed: what cannot be read plainly goes to ``review`` with the line it came from.
"""
from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from .catalog import Catalog, normalize_number
from .models import Article, ParsedDocument
from .parser import parse_text, read_text

# "10/2024/NĐ-CP", "21/2008/QH12", "73/2025/NQ-HĐND", "24/1999/PL-UBTVQH10", "134/VBHN-VPQH", "119/NQ-CP".
NUMBER = re.compile(r"(?<![\d/])(\d{1,5}/(?:\d{4}/)?(?:QH\d{1,2}|[A-ZĐ]{1,8}(?:-[A-ZĐ][A-ZĐa-z]{0,9}\d{0,2})+))"
                    r"(?![\w/-])")
_OCR_SPLIT = re.compile(r"(\bsố\s+\d)\s(\d{1,3}/\d{4}/)")  # "Nghị định số 3 1/2021/NĐ-CP" (OCR)
_DASH_SPACE = re.compile(r"(\d{4}/[A-ZĐ]{1,6}-)\s+(?=[A-ZĐ])")  # "78/2014/TT- BTC" (line-wrapped copies)
_BRACKET_NOTE = re.compile(r"\[(?!\d+\])[^\[\]]*\]")  # a publisher's inline note "[Khoản này được sửa đổi bởi …]"

TYPES = {  # folded upper-case type line → catalog type
    "BO LUAT": "Bộ luật", "LUAT": "Luật", "NGHI DINH": "Nghị định", "THONG TU": "Thông tư",
    "THONG TU LIEN TICH": "Thông tư liên tịch", "QUYET DINH": "Quyết định", "NGHI QUYET": "Nghị quyết",
    "PHAP LENH": "Pháp lệnh", "LENH": "Lệnh",
}
SHORT = {"Luật": "Luật", "Bộ luật": "BLLĐ", "Nghị định": "NĐ", "Thông tư": "TT", "Quyết định": "QĐ",
         "Nghị quyết": "NQ", "Pháp lệnh": "PL", "Thông tư liên tịch": "TTLT"}
ISSUERS = {
    "QUOC HOI": "Quốc hội", "CHINH PHU": "Chính phủ", "THU TUONG CHINH PHU": "Thủ tướng Chính phủ",
    "UY BAN THUONG VU QUOC HOI": "Ủy ban Thường vụ Quốc hội",
}
_SUFFIX_TYPE = [(r"/QH\d+$", "Luật"), (r"/NĐ-CP$", "Nghị định"), (r"/TT-", "Thông tư"), (r"/QĐ-", "Quyết định"),
                (r"/NQ-", "Nghị quyết"), (r"/PL-", "Pháp lệnh")]
_SIGN_HEADS = re.compile(r"^(TM\.|KT\.|Q\.|CHỦ TỊCH|PHÓ CHỦ TỊCH|THỦ TƯỚNG|PHÓ THỦ TƯỚNG|BỘ TRƯỞNG|THỨ TRƯỞNG)")


def fold(s: str) -> str:
    """Lower-case, no tone marks, đ → d; one character for each character (indices stay aligned)."""
    out = []
    for ch in s:
        base = unicodedata.normalize("NFD", ch)[0]
        out.append("d" if ch in "đĐ" else base)
    return "".join(out).lower()


_DATE_VI = re.compile(r"ngày\s+(\d{1,2})\s+tháng\s+(\d{1,2})\s+năm\s+(\d{4})", re.I)
_DATE_NUM = re.compile(r"(?<!\d)(\d{1,2})/(\d{1,2})/(\d{4})(?!\d)")


def parse_date(text: str) -> dt.date | None:
    """The first date written 'ngày 07 tháng 8 năm 2025' or '07/08/2025' in `text`."""
    best = None
    for rx in (_DATE_VI, _DATE_NUM):
        m = rx.search(text)
        if m:
            try:
                d = dt.date(int(m.group(3)), int(m.group(2)), int(m.group(1)))
            except ValueError:
                continue
            if best is None or m.start() < best[0]:
                best = (m.start(), d)
    return best[1] if best else None


@dataclass
class Relation:
    """One relation a text states: `target` ends / is amended / has transition rules, by `source`."""

    target: str
    kind: str  # "ends" | "amends" | "transition"
    source: str
    article: str | None = None
    clause: str | None = None
    point: str | None = None
    from_: dt.date | None = None
    part: str | None = None  # "khoản 9, 10 Điều 4": only part of the target is concerned
    quote: str = ""
    line: int = 0
    origin: str = "text"  # text | preamble | source-line | publisher-note | history
    doubt: str | None = None

    @property
    def where(self) -> str:
        s = f"{self.source}"
        if self.article:
            s += f" Điều {self.article}"
        if self.clause:
            s += f" k{self.clause}"
        if self.point:
            s += f" điểm {self.point}"
        return s

    def describe(self, catalog: Catalog | None = None) -> str:
        verb = {"ends": "repealed" if "bãi bỏ" in self.quote.lower() else "ends",
                "amends": "amended", "transition": "transition rules"}[self.kind]
        if self.kind == "ends" and self.part:
            verb = f"{self.part} ends"
        elif self.kind == "amends" and self.part:
            verb = f"amended ({self.part})"
        when = f" from {self.from_.strftime('%d/%m/%Y')}" if self.from_ else ""
        by = "in" if self.kind == "transition" else "by"
        origin = "" if self.origin == "text" else f" [{self.origin}]"
        return f"{self.target}: {verb}{when} {by} {self.where}{origin}"


@dataclass
class Draft:
    file: str
    parsed: ParsedDocument
    entry: dict
    relations: list[Relation] = field(default_factory=list)  # this text about others
    incoming: list[Relation] = field(default_factory=list)  # others about this text (VBHN list, notes)
    history: list[Relation] = field(default_factory=list)  # "X đã được sửa đổi, bổ sung theo A": X amended by A
    review: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def number(self) -> str | None:
        return self.entry.get("number")


# ---------------------------------------------------------------------------------------------- header
def _header_value(parsed: ParsedDocument, *keys: str) -> str | None:
    for k in keys:
        for hk, v in parsed.header.items():
            if fold(hk) == fold(k) and v.strip():
                return v.strip()
    return None


def _official_lines(lines: list[str], limit: int = 60) -> list[tuple[int, str]]:
    """The first lines of the text proper (after the collector's header block, if any)."""
    start = 0
    for i, line in enumerate(lines[:400]):
        if line.strip() == "---":
            start = i + 1
            break
    out = []
    for i in range(start, min(len(lines), start + limit)):
        s = unicodedata.normalize("NFC", lines[i]).strip()
        if s.startswith("Điều 1.") or s.startswith("Điều 1 "):
            break
        if s:
            out.append((i + 1, s))
    return out


def _title_case(upper: str) -> str:
    s = upper.strip().lower()
    return s[:1].upper() + s[1:]


def _signer(lines: list[str]) -> tuple[str | None, int]:
    """The name under the last signature block ('TM. CHÍNH PHỦ / KT. THỦ TƯỚNG / PHÓ THỦ TƯỚNG / (Đã ký) / Name')."""
    heads = [i for i, x in enumerate(lines) if _SIGN_HEADS.match(x.strip())]
    if not heads:
        return None, 0
    i = heads[-1]
    for j in range(i + 1, min(len(lines), i + 6)):
        s = lines[j].strip()
        if not s or s.startswith("(") or _SIGN_HEADS.match(s) or s.isupper():
            continue
        words = s.split()
        if 2 <= len(words) <= 5 and all(w[:1].isupper() for w in words):
            return s, j + 1
        break
    return None, i + 1


# ---------------------------------------------------------------------------------------------- relations
_ENDS = re.compile(r"\b(het hieu luc|bai bo|bi thay the|thay the(?!\s+(cum tu|tu |cac tu|mot so|bang))\b|khong con hieu luc"
                   r"|cham dut hieu luc|ngung hieu luc)")
_AMENDS = re.compile(r"\b(sua doi|bo sung|thay the cum tu|thay cum tu|thay the cac tu|thay the tu|bo cum tu|bo cac tu"
                     r"|bo tu )")
_HISTORY = re.compile(r"(da|duoc|da duoc)\s+(duoc\s+)?sua doi,?\s*(,\s*)?(bo sung)?(\s+mot so dieu)?\s*(theo|boi|tai)\s")
_LOCATOR = re.compile(r"\b(dieu|khoan|diem|muc|chuong|phu luc|noi dung|cum tu)\b")
_SELF_EFFECT = re.compile(r"(luat|bo luat|nghi dinh|thong tu|quyet dinh|nghi quyet|phap lenh) nay co hieu luc"
                          r"( thi hanh| thị hanh)?\s*(ke )?tu\s+(ngay\s+ky|ngay ky ban hanh|ngay \d|\d)")
_SINCE_SELF = re.compile(r"(ke )?tu ngay (luat|bo luat|nghi dinh|thong tu|quyet dinh|nghi quyet|phap lenh) nay co hieu luc")
_SINCE_OTHER = re.compile(r"(ke )?tu ngay (luat|bo luat|nghi dinh|thong tu|nghi quyet)\s+[^,;.]{0,60}co hieu luc")
_ARTICLE_EFFECT = re.compile(r"^(cac |rieng )?(dieu|khoan \d+[a-z]? dieu)\s+([\d, va]+?)\s+(cua (luat|nghi dinh|thong tu|"
                             r"quyet dinh|nghi quyet|phap lenh) nay\s+)?co hieu luc")
_RELATION_TITLE = re.compile(r"^(sua doi|bo sung|bai bo|thay the|hieu luc|dieu khoan thi hanh|quy dinh chuyen tiep"
                             r"|dieu khoan chuyen tiep|to chuc thuc hien|trach nhiem thi hanh|thi hanh)"
                             r"|het hieu luc|bai bo|(cac )?(luat|van ban|nghi dinh) co lien quan")
_TRANSITION_TITLE = re.compile(r"^(quy dinh|dieu khoan) chuyen tiep")
_EFFECT_TITLE = re.compile(r"^(hieu luc|dieu khoan thi hanh)")
_QUOTED = re.compile(r"“[^”]*”|\"[^\"]*\"")


def _squash(text: str, limit: int = 300) -> str:
    """A relation's quote: one line, the blanked quotations collapsed ("… như sau: …")."""
    return re.sub(r"\s+", " ", text).strip()[:limit]


def _unquote(text: str) -> str:
    """Quoted wording (the new text an amendment inserts) is content, not a statement about documents."""
    text = _QUOTED.sub(lambda m: " " * len(m.group()), text)
    i = text.find("“")  # an opening quote never closed in this unit: the rest is quoted too
    return text if i < 0 else text[:i]


def _refs(text: str, self_number: str | None) -> list[tuple[int, int, str]]:
    out = []
    for m in NUMBER.finditer(text):
        n = m.group(1)
        if "VBHN" in n or (self_number and normalize_number(n) == normalize_number(self_number)):
            continue
        out.append((m.start(), m.end(), n))
    return out


def _history(text: str, folded: str, refs: list[tuple[int, int, str]]) -> tuple[set[int], list[tuple[str, str]]]:
    """Refs inside 'X đã được sửa đổi, bổ sung theo Luật số A, Luật số B …': (their indices, [(X, A), (X, B)])."""
    skip: set[int] = set()
    pairs: list[tuple[str, str]] = []
    for m in _HISTORY.finditer(folded):
        before = [r for r in refs if r[1] <= m.start()]
        if not before:
            continue
        amended = before[-1][2]
        # the list runs to the end of the enumeration: 'như sau', 'hết hiệu lực', '(sau đây', ';', ':' or a new verb
        end_m = re.compile(r"nhu sau|het hieu luc|\(sau day|;|:|\.\s|\bbai bo\b|\bthay the\b").search(folded, m.end())
        end = end_m.start() if end_m else len(folded)
        for i, r in enumerate(refs):
            if m.end() <= r[0] < end:
                skip.add(i)
                pairs.append((amended, r[2]))
    return skip, pairs


@dataclass
class _Unit:
    text: str
    article: Article
    clause: str | None
    point: str | None
    line: int
    lead: str | None = None  # the clause's lead when the unit is one of its points


def _units(art: Article) -> list[_Unit]:
    out: list[_Unit] = []
    intro = " ".join(art.intro)
    if intro:
        out.append(_Unit(intro, art, None, None, art.line))
    for p in art.points:
        out.append(_Unit(p.text.replace("\n", " "), art, None, p.letter, p.line, lead=intro or None))
    for c in art.clauses:
        lead = c.text.replace("\n", " ")
        out.append(_Unit(lead, art, c.number, None, c.line))
        for p in c.points:
            out.append(_Unit(p.text.replace("\n", " "), art, c.number, p.letter, p.line, lead=lead))
    return out


def draft_relations(parsed: ParsedDocument, number: str, effective: dt.date | None,
                    review: list[str] | None = None) -> tuple[list[Relation], list[Relation]]:
    """(relations this text states about others, amendments of others' history it states) — see module doc."""
    review = review if review is not None else []
    out: list[Relation] = []
    history: list[Relation] = []
    is_amending_act = bool(re.match(r"^(luat|nghi dinh|thong tu|nghi quyet|quyet dinh)\s+(sua doi|bo sung|bai bo)",
                                    fold(parsed.title)))
    transition_art = None
    for art in parsed.articles:
        t = fold(art.title or "")
        if _TRANSITION_TITLE.match(t):
            transition_art = art
        if not (_RELATION_TITLE.search(t) or is_amending_act):
            continue
        art_refs: list[str] = []  # documents named by the article's title or intro: the default target
        for unit in _units(art):
            text = _OCR_SPLIT.sub(r"\1\2", unit.text)
            if text != unit.text:
                review.append(f"{parsed.file}:{unit.line}: a number read across an OCR space ('{unit.text[:60]}…')")
            text = _unquote(_BRACKET_NOTE.sub(lambda m: " " * len(m.group()), _DASH_SPACE.sub(r"\1", text)))
            folded = fold(text)
            refs = _refs(text, number)
            skip, pairs = _history(text, folded, refs)
            for amended, by in pairs:
                if normalize_number(amended) == normalize_number(by):
                    continue
                history.append(Relation(amended, "amends", by, quote=_squash(text), line=unit.line, origin="history",
                                        doubt=f"stated in {number} Điều {art.number}"
                                              + (f" k{unit.clause}" if unit.clause else "")))
            targets = [r for i, r in enumerate(refs) if i not in skip]
            if unit.clause is None and unit.point is None:
                art_refs = [r[2] for r in targets]
            lead = fold(_unquote(unit.lead or ""))
            if not targets:
                continue
            # The verb before the first document named ("Bãi bỏ Nghị định số …"), else the clause's lead for a
            # point ("Các Nghị định sau đây hết hiệu lực …: a) Nghị định số …"), else an ending after it ("Luật
            # số … hết hiệu lực …"). Words after the name otherwise describe it ("… sửa đổi, bổ sung … của …").
            pre, rest = folded[:targets[0][0]], folded[targets[0][0]:]
            kind = None
            m_lead = False
            if _ENDS.search(pre):
                kind = "ends"
            elif _AMENDS.search(pre):
                kind = "amends"
            elif unit.point and _ENDS.search(lead):
                kind = "ends"
                m_lead = True
            elif unit.point and _AMENDS.search(lead):
                kind = "amends"
            elif _ENDS.search(rest):
                kind = "ends"
            if kind is None:
                continue
            if _TRANSITION_TITLE.match(t):
                continue  # "giấy phép cấp theo NĐ X (được sửa đổi bởi …) được tiếp tục …": transition, not relation
            first = targets[0]
            before = folded[:first[0]]
            m_verb = None
            for m_verb in _ENDS.finditer(folded):
                pass
            part = None
            if kind == "ends":
                # 'Bãi bỏ khoản 9 Điều 4 của Luật X' / 'Điều 8 … của Nghị định X hết hiệu lực': part of X
                loc = _LOCATOR.search(before)
                if loc and not re.search(r"\b(cac|nhung)\s+(luat|nghi dinh|thong tu|quyet dinh|nghi quyet)\s*(sau day)?$",
                                         before[:loc.start()].strip()):
                    part = text[loc.start():first[0]].strip(" ,;:")
                    part = re.sub(r"(\s+(của|tại|quy định tại))?(\s+(Bộ luật|Luật|Nghị định|Thông tư|Quyết định|Nghị quyết)"
                                  r"(\s+[^\s,;]+){0,8}?)?(\s+số)?\s*$", "", part).strip() or part
                    if "bai bo" in before or "bai bo" in folded[:loc.start() + 1]:
                        kind = "amends"  # a repeal of some provisions: an amendment of the text
            when = None
            doubt = None
            ctx = f"{lead} {folded}" if unit.point else folded
            if _SINCE_SELF.search(ctx) or (kind == "ends" and _EFFECT_TITLE.match(t) and not parse_date(text)):
                when = effective
            elif _SINCE_OTHER.search(ctx):
                when = None
                doubt = "from the date another text takes effect: " + ctx[_SINCE_OTHER.search(ctx).start():][:80]
            else:
                d = _date_after_verb(text, folded)
                when = d or effective
            chosen = [first] if kind == "ends" and part else targets
            # an enumeration 'Nghị định A, Nghị định B và Nghị định C hết hiệu lực': every ref before the verb
            if m_lead:
                chosen = [first]  # a point of the list names one text; the rest describes it
            elif kind == "ends" and not part and m_verb is not None:
                chosen = [r for r in targets if r[0] < m_verb.start()] or [first]
                # refs after the verb describe the targets ('… sửa đổi, bổ sung một số điều của NĐ 31/2021')
            elif kind == "amends":
                chosen = [first]
            for r in chosen:
                out.append(Relation(r[2], kind, number, art.number, unit.clause, unit.point, when, part,
                                    _squash(text), unit.line, doubt=doubt))
        if is_amending_act and not art_refs and not any(r.article == art.number for r in out) and \
                _AMENDS.search(t):
            # "Điều 1. Sửa đổi, bổ sung một số điều của Luật Sở hữu trí tuệ": the number is in the preamble
            # ("Quốc hội ban hành Luật sửa đổi, bổ sung một số điều của Luật Sở hữu trí tuệ số 50/2005/QH11 …")
            for name, ref, line in _preamble_targets(parsed, number):
                if name and name in t:
                    out.append(Relation(ref, "amends", number, art.number, None, None, effective, None,
                                        art.title, art.line, doubt="number read from the preamble"))
                    break
        t_refs = _refs(art.title or "", number)
        if t_refs and not is_amending_act and re.match(r"^(sua doi|bo sung|bai bo|thay the)", t) and \
                not any(r.article == art.number for r in out):
            # "Điều 72. Bổ sung Nghị định số 152/2020/NĐ-CP … như sau:": the title names the act amended
            kind = "ends" if re.match(r"^(bai bo|thay the)(?! cum tu)", t) else "amends"
            out.append(Relation(t_refs[0][2], kind, number, art.number, None, None, effective, None,
                                art.title[:300], art.line))
        if is_amending_act and art_refs and not any(r.article == art.number for r in out):
            t_refs = _refs(art.title, number)
            if t_refs or _AMENDS.search(t):
                tgt = (t_refs[0][2] if t_refs else art_refs[0])
                out.append(Relation(tgt, "amends", number, art.number, None, None, effective, None,
                                    art.title, art.line))
    if transition_art is not None:
        for r in {x.target for x in out if x.kind == "ends" and not x.part}:
            out.append(Relation(r, "transition", number, transition_art.number, line=transition_art.line,
                                quote=transition_art.title))
    return _dedupe(out), _dedupe(history)


def _preamble_targets(parsed: ParsedDocument, number: str) -> list[tuple[str, str, int]]:
    """(folded name, number, 0) of each act the preamble says this text amends: '… của Luật Sở hữu trí tuệ số X'."""
    out = []
    for line in parsed.preamble:
        folded = fold(line)
        if not _AMENDS.search(folded):
            continue
        refs = _refs(line, number)
        skip, _pairs = _history(line, folded, refs)
        for i, (start, _end, ref) in enumerate(refs):
            if i in skip:
                continue
            head = folded[:start]
            m = re.search(r"\bcua\s+(.{3,80}?)\s+(so\s+)?$", head)
            if m:
                out.append((m.group(1).strip(), ref, 0))
    return out


def _date_after_verb(text: str, folded: str) -> dt.date | None:
    m = re.search(r"(ke )?tu ngay\s+(\d|\s)", folded)
    return parse_date(text[m.start():]) if m else None


def _dedupe(rels: list[Relation]) -> list[Relation]:
    """One relation per (target, kind, source): the first provision that states it."""
    seen: dict[tuple[str, str, str], Relation] = {}
    for r in rels:
        key = (normalize_number(r.target), r.kind, normalize_number(r.source))
        if key not in seen:
            seen[key] = r
    return list(seen.values())


# ---------------------------------------------------------------------------------------------- incoming
_PREAMBLE_LIST = re.compile(r"duoc sua doi,?\s*bo sung boi\s*:")
_SOURCE_AMEND = re.compile(r"(được sửa đổi|được bổ sung|được sửa đổi, bổ sung|bị bãi bỏ)[^()]*?"
                           r"(?:bởi|theo quy định tại|theo|tại)\s+(.*)$")
_NOTE_AMEND = re.compile(r"(được sửa đổi|được bổ sung|bị bãi bỏ|được thay thế)[^\]]*?bởi\s+(.*)$", re.I)


def incoming_relations(parsed: ParsedDocument, lines: list[str], number: str) -> list[Relation]:
    """Acts that amended this text, as the text's preamble (VBHN), source lines and publisher notes name them."""
    out: list[Relation] = []
    # VBHN: "… được sửa đổi, bổ sung bởi: 1. Luật … số 72/2020/QH14 …, có hiệu lực kể từ ngày 01 tháng 01 năm 2022;"
    first_article = parsed.articles[0].line if parsed.articles else len(lines)
    pre = [(i + 1, unicodedata.normalize("NFC", lines[i])) for i in range(0, min(first_article - 1, len(lines)))]
    started = False
    for no, line in pre:
        f = fold(line)
        m = _PREAMBLE_LIST.search(f)
        if m:
            started = True
            line, f = line[m.end():], f[m.end():]
        if not started:
            continue
        if f.strip().startswith("can cu"):
            break
        for item in re.split(r"(?:^|\s)\d{1,2}\.\s", line):
            refs = _refs(item, number)
            if not refs:
                continue
            fi = fold(item)
            k = fi.find("co hieu luc")
            when = parse_date(item[k:]) if k >= 0 else None
            out.append(Relation(number, "amends", refs[0][2], from_=when, quote=item.strip()[:300], line=no,
                                origin="preamble"))
    for art in parsed.articles:
        if art.source_note:
            m = _SOURCE_AMEND.search(art.source_note)
            if m:
                for part in re.split(r";|, và |\bvà\b", m.group(2)):
                    refs = _refs(part, number)
                    if refs:
                        k = fold(part).find("co hieu luc")
                        out.append(Relation(number, "amends", refs[0][2], art.number,
                                            from_=parse_date(part[k:]) if k >= 0 else None,
                                            quote=art.source_note[:300], line=art.line, origin="source-line"))
        notes = list(art.notes) + [n for c in art.clauses for n in c.notes] + \
            [n for c in art.clauses for p in c.points for n in p.notes] + [n for p in art.points for n in p.notes]
        body = art.full_text()
        notes += [m.group()[1:-1] for m in _BRACKET_NOTE.finditer(body)]
        for note in notes:
            m = _NOTE_AMEND.search(note)
            if not m:
                continue
            seg = re.split(r"\s(?:có hiệu lực|có hiệu lực thi hành)\b|\)", m.group(2))[0]
            refs = _refs(seg, number)  # the amending act is named right after "bởi", before its date
            if refs:
                k = fold(m.group(2)).find("hieu luc")
                out.append(Relation(number, "amends", refs[0][2], art.number,
                                    from_=parse_date(m.group(2)[k:]) if k >= 0 else None, quote=note[:300],
                                    line=art.line, origin="publisher-note"))
    return _dedupe(out)


# ---------------------------------------------------------------------------------------------- entry
class NotALegalText(ValueError):
    pass


def draft_file(path: Path | str, corpus_dir: Path | str | None = None, text: str | None = None) -> Draft:
    """Read `path` (.txt, .docx, .html) and draft its entry. `corpus_dir`: to name the file relative to it."""
    path = Path(path)
    if text is None:
        text = read_any(path)
    rel = str(path)
    if corpus_dir is not None:
        try:
            rel = str(path.resolve().relative_to(Path(corpus_dir).resolve()))
        except ValueError:
            rel = path.name
    return draft_text(text, rel)


def read_any(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix == ".docx":
        return _read_docx(path)
    if suffix in (".html", ".htm"):
        return _read_html(path)
    text, issue = read_text(path)
    if text is None:
        raise NotALegalText(str(issue))
    return text


def _read_docx(path: Path) -> str:
    try:
        import docx  # python-docx
    except ImportError as e:  # pragma: no cover
        raise NotALegalText(f"{path}: reading .docx needs python-docx") from e
    try:
        d = docx.Document(str(path))
    except Exception as e:
        raise NotALegalText(f"{path}:1: not a readable .docx file ({e.__class__.__name__})") from e
    return "\n".join(p.text for p in d.paragraphs)


def _read_html(path: Path) -> str:
    from html.parser import HTMLParser

    class _Text(HTMLParser):
        BLOCK = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "td", "table", "section"}

        def __init__(self):
            super().__init__(convert_charrefs=True)
            self.parts: list[str] = []
            self.skip = 0

        def handle_starttag(self, tag, attrs):
            if tag in ("script", "style"):
                self.skip += 1
            elif tag in self.BLOCK:
                self.parts.append("\n")

        def handle_endtag(self, tag):
            if tag in ("script", "style") and self.skip:
                self.skip -= 1
            elif tag in self.BLOCK:
                self.parts.append("\n")

        def handle_data(self, data):
            if not self.skip:
                self.parts.append(data)

    raw, issue = read_text(path)
    if raw is None:
        raise NotALegalText(str(issue))
    p = _Text()
    p.feed(raw)
    lines = [re.sub(r"[ \t\u00a0]+", " ", x).strip() for x in "".join(p.parts).splitlines()]
    return "\n".join(x for x in lines if x)


def draft_text(text: str, file: str) -> Draft:
    parsed = parse_text(text, file)
    lines = text.splitlines()
    review: list[str] = []
    errors = [str(i) for i in parsed.issues if i.severity == "error"]
    if not parsed.articles:
        errors = errors or [f"{file}:1: no article found: not a legal text (expected lines like 'Điều 1. …')"]
        return Draft(file, parsed, {}, review=review, errors=errors)
    official = _official_lines(lines)

    # number
    number = (_header_value(parsed, "Số hiệu") or "").split(" ")[0] or None
    num_line = 1
    for no, s in official:
        m = re.match(r"^Số\s*:\s*(\S*)", s)
        if m:
            n = m.group(1) or ""
            if not n and no < len(lines):
                n = lines[no].strip()  # 'Số:' alone, the number on the next line
            m2 = NUMBER.search(n)
            if m2 and "VBHN" not in m2.group(1):
                if number and normalize_number(number) != normalize_number(m2.group(1)):
                    review.append(f"{file}:{no}: header number {number} differs from the text's 'Số: {m2.group(1)}'")
                number = number or m2.group(1)
                num_line = no
            break
    if not number:
        m = NUMBER.search(parsed.title or "")
        if m:
            number = m.group(1)
    if not number:
        errors.append(f"{file}:1: no document number found (neither 'Số hiệu:' nor 'Số: …' in its first lines)")
        return Draft(file, parsed, {}, review=review, errors=errors)

    # type and title
    typ = _header_value(parsed, "Loại văn bản")
    if typ:
        typ = re.sub(r"\s*\(.*?\)\s*", " ", typ).strip()  # "Nghị định (văn bản hợp nhất)" → "Nghị định"
        typ = next((t for t in sorted(TYPES.values(), key=len, reverse=True) if typ.lower().startswith(t.lower())),
                   typ)
    title = None
    for i, (no, s) in enumerate(official):
        head = s.split("\u2003")[0]
        key = fold(head).upper().strip()
        key = re.sub(r"[^A-Z ]", "", key).strip()
        if key in TYPES and head.isupper():
            typ = typ or TYPES[key]
            nxt = official[i + 1][1] if i + 1 < len(official) else ""
            if nxt and not nxt.startswith("Căn cứ"):
                title = f"{TYPES[key]} {nxt[0].lower() + nxt[1:]}" if not nxt.isupper() else \
                    f"{TYPES[key]} {_title_case(nxt).lower()}"
                if nxt.isupper():
                    review.append(f"{file}:{official[i + 1][0]}: title taken from an upper-case line: check its "
                                  "capitals (proper names)")
            break
    if not typ:
        for rx, t in _SUFFIX_TYPE:
            if re.search(rx, number):
                typ = t
                review.append(f"{file}:{num_line}: type '{t}' inferred from the number's suffix")
                break
    if parsed.header:  # the collector's title keeps the capitals an upper-case heading loses
        t = re.split(r"\s+—\s+", parsed.title)[0]
        t = re.sub(r"\s*\((?:Luật|Nghị định|Thông tư|Quyết định|Nghị quyết)?\s*số\s+[^)]*\)\s*", " ", t).strip()
        t = re.sub(rf"^({'|'.join(TYPES.values())})\s+{re.escape(number)}\s+", r"\1 ", t)
        if t:
            title = t
            review[:] = [r for r in review if "upper-case line" not in r]
    if not title:
        title = parsed.title
        review.append(f"{file}:1: title not found in the text: file name used")

    # issuer
    issuer = _header_value(parsed, "Cơ quan ban hành")
    if issuer:
        issuer = re.split(r"\s+khóa\s+|,|;", issuer)[0].strip()
    else:
        for _no, s in official[:4]:
            key = fold(s.split(" -")[0].strip(" -")).upper()
            key = re.sub(r"[^A-Z ]", "", key).strip()
            if key in ISSUERS:
                issuer = ISSUERS[key]
                break
            if s.isupper() and (key.startswith("BO ") or key.startswith("HOI DONG") or key.startswith("UY BAN")):
                issuer = _title_case(s.split(" -")[0]).replace("bộ ", "Bộ ")
                review.append(f"{file}:{_no}: issuer '{issuer}' from an upper-case line: check its capitals")
                break
    if not issuer:
        review.append(f"{file}:1: issuer not found")

    # dates
    issued = None
    hv = _header_value(parsed, "Ngày ban hành")
    if hv:
        issued = parse_date(hv)
    for no, s in official:
        m = re.search(r",\s*ngày\s+\d{1,2}\s+tháng\s+\d{1,2}\s+năm\s+\d{4}", s)
        if m:
            d = parse_date(m.group())
            if issued and d and d != issued and "VBHN" not in text[:3000]:
                review.append(f"{file}:{no}: header signing date {issued} differs from the text's {d}")
            issued = issued or d
            break
    if issued is None:
        m = re.search(r"thông qua ngày\s+(\d{1,2})\s+tháng\s+(\d{1,2})\s+năm\s+(\d{4})", text)
        if m:
            issued = dt.date(int(m.group(3)), int(m.group(2)), int(m.group(1)))
    if issued is None:
        review.append(f"{file}:1: signing date not found")

    effective, status_basis, article_validity = _effect(parsed, number, typ or "", issued, review, file)
    hv = _header_value(parsed, "Ngày hiệu lực")
    if hv and effective and parse_date(hv) and parse_date(hv) != effective:
        review.append(f"{file}: header effective date {parse_date(hv)} differs from the text's {effective}")
    if effective is None and hv and parse_date(hv):
        effective = parse_date(hv)
        review.append(f"{file}: effective date {effective} taken from the collector's header, not the text")
    if effective is None:
        review.append(f"{file}: effective date not found (no '… này có hiệu lực …' clause)")

    signer = _header_value(parsed, "Người ký")
    if signer and fold(signer).startswith("khong co"):
        signer = None
    s2, sline = _signer(lines)
    signer = signer or s2
    if not signer:
        review.append(f"{file}: signer not found")

    relations, history = draft_relations(parsed, number, effective, review)
    incoming = incoming_relations(parsed, lines, number) + [h for h in history
                                                            if normalize_number(h.target) == normalize_number(number)]
    low = file.startswith("ocr/") or "/ocr/" in file  # the corpus keeps OCR and unverified copies in ocr/
    consolidated = None
    m = re.search(r"(\d{1,5}/VBHN-[A-ZĐ]+)", " ".join([parsed.title, _header_value(parsed, "Số hiệu") or ""]
                                                          + [x for _n, x in official[:8]]))
    if m:
        consolidated = {"number": m.group(1), "date": None}
        review.append(f"{file}: consolidated text {m.group(1)}: its date to be filled in")
    quality = fold(" ".join(filter(None, [_header_value(parsed, "Tình trạng (theo văn bản thu thập)", "Tình trạng"),
                                          _header_value(parsed, "Chất lượng"), parsed.title])))
    if re.search(r"chua (gom|co|cap nhat|phan anh)[^.;]{0,80}sua doi|chua sua doi|khong co trong van ban|"
                 r"not (include|reflect)", quality):
        review.append(f"{file}: the copy lacks later amendments (its header says so): add validity_doubt")

    t = typ or "?"
    n, _, rest = number.partition("/")
    year = rest.split("/")[0] if rest else ""
    short = f"{SHORT.get(t, t)} {n}/{year}" if year.isdigit() else f"{SHORT.get(t, t)} {number}"
    entry = {
        "number": number, "type": t, "title": title, "title_en": None, "short": short,
        "aliases": [f"{t.lower()} {n}/{year}", f"{t.lower()} số {number}"] if year.isdigit() else [],
        "issuer": issuer, "issued": issued, "effective": effective, "expires": None, "status_basis": status_basis,
        "signer": signer, "replaced_by": [], "amended_by": [
            {"number": r.source, "from": r.from_, "note": f"{_origin_vi(r.origin)}: {r.quote[:120]}"}
            for r in incoming],
        "transition": None, "article_validity": article_validity, "file": file, "consolidated": consolidated,
        "confidence": "low" if low else "high", "partial": False, "known_gaps": [], "topics": [],
    }
    if incoming:
        review.append(f"{file}: amended_by read from the text's preamble, source lines or publisher notes "
                      f"({len(incoming)}): check")
    history = [h for h in history if normalize_number(h.target) != normalize_number(number)]
    return Draft(file, parsed, entry, relations, incoming, history, review, errors)


def _origin_vi(origin: str) -> str:
    return {"preamble": "lời dẫn văn bản hợp nhất", "source-line": "dòng nguồn pháp điển",
            "publisher-note": "ghi chú của nhà xuất bản", "history": "văn bản khác ghi"}.get(origin, origin)


def _effect(parsed: ParsedDocument, number: str, typ: str, issued: dt.date | None, review: list[str],
            file: str) -> tuple[dt.date | None, str | None, list[dict]]:
    effective = None
    basis = None
    rules: list[dict] = []
    for art in list(reversed(parsed.articles))[:6]:  # the effect clause sits in one of the last articles
        t = fold(art.title or "")
        if not (_EFFECT_TITLE.match(t) or "hieu luc" in t or "thi hanh" in t or "thuc hien" in t):
            continue
        units = [(c.number, c.text.replace("\n", " ")) for c in art.clauses] or [(None, " ".join(art.intro))]
        for clause, text in units:
            f = fold(text)
            m = _SELF_EFFECT.search(f)
            if m and effective is None:
                if "ngay ky" in m.group() and not parse_date(text[m.start():]):
                    effective = issued
                    if issued is None:
                        review.append(f"{file}:{art.line}: in force from signing, but the signing date is unknown")
                else:
                    effective = parse_date(text[m.start():])
                basis = f"Điều {art.number}" + (f" khoản {clause}" if clause else "") + f" {typ} {number}".rstrip()
                continue
            m = _ARTICLE_EFFECT.search(f.strip())
            if m:
                arts = re.findall(r"\d+[a-z]?", m.group(3))
                d = parse_date(text[m.end():])
                if arts and d:
                    rules.append({"articles": arts, "effective": d, "expires": None,
                                  "note": f"{text.strip()[:200]} (Điều {art.number}"
                                          + (f" k{clause})" if clause else ")")})
                    review.append(f"{file}:{art.line}: article dates read from Điều {art.number}"
                                  + (f" k{clause}" if clause else "") + f": articles {', '.join(arts)} from {d}")
        if effective is not None:
            break
    return effective, basis, rules


# ---------------------------------------------------------------------------------------------- impact
@dataclass
class Impact:
    """What adding a draft changes for documents the catalog already knows."""

    lines: list[str]
    updates: list[dict]  # DocumentUpdate-shaped
    unknown: list[Relation]  # relations naming documents the catalog does not know
    conflicts: list[str]
    known: list[dict] = field(default_factory=list)  # not_in_corpus entries drafted for those documents


def impact(draft: Draft, catalog: Catalog) -> Impact:
    lines: list[str] = []
    updates: dict[str, dict] = {}
    unknown: list[Relation] = []
    conflicts: list[str] = []
    number = draft.number
    if not number:
        return Impact([], [], [], [])
    if catalog.missing(number):
        lines.append(f"{number}: was listed as not in the corpus; becomes a held document")
    for r in draft.relations:
        meta = catalog.by_number(r.target)
        miss = catalog.missing(r.target) if meta is None else None
        if meta is None and miss is None:
            unknown.append(r)
            continue
        key = (meta or miss).number
        u = updates.setdefault(key, {"number": key, "source": r.where})
        note = f"{r.where}: {r.quote[:160]}"
        rel = {"number": number, "from": r.from_, "note": note}
        if r.kind == "ends":
            if r.part:
                rel["note"] = f"{r.part} — {note}"
                rel["content"] = True
            if "bai bo" in fold(r.quote) and not r.part:
                rel["content"] = False  # a repeal names no successor; a reviewer sets content: true if it is one
            u.setdefault("replaced_by", []).append(rel)
            if not r.part and meta is not None:
                if meta.expires and r.from_ and meta.expires != r.from_:
                    conflicts.append(f"{key}: catalog says it ends {meta.expires}, {r.where} says {r.from_}")
                if r.from_:
                    u["expires"] = r.from_
                art = f"Điều {r.article}" + (f" khoản {r.clause}" if r.clause else "")
                u["status_basis"] = f"{art} {draft.entry.get('type', '')} {number}".replace("  ", " ")
            if miss is not None and not r.part and r.from_:
                u["status"] = (f"Hết hiệu lực từ {r.from_.strftime('%d/%m/%Y')} ({r.where.replace(number, '').strip()}"
                               f" {draft.entry.get('type', '')} {number})").replace("  ", " ")
        elif r.kind == "amends":
            if meta is None:
                continue  # the catalog keeps no amendment history for texts it does not hold
            if r.part:
                rel["note"] = f"{r.part} — {note}"
            u.setdefault("amended_by", []).append(rel)
        elif r.kind == "transition" and meta is not None:
            u["transition"] = {"number": number, "article": r.article, "note": f"{r.where}: {r.quote[:120]}"}
        lines.append(r.describe(catalog))
    for h in draft.history:  # "Luật X đã được sửa đổi, bổ sung theo Luật A": X amended by A, if X is held
        meta = catalog.by_number(h.target)
        if meta is None or any(normalize_number(r.number) == normalize_number(h.source) for r in meta.amended_by):
            continue
        u = updates.setdefault(meta.number, {"number": meta.number, "source": h.doubt or number})
        u.setdefault("amended_by", []).append({"number": h.source, "from": None,
                                               "note": f"{h.doubt or number}: {h.quote[:120]}"})
        lines.append(f"{meta.number}: amended by {h.source} (as {h.doubt or number} states)")
    for u in list(updates.values()):
        if len(u) <= 2:
            del updates[u["number"]]
    known = known_not_held(unknown, draft)
    for k in known:
        lines.append(f"{k['number']}: not held; recorded as known ({k['status']})")
    return Impact(lines, list(updates.values()), unknown, conflicts, known)


_TYPE_WORDS = r"(Bộ luật|Luật|Nghị định|Nghị quyết|Thông tư liên tịch|Thông tư|Quyết định|Pháp lệnh)"


def _title_of(ref: str, quote: str) -> str | None:
    """'Luật Công nghệ thông tin số 67/2006/QH11' → 'Luật Công nghệ thông tin'; 'Nghị định số 82/2018/NĐ-CP ngày …
    của Chính phủ quy định về quản lý khu công nghiệp …' → 'Nghị định quy định về quản lý khu công nghiệp …'."""
    i = quote.find(ref)
    if i < 0:
        return None
    before, after = quote[:i], quote[i + len(ref):]
    m = None
    for t in reversed(list(re.finditer(_TYPE_WORDS, before))):  # the type word nearest the number
        m = re.match(rf"{_TYPE_WORDS}((?:\s+(?!số\b)[^\s;:]+){{0,16}}?)\s+số\s*$", before[t.start():])
        if m:
            break
    if not m:
        return None
    name = (m.group(1) + m.group(2)).strip()
    if m.group(2).strip():
        return name
    tail = re.sub(r"^\s*ngày\s+\d{1,2}\s+tháng\s+\d{1,2}\s+năm\s+\d{4}", "", after)
    tail = re.sub(r"^\s*của\s+(Chính phủ|Thủ tướng Chính phủ|Quốc hội|Bộ trưởng [^,;]*?|Bộ [^,;]*?)\s+(?=quy định|về|"
                  r"hướng dẫn|ban hành|sửa đổi)", "", tail)
    desc = re.split(r"[;.]|,\s(?=trừ|kể từ|có hiệu lực|được|đã)|\s(?:đã được|được sửa đổi|hết hiệu lực|như sau)",
                    tail)[0].strip()
    return f"{name} {desc}".strip() if desc and len(desc) < 250 else None


def known_not_held(unknown: list[Relation], draft: Draft) -> list[dict]:
    """not_in_corpus entries for the documents a new text ends or amends that the catalog does not know: their
    status and the provision that says so, so a question naming them is told what the texts held say."""
    out: dict[str, dict] = {}
    for r in unknown:
        if r.kind not in ("ends", "amends") or normalize_number(r.target) in {normalize_number(x) for x in out}:
            continue
        art = f"Điều {r.article}" + (f" khoản {r.clause}" if r.clause else "") + \
            (f" điểm {r.point}" if r.point else "")
        typ = draft.entry.get("type", "")
        when = f" từ {r.from_.strftime('%d/%m/%Y')}" if r.from_ else ""
        if r.kind == "ends" and not r.part:
            status = f"Hết hiệu lực{when} ({art} {typ} {draft.number})"
        elif r.kind == "ends":
            status = f"{r.part} hết hiệu lực{when} ({art} {typ} {draft.number})"
        else:
            status = f"Được sửa đổi, bổ sung{when} bởi {art} {typ} {draft.number}" + (f" ({r.part})" if r.part else "")
        title = _title_of(r.target, r.quote)
        n, _, rest = r.target.partition("/")
        year = rest.split("/")[0]
        t = re.match(_TYPE_WORDS, title or "")
        short = f"{SHORT.get(t.group(1), t.group(1)) if t else ''} {n}/{year}".strip()
        entry = {"number": r.target, "title": title or r.target, "short": short,
                 "aliases": [f"{t.group(1).lower()} {n}/{year}"] if t else [],
                 "status": status.replace("  ", " "),
                 "replaced_by": draft.number if r.kind == "ends" and not r.part and "bai bo" not in fold(r.quote)
                 else None,
                 "note": f"Văn bản chưa có trong kho dữ liệu; ghi nhận khi thêm {draft.number} (htp corpus add)"
                         + ("" if title else "; tên văn bản chưa đọc được, cần bổ sung")}
        out[r.target] = entry
    return list(out.values())
