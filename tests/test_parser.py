"""Parser (Chương → Mục → Điều → Khoản → Điểm) on small crafted documents in tests/data/parser.

The documents are invented (numbers like 77/2099/QH99) and written for these tests; each one exercises the
shapes met in real copies: the collector's header, preambles, chapters with a title line, sections, ``Điều 28a``,
publisher duplication ``Điều 28a. 28a. Title``, untitled articles, points ``đ)`` / ``b1)``, clauses ``1a.``,
source lines of codified texts (including articles filed from another act), publisher notes, footnote markers
and footnote blocks, amending acts quoting whole articles, signatures, certification blocks and appendices.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from corpus.catalog import load_catalog
from corpus.loader import load_corpus
from corpus.models import parse_provision_id, provision_id
from corpus.parser import parse_file, parse_text

DATA = Path(__file__).parent / "data" / "parser"


@pytest.fixture(scope="module")
def law():
    return parse_file(DATA / "luat-mau.txt")


@pytest.fixture(scope="module")
def codified():
    return parse_file(DATA / "nghi-dinh-phap-dien.txt")


@pytest.fixture(scope="module")
def consolidated():
    return parse_file(DATA / "luat-hop-nhat.txt")


@pytest.fixture(scope="module")
def amending():
    return parse_file(DATA / "luat-sua-doi.txt")


@pytest.fixture(scope="module")
def decree():
    return parse_file(DATA / "nghi-dinh-goc.txt")


def numbers(doc) -> list[str]:
    return [a.number for a in doc.articles]


# ------------------------------------------------------------------------------------------------ header, preamble
def test_header_block(law):
    assert law.title == "Luật Mẫu về khu thử nghiệm công nghệ"
    assert law.number == "77/2099/QH99"
    assert law.header["Cơ quan ban hành"] == "Quốc hội"
    assert law.header["Ngày ban hành"] == "01/01/2099"
    assert "Ghi chú" in law.header
    assert not [i for i in law.issues if i.severity == "error"]


def test_header_number_differs_from_catalog_warns():
    doc = parse_file(DATA / "luat-mau.txt", expected_number="12/2099/QH99")
    assert doc.number == "77/2099/QH99"
    assert any("catalog expects 12/2099/QH99" in i.message for i in doc.issues)


def test_preamble_kept_out_of_articles(law, decree):
    assert law.preamble[0] == "QUỐC HỘI"
    assert any(p.startswith("Căn cứ Hiến pháp") for p in law.preamble)
    assert all("Căn cứ" not in a.full_text() for a in law.articles)
    assert sum(p.startswith("Căn cứ") for p in decree.preamble) == 2


def test_without_header_the_title_is_the_file_stem():
    doc = parse_text("Điều 1. Phạm vi\nNội dung.\n", "/x/van-ban-khong-tieu-de.txt")
    assert doc.title == "van-ban-khong-tieu-de"
    assert doc.number is None and numbers(doc) == ["1"]


# ------------------------------------------------------------------------------------------------ structure
def test_articles_in_order(law):
    assert numbers(law) == ["1", "2", "3", "3a", "3b", "4", "5"]


def test_chapter_with_title_line_and_sections(law):
    assert law.chapters == ["Chương I QUY ĐỊNH CHUNG", "Chương II KHU THỬ NGHIỆM"]
    a1, a3, a4 = law.article("1"), law.article("3"), law.article("4")
    assert a1.chapter == "Chương I QUY ĐỊNH CHUNG" and a1.section is None
    assert a3.chapter == "Chương II KHU THỬ NGHIỆM"
    assert a3.section == "Mục 1. THÀNH LẬP KHU THỬ NGHIỆM"
    assert a4.section == "Mục 2. HOẠT ĐỘNG TRONG KHU THỬ NGHIỆM"


def test_chapter_title_on_the_same_line():
    doc = parse_text("Chương III - ƯU ĐÃI\nĐiều 1. Ưu đãi\nNội dung.\n")
    assert doc.articles[0].chapter == "Chương III ƯU ĐÃI"


def test_lettered_articles_and_publisher_duplication(law):
    assert law.article("3a").title == "Mở rộng khu thử nghiệm"
    # "Điều 3b. 3b. Điều chỉnh ranh giới": the repeated number is not part of the title
    assert law.article("3b").title == "Điều chỉnh ranh giới"
    assert law.article("3b").heading == "Điều 3b. Điều chỉnh ranh giới"


def test_article_without_title(law):
    a4 = law.article("4")
    assert a4.title == ""
    assert a4.heading == "Điều 4."
    assert a4.intro == ["Doanh nghiệp trong khu thử nghiệm được ưu đãi về thuế theo quy định của pháp luật."]


def test_intro_before_clauses(law):
    a2 = law.article("2")
    assert a2.intro == ["Trong Luật này, các từ ngữ dưới đây được hiểu như sau:"]
    assert [c.number for c in a2.clauses] == ["1", "2"]


def test_clause_text_continues_over_lines(law):
    k1 = law.article("2").clauses[0]
    assert k1.text == ("Khu thử nghiệm là khu vực được thành lập để thử nghiệm\n"
                       "công nghệ mới, có ranh giới địa lý xác định\nvà được quản lý thống nhất.")
    assert k1.line == 20


def test_points_d_dd_e_and_inserted_b1(law):
    k2 = law.article("2").clauses[1]
    assert [p.letter for p in k2.points] == ["a", "b", "b1", "c", "d", "đ", "e"]
    dd = k2.points[5]
    assert dd.text == "Có hệ thống quản lý chất lượng\nđược chứng nhận theo tiêu chuẩn quốc gia;"


def test_text_after_points_is_the_clause_tail(law):
    k2 = law.article("2").clauses[1]
    assert k2.tail == ["Chính phủ quy định chi tiết các tiêu chí tại khoản này."]
    assert "Chính phủ quy định chi tiết" not in k2.points[-1].text
    full = k2.full_text()
    assert full.index("e) Tuân thủ") < full.index("Chính phủ quy định chi tiết")


def test_inserted_clause_1a(law):
    a3 = law.article("3")
    assert [c.number for c in a3.clauses] == ["1", "1a", "2"]
    assert a3.clauses[1].text.startswith("Khu thử nghiệm mở rộng")
    assert [p.letter for p in a3.clauses[0].points] == ["a", "b"]


def test_duplicate_clause_number_is_kept_as_text_not_a_second_clause(law):
    a3 = law.article("3")
    assert [c.number for c in a3.clauses].count("2") == 1
    # no text is lost: the repeated "2." stays in the clause it follows
    assert "2. Hồ sơ đề nghị thành lập gồm tờ trình và đề án." in a3.clauses[-1].text


def test_repeated_lettered_clause_warns():
    doc = parse_text("Điều 1. Thử\n1. Một.\n1a. Một a.\n1a. Lặp lại.\n", "t.txt")
    a = doc.articles[0]
    assert [c.number for c in a.clauses] == ["1", "1a"]
    assert "1a. Lặp lại." in a.clauses[1].text
    assert any("clause '1a.' repeated" in i.message and i.line == 4 for i in doc.issues)


def test_out_of_sequence_point_letter_is_text():
    doc = parse_text("Điều 1. Thử\n1. Gồm:\na) Một;\nc) Ba.\n")
    k = doc.articles[0].clauses[0]
    assert [p.letter for p in k.points] == ["a"]
    assert "c) Ba." in k.points[0].text or "c) Ba." in k.tail


def test_points_directly_under_an_article():
    doc = parse_text("Điều 7. Đối tượng\nÁp dụng đối với:\na) Doanh nghiệp;\nb) Cá nhân.\n")
    a = doc.articles[0]
    assert not a.clauses and [p.letter for p in a.points] == ["a", "b"]
    assert a.intro == ["Áp dụng đối với:"]


# ------------------------------------------------------------------------------------------------ signature, appendix
def test_law_signature_and_appendix_after_last_article(law):
    last = law.articles[-1]
    assert last.number == "5"
    text = last.full_text()
    for junk in ("thông qua", "CHỦ TỊCH QUỐC HỘI", "Nguyễn Văn Mẫu", "Phụ lục", "trí tuệ nhân tạo"):
        assert junk not in text
    assert [a.title for a in law.appendices] == ["Phụ lục I"]
    assert "Công nghệ trí tuệ nhân tạo." in law.appendices[0].text
    # "1. Công nghệ …" inside the appendix never becomes a clause
    assert not last.clauses


def test_decree_signature_noi_nhan_tm_chinh_phu(decree):
    assert numbers(decree) == ["1", "2"]
    text = decree.articles[-1].full_text()
    for junk in ("Nơi nhận", "Ban Bí thư", "TM. CHÍNH PHỦ", "THỦ TƯỚNG", "Lê Văn Ký", "MẪU ĐƠN"):
        assert junk not in text
    assert [a.title for a in decree.appendices] == ["PHỤ LỤC II"]
    assert "Kính gửi" in decree.appendices[0].text


@pytest.mark.parametrize("closing", ["Nơi nhận:", "TM. CHÍNH PHỦ", "KT. BỘ TRƯỞNG", "CHỦ TỊCH QUỐC HỘI",
                                     "CHỦ TỊCH QUỐC HỘI\nTrần Thanh Mẫu", "THỦ TƯỚNG"])
def test_each_closing_line_ends_the_last_article(closing):
    doc = parse_text(f"Điều 1. Hiệu lực\nNghị định này có hiệu lực từ ngày ký.\n{closing}\nNguyễn Văn A\n")
    assert doc.articles[0].full_text() == "Điều 1. Hiệu lực\nNghị định này có hiệu lực từ ngày ký."


def test_consolidated_certification_block_is_not_article_text(consolidated):
    last = consolidated.article("3")
    assert last.intro == ["Luật này có hiệu lực từ ngày 01 tháng 01 năm 2099./."]
    for junk in ("VĂN PHÒNG QUỐC HỘI", "VBHN", "XÁC THỰC", "CHỦ NHIỆM", "Trần Văn Hợp", "## Chú thích"):
        assert junk not in last.full_text()


def test_certification_on_one_line_then_long_appendix_line():
    # The shape of a consolidated law: certification and signer on one line, then an appendix whose title
    # and first heading run into one long line, then a table.
    long_title = ("PHỤ LỤC (Ban hành kèm theo Luật Mẫu số 79/2099/QH99) Phụ lục I DANH MỤC CÁC CHẤT CẤM ĐẦU TƯ "
                  "KINH DOANH A. Các chất và muối, đồng phân, ester, ether của các chất này có thể tồn tại")
    assert len(long_title) > 160
    doc = parse_text("Điều 9. Chuyển tiếp\n1. Quy định chuyển tiếp.\n2. Chính phủ quy định chi tiết Điều này./.\n"
                     "XÁC THỰC VĂN BẢN HỢP NHẤT CHỦ NHIỆM Trần Văn Hợp\n"
                     f"{long_title}\n| STT | Tên chất |\n| 1 | Chất A |\n")
    art = doc.articles[0]
    assert art.clauses[-1].text == "Chính phủ quy định chi tiết Điều này./."
    assert "XÁC THỰC" not in art.full_text() and "| STT" not in art.full_text()
    assert len(doc.appendices) == 1 and "| 1 | Chất A |" in doc.appendices[0].text


# ------------------------------------------------------------------------------------------------ codified texts
def test_source_lines_are_metadata(codified):
    a1 = codified.article("1")
    assert a1.source_note.startswith("Điều 1 Nghị định số 55/2099/NĐ-CP")
    assert "Nguồn pháp điển" not in a1.full_text()
    assert all("Nguồn pháp điển" not in a.full_text() for a in codified.articles)


def test_phap_dien_chapter_lines(codified):
    assert codified.chapters == ["Chương I QUY ĐỊNH CHUNG", "Chương II TỔ CHỨC THỰC HIỆN"]
    assert codified.article("3").chapter == "Chương II TỔ CHỨC THỰC HIỆN"


def test_article_from_another_document_is_skipped_with_warning(codified):
    assert numbers(codified) == ["1", "2", "3"]
    text = "\n".join(a.full_text() for a in codified.articles)
    assert "Thông tư này áp dụng" not in text  # Điều 1 of 3/2099/TT-BKHCN, filed under this decree
    assert "nghị định khác được pháp điển" not in text  # Điều 9 of 44/2098/NĐ-CP filed as "Điều 3"
    assert codified.article("3").title == "Trách nhiệm của Ban quản lý"
    warnings = [i for i in codified.issues if i.severity == "warning"]
    assert any("3/2099/TT-BKHCN" in i.message and i.line == 14 for i in warnings)
    assert any("44/2098/NĐ-CP" in i.message and i.line == 25 for i in warnings)
    assert all(str(i).startswith(f"{DATA / 'nghi-dinh-phap-dien.txt'}:") for i in warnings)


def test_publisher_notes_are_notes_not_text(codified):
    a1 = codified.article("1")
    assert a1.notes == ["Điều này được hướng dẫn bởi Thông tư 3/2099/TT-BKHCN có hiệu lực từ ngày 01/05/2099"]
    assert "được hướng dẫn bởi" not in a1.full_text()
    k1 = codified.article("2").clauses[0]
    assert k1.notes == ["Khoản này được hướng dẫn bởi Điều 5 Thông tư 3/2099/TT-BKHCN"]
    assert "hướng dẫn bởi" not in k1.full_text()


def test_out_of_order_article_without_source_line_stays_text():
    doc = parse_text("Điều 1. A\nNội dung A.\nĐiều 2. B\nNội dung B.\nĐiều 1. Lặp\nNội dung lặp.\n", "t.txt")
    assert numbers(doc) == ["1", "2"]
    assert "Nội dung lặp." in doc.article("2").full_text()
    assert any("breaks the numbering" in i.message and i.line == 5 for i in doc.issues)


# ------------------------------------------------------------------------------------------------ footnotes
def test_footnote_markers_stripped_and_recorded(consolidated):
    a1, a2 = consolidated.article("1"), consolidated.article("2")
    assert a1.intro == ["Luật này quy định về thuế thử nghiệm."]
    assert a1.footnote_refs == ["1"]
    assert a2.clauses[0].text == "Thuế suất thuế thử nghiệm là 20%."
    assert a2.clauses[1].text == "Thuế suất ưu đãi là 10% đối với doanh nghiệp trong khu thử nghiệm."
    assert a2.footnote_refs == ["2", "3"]
    assert all("[" not in a.full_text() for a in consolidated.articles)


def test_footnote_block_is_metadata_and_quoted_articles_in_it_are_not_articles(consolidated):
    assert numbers(consolidated) == ["1", "2", "3"]
    assert set(consolidated.footnotes) == {"1", "2", "3"}
    fn2 = consolidated.footnotes["2"]
    assert "Điều 170. Quyền chung của người sử dụng đất" in fn2
    assert "Điều 171. Quyền của người được thuê đất" in fn2  # even outside the quote marks
    assert consolidated.footnotes["3"].startswith("Cụm từ “10%”")
    assert not any("Điều 17" in i.message for i in consolidated.issues)


def test_footnote_marker_in_article_title():
    doc = parse_text("Điều 4. Ưu đãi[5]\nNội dung.\n")
    assert doc.articles[0].title == "Ưu đãi" and doc.articles[0].footnote_refs == ["5"]


# ------------------------------------------------------------------------------------------------ amending acts
def test_quoted_articles_are_content_not_structure(amending):
    assert numbers(amending) == ["1", "2"]
    a1 = amending.article("1")
    assert [c.number for c in a1.clauses] == ["1", "2", "3"]
    k1 = a1.clauses[0]
    assert "“Điều 29a. Khu thử nghiệm số" in k1.text
    assert "2. Chính phủ quy định chi tiết Điều này.”" in k1.text
    assert a1.clauses[1].text.endswith("“2. Doanh nghiệp trong khu thử nghiệm số được miễn thuế.”")


def test_unclosed_quote_does_not_swallow_next_article(amending):
    a1, a2 = amending.article("1"), amending.article("2")
    assert "“Điều 31. Quản lý khu thử nghiệm số" in a1.clauses[2].text
    assert a2.title == "Hiệu lực thi hành"
    assert a2.intro == ["Luật này có hiệu lực thi hành từ ngày 01 tháng 01 năm 2100."]
    assert "CHỦ TỊCH" not in a2.full_text() and "thông qua" not in a2.full_text()


def test_unclosed_quote_far_from_next_article_is_closed_after_limit():
    body = "\n".join(f"Dòng trích dẫn số {i}." for i in range(160))
    doc = parse_text(f"Điều 1. Sửa đổi\n1. Sửa Điều 50 như sau:\n“Điều 50. Mới\n{body}\nĐiều 9. Khác\nNội dung.\n",
                     "q.txt")
    assert numbers(doc) == ["1", "9"]
    assert any("not closed" in i.message and i.line == 3 for i in doc.issues)


# ------------------------------------------------------------------------------------------------ normalisation
def test_nfd_input_and_nbsp_are_normalised():
    import unicodedata

    text = unicodedata.normalize("NFD", "Điều 1. Phạm vi điều chỉnh\nKhu\u00a0công  nghệ cao.\n")
    doc = parse_text(text)
    assert numbers(doc) == ["1"]
    assert doc.articles[0].title == "Phạm vi điều chỉnh"
    assert doc.articles[0].intro == ["Khu công nghệ cao."]


# ------------------------------------------------------------------------------------------------ provision ids
def test_provision_ids():
    assert provision_id("10/2024/NĐ-CP", "22") == "10/2024/NĐ-CP:d22"
    assert provision_id("10/2024/NĐ-CP", "22", "1") == "10/2024/NĐ-CP:d22:k1"
    assert provision_id("10/2024/NĐ-CP", "22", "2", "a") == "10/2024/NĐ-CP:d22:k2:a"
    assert parse_provision_id("10/2024/NĐ-CP:d22:k2:a") == ("10/2024/NĐ-CP", "22", "2", "a")
    assert parse_provision_id("10/2024/NĐ-CP:d22") == ("10/2024/NĐ-CP", "22", None, None)


@pytest.mark.parametrize("args", [("10/2024/NĐ-CP", "22", None, None), ("10/2024/NĐ-CP", "22", "1", None),
                                  ("10/2024/NĐ-CP", "22", "2", "a"), ("61/2020/QH14", "28a", "1a", "b1"),
                                  ("133/2025/QH15", "5", None, "đ")])
def test_provision_id_round_trip(args):
    assert parse_provision_id(provision_id(*args)) == args


@pytest.mark.parametrize("bad", ["", "10/2024/NĐ-CP", "10/2024/NĐ-CP:k1", ":d22", "x:d", "x:d1:k1:a:b",
                                 "x:d1:a:k1"])
def test_malformed_provision_ids(bad):
    with pytest.raises(ValueError):
        parse_provision_id(bad)


def test_provisions_of_a_parsed_document_have_unique_round_tripping_ids(tmp_path):
    cat = _catalog(tmp_path, [("77/2099/QH99", "luat-mau.txt")])
    corpus = load_corpus(DATA, cat, only={"77/2099/QH99"})
    provs = corpus.get("77/2099/QH99").provisions()
    ids = [p.id for p in provs]
    assert len(ids) == len(set(ids))
    assert "77/2099/QH99:d3:k1a" in ids and "77/2099/QH99:d4" in ids
    for p in provs:
        assert parse_provision_id(p.id)[:3] == (p.document, p.article, p.clause)
    k2 = next(p for p in provs if p.id == "77/2099/QH99:d2:k2")
    assert k2.points == ("a", "b", "b1", "c", "d", "đ", "e")
    assert k2.text.startswith("Trong Luật này")  # the short lead-in gives each clause its context


# ------------------------------------------------------------------------------------------------ malformed inputs
def _errors(doc):
    return [i for i in doc.issues if i.severity == "error"]


def test_empty_file(tmp_path):
    p = tmp_path / "rong.txt"
    p.write_text("", encoding="utf-8")
    doc = parse_file(p)
    assert doc.articles == []
    errs = _errors(doc)
    assert len(errs) == 1 and "empty file" in errs[0].message and str(errs[0]).startswith(f"{p}:1:")


def test_whitespace_only_file(tmp_path):
    p = tmp_path / "trang.txt"
    p.write_text("\n  \n\t\n", encoding="utf-8")
    assert "empty file" in _errors(parse_file(p))[0].message


def test_binary_file(tmp_path):
    p = tmp_path / "anh.txt"
    p.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    doc = parse_file(p)
    assert doc.articles == []
    assert "binary" in _errors(doc)[0].message and str(_errors(doc)[0]).startswith(f"{p}:1:")


def test_invalid_utf8_names_the_line(tmp_path):
    p = tmp_path / "cp1258.txt"
    p.write_bytes("Điều 1. Phạm vi\nDòng hai.\n".encode() + b"Ngh\xe1 \xd0inh\n")
    doc = parse_file(p)
    err = _errors(doc)[0]
    assert "invalid UTF-8" in err.message
    assert err.line == 3 and str(err).startswith(f"{p}:3:")


def test_text_without_any_article(tmp_path):
    p = tmp_path / "cong-van.txt"
    p.write_text("# Công văn\n\nSố hiệu: 1/CV\n\nKính gửi: các đơn vị.\nNội dung không có điều khoản.\n",
                 encoding="utf-8")
    doc = parse_file(p)
    errs = _errors(doc)
    assert len(errs) == 1 and "no article found" in errs[0].message and "Điều 1." in errs[0].message
    assert str(errs[0]).startswith(f"{p}:")


def test_headings_inside_a_header_only_document_are_not_articles():
    doc = parse_text("# Tiêu đề\n\nSố hiệu: 1/2099/QH99\n")
    assert doc.articles == [] and any("no article found" in i.message for i in doc.issues)


def _catalog(tmp_path: Path, entries: list[tuple[str, str]]):
    lines = ["version: 1", "documents:"]
    for number, file in entries:
        lines += [f"- number: {number}", "  type: Luật", f"  title: Luật thử {number}", f"  short: Thử {number}",
                  f"  file: {file}"]
    path = tmp_path / f"catalog-{len(entries)}-{abs(hash(tuple(entries)))}.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return load_catalog(path)


def test_load_corpus_with_one_bad_file_still_loads_the_others(tmp_path):
    corpus_dir = tmp_path / "corpus"
    corpus_dir.mkdir()
    for name in ("luat-mau.txt", "luat-sua-doi.txt"):
        (corpus_dir / name).write_bytes((DATA / name).read_bytes())
    (corpus_dir / "hong.txt").write_bytes("Điều 1. Hỏng\n".encode() + b"\xff\xfe bad\n")
    (corpus_dir / "ngoai-danh-muc.txt").write_text("Điều 1. Ngoài\nNội dung.\n", encoding="utf-8")
    cat = _catalog(tmp_path, [("77/2099/QH99", "luat-mau.txt"), ("78/2099/QH99", "luat-sua-doi.txt"),
                              ("1/2099/QH99", "hong.txt"), ("2/2099/QH99", "thieu.txt")])
    corpus = load_corpus(corpus_dir, cat)
    assert sorted(corpus.documents) == ["77/2099/QH99", "78/2099/QH99"]
    assert len(corpus.get("77/2099/QH99").parsed.articles) == 7
    errs = [str(i) for i in corpus.issues if i.severity == "error"]
    assert any(e.startswith(f"{corpus_dir / 'hong.txt'}:2:") and "invalid UTF-8" in e for e in errs)
    warns = [str(i) for i in corpus.issues if i.severity == "warning"]
    assert any("ngoai-danh-muc.txt" in w and "not in corpus/catalog.yaml" in w for w in warns)
    assert corpus.get("2/2099/QH99") is None  # catalogued but absent: not fatal


def test_load_corpus_missing_directory_is_a_clear_error(tmp_path):
    from corpus.loader import CorpusError

    with pytest.raises(CorpusError, match="HTP_CORPUS_DIR"):
        load_corpus(tmp_path / "khong-co", _catalog(tmp_path, [("77/2099/QH99", "luat-mau.txt")]))


def test_invalid_catalog_yaml_names_file_and_line(tmp_path):
    from corpus.catalog import CatalogError

    p = tmp_path / "hong.yaml"
    p.write_text("version: 1\ndocuments:\n- number: [1\n", encoding="utf-8")
    with pytest.raises(CatalogError, match=rf"{re.escape(str(p))}:\d+: invalid YAML"):
        load_catalog(p)


def test_clause_number_alone_on_its_line_starts_the_clause():
    # Some copies print "2." on one line and the clause text on the next (NĐ 103/2024 Điều 39): the clauses
    # after it must not be swallowed by clause 1.
    doc = parse_text("Điều 1. Miễn\n1.\nMột là miễn cả thời hạn:\na) trường hợp a;\n2.\nHai là miễn có thời hạn.\n"
                     "3. Ba là giảm.\n", "t.txt")
    a = doc.articles[0]
    assert [c.number for c in a.clauses] == ["1", "2", "3"]
    assert a.clauses[0].text == "Một là miễn cả thời hạn:"
    assert [p.letter for p in a.clauses[0].points] == ["a"]
    assert a.clauses[1].text == "Hai là miễn có thời hạn."
    # a bare number out of sequence is still text
    doc = parse_text("Điều 1. Thử\n1. Một.\n5.\nNăm.\n", "t.txt")
    assert [c.number for c in doc.articles[0].clauses] == ["1"]


def test_an_unclosed_quote_does_not_swallow_the_next_instruction_of_an_amending_law():
    # Luật 07/2022 Điều 1 k51: '“Điều 131a. … “1. Khi …' opens two quotes and closes one; clauses 52… of the
    # amending law itself must still be clauses.
    text = ("Điều 1. Sửa đổi, bổ sung một số điều của Luật Mẫu\n"
            "1. Sửa đổi khoản 2 Điều 4 như sau:\n“2. Nội dung mới.”\n"
            "2. Bổ sung Điều 131a vào sau Điều 131 như sau:\n“Điều 131a. Đền bù “1. Khi thực hiện thủ tục.\n"
            "2. Thủ tục bị xem là chậm.”\n"
            "3. Sửa đổi, bổ sung Điều 133 như sau:\n“Điều 133. Quyền mới.”\n"
            "Điều 2. Hiệu lực thi hành\nLuật này có hiệu lực thi hành từ ngày 01 tháng 01 năm 2023.\n")
    doc = parse_text(text, "t.txt")
    assert [a.number for a in doc.articles] == ["1", "2"]
    assert [c.number for c in doc.articles[0].clauses] == ["1", "2", "3"]
    assert "Điều 131a" in doc.articles[0].clauses[1].full_text()


def test_a_far_article_heading_before_the_texts_own_next_article_is_quoted_content():
    # 'Điều 191a' printed as a heading inside an amending law's Điều 1 (its quotation mark lost)
    text = ("Điều 1. Sửa đổi Luật Mẫu\n1. Bổ sung Điều 191a như sau:\nĐiều 191a. Nghĩa vụ mới\n1. Nội dung.\n"
            "Điều 2. Hiệu lực thi hành\nLuật này có hiệu lực thi hành từ ngày 01 tháng 01 năm 2023.\n")
    doc = parse_text(text, "t.txt")
    assert [a.number for a in doc.articles] == ["1", "2"]
    assert any("quoted by an amendment" in i.message for i in doc.issues)
    # without the text's own next article later, a far heading is still an article (a partial copy)
    doc = parse_text("Điều 1. A\nNội dung.\nĐiều 45. B\nNội dung.\n", "t.txt")
    assert [a.number for a in doc.articles] == ["1", "45"]
