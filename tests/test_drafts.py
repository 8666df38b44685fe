"""Staff drafting: the reply letter (công văn) as .docx / Markdown / POST /api/drafts, on the small real index."""
from __future__ import annotations

import datetime as dt
import io

import pytest
from docx import Document
from docx.shared import Pt
from fastapi import FastAPI
from fastapi.testclient import TestClient

from assistant.drafts import build_draft, letter_from_answer, render_markdown, write_draft
from assistant.drafts.letter import BASES_COLUMNS, subject_of, vn_date
from assistant.drafts.markdown import md_escape
from assistant.drafts.router import MEDIA, router
from assistant.models import Answer

from conftest import AS_OF

IN_SCOPE = "Điều kiện thành lập khu công nghệ cao là gì?"
OUT_OF_SCOPE = "Thủ tục ly hôn đơn phương thế nào?"
FAR_OUT = "Cách nấu phở bò ngon?"  # nothing in the corpus is close: the engine refuses it today
ORG = "Công ty TNHH Công nghệ ABC"
REF = "125/2026/CV-ABC"


def _answer(assistant, question: str) -> Answer:
    # The same call build_draft makes, so the letter can be checked against the pipeline's own citations.
    return assistant.answer(question, as_of=AS_OF, language="vi", record=False)


def _paragraphs(doc) -> list:
    """Body paragraphs and those inside table cells, in document order."""
    out = list(doc.paragraphs)
    for t in doc.tables:
        for row in t.rows:
            for cell in row.cells:
                out += cell.paragraphs
    return out


def _text(doc) -> str:
    return "\n".join(p.text for p in _paragraphs(doc))


def _bases_table(doc):
    found = [t for t in doc.tables if tuple(c.text for c in t.rows[0].cells) == BASES_COLUMNS]
    assert len(found) <= 1
    return found[0] if found else None


def _expected_documents(ans: Answer) -> list[str]:
    docs = list(dict.fromkeys(c.document for c in ans.citations))
    in_force = {d for d in docs if any(c.in_force for c in ans.citations if c.document == d)}
    return sorted(docs, key=lambda d: d not in in_force)


def test_docx_in_scope(assistant, tmp_path):
    ans = _answer(assistant, IN_SCOPE)
    assert not ans.refused and ans.citations
    path = write_draft(assistant, IN_SCOPE, tmp_path / "reply.docx", org=ORG, ref=REF, as_of=AS_OF)
    assert path == tmp_path / "reply.docx"
    doc = Document(str(path))
    text = _text(doc)
    paras = _paragraphs(doc)

    # Header, addressee, opening
    for s in ("UBND THÀNH PHỐ …", "BAN QUẢN LÝ", "KHU CÔNG NGHỆ CAO …", "Số: …/BQL-…",
              "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc", "…, ngày 27 tháng 11 năm 2026"):
        assert s in text, s
    subject = [p for p in paras if p.text.startswith("V/v ")]
    assert [p.text for p in subject] == ["V/v điều kiện thành lập khu công nghệ cao"]
    assert subject[0].style.name == "Title" and subject[0].style.font.bold
    date = next(p for p in paras if p.text.startswith("…, ngày"))
    assert all(r.italic for r in date.runs)
    assert any(p.text == f"Kính gửi: {ORG}" for p in doc.paragraphs)
    assert f"nhận được văn bản số {REF}" in text and f"của {ORG} về việc điều kiện thành lập" in text

    # Căn cứ: exactly the distinct cited documents, in-force first, with catalog dates and a status each
    table = _bases_table(doc)
    assert table is not None
    rows = table.rows[1:]
    expected = _expected_documents(ans)
    assert len(rows) == len(expected)
    for i, (row, number) in enumerate(zip(rows, expected), 1):
        stt, name, provisions, status = (c.text for c in row.cells)
        assert stt == str(i)
        assert number in name
        assert sum(n in name for n in expected) == 1
        meta = assistant.catalog.by_number(number)
        assert vn_date(meta.issued) in name
        cited = [c for c in ans.citations if c.document == number]
        assert all(f"Điều {c.article}" in provisions for c in cited)
        assert status.lower().startswith(cited[0].status_note.split(",")[0].lower())
    # a repealed basis (10/2024/NĐ-CP from 01/07/2026, when the answer cites it) says so in its row
    for row, number in zip(rows, expected):
        if not any(c.in_force for c in ans.citations if c.document == number):
            assert "hết hiệu lực" in row.cells[3].text.lower(), number

    # Body: one heading per cited provision (and no other), each quote verbatim in the Quote style
    heads = [p.text for p in doc.paragraphs if p.style.name == "Heading 2"]
    assert len(heads) == len(ans.citations)
    quotes = "\n".join(p.text for p in doc.paragraphs if p.style.name == "Quote")
    for c, head in zip(ans.citations, heads):
        assert c.citation in head and c.status_note in head
        for line in c.quote.splitlines():
            assert line.strip() in quotes
    # A repealed basis (10/2024/NĐ-CP, when the answer cites it) is flagged with the pipeline's own note
    if any(not c.in_force for c in ans.citations):
        assert ans.notes
        assert "Lưu ý về hiệu lực" in text and "không còn hiệu lực" in text

    # Closing, signature, recipients
    for s in ("Trân trọng./.", "KT. TRƯỞNG BAN", "PHÓ TRƯỞNG BAN", "(Ký, ghi rõ họ tên, đóng dấu)", "Nơi nhận:",
              "- Như trên;", "- Lưu: VT"):
        assert s in text, s

    # Styles: Vietnamese administrative standard
    normal = doc.styles["Normal"]
    assert normal.font.name == "Times New Roman" and normal.font.size == Pt(13)
    assert doc.styles["Quote"].font.italic


def test_markdown(assistant, tmp_path):
    ans = _answer(assistant, IN_SCOPE)
    md = write_draft(assistant, IN_SCOPE, tmp_path / "reply.md", org=ORG, ref=REF, as_of=AS_OF).read_text("utf-8")
    assert f"**Kính gửi: {ORG}**" in md
    assert "V/v điều kiện thành lập khu công nghệ cao" in md
    assert "| STT | Văn bản | Điều khoản | Hiệu lực |" in md
    rows = [ln for ln in md.splitlines() if ln.startswith("| ") and ln.split("|")[1].strip().isdigit()]
    expected = _expected_documents(ans)
    assert len(rows) == len(expected)
    for row, number in zip(rows, expected):
        assert md_escape(number) in row
    for c in ans.citations:
        assert md_escape(c.citation) in md
        for line in c.quote.splitlines():
            assert f"> {md_escape(line.strip())}" in md
    for s in ("Trân trọng./.", "Nơi nhận:", "- Như trên;", "KT. TRƯỞNG BAN"):
        assert s in md


def _assert_no_bases(doc) -> None:
    assert _bases_table(doc) is None
    assert not [p for p in doc.paragraphs if p.style.name == "Heading 2"]
    text = _text(doc)
    assert "Căn cứ các văn bản" not in text and "Căn cứ các quy định" not in text
    assert "không tìm thấy điều khoản nào" in text and "nghiên cứu, bổ sung căn cứ" in text
    assert "không thuộc thẩm quyền" in text


def test_out_of_scope_has_no_legal_basis(assistant, tmp_path):
    ans = _answer(assistant, OUT_OF_SCOPE)
    assert ans.refused, f"engine does not refuse {OUT_OF_SCOPE!r} (cites {[c.short for c in ans.citations]})"
    doc = Document(str(write_draft(assistant, OUT_OF_SCOPE, tmp_path / "r.docx", org=ORG, as_of=AS_OF)))
    _assert_no_bases(doc)


def test_refused_answer_yields_no_bases(assistant, tmp_path):
    ans = _answer(assistant, FAR_OUT)
    assert ans.refused and not ans.citations
    doc = Document(str(write_draft(assistant, FAR_OUT, tmp_path / "r.docx", as_of=AS_OF)))
    _assert_no_bases(doc)
    assert "Kính gửi: ……" in _text(doc)  # no org given: a fill-in line, not an invented addressee
    md = write_draft(assistant, FAR_OUT, tmp_path / "r.md", as_of=AS_OF).read_text("utf-8")
    assert "| STT |" not in md and "không tìm thấy điều khoản nào" in md


def test_refused_flag_drops_any_citation(assistant):
    # A refused answer never lends its (rejected) candidates to the letter.
    ans = _answer(assistant, IN_SCOPE).model_copy(update={"refused": True})
    letter = letter_from_answer(ans, assistant.catalog, AS_OF, org=ORG)
    assert letter.bases == [] and letter.points == []
    md = render_markdown(letter)
    assert not any(c.document in md for c in ans.citations)


def test_write_draft_rejects_unknown_suffix(assistant, tmp_path):
    with pytest.raises(ValueError, match=r"\.docx.*\.md"):
        write_draft(assistant, IN_SCOPE, tmp_path / "reply.pdf")
    assert not (tmp_path / "reply.pdf").exists()


def test_build_draft_defaults(assistant):
    letter = build_draft(assistant, IN_SCOPE)
    assert letter.date == assistant.settings.today() == AS_OF
    assert letter.addressee.startswith("Kính gửi: ……") and "văn bản số …" in letter.opening


def test_subject_and_date_forms():
    assert subject_of("Cho tôi hỏi thời hạn giấy phép lao động là bao lâu?") == "thời hạn giấy phép lao động"
    assert subject_of("Luật Công nghệ cao 2025 có hiệu lực khi nào?") == "Luật Công nghệ cao 2025 có hiệu lực"
    assert subject_of("???") == "trả lời văn bản đề nghị"
    assert len(subject_of("ưu đãi " * 60)) <= 122
    # NĐ 30/2020: days below 10 and months 1–2 take a leading zero
    assert vn_date(dt.date(2026, 2, 5)) == "ngày 05 tháng 02 năm 2026"
    assert vn_date(dt.date(2026, 11, 27)) == "ngày 27 tháng 11 năm 2026"
    assert vn_date(dt.date(2026, 3, 9)) == "ngày 09 tháng 3 năm 2026"


@pytest.fixture
def client(assistant):
    app = FastAPI()
    app.state.assistant = assistant
    app.include_router(router)
    return TestClient(app)


def test_router_docx_and_markdown(client):
    r = client.post("/api/drafts", json={"question": IN_SCOPE, "org": ORG, "ref": REF, "as_of": AS_OF.isoformat()})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == MEDIA["docx"]
    assert r.headers["content-disposition"].startswith("attachment;")
    assert ".docx" in r.headers["content-disposition"]
    doc = Document(io.BytesIO(r.content))
    assert any(p.text == f"Kính gửi: {ORG}" for p in doc.paragraphs)
    assert _bases_table(doc) is not None

    r = client.post("/api/drafts", json={"question": IN_SCOPE, "format": "md", "as_of": AS_OF.isoformat()})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/markdown")
    assert "Kính gửi:" in r.text and "| STT |" in r.text


@pytest.mark.parametrize("body", [
    {"question": IN_SCOPE, "format": "pdf"},  # unsupported format
    {"question": "   "},  # QuestionError from the engine
    {"org": ORG},  # no question
    {"question": IN_SCOPE, "as_of": "27/11/2026"},  # not an ISO date
])
def test_router_rejects_bad_requests(client, body):
    assert client.post("/api/drafts", json=body).status_code == 422


def test_refused_for_missing_text_keeps_the_pipeline_note(assistant):
    # A text the corpus lacks: the staff are told which, and still no legal basis is invented.
    letter = build_draft(assistant, "Nghị định 99/2003/NĐ-CP quy định gì về quy chế khu công nghệ cao?", as_of=AS_OF)
    assert letter.refused and letter.bases == [] and letter.points == []
    assert any("99/2003/NĐ-CP" in m and "chưa có trong kho" in m for m in letter.missing)
    assert "99/2003/NĐ-CP" in render_markdown(letter)
