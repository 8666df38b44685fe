"""Ranking and citing policy on hand-made hits: the replacing text first, and a close runner-up clause cited."""
from __future__ import annotations

import datetime as dt

import pytest

from assistant.compose import choose
from assistant.query import parse_query
from assistant.retrieval import ArticleHit, Hit, HybridRetriever
from corpus.catalog import load_catalog


def _art(doc: str, art: str, score: float, in_force: bool, clauses: list[tuple[str, float]] | None = None):
    hits = [Hit(f"{doc}:d{art}:k{c}", doc, art, c, s, in_force=in_force) for c, s in (clauses or [("1", score)])]
    return ArticleHit(doc, art, score, hits[0], hits, in_force)


@pytest.fixture(scope="module")
def retriever():
    return HybridRetriever(None, load_catalog())


def test_the_replacing_law_takes_the_place_of_the_repealed_one(retriever):
    ranked = [_art("14/2008/QH12", "14", 0.80, False), _art("320/2025/NĐ-CP", "20", 0.75, True),
              _art("67/2025/QH15", "14", 0.70, True)]
    out = retriever._replacements_first(ranked, explicit_docs=set())
    assert [(a.document, a.article) for a in out] == [("67/2025/QH15", "14"), ("14/2008/QH12", "14"),
                                                      ("320/2025/NĐ-CP", "20")]
    assert out[0].score >= out[1].score  # scores stay in rank order


def test_the_old_law_keeps_its_place_when_named_or_when_the_new_one_is_far_behind(retriever):
    ranked = [_art("14/2008/QH12", "14", 0.80, False), _art("67/2025/QH15", "14", 0.70, True)]
    named = retriever._replacements_first(ranked, explicit_docs={"14/2008/QH12"})
    assert [a.document for a in named] == ["14/2008/QH12", "67/2025/QH15"]
    far = [_art("14/2008/QH12", "14", 0.80, False), _art("67/2025/QH15", "14", 0.40, True)]
    assert [a.document for a in retriever._replacements_first(far, set())] == ["14/2008/QH12", "67/2025/QH15"]


def test_a_repealing_act_on_another_matter_is_no_successor(retriever):
    # NĐ 263/2026 (hi-tech agriculture zones) repeals NĐ 10/2024 (hi-tech parks) but does not carry its rules
    ranked = [_art("10/2024/NĐ-CP", "24", 0.80, False), _art("263/2026/NĐ-CP", "14", 0.79, True)]
    assert [a.document for a in retriever._replacements_first(ranked, set())] == ["10/2024/NĐ-CP",
                                                                                 "263/2026/NĐ-CP"]


@pytest.mark.parametrize("runner_up,expected", [(0.85, ["4", "1"]), (0.5, ["4"])])
def test_a_close_runner_up_clause_of_the_first_article_is_cited_too(assistant, runner_up, expected):
    catalog = assistant.catalog
    top = _art("67/2025/QH15", "14", 1.0, True, [("4", 1.0), ("1", runner_up)])
    other = _art("133/2025/QH15", "22", 0.9, True, [("3", 0.9), ("4", 0.89)])
    q = parse_query("Doanh nghiệp công nghệ cao được miễn thuế, giảm thuế thế nào?", catalog)
    chosen = choose(assistant.corpus, catalog, [top, other], q, dt.date(2026, 11, 27), sibling_ratio=0.8)
    first = [c.clause.number for c in chosen if c.meta.number == "67/2025/QH15"]
    assert first == expected
    # only the first article brings a second clause
    assert [c.clause.number for c in chosen if c.meta.number == "133/2025/QH15"] == ["3"]


def test_one_old_article_moves_one_successor(retriever):
    ranked = [_art("10/2024/NĐ-CP", "6", 1.0, False), _art("133/2025/QH15", "5", 0.95, True),
              _art("260/2026/NĐ-CP", "20", 0.9, True), _art("260/2026/NĐ-CP", "21", 0.85, True)]
    out = retriever._replacements_first(ranked, set())
    assert [(a.document, a.article) for a in out] == [("260/2026/NĐ-CP", "20"), ("10/2024/NĐ-CP", "6"),
                                                      ("133/2025/QH15", "5"), ("260/2026/NĐ-CP", "21")]


def test_a_named_clause_brings_no_runner_up(assistant):
    top = _art("67/2025/QH15", "14", 1.0, True, [("2", 1.0), ("3", 0.95)])
    q = parse_query("Khoản 2 Điều 14 Luật Thuế thu nhập doanh nghiệp 2025 quy định gì?", assistant.catalog)
    chosen = choose(assistant.corpus, assistant.catalog, [top], q, dt.date(2026, 11, 27), sibling_ratio=0.8)
    assert [c.clause.number for c in chosen] == ["2"]


def test_the_clause_stating_the_quantity_asked_leads_and_a_cross_reference_breaks_ties(assistant):
    # Đ14 k1 and k2 both state "Miễn thuế tối đa … năm"; k1 concerns the income of Đ13 k1 (projects in a
    # high-tech park), which the search ranked high, so k1 leads; the best match (k4) is cited too.
    catalog = assistant.catalog
    top = _art("67/2025/QH15", "14", 1.0, True, [("4", 1.0), ("5", 0.8), ("2", 0.6), ("1", 0.6)])
    ref = _art("67/2025/QH15", "13", 0.9, True, [("1", 0.9), ("4", 0.2)])
    q = parse_query("Dự án trong khu công nghệ cao được miễn thuế TNDN mấy năm?", catalog)
    chosen = choose(assistant.corpus, catalog, [top, ref], q, dt.date(2026, 11, 27))
    got = [(c.article.number, c.clause.number) for c in chosen]
    assert got[0] == ("14", "1") and ("14", "4") in got
    # too far below the best match, a stating clause does not lead
    weak = _art("67/2025/QH15", "14", 1.0, True, [("4", 1.0), ("5", 0.8), ("1", 0.4)])
    chosen = choose(assistant.corpus, catalog, [weak, ref], q, dt.date(2026, 11, 27))
    assert chosen[0].clause.number == "4"


def test_a_follow_up_favours_the_texts_the_previous_answer_cited(assistant):
    pq = parse_query("thời hạn bao lâu? (thủ tục cấp giấy phép lao động cho chuyên gia nước ngoài)", assistant.catalog)
    as_of = dt.date(2026, 11, 27)
    plain = {(a.document, a.article): a.score for a in assistant.retriever.search(pq, as_of, 10).articles}
    ctx = assistant.retriever.search(pq, as_of, 10, context_docs=frozenset({"219/2025/NĐ-CP"}), context_bonus=0.1)
    for a in ctx.articles:
        before = plain.get((a.document, a.article))
        if before is None:
            continue
        if a.document == "219/2025/NĐ-CP":
            assert a.score == pytest.approx(before + 0.1, abs=0.02)
        else:
            assert a.score == pytest.approx(before, abs=1e-6)
    assert ctx.articles[0].document == "219/2025/NĐ-CP"


def test_a_repealed_text_named_with_a_question_on_todays_rule_brings_its_successor(retriever):
    cat = retriever.catalog
    q = parse_query("Luật Đầu tư 2020 bắt ký quỹ khi thuê đất, luật mới còn bắt không?", cat)
    assert retriever._successors_asked(q, dt.date(2026, 11, 27)) == {"143/2025/QH15": "61/2020/QH14"}
    accentless = parse_query("luat thue tndn 2008 thi dn cnc duoc 10% trong 15 nam, gio luat moi con vay ko?", cat)
    assert retriever._successors_asked(accentless, dt.date(2026, 11, 27)) == {"67/2025/QH15": "14/2008/QH12"}
    # no question on today's rule, or the text still in force then: nothing is added
    plain = parse_query("Luật Đầu tư 2020 quy định ký quỹ thế nào?", cat)
    assert retriever._successors_asked(plain, dt.date(2026, 11, 27)) == {}
    assert retriever._successors_asked(q, dt.date(2025, 6, 1)) == {}


@pytest.mark.parametrize("question,earlier", [
    ("Doanh nghiệp công nghệ cao được ưu đãi thuế TNDN như thế nào?", False),
    ("What are the conditions to be recognised as a high-tech enterprise?", False),
    ("Giấy chứng nhận DN CNC cấp trước ngày 01/7/2026 còn được hưởng ưu đãi không?", True),
    ("Our certificate was issued under the old law; do we keep the incentives?", True),
    ("Luật CNC 2025 có hiệu lực từ ngày nào?", True),
])
def test_questions_about_earlier_rules_are_told_apart(question, earlier):
    from assistant.status import about_earlier_rules

    assert about_earlier_rules(question) is earlier


def test_a_transition_article_does_not_lead_a_general_question(assistant):
    r = assistant.retriever
    pq = parse_query("Doanh nghiệp công nghệ cao được ưu đãi thuế TNDN như thế nào?", assistant.catalog)
    as_of = dt.date(2026, 11, 27)
    saved = r.closing_factor
    try:
        r.closing_factor = 1.0
        plain = {(a.document, a.article): a.score for a in r.search(pq, as_of, 10).articles}
        r.closing_factor = 0.85
        ranked = r.search(pq, as_of, 10).articles
    finally:
        r.closing_factor = saved
    scores = {(a.document, a.article): a.score for a in ranked}
    # Điều 20 Luật Thuế TNDN 2025 ("Điều khoản chuyển tiếp") is scaled down; Điều 13 (the rates) is not
    assert scores[("67/2025/QH15", "20")] < plain[("67/2025/QH15", "20")] * 0.9
    assert scores[("67/2025/QH15", "13")] == pytest.approx(plain[("67/2025/QH15", "13")])
    assert (ranked[0].document, ranked[0].article) != ("67/2025/QH15", "20")
