"""Questions on a named text's own status: the provision that settles it is looked up through the catalog, and
the answer states the status plainly before quoting it."""
from __future__ import annotations

import datetime as dt

import pytest

from assistant.compose import validity_notes
from assistant.models import Citation
from assistant.status import Landmarks, basis_provision, intents, targets
from corpus.catalog import load_catalog

AS_OF = dt.date(2026, 11, 27)


@pytest.mark.parametrize("question,expected", [
    ("Nghị định 10/2024/NĐ-CP còn hiệu lực không?", ["in_force"]),
    ("nghi dinh 218/2013 con hieu luc khong", ["in_force"]),
    ("Is Decree 10/2024 still in force?", ["in_force"]),
    ("Luật Công nghệ cao 2025 có hiệu lực từ ngày nào?", ["effective"]),
    ("When did Circular 20/2026/TT-BTC take effect?", ["effective"]),
    ("Nghị định 10/2024/NĐ-CP ra đời thay thế nghị định nào?", ["replaces"]),
    ("Thông tư 78/2014 bị thay thế bởi văn bản nào?", ["in_force", "replaced_by"]),
    ("GPLĐ cấp theo NĐ 152/2020 trước ngày 7/8/2025 thì nay còn dùng được không?", ["transition"]),
    # the certificate's validity, not the law's: settled by the transition rules
    ("GCN doanh nghiệp công nghệ cao cấp theo Luật CNC 2008, sau 01/7/2026 giấy này còn hiệu lực không?",
     ["transition"]),
    ("Nghị định 10/2024 quy định hồ sơ thành lập khu công nghệ cao thế nào?", []),
    # "the" is the English article, not "thẻ"; a text's own validity is no transition question
    ("Is the Decree 10/2024 still in force?", ["in_force"]),
    ("Is Decree 10/2024 still valid?", ["in_force"]),
    ("Nghị định 10/2024 còn giá trị không?", ["in_force"]),
    ("Thẻ vàng cấp theo Nghị quyết 73/2025 còn hiệu lực không?", ["transition"]),
    ("Hồ sơ cấp lại theo Nghị định 219/2025 gồm những gì?", []),
    # the usual word orders of "since when"
    ("Khi nào Luật CNC 2025 có hiệu lực?", ["effective"]),
    ("khi nao luat cnc 2025 co hieu luc", ["effective"]),
    ("Luật Đầu tư 2025 đã có hiệu lực chưa?", ["effective"]),
    ("Is the 2025 Investment Law in effect yet?", ["effective"]),
    ("What does the 2025 High Technology Law replace?", ["replaces"]),
    ("Luật Công nghệ cao 2025 quy định ưu đãi gì cho doanh nghiệp công nghệ cao?", []),
])
def test_status_intents(question, expected):
    assert intents(question) == expected


def test_the_catalog_names_the_provision_that_ends_a_text():
    cat = load_catalog()
    assert basis_provision(cat.by_number("10/2024/NĐ-CP"), cat) == ("263/2026/NĐ-CP", "24", "2")
    assert basis_provision(cat.by_number("21/2008/QH12"), cat) == ("133/2025/QH15", "26", "2")
    assert basis_provision(cat.by_number("133/2025/QH15"), cat) == ("133/2025/QH15", "26", "1")  # its own start


def _marks(*docs: str) -> Landmarks:
    titles = {("10/2024/NĐ-CP", "50"): "Quy định chuyển tiếp", ("10/2024/NĐ-CP", "51"): "Hiệu lực thi hành",
              ("263/2026/NĐ-CP", "24"): "Hiệu lực thi hành", ("133/2025/QH15", "26"): "Hiệu lực thi hành",
              ("133/2025/QH15", "27"): "Quy định chuyển tiếp", ("133/2025/QH15", "22"): "Khu công nghệ cao"}
    return Landmarks.from_titles({k: v for k, v in titles.items() if k[0] in docs})


def test_targets_follow_the_catalog_and_what_the_index_holds():
    cat = load_catalog()
    q = "Nghị định 10/2024/NĐ-CP còn hiệu lực không?"
    full = targets(q, ["10/2024/NĐ-CP"], cat, AS_OF, _marks("10/2024/NĐ-CP", "263/2026/NĐ-CP"))
    assert [(t.document, t.article, t.clause) for t in full] == [("263/2026/NĐ-CP", "24", "2")]
    # the repealing decree is not indexed: the text's own effect article answers instead
    own = targets(q, ["10/2024/NĐ-CP"], cat, AS_OF, _marks("10/2024/NĐ-CP"))
    assert [(t.document, t.article) for t in own] == [("10/2024/NĐ-CP", "51")]
    # before its repeal, the same question is answered by its own effect article
    before = targets(q, ["10/2024/NĐ-CP"], cat, dt.date(2025, 5, 1), _marks("10/2024/NĐ-CP", "263/2026/NĐ-CP"))
    assert [(t.document, t.article) for t in before] == [("10/2024/NĐ-CP", "51")]
    # a certificate issued under the old law: the new law's transition article
    cert = "Giấy chứng nhận cấp theo Luật Công nghệ cao 2008 có được tiếp tục sử dụng không?"
    got = targets(cert, ["21/2008/QH12"], cat, AS_OF, _marks("133/2025/QH15"))
    assert [(t.document, t.article, t.intent) for t in got] == [("133/2025/QH15", "27", "transition")]
    # a permit's own term under a text in force is no transition question
    assert targets("Giấy phép lao động hết hiệu lực trong trường hợp nào theo Luật CNC 2025?", ["133/2025/QH15"],
                   cat, AS_OF, _marks("133/2025/QH15")) == []
    # an article that only starts with "Hiệu lực" ("Hiệu lực của hợp đồng lao động") is no effect article
    assert Landmarks.from_titles({("45/2019/QH14", "23"): "Hiệu lực của hợp đồng lao động"}).effect == {}
    # a basis naming a range of articles names no provision
    assert basis_provision(cat.by_number("10/2021/QĐ-TTg"), cat) is None
    # no status cue, no named text: nothing is looked up
    assert targets("Nghị định 10/2024 quy định hồ sơ thế nào?", ["10/2024/NĐ-CP"], cat, AS_OF,
                   _marks("10/2024/NĐ-CP")) == []
    assert targets(q, [], cat, AS_OF, _marks("10/2024/NĐ-CP")) == []


def test_a_status_question_is_answered_plainly_from_the_provision_that_settles_it(assistant):
    ans = assistant.answer("Luật Công nghệ cao 2025 có hiệu lực từ ngày nào?", record=False)
    first = ans.citations[0]
    assert (first.document, first.article, first.clause) == ("133/2025/QH15", "26", "1")
    assert ans.retrieved[0].document == "133/2025/QH15" and ans.retrieved[0].article == "26"
    assert ans.answer.startswith("Luật CNC 2025 (133/2025/QH15) còn hiệu lực vào ngày 27/11/2026 "
                                 "(có hiệu lực từ 01/07/2026) [1].")


def test_a_repealed_decree_says_it_is_no_longer_in_force_and_what_replaced_it(assistant):
    ans = assistant.answer("Nghị định 10/2024/NĐ-CP thay thế nghị định nào?", record=False)
    assert (ans.citations[0].document, ans.citations[0].article) == ("10/2024/NĐ-CP", "51")
    assert "có hiệu lực từ 25/03/2024 [1]" in ans.lead
    assert "không còn hiệu lực: hết hiệu lực từ 01/07/2026" in ans.lead
    en = assistant.answer("Is Decree 10/2024/NĐ-CP still in force?", record=False)
    assert en.language == "en" and not en.refused
    assert en.lead.startswith("Decree on high-tech parks (10/2024/NĐ-CP) is no longer in force: it ceased to have "
                              "effect on 01/07/2026 [1]")


def test_a_permit_under_a_repealed_decree_is_answered_from_the_transition_rules(assistant):
    ans = assistant.answer("GPLĐ cấp theo NĐ 152/2020 trước ngày 7/8/2025 thì nay còn dùng được không?",
                           record=False)
    first = ans.citations[0]
    assert (first.document, first.article) == ("219/2025/NĐ-CP", "34")
    assert "hết hiệu lực từ 07/08/2025" in ans.lead and "quy định chuyển tiếp [1]" in ans.lead


def _cit(index: int, document: str, article: str, in_force: bool, low: bool = False) -> Citation:
    return Citation(document=document, title="t", article=article, quote="q", in_force=in_force,
                    status_note="hết hiệu lực" if not in_force else "còn hiệu lực", provision_id=f"{document}:{article}",
                    citation="c", short="s", low_confidence=low, index=index)


def test_a_text_whose_legal_basis_has_gone_is_not_called_in_force(assistant):
    from assistant.status import Target, status_lead

    cat = load_catalog()
    lead = status_lead(Target("10/2021/QĐ-TTg", "5", "1", "10/2021/QĐ-TTg", "in_force"), cat, AS_OF, "vi", 1)
    assert "cần được kiểm tra" in lead and "còn hiệu lực" not in lead


def test_a_text_still_in_force_says_when_it_ends_when_that_is_known():
    from assistant.status import Target, status_lead

    cat = load_catalog()
    lead = status_lead(Target("21/2008/QH12", "34", None, "21/2008/QH12", "in_force"), cat, dt.date(2026, 3, 1),
                       "vi", 1)
    assert lead == ("Luật CNC 2008 (21/2008/QH12) còn hiệu lực vào ngày 01/03/2026 (có hiệu lực từ 01/07/2009) [1]; "
                    "hết hiệu lực từ 01/07/2026, văn bản thay thế: Luật CNC 2025 (133/2025/QH15).")


def test_citations_of_one_text_share_one_validity_note():
    cat = load_catalog()
    cits = [_cit(1, "67/2025/QH15", "13", True), _cit(2, "10/2024/NĐ-CP", "51", False),
            _cit(3, "10/2024/NĐ-CP", "2", False), _cit(4, "263/2026/NĐ-CP", "24", True, low=True)]
    notes = validity_notes(cits, cat, AS_OF, "vi")
    assert len(notes) == 2
    assert notes[0].startswith("[2], [3] 10/2024/NĐ-CP không còn hiệu lực")
    assert notes[1].startswith("[4] 263/2026/NĐ-CP là bản OCR chưa kiểm chứng")
