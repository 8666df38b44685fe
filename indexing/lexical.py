"""BM25 (bm25s) over accented compounds and accent-folded syllables/bigrams, wrapped as a llama-index retriever.

llama-index's own BM25Retriever ignores a custom tokenizer, so the bm25s index is built here directly.
"""
from __future__ import annotations

import json
from pathlib import Path

import bm25s
import numpy as np
from llama_index.core.retrievers import BaseRetriever
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode

from .terms import query_terms


class LexicalIndex:
    def __init__(self, bm25: bm25s.BM25, ids: list[str]):
        self.bm25 = bm25
        self.ids = ids

    @classmethod
    def build(cls, ids: list[str], terms: list[list[str]]) -> "LexicalIndex":
        bm25 = bm25s.BM25(k1=1.2, b=0.75)
        bm25.index([t or ["∅"] for t in terms], show_progress=False)
        return cls(bm25, ids)

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.bm25.save(str(directory))
        (directory / "ids.json").write_text(json.dumps(self.ids, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, directory: Path) -> "LexicalIndex":
        ids = json.loads((directory / "ids.json").read_text(encoding="utf-8"))
        return cls(bm25s.BM25.load(str(directory)), ids)

    def scores(self, terms: list[str]) -> np.ndarray:
        """BM25 score of every node (aligned with ``ids``)."""
        if not terms:
            return np.zeros(len(self.ids), dtype=np.float32)
        return np.asarray(self.bm25.get_scores(terms), dtype=np.float32)


class LexicalRetriever(BaseRetriever):
    """llama-index view of the BM25 index (used by the peers and by anyone composing retrievers)."""

    def __init__(self, index: LexicalIndex, nodes: dict[str, TextNode], top_k: int = 10):
        super().__init__()
        self.index, self.nodes, self.top_k = index, nodes, top_k

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        s = self.index.scores(query_terms(query_bundle.query_str))
        top = np.argsort(-s)[: self.top_k]
        return [NodeWithScore(node=self.nodes[self.index.ids[i]], score=float(s[i])) for i in top if s[i] > 0]
