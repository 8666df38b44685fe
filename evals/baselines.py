"""Retrieval-only peers over the same loaded index nodes, ranked to article level the same way as the metrics
read every ranking (first occurrence of an article wins).

- ``bm25s-default``: bm25s with its default tokenizer (``bm25s.tokenize``: lower-case ``\\w\\w+``, English
  stop words) over node texts; what a generic BM25 gives on Vietnamese.
- ``bm25-underthesea``: BM25 over underthesea words only (``indexing.terms.compounds``), no accent-folded
  features: what the folded syllables/bigrams add.
- ``dense-only`` / ``lexical-only``: the product's retriever with one channel switched off.
The product itself (hybrid) is scored from its answers.
"""
from __future__ import annotations

import datetime as dt
from typing import Protocol

import numpy as np

from assistant.query import ParsedQuery
from assistant.retrieval import HybridRetriever
from indexing.store import LoadedGeneration

Key = tuple[str, str]
CANDIDATES = 200  # nodes considered before aggregation to articles (articles have several clauses)


class Peer(Protocol):
    name: str

    def search(self, query: str, pq: ParsedQuery, as_of: dt.date, k: int) -> list[Key]: ...


def _articles(gen: LoadedGeneration, scores: np.ndarray, k: int) -> list[Key]:
    if scores.size == 0 or float(scores.max()) <= 0:
        return []
    order = np.argsort(-scores, kind="stable")[:CANDIDATES]
    out: list[Key] = []
    for i in order:
        if scores[i] <= 0:
            break
        md = gen.nodes[gen.lexical.ids[i]].metadata
        key = (md["document"], md["article"])
        if key not in out:
            out.append(key)
            if len(out) >= k:
                break
    return out


class Bm25sDefault:
    name = "bm25s-default"

    def __init__(self, gen: LoadedGeneration):
        import bm25s

        self.gen = gen
        texts = [gen.nodes[i].text for i in gen.lexical.ids]
        self.bm25 = bm25s.BM25()
        self.bm25.index(bm25s.tokenize(texts, return_ids=False, show_progress=False), show_progress=False)

    def search(self, query: str, pq: ParsedQuery, as_of: dt.date, k: int) -> list[Key]:
        import bm25s

        toks = bm25s.tokenize([query], return_ids=False, show_progress=False)[0]
        ids = self.bm25.get_tokens_ids(toks)
        if not ids:
            return []
        return _articles(self.gen, np.asarray(self.bm25.get_scores(ids)), k)


class Bm25Underthesea:
    name = "bm25-underthesea"

    def __init__(self, gen: LoadedGeneration, cache_path=None):
        import bm25s

        from indexing.terms import SegmentCache

        self.gen = gen
        # The build's segmentation cache holds every node text already: reading it avoids minutes of underthesea.
        seg = SegmentCache(cache_path) if cache_path else None
        terms = []
        for nid in gen.lexical.ids:
            text = gen.nodes[nid].text
            words = seg.words(text) if seg else _compounds(text)
            terms.append(_keep(words) or ["∅"])
        self.bm25 = bm25s.BM25(k1=1.2, b=0.75)  # the product's parameters
        self.bm25.index(terms, show_progress=False)

    def search(self, query: str, pq: ParsedQuery, as_of: dt.date, k: int) -> list[Key]:
        from indexing.text import normalize

        ids = self.bm25.get_tokens_ids(_keep(_compounds(normalize(query))))
        if not ids:
            return []
        return _articles(self.gen, np.asarray(self.bm25.get_scores(ids)), k)


def _compounds(text: str) -> list[str]:
    from indexing.terms import compounds

    return compounds(text)


def _keep(words: list[str]) -> list[str]:
    from indexing.terms import STOP
    from indexing.text import fold

    return [w for w in words if fold(w) not in STOP]


class ProductChannel:
    def __init__(self, retriever: HybridRetriever, dense: bool, lexical: bool, name: str):
        self.retriever, self.dense, self.lexical, self.name = retriever, dense, lexical, name

    def search(self, query: str, pq: ParsedQuery, as_of: dt.date, k: int) -> list[Key]:
        res = self.retriever.search(pq, as_of, k, dense=self.dense, lexical=self.lexical)
        return [(a.document, a.article) for a in res.articles[:k]]


def make_peers(assistant) -> tuple[list[Peer], list[str]]:
    """The peers for this index, and notes on those left out (dense-only without vectors)."""
    gen = assistant.handle.generation()
    cache = assistant.handle.layout.cache / "segments.json"
    peers: list[Peer] = [Bm25sDefault(gen), Bm25Underthesea(gen, cache if cache.exists() else None)]
    notes = []
    if assistant.handle.mode == "hybrid":
        peers.append(ProductChannel(assistant.retriever, True, False, "dense-only"))
    else:
        notes.append("dense-only: n/a (this index has no vectors)")
    peers.append(ProductChannel(assistant.retriever, False, True, "lexical-only"))
    return peers, notes
