"""Extractive answers: a short lead quoting the best provision, then the legal basis with status badges.

Every sentence of the answer is either a quote of a cited provision or a fixed frame around it
("Theo …", "Căn cứ pháp lý", status notes from the catalog).
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from corpus.catalog import Catalog, DocumentMeta
from corpus.citation import full_citation, short_citation
from corpus.loader import Corpus
from corpus.models import Article, Clause
from corpus.validity import fmt_date, validity
from indexing.text import fold

from .asked import states
from .facets import stated_facets
from .models import Citation
from .query import ParsedQuery
from .retrieval import ArticleHit

QUOTE_CHARS = 900


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"\w+", fold(text).lower()) if len(w) > 1}


def trim(text: str, limit: int = QUOTE_CHARS) -> str:
    text = text.strip()
    if len(text) <= limit:
        return text
    cut = text[:limit]
    stop = max(cut.rfind(". "), cut.rfind(";\n"), cut.rfind("\n"))
    if stop > limit * 0.5:
        cut = cut[: stop + 1]
    return cut.rstrip() + " …"


@dataclass
class Chosen:
    meta: DocumentMeta
    article: Article
    clause: Clause | None
    point: str | None
    quote: str
    score: float
    in_force: bool
    reason: str = "ranked"  # why it is cited (Citation.reason)


def _best_point(clause_or_art, qwords: set[str]) -> tuple[str | None, str | None]:
    points = clause_or_art.points
    if len(points) < 2:
        return None, None
    scored = sorted(((len(qwords & _words(p.text)) / (1 + 0.002 * len(p.text)), p) for p in points),
                    key=lambda x: -x[0])
    best, second = scored[0], scored[1]
    # Cite a single point only when it clearly answers better than its siblings.
    if best[0] > 0 and best[0] >= 1.5 * max(second[0], 0.01) and len(qwords & _words(best[1].text)) >= 2:
        return best[1].letter, best[1].text
    return None, None


def _chosen(meta: DocumentMeta, art: Article, clause_no: str | None, qwords: set[str], score: float,
            in_force: bool, reason: str = "ranked") -> Chosen:
    clause = next((c for c in art.clauses if c.number == clause_no), None) if clause_no else None
    point, ptext = _best_point(clause or art, qwords)
    if clause is not None:
        quote = f"{clause.text}\n{point}) {ptext}" if point else clause.full_text()[len(clause.number) + 2:]
    else:
        intro = "\n".join(art.intro)
        quote = f"{intro}\n{point}) {ptext}".strip() if point else art.body_text()
    return Chosen(meta, art, clause, point, trim(quote), score, in_force, reason)


QUANTITY_RATIO = 0.55  # how close a clause stating the asked quantity must score to the best clause to lead


_OWN_REF = re.compile(r"khoản (\d+[a-zđ]?(?:(?:,| và) khoản \d+[a-zđ]?)*) Điều (\d+[a-zđ]?) của "
                      r"(?:Luật|Bộ luật|Nghị định|Thông tư|Quyết định|Nghị quyết) này")


def _referenced(text: str, document: str, scores: dict[tuple[str, str, str], float]) -> float:
    """The best search score among the clauses of its own text that a clause refers to ("thu nhập quy định tại
    khoản 1 Điều 13 của Luật này"): such a clause is about what the referenced one is about."""
    best = 0.0
    for m in _OWN_REF.finditer(text):
        for k in re.findall(r"\d+[a-zđ]?", m.group(1)):
            best = max(best, scores.get((document, m.group(2), k), 0.0))
    return best


def _stating_clause(art: Article, a: ArticleHit, quantity, ratio: float,
                    scores: dict[tuple[str, str, str], float]):
    """When the best clause does not state the quantity asked ("mấy năm") and clauses of the same article that
    score close to it do ("miễn thuế tối đa 04 năm"), the one whose own score and that of the clauses it refers
    to are highest."""
    text = {c.number: c.full_text() for c in art.clauses}
    if states(quantity, text.get(a.best.clause, "")):
        return None
    stating = [h for h in a.clauses[1:] if h.clause and h.clause != a.best.clause
               and h.score >= ratio * a.best.score and states(quantity, text.get(h.clause, ""))]
    return max(stating, key=lambda h: h.score + _referenced(text[h.clause], a.document, scores), default=None)


def best_text(art: Article, clause_no: str | None) -> str:
    """The text a facet is read from: the article title and the clause (or the whole article)."""
    clause = next((c for c in art.clauses if c.number == clause_no), None) if clause_no else None
    body = clause.full_text() if clause is not None else art.body_text()
    return f"{art.title}\n{body}"


def choose(corpus: Corpus, catalog: Catalog, articles: list[ArticleHit], q: ParsedQuery, as_of: dt.date,
           max_citations: int = 3, sibling_ratio: float = 0.8,
           pinned: frozenset[tuple[str, str]] = frozenset(), secondary_min: float = 0.0,
           secondary_ratio: float = 0.6, links=None) -> list[Chosen]:
    """The provisions to cite: the best clause of each of the best articles (at most `max_citations` articles),
    and of the first article also its runner-up clause when that scores at least `sibling_ratio` of the best:
    "miễn thuế mấy năm" finds both the clause on when the exemption starts and the one that says how long.
    `pinned` articles (those answering a question on a text's status) are cited first whatever their status.
    Otherwise the order is the ranking's: the ranker has weighed validity, hierarchy and the named texts already.
    An article after the first is cited only on evidence of its own: a score of at least `secondary_min` and
    `secondary_ratio` of the first's (a general question does not carry loosely related texts as filler)."""
    out: list[Chosen] = []
    if not articles:
        return out
    top = articles[0].score
    qwords = _words(q.expanded)
    seen_articles = 0
    named_clause = any(r.clause for r in q.refs)  # "khoản 1 Điều 22 …": every clause there got the same bonus
    quantity = q.quantity
    for a in articles:
        if seen_articles >= max_citations:
            break
        if out and (a.score < secondary_ratio * top or a.score < secondary_min) and \
                (a.document, a.article) not in pinned:
            break
        doc = corpus.get(a.document)
        meta = catalog.by_number(a.document)
        if doc is None or meta is None:
            continue
        art = doc.article(a.article)
        if art is None:
            continue
        best, runner = a.best, (a.clauses[1] if len(a.clauses) > 1 else None)
        pin = (a.document, a.article) in pinned
        reason = "status_provision" if pin else ("top_ranked" if seen_articles == 0 else "also_ranked")
        if q.facets and not pin and best.clause and q.facets & stated_facets(best_text(art, best.clause)):
            reason = "states_facet" if seen_articles == 0 else reason
        if seen_articles == 0 and quantity and not named_clause and best.clause:
            scores = {(x.document, x.article, h.clause or ""): h.score for x in articles for h in x.clauses}
            stating = _stating_clause(art, a, quantity, QUANTITY_RATIO, scores)
            if stating is not None:  # it leads; the best match follows it
                best, runner, reason = stating, best, "states_quantity"
        out.append(_chosen(meta, art, best.clause, qwords, a.score, a.in_force, reason))
        if seen_articles == 0 and a.in_force and not named_clause and best.clause and runner is not None:
            if runner.clause and runner.clause != best.clause and (runner is a.best or
                                                                  runner.score >= sibling_ratio * best.score):
                out.append(_chosen(meta, art, runner.clause, qwords, a.score - abs(best.score - runner.score),
                                   a.in_force, "runner_up_clause"))
        seen_articles += 1
    # A provision is read with its amendment (a documented policy): the article the first one amends, or that amends
    # it, when the search found it among the first ten and it is in force, is cited right after the first article.
    if out and links is not None:
        first = (out[0].meta.number, out[0].article.number)
        cited = {(c.meta.number, c.article.number) for c in out}
        for a in articles[:10]:
            key = (a.document, a.article)
            if key in cited or not a.in_force or key not in links.linked(first):
                continue
            doc, meta = corpus.get(a.document), catalog.by_number(a.document)
            art = doc.article(a.article) if doc is not None else None
            if art is None or meta is None:
                continue
            at = 1 + sum(1 for c in out[1:] if (c.meta.number, c.article.number) == first)
            out.insert(at, _chosen(meta, art, a.best.clause, qwords, a.score, a.in_force, "amendment"))
            break
    # The provisions answering a question on a text's status lead (a documented policy); the rest keep the
    # ranking's order, which already weighs validity, OCR copies and doubtful texts.
    out.sort(key=lambda c: (c.meta.number, c.article.number) not in pinned)
    return out


def to_citation(c: Chosen, catalog: Catalog, as_of: dt.date, lang: str, index: int) -> Citation:
    v = validity(c.meta, as_of, catalog, c.article.number)
    clause = c.clause.number if c.clause else None
    from corpus.models import provision_id

    return Citation(
        document=c.meta.number, title=c.meta.title, article=c.article.number, clause=clause, point=c.point,
        quote=c.quote, in_force=v.in_force, status_note=v.note(lang),
        provision_id=provision_id(c.meta.number, c.article.number, clause, c.point),
        citation=full_citation(c.meta, c.article.number, clause, c.point, lang=lang),
        short=short_citation(c.meta, c.article.number, clause, c.point),
        low_confidence=c.meta.low_confidence, validity_doubt=v.doubtful, index=index, reason=c.reason,
        facets=sorted(stated_facets(best_text(c.article, clause))), score=round(float(c.score), 4))


def validity_notes(cits: list[Citation], catalog: Catalog, as_of: dt.date, lang: str) -> list[str]:
    """Plain statements about repealed or unverified texts among the citations, one per document (citations of
    one text share its status: "[1], [3] 10/2024/NĐ-CP …")."""
    groups: dict[tuple[str, bool], list[Citation]] = {}
    for c in cits:
        if catalog.by_number(c.document) is not None and (not c.in_force or c.low_confidence):
            groups.setdefault((c.document, c.in_force), []).append(c)
    notes: list[str] = []
    for (number, current), group in groups.items():
        meta = catalog.by_number(number)
        c = group[0]
        marks = ", ".join(f"[{g.index}]" for g in group)
        if not current:
            repl = []
            for r in meta.replaced_by:
                rm = catalog.by_number(r.number)
                missing = catalog.missing(r.number)
                if rm is not None and rm.low_confidence:
                    repl.append(f"{rm.short} ({r.number}) — " + (
                        "only an unverified, partial OCR copy is in the corpus" if lang == "en"
                        else "trong kho dữ liệu chỉ có bản OCR chưa kiểm chứng, không đầy đủ"))
                elif rm is not None:
                    repl.append(f"{rm.short} ({r.number})")
                elif missing is not None:
                    repl.append(f"{r.number} — " + ("not in the corpus" if lang == "en" else "chưa có trong kho dữ liệu"))
            if lang == "en":
                n = (f"{marks} {number} is no longer in force on {fmt_date(as_of)} "
                     f"({c.status_note}). It is quoted for reference only")
                n += f"; replaced by: {'; '.join(repl)}." if repl else "."
            else:
                n = (f"{marks} {number} không còn hiệu lực vào ngày {fmt_date(as_of)} ({c.status_note}); "
                     f"chỉ trích dẫn để tham khảo")
                n += f"; văn bản thay thế: {'; '.join(repl)}." if repl else "."
            if meta.transition:
                t = meta.transition
                n += (f" Transition rules: Article {t.article} of {t.number}." if lang == "en"
                      else f" Quy định chuyển tiếp: Điều {t.article} văn bản {t.number}.")
        else:
            n = (f"{marks} {number} is an unverified OCR copy: check the official text before relying on it."
                 if lang == "en" else
                 f"{marks} {number} là bản OCR chưa kiểm chứng: cần đối chiếu văn bản chính thức.")
        notes.append(n)
    return notes


def amendment_notes(cits: list[Citation], links, found: set[tuple[str, str]], catalog: Catalog, as_of: dt.date,
                    lang: str) -> list[str]:
    """A cited article is read with its amendment ("Điều 16 Luật 107/2016 … đã được sửa đổi, bổ sung bởi Điều 5
    Luật 90/2025": the copy in the corpus may or may not include it), and a cited amending article says what it
    amends among the provisions found. `links`: AmendmentLinks; `found`: the (document, article) retrieved."""
    def marks(doc: str, art: str) -> str:
        return ", ".join(f"[{x.index}]" for x in cits if (x.document, x.article) == (doc, art))

    def name(doc: str, art: str, cited: bool = True) -> str:
        """The article by its text's short name, with the citations of it when `cited`."""
        meta = catalog.by_number(doc)
        short = meta.short if meta else doc
        idx = marks(doc, art) if cited else ""
        return (f"Article {art} of {short} ({doc})" if lang == "en" else f"Điều {art} {short} ({doc})") + \
            (f" {idx}" if idx else "")

    def current(doc: str) -> bool:
        meta = catalog.by_number(doc)
        return meta is not None and (meta.effective is None or meta.effective <= as_of)

    notes: list[str] = []
    seen: set[tuple[str, str]] = set()
    for c in cits:
        key = (c.document, c.article)
        if key in seen or not c.in_force:
            continue
        seen.add(key)
        mine, own = marks(*key), name(*key, cited=False)
        by = [name(*k) for k in sorted(links.amended_by.get(key, ())) if current(k[0])]
        if by:
            notes.append(f"{mine} {own} has been amended (amended, supplemented or repealed in part) by "
                         f"{'; '.join(by)}: read them together." if lang == "en" else
                         f"{mine} {own} đã được sửa đổi, bổ sung hoặc bãi bỏ một phần bởi {'; '.join(by)}: cần đọc "
                         f"cùng nhau.")
        amended = [name(*k) for k in sorted(links.amends.get(key, ())) if k in found]
        if amended and current(c.document):
            notes.append(f"{mine} {own} amends (amends, supplements or repeals in part) {'; '.join(amended)}."
                         if lang == "en" else
                         f"{mine} {own} sửa đổi, bổ sung hoặc bãi bỏ một phần {'; '.join(amended)}.")
    return notes


def missing_notes(missing: list[str], catalog: Catalog, lang: str) -> list[str]:
    out = []
    for number in missing:
        d = catalog.missing(number)
        if d is None:
            continue
        if lang == "en":
            s = f"{d.title} ({d.number}) is not in the assistant's corpus"
        else:
            s = f"{d.title} ({d.number}) chưa có trong kho văn bản của trợ lý"
        if d.status:
            s += f" — {d.status}"
        out.append(s + ".")
    return out


WEAK_LEAD = {"vi": "Kho văn bản không có quy định nêu đúng nội dung này; quy định gần nhất tìm được:",
             "en": "No provision in the corpus states exactly this; the closest one found:"}


def basis_lines(c: Citation, lang: str) -> list[str]:
    """One citation under "Legal basis": its reference and status, for an English reader the article's heading in
    English (the quote stays in the original Vietnamese), then the quote."""
    out = [f"[{c.index}] {c.citation} — {c.status_note}"]
    if lang == "en" and c.heading_en:
        out.append(f"    Article heading (unofficial translation): {c.heading_en}")
    return out + [f"    \"{c.quote}\""]


def compose_text(cits: list[Citation], lang: str, notes: list[str], preface: str | None = None,
                 facets: frozenset[str] = frozenset(), quantity: list | None = None,
                 weak: bool = False) -> tuple[str, str]:
    """(lead, full answer text). `preface`: a plain statement drawn from the catalog (a text's status) that
    comes before the quote and points at the citation grounding it. For a facet question the lead quotes the
    span of the first provision that states the thing asked (the period, the rate, the authority, the list);
    with `weak` evidence it says that no provision states exactly this and shows the closest as such."""
    best = cits[0]
    badge = best.status_note
    span = facet_span(best.quote, facets, quantity or []) or _first_sentences(best.quote)
    if lang == "en":
        lead = (f"Under {best.citation} ({badge}) [{best.index}]: \"{span}\"")
        head = "Legal basis (quoted in the original Vietnamese):"
    else:
        lead = f"Theo {best.citation} ({badge}) [{best.index}]: \"{span}\""
        head = "Căn cứ pháp lý:"
    if weak and not preface:
        lead = f"{WEAK_LEAD[lang if lang == 'en' else 'vi']} {lead}"
    if preface:
        lead = f"{preface} {lead}"
    lines = [lead, "", head]
    for c in cits:
        lines += basis_lines(c, lang)
    if notes:
        lines.append("")
        lines.append("Notes:" if lang == "en" else "Lưu ý:")
        lines += [f"- {n}" for n in notes]
    return lead, "\n".join(lines)


# The order in which facets are looked for in the quote: the most specific first.
_SPAN_ORDER = ("time_limit", "duration", "rate", "amount", "limit", "authority", "dossier", "conditions",
               "eligibility", "definition", "effect", "transition")
_ITEM = re.compile(r"^\s*(?:[a-zđ]|\d{1,2})[).]\s")


def _units(quote: str) -> list[str]:
    """Lines of a quote, and the sentences of each line."""
    out = []
    for line in quote.splitlines():
        line = line.strip()
        if not line:
            continue
        parts = re.split(r"(?<=[.;])\s+(?=[A-ZĐÀ-Ỹ])", line)
        out += [p.strip() for p in parts if p.strip()]
    return out


def facet_span(quote: str, facets: frozenset[str], quantity: list) -> str | None:
    """The part of a quote that states what the question asks: the sentence with the period, rate or authority;
    for a dossier, the list's lead-in and its items. None when no part states it (the lead then opens with the
    quote's first sentences)."""
    from .facets import STATES

    if not facets and not quantity:
        return None
    units = _units(quote)
    if quantity:
        for u in units:
            if any(qn.search(" ".join(fold(u).lower().split())) for qn in quantity):
                return _first_sentences(u)
    for f in _SPAN_ORDER:
        if f not in facets:
            continue
        if f == "dossier":
            lines = [x.strip() for x in quote.splitlines() if x.strip()]
            items = [x for x in lines if _ITEM.match(x)]
            if items:
                intro = next((x for x in lines if not _ITEM.match(x)), "").rstrip(":;")
                body = "; ".join(_first_sentences(x, 140) for x in items[:8])
                return _first_sentences(f"{intro}: {body}" if intro else body, 600)
        rx = STATES[f]
        for u in units:
            if rx.search(" ".join(fold(u).lower().split())):
                return _first_sentences(u)
    return None


def _first_sentences(quote: str, limit: int = 400) -> str:
    q = " ".join(quote.split())
    if len(q) <= limit:
        return q
    cut = q[:limit]
    stop = max(cut.rfind(". "), cut.rfind("; "), cut.rfind(": "))
    return (cut[: stop + 1] if stop > limit * 0.4 else cut.rsplit(" ", 1)[0]) + " …"


REFUSAL_VI = (
    "Xin lỗi, tôi chưa tìm thấy quy định đủ rõ trong kho văn bản để trả lời câu hỏi này, nên không trích dẫn "
    "điều khoản nào. Trợ lý trả lời về pháp luật khu công nghệ cao: thành lập và hoạt động của khu công nghệ cao, "
    "doanh nghiệp công nghệ cao, ưu đãi thuế thu nhập doanh nghiệp, thuế xuất khẩu - nhập khẩu, tiền thuê đất, "
    "đầu tư, lao động và giấy phép lao động cho người nước ngoài, khoa học - công nghệ và đổi mới sáng tạo. "
    "Bạn có thể hỏi cụ thể hơn (nêu thủ tục, đối tượng hoặc văn bản, ví dụ \"Điều 22 Luật Công nghệ cao 2025\"), "
    "hoặc liên hệ Ban quản lý khu công nghệ cao để được hướng dẫn.")
REFUSAL_EN = (
    "Sorry, I could not find a provision in my corpus that answers this clearly, so I cite nothing. "
    "I answer questions on the law of Vietnam's high-tech parks: establishing and operating parks, high-tech "
    "enterprises, corporate income tax incentives, import/export duties, land rent, investment, foreign workers "
    "and work permits, science, technology and innovation. Try asking more specifically (the procedure, who it "
    "concerns, or the document, e.g. \"Article 22 of the Law on High Technology 2025\"), or contact the park's "
    "management board.")


def refusal_text(lang: str, notes: list[str]) -> str:
    base = REFUSAL_EN if lang == "en" else REFUSAL_VI
    if notes:
        base = "\n".join(notes) + "\n\n" + base
    return base
