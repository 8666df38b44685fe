"""Citations in Vietnamese legal style (full, short chips, English) and validity on a date.

Validity facts come from the committed catalog (corpus/catalog.yaml); the rules themselves (boundaries,
article-level exceptions, explicit null dates) are also checked on a small temporary catalog.
"""
from __future__ import annotations

import datetime as dt

import pytest

from corpus.catalog import load_catalog, normalize_number
from corpus.citation import document_name, full_citation, short_citation
from corpus.validity import fmt_date, in_force, interval, validity

D = dt.date


@pytest.fixture(scope="module")
def cat():
    return load_catalog()


def doc(cat, number):
    d = cat.by_number(number)
    assert d is not None, number
    return d


# ------------------------------------------------------------------------------------------------ citations
def test_full_citation_of_a_law(cat):
    law = doc(cat, "133/2025/QH15")
    assert full_citation(law, "22", "2", "a") == "điểm a khoản 2 Điều 22 Luật Công nghệ cao số 133/2025/QH15"
    assert full_citation(law, "22", "2") == "khoản 2 Điều 22 Luật Công nghệ cao số 133/2025/QH15"
    assert full_citation(law, "22") == "Điều 22 Luật Công nghệ cao số 133/2025/QH15"
    assert full_citation(doc(cat, "21/2008/QH12"), "31") == "Điều 31 Luật Công nghệ cao số 21/2008/QH12"


def test_full_citation_of_a_decree(cat):
    dec = doc(cat, "10/2024/NĐ-CP")
    assert document_name(dec) == "Nghị định số 10/2024/NĐ-CP quy định về khu công nghệ cao"
    assert full_citation(dec, "5", "1") == "khoản 1 Điều 5 Nghị định số 10/2024/NĐ-CP quy định về khu công nghệ cao"
    assert full_citation(dec, "28a", "1a", "b1").startswith("điểm b1 khoản 1a Điều 28a Nghị định số 10/2024/NĐ-CP")


def test_full_citation_of_a_code_and_a_circular(cat):
    assert document_name(doc(cat, "45/2019/QH14")) == "Bộ luật Lao động số 45/2019/QH14"
    assert document_name(doc(cat, "78/2014/TT-BTC")).startswith("Thông tư số 78/2014/TT-BTC hướng dẫn")


def test_short_chips(cat):
    assert short_citation(doc(cat, "133/2025/QH15"), "22", "2", "a") == "Đ22.2.a Luật CNC 2025"
    assert short_citation(doc(cat, "133/2025/QH15"), "22") == "Đ22 Luật CNC 2025"
    assert short_citation(doc(cat, "21/2008/QH12"), "31", "1") == "Đ31.1 Luật CNC 2008"
    assert short_citation(doc(cat, "10/2024/NĐ-CP"), "5", None, "đ") == "Đ5.đ NĐ 10/2024"


def test_english_citation(cat):
    law = doc(cat, "133/2025/QH15")
    assert full_citation(law, "22", "2", "a", lang="en") == \
        "point a, clause 2, Article 22 of Law on High Technology (2025) No. 133/2025/QH15"
    assert full_citation(law, "22", lang="en") == "Article 22 of Law on High Technology (2025) No. 133/2025/QH15"
    assert full_citation(doc(cat, "10/2024/NĐ-CP"), "5", "1", lang="en") == \
        "clause 1, Article 5 of Decree on high-tech parks No. 10/2024/NĐ-CP"


def test_number_lookup_ignores_case_and_d_stroke(cat):
    assert normalize_number("10/2024/nđ-cp") == normalize_number("10/2024/ND-CP") == normalize_number("10/2024/NĐ-CP")
    assert cat.by_number("10/2024/nd-cp").number == "10/2024/NĐ-CP"
    assert cat.by_number(" 133/2025/qh15 ").short == "Luật CNC 2025"
    assert cat.by_number("999/2099/QH99") is None


# ------------------------------------------------------------------------------------------------ validity (catalog)
def test_high_tech_law_2008_until_2026_06_30(cat):
    old, new = doc(cat, "21/2008/QH12"), doc(cat, "133/2025/QH15")
    assert in_force(old, D(2026, 6, 30)) and not in_force(new, D(2026, 6, 30))
    assert not in_force(old, D(2026, 7, 1)) and in_force(new, D(2026, 7, 1))
    v = validity(old, D(2026, 6, 30), cat)
    assert v.in_force and v.note_vi == "còn hiệu lực (đến hết 30/06/2026)" and v.note_en == "in force (until 30/06/2026)"


def test_status_note_of_a_replaced_law(cat):
    v = validity(doc(cat, "21/2008/QH12"), D(2026, 7, 1), cat)
    assert not v.in_force
    assert v.note_vi == "hết hiệu lực từ 01/07/2026, thay thế bởi Luật CNC 2025 (133/2025/QH15)"
    assert v.note("en") == "no longer in force since 01/07/2026, replaced by Luật CNC 2025 (133/2025/QH15)"
    assert v.replaced_by == ("133/2025/QH15",)
    assert v.expires == D(2026, 7, 1)


def test_not_yet_in_force_note(cat):
    v = validity(doc(cat, "133/2025/QH15"), D(2026, 6, 30), cat)
    assert not v.in_force and v.note_vi == "chưa có hiệu lực (có hiệu lực từ 01/07/2026)"
    assert v.note_en == "not yet in force (in force from 01/07/2026)"
    assert validity(doc(cat, "133/2025/QH15"), D(2026, 7, 1), cat).note_vi == "còn hiệu lực"


def test_replaced_by_two_documents(cat):
    v = validity(doc(cat, "10/2024/NĐ-CP"), D(2026, 7, 1), cat)
    assert v.note_vi == ("hết hiệu lực từ 01/07/2026, thay thế bởi NĐ 260/2026 (260/2026/NĐ-CP), "
                         "NĐ 263/2026 (263/2026/NĐ-CP)")


def test_without_catalog_the_replacement_is_named_by_number(cat):
    v = validity(doc(cat, "21/2008/QH12"), D(2026, 7, 1))
    assert v.note_vi == "hết hiệu lực từ 01/07/2026, thay thế bởi 133/2025/QH15"


def test_investment_law_2020_article_7_outlives_the_law(cat):
    law = doc(cat, "61/2020/QH14")
    assert not in_force(law, D(2026, 5, 1))
    assert not in_force(law, D(2026, 5, 1), article="8")
    assert in_force(law, D(2026, 5, 1), article="7")
    assert in_force(law, D(2026, 6, 30), article="7")
    assert not in_force(law, D(2026, 7, 1), article="7")
    assert interval(law, "7") == (D(2021, 1, 1), D(2026, 7, 1))
    assert validity(law, D(2026, 5, 1), cat, article="7").note_vi == "còn hiệu lực (đến hết 30/06/2026)"
    v8 = validity(law, D(2026, 5, 1), cat, article="8")
    assert v8.note_vi == "hết hiệu lực từ 01/03/2026, thay thế bởi Luật Đầu tư 2025 (143/2025/QH15)"
    assert validity(law, D(2026, 7, 1), cat, article="7").note_vi.startswith("hết hiệu lực từ 01/07/2026")


def test_decree_152_2020_articles_22_to_28_explicit_null_expiry_still_in_force(cat):
    dec = doc(cat, "152/2020/NĐ-CP")
    day = D(2026, 11, 27)
    assert not in_force(dec, day)
    assert not in_force(dec, day, article="21") and not in_force(dec, day, article="5")
    for art in ("22", "25", "28"):
        assert in_force(dec, day, article=art)
        assert interval(dec, art)[1] is None
        assert validity(dec, day, cat, article=art).note_vi == "còn hiệu lực"
    assert validity(dec, day, cat, article="5").note_vi == \
        "hết hiệu lực từ 07/08/2025, thay thế bởi NĐ 219/2025 (219/2025/NĐ-CP)"


def test_low_confidence_ocr_note(cat):
    ocr = doc(cat, "260/2026/NĐ-CP")
    assert ocr.low_confidence
    v = validity(ocr, D(2026, 11, 27), cat)
    assert v.in_force
    assert v.note_vi == "còn hiệu lực; bản OCR chưa kiểm chứng, độ tin cậy thấp"
    assert v.note_en == "in force; unverified OCR copy, low confidence"
    assert "OCR" not in validity(doc(cat, "133/2025/QH15"), D(2026, 11, 27), cat).note_vi


def test_a_decision_whose_basis_has_gone_says_so(cat):
    # QĐ 10/2021 details the 2008 high-tech law; no text of the corpus repeals it, but the law ended on 01/07/2026
    qd = doc(cat, "10/2021/QĐ-TTg")
    before, after = validity(qd, D(2026, 6, 30), cat), validity(qd, D(2026, 7, 1), cat)
    assert before.in_force and before.note_vi == "còn hiệu lực"
    assert after.in_force  # not claimed repealed ...
    assert after.note_vi.startswith("cần kiểm tra hiệu lực") and "Luật Công nghệ cao 2008" in after.note_vi
    assert after.note_en.startswith("validity to be checked")


def test_doubtful_text_ranks_below_a_certain_one(assistant, monkeypatch):
    from corpus.catalog import ValidityDoubt
    from assistant.query import parse_query

    pq = parse_query("Khu công nghệ cao có những nhiệm vụ gì?", assistant.catalog)
    day = D(2026, 11, 27)
    before = {(a.document, a.article): a.score for a in assistant.retriever.search(pq, day).articles}
    law = assistant.catalog.by_number("133/2025/QH15")
    monkeypatch.setattr(law, "validity_doubt", ValidityDoubt(since=D(2026, 7, 1), vi="x", en="x"))
    after = {(a.document, a.article): a.score for a in assistant.retriever.search(pq, day).articles}
    key = next(k for k in before if k[0] == "133/2025/QH15")
    assert after[key] < before[key]
    other = next(k for k in before if k[0] != "133/2025/QH15")
    assert after[other] == pytest.approx(before[other])
    # and every citation of it says so: flag for the widget's amber badge, reason in the status note
    ans = assistant.answer("Điều 22 Luật Công nghệ cao 2025 quy định gì?", as_of=day, record=False)
    c = next(c for c in ans.citations if c.document == "133/2025/QH15")
    assert c.in_force and c.validity_doubt and c.status_note.startswith("cần kiểm tra hiệu lực")


def test_corporate_income_tax_law_2008_replaced_on_2025_10_01(cat):
    old, new = doc(cat, "14/2008/QH12"), doc(cat, "67/2025/QH15")
    assert in_force(old, D(2025, 9, 30)) and not in_force(new, D(2025, 9, 30))
    assert not in_force(old, D(2025, 10, 1)) and in_force(new, D(2025, 10, 1))
    assert validity(old, D(2025, 10, 1), cat).note_vi == \
        "hết hiệu lực từ 01/10/2025, thay thế bởi Luật Thuế TNDN 2025 (67/2025/QH15)"
    assert validity(new, D(2025, 9, 30), cat).note_vi == "chưa có hiệu lực (có hiệu lực từ 01/10/2025)"


def test_every_catalog_document_has_consistent_dates(cat):
    for d in cat.documents:
        if d.effective and d.expires:
            assert d.effective < d.expires, d.number
        for r in d.replaced_by:
            assert cat.by_number(r.number) or cat.missing(r.number), f"{d.number} replaced by unknown {r.number}"
        for rule in d.article_validity:
            assert rule.articles, d.number


# ------------------------------------------------------------------------------------------------ rules on a tmp catalog
@pytest.fixture
def tmp_cat(tmp_path):
    p = tmp_path / "catalog.yaml"
    p.write_text("""version: 1
documents:
- number: 1/2099/QH99
  type: Luật
  title: Luật Thử nghiệm
  title_en: Law on Trials
  short: Luật TN 2099
  effective: 2099-01-01
  expires: 2100-01-01
  replaced_by:
  - {number: 2/2100/QH99, from: 2100-01-01}
  article_validity:
  - {articles: ['3'], expires: null, note: 'Điều 3 còn áp dụng không thời hạn'}
  - {articles: ['4'], effective: 2099-06-01}
  file: a.txt
- number: 2/2100/QH99
  type: Luật
  title: Luật Thử nghiệm (sửa đổi)
  short: Luật TN 2100
  effective: null
  file: b.txt
  confidence: low
not_in_corpus:
- number: 9/2101/QH99
  title: Luật chưa có trong kho
""", encoding="utf-8")
    return load_catalog(p)


def test_boundaries_first_day_in_force_and_first_day_out(tmp_cat):
    d = tmp_cat.by_number("1/2099/QH99")
    assert not in_force(d, D(2098, 12, 31))
    assert in_force(d, D(2099, 1, 1))
    assert in_force(d, D(2099, 12, 31))
    assert not in_force(d, D(2100, 1, 1))
    assert fmt_date(None) == "?" and fmt_date(D(2099, 1, 2)) == "02/01/2099"


def test_explicit_null_expiry_overrides_the_document_date(tmp_cat):
    d = tmp_cat.by_number("1/2099/QH99")
    assert interval(d, "3") == (D(2099, 1, 1), None)
    assert in_force(d, D(2150, 1, 1), article="3")
    assert not in_force(d, D(2150, 1, 1), article="2")


def test_article_with_a_later_start(tmp_cat):
    d = tmp_cat.by_number("1/2099/QH99")
    assert interval(d, "4") == (D(2099, 6, 1), D(2100, 1, 1))  # expires not written: the document's date
    assert not in_force(d, D(2099, 3, 1), article="4")
    v = validity(d, D(2099, 3, 1), tmp_cat, article="4")
    assert v.note_vi == "chưa có hiệu lực (có hiệu lực từ 01/06/2099)"


def test_unknown_start_date_counts_as_in_force_and_low_confidence_is_said(tmp_cat):
    d = tmp_cat.by_number("2/2100/QH99")
    assert in_force(d, D(1990, 1, 1))
    assert validity(d, D(2100, 1, 1), tmp_cat).note_vi == "còn hiệu lực; bản OCR chưa kiểm chứng, độ tin cậy thấp"


def test_replacement_note_uses_short_name(tmp_cat):
    v = validity(tmp_cat.by_number("1/2099/QH99"), D(2100, 1, 1), tmp_cat)
    assert v.note_vi == "hết hiệu lực từ 01/01/2100, thay thế bởi Luật TN 2100 (2/2100/QH99)"
    assert tmp_cat.title_of("9/2101/QH99") == "Luật chưa có trong kho"
    assert tmp_cat.title_of("8/2101/QH99") == "8/2101/QH99"


def test_english_citation_without_title_en_uses_the_type(tmp_cat):
    d = tmp_cat.by_number("2/2100/QH99")
    en = full_citation(d, "1", lang="en")
    assert en.startswith("Article 1 of ") and en.endswith(" No. 2/2100/QH99")
    assert document_name(d) == "Luật Thử nghiệm số 2/2100/QH99"  # the "(sửa đổi)" suffix is dropped


def test_a_repealed_article_gives_way_more_readily_than_an_unverified_copy(assistant):
    """The validity policy on a ranked list: a repealed article yields the lead to a current, clean one with a
    tenth of its probability; an unverified OCR copy only to one with 30%; a question on earlier rules only to
    one with 80%."""
    from assistant.query import parse_query
    from assistant.retrieval import ArticleHit

    day = D(2026, 11, 27)

    def order(q: str, top: ArticleHit, second_score: float) -> list[str]:
        clean = ArticleHit("133/2025/QH15", "22", second_score, best=None, in_force=True)
        ranked = assistant.retriever._current_first([top, clean], parse_query(q, assistant.catalog), day)
        return [a.document for a in ranked]

    repealed = ArticleHit("10/2024/NĐ-CP", "5", 0.8, best=None, in_force=False)
    ocr = ArticleHit("260/2026/NĐ-CP", "19", 0.8, best=None, in_force=True)
    q = "Điều kiện thành lập khu công nghệ cao là gì?"
    assert order(q, repealed, 0.1)[0] == "133/2025/QH15"  # 0.125 of the repealed one's probability
    assert order(q, repealed, 0.05)[0] == "10/2024/NĐ-CP"  # no current article with evidence of its own
    assert order(q, ocr, 0.1)[0] == "260/2026/NĐ-CP"
    assert order(q, ocr, 0.3)[0] == "133/2025/QH15"
    earlier = "Trước đây theo quy định cũ, điều kiện thành lập khu công nghệ cao là gì?"
    assert parse_query(earlier, assistant.catalog).earlier
    assert order(earlier, repealed, 0.3)[0] == "10/2024/NĐ-CP"
    assert order(earlier, repealed, 0.7)[0] == "133/2025/QH15"
