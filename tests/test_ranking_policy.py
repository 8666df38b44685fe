"""The ranking stage: facets, features, the fitted model's file, and the citing policy around it."""
from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pytest

from assistant.compose import choose, facet_span
from assistant.facets import asked_facets, stated_facets, title_facets
from assistant.query import parse_query
from assistant.ranking import FEATURES, RankerError, load_ranker
from assistant.ranking.features import Candidate, derive, matrix
from assistant.retrieval import ArticleHit, Hit

AS_OF = dt.date(2026, 11, 27)


def _art(doc: str, art: str, score: float, in_force: bool, clauses: list[tuple[str, float]] | None = None):
    hits = [Hit(f"{doc}:d{art}:k{c}", doc, art, c, s, in_force=in_force) for c, s in (clauses or [("1", score)])]
    return ArticleHit(doc, art, score, hits[0], hits, in_force)


# ---- facets --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("question,facet", [
    ("Hồ sơ đề nghị cấp Giấy chứng nhận doanh nghiệp công nghệ cao gồm những gì?", "dossier"),
    ("ho so xin giay phep lao dong can giay to gi", "dossier"),
    ("What documents do we need for a work permit?", "dossier"),
    ("Cơ quan nào cấp giấy chứng nhận đăng ký đầu tư cho dự án trong KCNC?", "authority"),
    ("Who issues the investment registration certificate in a hi-tech park?", "authority"),
    ("BQL giải quyết hồ sơ trong bao nhiêu ngày?", "time_limit"),
    ("Giấy phép lao động có thời hạn tối đa mấy năm?", "duration"),
    ("What is the validity period of a high-tech enterprise certificate?", "duration"),
    ("Thuế suất ưu đãi TNDN cho dự án trong khu công nghệ cao là bao nhiêu?", "rate"),
    ("Điều kiện để được công nhận doanh nghiệp công nghệ cao?", "conditions"),
    ("Doanh nghiệp công nghệ cao là gì?", "definition"),
    ("Số giờ làm thêm tối đa trong một tháng?", "limit"),
    ("What are the monthly and annual overtime limits?", "limit"),
    ("Vốn tối thiểu để thành lập dự án là bao nhiêu?", "limit"),
])
def test_the_facet_asked_is_read_from_the_question(question, facet):
    assert facet in asked_facets(question)


def test_a_general_question_asks_no_specific_facet():
    assert not asked_facets("Khu công nghệ cao Hòa Lạc") & {"dossier", "authority", "time_limit", "rate"}
    # "bao lâu thì có kết quả" is a time limit, not a duration
    got = asked_facets("Nộp hồ sơ rồi thì bao lâu có kết quả?")
    assert "time_limit" in got and "duration" not in got
    # "overtime limits" bounds hours; it is not a time limit for an authority to answer
    assert "time_limit" not in asked_facets("What are the monthly and annual overtime limits?")


def test_what_a_provision_states_is_read_from_its_words():
    assert "dossier" in stated_facets("1. Hồ sơ đề nghị cấp giấy phép lao động gồm:\na) Văn bản đề nghị …")
    assert "time_limit" in stated_facets("Trong thời hạn 05 ngày làm việc kể từ ngày nhận đủ hồ sơ, Sở Nội vụ cấp …")
    assert "rate" in stated_facets("Thuế suất 10% trong thời hạn 15 năm")
    assert "limit" in stated_facets("b) Bảo đảm số giờ làm thêm của người lao động không quá 40 giờ trong 01 tháng;")
    assert "limit" not in stated_facets("Người lao động làm thêm giờ được trả lương theo quy định.")
    assert "transition" in stated_facets("Doanh nghiệp đã được cấp Giấy chứng nhận trước ngày Luật này có hiệu lực "
                                         "thi hành tiếp tục được hưởng ưu đãi")
    assert {"dossier", "procedure"} <= title_facets("Hồ sơ, trình tự, thủ tục cấp Giấy chứng nhận")


# ---- features ------------------------------------------------------------------------------------------------
def _cand(**kw) -> Candidate:
    base = dict(document="67/2025/QH15", article="14", doc_type="Luật", fused=0.5, lex=0.5, dense=0.5,
                dense_raw=0.85, art_dense=0.85, second=0.2, n_clauses=2, title_cover=0.1, cover=0.5,
                title_prec=0.3, title_miss=0.2,
                facets_best=frozenset(),
                facets_any=frozenset(), facets_title=frozenset(), closing=False, in_force=True, ocr=False,
                doubt=False, successor_of_found=False, named_doc=False, named_article=False, named_clause=False,
                context_doc=False, status_target=False, amend_link=False)
    base.update(kw)
    return Candidate(**base)


def test_features_compare_the_facet_asked_with_the_facet_stated():
    rows = matrix([_cand(facets_best=frozenset({"dossier"})), _cand(facets_best=frozenset({"transition"}))],
                  frozenset({"dossier"}), earlier=False, language="vi", accentless=False)
    col = {n: i for i, n in enumerate(FEATURES)}
    assert rows[0, col["facet_best"]] == 1 and rows[1, col["facet_best"]] == 0
    assert rows[1, col["facet_other"]] == 1
    general = matrix([_cand()], frozenset(), False, "vi", False)
    assert general[0, col["no_facet"]] == 1 and general[0, col["facet_best"]] == 0


def test_features_tell_transition_articles_apart_by_what_the_question_concerns():
    col = {n: i for i, n in enumerate(FEATURES)}
    general = matrix([_cand(closing=True)], frozenset(), earlier=False, language="vi", accentless=False)
    earlier = matrix([_cand(closing=True, in_force=False)], frozenset(), earlier=True, language="vi",
                     accentless=False)
    assert general[0, col["closing_general"]] == 1 and general[0, col["closing_earlier"]] == 0
    assert earlier[0, col["closing_earlier"]] == 1 and earlier[0, col["repealed_earlier"]] == 1


def test_features_rank_each_channel_among_the_candidates_and_mark_the_language():
    col = {n: i for i, n in enumerate(FEATURES)}
    x = matrix([_cand(lex=0.2, dense=0.9), _cand(lex=0.9, dense=0.1)], frozenset(), False, "en", False)
    assert x[1, col["lex_rr"]] == 1.0 and x[0, col["lex_rr"]] == 0.5
    assert x[0, col["dense_rr"]] == 1.0
    assert x[0, col["en_dense"]] == pytest.approx(0.9) and x[0, col["noacc_dense"]] == 0


def test_features_measure_each_channel_from_the_best_candidate_of_the_question():
    col = {n: i for i, n in enumerate(FEATURES)}
    x = matrix([_cand(fused=0.9, cover=0.2), _cand(fused=0.6, cover=0.7)], frozenset(), False, "vi", False)
    assert x[0, col["fused_gap"]] == 0 and x[1, col["fused_gap"]] == pytest.approx(-0.3)
    assert x[1, col["cover_gap"]] == 0 and x[0, col["cover_gap"]] == pytest.approx(-0.5)


def test_an_article_whose_title_names_more_than_was_asked_is_told_apart(assistant):
    """219/2025 Điều 29 is the term of a work permit *renewed*: asked the term of a work permit, its title names
    a word the question did not use; asked the renewed one, the question covers its whole title."""
    col = {n: FEATURES.index(n) for n in ("title_prec", "title_miss")}

    def title_features(q: str) -> tuple[float, float]:
        res = assistant.retriever.search(parse_query(q, assistant.catalog), AS_OF, 10)
        a = next(a for a in res.ranked if (a.document, a.article) == ("219/2025/NĐ-CP", "29"))
        return float(a.features[col["title_prec"]]), float(a.features[col["title_miss"]])

    plain = title_features("Thời hạn của giấy phép lao động là bao lâu?")
    renewed = title_features("Thời hạn của giấy phép lao động được gia hạn là bao lâu?")
    assert renewed == (pytest.approx(1.0), 0.0), renewed
    assert plain[0] < 0.95 and plain[1] > 0.1, plain  # "gia" (of "gia hạn") was not asked


# ---- the model file ------------------------------------------------------------------------------------------
def test_the_committed_model_matches_the_features_and_reads_as_probabilities():
    m = load_ranker()
    # three in-force candidates of one text, alike but for their fused score (with the columns derived from it:
    # ranks, gaps, interactions)
    x = np.zeros((3, len(FEATURES)))
    x[:, FEATURES.index("fused")] = [0.1, 0.5, 1.0]
    x[:, FEATURES.index("in_force")] = 1.0
    p = m.scores(derive(x, ["67/2025/QH15"] * 3))
    assert ((p > 0) & (p < 1)).all()
    assert m.info.get("cv"), "the model file carries its cross-validated figures"
    # the strongest signal of a search, the fused score, must raise the probability
    assert p[0] < p[1] < p[2], p


def test_the_committed_models_never_saw_the_held_out_questions():
    from assistant.ranking.answerable import load_answerability
    from evals.suite import HELD_OUT_SUITES, TRAIN_SUITES

    assert {"blind", "blind_b", "blind_c", "paraphrase"} <= set(HELD_OUT_SUITES)
    assert not set(HELD_OUT_SUITES) & set(TRAIN_SUITES)
    for m in (load_ranker(), load_answerability()):
        assert m.info["suites"] and set(m.info["suites"]) <= set(TRAIN_SUITES), m.info["suites"]


def test_a_stale_or_broken_model_file_fails_with_its_path(tmp_path):
    broken = tmp_path / "model.json"
    broken.write_text("{not json", encoding="utf-8")
    with pytest.raises(RankerError, match="model.json:1"):
        load_ranker(broken)
    stale = tmp_path / "stale.json"
    stale.write_text(json.dumps({"features": FEATURES[:-1], "mean": [], "scale": [], "coef": []}), encoding="utf-8")
    with pytest.raises(RankerError, match="refit"):
        load_ranker(stale)
    with pytest.raises(RankerError, match="missing"):
        load_ranker(tmp_path / "absent.json")


def _interaction_rows(n: int, seed: int):
    """Questions whose gold candidate is told by an interaction a linear model cannot express: the lexical score
    counts for English questions, the dense one otherwise."""
    from evals.fit_ranker import QueryRows

    rng = np.random.default_rng(seed)
    lex, dense, en = (FEATURES.index(f) for f in ("lex", "dense", "en_lex"))
    rows = []
    for q in range(n):
        x = np.zeros((8, len(FEATURES)))
        x[:, [lex, dense]] = rng.uniform(0, 1, size=(8, 2))
        english = q % 2 == 0
        x[:, en] = x[:, lex] if english else 0.0
        gold = int(np.argmax(x[:, lex] if english else x[:, dense]))
        y = np.zeros(8, np.int8)
        y[gold] = 1
        rows.append(QueryRows(f"s{q % 3}:{q}", f"s{q % 3}", "en" if english else "vi", x, y,
                              [("D", str(i)) for i in range(8)]))
    return rows


def test_the_trees_learn_what_the_linear_part_cannot_and_the_blend_survives_its_file(tmp_path):
    from assistant.ranking.model import BlendedRanker
    from evals.fit_ranker import fit, metrics, ranks

    train, test = _interaction_rows(240, 0), _interaction_rows(120, 1)
    linear, blended = fit(train, 1.0, trees=False), fit(train, 1.0)
    assert isinstance(blended, BlendedRanker) and not isinstance(linear, BlendedRanker)
    acc = {name: metrics([ranks(m.scores, r)[0] for r in test])["acc@1"]
           for name, m in (("linear", linear), ("blended", blended))}
    assert acc["blended"] > acc["linear"] + 0.1, acc
    path = tmp_path / "model.json"
    blended.version, blended.info = "test", {"cv": {}}
    blended.save(path)
    again = load_ranker(path)
    assert isinstance(again, BlendedRanker)
    p = again.scores(test[0].x)
    assert np.allclose(p, blended.scores(test[0].x)) and ((p > 0) & (p < 1)).all()
    # trees that cannot be read, or a blend without its weights, name the file and the way out
    d = json.loads(path.read_text(encoding="utf-8"))
    for broken in (dict(d, trees="not a model"), dict(d, blend={"a": 1.0})):
        path.write_text(json.dumps(broken), encoding="utf-8")
        with pytest.raises(RankerError, match=r"model\.json.*refit"):
            load_ranker(path)


# ---- citing policy -------------------------------------------------------------------------------------------
def test_citations_follow_the_ranking_and_a_secondary_one_needs_evidence_of_its_own(assistant):
    cat = assistant.catalog
    q = parse_query("Doanh nghiệp công nghệ cao được miễn thuế, giảm thuế thế nào?", cat)
    first = _art("67/2025/QH15", "14", 0.8, True, [("1", 0.8)])
    second = _art("133/2025/QH15", "22", 0.5, True, [("3", 0.5)])
    weak = _art("219/2025/NĐ-CP", "21", 0.1, True, [("1", 0.1)])
    chosen = choose(assistant.corpus, cat, [first, second, weak], q, AS_OF, secondary_min=0.25,
                    secondary_ratio=0.4)
    assert [c.meta.number for c in chosen] == ["67/2025/QH15", "133/2025/QH15"]
    # a repealed article the ranker put first stays first: the order is the ranking's, not re-sorted
    old = _art("10/2024/NĐ-CP", "6", 0.9, False, [("1", 0.9)])
    chosen = choose(assistant.corpus, cat, [old, first], q, AS_OF)
    assert chosen[0].meta.number == "10/2024/NĐ-CP"
    # a status provision is pinned first whatever its score
    chosen = choose(assistant.corpus, cat, [first, old], q, AS_OF, pinned=frozenset({("10/2024/NĐ-CP", "6")}))
    assert chosen[0].meta.number == "10/2024/NĐ-CP" and chosen[0].reason == "status_provision"


@pytest.mark.parametrize("runner_up,expected", [(0.85, ["4", "1"]), (0.5, ["4"])])
def test_a_close_runner_up_clause_of_the_first_article_is_cited_too(assistant, runner_up, expected):
    catalog = assistant.catalog
    top = _art("67/2025/QH15", "14", 1.0, True, [("4", 1.0), ("1", runner_up)])
    other = _art("133/2025/QH15", "22", 0.9, True, [("3", 0.9), ("4", 0.89)])
    q = parse_query("Doanh nghiệp công nghệ cao được miễn thuế, giảm thuế thế nào?", catalog)
    chosen = choose(assistant.corpus, catalog, [top, other], q, AS_OF, sibling_ratio=0.8)
    assert [c.clause.number for c in chosen if c.meta.number == "67/2025/QH15"] == expected
    assert [c.clause.number for c in chosen if c.meta.number == "133/2025/QH15"] == ["3"]


def test_a_named_clause_brings_no_runner_up(assistant):
    top = _art("67/2025/QH15", "14", 1.0, True, [("2", 1.0), ("3", 0.95)])
    q = parse_query("Khoản 2 Điều 14 Luật Thuế thu nhập doanh nghiệp 2025 quy định gì?", assistant.catalog)
    chosen = choose(assistant.corpus, assistant.catalog, [top], q, AS_OF, sibling_ratio=0.8)
    assert [c.clause.number for c in chosen] == ["2"]


def test_the_clause_stating_the_quantity_asked_leads_and_a_cross_reference_breaks_ties(assistant):
    catalog = assistant.catalog
    top = _art("67/2025/QH15", "14", 1.0, True, [("4", 1.0), ("5", 0.8), ("2", 0.6), ("1", 0.6)])
    ref = _art("67/2025/QH15", "13", 0.9, True, [("1", 0.9), ("4", 0.2)])
    q = parse_query("Dự án trong khu công nghệ cao được miễn thuế TNDN mấy năm?", catalog)
    chosen = choose(assistant.corpus, catalog, [top, ref], q, AS_OF)
    got = [(c.article.number, c.clause.number) for c in chosen]
    assert got[0] == ("14", "1") and ("14", "4") in got and chosen[0].reason == "states_quantity"
    weak = _art("67/2025/QH15", "14", 1.0, True, [("4", 1.0), ("5", 0.8), ("1", 0.4)])
    chosen = choose(assistant.corpus, catalog, [weak, ref], q, AS_OF)
    assert chosen[0].clause.number == "4"


def test_the_lead_quotes_the_span_that_states_the_thing_asked():
    quote = ("Người sử dụng lao động đề nghị cấp giấy phép lao động.\nTrong thời hạn 05 ngày làm việc kể từ ngày "
             "nhận đủ hồ sơ, Sở Nội vụ cấp giấy phép lao động.")
    assert facet_span(quote, frozenset({"time_limit"}), []).startswith("Trong thời hạn 05 ngày")
    dossier = "Hồ sơ đề nghị gồm:\na) Văn bản đề nghị;\nb) Bản sao giấy chứng nhận đăng ký doanh nghiệp."
    span = facet_span(dossier, frozenset({"dossier"}), [])
    assert span.startswith("Hồ sơ đề nghị gồm:") and "a) Văn bản đề nghị" in span and "b) Bản sao" in span
    assert facet_span(quote, frozenset(), []) is None


# ---- behaviour on the small index ----------------------------------------------------------------------------
def test_a_transition_article_does_not_lead_a_general_question(assistant):
    pq = parse_query("Doanh nghiệp công nghệ cao được ưu đãi thuế TNDN như thế nào?", assistant.catalog)
    ranked = assistant.retriever.search(pq, AS_OF, 10).articles
    assert (ranked[0].document, ranked[0].article) != ("67/2025/QH15", "20")


def test_an_english_questions_word_evidence_is_its_glossary_terms(assistant):
    """English words never occur in the texts: the word-evidence features read the Vietnamese glossary terms, so
    the article on the subject covers about as much of an English question as of its Vietnamese twin."""
    col = FEATURES.index("cover")

    def best_cover(q: str) -> float:
        res = assistant.retriever.search(parse_query(q, assistant.catalog), AS_OF, 10)
        return max(float(a.features[col]) for a in res.ranked)

    en = best_cover("What is the maximum duration of a work permit for a foreign expert?")
    vi = best_cover("Thời hạn tối đa của giấy phép lao động cho chuyên gia nước ngoài là bao lâu?")
    assert en >= 0.4 and en >= 0.5 * vi, (en, vi)


def test_every_candidate_is_scored_by_the_model_and_carries_its_features(assistant):
    pq = parse_query("Giấy phép lao động có thời hạn tối đa bao lâu?", assistant.catalog)
    res = assistant.retriever.search(pq, AS_OF, 10)
    assert res.ranked and all(a.features is not None and a.features.shape == (len(FEATURES),) for a in res.ranked)
    scores = [a.score for a in res.ranked]
    assert scores == sorted(scores, reverse=True) and all(0 < s < 1 for s in scores)


def test_a_follow_up_favours_the_texts_the_previous_answer_cited(assistant):
    pq = parse_query("thời hạn bao lâu? (thủ tục cấp giấy phép lao động cho chuyên gia nước ngoài)", assistant.catalog)
    plain = {(a.document, a.article): a for a in assistant.retriever.search(pq, AS_OF, 10).ranked}
    ctx = assistant.retriever.search(pq, AS_OF, 10, context_docs=frozenset({"219/2025/NĐ-CP"}))
    col = FEATURES.index("context_doc")
    for a in ctx.ranked:
        assert a.features[col] == (a.document == "219/2025/NĐ-CP")
        before = plain.get((a.document, a.article))
        if before is not None and a.document == "219/2025/NĐ-CP":
            assert a.score >= before.score - 1e-9
    assert ctx.articles[0].document == "219/2025/NĐ-CP"


def test_a_repealed_text_named_with_a_question_on_todays_rule_brings_its_successor(assistant):
    r, cat = assistant.retriever, assistant.catalog
    q = parse_query("Luật Đầu tư 2020 bắt ký quỹ khi thuê đất, luật mới còn bắt không?", cat)
    assert r._successors_asked(q, AS_OF) == {"143/2025/QH15": "61/2020/QH14"}
    accentless = parse_query("luat thue tndn 2008 thi dn cnc duoc 10% trong 15 nam, gio luat moi con vay ko?", cat)
    assert r._successors_asked(accentless, AS_OF) == {"67/2025/QH15": "14/2008/QH12"}
    plain = parse_query("Luật Đầu tư 2020 quy định ký quỹ thế nào?", cat)
    assert r._successors_asked(plain, AS_OF) == {}
    assert r._successors_asked(q, dt.date(2025, 6, 1)) == {}


@pytest.mark.parametrize("question,earlier", [
    ("Doanh nghiệp công nghệ cao được ưu đãi thuế TNDN như thế nào?", False),
    ("What are the conditions to be recognised as a high-tech enterprise?", False),
    ("Giấy chứng nhận DN CNC cấp trước ngày 01/7/2026 còn được hưởng ưu đãi không?", True),
    ("Our certificate was issued under the old law; do we keep the incentives?", True),
    ("Luật CNC 2025 có hiệu lực từ ngày nào?", True),
])
def test_questions_about_earlier_rules_are_told_apart(question, earlier):
    from corpus.catalog import load_catalog

    assert parse_query(question, load_catalog()).earlier is earlier


def test_no_procedure_card_is_built_from_a_transition_clause(assistant):
    from assistant.compose import _chosen
    from assistant.engine import Assistant

    doc = assistant.corpus.get("67/2025/QH15")
    art = doc.article("20")
    transition = _chosen(doc.meta, art, "1a", set(), 0.9, True)
    assert Assistant._card([transition]) is None
    wp = assistant.corpus.get("219/2025/NĐ-CP")
    dossier_art = next(a for a in wp.parsed.articles if "hồ sơ" in a.title.lower() and a.clauses)
    c = next(c for c in dossier_art.clauses if c.points) if any(c.points for c in dossier_art.clauses) else \
        dossier_art.clauses[0]
    card = Assistant._card([_chosen(wp.meta, dossier_art, c.number, set(), 0.9, True)])
    assert card is not None and not card.empty()


def test_the_first_article_is_cited_with_its_amendment_when_the_search_found_it(assistant):
    from assistant.amendments import AmendmentLinks

    cat = assistant.catalog
    links = AmendmentLinks()
    links.add(("133/2025/QH15", "25"), ("67/2025/QH15", "13"))
    q = parse_query("Thuế suất ưu đãi TNDN cho dự án công nghệ cao là bao nhiêu?", cat)
    first = _art("67/2025/QH15", "13", 0.8, True, [("1", 0.8)])
    other = _art("219/2025/NĐ-CP", "21", 0.5, True, [("1", 0.5)])
    amending = _art("133/2025/QH15", "25", 0.05, True, [("7", 0.05)])
    chosen = choose(assistant.corpus, cat, [first, other, amending], q, AS_OF, links=links)
    got = [(c.meta.number, c.article.number, c.reason) for c in chosen]
    assert got[1] == ("133/2025/QH15", "25", "amendment")  # right after the first article, despite its score
    # not linked, or not found among the first ten: nothing is added
    assert all(c.reason != "amendment" for c in choose(assistant.corpus, cat, [first, other], q, AS_OF,
                                                       links=links))


def test_a_refit_collects_with_the_current_model_carried_over_to_new_features(tmp_path):
    """After a feature is added, rows for the refit are collected by the shipped model with the new feature at
    weight 0 (so follow-up contexts are those users saw), not by a model that ranks differently."""
    from assistant.ranking.model import carried_over

    shipped = load_ranker()
    d = shipped.to_json()
    keep = [i for i, f in enumerate(FEATURES) if f not in ("art_dense", "art_rr")]
    old = dict(d, features=[FEATURES[i] for i in keep] + ["retired_feature"],
               **{k: [d[k][i] for i in keep] + [1.0] for k in ("mean", "scale", "coef")})
    path = tmp_path / "old-model.json"
    path.write_text(json.dumps(old), encoding="utf-8")
    with pytest.raises(RankerError, match="other features"):
        load_ranker(path)
    got = carried_over(path)
    assert got.features == FEATURES
    x = np.random.default_rng(0).normal(size=(20, len(FEATURES)))
    xs = (x[:, keep] - shipped.mean[keep]) / shipped.scale[keep]
    expected = 1 / (1 + np.exp(-(xs @ shipped.coef[keep] + shipped.intercept)))
    assert np.allclose(got.scores(x), expected)  # the new columns weigh nothing, the retired one is gone
    with pytest.raises(RankerError, match="no fitted model"):
        carried_over(tmp_path / "missing.json")
