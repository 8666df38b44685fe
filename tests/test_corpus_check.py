"""`htp corpus check` over the real corpus (read-only, HTP_CORPUS_DIR), and over a copy with malformed files.

Article numbers found by the parser are compared with an independent count of the ``Điều N.`` headings a reader
sees: at line start, outside quotation marks, in increasing order (so forms in appendices that restart at
``Điều 1.`` do not count).
"""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assistant.cli import app
from corpus.catalog import load_catalog
from corpus.check import check_corpus
from corpus.loader import load_corpus

from conftest import CORPUS_DIR

pytestmark = pytest.mark.skipif(not CORPUS_DIR.is_dir(), reason=f"the shared corpus is not at {CORPUS_DIR}")

TOTAL_ARTICLES = 1785  # all catalogued documents, OCR copies included, as of this corpus snapshot (round 5)
# Articles a codification filed under a document although its source line names another act: the parser skips
# them (with a warning), a reader counting headings in order does not.
FOREIGN_ARTICLES = {"134/2016/NĐ-CP": {"41": "18/2021/NĐ-CP"}}

_HEADING = re.compile(r"^Điều\s+(\d+)([a-zđ]?)\s*[.:]")


def reader_headings(path: Path, known_gaps: list[str]) -> list[str]:
    """'Điều N.' headings at line start, outside “…”, in increasing order.

    A few texts never close a quotation mark; a reader still sees the next article of the sequence (skipping
    the catalog's known gaps) as a heading, so such a heading closes the open quote.
    """
    gaps = {int(g) for g in known_gaps if g.isdigit()}
    out: list[str] = []
    last: tuple[int, str] | None = None
    depth = 0
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        m = _HEADING.match(line)
        if m:
            key = (int(m.group(1)), m.group(2))
            nxt = (last[0] if last else 0) + 1
            while nxt in gaps:
                nxt += 1
            if depth > 0 and not line.startswith("“") and key == (nxt, ""):
                depth = 0  # an unclosed quote does not hide the next article
            if depth == 0 and not line.startswith("“") and (last is None or key > last):
                out.append(m.group(1) + m.group(2))
                last = key
        depth = max(0, depth + line.count("“") - line.count("”"))
    return out


@pytest.fixture(scope="module")
def catalog():
    return load_catalog()


@pytest.fixture(scope="module")
def corpus(catalog):
    return load_corpus(CORPUS_DIR, catalog)


@pytest.fixture(scope="module")
def reports(corpus, catalog):
    return {r.number: r for r in check_corpus(corpus, catalog)}


@pytest.fixture(scope="module")
def cli_json():
    r = CliRunner().invoke(app, ["corpus", "check", "--json", "--corpus-dir", str(CORPUS_DIR)])
    assert r.exit_code == 0, r.output
    return {d["number"]: d for d in json.loads(r.stdout)}


def test_cli_check_exits_0_with_counts():
    r = CliRunner().invoke(app, ["corpus", "check", "--corpus-dir", str(CORPUS_DIR)])
    assert r.exit_code == 0, r.output
    n = len(load_catalog().documents)
    assert f"{n} documents loaded, {TOTAL_ARTICLES} articles, 0 errors." in r.stdout
    assert "10/2024/NĐ-CP" in r.stdout
    assert f"English digests: {TOTAL_ARTICLES} of {TOTAL_ARTICLES} articles." in r.stdout


def test_check_names_articles_without_an_english_digest_and_a_broken_local_file(tmp_path, monkeypatch):
    """A deployment's texts: the articles with no digest are listed; its own digest file, malformed, fails the check
    with its file:line."""
    from assistant.config import get_settings
    from corpus.digests import LOCAL_DIGESTS_NAME

    dst = tmp_path / "corpus"
    shutil.copytree(CORPUS_DIR, dst)
    local = dst / LOCAL_DIGESTS_NAME
    local.write_text(json.dumps({"document": "67/2025/QH15", "article": "14", "en": "Tax exemption — …"}) + "\n")
    project = tmp_path / "digests.jsonl"
    project.write_text(json.dumps({"document": "67/2025/QH15", "article": "13", "en": "CIT rates — …"}) + "\n")
    monkeypatch.setenv("HTP_DIGESTS_FILE", str(project))
    get_settings.cache_clear()
    try:
        r = CliRunner().invoke(app, ["corpus", "check", "--corpus-dir", str(dst)])
        assert r.exit_code == 0, r.output
        out = " ".join(r.stdout.split())
        assert f"English digests: 2 of {TOTAL_ARTICLES} articles." in out
        assert f"without one ({TOTAL_ARTICLES - 2})" in out and str(local) in out
        local.write_text("{broken\n")
        r = CliRunner().invoke(app, ["corpus", "check", "--corpus-dir", str(dst)])
        assert r.exit_code == 1 and f"{local}:1: not JSON" in " ".join(r.stdout.split())
    finally:
        monkeypatch.delenv("HTP_DIGESTS_FILE")
        get_settings.cache_clear()


def test_cli_json_report(cli_json, catalog):
    assert set(cli_json) == {d.number for d in catalog.documents}
    assert sum(d["articles"] for d in cli_json.values()) == TOTAL_ARTICLES
    nd10 = cli_json["10/2024/NĐ-CP"]
    assert (nd10["articles"], nd10["first"], nd10["last"], nd10["gaps"]) == (51, "1", "52", ["49"])
    assert nd10["known_gaps"] == ["49"]
    tt78 = cli_json["78/2014/TT-BTC"]
    assert tt78["gaps"] == ["10"] and tt78["known_gaps"] == ["10"]
    assert cli_json["133/2025/QH15"]["articles"] == 27 and cli_json["21/2008/QH12"]["articles"] == 35
    assert all(d["present"] for d in cli_json.values())
    assert not [i for d in cli_json.values() for i in d["issues"] if ": error:" in i]


def test_no_unexpected_numbering_gaps(reports):
    assert {n: r.unexpected_gaps for n, r in reports.items() if r.unexpected_gaps} == {}


def test_every_document_parses_some_provisions(corpus, catalog):
    assert len(corpus.documents) == len(catalog.documents)
    for number, doc in corpus.documents.items():
        assert doc.parsed.articles, number
        assert doc.provisions(), number


@pytest.mark.parametrize("number", [d.number for d in load_catalog().documents if d.confidence == "high"])
def test_article_numbers_match_headings_counted_independently(number, corpus, catalog):
    meta = catalog.by_number(number)
    parsed = [a.number for a in corpus.documents[number].parsed.articles]
    seen = reader_headings(CORPUS_DIR / meta.file, meta.known_gaps)
    foreign = FOREIGN_ARTICLES.get(number, {})
    assert parsed == [n for n in seen if n not in foreign]
    for art, source in foreign.items():
        assert art in seen
        assert any(f"Điều {art} comes from {source}" in i.message
                   for i in corpus.issues if Path(i.file).name == Path(meta.file).name)


def test_no_article_is_parsed_twice(corpus):
    for number, doc in corpus.documents.items():
        nums = [a.number for a in doc.parsed.articles]
        assert len(nums) == len(set(nums)), number


def test_ocr_copies_are_flagged(reports, catalog):
    ocr = [d.number for d in catalog.documents if d.confidence != "high"]
    assert ocr and all(reports[n].confidence != "high" for n in ocr)
    assert all(reports[n].articles > 0 for n in ocr)


# ------------------------------------------------------------------------------------------------ malformed copy
@pytest.fixture
def broken_corpus(tmp_path) -> Path:
    dst = tmp_path / "corpus"
    shutil.copytree(CORPUS_DIR, dst)
    bad = dst / "luat-cong-nghe-cao-2008.txt"
    lines = bad.read_bytes().split(b"\n")
    lines[2] = lines[2] + b" \xc4\x90i\xe1 \xff\xfe"  # invalid UTF-8 on line 3
    bad.write_bytes(b"\n".join(lines))
    (dst / "nghi-dinh-74-2017-nd-cp-co-che-dac-thu-khu-cnc-hoa-lac.txt").write_text(
        "# Nghị định 74/2017/NĐ-CP\n\nSố hiệu: 74/2017/NĐ-CP\n\nVăn bản bị cắt, không còn điều nào.\n",
        encoding="utf-8")
    return dst


def test_malformed_file_is_reported_with_file_and_line_and_others_still_load(broken_corpus):
    r = CliRunner().invoke(app, ["corpus", "check", "--corpus-dir", str(broken_corpus)])
    assert r.exit_code == 1
    out = " ".join(r.stdout.split())  # the table may wrap long lines
    assert f"{broken_corpus / 'luat-cong-nghe-cao-2008.txt'}:3: error: invalid UTF-8" in out
    assert f"{broken_corpus / 'nghi-dinh-74-2017-nd-cp-co-che-dac-thu-khu-cnc-hoa-lac.txt'}:" in out
    assert "no article found" in out
    n = len(load_catalog().documents)
    assert f"{n - 2} documents loaded, {TOTAL_ARTICLES - 35 - 22} articles, 2 errors." in out

    j = CliRunner().invoke(app, ["corpus", "check", "--json", "--corpus-dir", str(broken_corpus)])
    rep = {d["number"]: d for d in json.loads(j.stdout)}
    assert rep["21/2008/QH12"]["articles"] == 0
    assert any(":3: error: invalid UTF-8" in i for i in rep["21/2008/QH12"]["issues"])
    assert rep["133/2025/QH15"]["articles"] == 27 and rep["10/2024/NĐ-CP"]["articles"] == 51


def test_missing_corpus_dir_is_a_clear_error(tmp_path):
    r = CliRunner().invoke(app, ["corpus", "check", "--corpus-dir", str(tmp_path / "nowhere")])
    assert r.exit_code == 1
    assert "corpus folder not found" in " ".join(r.output.split()) and "HTP_CORPUS_DIR" in r.output
