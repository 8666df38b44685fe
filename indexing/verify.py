"""`htp index --verify`: node counts agree across the corpus, BM25 and Chroma, and article vectors with articles."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from corpus.catalog import Catalog, load_catalog
from corpus.loader import load_corpus

from .nodes import article_texts, nodes_for
from .store import IndexError_, IndexLayout, load_generation
from .vectors import chroma_client, get_collection


@dataclass
class VerifyReport:
    ok: bool = True
    lines: list[str] = field(default_factory=list)

    def bad(self, msg: str) -> None:
        self.ok = False
        self.lines.append(f"DRIFT: {msg}")


def verify_index(index_dir: Path, corpus_dir: Path, chroma_url: str | None = None,
                 only: set[str] | None = None, catalog: Catalog | None = None) -> VerifyReport:
    """`catalog` as in BuildOptions.catalog (default corpus/catalog.yaml): an index built with another
    catalog can only be verified against that catalog."""
    rep = VerifyReport()
    layout = IndexLayout(index_dir)
    try:
        gen = load_generation(layout)
    except IndexError_ as e:
        rep.bad(str(e))
        return rep
    m = gen.manifest
    corpus = load_corpus(corpus_dir, catalog or load_catalog(corpus_dir=corpus_dir), only=only)
    ids = {n.id_ for d in corpus.documents.values() for n in nodes_for(d)}
    rep.lines.append(f"generation {m.generation}: {m.documents} documents, {m.node_count} nodes, "
                     f"mode {'hybrid' if m.dense_ready else 'lexical'}")
    rep.lines.append(f"corpus now: {len(corpus.documents)} documents, {len(ids)} nodes")
    bm25_ids = set(gen.lexical.ids)
    if bm25_ids != ids:
        rep.bad(f"BM25 differs from the corpus: {len(ids - bm25_ids)} missing, {len(bm25_ids - ids)} stale "
                f"— run `htp index`")
    changed = [n for n, d in corpus.documents.items() if m.doc_hashes.get(n) != d.parsed.content_hash]
    if changed:
        rep.bad(f"documents changed since the build: {', '.join(changed)} — run `htp index`")
    if m.dense_ready and m.collection:
        try:
            col = get_collection(chroma_client(layout.chroma, chroma_url), m.collection)
            n = col.count()
            rep.lines.append(f"Chroma collection {m.collection}: {n} vectors")
            if n != len(bm25_ids):
                rep.bad(f"Chroma has {n} vectors, BM25 {len(bm25_ids)} nodes — run `htp index --rebuild`")
        except Exception as e:
            rep.bad(f"Chroma collection {m.collection} unreadable ({e}) — run `htp index --rebuild`")
    if m.dense_ready:
        # Whole-article vectors (the ranker's art_dense): a generation built before them still serves, with the
        # best clause's cosine in their place, so it is stale rather than broken.
        arts = {k for d in corpus.documents.values() for k, _ in article_texts(d, 1 << 30)}
        if gen.articles is None:
            rep.bad("no whole-article vectors (built before they existed, or articles.npz removed) — run "
                    "`htp index --rebuild`")
        else:
            rep.lines.append(f"article vectors: {len(gen.articles.keys)}")
            held = set(gen.articles.keys)
            if held != arts and not changed:
                rep.bad(f"article vectors differ from the corpus: {len(arts - held)} missing, "
                        f"{len(held - arts)} stale — run `htp index --rebuild`")
    if rep.ok:
        rep.lines.append("OK: corpus, BM25, Chroma and article vectors agree")
    return rep
