"""The ranker's question bank: questions answered before vote for the articles that answered them."""
from __future__ import annotations

import json

import numpy as np
import pytest

from assistant.query import parse_query
from assistant.ranking import FEATURES
from assistant.ranking.bank import BANK_FILE, COLUMNS, TAU, BankError, Example, QuestionBank, load_examples
from evals.fit_ranker import QueryRows, examples_of, with_bank
from evals.runner import unseen
from evals.suite import HELD_OUT_SUITES, REPO, TRAIN_SUITES, load_suite, load_suites
from conftest import AS_OF


def _unit(*xs: float) -> np.ndarray:
    v = np.asarray(xs, dtype=np.float32)
    return v / np.linalg.norm(v)


def _bank() -> QuestionBank:
    examples = [Example("s:a", "thời hạn giấy phép lao động", (("219/2025/NĐ-CP", "21"),)),
                Example("s:b", "hồ sơ giấy phép lao động", (("219/2025/NĐ-CP", "18"), ("45/2019/QH14", "155"))),
                Example("s:c", "thuế suất ưu đãi", (("67/2025/QH15", "13"),))]
    return QuestionBank(examples, np.stack([_unit(1, 0, 0), _unit(0, 1, 0), _unit(0, 0, 1)]))


def test_the_nearest_example_votes_for_its_articles():
    bank = _bank()
    keys = [("219/2025/NĐ-CP", "21"), ("219/2025/NĐ-CP", "18"), ("67/2025/QH15", "13"), ("1/2000/QH", "1")]
    q = _unit(1, 0.1, 0)
    f = bank.features(q, keys)
    vote, best, gap = f[:, 0], f[:, 1], f[:, 2]
    cos = float(q @ _unit(1, 0, 0))
    assert vote[0] == pytest.approx(np.sqrt(np.exp((cos - 1) / TAU)), rel=1e-4) and vote[3] == 0
    assert vote[1] < 1e-6 and vote[2] < 1e-6  # the far examples hardly vote
    assert best[0] == pytest.approx(cos, abs=1e-6) and best[3] == 0
    assert gap[0] == 0 and gap[3] == pytest.approx(-best[0])


def test_a_question_far_from_every_example_gets_no_vote():
    """The vote is not a share: when no example is close, no article gets the bank's weight."""
    f = _bank().features(_unit(1, 1, 1), [("219/2025/NĐ-CP", "21"), ("67/2025/QH15", "13")])
    assert (f[:, 0] < 1e-3).all()


def test_an_example_left_out_does_not_vote():
    bank = _bank()
    keys = [("219/2025/NĐ-CP", "21"), ("219/2025/NĐ-CP", "18")]
    q = _unit(1, 0.3, 0)
    f = bank.features(q, keys, exclude={"s:a"})
    # s:b is the only close example left; its vote is split between its two articles
    w = np.exp((float(q @ _unit(0, 1, 0)) - 1) / TAU)
    assert f[0, 0] == 0 and f[0, 1] == 0 and f[1, 0] == pytest.approx(np.sqrt(w / 2), rel=1e-3)
    assert not bank.features(_unit(1, 0, 0), keys, exclude={"s:a", "s:b", "s:c"}).any()


def test_fitting_rows_never_see_their_own_suite():
    """Training rows get the bank columns a new writer's question would get: their own suite is out of the bank
    (its writer's other questions, often the same provision asked twice), other suites are in; a held-out fold's
    questions are out of the bank for everyone."""
    bank = _bank()
    keys = [("219/2025/NĐ-CP", "21"), ("219/2025/NĐ-CP", "18")]
    rows = [QueryRows(uid, uid.split(":")[0], "vi", np.zeros((2, len(FEATURES))), np.array([1, 0], np.int8), keys,
                      _unit(1, 0.3, 0)) for uid in ("s:a", "s:twin", "t:z")]
    col = FEATURES.index("bank_vote")
    own, twin, other = with_bank(rows, bank)
    assert own.x[0, col] == 0  # its own example s:a is left out
    assert twin.x[0, col] == 0  # and so is every example of its suite s
    assert other.x[0, col] > 0.1  # a question of another suite meets s:a
    *_, held = with_bank(rows, bank, frozenset({"s:a"}))
    assert held.x[0, col] == 0
    assert bank.of_suite("s") == {"s:a", "s:b", "s:c"} and bank.of_suite("t") == frozenset()


def test_the_judge_margin_compares_the_closest_unanswerable_and_answerable_examples():
    bank = QuestionBank(_bank().examples + [Example("u:fee", "lệ phí cấp giấy phép lao động bao nhiêu tiền", ())],
                        np.concatenate([_bank().vectors, _unit(0.8, 0.6, 0)[None, :]]))
    near_fee = _unit(0.8, 0.6, 0.05)
    m = bank.judge_margin(near_fee)
    assert m == pytest.approx(float(near_fee @ _unit(0.8, 0.6, 0)) - float(near_fee @ _unit(1, 0, 0)), abs=1e-6)
    assert m > 0 and bank.judge_margin(_unit(0, 0, 1)) < 0  # a question asked before and answered
    assert bank.judge_margin(near_fee, exclude={"u:fee"}) == 0.0  # no unanswerable example left: no evidence
    # an unanswerable example votes for no article
    keys = [("219/2025/NĐ-CP", "21"), ("67/2025/QH15", "13")]
    assert np.allclose(bank.features(near_fee, keys), _bank().features(near_fee, keys))


def test_the_judge_is_fitted_on_margins_its_own_example_is_not_in():
    """Unlike the ranker's columns, the judge's margin leaves only the question itself out (its suite-mates stay:
    measured better for the refusal decision)."""
    from evals import fit_judge as FJ
    from assistant.ranking.answerable import BANK_MARGIN, FEATURES as JF

    bank = QuestionBank(_bank().examples + [Example("u:x", "phí", ()), Example("u:far", "thời tiết", ())],
                        np.concatenate([_bank().vectors, _unit(0, 0.1, 1)[None, :], _unit(1, -1, 0)[None, :]]))
    rows = [FJ.Row("u:x", "u", "vi", np.zeros(len(JF)), False, False, _unit(0, 0.1, 1)),
            FJ.Row("u:y", "u", "vi", np.zeros(len(JF)), False, False, _unit(0, 0.1, 1))]
    own, other = FJ.with_bank(rows, bank)
    assert own.x[BANK_MARGIN] < 0 < other.x[BANK_MARGIN]  # without its own example it looks answerable
    _, held = FJ.with_bank(rows, bank, frozenset({"u:x"}))
    assert held.x[BANK_MARGIN] < 0


def test_a_malformed_or_missing_bank_is_named(tmp_path):
    bad = tmp_path / "examples.jsonl"
    bad.write_text(json.dumps({"uid": "x", "q": "Câu hỏi?", "gold": [["67/2025/QH15", "13"]]}) + "\n"
                   + json.dumps({"uid": "y", "q": "Thiếu gold"}) + "\n", encoding="utf-8")
    with pytest.raises(BankError, match=r"examples\.jsonl:2"):
        load_examples(bad)
    with pytest.raises(BankError, match="HTP_QUESTION_BANK_FILE"):
        load_examples(tmp_path / "absent.jsonl")


def test_the_committed_bank_is_the_training_suites_own_questions():
    """Every example is a standalone question of a training suite with the suite's gold (none for one the corpus
    cannot answer); no question of the held-out suites (blind, paraphrase …), which measure what nobody tuned on."""
    examples = load_examples(BANK_FILE)
    assert len(examples) > 300 and sum(not e.answerable for e in examples) > 50
    expected = {e.uid: e for e in examples_of(load_suites(TRAIN_SUITES))}
    assert {e.uid for e in examples} == set(expected)
    for e in examples:
        assert e.question == expected[e.uid].question and set(e.gold) == set(expected[e.uid].gold), e.uid
    held_out = {it.question for name in HELD_OUT_SUITES
                for it in load_suite(REPO / "evals" / "suites" / f"{name}.jsonl")}
    assert not held_out & {e.question for e in examples}


def test_the_assistant_ranks_with_the_bank_and_an_evaluation_leaves_the_question_out(assistant):
    bank = assistant.retriever.question_bank(assistant.handle.generation())
    assert bank is not None and len(bank.examples) == len(load_examples(BANK_FILE))
    e = next(x for x in bank.examples if any(d == "219/2025/NĐ-CP" for d, _ in x.gold))
    cols = [FEATURES.index(c) for c in COLUMNS]
    pq = parse_query(e.question, assistant.catalog)
    res = assistant.retriever.search(pq, AS_OF, 10)
    gold = [a for a in res.ranked if (a.document, a.article) in set(e.gold)]
    assert gold and max(a.features[cols[0]] for a in gold) > 0.5  # asked before: its articles get the vote
    with unseen(assistant, e.uid):
        again = assistant.retriever.search(pq, AS_OF, 10)
    assert assistant.retriever.bank_exclude == frozenset()
    by = {(a.document, a.article): a.features[cols[1]] for a in again.ranked}
    assert all(by.get(k, 0.0) < 0.999 for k in e.gold)  # its own example (cosine 1) is out of the bank


def test_an_evaluation_scores_the_peers_with_the_question_left_out_of_the_bank_too(assistant):
    """The peers that are the product's own channels (dense-only, lexical-only) rank with the bank as well; they
    must not find the scored training question there either."""
    from evals.runner import Runner
    from evals.suite import Gold, Item

    e = next(x for x in assistant.retriever.question_bank(assistant.handle.generation()).examples if x.answerable)
    suite, _, qid = e.uid.partition(":")
    seen: list[frozenset[str]] = []

    class Spy:
        name = "spy"

        def search(self, query, pq, as_of, k):
            seen.append(assistant.retriever.bank_exclude)
            return []

    runner = Runner(assistant)
    runner.peers = [Spy()]
    item = Item(qid, e.question, "vi", [Gold(d, a) for d, a in e.gold], True, suite, "test:1")
    rec = runner.evaluate(item, AS_OF, None)
    assert rec["error"] is None and seen == [frozenset({e.uid})]
    assert assistant.retriever.bank_exclude == frozenset()


def test_the_bank_can_be_switched_off_and_a_named_one_must_exist(small_settings, tmp_path):
    from assistant.engine import Assistant

    off = Assistant(small_settings.model_copy(update={"question_bank_file": None}))
    assert off.retriever.question_bank(off.handle.generation()) is None
    with pytest.raises(BankError, match="absent.jsonl"):
        Assistant(small_settings.model_copy(update={"question_bank_file": tmp_path / "absent.jsonl"}))


def test_without_the_bank_the_judge_reads_a_neutral_margin(small_settings):
    """The refusal model weighs the bank's margin heavily: switched off, it reads the training mean (no push either
    way), not 0, which lies on the refusing side of that mean."""
    from assistant.engine import Assistant
    from assistant.ranking.answerable import BANK_MARGIN

    off = Assistant(small_settings.model_copy(update={"question_bank_file": None}))
    pq, res = off.search("Doanh nghiệp công nghệ cao được miễn thuế thu nhập doanh nghiệp mấy năm?", AS_OF)
    assert res.mode == "hybrid" and off.answerability is not None
    x = off._answerability_evidence(pq, res, 0.0, follow_up=False)
    assert x[BANK_MARGIN] == pytest.approx(off.answerability.mean[BANK_MARGIN]) and x[BANK_MARGIN] != 0


def test_the_bank_vectors_are_keyed_by_how_questions_are_read(small_settings, tmp_path, monkeypatch):
    """English examples are embedded with the glossary's terms: a changed glossary (or way of reading) must embed
    them again, not reuse vectors cached under the old one."""
    from assistant import qvectors, retrieval
    from assistant.engine import Assistant
    from assistant.ranking.bank import write_examples

    f = tmp_path / "examples.jsonl"
    write_examples([Example("t:1", "How long is a work permit valid?", (("219/2025/NĐ-CP", "21"),))], f)
    a = Assistant(small_settings.model_copy(update={"question_bank_file": f}))
    gen = a.handle.generation()
    qvectors.MEMO.clear()
    assert a.retriever.question_bank(gen) is not None
    first = {p for p in qvectors.MEMO if p.name.startswith("bank-")}
    monkeypatch.setattr(retrieval, "GLOSSARY_DIGEST", "another glossary")
    a.retriever._meta_cache.clear()
    a.retriever.question_bank(gen)
    again = {p for p in qvectors.MEMO if p.name.startswith("bank-")}
    assert len(first) == 1 and len(again - first) == 1


def test_htp_index_prepares_the_bank_for_the_texts_it_indexed(small_settings, capsys):
    from assistant import cli, qvectors

    qvectors.MEMO.clear()  # as in a fresh `htp index` process: vectors come from the cache file or the embedder
    cli._prepare_bank(small_settings)
    got = capsys.readouterr().out
    assert f"question bank ready: {len(load_examples(BANK_FILE))} examples" in got
    assert any(p.name.startswith("bank-") for p in qvectors.MEMO)
