"""English digests of the articles: the file's checks, the channel's scores, and their use by the retriever."""
from __future__ import annotations

import json

import numpy as np
import pytest

from assistant.digest_channel import DigestChannel, english_words
from assistant.query import parse_query
from assistant.ranking import FEATURES
from corpus.digests import DIGESTS_PATH, LOCAL_DIGESTS_NAME, DigestError, load_all_digests, load_digests, without_digest
from conftest import AS_OF, CORPUS_DIR


def _write(tmp_path, lines: list[str]):
    p = tmp_path / "digests.jsonl"
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return p


def test_every_problem_of_a_digest_file_is_reported_with_its_line(tmp_path):
    ok = json.dumps({"document": "67/2025/QH15", "article": "13", "en": "Preferential CIT rates"})
    p = _write(tmp_path, [ok, "{not json", json.dumps({"document": "67/2025/QH15", "article": "14"}),
                          ok, json.dumps({"document": "67/2025/QH15", "article": "15", "en": "x" * 700})])
    with pytest.raises(DigestError) as e:
        load_digests(p)
    msg = str(e.value)
    assert f"{p}:2: not JSON" in msg and f"{p}:3: expected the keys" in msg
    assert f"{p}:4: a second digest of 67/2025/QH15 Điều 13" in msg and f"{p}:5: digest of 700" in msg
    with pytest.raises(DigestError, match="no such file"):
        load_digests(tmp_path / "absent.jsonl")


def test_a_deployments_own_digests_are_read_over_the_projects(tmp_path):
    project = _write(tmp_path, [json.dumps({"document": "A", "article": "1", "en": "old"}),
                                json.dumps({"document": "A", "article": "2", "en": "kept"})])
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    assert load_all_digests(project, corpus) == {("A", "1"): "old", ("A", "2"): "kept"}
    (corpus / LOCAL_DIGESTS_NAME).write_text(json.dumps({"document": "A", "article": "1", "en": "new"}) + "\n"
                                             + json.dumps({"document": "B", "article": "9", "en": "added"}) + "\n")
    got = load_all_digests(project, corpus)
    assert got == {("A", "1"): "new", ("A", "2"): "kept", ("B", "9"): "added"}
    assert without_digest([("A", "2"), ("B", "9"), ("C", "1")], got) == [("C", "1")]
    (corpus / LOCAL_DIGESTS_NAME).write_text("{broken\n")
    with pytest.raises(DigestError, match=f"{LOCAL_DIGESTS_NAME}:1: not JSON"):
        load_all_digests(project, corpus)


def test_the_packaged_digests_name_articles_of_catalogued_texts():
    from corpus.catalog import load_catalog

    digests = load_digests(DIGESTS_PATH)
    catalog = load_catalog()
    assert len(digests) > 1500
    unknown = sorted({d for d, _ in digests if catalog.by_number(d) is None})
    assert not unknown, unknown


@pytest.mark.skipif(not CORPUS_DIR.is_dir(), reason="needs the shared corpus")
def test_the_packaged_digests_cover_the_held_articles():
    """A text added without digests still works (its articles are simply not compared in English), but the texts
    the project ships should all have them."""
    from corpus.loader import load_corpus

    digests = load_digests(DIGESTS_PATH)
    corpus = load_corpus(CORPUS_DIR)
    held = {(n, a.number) for n, d in corpus.documents.items() for a in d.parsed.articles}
    missing = sorted(held - set(digests))
    assert len(missing) <= 0.01 * len(held), missing[:20]
    assert not set(digests) - held  # no digest of an article the texts do not have


def test_english_words_drop_question_words_and_fold_plurals():
    assert english_words("What documents do we need for work permits?") == ["document", "work", "permit"]
    assert english_words("Which authorities issue it?") == ["authority", "issue"]


def test_the_channel_ranks_by_cosine_and_by_words():
    keys = [("A", "1"), ("A", "2"), ("B", "7")]
    texts = ["Work permit duration — valid for up to 2 years", "Land rent exemption in high-tech parks",
             "Corporate income tax rates"]
    vecs = np.eye(3, dtype=np.float32)
    ch = DigestChannel(keys, texts, vecs)
    s = ch.scores(np.array([0.2, 1.0, 0.1]), "Is land rent exempted in the park?")
    assert max(s.sim, key=s.sim.get) == ("A", "2")
    assert s.lex[("A", "2")] == pytest.approx(1.0) and s.lex[("B", "7")] == 0.0
    assert s.top(2)[0] == ("A", "2")


def test_an_english_question_reaches_the_article_its_digest_describes(assistant):
    """The digest's nearest article joins the candidates and carries the digest's features; a Vietnamese question
    does not use the channel."""
    r = assistant.retriever
    gen = r.handle.generation()
    target = ("133/2025/QH15", "1")
    saved, key = r.digests, ("digests", gen.manifest.generation)
    cached = r._meta_cache.pop(key, None)
    try:
        r.digests = {target: "Scope of regulation of the high-tech law", ("67/2025/QH15", "13"): "CIT rates"}
        res = r.search(parse_query("What is the scope of regulation of the high-tech law?", r.catalog), AS_OF)
        got = {(a.document, a.article): a for a in res.ranked}
        assert target in got
        col = FEATURES.index("en_digest")
        assert got[target].features[col] == max(a.features[col] for a in res.ranked) > 0
        vi = r.search(parse_query("Phạm vi điều chỉnh của Luật Công nghệ cao", r.catalog), AS_OF)
        assert all(a.features[col] == 0 for a in vi.ranked)
        assert "digest" in res.timings_ms and "digest" not in vi.timings_ms
    finally:
        r.digests = saved
        r._meta_cache.pop(key, None)
        if cached is not None:
            r._meta_cache[key] = cached


def test_heading_is_the_part_before_the_gist():
    from corpus.digests import heading

    assert heading("Tax exemption and reduction — Up to 4 years of exemption") == "Tax exemption and reduction"
    assert heading("Scope of regulation") == "Scope of regulation"


def test_an_english_answer_gives_each_cited_articles_heading_in_english(assistant):
    """The quote stays Vietnamese; an English reader gets the article's heading in English beside it."""
    from corpus.digests import heading

    digests = load_digests(DIGESTS_PATH)
    ans = assistant.answer("Which documents are required to apply for a work permit?", as_of=AS_OF, record=False)
    assert not ans.refused and ans.citations
    for c in ans.citations:
        assert c.heading_en == heading(digests[(c.document, c.article)])
        assert f"Article heading (unofficial translation): {c.heading_en}" in ans.answer
    vi = assistant.answer("Hồ sơ đề nghị cấp giấy phép lao động gồm những gì?", as_of=AS_OF, record=False)
    assert vi.citations and vi.citations[0].heading_en and "unofficial translation" not in vi.answer
