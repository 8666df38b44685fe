"""Questions about a document's own status: "Nghị định 10/2024 còn hiệu lực không?", "Luật CNC 2025 có hiệu lực
từ ngày nào, thay thế luật nào?", "GPLĐ cấp theo NĐ 152/2020 nay còn dùng được không?".

Their answer is not found by word overlap (every article of the named document matches its name equally): the
catalog knows which provision ends the document (``status_basis``), which article sets its own effect
("Hiệu lực thi hành") and where the transition rules are (``transition``, or the document's own "Quy định chuyển
tiếp"). Those provisions are looked up directly, and the answer's lead states the status plainly.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from corpus.catalog import Catalog, DocumentMeta
from corpus.validity import doubtful, fmt_date, in_force
from indexing.text import fold

# Matched on the folded, lower-cased question.
_TRANSITION = re.compile(r"chuyen tiep|tiep tuc (duoc )?(huong|su dung|ap dung|co hieu luc|thuc hien|dung)"
                         r"|lam lai|transition|grandfather|continue(s)? to (apply|enjoy|be valid)")
_INTENTS: list[tuple[str, re.Pattern]] = [
    ("transition", _TRANSITION),
    ("in_force", re.compile(
        r"con hieu luc|het hieu luc|con (duoc )?ap dung|bi bai bo|bi thay the|(con|van) (nguyen )?gia tri"
        r"|(con|van|co con) (dung duoc|su dung duoc|duoc su dung|duoc dung)"
        r"|still (in force|valid|appl|effective)|remains? valid|no longer (in force|valid|appl)|repealed|superseded"
        r"|in force\b")),
    ("replaced_by", re.compile(
        r"bi thay the|thay the (boi|bang)|(van ban|nghi dinh|luat|quyet dinh|thong tu|nghi quyet) nao (da )?thay the"
        r"|replaced by|superseded by|what replace|which \w+ replace")),
    ("effective", re.compile(
        r"(co|bat dau co|phat sinh) hieu luc (thi hanh )?(tu|ke tu|vao|tu ngay|khi|luc)|hieu luc (tu|ke tu) (ngay|khi|luc)"
        r"|khi nao .{0,60}(co|bat dau co|phat sinh) hieu luc|(da )?co hieu luc chua|ngay (co )?hieu luc"
        r"|(bat dau )?ap dung (tu )?(ngay|khi|ky) ?(nao)?|ap dung tu (ngay|khi|ky)"
        r"|(take|took|taken|takes) effect|c(o|a)me into (force|effect)|effective (date|from|since|on)|in effect"
        r"|when (was|is|did|does) .{0,60}(effective|in force)")),
    ("replaces", re.compile(
        r"thay the (nhung |cac )?(nghi dinh|luat|quyet dinh|thong tu|van ban|nghi quyet)?\s*nao"
        r"|bai bo (nhung |cac )?(nghi dinh|luat|quyet dinh|thong tu|van ban|nghi quyet)?\s*nao"
        r"|(replace|repeal)[sd]? (which|what)|(which|what) .{0,60}(does|did) .{0,60}(replace|repeal)\b")),
]
# "giấy này còn hiệu lực không?", "GPLĐ cấp theo NĐ 152/2020 nay còn dùng được không?": the validity asked about is
# a certificate's or permit's issued under the named text, which the transition rules settle, not the text's own.
# ("thẻ", a card, is recognised on its accents: folded, it is the English article.)
def _still_valid(instrument: str, still: str, valid: str) -> re.Pattern:
    return re.compile(rf"{instrument}[^?;]{{0,60}}\b({still})\b[^?.;]{{0,12}}({valid})")


_INSTRUMENT_VALID = _still_valid(r"\b(giay|gcn|gpld|gcndkdt|chung nhan|chung chi|certificates?|permits?|licen[cs]es?|cards?)\b",
                                 "con|van|het|still|remains?",
                                 "hieu luc|gia tri|dung duoc|su dung duoc|duoc su dung|valid|in force")
_CARD_VALID = _still_valid(r"\bthẻ\b", "còn|vẫn|hết|still|remains?",  # matched on the accented text
                           "hiệu lực|giá trị|dùng được|sử dụng được|được sử dụng|valid|in force")
# "thay thế nghị định nào" asks what the named text replaced, "văn bản nào thay thế" what replaced it.
_REPLACED_BY_FIRST = re.compile(r"bi thay the|thay the (boi|bang)|nao (da )?thay the|replaced by|superseded by")

_EFFECT_TITLE = re.compile(r"^(hieu luc( thi hanh)?( va trach nhiem (thi hanh|thuc hien))?|dieu khoan thi hanh)$")
_TRANSITION_TITLE = re.compile(r"^(quy dinh|dieu khoan) chuyen tiep\b")
_BASIS = re.compile(r"(?:khoản\s+(\d+)\s+)?Điều\s+(\d+[a-z]?)(?!\s*[–-]\s*\d)(?:\s+khoản\s+(\d+))?", re.I)


# A question that may concern the transition from earlier rules: a certificate or project that exists already,
# an earlier text, a date.
_EARLIER = re.compile(r"\b(cu|truoc (day|ngay|khi|thoi diem)|da (duoc )?cap|dang (huong|co|duoc)|con han|chuyen tiep"
                      r"|old|previous|former|before|already|existing|issued|transition|until|den het|nam \d{4}"
                      r"|\d{1,2}/\d{1,2}/\d{4}|\d{4})\b")


def about_earlier_rules(text: str, asked: list[str] | None = None) -> bool:
    """Whether the question may concern transition or effect provisions at all (see HybridRetriever). `asked`:
    its `intents`, when the caller has them."""
    return bool(intents(text) if asked is None else asked) or bool(_EARLIER.search(fold(text).lower()))


def intents(text: str) -> list[str]:
    """The status questions asked, most specific first ("transition" before "in_force")."""
    f = fold(text).lower()
    found = [name for name, rx in _INTENTS if rx.search(f)]
    if "replaces" in found and _REPLACED_BY_FIRST.search(f):
        found.remove("replaces")
    if _INSTRUMENT_VALID.search(f) or _CARD_VALID.search(text.lower()):
        if "in_force" in found:
            found.remove("in_force")
        if "transition" not in found:
            found.insert(0, "transition")
    return found


@dataclass(frozen=True)
class Target:
    """A provision that answers a status question, looked up directly."""

    document: str
    article: str
    clause: str | None
    about: str  # the named document the question asks about
    intent: str


def basis_provision(meta: DocumentMeta, catalog: Catalog) -> tuple[str, str, str | None] | None:
    """The provision ``status_basis`` names ("Điều 24 khoản 2 Nghị định 263/2026/NĐ-CP"), when its document is
    in the catalog: for a repealed text, the provision that ends it; for a current one, its own effect clause."""
    s = meta.status_basis or ""
    m = _BASIS.search(s)
    if m is None:
        return None
    clause = m.group(1) or m.group(3)
    numbers = [d.number for d in catalog.documents if d.number in s]
    if not numbers:
        return None
    return max(numbers, key=len), m.group(2), clause


@dataclass(frozen=True)
class Landmarks:
    """Per document of the index: its effect article and its first transition article, from the titles."""

    effect: dict[str, str]
    transition: dict[str, str]
    documents: frozenset[str] = frozenset()
    closing: frozenset[tuple[str, str]] = frozenset()  # every effect and transition article

    @classmethod
    def from_titles(cls, titles: dict[tuple[str, str], str]) -> "Landmarks":
        effect: dict[str, str] = {}
        transition: dict[str, str] = {}
        closing: set[tuple[str, str]] = set()
        for (doc, art), title in titles.items():
            t = fold(title or "").lower().strip()
            if _EFFECT_TITLE.match(t):
                effect.setdefault(doc, art)
                closing.add((doc, art))
            if _TRANSITION_TITLE.match(t):
                transition.setdefault(doc, art)
                closing.add((doc, art))
        return cls(effect, transition, frozenset(doc for doc, _ in titles), frozenset(closing))


def targets(text: str, named: list[str], catalog: Catalog, as_of: dt.date, marks: Landmarks,
            asked: list[str] | None = None) -> list[Target]:
    """The provisions answering the status questions asked about the named documents, best first. `asked`: the
    question's `intents`, when the caller has them."""
    asked = intents(text) if asked is None else asked
    if not asked or not named:
        return []
    # A certificate "still valid?" is a transition question only about a text that has gone: "GPLĐ hết hiệu lực
    # khi nào theo NĐ 219/2025?" asks about the permit's own term under a text in force.
    explicit_transition = bool(_TRANSITION.search(fold(text).lower()))
    out: list[Target] = []

    def add(doc: str, art: str | None, clause: str | None, about: str, intent: str) -> None:
        if art and doc in marks.documents and not any(t.document == doc and t.article == art for t in out):
            out.append(Target(doc, art, clause, about, intent))

    for number in named:
        meta = catalog.by_number(number)
        if meta is None:
            # Known but not held: the provision of a text held that ends it ("Điều 111 k3 NĐ 96/2026").
            known = missing_basis(number, catalog)
            if known is not None and asked != ["transition"]:
                add(*known, number, asked[0])
            continue
        current = in_force(meta, as_of)
        basis = basis_provision(meta, catalog)
        own_basis = basis if basis and basis[0] == meta.number else None
        if own_basis and marks.effect.get(number) not in (None, own_basis[1]):
            own_basis = None  # a basis read from the codification notes, not the text's effect article
        for intent in asked:
            if intent == "transition" and current and not explicit_transition:
                continue
            if intent == "transition":
                if meta.transition and meta.transition.article and meta.transition.number in marks.documents:
                    add(meta.transition.number, meta.transition.article, None, number, intent)
                else:
                    add(number, marks.transition.get(number), None, number, intent)
            elif intent in ("in_force", "replaced_by"):
                if not current and basis and basis[0] != meta.number and basis[0] in marks.documents:
                    add(*basis, number, intent)
                elif own_basis:
                    add(*own_basis, number, intent)
                else:
                    add(number, marks.effect.get(number), None, number, intent)
            elif intent == "effective" and own_basis:  # the clause that sets its start
                add(*own_basis, number, intent)
            else:  # its start or what it replaced: the clause of its effect article the words match best
                add(number, marks.effect.get(number) or (own_basis[1] if own_basis else None), None, number,
                    intent)
    return out


# ---------------------------------------------------------------------------------------------- known, not held
_STATUS_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")


def missing_basis(number: str, catalog: Catalog) -> tuple[str, str, str | None] | None:
    """For a text the corpus lacks (``not_in_corpus``): the provision of a text held that states its status, as
    its ``status`` names it ("Hết hiệu lực từ 01/03/2026 (Điều 111 khoản 3 điểm c NĐ 96/2026/NĐ-CP …)")."""
    d = catalog.missing(number)
    if d is None or not d.status:
        return None
    m = _BASIS.search(d.status)
    if m is None:
        return None
    # the held text named right after the article ("… Điều 111 khoản 3 điểm c NĐ 96/2026/NĐ-CP …")
    held = [(d.status.find(x.number, m.end()), x.number) for x in catalog.documents if x.number in d.status[m.end():]]
    if not held:
        return None
    return min(held)[1], m.group(2), m.group(1) or m.group(3)


def missing_status(number: str, catalog: Catalog, as_of: dt.date, lang: str, ref: str = "") -> str | None:
    """A text the corpus lacks but others speak of: what the texts held say of it, and its successor's status —
    "NĐ 239/2025 (239/2025/NĐ-CP) không có trong kho văn bản; hết hiệu lực từ 01/03/2026 theo Điều 111 khoản 3
    NĐ 96/2026 [1]; văn bản thay thế: NĐ 96/2026 (96/2026/NĐ-CP), còn hiệu lực." `ref`: the citation mark of
    the provision that says so."""
    d = catalog.missing(number)
    if d is None:
        return None
    en = lang == "en"
    name = f"{d.short or d.number} ({d.number})" if d.short else d.number
    s = f"{name} is not in the assistant's corpus" if en else f"{name} không có trong kho văn bản của trợ lý"
    basis = missing_basis(number, catalog)
    dates = _STATUS_DATE.search(d.status or "")
    low = (d.status or "").lower()
    if basis and dates and ("hết hiệu lực" in low or "thay thế" in low or "bãi bỏ" in low):
        doc = catalog.by_number(basis[0])
        until = dt.date(int(dates.group(3)), int(dates.group(2)), int(dates.group(1)))
        where = f"Điều {basis[1]}" + (f" khoản {basis[2]}" if basis[2] else "") + f" {doc.short if doc else basis[0]}"
        gone = as_of >= until
        if en:
            where = where.replace("Điều", "Article").replace("khoản", "clause")
            s += (f"; it ceased to have effect on {fmt_date(until)}" if gone else
                  f"; it ceases to have effect on {fmt_date(until)}") + f" under {where}{ref}"
        else:
            s += (f"; hết hiệu lực từ {fmt_date(until)}" if gone else f"; sẽ hết hiệu lực từ {fmt_date(until)}") + \
                f" theo {where}{ref}"
        if doc is not None and doc.low_confidence and doc.number != d.replaced_by:  # else its validity says so
            s += " (unverified OCR copy)" if en else " (bản OCR chưa kiểm chứng)"
    elif d.status and not d.status.lower().startswith("chưa kiểm tra"):
        s += f" ({d.status})"
    succ = catalog.by_number(d.replaced_by) if d.replaced_by else None
    if succ is not None:
        from corpus.validity import validity

        v = validity(succ, as_of, catalog).note(lang)
        sname = f"{succ.title_en} ({succ.number})" if en and succ.title_en else f"{succ.short} ({succ.number})"
        if en:
            s += f"; the text now in the corpus in its place: {sname}, {v}"
        else:
            s += f"; văn bản thay thế có trong kho: {sname}, {v}"
    elif d.replaced_by:
        s += f"; replaced by {d.replaced_by}" if en else f"; văn bản thay thế: {d.replaced_by}"
    return s + "."


def status_lead(target: Target, catalog: Catalog, as_of: dt.date, lang: str, index: int | None) -> str | None:
    """One plain statement of the named document's status, from the catalog, with the citation that grounds it
    placed after the fact it grounds (the end of the text, its start, or the transition rules)."""
    meta = catalog.by_number(target.about)
    if meta is None:
        return missing_status(target.about, catalog, as_of, lang, f" [{index}]" if index else "")
    en = lang == "en"
    ref = f" [{index}]" if index else ""
    intent = target.intent
    start_ref = ref if intent in ("effective", "replaces") else ""
    end_ref = ref if intent in ("in_force", "replaced_by") else ""
    name = f"{meta.title_en} ({meta.number})" if en and meta.title_en else f"{meta.short} ({meta.number})"
    repl = [catalog.by_number(r.number) or catalog.missing(r.number) for r in meta.replaced_by if r.content]
    repl_s = ", ".join(f"{getattr(r, 'short', None) or r.number} ({r.number})" for r in repl if r is not None)
    since = fmt_date(meta.effective)
    if meta.effective and as_of < meta.effective:
        s = (f"{name} is not yet in force on {fmt_date(as_of)}: it takes effect on {since}{start_ref or end_ref}."
             if en else
             f"{name} chưa có hiệu lực vào ngày {fmt_date(as_of)}: có hiệu lực từ {since}{start_ref or end_ref}.")
    elif not in_force(meta, as_of):
        until = fmt_date(meta.expires)
        if en:
            s = (f"{name} took effect on {since}{start_ref} and is " if intent in ("effective", "replaces")
                 else f"{name} is ") + f"no longer in force: it ceased to have effect on {until}{end_ref}"
            s += f"; replaced by {repl_s}." if repl_s else "."
        else:
            s = (f"{name} có hiệu lực từ {since}{start_ref}; " if intent in ("effective", "replaces")
                 else f"{name} ") + f"không còn hiệu lực: hết hiệu lực từ {until}{end_ref}"
            s += f"; văn bản thay thế: {repl_s}." if repl_s else "."
    elif doubtful(meta, as_of):  # no repeal in the corpus, but its legal basis has gone: say so, not "in force"
        d = meta.validity_doubt
        s = (f"{name} took effect on {since}{start_ref}; its validity on {fmt_date(as_of)} needs checking: "
             f"{d.en}{end_ref}." if en else
             f"{name} có hiệu lực từ {since}{start_ref}; hiệu lực vào ngày {fmt_date(as_of)} cần được kiểm tra: "
             f"{d.vi}{end_ref}.")
    elif en:
        s = f"{name} is in force on {fmt_date(as_of)}" + (f" (since {since})" if meta.effective else "") + \
            f"{start_ref or end_ref}"
        s += (f"; it ceases to have effect on {fmt_date(meta.expires)}" + (f", replaced by {repl_s}" if repl_s else "")
              if meta.expires else "") + "."
    else:
        s = f"{name} còn hiệu lực vào ngày {fmt_date(as_of)}" + (f" (có hiệu lực từ {since})" if meta.effective
                                                                 else "") + f"{start_ref or end_ref}"
        s += (f"; hết hiệu lực từ {fmt_date(meta.expires)}" + (f", văn bản thay thế: {repl_s}" if repl_s else "")
              if meta.expires else "") + "."
    if intent == "transition":
        s += (f" What may still be done under the earlier rules is set by the transition provisions{ref}."
              if en else f" Các trường hợp còn được áp dụng theo quy định trước đây: quy định chuyển tiếp{ref}.")
    return s
