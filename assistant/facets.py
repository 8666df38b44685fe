"""Facets: what a question asks about a subject, and what a provision states.

An investor asks one facet (the dossier, the authority, the time limit, the rate, the conditions, who is
eligible …) of one subject (a high-tech enterprise certificate, a work permit, land rent). Word overlap finds the
subject; the facet decides which of the provisions on that subject answers. Both sides are read with the same
small vocabulary, on folded lower-case text, so the ranker can compare them and the composer can pick the span
that states the thing asked.

Facets are a set on each side: "hồ sơ gồm gì, nộp ở đâu?" asks two, and a clause can state several.
"""
from __future__ import annotations

import re
from functools import lru_cache

from indexing.text import fold

FACETS = ("dossier", "authority", "time_limit", "duration", "rate", "amount", "limit", "conditions", "eligibility",
          "procedure", "definition", "transition", "effect", "benefit")


def _rx(p: str) -> re.Pattern:
    return re.compile(p)


# What the question asks (folded, lower-cased question; English as typed, lower-cased).
ASKS: dict[str, re.Pattern] = {
    "dossier": _rx(r"\bho so\b.{0,50}\b(gom|bao gom|nhung gi|can (co )?(gi|nhung)|gi)\b|\bgiay to\b|thanh phan ho so"
                   r"|\bho so (de nghi|dang ky|xin)\b|what (documents|papers)|which documents|\bdossier|paperwork"
                   r"|documents? (are )?(required|needed)|documents? do (i|we) need|application (file|package)"),
    "authority": _rx(r"\bco quan nao\b|\b(ai|noi nao|don vi nao|cap nao|o dau|cho ai|tai dau)\b.{0,25}"
                     r"\b(cap|cho phep|phe duyet|duyet|chap thuan|quyet dinh|giai quyet|xac nhan|thu hoi|dieu chinh"
                     r"|tiep nhan|nop)\b|\b(cap|cho phep|phe duyet|duyet|chap thuan|quyet dinh|giai quyet|xac nhan"
                     r"|thu hoi|dieu chinh|tiep nhan|nop( ho so)?)\b.{0,25}\b(o dau|cho ai|tai dau|co quan nao|ai)\b"
                     r"|tham quyen|\bwho (issues|grants|approves|decides|is responsible|is competent|handles)"
                     r"|which (authority|agency|body|office)|competent (authority|agency)"
                     r"|where (do|should|can|must) (i|we) (submit|apply|file|register)"),
    "time_limit": _rx(r"\b(bao nhieu|may) ngay\b|thoi han (giai quyet|cap|xu ly|tra ket qua|tham dinh|xem xet)"
                      r"|bao lau (thi|se|moi)? ?(co ket qua|duoc cap|xong|tra loi|giai quyet|duoc duyet)"
                      r"|how many (working )?days|how (long|soon) (does|will|would) (it|the (review|approval|processing))"
                      r"|processing time|\btime limits?\b|within how (long|many)"),
    "duration": _rx(r"\b(may|bao nhieu) (nam|thang)\b|\bbao lau\b|thoi han (cua )?(giay phep|gpld|giay chung nhan"
                    r"|gcn|the|hop dong|thu viec|mien|uu dai)|(co gia tri|hieu luc) (trong )?(bao lau|may nam)"
                    r"|how many (years|months)|how long|valid for|maximum (term|duration|period|validity)|\bterm of\b"
                    r"|validity (period|term)|(period|term) of validity|\bvalid (until|through)\b"),
    "rate": _rx(r"\bthue suat\b|\b(bao nhieu|may) (phan tram|%)|\bty le\b|\bphan tram\b|\brates?\b|percent|%"),
    "amount": _rx(r"\bbao nhieu (tien|dong|trieu|ty|gio)\b|\bmay gio\b|\bmuc (ho tro|phat|luong|phi|tien)\b|how much|amount"),
    # a ceiling or a floor ("tối đa", "không quá", "giới hạn", "ít nhất"), whatever it bounds (years, hours, people)
    "limit": _rx(r"\btoi (da|thieu)\b|\bkhong (duoc )?(qua|vuot qua|duoi)\b|\bgioi han\b|\bit nhat\b"
                 r"|\b(maximum|minimum|max|at most|at least|no more than|no less than|up to|ceiling|cap|caps|capped)\b"
                 r"|(?<!\btime )\blimits?\b"),
    "conditions": _rx(r"\bdieu kien\b|\btieu chi\b|\btieu chuan\b|\byeu cau (gi|nao|nhung gi)\b|\bnhung yeu cau\b"
                      r"|can (dap ung|dat)|phai (dap ung|co) (gi|nhung)"
                      r"|requirements?|criteria|conditions?|qualif(y|ies|ication)|\bmeet\b"),
    "eligibility": _rx(r"\bdoi tuong\b|\b(ai|nhung ai|truong hop nao|du an nao|doanh nghiep nao|nganh nao|linh vuc nao)"
                       r"\b.{0,25}\b(duoc|thuoc|phai)\b|co (duoc|thuoc dien) .{0,40}(khong|ko)\b|\beligib|\bentitled"
                       r"|who (can|may|is|are)\b|which (projects|companies|enterprises|cases|sectors|industries)"
                       r"|\b(do|does|can|are|is) (we|i|our|my|it|they|foreign)\b.{0,40}\b(qualify|eligible|entitled|get)"),
    "procedure": _rx(r"\bthu tuc\b|\btrinh tu\b|\bcac buoc\b|\bquy trinh\b|lam (the nao|sao|nhu the nao|gi) de"
                     r"|\bprocedures?\b|\bsteps?\b|\bprocess\b|how (do|can|should|to) (i|we)? ?(apply|register|obtain|get"
                     r"|request)"),
    "definition": _rx(r"\bla gi\b|\bdinh nghia\b|\bduoc hieu (la|nhu the nao)\b|\bnghia la\b|\bthe nao (la|duoc coi la)\b"
                      r"|what (is|are|does) (a |an |the )?[\w\s-]{2,40} mean|\bdefin(ition|ed)\b|what counts as"),
    "transition": _rx(r"\b(luat|nghi dinh|quy dinh) cu\b|\bda (duoc )?cap\b.{0,60}\b(con|van|tiep tuc)\b|chuyen tiep"
                      r"|\bcon (gia tri|hieu luc|duoc (huong|dung|ap dung))\b.{0,30}(khong|ko)"
                      r"|\b(old|previous|former|earlier) (law|decree|rules?)\b|still valid|transition"),
    "effect": _rx(r"co hieu luc (tu|khi|ke tu)|(khi nao|bao gio|ngay nao|tu ngay nao) .{0,20}(co )?hieu luc"
                  r"|het hieu luc|(in force|take effect|effective) (from|since|when|on)|when (does|did|will) .{0,40}"
                  r"(take effect|come into force|become effective)"),
    "benefit": _rx(r"\buu dai (gi|nao|nhu the nao|ra sao)\b|\bduoc huong (gi|nhung|uu dai)|\bho tro (gi|nhung gi)\b"
                   r"|\bquyen loi\b|what (incentives|benefits|support|preferential)|incentives?|benefits?"),
}

# What a provision states (folded, lower-cased provision text, its article title first).
STATES: dict[str, re.Pattern] = {
    "dossier": _rx(r"\bho so\b[^.;]{0,160}\b(gom|bao gom)\b|thanh phan ho so|\bdon de nghi\b|\bban sao\b"),
    "authority": _rx(r"\b(co quan|ban quan ly|bo truong|bo [a-z ]{3,40}|uy ban nhan dan|thu tuong chinh phu|so [a-z ]{3,30}"
                     r"|chinh phu|co quan dang ky dau tu)\b[^.;]{0,80}\b(cap|xem xet|quyet dinh|chap thuan|phe duyet"
                     r"|xac nhan|thu hoi|tiep nhan|co tham quyen|chu tri|dieu chinh)\b|\btham quyen\b"),
    "time_limit": _rx(r"\b(trong (thoi han|vong)|khong qua|toi da)\s+\d+\s*(\([^)]{0,20}\)\s*)?ngay\b"
                      r"|\b\d+\s*(\([^)]{0,20}\)\s*)?ngay( lam viec)?,? ke tu\b"),
    "duration": _rx(r"\b\d+\s*(\([^)]{0,20}\)\s*)?(nam|thang)\b(?! \d)|toan bo thoi (gian|han)|\bthoi han\b[^.;]{0,40}"
                    r"\b(nam|thang)\b"),
    "rate": _rx(r"\d+([.,]\d+)?\s*%|\bthue suat\b|\bty le\b"),
    "amount": _rx(r"\d+([.,]\d+)*\s*(dong|trieu|ty|nghin)\b|\bmuc (ho tro|phat|luong|phi)\b"),
    "limit": _rx(r"\b(khong qua|khong vuot qua|toi da|toi thieu|it nhat|khong duoi|khong thap hon)\s+(la\s+)?\d"),
    "conditions": _rx(r"\bdieu kien\b|\btieu chi\b|\btieu chuan\b|\bphai dap ung\b|\bdap ung (cac|day du|du|mot trong)\b"),
    "eligibility": _rx(r"\bdoi tuong\b|\bap dung (doi )?voi\b|\bduoc ap dung cho\b|\bthuoc (mot trong )?cac truong hop\b"
                       r"|\bpham vi dieu chinh\b"),
    "procedure": _rx(r"\btrinh tu\b|\bthu tuc\b|\bnop ho so\b|\btiep nhan ho so\b|\btra ket qua\b|\bthong bao (bang van ban )?"
                     r"(cho|ket qua)\b|\btham dinh\b"),
    "definition": _rx(r"\bgiai thich tu ngu\b|\bduoc hieu la\b|\btrong (luat|nghi dinh|thong tu|bo luat) nay,? cac tu ngu"
                      r"|^[^.:;]{3,90}\bla (viec|hoat dong|to chuc|doanh nghiep|khu|cong nghe|san pham|nguoi|thoa thuan"
                      r"|su thoa thuan|co so|du an)\b"),
    "transition": _rx(r"chuyen tiep|\btruoc ngay [^.;]{0,60}(co hieu luc|thi hanh)|tiep tuc (duoc )?(huong|thuc hien|ap dung"
                      r"|su dung|co hieu luc)|\bda duoc cap truoc\b"),
    "effect": _rx(r"\bco hieu luc (thi hanh )?(ke )?tu ngay\b|\bhet hieu luc\b|\bhieu luc thi hanh\b"),
    "benefit": _rx(r"\b(mien|giam) (thue|tien)|\buu dai\b|\bho tro\b|\bduoc huong\b"),
}


def _fold(text: str) -> str:
    return " ".join(fold(text).lower().split())


def asked_facets(question: str) -> frozenset[str]:
    """The facets a question asks (empty: a general question, "DN CNC được ưu đãi gì?" asks `benefit`)."""
    q = _fold(question)
    got = {f for f, rx in ASKS.items() if rx.search(q)}
    # "bao lâu thì có kết quả" is a time limit, not a duration; "thời hạn giấy phép" is a duration.
    if "time_limit" in got and "duration" in got and not re.search(r"\b(may|bao nhieu) (nam|thang)\b", q):
        got.discard("duration")
    # A rate question names a rate; "%" alone in "giảm 50% … mấy năm" does not ask one.
    if "rate" in got and "duration" in got and not re.search(r"thue suat|ty le|\brate\b|bao nhieu (phan tram|%)", q):
        got.discard("rate")
    return frozenset(got)


@lru_cache(maxsize=65536)
def stated_facets(text: str) -> frozenset[str]:
    """The facets a provision states. The node text starts with its document and article heading, whose title
    ("Hồ sơ đề nghị cấp …", "Thẩm quyền …") states the facet as much as the body does."""
    t = _fold(text)
    got = {f for f, rx in STATES.items() if rx.search(t)}
    return frozenset(got)


# What an article title names, and the facets that says it states ("Trình tự, thủ tục …" → procedure, time limit).
TITLE_FACETS: list[tuple[re.Pattern, frozenset[str]]] = [
    (_rx(r"\bho so\b"), frozenset({"dossier"})),
    (_rx(r"\btham quyen\b|\bco quan\b"), frozenset({"authority"})),
    (_rx(r"\btrinh tu\b|\bthu tuc\b"), frozenset({"procedure", "time_limit"})),
    (_rx(r"\bthue suat\b|\bmuc\b"), frozenset({"rate", "amount"})),
    (_rx(r"\bthoi han\b|\bthoi gian\b"), frozenset({"duration", "time_limit"})),
    (_rx(r"\bdieu kien\b|\btieu chi\b|\btieu chuan\b"), frozenset({"conditions"})),
    (_rx(r"\bdoi tuong\b|\bpham vi\b"), frozenset({"eligibility"})),
    (_rx(r"\bgiai thich tu ngu\b"), frozenset({"definition"})),
    (_rx(r"\bchuyen tiep\b"), frozenset({"transition"})),
    (_rx(r"\bhieu luc\b"), frozenset({"effect"})),
    (_rx(r"\buu dai\b|\bmien\b|\bgiam\b|\bho tro\b"), frozenset({"benefit"})),
]


@lru_cache(maxsize=16384)
def title_facets(title: str) -> frozenset[str]:
    """Facets an article title names ("Hồ sơ, trình tự, thủ tục cấp …" → dossier, procedure)."""
    t = _fold(title)
    return frozenset().union(*(facets for rx, facets in TITLE_FACETS if rx.search(t)))


# Facets for which the lead can state the thing asked in one span (the procedure card reads the same ones).
CARD_FACETS = frozenset({"dossier", "authority", "time_limit", "procedure"})
