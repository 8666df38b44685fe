"""Questions asking for a figure the corpus does not state (a fine, a fee, a tax bracket) are not answered."""
from __future__ import annotations

from assistant.asked import unstated

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
