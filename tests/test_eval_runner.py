"""Suite validation (file:line problems), the publisher-set loader, the runner on a few questions with the small
index, its report, the threshold gate, `htp eval run` wiring and run comparison."""
from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from evals.suite import SuiteError, load_suite, load_suites, load_tvpl, tvpl_as_of

GOOD = {"id": "q1", "question": "Điều 22 Luật Công nghệ cao 2025 quy định gì?", "lang": "vi",
        "relevant": [{"document": "133/2025/QH15", "article": "22"}], "answerable": True}


def _write(path: Path, lines: list) -> Path:
    path.write_text("\n".join(x if isinstance(x, str) else json.dumps(x, ensure_ascii=False) for x in lines) + "\n",
                    encoding="utf-8")
    return path


def test_colleague_suites_validate():
    items = load_suites(["evals/suites/dev.jsonl", "evals/suites/followup.jsonl", "evals/suites/validity.jsonl",
                         "evals/suites/smoke.jsonl"])
    assert len(items) == 208 + 40 + 26 + 12
    assert sum(1 for i in items if i.follow_up_of) == 21


def test_bad_suite_lists_every_problem_with_file_and_line(tmp_path):
    p = _write(tmp_path / "bad.jsonl", [
        GOOD,                                                                        # 1 fine
        '{"id": "q2", "question": "broken',                                         # 2 invalid JSON
        {k: v for k, v in GOOD.items() if k != "answerable"} | {"id": "q3"},        # 3 missing field
        GOOD | {"id": "q4", "answerable": "yes"},                                   # 4 wrong type
        GOOD | {"id": "q5", "relevant": [{"document": "99/2099/NĐ-CP", "article": "1"}]},  # 5 unknown document
        GOOD | {"id": "q6", "follow_up_of": "q9"},                                  # 6 follow-up of a later id
        GOOD | {"id": "q7", "follow_up_of": "nope"},                                # 7 follow-up of an unknown id
        "",                                                                          # 8 blank: ignored
        GOOD | {"id": "q9", "lang": "fr", "relevant": [{"document": "133/2025/QH15", "article": 22}]},  # 9 two
        GOOD | {"id": "q1"},                                                         # 10 duplicate id
        GOOD | {"id": "q11", "as_of": "01/07/2026", "must_cite_current": "1/2000/QH10", "answerble": True},  # 11
        "[1, 2]",                                                                    # 12 not an object
    ])
    with pytest.raises(SuiteError) as e:
        load_suite(p)
    msgs = e.value.problems
    text = str(e.value)
    expect = {2: "invalid JSON", 3: "missing field 'answerable'", 4: "field 'answerable' must be a boolean",
              5: "unknown document number '99/2099/NĐ-CP'", 6: "follow_up_of 'q9' is not an earlier id",
              7: "follow_up_of 'nope'", 9: "lang must be one of", 10: "duplicate id 'q1'",
              11: "as_of must be an ISO date", 12: "must be a JSON object"}
    for line, what in expect.items():
        assert any(m.startswith(f"{p}:{line}: ") and what in m for m in msgs), (line, what, text)
    assert any(m.startswith(f"{p}:9: relevant[0]: field 'article' must be a string") for m in msgs)
    assert any(m.startswith(f"{p}:11: ") and "unknown field(s) answerble" in m for m in msgs)
    assert any(m.startswith(f"{p}:11: must_cite_current: unknown document number") for m in msgs)
    assert not any(f"{p}:1:" in m or f"{p}:8:" in m for m in msgs)


def test_problems_of_several_files_in_one_error(tmp_path):
    a = _write(tmp_path / "a.jsonl", [GOOD | {"answerable": False}])  # unanswerable with gold
    b = _write(tmp_path / "b.jsonl", [GOOD | {"relevant": []}])  # answerable without gold
    with pytest.raises(SuiteError) as e:
        load_suites([a, b])
    assert len(e.value.problems) == 2
    assert e.value.problems[0].startswith(f"{a}:1: unanswerable item lists relevant")
    assert e.value.problems[1].startswith(f"{b}:1: answerable item has no relevant")


def test_tvpl_loader(tmp_path, monkeypatch):
    rows = [
        {"id": "T1", "question": "Doanh nghiệp công nghệ cao được miễn thuế TNDN mấy năm?",
         "cited": ["Khoản 1 Điều 14 Luật Thuế thu nhập doanh nghiệp 2025"], "as_of": "trước 19/12/2025 (snapshot)",
         "tier": "A: ..."},
        {"id": "T2", "question": "Điều kiện bảo hộ sáng chế?", "cited": ["Điều 68 Luật Sở hữu trí tuệ 2005"]},
        {"id": "T3", "question": "Ưu đãi thuế cho dự án công nghệ cao?",
         "cited": ["Điều 13 Luật Thuế thu nhập doanh nghiệp 2025", "Điều 3 Thông tư 30/2025/TT-BKHCN"],
         "as_of": "2020 (trả lời công văn ngày 20/4/2020)"},
    ]
    _write(tmp_path / "tvpl-qa.jsonl", rows)
    monkeypatch.setenv("HTP_DEV_DIR", str(tmp_path))
    t1, t2, t3 = load_tvpl()
    assert t1.answerable and [(g.document, g.article, g.clause) for g in t1.relevant] == [("67/2025/QH15", "14", "1")]
    assert t1.as_of.isoformat() == "2025-12-18" and "tvpl-tier-A" in t1.tags and t1.suite == "tvpl"
    assert t2.answerable is None and t2.relevant == [] and "tvpl-not-in-corpus" in t2.tags
    assert t3.answerable and "tvpl-partial" in t3.tags and t3.as_of.isoformat() == "2020-04-20"
    # The same file through load_suites (detected by its name) and a broken line with its position.
    assert len(load_suites([tmp_path / "tvpl-qa.jsonl"])) == 3
    _write(tmp_path / "tvpl-qa.jsonl", [rows[0], {"id": "T9", "question": "x", "cited": "Điều 1"}])
    with pytest.raises(SuiteError, match=r"tvpl-qa.jsonl:2: 'cited' must be a list"):
        load_tvpl()
    assert tvpl_as_of(None).isoformat() == "2025-12-18"


def test_real_tvpl_file_loads_when_present():
    from evals.suite import tvpl_path

    if not tvpl_path().exists():
        pytest.skip("no shared dev set here")
    items = load_tvpl()
    assert len(items) > 50 and any(i.answerable for i in items)


# ---------------------------------------------------------------------------------------------- runner
@pytest.fixture(scope="module")
def run_results(assistant, tmp_path_factory):
    from evals.runner import Runner

    p = _write(tmp_path_factory.mktemp("suite") / "mini.jsonl", [
        GOOD | {"id": "m1"},
        {"id": "m2", "question": "Thủ tục cấp giấy phép lao động cho người nước ngoài gồm những giấy tờ gì?",
         "lang": "vi", "relevant": [{"document": "219/2025/NĐ-CP", "article": "18"}], "answerable": True},
        {"id": "m3", "question": "còn thời hạn của giấy phép lao động thì sao?", "lang": "vi",
         "relevant": [{"document": "219/2025/NĐ-CP", "article": "19"}], "answerable": True, "follow_up_of": "m2"},
        {"id": "m4", "question": "Give me a recipe for pho bo.", "lang": "en", "relevant": [], "answerable": False},
    ])
    return Runner(assistant, baselines=True).run(load_suite(p), progress=False)


def test_runner_records(run_results):
    recs = {r["id"]: r for r in run_results["records"]}
    assert list(recs) == ["m1", "m2", "m3", "m4"]
    m1 = recs["m1"]
    assert m1["rank"] == 1 and m1["metrics"]["acc@1"] == 1.0 and m1["refused"] is False
    assert m1["cited"] and m1["metrics"]["citation_validity"] == 1.0 and m1["metrics"]["support"] == 1.0
    assert m1["latency_ms"] > 0 and m1["reasons"] == []
    # The follow-up was answered in the same conversation: its search borrowed the previous topic.
    assert recs["m3"]["search_query"] != recs["m3"]["question"]
    assert recs["m4"]["refused"] is True and recs["m4"]["metrics"] == {"citation_validity": None, "currency": None,
                                                                       "support": None}
    assert set(m1["baselines"]) == {"bm25s-default", "bm25-underthesea", "naive-hybrid", "dense-only",
                                     "lexical-only"}


def test_runner_aggregates(run_results):
    sl = run_results["slices"]
    assert {"all", "suite:mini", "lang:vi", "lang:en", "answerable", "unanswerable", "follow-up"} <= set(sl)
    assert sl["all"]["n"] == 4 and sl["all"]["n_retrieval"] == 3
    assert sl["unanswerable"]["refusal_recall"] == 1.0
    assert sl["all"]["faithfulness"] == "n/a"  # no judge without HTP_LLM_BASE_URL: never a made-up number
    assert sl["all"]["latency_p95_ms"] >= sl["all"]["latency_p50_ms"] > 0
    base = run_results["baselines"]
    assert set(base) == {"product", "bm25s-default", "bm25-underthesea", "naive-hybrid", "dense-only",
                         "lexical-only"}
    assert base["product"]["all"]["n"] == 3 and 0 <= base["bm25s-default"]["all"]["recall@5"] <= 1


def test_report_written(run_results, tmp_path):
    from evals.runner import write_outputs

    jp, hp = write_outputs(run_results, tmp_path / "out")
    assert json.loads(jp.read_text(encoding="utf-8"))["meta"]["questions"] == 4
    page = hp.read_text(encoding="utf-8")
    assert page.count("<details") == 4 and "<table>" in page and page.count("<svg") >= 5
    assert "Give me a recipe for pho bo." in page and "Product vs retrieval-only peers" in page
    assert "<script" not in page and 'src="http' not in page and 'href="http' not in page  # self-contained


def test_threshold_gate(run_results):
    from evals.runner import check_thresholds, parse_threshold

    assert check_thresholds(run_results, ["recall@5=0.5", "citation_validity=1.0"]) == []
    bad = check_thresholds(run_results, ["recall@5=1.01", "lang:en/refusal_recall=0.5", "nope=1", "x:y/acc@1=0"])
    assert bad[0].startswith("all/recall@5 = ") and "< 1.01" in bad[0]
    assert len(bad) == 3 and "unknown metric" in bad[1] and "no such slice" in bad[2]
    assert parse_threshold("lang:en/recall@5=0.5") == ("lang:en", "recall@5", 0.5)
    with pytest.raises(ValueError):
        parse_threshold("recall@5")


def test_compare_lists_regressions(run_results, tmp_path, capsys):
    from evals.compare import compare, print_table, render_html

    new = copy.deepcopy(run_results)
    rec = next(r for r in new["records"] if r["id"] == "m1")
    rec["rank"] = None  # was a hit at rank 1, now a miss
    rec4 = next(r for r in new["records"] if r["id"] == "m4")
    rec4["refused"] = False  # was a right refusal, now answered
    new["slices"]["all"]["recall@5"] = run_results["slices"]["all"]["recall@5"] - 0.2
    c = compare(run_results, new)
    assert [r["uid"] for r in c["regressed"]] == ["mini:m1", "mini:m4"]
    assert c["deltas"]["all"]["recall@5"][2] == pytest.approx(-0.2)
    print_table(c)
    assert "2 regressed" in capsys.readouterr().out
    assert "mini:m4" in render_html(c)


def test_cli_run_and_gate(small_settings, tmp_path, monkeypatch):
    """`htp eval run … --fail-under` through the real command line: outputs written, exit 1 on a violation."""
    from typer.testing import CliRunner

    import assistant.config
    from assistant.cli import app

    monkeypatch.setattr(assistant.config, "get_settings", lambda: small_settings)
    out = tmp_path / "cli"
    res = CliRunner().invoke(app, ["eval", "run", "evals/suites/smoke.jsonl", "--limit", "2", "--out", str(out),
                                   "--fail-under", "recall@5=1.5", "--fail-under", "citation_validity=1.0"])
    assert res.exit_code == 1, res.output
    assert "threshold violated" in res.output and "recall@5" in res.output and "citation_validity" not in \
        res.output.split("threshold violated", 1)[1]
    assert (out / "results.json").exists() and (out / "report.html").exists()
    res = CliRunner().invoke(app, ["eval", "compare", str(out), str(out)])
    assert res.exit_code == 0 and (out / "compare.html").exists()
