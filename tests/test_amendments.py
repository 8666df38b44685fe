"""A provision is retrieved with its amendment: links are read from the amending texts' own instructions."""
from __future__ import annotations

import pytest

from assistant.amendments import AmendmentLinks, read_links
from corpus.catalog import load_catalog


@pytest.fixture(scope="module")
def catalog():
    return load_catalog()


def test_links_are_read_from_the_instructions_of_the_amending_text(catalog):
    nodes = [
        # 90/2025/QH15 amends the import duty law (the catalog records it) and names it in the article title
        ("90/2025/QH15", "5", "Sửa đổi, bổ sung một số điều của Luật Thuế xuất khẩu, thuế nhập khẩu",
         "3. Sửa đổi, bổ sung khoản 21 Điều 16 như sau: “21. Hàng hóa nhập khẩu … theo Điều 99 …”"),
        # "Luật Đầu tư" in a 2025 amending law is the law it amends (61/2020), not the newer one of that name;
        # "Luật Đầu tư công" is another law
        ("90/2025/QH15", "6", "Sửa đổi, bổ sung một số điều của Luật Đầu tư",
         "1. Sửa đổi, bổ sung một số điểm, khoản của Điều 16 như sau:"),
        ("90/2025/QH15", "7", "Sửa đổi, bổ sung một số điều của Luật Đầu tư công",
         "1. Bổ sung khoản 5 vào sau khoản 4 Điều 3 như sau:"),
        # a clause naming its law holds for its points; the next clause names another law
        ("133/2025/QH15", "25", "Sửa đổi, bổ sung, bãi bỏ một số điều, khoản của các luật có liên quan",
         "9. Sửa đổi, bổ sung một số điều của Luật Thuế thu nhập doanh nghiệp số 67/2025/QH15 như sau:\n"
         "a) Sửa đổi, bổ sung khoản 1 Điều 13 như sau: “…”\n"
         "10. Sửa đổi, bổ sung một số điều của Luật Đấu thầu số 22/2023/QH15 như sau:\n"
         "a) Sửa đổi Điều 5 như sau:"),
        # the instruction is the article's title
        ("141/2026/NĐ-CP", "2", "Bổ sung khoản 15 Điều 4 Nghị định số 320/2025/NĐ-CP ngày 15 tháng 12 năm 2025",
         "“15. Thu nhập …”"),
        # a text that amends nothing in the catalog links nothing
        ("219/2025/NĐ-CP", "7", "Trường hợp không thuộc diện cấp giấy phép lao động", "1. Sửa đổi … Điều 154"),
    ]
    links = read_links(nodes, catalog)
    assert links.amends[("90/2025/QH15", "5")] == {("107/2016/QH13", "16")}
    assert links.amends[("90/2025/QH15", "6")] == {("61/2020/QH14", "16")}
    assert ("90/2025/QH15", "7") not in links.amends
    assert links.amends[("133/2025/QH15", "25")] == {("67/2025/QH15", "13")}
    assert links.amends[("141/2026/NĐ-CP", "2")] == {("320/2025/NĐ-CP", "4")}
    assert ("219/2025/NĐ-CP", "7") not in links.amends
    assert links.linked(("107/2016/QH13", "16")) == {("90/2025/QH15", "5")}


def test_cited_articles_say_what_amends_them_and_what_they_amend(catalog):
    import datetime as dt

    from assistant.compose import amendment_notes
    from assistant.models import Citation

    def cit(i, doc, art):
        return Citation(document=doc, title="t", article=art, clause="1", quote="q", in_force=True,
                        status_note="còn hiệu lực", provision_id=f"{doc}:{art}", citation="c", short="s", index=i)

    links = AmendmentLinks()
    links.add(("90/2025/QH15", "5"), ("107/2016/QH13", "16"))
    links.add(("90/2025/QH15", "5"), ("107/2016/QH13", "17"))
    cits = [cit(1, "107/2016/QH13", "16"), cit(2, "90/2025/QH15", "5")]
    notes = amendment_notes(cits, links, {("107/2016/QH13", "16"), ("90/2025/QH15", "5")}, catalog,
                            dt.date(2026, 11, 27), "vi")
    assert notes == ["[1] Điều 16 Luật Thuế XNK 2016 (107/2016/QH13) đã được sửa đổi, bổ sung hoặc bãi bỏ một phần "
                     "bởi Điều 5 Luật 90/2025 (90/2025/QH15) [2]: cần đọc cùng nhau.",
                     "[2] Điều 5 Luật 90/2025 (90/2025/QH15) sửa đổi, bổ sung hoặc bãi bỏ một phần Điều 16 Luật Thuế "
                     "XNK 2016 (107/2016/QH13) [1]."]
    # before the amending law takes effect, the article is not said to be amended
    assert amendment_notes(cits[:1], links, set(), catalog, dt.date(2025, 1, 1), "vi") == []
