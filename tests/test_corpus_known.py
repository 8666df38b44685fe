"""Known but not held: a text the corpus lacks but the texts held speak of gets its status and successor from
them (assistant/status.py: missing_basis, missing_status, targets, status_lead)."""
from __future__ import annotations

import datetime as dt

from assistant.status import Landmarks, Target, missing_basis, missing_status, status_lead, targets
from corpus.catalog import CATALOG_PATH, load_catalog

AS_OF = dt.date(2026, 11, 27)


def _cat():
    return load_catalog(CATALOG_PATH, overlay=False)


def test_basis_is_the_provision_of_the_text_held_that_ends_it():
    cat = _cat()
    assert missing_basis("239/2025/NĐ-CP", cat) == ("96/2026/NĐ-CP", "111", "3")
    # two held texts in the status: the one named right after the article
    assert missing_basis("31/2021/NĐ-CP", cat) == ("96/2026/NĐ-CP", "111", "3")
    assert missing_basis("107/2023/QH15", cat) is None  # nothing held speaks of its status


def test_status_and_successor_are_stated():
    cat = _cat()
    vi = missing_status("239/2025/NĐ-CP", cat, AS_OF, "vi", " [1]")
    assert vi.startswith("NĐ 239/2025 (239/2025/NĐ-CP) không có trong kho văn bản của trợ lý; hết hiệu lực từ "
                         "01/03/2026 theo Điều 111 khoản 3 NĐ 96/2026 [1]")
    assert "văn bản thay thế có trong kho: NĐ 96/2026 (96/2026/NĐ-CP), còn hiệu lực" in vi
    assert vi.count("OCR") == 1
    en = missing_status("70/2023/NĐ-CP", cat, AS_OF, "en")
    assert "ceased to have effect on 07/08/2025 under Article 35 clause 2" in en and "219/2025/NĐ-CP), in force" in en
    # before the date it is said to end, it is not said to have ended
    assert "sẽ hết hiệu lực từ 01/03/2026" in missing_status("239/2025/NĐ-CP", cat, dt.date(2026, 1, 1), "vi")
    # a successor that has gone itself says so
    assert "hết hiệu lực từ 01/07/2026" in missing_status("99/2003/NĐ-CP", cat, AS_OF, "vi")
    assert missing_status("107/2023/QH15", cat, AS_OF, "vi") == \
        "NQ 107/2023/QH15 (107/2023/QH15) không có trong kho văn bản của trợ lý."


def test_a_named_missing_text_brings_the_provision_that_ends_it():
    cat = _cat()
    marks = Landmarks({}, {}, frozenset({"96/2026/NĐ-CP"}))
    out = targets("Nghị định 239/2025 còn hiệu lực không?", ["239/2025/NĐ-CP"], cat, AS_OF, marks)
    assert out == [Target("96/2026/NĐ-CP", "111", "3", "239/2025/NĐ-CP", "in_force")]
    lead = status_lead(out[0], cat, AS_OF, "vi", 1)
    assert "hết hiệu lực từ 01/03/2026 theo Điều 111 khoản 3 NĐ 96/2026 [1]" in lead
    # without a status question nothing is looked up
    assert targets("Nghị định 239/2025 quy định gì?", ["239/2025/NĐ-CP"], cat, AS_OF, marks) == []


def test_a_copy_lacking_later_amendments_says_so_on_every_citation():
    from corpus.catalog import DocumentMeta
    from corpus.validity import validity

    base = dict(number="07/2017/QH14", type="Luật", title="Luật Chuyển giao công nghệ", short="Luật CGCN 2017",
                file="x.txt", effective=dt.date(2018, 7, 1),
                validity_doubt={"since": dt.date(2024, 7, 1), "vi": "chưa gồm sửa đổi của Luật 93/2025",
                                "en": "without the amendments of Law 93/2025"})
    v = validity(DocumentMeta(**base, doubt_kind="amendments_missing"), AS_OF)
    assert v.in_force and v.doubtful
    assert v.note("vi") == "còn hiệu lực, nhưng bản trong kho chưa gồm các sửa đổi sau này: chưa gồm sửa đổi của " \
        "Luật 93/2025"
    assert v.note("en").startswith("in force, but the corpus copy lacks later amendments")
    # without the marker, a doubt is about the legal basis (as before)
    assert validity(DocumentMeta(**base), AS_OF).note("vi").startswith("cần kiểm tra hiệu lực (chưa thấy văn bản bãi bỏ)")
    # before the doubt applies, nothing is said
    assert validity(DocumentMeta(**base, doubt_kind="amendments_missing"), dt.date(2020, 1, 1)).note("vi") == \
        "còn hiệu lực"
