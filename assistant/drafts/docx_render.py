"""Render a :class:`Letter` as an editable .docx in the layout of Nghị định 30/2020/NĐ-CP: A4, Times New Roman 13pt,
header table (issuing body | national motto), place and date, addressee, body, signature block and recipients.

Real Word styles are used (Normal, Title, Heading 1/2, Quote, Table Grid and two small custom ones) so staff can
restyle the whole letter at once instead of fighting direct formatting.
"""
from __future__ import annotations

import io

from docx import Document
from docx.document import Document as DocxDocument
from docx.enum.section import WD_ORIENT
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_COLOR_INDEX
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor
from docx.styles.style import BaseStyle
from docx.table import _Cell
from docx.text.paragraph import Paragraph

from .letter import (BASES_COLUMNS, DRAFT_MARK, ISSUER_LINES, MOTTO, NUMBER, PARENT_BODY, SIGN_HINT, SIGNATURE,
                     BLANK, Letter)

FONT = "Times New Roman"
HEADER_COLS_CM = (6.3, 10.2)
BASES_COLS_CM = (1.4, 6.8, 3.6, 4.7)
SIGN_COLS_CM = (7.5, 9.0)
TABLE_TEXT = "Table Text"
STAFF_NOTE = "Staff Note"
# Children of w:pPr that must follow w:pBdr (ECMA-376 CT_PPrBase sequence).
_AFTER_PBDR = ("w:shd", "w:tabs", "w:suppressAutoHyphens", "w:kinsoku", "w:wordWrap", "w:overflowPunct",
               "w:topLinePunct", "w:autoSpaceDE", "w:autoSpaceDN", "w:bidi", "w:adjustRightInd", "w:snapToGrid",
               "w:spacing", "w:ind", "w:contextualSpacing", "w:mirrorIndents", "w:suppressOverlap", "w:jc",
               "w:textDirection", "w:textAlignment", "w:textboxTightWrap", "w:outlineLvl", "w:divId", "w:cnfStyle",
               "w:rPr", "w:sectPr", "w:pPrChange")


def _font(style: BaseStyle, size: float, bold: bool = False, italic: bool = False) -> None:
    f = style.font
    f.name, f.size, f.bold, f.italic = FONT, Pt(size), bold, italic
    f.color.rgb = RGBColor(0, 0, 0)
    rfonts = style.element.get_or_add_rPr().get_or_add_rFonts()
    for attr in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        rfonts.attrib.pop(qn(attr), None)  # theme fonts override w:ascii; drop them or Word shows Calibri
    for attr in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        rfonts.set(qn(attr), FONT)


def _styles(doc: DocxDocument) -> None:
    st = doc.styles
    normal = st["Normal"]
    _font(normal, 13)
    pf = normal.paragraph_format
    pf.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
    pf.first_line_indent = Cm(1)
    pf.space_before, pf.space_after, pf.line_spacing = Pt(0), Pt(6), 1.1

    title = st["Title"]  # the "V/v" line: the letter's own title (trích yếu)
    _font(title, 12, bold=True)
    title.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
    title.paragraph_format.first_line_indent = Cm(0)
    title.paragraph_format.space_before, title.paragraph_format.space_after = Pt(6), Pt(0)
    pPr = title.element.get_or_add_pPr()
    for bdr in pPr.findall(qn("w:pBdr")):
        pPr.remove(bdr)  # the template's Title has a blue rule under it

    for name, before in (("Heading 1", 6), ("Heading 2", 6)):
        h = st[name]
        _font(h, 13, bold=True)
        h.paragraph_format.first_line_indent = Cm(1)
        h.paragraph_format.space_before, h.paragraph_format.space_after = Pt(before), Pt(3)
        h.paragraph_format.keep_with_next = True
        h.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY

    quote = st["Quote"]
    _font(quote, 13, italic=True)
    qf = quote.paragraph_format
    qf.left_indent, qf.right_indent, qf.first_line_indent = Cm(1), Cm(0.5), Cm(0)
    qf.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
    qf.space_after = Pt(3)

    for name, size in ((TABLE_TEXT, 12), (STAFF_NOTE, 12)):
        s = st.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
        s.base_style = normal
        _font(s, size, italic=name == STAFF_NOTE)
        s.paragraph_format.first_line_indent = Cm(0)
        s.paragraph_format.space_after = Pt(0) if name == TABLE_TEXT else Pt(6)
        s.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.LEFT if name == TABLE_TEXT else WD_ALIGN_PARAGRAPH.JUSTIFY


def _page(doc: DocxDocument) -> None:
    sec = doc.sections[0]
    sec.orientation = WD_ORIENT.PORTRAIT
    sec.page_width, sec.page_height = Cm(21), Cm(29.7)
    sec.top_margin, sec.bottom_margin, sec.left_margin, sec.right_margin = Cm(2), Cm(2), Cm(3), Cm(1.5)
    sec.header_distance = Cm(1)
    # NĐ 30: page numbers from page 2, top centre; page 1 carries the draft mark instead.
    sec.different_first_page_header_footer = True
    mark = sec.first_page_header.paragraphs[0]
    mark.style = doc.styles[TABLE_TEXT]
    run = mark.add_run(DRAFT_MARK)
    run.italic, run.font.size = True, Pt(10)
    run.font.color.rgb = RGBColor(0x80, 0x80, 0x80)
    num = sec.header.paragraphs[0]
    num.style = doc.styles[TABLE_TEXT]
    num.alignment = WD_ALIGN_PARAGRAPH.CENTER
    fld = OxmlElement("w:fldSimple")
    fld.set(qn("w:instr"), "PAGE")
    r = OxmlElement("w:r")
    t = OxmlElement("w:t")
    t.text = "2"
    r.append(t)
    fld.append(r)
    num._p.append(fld)


def _para(container, text: str = "", style: str = TABLE_TEXT, bold: bool = False, italic: bool = False,
          size: float | None = None, align: WD_ALIGN_PARAGRAPH | None = WD_ALIGN_PARAGRAPH.CENTER,
          first: bool = False) -> Paragraph:
    """A paragraph in a cell or the body; `first` reuses the empty paragraph a new cell already has."""
    p = container.paragraphs[0] if first else container.add_paragraph()
    p.style = style
    if align is not None:
        p.alignment = align
    if text:
        run = p.add_run(text)
        run.bold, run.italic = bold or None, italic or None
        if size:
            run.font.size = Pt(size)
    return p


def _rule(cell: _Cell, cell_cm: float, line_cm: float) -> None:
    """The short solid line under the issuer and the motto: a top border on a tiny paragraph, narrowed by indents."""
    p = cell.add_paragraph(style=TABLE_TEXT)
    side = Cm(max(0.0, (cell_cm - line_cm) / 2))
    p.paragraph_format.left_indent = p.paragraph_format.right_indent = side
    p.paragraph_format.space_before = Pt(2)
    border = OxmlElement("w:pBdr")
    top = OxmlElement("w:top")
    for k, v in (("w:val", "single"), ("w:sz", "6"), ("w:space", "1"), ("w:color", "000000")):
        top.set(qn(k), v)
    border.append(top)
    p._p.get_or_add_pPr().insert_element_before(border, *_AFTER_PBDR)  # Word rejects out-of-order pPr children
    p.add_run().font.size = Pt(2)


def _widths(table, cols_cm: tuple[float, ...]) -> None:
    table.autofit = False
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    for col, w in zip(table.columns, cols_cm):
        col.width = Cm(w)  # the grid is what LibreOffice honours; Word reads the cell widths
    for row in table.rows:
        for cell, w in zip(row.cells, cols_cm):
            cell.width = Cm(w)


def _shade(cell: _Cell, fill: str = "E7E6E6") -> None:
    shd = OxmlElement("w:shd")
    shd.set(qn("w:val"), "clear")
    shd.set(qn("w:color"), "auto")
    shd.set(qn("w:fill"), fill)
    cell._tc.get_or_add_tcPr().append(shd)


def _header(doc: DocxDocument, letter: Letter) -> None:
    # Two rows so that "Số:" and the place/date line sit on the same baseline, as in the NĐ 30 sample.
    t = doc.add_table(rows=2, cols=2)
    _widths(t, HEADER_COLS_CM)
    (left, right), (num, date) = t.rows[0].cells, t.rows[1].cells
    _para(left, PARENT_BODY, size=12, first=True)
    p = _para(left, ISSUER_LINES[0], bold=True, size=12)
    p.runs[0].add_break()
    p.add_run(ISSUER_LINES[1]).bold = True
    p.runs[1].font.size = Pt(12)
    _rule(left, HEADER_COLS_CM[0], 2.4)
    _para(right, MOTTO[0], bold=True, size=12, first=True)
    _para(right, MOTTO[1], bold=True, size=13)
    _rule(right, HEADER_COLS_CM[1], 5.6)
    _para(num, NUMBER, size=13, first=True).paragraph_format.space_before = Pt(2)
    _para(num, letter.subject_line, style="Title")
    _para(date, letter.place_date, italic=True, size=13, first=True).paragraph_format.space_before = Pt(2)


def _bases(doc: DocxDocument, letter: Letter) -> None:
    t = doc.add_table(rows=1, cols=len(BASES_COLUMNS))
    t.style = doc.styles["Table Grid"]
    for cell, name in zip(t.rows[0].cells, BASES_COLUMNS):
        _para(cell, name, bold=True, first=True)
        _shade(cell)
    for i, b in enumerate(letter.bases, 1):
        cells = t.add_row().cells
        _para(cells[0], str(i), first=True)
        _para(cells[1], b.name, first=True, align=WD_ALIGN_PARAGRAPH.LEFT)
        _para(cells[2], "; ".join(b.provisions), first=True, align=WD_ALIGN_PARAGRAPH.LEFT)
        _para(cells[3], b.status_label, first=True, align=WD_ALIGN_PARAGRAPH.LEFT,
              italic=not b.in_force)
    _widths(t, BASES_COLS_CM)
    # Header row repeats on each page when the table breaks.
    tr_pr = t.rows[0]._tr.get_or_add_trPr()
    tr_pr.append(OxmlElement("w:tblHeader"))


def _signature(doc: DocxDocument, letter: Letter) -> None:
    t = doc.add_table(rows=1, cols=2)
    _widths(t, SIGN_COLS_CM)
    left, right = t.rows[0].cells
    _para(left, "Nơi nhận:", bold=True, italic=True, size=12, align=WD_ALIGN_PARAGRAPH.LEFT, first=True)
    for item in letter.recipients:
        _para(left, item, size=11, align=WD_ALIGN_PARAGRAPH.LEFT)
    _para(right, SIGNATURE[0], bold=True, size=13, first=True)
    _para(right, SIGNATURE[1], bold=True, size=13)
    _para(right, SIGN_HINT, italic=True, size=13)
    for _ in range(3):
        _para(right)
    _para(right, BLANK, bold=True, size=13)


def render_docx(letter: Letter) -> bytes:
    doc = Document()
    _styles(doc)
    _page(doc)
    doc.core_properties.title = letter.subject_line
    doc.core_properties.subject = letter.answer.question
    doc.core_properties.author = "htp-assistant (dự thảo)"
    _header(doc, letter)

    to = doc.add_paragraph(style="Normal")
    to.alignment = WD_ALIGN_PARAGRAPH.CENTER
    to.paragraph_format.first_line_indent = Cm(0)
    to.paragraph_format.space_before, to.paragraph_format.space_after = Pt(12), Pt(12)
    to.add_run(letter.addressee).font.size = Pt(14)

    doc.add_paragraph(letter.opening, style="Normal")
    if letter.bases:
        doc.add_paragraph(letter.bases_intro, style="Heading 1")
        _bases(doc, letter)
    doc.add_paragraph(letter.body_intro, style="Normal").paragraph_format.space_before = Pt(6)
    if letter.refused:
        for text in letter.refusal_paragraphs:
            doc.add_paragraph(text, style="Normal")
        # Staff-only text stands out (highlighted) so nobody signs it by mistake.
        for text in [letter.staff_note, *letter.missing]:
            doc.add_paragraph(style=STAFF_NOTE).add_run(text).font.highlight_color = WD_COLOR_INDEX.YELLOW
    else:
        for pt in letter.points:
            doc.add_paragraph(f"{pt.index}. {pt.heading}", style="Heading 2")
            for line in pt.quote_lines:
                doc.add_paragraph(line, style="Quote")
        if letter.notes:
            doc.add_paragraph(letter.notes_heading, style="Heading 1")
            for n in letter.notes:
                doc.add_paragraph(f"- {n}", style="Normal")
        doc.add_paragraph(letter.follow_up, style="Normal").paragraph_format.space_before = Pt(6)
    doc.add_paragraph(letter.closing, style="Normal")
    doc.add_paragraph(letter.regards, style="Normal")
    _signature(doc, letter)
    doc.add_paragraph(style=TABLE_TEXT)  # Word expects a paragraph, not a table, to end the body

    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()
