"""Query understanding without an LLM: language, accentless input, abbreviations, explicit references.

Everything here is deterministic and cheap (well under a millisecond, plus underthesea later for terms).
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

from corpus.catalog import Catalog
from indexing.text import fold, has_diacritics, normalize

# Abbreviations investors and staff type (folded, lower-case keys) → expansion.
ABBREVIATIONS: dict[str, str] = {
    "kcnc": "khu công nghệ cao",
    "cnc": "công nghệ cao",
    "dncnc": "doanh nghiệp công nghệ cao",
    "tndn": "thu nhập doanh nghiệp",
    "tncn": "thu nhập cá nhân",
    "gtgt": "giá trị gia tăng",
    "xnk": "xuất khẩu nhập khẩu",
    "gpld": "giấy phép lao động",
    "gcndkdt": "giấy chứng nhận đăng ký đầu tư",
    "gcn": "giấy chứng nhận",
    "bql": "ban quản lý",
    "dn": "doanh nghiệp",
    "ndt": "nhà đầu tư",
    "nd": "nghị định",
    "tt": "thông tư",
    "qd": "quyết định",
    "nq": "nghị quyết",
    "ubnd": "ủy ban nhân dân",
    "hdnd": "hội đồng nhân dân",
    "fdi": "nhà đầu tư nước ngoài vốn đầu tư nước ngoài",
    "nldnn": "người lao động nước ngoài",
    "ldnn": "lao động nước ngoài",
    "khcn": "khoa học và công nghệ",
    "kh&cn": "khoa học và công nghệ",
    "dmst": "đổi mới sáng tạo",
    "r&d": "nghiên cứu và phát triển",
    "nc&pt": "nghiên cứu và phát triển",
    "nnudcnc": "nông nghiệp ứng dụng công nghệ cao",
    "tthc": "thủ tục hành chính",
    "sxkd": "sản xuất kinh doanh",
    "qsdd": "quyền sử dụng đất",
    "vat": "giá trị gia tăng",
    "cit": "thuế thu nhập doanh nghiệp",
}

# English questions get a lexical channel into the Vietnamese texts through a bilingual glossary
# (assistant/glossary_en.yaml: about 1,330 entries, each Vietnamese phrase checked against the texts).
GLOSSARY_FILE = Path(__file__).resolve().parent / "glossary_en.yaml"


def load_glossary(path: Path = GLOSSARY_FILE) -> list[tuple[str, str]]:
    """The glossary file's (regex, Vietnamese) pairs; a bad entry names its position and what is wrong."""
    import yaml

    entries = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    out = []
    for i, e in enumerate(entries, 1):
        if not (isinstance(e, dict) and isinstance(e.get("en"), str) and isinstance(e.get("vi"), str)):
            raise ValueError(f"{path}: entry {i} must have text fields 'en' and 'vi'")
        try:
            re.compile(e["en"])
        except re.error as err:
            raise ValueError(f"{path}: entry {i} ({e['en']!r}) is not a valid regular expression: {err}") from err
        out.append((e["en"], normalize(e["vi"].replace(", ", " "))))
    return out


GLOSSARY_EN: list[tuple[str, str]] = load_glossary()
# Names the glossary's content: vectors of English questions embedded with its terms are cached under it.
GLOSSARY_DIGEST = hashlib.sha1(repr(GLOSSARY_EN).encode()).hexdigest()[:12]
_GLOSSARY = [(re.compile(rf"\b(?:{p})\b", re.I), vi) for p, vi in GLOSSARY_EN]

_EN_WORDS = set("""me we you our us i give get the a an is are was were what which who whom how when where why does do did can could should would
will of for to in on at by with from about my our your their its this that these those there any much many
long need must may please tell explain if or and not be been being have has had get gets allowed apply
""".split())

_DOC_TYPES = {
    "luat": "Luật", "bo luat": "Bộ luật", "nghi dinh": "Nghị định", "nd": "Nghị định", "thong tu": "Thông tư",
    "tt": "Thông tư", "quyet dinh": "Quyết định", "qd": "Quyết định", "nghi quyet": "Nghị quyết", "nq": "Nghị quyết",
    "decree": "Nghị định", "circular": "Thông tư", "decision": "Quyết định", "resolution": "Nghị quyết", "law": "Luật",
}
_FULL_NUMBER = re.compile(r"\b(\d{1,4})\s*/\s*(\d{4})\s*/\s*([A-Za-zĐđ]{2,}(?:\s*-\s*[A-Za-zĐđ0-9]+)*)")
_SHORT_NUMBER = re.compile(r"\b(\d{1,4})\s*/\s*([A-Za-zĐđ]{2,}\s*-\s*[A-Za-zĐđ]{2,})\b")
_TYPED_NUMBER = re.compile(
    r"\b(bo luat|luat|nghi dinh|nd|thong tu|tt|quyet dinh|qd|nghi quyet|nq|decree|circular|decision|resolution|law)"
    r"\s*(?:so|no\.?|number)?\s*(\d{1,4})(?:\s*/\s*(\d{4}))?\b")
_ARTICLE_REF = re.compile(r"\b(?:dieu|article|art\.)\s*(\d{1,3}[a-z]?)\b")
_CLAUSE_REF = re.compile(r"\b(?:khoan|clause)\s*(\d{1,2}[a-z]?)\b")
_POINT_REF = re.compile(r"\b(?:diem|point)\s*([a-z])\b")
_YEAR = re.compile(r"\b(19[5-9]\d|20[0-4]\d)\b")


@dataclass
class DocRef:
    number: str
    in_corpus: bool
    article: str | None = None
    clause: str | None = None
    point: str | None = None


@dataclass
class ParsedQuery:
    raw: str
    text: str  # normalised
    language: str  # "vi" | "en"
    accentless: bool
    expanded: str  # text + expansions, used for lexical terms
    refs: list[DocRef] = field(default_factory=list)
    missing_refs: list[str] = field(default_factory=list)  # referenced documents not in the corpus
    years: list[int] = field(default_factory=list)
    # What the question asks, read once here for every later stage (retrieval, ranking, judge, composer).
    facets: frozenset[str] = frozenset()  # assistant/facets.py: dossier, authority, time_limit, rate …
    intents: list[str] = field(default_factory=list)  # questions on a named text's status (assistant/status.py)
    now: bool = False  # asks about today's rule ("hiện nay", "luật mới", "now")
    earlier: bool = False  # may concern earlier rules, transitions or dates
    quantity: list = field(default_factory=list)  # patterns of the quantity asked ("mấy năm": N năm)
    procedural: bool = False  # asks for a procedure, a dossier, an authority or a time limit
    annex: bool = False  # asks about a list or form (an annex)

    @property
    def variant(self) -> str:
        return "en" if self.language == "en" else ("vi-noaccent" if self.accentless else "vi")


# A Vietnamese syllable, folded: optional initial consonant, a vowel nucleus, an optional final.
_VI_SYLLABLE = re.compile(r"^(ngh|ng|nh|ch|gh|gi|kh|ph|qu|th|tr|[bcdghklmnprstvx])?"
                          r"(uye|uyu|uoi|uou|ieu|yeu|oai|oay|uay|uya|oeo|[aeiouy]{1,2})"
                          r"(ch|ng|nh|[cmnpt])?$")


def _english_like(word: str) -> bool:
    return word in _EN_WORDS or not _VI_SYLLABLE.match(word)


# Document codes keep their "Đ" in any language: "Is Decree 10/2024/NĐ-CP still in force?" is English.
_CODE_WITH_D = re.compile(r"\b[A-ZĐ]*Đ[A-ZĐ]*(?:-[A-Za-zĐđ]+)*\b")


def detect_language(text: str) -> tuple[str, bool]:
    """('vi'|'en', accentless). Accentless Vietnamese is Vietnamese: its words are Vietnamese syllables."""
    if has_diacritics(_CODE_WITH_D.sub(" ", text)):
        return "vi", False
    words = [w for w in re.findall(r"[a-zA-Z']+", text.lower()) if w.isalpha()]
    if not words:
        return "vi", False
    # Abbreviations (GPLĐ, TNDN, KCNC …) are not syllables but are Vietnamese.
    words = [w for w in words if w not in ABBREVIATIONS]
    if not words:
        return "vi", True
    en = sum(1 for w in words if _english_like(w))
    return ("en", False) if en / len(words) >= 0.4 else ("vi", True)


def _abbreviation(tok: str) -> str | None:
    """The expansion of a word typed as an abbreviation: without tone marks or vowel accents ("DN", "dn",
    "GPLĐ", "nđ"); "để" is not "dn"… and "vật" is not VAT."""
    if fold(tok) != tok.replace("đ", "d").replace("Đ", "D"):
        return None
    return ABBREVIATIONS.get(fold(tok).lower())


def expand_abbreviations(text: str) -> str:
    return " ".join(exp for tok in re.findall(r"[\w&]+", text) if (exp := _abbreviation(tok)))


_ABBR_TOKEN = re.compile(r"(?<![\w/&-])[\w&]+(?![\w/&-])")


def spell_out(text: str) -> str:
    """The question with its abbreviations written out in place ("miễn thuế TNDN trong KCNC" → "miễn thuế thu
    nhập doanh nghiệp trong khu công nghệ cao"): the embedder reads words, not chat shorthand. Parts of document
    numbers ("10/2024/NĐ-CP") stay as they are."""
    return _ABBR_TOKEN.sub(lambda m: _abbreviation(m.group(0)) or m.group(0), text)


def glossary_terms(text: str) -> list[str]:
    """The Vietnamese terms of the English phrases in the text, each once."""
    return list(dict.fromkeys(vi for rx, vi in _GLOSSARY if rx.search(text)))


def english_glossary(text: str) -> str:
    # Each phrase once: entries overlap, and a repeated phrase would weigh twice in BM25.
    return " ".join(glossary_terms(text))


_NAMING = re.compile(r"^(bo luat|luat|nghi dinh|nd|thong tu|tt|quyet dinh|qd|nghi quyet|nq|van ban hop nhat|vbhn|blld)\b")


def _naming_alias(alias: str) -> str | None:
    """Aliases that name a document ("luật đầu tư 2020"), not topic phrases ("giấy phép lao động")."""
    a = fold(normalize(alias)).lower()
    return a if len(a) >= 6 and _NAMING.match(a) else None


def _find_name(name: str, f: str) -> re.Match | None:
    """A document's name (folded) in the folded question, with or without its commas ("Luật thuế xuất khẩu,
    thuế nhập khẩu")."""
    words = re.sub(r"\s*,\s*", " ", name).split()
    return re.search(r"(?<!\w)" + r"(?:\s*,\s*|\s+)".join(map(re.escape, words)) + r"(?!\w)", f)


def _article_owner(found: list[str], where: dict[str, int], art: re.Match) -> str | None:
    """The document an "Điều N" belongs to: the one named right after it ("khoản 21 Điều 16 Luật thuế XNK"),
    else the nearest one named before it; every document when positions are unknown."""
    if len(found) <= 1:
        return found[0] if found else None
    known = {n: p for n, p in where.items() if p >= 0}
    after = sorted((p, n) for n, p in known.items() if p >= art.end())
    if after and after[0][0] - art.end() <= 80:
        return after[0][1]
    before = sorted((p, n) for n, p in known.items() if p < art.start())
    return before[-1][1] if before else found[0]


_EN_LAW_TITLE = re.compile(r"^(?:Law on (?P<a>[^(]+?)|(?P<b>[^(]+?) (?:Law|Code))\s*\((?P<y>\d{4})")


def _english_names(catalog: Catalog) -> list[tuple[re.Pattern, str]]:
    """English ways of naming a law ("the 2025 Investment Law", "Law on High Technology 2008", "the old High
    Technology Law"), from each law's English title; "new"/"old" pick the latest/earlier law of that name."""
    got = _EN_NAMES.get(id(catalog))
    if got is not None and got[0] is catalog:  # the same catalog object, not one that reused its id
        return got[1]
    by_subject: dict[str, list[tuple[str, str]]] = {}
    for d in catalog.documents:
        m = _EN_LAW_TITLE.match(d.title_en or "")
        if m and d.type in ("Luật", "Bộ luật"):
            subject = " ".join((m.group("a") or m.group("b")).lower().split())
            by_subject.setdefault(subject, []).append((m.group("y"), d.number))
    out: list[tuple[re.Pattern, str]] = []
    for subject, laws in by_subject.items():
        s = re.escape(subject).replace(r"\ ", r"\s+").replace("labour", "labou?r").replace(
            r"high\s+technology", r"high(?:\s+|-)tech(?:nology)?")
        named = rf"(?:law on {s}|{s} (?:law|code))"
        laws.sort()
        for year, number in laws:
            out.append((re.compile(rf"\b(?:{year}\s+{named}|{named},?\s+(?:of\s+|\(\s*)?{year})\b"), number))
        if len(laws) > 1:
            out.append((re.compile(rf"\b(?:new|current|latest)\s+{named}\b"), laws[-1][1]))
            for _, number in laws[:-1]:
                out.append((re.compile(rf"\b(?:old|previous|former|earlier)\s+{named}\b"), number))
    _EN_NAMES[id(catalog)] = (catalog, out)
    return out


_EN_NAMES: dict[int, tuple[Catalog, list[tuple[re.Pattern, str]]]] = {}


def find_references(text: str, catalog: Catalog) -> tuple[list[DocRef], list[str]]:
    """Documents (and Điều/khoản) the question names explicitly."""
    f = fold(normalize(text)).lower()
    found: list[str] = []
    missing: list[str] = []
    where: dict[str, int] = {}  # where each found document is named in the question

    def add(number: str, pos: int = -1) -> None:
        meta = catalog.by_number(number)
        if meta and meta.number not in found:
            found.append(meta.number)
            where[meta.number] = pos
        elif not meta:
            miss = catalog.missing(number)
            if miss and miss.number not in missing:
                missing.append(miss.number)

    for m in _FULL_NUMBER.finditer(fold(normalize(text))):
        add(f"{m.group(1)}/{m.group(2)}/{m.group(3).replace(' ', '')}", m.start())
    for m in _SHORT_NUMBER.finditer(fold(normalize(text))):
        add(f"{m.group(1)}/{m.group(2).replace(' ', '')}", m.start())  # "1168/QĐ-TTg", "119/NQ-CP": no year
    for m in _TYPED_NUMBER.finditer(f):
        typ = _DOC_TYPES[m.group(1)]
        num, year = m.group(2), m.group(3)
        if typ in ("Luật", "Bộ luật") and year is None and len(num) == 4:
            continue  # "Luật Đầu tư 2020": a year, handled by aliases
        cands = [d for d in catalog.documents if d.type == typ and d.number.split("/")[0] == num
                 and (year is None or d.number.split("/")[1] == year)]
        miss = [d for d in catalog.not_in_corpus if d.number.split("/")[0] == num
                and (year is None or (len(d.number.split("/")) > 1 and d.number.split("/")[1] == year))
                and typ.lower()[:4] in fold(d.title).lower()[:12] + fold(typ).lower()]
        if len(cands) == 1:
            add(cands[0].number, m.start())
        elif len(cands) > 1:
            for c in cands:
                add(c.number, m.start())
        elif miss:
            for d in miss:
                if d.number not in missing:
                    missing.append(d.number)
    span: dict[str, int] = {}  # the length of the name that named each document
    for d in catalog.documents:
        hits = [m for alias in [*d.aliases, d.short] if (a := _naming_alias(alias)) and (m := _find_name(a, f))]
        if hits:
            m = max(hits, key=lambda m: m.end() - m.start())  # the most specific name: "luật đầu tư cũ"
            add(d.number, m.start())
            span[d.number] = m.end() - m.start()
    low = normalize(text).lower()
    for rx, number in _english_names(catalog):
        m = rx.search(low)
        if m:
            add(number, m.start())
    for d in catalog.not_in_corpus:
        if d.number not in missing and any((a := _naming_alias(alias)) and _find_name(a, f) for alias in d.aliases):
            missing.append(d.number)
    # One phrase can name two documents ("Luật Công nghệ cao 2008" also matches the 2025 law's "luật công nghệ
    # cao"): among documents named at the same place, a year in the question decides, else the longer name.
    years = set(_YEAR.findall(f))
    for pos in {p for p in where.values() if p >= 0}:
        same = [n for n in found if where.get(n) == pos]
        dated = [n for n in same if n.split("/")[1] in years]
        if len(same) > 1 and dated:
            found = [n for n in found if n not in same or n in dated]
        elif len(same) > 1 and all(n in span for n in same):  # else the longer name: "luật đầu tư cũ"
            longest = max(span[n] for n in same)
            found = [n for n in found if n not in same or span[n] == longest]
    art = _ARTICLE_REF.search(f)
    clause = _CLAUSE_REF.search(f)
    point = _POINT_REF.search(f)
    owner = _article_owner(found, where, art) if art else None
    refs = [DocRef(n, True, art.group(1) if art and n == owner else None,
                   clause.group(1) if clause and art and n == owner else None,
                   point.group(1) if point and art and n == owner else None) for n in found]
    return refs, missing


def parse_query(raw: str, catalog: Catalog, language: str | None = None) -> ParsedQuery:
    """`language`: the question's own language, when the text searched mixes in another (an English follow-up
    carries its Vietnamese topic along)."""
    text = normalize(raw)
    lang, accentless = detect_language(text)
    if language == "en" and lang != "en":
        lang, accentless = "en", False
    extra = [expand_abbreviations(text)]
    if lang == "en":
        extra.append(english_glossary(text))
    expanded = " ".join([text, *[e for e in extra if e]])
    refs, missing = find_references(text, catalog)
    years = [int(y) for y in _YEAR.findall(text)]
    return ParsedQuery(raw, text, lang, accentless, expanded, refs, missing, years, **cues(text))


# A question on today's rule ("hiện nay", "luật mới", "giờ … còn", "now"), matched on folded text.
NOW_CUE = re.compile(r"\b(hien nay|hien hanh|hien tai|bay gio|hien gio|(?<!them )(?<!lam )gio (day|luat|nghi dinh|con|van)"
                     r"|(luat|nghi dinh|thong tu|quyet dinh|van ban|quy dinh) moi|now|currently|nowadays"
                     r"|new (law|decree|circular|rules?)|current (law|rules?|decree))\b")


def cues(text: str) -> dict:
    """Everything later stages read from the question's wording, computed once."""
    from .annexes import about_annex
    from .asked import asked_quantity
    from .facets import asked_facets
    from .procedure import is_procedural
    from .status import about_earlier_rules, intents

    asked = intents(text)
    return {"facets": asked_facets(text), "intents": asked, "now": bool(NOW_CUE.search(fold(text).lower())),
            "earlier": about_earlier_rules(text, asked), "quantity": asked_quantity(text),
            "procedural": is_procedural(text), "annex": bool(about_annex(text))}

