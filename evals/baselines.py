"""Retrieval-only peers over the same loaded index nodes, ranked to article level the same way as the metrics
read every ranking (first occurrence of an article wins).

- ``bm25s-default``: bm25s with its default tokenizer (``bm25s.tokenize``: lower-case ``\\w\\w+``, English
  stop words) over node texts; what a generic BM25 gives on Vietnamese.
- ``bm25-underthesea``: BM25 over underthesea words only (``indexing.terms.compounds``), no accent-folded
  features: what the folded syllables/bigrams add.
- ``naive-hybrid``: BM25 on folded syllable uni+bigrams of whole articles and e5 max-pooled over an article's
  clauses, min-max fused 0.6/0.4 (the plain hybrid other people's questions were first measured with).
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


class NaiveHybrid:
    """The plain hybrid an outsider would build: BM25 over accent-folded syllable unigrams and bigrams of whole
    articles, and e5 (the index's own vectors, one per clause, max-pooled to the article), each min-max
    normalised and fused 0.6 / 0.4. No glossary, no validity, no rules."""

    name = "naive-hybrid"

    def __init__(self, assistant, weight: float = 0.6):
        import bm25s

        from indexing.text import fold

        self.a, self.weight = assistant, weight
        gen = assistant.handle.generation()
        texts: dict[Key, list[str]] = {}
        for nid in gen.lexical.ids:
            md = gen.nodes[nid].metadata
            texts.setdefault((md["document"], md["article"]), []).append(gen.nodes[nid].text)
        self.keys = list(texts)
        self.pos = {k: i for i, k in enumerate(self.keys)}
        self._fold = fold
        self.bm25 = bm25s.BM25()
        self.bm25.index([self._terms(" ".join(t)) or ["∅"] for t in texts.values()], show_progress=False)
        self.node_key = {nid: (gen.nodes[nid].metadata["document"], gen.nodes[nid].metadata["article"])
                         for nid in gen.lexical.ids}

    def _terms(self, text: str) -> list[str]:
        import re

        syl = re.findall(r"\w+", self._fold(text).lower())
        return syl + [f"{a}_{b}" for a, b in zip(syl, syl[1:])]

    def search(self, query: str, pq: ParsedQuery, as_of: dt.date, k: int) -> list[Key]:
        n = len(self.keys)
        lex = np.zeros(n)
        ids = self.bm25.get_tokens_ids(self._terms(query))
        if ids:
            lex = np.asarray(self.bm25.get_scores(ids), dtype=float)
        dense = np.zeros(n)
        col = self.a.handle.collection()
        if col is not None:
            vec = self.a.handle.embedder().get_query_embedding(query)
            res = col.query(query_embeddings=[vec], n_results=min(200, len(self.node_key)), include=["distances"])
            for cid, dist in zip(res["ids"][0], res["distances"][0]):
                i = self.pos.get(self.node_key.get(cid))
                if i is not None:
                    dense[i] = max(dense[i], 1.0 - float(dist))

        def mm(v: np.ndarray) -> np.ndarray:
            pos = v[v > 0]
            if not pos.size:
                return np.zeros_like(v)
            lo, hi = float(pos.min()), float(pos.max())
            return np.where(v > 0, (v - lo) / ((hi - lo) or 1.0), 0.0)

        fused = self.weight * mm(lex) + (1 - self.weight) * mm(dense)
        order = np.argsort(-fused, kind="stable")[:k]
        return [self.keys[i] for i in order if fused[i] > 0]


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
        peers.append(NaiveHybrid(assistant))
        peers.append(ProductChannel(assistant.retriever, True, False, "dense-only"))
    else:
        notes.append("dense-only: n/a (this index has no vectors)")
    peers.append(ProductChannel(assistant.retriever, False, True, "lexical-only"))
    return peers, notes
