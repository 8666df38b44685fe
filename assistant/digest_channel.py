"""The English-digest channel: an English question compared with each article's English digest
(``corpus/digests.py``), by embedding (e5 reads English against English far better than against Vietnamese) and by
BM25 over the digests' words. Built once per generation; the digests' vectors are cached like the question bank's.
Vietnamese questions do not use it."""
from __future__ import annotations

import re
from dataclasses import dataclass

import bm25s
import numpy as np

# Words every question has and no digest decides on.
_STOP = frozenset("""a an and are as at be but by for if in into is it no not of on or such that the their then there
these they this to was will with what which who whom whose when where why how do does did can could may might must
shall should would we our us you your i my me he she his her its have has had am been being from about any some all
also than so very please tell know want need there here get got one""".split())


def english_words(text: str) -> list[str]:
    """Lower-case word stems for BM25: stop words out, plurals folded ("permits" → "permit")."""
    out = []
    for w in re.findall(r"[a-z0-9]+", text.lower()):
        if len(w) < 2 or w in _STOP:
            continue
        if len(w) > 4 and w.endswith("ies"):
            w = w[:-3] + "y"
        elif len(w) > 3 and w.endswith("s") and not w.endswith("ss"):
            w = w[:-1]
        out.append(w)
    return out


@dataclass
class DigestScores:
    """One English question against every digested article."""

    sim: dict[tuple[str, str], float]  # cosine of the question with the digest
    lex: dict[tuple[str, str], float]  # BM25 over the digests, divided by the best score (0 … 1)

    def top(self, n: int) -> list[tuple[str, str]]:
        """The `n` nearest articles by either measure (candidates the other channels may have missed)."""
        by_sim = sorted(self.sim, key=lambda k: -self.sim[k])[:n]
        by_lex = [k for k in sorted(self.lex, key=lambda k: -self.lex[k])[: n // 2] if self.lex[k] > 0]
        return list(dict.fromkeys(by_sim + by_lex))


class DigestChannel:
    def __init__(self, keys: list[tuple[str, str]], texts: list[str], vectors: np.ndarray):
        self.keys = keys
        m = np.asarray(vectors, dtype=np.float32).reshape(len(keys), -1)
        self.unit = m / np.maximum(np.linalg.norm(m, axis=1, keepdims=True), 1e-12)
        self.bm25 = bm25s.BM25(k1=1.2, b=0.75)
        self.bm25.index([english_words(t) or ["∅"] for t in texts], show_progress=False)

    def scores(self, query_vector, question: str) -> DigestScores:
        q = np.asarray(query_vector, dtype=np.float32)
        sim = self.unit @ (q / max(float(np.linalg.norm(q)), 1e-12))
        words = english_words(question)
        lex = np.asarray(self.bm25.get_scores(words), dtype=np.float32) if words else np.zeros(len(self.keys))
        top = float(lex.max()) if len(lex) else 0.0
        lex = lex / top if top > 0 else np.zeros(len(self.keys))
        return DigestScores(dict(zip(self.keys, sim.tolist())), dict(zip(self.keys, lex.tolist())))
