"""`htp corpus add` and its parts, on small synthetic texts (tests/data/additions) in a temporary corpus folder.

The project's catalog is the base (its documents need not be present in the temporary folder: the loader skips
absent files); what an add writes goes to the temporary folder's catalog.local.yaml.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from corpus.additions import AddError, apply_plans, insert_entries, plan_add, safe_destination
from corpus.catalog import CATALOG_PATH, LOCAL_CATALOG_NAME, CatalogError, load_catalog
from corpus.changes import changes
from corpus.drafter import draft_file, draft_text, impact, parse_date

DATA = Path(__file__).parent / "data" / "additions"
DECREE = DATA / "nghi-dinh-501-2027-nd-cp-khu-thu-nghiem.txt"
LAW = DATA / "luat-mau-co-header.txt"
NOT_LEGAL = DATA / "thong-tu-khong-phai.txt"


@pytest.fixture
def corpus_dir(tmp_path) -> Path:
    d = tmp_path / "corpus"
    d.mkdir()
    return d


# ---------------------------------------------------------------------------------------------- drafting
def test_bare_official_text_is_drafted_from_its_own_words():
    d = draft_file(DECREE)
    e = d.entry
    assert not d.errors
    assert e["number"] == "501/2027/NĐ-CP" and e["type"] == "Nghị định" and e["issuer"] == "Chính phủ"
    assert e["issued"] == dt.date(2027, 3, 15) and e["effective"] == dt.date(2027, 5, 1)
    assert e["signer"] == "Nguyễn Văn An"
    assert e["title"] == "Nghị định quy định về khu thử nghiệm công nghệ cao"
    assert e["status_basis"] == "Điều 5 khoản 1 Nghị định 501/2027/NĐ-CP"
    assert e["article_validity"][0]["articles"] == ["3"]
    assert e["article_validity"][0]["effective"] == dt.date(2027, 7, 1)
    rels = {(r.target, r.kind): r for r in d.relations}
    repeal = rels[("10/2024/NĐ-CP", "ends")]
    assert (repeal.article, repeal.clause, repeal.point) == ("5", "3", None)
    assert repeal.from_ == dt.date(2027, 5, 1)  # a repeal in the effect article takes effect with the text
    listed = rels[("239/2025/NĐ-CP", "ends")]
    assert (listed.article, listed.clause, listed.point) == ("5", "4", "a")
    # the words after the name describe it: 31/2021 is not ended
    assert ("31/2021/NĐ-CP", "ends") not in rels
    amended = rels[("219/2025/NĐ-CP", "amends")]
    assert (amended.article, amended.clause) == ("3", "1")
    # quoted new wording names 10/2024 too: content, never a relation
    assert all(not (r.target == "10/2024/NĐ-CP" and r.kind == "amends") for r in d.relations)
    assert rels[("10/2024/NĐ-CP", "transition")].article == "4"


def test_header_text_history_and_doubt_are_read():
    d = draft_file(LAW)
    assert d.entry["number"] == "55/2027/QH16" and d.entry["effective"] == dt.date(2028, 1, 1)
    assert any(r.target == "21/2008/QH12" and r.kind == "ends" and r.article == "3" and r.clause == "2"
               for r in d.relations)
    # "Bộ luật Lao động số 45/2019/QH14 đã được sửa đổi, bổ sung theo Luật số 71/2025/QH15": history, not a target
    assert any(h.target == "45/2019/QH14" and h.source == "71/2025/QH15" for h in d.history)
    assert not any(r.target == "71/2025/QH15" for r in d.relations)
    assert any("lacks later amendments" in r for r in d.review)


def test_impact_names_what_changes_for_documents_held():
    cat = load_catalog(CATALOG_PATH, overlay=False)
    imp = impact(draft_file(DECREE), cat)
    assert "10/2024/NĐ-CP: repealed from 01/05/2027 by 501/2027/NĐ-CP Điều 5 k3" in imp.lines
    upd = {u["number"]: u for u in imp.updates}
    assert upd["219/2025/NĐ-CP"]["amended_by"][0]["number"] == "501/2027/NĐ-CP"
    assert {r.target for r in imp.unknown} == {"888/2019/NĐ-CP", "777/2018/NĐ-CP"}
    # 10/2024 already ends on 01/07/2026 in the catalog: a different date is a conflict, never overwritten
    assert any("10/2024/NĐ-CP" in c for c in imp.conflicts)


def test_dates_are_read_in_both_forms():
    assert parse_date("từ ngày 01 tháng 7 năm 2026") == dt.date(2026, 7, 1)
    assert parse_date("Ngày hiệu lực: 19/08/2025 (Điều 8)") == dt.date(2025, 8, 19)
    assert parse_date("ngày 31 tháng 2 năm 2026") is None


# ---------------------------------------------------------------------------------------------- bad input
def test_not_a_legal_text_is_refused_with_file_and_line(corpus_dir):
    plan = plan_add(NOT_LEGAL, corpus_dir, load_catalog(corpus_dir=corpus_dir))
    assert not plan.ok
    assert any("thong-tu-khong-phai.txt:1" in e and "no article" in e for e in plan.errors)
    with pytest.raises(AddError):
        apply_plans([plan], corpus_dir)
    assert not any(corpus_dir.iterdir())


def test_binary_and_empty_files_are_refused(corpus_dir, tmp_path):
    bad = tmp_path / "x.txt"
    bad.write_bytes(b"\x00\x01binary")
    with pytest.raises(AddError, match="binary"):
        plan_add(bad, corpus_dir, load_catalog(corpus_dir=corpus_dir))
    bad.write_bytes("Điều 1. x\n".encode("utf-8") + b"\xff\xfe")
    with pytest.raises(AddError, match="UTF-8"):
        plan_add(bad, corpus_dir, load_catalog(corpus_dir=corpus_dir))


def test_duplicate_number_is_refused(corpus_dir, tmp_path):
    dup = tmp_path / "nd-10.txt"
    dup.write_text(DECREE.read_text(encoding="utf-8").replace("501/2027/NĐ-CP", "10/2024/NĐ-CP"), encoding="utf-8")
    plan = plan_add(dup, corpus_dir, load_catalog(corpus_dir=corpus_dir))
    assert any("10/2024/NĐ-CP is already in the catalog" in e for e in plan.errors)


@pytest.mark.parametrize("name", ["../evil.txt", "/etc/passwd.txt", "a/b/c.txt", "ocr/../../x.txt", "x.exe",
                                  "..", "sub/x.txt", ".hidden.txt"])
def test_file_names_leaving_the_corpus_folder_are_refused(corpus_dir, name):
    with pytest.raises(AddError):
        safe_destination(name, corpus_dir) if name.endswith(".txt") else plan_add(
            None, corpus_dir, load_catalog(corpus_dir=corpus_dir), name=name, data=b"x")


def test_safe_names_are_kept(corpus_dir):
    assert safe_destination("nd-1.txt", corpus_dir) == "nd-1.txt"
    assert safe_destination("ocr/nd-1.docx", corpus_dir) == "ocr/nd-1.txt"


def test_relations_naming_unknown_documents_are_recorded_as_known_not_held(corpus_dir):
    plan = plan_add(DECREE, corpus_dir, load_catalog(corpus_dir=corpus_dir))
    assert plan.ok
    assert all("777/2018" not in str(u) for u in plan.impact.updates)  # no entry to update: not held
    known = {k["number"]: k for k in plan.impact.known}
    assert known["777/2018/NĐ-CP"]["status"] == "Hết hiệu lực từ 01/05/2027 (Điều 5 khoản 4 điểm b Nghị định " \
        "501/2027/NĐ-CP)"
    assert known["777/2018/NĐ-CP"]["title"] == "Nghị định về một việc khác"
    assert known["777/2018/NĐ-CP"]["replaced_by"] == "501/2027/NĐ-CP"
    assert known["888/2019/NĐ-CP"]["status"].startswith("Được sửa đổi, bổ sung từ 01/05/2027 bởi Điều 3 khoản 2")
    assert any("777/2018/NĐ-CP (not held) recorded under not_in_corpus" in w for w in plan.warnings)
    apply_plans([plan], corpus_dir)
    cat = load_catalog(corpus_dir=corpus_dir)
    assert cat.missing("777/2018/NĐ-CP").replaced_by == "501/2027/NĐ-CP"
    # a relation naming a document with no readable number form is still reported with file:line
    d = draft_text(DECREE.read_text(encoding="utf-8"), "x.txt")
    assert all(r.line > 0 for r in d.relations)


def test_half_written_catalog_is_a_clear_error_and_blocks_nothing_loaded(corpus_dir):
    (corpus_dir / LOCAL_CATALOG_NAME).write_text("version: 1\ndocuments:\n- number: 1/2027/NĐ-CP\n  type: [unclosed\n",
                                                 encoding="utf-8")
    with pytest.raises(CatalogError, match=rf"{LOCAL_CATALOG_NAME}:\d+: invalid YAML"):
        load_catalog(corpus_dir=corpus_dir)
    # an entry missing required fields: named with its line
    (corpus_dir / LOCAL_CATALOG_NAME).write_text("version: 1\ndocuments:\n- number: 1/2027/NĐ-CP\n  type: Luật\n",
                                                 encoding="utf-8")
    with pytest.raises(CatalogError, match=rf"{LOCAL_CATALOG_NAME}:3: documents.0"):
        load_catalog(corpus_dir=corpus_dir)
    # the project's catalog alone still loads
    assert load_catalog(CATALOG_PATH, overlay=False).by_number("10/2024/NĐ-CP") is not None


# ---------------------------------------------------------------------------------------------- overlay
def test_overlay_merges_and_reports_conflicts_with_file_and_line(corpus_dir):
    base = load_catalog(CATALOG_PATH, overlay=False)
    n_base = len(base.documents)
    assert base.missing("239/2025/NĐ-CP") is not None
    (corpus_dir / LOCAL_CATALOG_NAME).write_text(
        "version: 1\n"
        "documents:\n"
        "- {number: 10/2024/NĐ-CP, type: Nghị định, title: trùng, short: trùng, file: x.txt}\n"
        "- {number: 999/2030/QH99, type: Luật, title: Luật Thử, short: Luật 999/2030, file: luat-999.txt}\n"
        "- {number: 239/2025/NĐ-CP, type: Nghị định, title: Nghị định 239, short: NĐ 239/2025, file: nd-239.txt}\n"
        "updates:\n"
        "- number: 10/2024/NĐ-CP\n"
        "  expires: 2030-01-01\n"
        "- number: 219/2025/NĐ-CP\n"
        "  amended_by: [{number: 999/2030/QH99, from: 2030-01-01}]\n"
        "- number: 31/2021/NĐ-CP\n"
        "  replaced_by: [{number: 999/2030/QH99}]\n", encoding="utf-8")
    cat = load_catalog(corpus_dir=corpus_dir)
    assert len(cat.documents) == n_base + 2
    assert cat.by_number("10/2024/NĐ-CP").title != "trùng"  # the project's entry is kept
    assert cat.missing("239/2025/NĐ-CP") is None  # now held: no longer listed as missing
    assert any(r.number == "999/2030/QH99" for r in cat.by_number("219/2025/NĐ-CP").amended_by)
    assert cat.by_number("10/2024/NĐ-CP").expires == dt.date(2026, 7, 1)
    local = str(corpus_dir / LOCAL_CATALOG_NAME)
    assert any(c.startswith(f"{local}:3: document 10/2024/NĐ-CP is already described at") and "catalog.yaml:" in c
               for c in cat.conflicts)
    assert any(c.startswith(f"{local}:7:") and "expires" in c for c in cat.conflicts)
    assert any(f"{local}:11:" in c and "31/2021" in c for c in cat.conflicts)
    # the base catalog is untouched
    assert len(load_catalog(CATALOG_PATH, overlay=False).documents) == n_base


def test_insert_entries_keeps_comments_and_layout():
    text = "# head\nversion: 1\ndocuments:\n- number: a\n  x: 1\n# missing ones\nnot_in_corpus:\n- number: b\n"
    out = insert_entries(text, [{"number": "c", "type": "Luật"}], [{"number": "a", "expires": "2027-01-01"}])
    assert out.startswith("# head\nversion: 1\ndocuments:\n- number: a\n  x: 1\n- number: c\n")
    assert "# missing ones\nnot_in_corpus:" in out
    data = yaml.safe_load(out)
    assert [d["number"] for d in data["documents"]] == ["a", "c"] and data["updates"][0]["number"] == "a"


# ---------------------------------------------------------------------------------------------- apply
def test_apply_writes_text_entry_and_relations_then_reindexes(corpus_dir):
    cat = load_catalog(corpus_dir=corpus_dir)
    plan = plan_add(DECREE, corpus_dir, cat)
    seen = {}

    def reindex(catalog):
        seen["catalog"] = catalog
        return "built"

    res = apply_plans([plan], corpus_dir, reindex=reindex)
    assert res.index == "built" and res.added == ["501/2027/NĐ-CP"]
    assert (corpus_dir / DECREE.name).read_text(encoding="utf-8") == DECREE.read_text(encoding="utf-8")
    merged = load_catalog(corpus_dir=corpus_dir)
    assert seen["catalog"].by_number("501/2027/NĐ-CP") is not None
    doc = merged.by_number("501/2027/NĐ-CP")
    assert doc.file == DECREE.name and doc.effective == dt.date(2027, 5, 1)
    assert any(r.number == "501/2027/NĐ-CP" for r in merged.by_number("219/2025/NĐ-CP").amended_by)
    assert any(r.number == "501/2027/NĐ-CP" and not r.content for r in merged.by_number("10/2024/NĐ-CP").replaced_by)
    assert merged.missing("239/2025/NĐ-CP").status  # already had one: kept
    # a second add of the same text is a duplicate
    again = plan_add(corpus_dir / DECREE.name, corpus_dir, merged)
    assert not again.ok


def test_failed_reindex_restores_corpus_and_catalog(corpus_dir):
    local = corpus_dir / LOCAL_CATALOG_NAME
    local.write_text("version: 1\n# ours\n", encoding="utf-8")
    plan = plan_add(DECREE, corpus_dir, load_catalog(corpus_dir=corpus_dir))

    def reindex(catalog):
        raise RuntimeError("embedder crashed")

    with pytest.raises(AddError, match="restored"):
        apply_plans([plan], corpus_dir, reindex=reindex)
    assert local.read_text(encoding="utf-8") == "version: 1\n# ours\n"
    assert not (corpus_dir / DECREE.name).exists()


def test_catalog_file_elsewhere_is_refused(corpus_dir, tmp_path):
    plan = plan_add(DECREE, corpus_dir, load_catalog(corpus_dir=corpus_dir))
    with pytest.raises(AddError, match="would not be read"):
        apply_plans([plan], corpus_dir, tmp_path / "other.yaml")
    assert not (corpus_dir / DECREE.name).exists()


def test_apply_and_lexical_index_end_to_end(corpus_dir, tmp_path):
    """The real build (BM25 only) picks the added text up; the build is incremental (a second one is a no-op)."""
    from indexing.build import BuildOptions, build_index

    opts = BuildOptions(corpus_dir=corpus_dir, index_dir=tmp_path / "index", embed_backend="none")
    plan = plan_add(LAW, corpus_dir, load_catalog(corpus_dir=corpus_dir))
    res = apply_plans([plan], corpus_dir, reindex=lambda cat: build_index(opts))
    assert res.index.documents == 1 and res.index.nodes >= 3
    assert build_index(opts).up_to_date


def test_docx_and_html_are_read(corpus_dir, tmp_path):
    html = tmp_path / "nd.html"
    body = "".join(f"<p>{line}</p>" for line in DECREE.read_text(encoding="utf-8").splitlines())
    html.write_text(f"<html><head><style>p{{}}</style></head><body>{body}</body></html>", encoding="utf-8")
    plan = plan_add(html, corpus_dir, load_catalog(corpus_dir=corpus_dir))
    assert plan.ok and plan.dest == "nd.txt" and plan.draft.number == "501/2027/NĐ-CP"
    docx = pytest.importorskip("docx")
    d = docx.Document()
    for line in DECREE.read_text(encoding="utf-8").splitlines():
        d.add_paragraph(line)
    path = tmp_path / "nd2.docx"
    d.save(str(path))
    plan = plan_add(path, corpus_dir, load_catalog(corpus_dir=corpus_dir))
    assert plan.ok and plan.draft.entry["effective"] == dt.date(2027, 5, 1)


# ---------------------------------------------------------------------------------------------- changes, CLI
def test_changes_in_a_period_name_their_provision():
    cat = load_catalog(CATALOG_PATH, overlay=False)
    items = changes(cat, dt.date(2026, 7, 1), dt.date(2026, 7, 1))
    ceased = [c for c in items if c.document == "21/2008/QH12" and c.kind == "ceased"]
    assert ceased and "Điều 26 khoản 2" in ceased[0].basis and ceased[0].by == "133/2025/QH15"
    assert any(c.document == "133/2025/QH15" and c.kind == "took_effect" for c in items)
    gone = [c for c in changes(cat, dt.date(2026, 3, 1), dt.date(2026, 3, 1)) if c.document == "239/2025/NĐ-CP"]
    assert gone and not gone[0].held and "Điều 111" in gone[0].basis


def test_cli_add_draft_and_apply(corpus_dir, tmp_path, monkeypatch):
    from assistant import config
    from assistant.cli import app

    monkeypatch.setenv("HTP_CORPUS_DIR", str(corpus_dir))
    monkeypatch.setenv("HTP_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("HTP_EMBED_BACKEND", "none")
    monkeypatch.delenv("HTP_DOCUMENTS", raising=False)
    config.get_settings.cache_clear()
    try:
        r = CliRunner().invoke(app, ["corpus", "add", str(DECREE)])
        assert r.exit_code == 0, r.output
        assert "number: 501/2027/NĐ-CP" in r.output and "10/2024/NĐ-CP: repealed from 01/05/2027" in r.output
        assert not (corpus_dir / DECREE.name).exists()
        r = CliRunner().invoke(app, ["corpus", "add", str(NOT_LEGAL)])
        assert r.exit_code == 1 and "no article" in r.output
        r = CliRunner().invoke(app, ["corpus", "add", "--apply", str(DECREE)])
        assert r.exit_code == 0, r.output
        assert (corpus_dir / DECREE.name).exists() and "added 501/2027/NĐ-CP" in r.output
        r = CliRunner().invoke(app, ["corpus", "changes", "--since", "2027-05-01", "--until", "2027-05-31"])
        assert r.exit_code == 0 and "501/2027/NĐ-CP: took effect" in r.output
    finally:
        config.get_settings.cache_clear()


def test_a_copy_of_the_draft_is_valid_yaml_for_the_catalog():
    plan_text = draft_text(DECREE.read_text(encoding="utf-8"), "x.txt")
    from corpus.additions import dump_yaml
    from corpus.catalog import DocumentMeta

    entry = yaml.safe_load(dump_yaml([plan_text.entry]))[0]
    assert "&id" not in dump_yaml([plan_text.entry])
    DocumentMeta.model_validate(entry)


def test_what_texts_held_say_of_a_newcomer_goes_into_its_entry(corpus_dir, tmp_path):
    apply_plans([plan_add(DECREE, corpus_dir, load_catalog(corpus_dir=corpus_dir))], corpus_dir)
    old = tmp_path / "nd-888.txt"  # the decree 501/2027 amends (Điều 3 k2), added afterwards
    old.write_text("CHÍNH PHỦ\nSố: 888/2019/NĐ-CP\nHà Nội, ngày 02 tháng 01 năm 2019\nNGHỊ ĐỊNH\nVề một việc cũ\n"
                   "Điều 1. Phạm vi\nNghị định này quy định một việc cũ.\nĐiều 2. Hiệu lực thi hành\n"
                   "Nghị định này có hiệu lực thi hành từ ngày 01 tháng 3 năm 2019.\n", encoding="utf-8")
    plan = plan_add(old, corpus_dir, load_catalog(corpus_dir=corpus_dir))
    assert plan.ok
    assert plan.entry()["amended_by"] == [{"number": "501/2027/NĐ-CP", "from": dt.date(2027, 5, 1), "note": (
        "501/2027/NĐ-CP Điều 3 k2: Bổ sung khoản 9 vào sau khoản 8 Điều 4 của Nghị định số 888/2019/NĐ-CP như sau:")}]
    assert any("888/2019/NĐ-CP (this text): amended from 01/05/2027 by 501/2027/NĐ-CP" in x for x in plan.impact.lines)
