"""The reply letter (công văn) as data: every Vietnamese sentence of the draft is decided here, so the .docx and
Markdown renderings say exactly the same thing. Layout follows Nghị định 30/2020/NĐ-CP (Phụ lục I, công văn).

Grounding rule: legal bases and quotes come only from ``Answer.citations`` (what the pipeline retrieved and
cited); a refused answer yields a letter with no legal basis at all and a plain statement of what is missing.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from corpus.catalog import Catalog, DocumentMeta

from ..models import Answer, Citation

if TYPE_CHECKING:
    from ..engine import Assistant

DOTS = "…"
BLANK = "……………………………"  # a fill-in line for staff
PARENT_BODY = "UBND THÀNH PHỐ …"
ISSUER_LINES = ("BAN QUẢN LÝ", "KHU CÔNG NGHỆ CAO …")
ISSUER_NAME = "Ban Quản lý Khu công nghệ cao …"
NUMBER = "Số: …/BQL-…"
MOTTO = ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc")
SIGNATURE = ("KT. TRƯỞNG BAN", "PHÓ TRƯỞNG BAN")
SIGN_HINT = "(Ký, ghi rõ họ tên, đóng dấu)"
DRAFT_MARK = "DỰ THẢO — do trợ lý tra cứu pháp luật tạo, cần rà soát trước khi trình ký"
BASES_COLUMNS = ("STT", "Văn bản", "Điều khoản", "Hiệu lực")
SUBJECT_MAX = 120

_LAW_TYPES = ("Luật", "Bộ luật")
_ASK_PREFIX = re.compile(
    r"^(xin (cho )?hỏi|cho (tôi|em|chúng tôi|công ty) hỏi|(tôi|chúng tôi|công ty|doanh nghiệp)( chúng tôi| tôi)? "
    r"(muốn|cần) (hỏi|biết)|vui lòng cho biết|hãy cho biết|đề nghị cho biết)\s*[,:]?\s*", re.IGNORECASE)
_ASK_TAIL = re.compile(
    r"(?:^|\s+)(là gì|là những gì|gồm những gì|bao gồm những gì|gồm gì|như thế nào|thế nào|ra sao|bao nhiêu|bao lâu|"
    r"ở đâu|khi nào|hay không|được không|không|chưa|gì|là)\s*$", re.IGNORECASE)
# Words that stay capitalised at the start of the subject (document types, proper names, acronyms).
_KEEP_CAPS = {"Luật", "Bộ", "Nghị", "Thông", "Quyết", "Ban", "Việt", "Chính", "Thủ", "Quốc", "UBND"}


@dataclass(frozen=True)
class Basis:
    """One "Căn cứ" entry: a distinct cited document."""
    number: str
    name: str  # "Nghị định số 10/2024/NĐ-CP ngày 01 tháng 02 năm 2024 của Chính phủ quy định về …"
    provisions: tuple[str, ...]  # "khoản 3 Điều 22", in answer order
    status: str
    in_force: bool

    @property
    def status_label(self) -> str:
        return self.status[:1].upper() + self.status[1:]


@dataclass(frozen=True)
class Point:
    """One answered point of the body: a cited provision and its quote."""
    index: int
    heading: str  # "Theo khoản 3 Điều 22 Luật Công nghệ cao số 133/2025/QH15 (còn hiệu lực):"
    quote_lines: tuple[str, ...]


@dataclass
class Letter:
    answer: Answer
    date: dt.date
    subject: str  # without "V/v"
    org: str | None = None
    ref: str | None = None
    bases: list[Basis] = field(default_factory=list)
    points: list[Point] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # refused: what the draft could not find
    staff_note: str = ""  # bracketed instruction for staff, to delete before signing

    @property
    def refused(self) -> bool:
        return self.answer.refused or not self.answer.citations

    @property
    def subject_line(self) -> str:
        return f"V/v {self.subject}"

    @property
    def place_date(self) -> str:
        return f"{DOTS}, {vn_date(self.date)}"

    @property
    def addressee(self) -> str:
        return f"Kính gửi: {self.org or BLANK}"

    @property
    def opening(self) -> str:
        return (f"{ISSUER_NAME} nhận được văn bản số {self.ref or DOTS} ngày … tháng … năm … của "
                f"{self.org or DOTS} về việc {self.subject}.")

    @property
    def bases_intro(self) -> str:
        return "Căn cứ các văn bản quy phạm pháp luật sau:"

    @property
    def body_intro(self) -> str:
        if self.refused:
            return f"Sau khi nghiên cứu, {ISSUER_NAME} có ý kiến như sau:"
        return f"Căn cứ các quy định nêu trên, {ISSUER_NAME} có ý kiến như sau:"

    @property
    def refusal_paragraphs(self) -> list[str]:
        who = self.org or DOTS
        return [f"Qua rà soát các văn bản quy phạm pháp luật về khu công nghệ cao, {ISSUER_NAME} chưa xác định được "
                f"quy định pháp luật áp dụng đối với nội dung đề nghị của {who}.",
                f"Trường hợp nội dung đề nghị không thuộc thẩm quyền giải quyết của Ban Quản lý, đề nghị {who} liên hệ "
                f"cơ quan nhà nước có thẩm quyền để được hướng dẫn theo quy định."]

    @property
    def notes_heading(self) -> str:
        return "Lưu ý về hiệu lực của văn bản được trích dẫn:"

    @property
    def follow_up(self) -> str:
        return (f"Đề nghị {self.org or DOTS} căn cứ các quy định nêu trên để thực hiện; trường hợp có vướng mắc, "
                f"đề nghị liên hệ {ISSUER_NAME} để được hướng dẫn.")

    @property
    def closing(self) -> str:
        return f"Trên đây là ý kiến của {ISSUER_NAME} gửi {self.org or DOTS} biết, thực hiện."

    @property
    def regards(self) -> str:
        return "Trân trọng./."

    @property
    def recipients(self) -> list[str]:
        return ["- Như trên;", "- Trưởng ban (để b/c);", "- Lưu: VT, …."]


def vn_date(d: dt.date) -> str:
    """'ngày 05 tháng 02 năm 2026': NĐ 30/2020 pads days below 10 and months 1–2 with a zero."""
    day = f"{d.day:02d}"
    month = f"{d.month:02d}" if d.month < 3 else str(d.month)
    return f"ngày {day} tháng {month} năm {d.year}"


def subject_of(question: str, limit: int = SUBJECT_MAX) -> str:
    """A short "V/v" topic from the question: drop courtesy openers and interrogative tails."""
    s = " ".join(question.split()).strip()
    s = _ASK_PREFIX.sub("", s)
    prev = None
    while prev != s:  # tails stack: "… là bao lâu?" → "… là" → "…"
        prev = s
        s = _ASK_TAIL.sub("", s.rstrip(" ?.!;:,")).rstrip(" ?.!;:,")
    if not s:
        return "trả lời văn bản đề nghị"
    first = s.split(" ", 1)[0]
    if first not in _KEEP_CAPS and not (len(first) > 1 and first.isupper()):
        s = s[0].lower() + s[1:]
    if len(s) > limit:
        s = s[:limit].rsplit(" ", 1)[0].rstrip(",;:") + " …"
    return s


def provision_label(c: Citation) -> str:
    parts = []
    if c.point:
        parts.append(f"điểm {c.point}")
    if c.clause:
        parts.append(f"khoản {c.clause}")
    parts.append(f"Điều {c.article}")
    return " ".join(parts)


def basis_name(meta: DocumentMeta | None, c: Citation) -> str:
    """Full name as written in a "Căn cứ" line: type, number, date, issuer, title."""
    if meta is None:
        return f"{c.title} số {c.document}"
    date = f" {vn_date(meta.issued)}" if meta.issued else ""
    title = meta.title.strip()
    if meta.type in _LAW_TYPES and title.startswith(meta.type):
        return f"{title.split(' (')[0]} số {meta.number}{date}"  # laws are cited without the issuer
    rest = title[len(meta.type):].strip() if title.startswith(meta.type) else title
    issuer = f" của {meta.issuer}" if meta.issuer else ""
    return f"{meta.type} số {meta.number}{date}{issuer} {rest}".strip()


def collect_bases(citations: list[Citation], catalog: Catalog) -> list[Basis]:
    """One entry per distinct cited document, in-force ones first (then in answer order)."""
    groups: dict[str, list[Citation]] = {}
    for c in citations:
        groups.setdefault(c.document, []).append(c)
    bases = []
    for number, cits in groups.items():
        statuses = list(dict.fromkeys(c.status_note for c in cits))
        bases.append(Basis(number=number, name=basis_name(catalog.by_number(number), cits[0]),
                           provisions=tuple(dict.fromkeys(provision_label(c) for c in cits)),
                           status="; ".join(statuses), in_force=any(c.in_force for c in cits)))
    return sorted(bases, key=lambda b: not b.in_force)  # stable: keeps answer order within each group


def _note(text: str) -> str:
    # Answer notes point at "[n]"; in the letter the points are numbered "1.", "2." …
    return re.sub(r"^\[(\d+)\]\s*", r"Văn bản nêu tại mục \1: ", text)


def letter_from_answer(ans: Answer, catalog: Catalog, date: dt.date, org: str | None = None,
                       ref: str | None = None) -> Letter:
    org = " ".join(org.split()) if org and org.strip() else None
    ref = " ".join(ref.split()) if ref and ref.strip() else None
    letter = Letter(answer=ans, date=date, subject=subject_of(ans.question), org=org, ref=ref)
    if ans.refused or not ans.citations:
        # Keep what the pipeline says is missing (texts not in the corpus); "[n]" notes describe citations, dropped.
        letter.missing = [f"[Ghi chú: {n}]" for n in ans.notes if not re.match(r"\[\d+\]", n)]
        letter.staff_note = (
            "[Ghi chú cho chuyên viên — xóa trước khi trình ký: trợ lý tra cứu không tìm thấy điều khoản nào áp dụng "
            "cho nội dung này trong kho văn bản của mình, nên dự thảo không nêu căn cứ pháp lý. Chuyên viên cần "
            "nghiên cứu, bổ sung căn cứ trước khi trình ký; nếu nội dung không thuộc thẩm quyền của Ban Quản lý, "
            "hướng dẫn tổ chức gửi cơ quan có thẩm quyền.]")
        return letter
    letter.bases = collect_bases(ans.citations, catalog)
    # Point numbers reuse Citation.index so that the "[n]" of Answer.notes keeps pointing at the right quote.
    numbered = [(c.index or n, c) for n, c in enumerate(ans.citations, 1)]
    for n, c in numbered:
        lines = tuple(ln.strip() for ln in c.quote.splitlines() if ln.strip())
        letter.points.append(Point(n, f"Theo {c.citation} ({c.status_note}):", lines))
    notes = [_note(n) for n in ans.notes]
    # Answer.notes covers repealed and unverified texts; keep a line for any such citation it did not mention.
    for n, c in numbered:
        if (not c.in_force or c.low_confidence) and not any(c.document in x for x in notes):
            notes.append(f"Văn bản nêu tại mục {n}: {c.document} — {c.status_note}.")
    letter.notes = notes
    return letter


def build_draft(assistant: Assistant, question: str, org: str | None = None, ref: str | None = None,
                as_of: dt.date | None = None, session_id: str | None = None) -> Letter:
    """Answer the question through the one answer path and turn the result into a letter."""
    date = as_of or assistant.settings.today()
    # Vietnamese always (the letter is Vietnamese); record=False: drafting is not a chat turn.
    # An unknown session id is ignored, never adopted: ids are only issued by the chat API.
    if session_id and not assistant.sessions.exists(session_id):
        session_id = None
    ans = assistant.answer(question, session_id=session_id, as_of=date, language="vi", record=False)
    return letter_from_answer(ans, assistant.catalog, date, org=org, ref=ref)
