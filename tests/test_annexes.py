"""Annexes the corpus copies lack: noted when asked about, and "is X on the list?" is not guessed."""
from __future__ import annotations

import pytest

from assistant.annexes import about_annex, annex_notes, asks_membership
from corpus.catalog import load_catalog


@pytest.mark.parametrize("question,membership", [
    ("Công nghệ in 3D kim loại có nằm trong danh mục công nghệ cao được ưu tiên đầu tư phát triển không?", True),
    ("chip ban dan co thuoc danh muc san pham cong nghe cao khong", True),
    ("Is AI chip design on the list of high technologies prioritised for investment?", True),
    # the item is taken as not listed: the articles say what happens then
    ("QĐ 38/2020 xử lý thế nào khi một công nghệ không có trong danh mục công nghệ cao?", False),
    ("What if our technology is not on the list?", False),
    ("Danh mục công nghệ cao được ưu tiên đầu tư phát triển do ai ban hành?", False),
    ("Which cases are listed as not requiring a work permit?", False),
    ("It isn't on the list, can we still apply?", False),
    ("cong nghe nay ko nam trong danh muc thi sao", False),
])
def test_membership_questions(question, membership):
    assert asks_membership(question) is membership
    assert about_annex(question) or not membership


def test_catalog_names_the_missing_lists_in_both_languages():
    cat = load_catalog()
    names = [a.name for a in cat.by_number("38/2020/QĐ-TTg").missing_annexes]
    assert names == ["Phụ lục I", "Phụ lục II"]
    vi, = annex_notes(["38/2020/QĐ-TTg", "38/2020/QĐ-TTg", "133/2025/QH15"], cat, "vi")
    assert "Phụ lục I (Danh mục công nghệ cao được ưu tiên đầu tư phát triển)" in vi and "QĐ 38/2020" in vi
    en, = annex_notes(["38/2020/QĐ-TTg"], cat, "en")
    assert "lacks Phụ lục I" in en
    assert annex_notes(["133/2025/QH15"], cat, "vi") == []


def test_a_form_question_says_the_forms_are_missing(assistant):
    ans = assistant.answer("Mẫu văn bản đề nghị cấp giấy phép lao động theo Nghị định 219 là mẫu nào?", record=False)
    assert not ans.refused and ans.citations[0].document == "219/2025/NĐ-CP"
    assert any("Mẫu số 01–04" in n and "NĐ 219/2025" in n for n in ans.notes)


def test_is_it_on_a_missing_list_is_refused_with_the_reason(assistant, monkeypatch):
    question = "Mẫu số 05 có nằm trong phụ lục của Nghị định 219/2025 không?"
    # NĐ 219/2025 lacks its forms, not a list: the question is answered from the articles that name them
    assert not assistant.answer(question, record=False).refused
    # were the missing annex a list, whether an item is on it could not be said
    annex = assistant.catalog.by_number("219/2025/NĐ-CP").missing_annexes[0]
    monkeypatch.setattr(annex, "kind", "list")
    ans = assistant.answer(question, record=False)
    assert ans.refused and ans.refusal_reason == "not_in_corpus" and not ans.citations
    assert "Kho văn bản không có Phụ lục" in ans.answer
    # a question that takes the item as not listed is answered
    ok = assistant.answer("Mẫu số 05 không có trong phụ lục của Nghị định 219/2025 thì sao?", record=False)
    assert not ok.refused
