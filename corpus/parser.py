"""Parse a Vietnamese legal text into Chương → Mục → Điều → Khoản → Điểm.

A line-based state machine. It copes with the shapes found in real copies:
``Điều 28a.``, ``Điều 28a. 28a. Title`` (publisher duplication), articles without a title, points ``đ)``,
clause text running over several lines, ``(Nguồn pháp điển: …)`` source lines (metadata), publisher
notes ``[Điều này được hướng dẫn bởi …]`` (metadata), footnote markers ``[12]`` and the footnote block
of consolidated texts (metadata), whole articles quoted inside amending laws (content, not structure),
preambles, signatures and appendices.

It never raises for a bad document: problems become :class:`ParseIssue` with file:line.
"""
from __future__ import annotations

import hashlib
import re
import unicodedata
from pathlib import Path

from .models import Appendix, Article, Clause, ParsedDocument, ParseIssue, Point

POINT_LETTERS = "a b c d đ e g h i k l m n o p q r s t u v x y".split()

_ARTICLE = re.compile(r"^Điều\s+(\d+[a-zđ]?)(?:\s*[.:]\s*(.*)|\s*)$")
_CLAUSE = re.compile(r"^(\d+)([a-zđ]?)\.\s*(\S.*)?$")
_POINT = re.compile(r"^([a-zđ])(\d?)\)\s*(.*)$")
_CHAPTER = re.compile(r"^(?:Chương|CHƯƠNG)\s+([IVXLC]+|\d+)\b\s*[-–:.]?\s*(.*)$")
_PD_CHAPTER = re.compile(r"^\[Pháp điển:\s*(.*?)\]?$")
_SECTION = re.compile(r"^(?:Mục|MỤC)\s+(\d+|[IVX]+)\b\s*[-–:.]?\s*(.*)$")
_SOURCE = re.compile(r"^\(Nguồn pháp điển:\s*(.*?)\)?\s*$")
_NOTE = re.compile(r"^\[(?!\d+\])(.*)\]\s*$")
_FOOTNOTE_DEF = re.compile(r"^\[(\d+)\]\s*(.*)$")
_FOOTNOTE_REF = re.compile(r"\[(\d+)\]")
_HEADER_KV = re.compile(r"^([A-ZĐÀ-Ỹ][^:]{1,60}):\s*(.*)$")
_APPENDIX = re.compile(r"^(?:PHỤ LỤC|Phụ lục)(?:\s+[IVX0-9.]+)?\s*[:.-]?\s*(.{0,120})$")
# Signature and closing lines: they end the last article.
_CLOSING = re.compile(
    r"^(?:Nơi nhận\s*:|TM\.\s|KT\.\s|Q\.\s|CHỦ TỊCH\b|THỦ TƯỚNG\b|PHÓ THỦ TƯỚNG\b|BỘ TRƯỞNG\b|"
    r"(?:Luật|Bộ luật|Nghị quyết) này (?:đã )?được .{0,80}thông qua|"
    # Certification block of a consolidated text (VBHN), and the collector's markdown headings such as
    # "## Chú thích của văn bản hợp nhất": never text of the last article.
    r"XÁC THỰC VĂN BẢN HỢP NHẤT|#{1,6}\s)"
)
# "Số: 113/VBHN-VPQH" — the number line of a VBHN certification block.
_VBHN_NO = re.compile(r"^Số:\s*\S+/VBHN-")
_SOURCE_DOC = re.compile(r"^Điều\s+\d+[a-zđ]?\s+[^,]*?số\s+([0-9]+/[0-9]{4}/[A-ZĐa-zđ0-9\-]+)")
_MAX_QUOTE_LINES = 150  # an amending act's quoted block longer than this is an unbalanced quote mark (OCR)


def _clean(line: str) -> str:
    line = unicodedata.normalize("NFC", line).replace("\u00a0", " ").replace("\ufeff", "")
    line = line.strip()
    # Markdown emphasis left by some copies: "*Căn cứ …;*".
    if len(line) > 2 and line.startswith("*") and line.endswith("*"):
        line = line.strip("*").strip()
    return re.sub(r"[ \t]+", " ", line)


def _quote_delta(line: str) -> int:
    return line.count("“") - line.count("”")


def _strip_refs(text: str, refs: list[str]) -> str:
    found = _FOOTNOTE_REF.findall(text)
    if found:
        refs.extend(found)
        text = _FOOTNOTE_REF.sub("", text).rstrip()
    return text


def _next_letter_ok(prev: str | None, letter: str) -> bool:
    if letter not in POINT_LETTERS:
        return False
    if prev is None:
        return letter == "a"
    i = POINT_LETTERS.index(prev)
    return i + 1 < len(POINT_LETTERS) and POINT_LETTERS[i + 1] == letter


def _article_key(number: str) -> tuple[int, str]:
    m = re.match(r"(\d+)(.*)", number)
    return (int(m.group(1)), m.group(2)) if m else (0, number)


def read_text(path: Path) -> tuple[str | None, ParseIssue | None]:
    """Read UTF-8 text; undecodable bytes become an issue naming the line."""
    raw = path.read_bytes()
    if b"\x00" in raw[:4096]:
        return None, ParseIssue(str(path), 1, "error", "binary file (NUL bytes): expected UTF-8 text")
    try:
        return raw.decode("utf-8"), None
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        return None, ParseIssue(str(path), line, "error", f"invalid UTF-8 at byte {e.start}: expected UTF-8 text")


def parse_file(path: Path | str, expected_number: str | None = None) -> ParsedDocument:
    path = Path(path)
    text, issue = read_text(path)
    if text is None:
        return _empty(path, [issue] if issue else [])
    return parse_text(text, str(path), expected_number=expected_number)


def _empty(path: Path, issues: list[ParseIssue]) -> ParsedDocument:
    return ParsedDocument(str(path), None, path.stem, {}, [], [], [], {}, [], issues, "", 0)


def parse_text(text: str, file: str = "<text>", expected_number: str | None = None) -> ParsedDocument:
    return _Parser(text, file, expected_number).run()


class _Parser:
    def __init__(self, text: str, file: str, expected_number: str | None):
        self.raw = text
        self.file = file
        self.lines = text.splitlines()
        self.expected_number = expected_number
        self.issues: list[ParseIssue] = []
        self.header: dict[str, str] = {}
        self.title = Path(file).stem
        self.preamble: list[str] = []
        self.articles: list[Article] = []
        self.appendices: list[Appendix] = []
        self.footnotes: dict[str, str] = {}
        self.chapters: list[str] = []
        self.chapter: str | None = None
        self.section: str | None = None
        self.article: Article | None = None
        self.clause: Clause | None = None
        self.point: Point | None = None
        self.quote_depth = 0
        self.quote_start = 0
        self.mode = "body"  # body | tail | footnotes
        self.pending_chapter_title = False
        self.skipping_foreign = False
        self.seen: dict[str, int] = {}

    def warn(self, line: int, msg: str, severity: str = "warning") -> None:
        self.issues.append(ParseIssue(self.file, line, severity, msg))

    # ---- header -------------------------------------------------------------------------------
    def _parse_header(self) -> int:
        """The collector's header: '# Title' then 'Key: value' lines, ended by a blank line."""
        i = 0
        while i < len(self.lines) and not self.lines[i].strip():
            i += 1
        if i < len(self.lines) and self.lines[i].startswith("# "):
            self.title = _clean(self.lines[i][2:])
            i += 1
        else:
            return 0
        seen_kv = False
        while i < len(self.lines):
            line = self.lines[i].strip()
            if not line:
                if seen_kv:
                    return i + 1
                i += 1
                continue
            m = _HEADER_KV.match(line)
            if m and not _ARTICLE.match(line):
                self.header[m.group(1).strip()] = m.group(2).strip()
                seen_kv = True
                i += 1
                continue
            return i
        return i

    # ---- main loop ----------------------------------------------------------------------------
    def run(self) -> ParsedDocument:
        start = self._parse_header()
        number = self.header.get("Số hiệu", "").split(" ")[0].strip() or None
        if self.expected_number and number and number != self.expected_number:
            self.warn(1, f"header says 'Số hiệu: {number}' but the catalog expects {self.expected_number}")
        self.number = number or self.expected_number
        for idx in range(start, len(self.lines)):
            self._line(idx + 1, self.lines[idx])
        self._close_article()
        if not self.raw.strip():
            self.warn(1, "empty file: expected a legal text with 'Điều 1.' headings", "error")
        elif not self.articles:
            self.warn(start + 1, "no article found: expected a line like 'Điều 1. Phạm vi điều chỉnh'", "error")
        content_hash = hashlib.sha256(self.raw.encode("utf-8")).hexdigest()
        return ParsedDocument(
            file=self.file,
            number=self.number,
            title=self.title,
            header=self.header,
            preamble=self.preamble,
            articles=self.articles,
            appendices=self.appendices,
            footnotes=self.footnotes,
            chapters=self.chapters,
            issues=self.issues,
            content_hash=content_hash,
            line_count=len(self.lines),
        )

    def _line(self, no: int, raw_line: str) -> None:
        line = _clean(raw_line)
        if self.mode == "footnotes":
            self._footnote_line(no, line)
            return
        if not line:
            return
        m = _FOOTNOTE_DEF.match(line)
        if m and m.group(1) == "1" and self.quote_depth == 0 and (self.articles or self.article):
            # Consolidated texts list their footnotes after the body: from here on it is metadata.
            self._close_article()
            self.mode = "footnotes"
            self._footnote_line(no, line)
            return
        in_quote = self.quote_depth > 0
        if in_quote and no - self.quote_start > _MAX_QUOTE_LINES:
            self.warn(self.quote_start, f"quotation opened here is not closed after {_MAX_QUOTE_LINES} lines: ignored")
            self.quote_depth, in_quote = 0, False
        if in_quote and (self._is_next_article(line) or self._is_next_instruction(line)):
            in_quote, self.quote_depth = False, 0  # an unclosed quote must not swallow the next article
        if not in_quote and _quote_delta(line) > 0:
            self.quote_start = no
        self.quote_depth = max(0, self.quote_depth + _quote_delta(line))
        if in_quote or line.startswith("“"):
            # Text quoted by an amending act: content of the current node, never structure.
            self._append(no, line)
            return
        if self.mode == "tail":
            self._tail_line(no, line)
            return
        if self._structure(no, line):
            return
        self._append(no, line)

    def _structure(self, no: int, line: str) -> bool:
        m = _ARTICLE.match(line)
        if m:
            return self._article_heading(no, m.group(1), m.group(2) or "")
        if self.pending_chapter_title:
            self.pending_chapter_title = False
            if line.isupper() and len(line) < 200:
                self.chapter = f"{self.chapter} {line}".strip()
                self.chapters[-1] = self.chapter
                return True
        m = _CHAPTER.match(line)
        if m:
            self._close_article()
            self.chapter = f"Chương {m.group(1)}" + (f" {m.group(2).strip()}" if m.group(2).strip() else "")
            self.chapters.append(self.chapter)
            self.section = None
            self.pending_chapter_title = not m.group(2).strip()
            return True
        m = _PD_CHAPTER.match(line)
        if m:
            self._close_article()
            self.chapter = m.group(1).split("|")[0].strip()
            self.chapters.append(self.chapter)
            self.section = None
            return True
        m = _SECTION.match(line)
        if m and (self.article is None or len(line) < 150) and not _CLAUSE.match(line):
            self._close_article()
            self.section = line
            return True
        if self.article is None:
            return False
        m = _SOURCE.match(line)
        if m:
            self._source_line(no, m.group(1))
            return True
        if self.skipping_foreign:
            return True
        m = _NOTE.match(line)
        if m:
            (self.point or self.clause or self.article).notes.append(m.group(1).strip())
            return True
        if _CLOSING.match(line) or self._vbhn_issuer(no, line):
            self._close_article()
            self.mode = "tail"
            self._tail_line(no, line)
            return True
        m = _APPENDIX.match(line)
        if m and len(line) < 160 and (line.isupper() or re.match(r"^Phụ lục\s+[IVX0-9]+\s*$", line)):
            self._close_article()
            self.mode = "tail"
            self._tail_line(no, line)
            return True
        m = _CLAUSE.match(line)
        if m:
            n, suffix, body = int(m.group(1)), m.group(2), (m.group(3) or "").strip()
            last = _article_key(self.article.clauses[-1].number)[0] if self.article.clauses else 0
            # "1a." is a clause inserted by an amendment after clause 1.
            if suffix and any(c.number == f"{n}{suffix}" for c in self.article.clauses):
                self.warn(no, f"clause '{n}{suffix}.' repeated in Điều {self.article.number}: kept as text")
                return False
            # A clause number alone on its line ("2." then the text on the next line) occurs in some copies.
            if (body or not suffix) and ((not suffix and n == last + 1) or (suffix and n == last)):
                refs = self.article.footnote_refs
                self.clause = Clause(f"{n}{suffix}", _strip_refs(body, refs), no)
                self.article.clauses.append(self.clause)
                self.point = None
                return True
            return False
        m = _POINT.match(line)
        if m:
            letter, digit = m.group(1), m.group(2)
            owner = self.clause.points if self.clause else self.article.points
            prev = owner[-1].letter if owner else None
            # "b1)" is a point inserted by an amendment after point b.
            ok = (prev is not None and prev.rstrip("0123456789") == letter) if digit else _next_letter_ok(
                prev.rstrip("0123456789") if prev else None, letter)
            if ok:
                self.point = Point(letter + digit, _strip_refs(m.group(3).strip(), self.article.footnote_refs), no)
                owner.append(self.point)
                return True
            return False
        return False

    def _article_heading(self, no: int, number: str, title: str) -> bool:
        if self.articles or self.article:
            prev = (self.article or self.articles[-1]).number
            if self._quoted_far_article(no, prev, number):
                self.warn(no, f"'Điều {number}' after 'Điều {prev}' is an article quoted by an amendment (the text's "
                              f"own Điều {_article_key(prev)[0] + 1} follows): kept as text of Điều {prev}")
                return False
            if _article_key(number) <= _article_key(prev):
                foreign = self._foreign_source(no)
                if foreign:
                    self.warn(no, f"Điều {number} after Điều {prev} comes from {foreign} (source line): skipped")
                    self._close_article()
                    self.skipping_foreign = True
                    return True
                self.warn(no, f"'Điều {number}' after 'Điều {prev}' breaks the numbering: kept as text of Điều {prev}")
                return False
        self._close_article()
        title = title.strip()
        # "Điều 28a. 28a. Title" (publisher duplication) → "Title".
        title = re.sub(rf"^{re.escape(number)}\s*\.\s*", "", title)
        refs: list[str] = []
        title = _strip_refs(title, refs).rstrip(".").strip()
        self.article = Article(number, title, no, chapter=self.chapter, section=self.section, footnote_refs=refs)
        self.clause = None
        self.point = None
        self.skipping_foreign = False
        return True

    def _quoted_far_article(self, no: int, prev: str, number: str) -> bool:
        """'Điều 191a' right after 'Điều 1' of an amending law, whose quotation mark was lost: an article of the
        amended law, since the text's own 'Điều 2' comes later."""
        p, n = _article_key(prev)[0], _article_key(number)[0]
        if n <= p + 30:
            return False
        nxt = re.compile(rf"^Điều\s+{p + 1}\s*[.:]")
        return any(nxt.match(_clean(x)) for x in self.lines[no:])

    def _vbhn_issuer(self, no: int, line: str) -> bool:
        """'VĂN PHÒNG QUỐC HỘI' / 'BỘ TÀI CHÍNH' heading the certification block of a consolidated text."""
        if not (line.isupper() and len(line) < 80):
            return False
        nxt = [_clean(x) for x in self.lines[no:no + 4]]
        nxt = [x for x in nxt if x][:2]
        return any(x.startswith("XÁC THỰC VĂN BẢN HỢP NHẤT") or _VBHN_NO.match(x) for x in nxt)

    def _is_next_article(self, line: str) -> bool:
        m = _ARTICLE.match(line)
        if not m or not (self.article or self.articles):
            return False
        prev = _article_key((self.article or self.articles[-1]).number)[0]
        n = _article_key(m.group(1))
        # Quoted articles of an amended act carry far-off numbers; the act's own next article is close.
        return not n[1] and prev < n[0] <= prev + 3

    _INSTRUCTION = re.compile(r"^(Sửa đổi|Bổ sung|Bãi bỏ|Thay thế|Thay cụm từ|Bỏ cụm từ|Bỏ các cụm từ|Bỏ từ)\b")

    def _is_next_instruction(self, line: str) -> bool:
        """'52. Sửa đổi, bổ sung Điều 133 như sau:' while a quotation of clause 51 was never closed: the amending
        act's own next clause (its instructions are never quoted)."""
        if self.article is None or not self.article.clauses:
            return False
        m = _CLAUSE.match(line)
        if not m or m.group(2) or not m.group(3):
            return False
        last = _article_key(self.article.clauses[-1].number)[0]
        return int(m.group(1)) == last + 1 and bool(self._INSTRUCTION.match(m.group(3)))

    def _foreign_source(self, no: int) -> str | None:
        """The document named by the source line under the heading at line `no`, if it is not this one."""
        nxt = _clean(self.lines[no]) if no < len(self.lines) else ""
        m = _SOURCE.match(nxt)
        if not m:
            return None
        d = _SOURCE_DOC.match(m.group(1))
        return d.group(1) if d and self.number and d.group(1) != self.number else None

    def _source_line(self, no: int, source: str) -> None:
        art = self.article
        art.source_note = source.strip()
        m = _SOURCE_DOC.match(source)
        if m and self.number and m.group(1) != self.number and not art.intro and not art.clauses:
            # A codification sometimes files another act's article under this document.
            self.warn(no, f"Điều {art.number} comes from {m.group(1)}, not {self.number} (source line): skipped")
            self.article = None
            self.skipping_foreign = True

    def _append(self, no: int, line: str) -> None:
        if self.skipping_foreign:
            return
        if self.article is None:
            if self.mode == "tail":
                self._tail_line(no, line)
            else:
                self.preamble.append(line)
            return
        line = _strip_refs(line, self.article.footnote_refs)
        if self.point is not None and self.clause is None:
            self.article.tail.append(line) if self._looks_like_paragraph(line) else self._extend_point(line)
        elif self.point is not None:
            # A paragraph after a list of points belongs to the clause, a lowercase continuation to the point.
            if self._looks_like_paragraph(line):
                self.clause.tail.append(line)
                self.point = None
            else:
                self._extend_point(line)
        elif self.clause is not None:
            if self.clause.tail or self.clause.points:
                self.clause.tail.append(line)
            else:
                self.clause.text = f"{self.clause.text}\n{line}" if self.clause.text else line
        else:
            self.article.intro.append(line)

    def _extend_point(self, line: str) -> None:
        self.point.text += "\n" + line

    @staticmethod
    def _looks_like_paragraph(line: str) -> bool:
        return bool(line) and (line[0].isupper() or line[0].isdigit() or line[0] in "-+•(")

    def _tail_line(self, no: int, line: str) -> None:
        m = _APPENDIX.match(line)
        # After the signature an upper-case "PHỤ LỤC …" starts an appendix even when a copy ran its
        # title and first heading into one long line (consolidated texts do).
        if (m and len(line) < 160 and (line.isupper() or re.match(r"^Phụ lục\s+[IVX0-9]+", line))) or \
                line.startswith("PHỤ LỤC"):
            self.appendices.append(Appendix(line, no, ""))
            return
        if self.appendices:
            app = self.appendices[-1]
            app.text = f"{app.text}\n{line}" if app.text else line

    def _footnote_line(self, no: int, line: str) -> None:
        if not line:
            return
        m = _FOOTNOTE_DEF.match(line)
        if m:
            self._last_fn = m.group(1)
            self.footnotes[m.group(1)] = m.group(2).strip()
        elif getattr(self, "_last_fn", None):
            self.footnotes[self._last_fn] += "\n" + line

    def _close_article(self) -> None:
        art = self.article
        if art is None:
            return
        if not art.intro and not art.clauses and not art.points and not art.tail:
            self.warn(art.line, f"Điều {art.number} has no text")
        self.seen.setdefault(art.number, art.line)
        self.articles.append(art)
        self.article = None
        self.clause = None
        self.point = None
