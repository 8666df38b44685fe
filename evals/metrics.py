"""Pure metric functions. Retrieval metrics follow llama-index's shape: ``compute(expected, retrieved)``.

Everything is article level: a key is ``(document number, article)``. Relevance is binary; a key repeated in a
ranking counts once, at its first position (a system that returns three clauses of one article has returned
that article once). Ties in score keep the system's own order (see :func:`rank_by_score`).

``None`` means *undefined* (no gold items, nothing cited, no refusals…) and is left out of averages, so a
metric is never inflated or deflated by questions it says nothing about.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import partial
from typing import Callable, Hashable, Iterable, Sequence

from indexing.terms import STOP
from indexing.text import fold

Key = Hashable  # (document, article) in practice


def dedupe(retrieved: Iterable[Key]) -> list[Key]:
    seen: set[Key] = set()
    out = []
    for k in retrieved:
        if k not in seen:
            seen.add(k)
            out.append(k)
    return out


def rank_by_score(scored: Iterable[tuple[Key, float]]) -> list[Key]:
    """Keys by descending score; equal scores keep input order (Python's sort is stable)."""
    return dedupe(k for k, _ in sorted(scored, key=lambda ks: -ks[1]))


def first_relevant_rank(expected: Iterable[Key], retrieved: Sequence[Key]) -> int | None:
    """1-based rank of the first relevant key, None if none is retrieved."""
    exp = set(expected)
    for i, k in enumerate(dedupe(retrieved), 1):
        if k in exp:
            return i
    return None


# ---------------------------------------------------------------------------------------------- retrieval
def acc_at_1(expected: Iterable[Key], retrieved: Sequence[Key]) -> float | None:
    exp = set(expected)
    if not exp:
        return None
    top = dedupe(retrieved)[:1]
    return 1.0 if top and top[0] in exp else 0.0


def recall_at_k(expected: Iterable[Key], retrieved: Sequence[Key], k: int) -> float | None:
    exp = set(expected)
    if not exp:
        return None
    return len(exp & set(dedupe(retrieved)[:k])) / len(exp)


def hit_at_k(expected: Iterable[Key], retrieved: Sequence[Key], k: int) -> float | None:
    exp = set(expected)
    if not exp:
        return None
    return 1.0 if exp & set(dedupe(retrieved)[:k]) else 0.0


def mrr_at_k(expected: Iterable[Key], retrieved: Sequence[Key], k: int = 10) -> float | None:
    exp = set(expected)
    if not exp:
        return None
    r = first_relevant_rank(exp, dedupe(retrieved)[:k])
    return 1.0 / r if r else 0.0


def ndcg_at_k(expected: Iterable[Key], retrieved: Sequence[Key], k: int = 10) -> float | None:
    exp = set(expected)
    if not exp:
        return None
    dcg = sum(1.0 / math.log2(i + 1) for i, key in enumerate(dedupe(retrieved)[:k], 1) if key in exp)
    idcg = sum(1.0 / math.log2(i + 1) for i in range(1, min(len(exp), k) + 1))
    return dcg / idcg


RetrievalMetric = Callable[[Iterable[Key], Sequence[Key]], "float | None"]
RETRIEVAL: dict[str, RetrievalMetric] = {
    "acc@1": acc_at_1,
    "recall@1": partial(recall_at_k, k=1),
    "recall@5": partial(recall_at_k, k=5),
    "recall@10": partial(recall_at_k, k=10),
    "hit@5": partial(hit_at_k, k=5),
    "mrr@10": partial(mrr_at_k, k=10),
    "ndcg@10": partial(ndcg_at_k, k=10),
}


# ---------------------------------------------------------------------------------------------- citations
def citation_precision(expected: Iterable[Key], cited: Sequence[Key]) -> float | None:
    c = set(cited)
    if not c or not set(expected):
        return None
    return len(c & set(expected)) / len(c)


def citation_recall(expected: Iterable[Key], cited: Sequence[Key]) -> float | None:
    exp = set(expected)
    if not exp:
        return None
    return len(exp & set(cited)) / len(exp)


@dataclass(frozen=True)
class CitedCheck:
    """What the runner knows about one citation of an answer."""

    document: str
    article: str
    exists: bool  # the provision (article, and clause if any) is in the corpus
    retrieved: bool  # its article was among the answer's retrieved articles
    presented_in_force: bool  # what the answer told the user
    actually_in_force: bool  # the catalog's validity on as_of


def citation_validity(cited: Sequence[CitedCheck]) -> float | None:
    """1 when every citation exists in the corpus and was retrieved; None for an answer without citations."""
    if not cited:
        return None
    return 1.0 if all(c.exists and c.retrieved for c in cited) else 0.0


def currency(cited: Sequence[CitedCheck], must_cite_current: str | None = None) -> float | None:
    """1 when no out-of-force provision is presented as in force and, if ``must_cite_current`` is set, the
    first citation in force is from that document. None when there is nothing to judge."""
    if not cited and not must_cite_current:
        return None
    if any(c.presented_in_force and not c.actually_in_force for c in cited):
        return 0.0
    if must_cite_current:
        first = next((c for c in cited if c.actually_in_force), None)
        return 1.0 if first is not None and first.document == must_cite_current else 0.0
    return 1.0


# ---------------------------------------------------------------------------------------------- refusals
def refusal_precision(unanswerable: Sequence[bool], refused: Sequence[bool]) -> float | None:
    """Of the refusals, the share on questions that were indeed unanswerable."""
    n = sum(refused)
    return None if n == 0 else sum(1 for u, r in zip(unanswerable, refused) if u and r) / n


def refusal_recall(unanswerable: Sequence[bool], refused: Sequence[bool]) -> float | None:
    """Of the unanswerable questions, the share refused."""
    n = sum(unanswerable)
    return None if n == 0 else sum(1 for u, r in zip(unanswerable, refused) if u and r) / n


def refusal_accuracy(unanswerable: Sequence[bool], refused: Sequence[bool]) -> float | None:
    """Share of questions where refusing or answering was the right call."""
    if not unanswerable:
        return None
    return sum(1 for u, r in zip(unanswerable, refused) if u == r) / len(unanswerable)


# ---------------------------------------------------------------------------------------------- support
_INDEX_MARK = re.compile(r"\[\d+\]")


def content_words(text: str) -> list[str]:
    """Accent-folded, lower-cased words of 2+ characters that are not function words."""
    return [w for w in re.findall(r"\w+", fold(text).lower()) if len(w) > 1 and w not in STOP]


def support(answer: str, quotes: Sequence[str], frame: Sequence[str] = ()) -> float | None:
    """Share of the answer's content words (after removing the fixed frame text) found in the cited quotes."""
    text = answer
    for f in sorted({f for f in frame if f}, key=len, reverse=True):
        text = text.replace(f, " ")
    words = content_words(_INDEX_MARK.sub(" ", text))
    if not words:
        return None
    have = set(content_words(" ".join(quotes)))
    return sum(1 for w in words if w in have) / len(words)


# ---------------------------------------------------------------------------------------------- latency
def percentile(values: Sequence[float], p: float) -> float | None:
    """Linear-interpolated percentile (numpy's default), p in [0, 100]."""
    if not values:
        return None
    xs = sorted(values)
    pos = (len(xs) - 1) * p / 100
    lo = math.floor(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def mean(values: Iterable[float | None]) -> float | None:
    xs = [v for v in values if v is not None]
    return sum(xs) / len(xs) if xs else None
