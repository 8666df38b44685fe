"""Questions asking for a figure the corpus does not state (a fine, a fee, a tax bracket) are not answered."""
from __future__ import annotations

import pytest

from assistant.asked import asked_quantity, states, unstated

FORBIDS = "Người sử dụng lao động không được sử dụng người lao động nước ngoài không có giấy phép lao động."
SANCTION = "Người sử dụng lao động vi phạm thì bị phạt tiền từ 30.000.000 đồng đến 45.000.000 đồng."


def test_a_fine_asked_and_not_stated():
    q = "Dùng lao động nước ngoài không có giấy phép thì bị phạt bao nhiêu?"
    assert unstated(q, [FORBIDS]).name == "penalty"
    assert unstated(q, [FORBIDS, SANCTION]) is None  # stated somewhere in the evidence: answered
    assert unstated("bi phat bao nhieu neu khong co gpld", [FORBIDS]).name == "penalty"  # accentless
    assert unstated("What is the fine for employing a foreigner without a work permit?", [FORBIDS]).name == "penalty"


def test_questions_not_asking_for_a_figure_pass():
    assert unstated("Hồ sơ cấp giấy phép lao động gồm những gì?", [FORBIDS]) is None
    assert unstated("Chi phí nghiên cứu và phát triển được trừ khi tính thuế không?", ["Chi phí được trừ."]) is None


def test_engine_refuses_and_says_why(assistant):
    ans = assistant.answer("Lệ phí cấp giấy phép lao động cho chuyên gia nước ngoài là bao nhiêu tiền?", record=False)
    assert ans.refused and not ans.citations
    # in scope (work permits), well covered by words, but no provision found states a fee
    assert ans.refusal_reason == "not_stated" and ans.evidence["scope_margin"] < 0
    assert "lệ phí" in ans.answer


# ---- a quantity asked ("mấy năm") is answered by the clause that sets one ---------------------------------------


@pytest.mark.parametrize("question,clause,expected", [
    ("được miễn thuế mấy năm?", "1. Miễn thuế tối đa 04 năm và giảm 50% số thuế phải nộp", True),
    ("được miễn thuế mấy năm?", "4. Thời gian miễn thuế, giảm thuế được tính từ năm đầu tiên có thu nhập chịu thuế "
                               "từ dự án đầu tư, trường hợp không có thu nhập chịu thuế trong 03 năm đầu", False),
    ("miễn tiền thuê đất bao lâu?", "5. Miễn tiền thuê đất sau thời gian xây dựng cơ bản như sau:\n"
                                   "a) Miễn 15 (mười lăm) năm đối với dự án", True),
    ("thuế suất ưu đãi là bao nhiêu?", "1. Áp dụng thuế suất 10% trong 15 năm đối với:", True),
    ("thuế suất ưu đãi là bao nhiêu?", "7. Thời gian áp dụng thuế suất ưu đãi được tính từ năm đầu tiên", False),
    ("hỗ trợ tối đa bao nhiêu tiền?", "3. Được hỗ trợ 70% giá trị hợp đồng", True),
])
def test_a_clause_states_the_quantity_asked(question, clause, expected):
    asked = asked_quantity(question)
    assert asked and states(asked, clause) is expected


def test_no_quantity_is_asked_by_other_questions():
    assert asked_quantity("Hồ sơ đề nghị cấp giấy phép lao động gồm những gì?") == []


def test_the_flagship_question_quotes_the_clause_that_says_how_many_years(assistant):
    ans = assistant.answer("Dự án trong khu công nghệ cao được miễn thuế TNDN mấy năm?", record=False)
    first = ans.citations[0]
    assert (first.document, first.article, first.clause) == ("67/2025/QH15", "14", "1")
    assert "Miễn thuế tối đa 04 năm" in ans.lead
