"""Features of a candidate article for one question: every signal the search has, as numbers.

The signals that used to be hand-set bonuses and factors (named document, repealed text, OCR copy, transition
article, legal hierarchy, follow-up context …) are features here; the fitted model decides how much each weighs.
Facet features compare what the question asks (``ParsedQuery.facets``) with what the article's clauses state
(``assistant/facets.py``).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .bank import COLUMNS as BANK_COLUMNS

FEATURES: list[str] = [
    # channels: the fused clause score, each channel's best clause score, and their ranks among the candidates;
    # the question's cosine with the whole article (one vector per article, `indexing.store.ArticleVectors`)
    "fused", "lex", "dense", "dense_raw", "fused_rr", "lex_rr", "dense_rr", "second", "n_clauses",
    "art_dense", "art_rr",
    # word evidence: IDF-weighted share of the question's words in the article title / best clauses; the other
    # way round, the share of the title's words the question uses, and the rarest title word it does not (a
    # title naming more than was asked — "… được gia hạn", "… cấp lại" — is about a neighbouring matter)
    "title_cover", "cover", "title_prec", "title_miss",
    # facets: asked ∩ stated, in the best clause, any of the best three, the title; none asked
    "facet_best", "facet_any", "facet_title", "facet_other", "no_facet",
    # transition and effect articles, for questions that do / do not concern earlier rules or dates
    "closing_general", "closing_earlier",
    # validity on as_of
    "in_force", "repealed_earlier", "ocr", "doubt", "successor_of_found",
    # the question's own references and the conversation
    "named_doc", "named_article", "named_clause", "context_doc",
    # status questions and amendment links
    "status_target", "amend_link",
    # legal hierarchy
    "type_law", "type_decree", "type_circular", "type_decision", "type_resolution",
    # language interactions
    "en_lex", "en_dense", "noacc_lex", "noacc_dense",
    # an English question against the article's English digest (corpus/digests.py): cosine, BM25 share of the
    # best, and the cosine's rank among the candidates; 0 for other questions
    "en_digest", "en_digest_lex", "en_digest_rr",
    # derived from the other columns (see `derive`): the document's strength among the candidates, and the
    # old multiplicative policies as interactions (a repealed or unverified text of similar relevance ranks lower)
    "doc_max", "doc_count", "fused_in_force", "fused_ocr", "fused_closing",
    # each channel's distance to the best candidate of the same question (a pointwise model sees the field)
    "fused_gap", "lex_gap", "dense_gap", "art_gap", "cover_gap", "title_cover_gap", "en_digest_gap",
    # the question bank: how the nearest questions asked before vote (assistant/ranking/bank.py; set by the
    # retriever after `matrix`, zero without embeddings or bank)
    *BANK_COLUMNS,
]
INDEX = {name: i for i, name in enumerate(FEATURES)}
BANK_INDEX = [INDEX[c] for c in BANK_COLUMNS]  # the columns the retriever and the fit fill from the question bank

_TYPES = {"Luật": "type_law", "Bộ luật": "type_law", "Nghị định": "type_decree", "Thông tư": "type_circular",
          "Quyết định": "type_decision", "Nghị quyết": "type_resolution"}


@dataclass
class Candidate:
    """The raw facts of one candidate article (filled by the retriever)."""

    document: str
    article: str
    doc_type: str
    fused: float  # best clause's fused score
    lex: float
    dense: float
    dense_raw: float
    art_dense: float  # cosine with the whole article (its best clause's when the index holds no article vector)
    second: float  # second clause's fused score
    n_clauses: int
    title_cover: float
    cover: float
    title_prec: float
    title_miss: float
    facets_best: frozenset[str]
    facets_any: frozenset[str]
    facets_title: frozenset[str]
    closing: bool
    in_force: bool
    ocr: bool
    doubt: bool
    successor_of_found: bool
    named_doc: bool
    named_article: bool
    named_clause: bool
    context_doc: bool
    status_target: bool
    amend_link: bool
    en_digest: float = 0.0
    en_digest_lex: float = 0.0


def _inverse_ranks(values: np.ndarray) -> np.ndarray:
    order = np.argsort(-values, kind="stable")
    rr = np.empty(len(values))
    rr[order] = 1.0 / (1.0 + np.arange(len(values)))
    return rr


def matrix(cands: list[Candidate], asked: frozenset[str], earlier: bool, language: str,
           accentless: bool) -> np.ndarray:
    """One row per candidate, columns in FEATURES order."""
    n = len(cands)
    x = np.zeros((n, len(FEATURES)))
    if not n:
        return x
    en = language == "en"
    noacc = accentless and not en
    for r, c in enumerate(cands):
        row = x[r]
        row[INDEX["fused"]] = c.fused
        row[INDEX["lex"]] = c.lex
        row[INDEX["dense"]] = c.dense
        row[INDEX["dense_raw"]] = c.dense_raw
        row[INDEX["art_dense"]] = c.art_dense
        row[INDEX["second"]] = c.second
        row[INDEX["n_clauses"]] = np.log1p(c.n_clauses)
        row[INDEX["title_cover"]] = c.title_cover
        row[INDEX["cover"]] = c.cover
        row[INDEX["title_prec"]] = c.title_prec
        row[INDEX["title_miss"]] = c.title_miss
        if asked:
            row[INDEX["facet_best"]] = bool(asked & c.facets_best)
            row[INDEX["facet_any"]] = bool(asked & c.facets_any)
            row[INDEX["facet_title"]] = bool(asked & c.facets_title)
            # the article states facets, none of them the one asked (transition, effect, definition …)
            row[INDEX["facet_other"]] = bool(c.facets_best) and not (asked & c.facets_best)
        else:
            row[INDEX["no_facet"]] = 1.0
        row[INDEX["closing_general"]] = c.closing and not earlier
        row[INDEX["closing_earlier"]] = c.closing and earlier
        row[INDEX["in_force"]] = c.in_force
        row[INDEX["repealed_earlier"]] = (not c.in_force) and earlier
        row[INDEX["ocr"]] = c.ocr
        row[INDEX["doubt"]] = c.doubt
        row[INDEX["successor_of_found"]] = c.successor_of_found
        row[INDEX["named_doc"]] = c.named_doc
        row[INDEX["named_article"]] = c.named_article
        row[INDEX["named_clause"]] = c.named_clause
        row[INDEX["context_doc"]] = c.context_doc
        row[INDEX["status_target"]] = c.status_target
        row[INDEX["amend_link"]] = c.amend_link
        t = _TYPES.get(c.doc_type)
        if t:
            row[INDEX[t]] = 1.0
        row[INDEX["en_lex"]] = c.lex if en else 0.0
        row[INDEX["en_dense"]] = c.dense if en else 0.0
        row[INDEX["noacc_lex"]] = c.lex if noacc else 0.0
        row[INDEX["noacc_dense"]] = c.dense if noacc else 0.0
        row[INDEX["en_digest"]] = c.en_digest if en else 0.0
        row[INDEX["en_digest_lex"]] = c.en_digest_lex if en else 0.0
    return derive(x, [c.document for c in cands])


# The columns `derive` computes from the others (rows stored before such a column existed are completed with it).
_GAPS = {"fused_gap": "fused", "lex_gap": "lex", "dense_gap": "dense", "art_gap": "art_dense", "cover_gap": "cover",
         "title_cover_gap": "title_cover", "en_digest_gap": "en_digest"}
DERIVED = frozenset({"fused_rr", "lex_rr", "dense_rr", "art_rr", "doc_max", "doc_count", "fused_in_force",
                     "fused_ocr", "fused_closing", "en_digest_rr", *_GAPS})


def derive(x: np.ndarray, documents: list[str]) -> np.ndarray:
    """The columns computed from other columns of the same question (ranks, document strength, interactions);
    also applied to stored rows when the ranker is refitted."""
    x[:, INDEX["fused_rr"]] = _inverse_ranks(x[:, INDEX["fused"]])
    x[:, INDEX["lex_rr"]] = _inverse_ranks(x[:, INDEX["lex"]])
    x[:, INDEX["dense_rr"]] = _inverse_ranks(x[:, INDEX["dense"]])
    x[:, INDEX["art_rr"]] = _inverse_ranks(x[:, INDEX["art_dense"]])
    digest = x[:, INDEX["en_digest"]]
    x[:, INDEX["en_digest_rr"]] = _inverse_ranks(digest) if digest.any() else 0.0
    fused = x[:, INDEX["fused"]]
    top = set(np.argsort(-fused, kind="stable")[:20].tolist())
    best: dict[str, float] = {}
    count: dict[str, int] = {}
    for i, d in enumerate(documents):
        best[d] = max(best.get(d, 0.0), fused[i])
        if i in top:
            count[d] = count.get(d, 0) + 1
    x[:, INDEX["doc_max"]] = [best[d] for d in documents]
    x[:, INDEX["doc_count"]] = [np.log1p(count.get(d, 0)) for d in documents]
    x[:, INDEX["fused_in_force"]] = fused * x[:, INDEX["in_force"]]
    x[:, INDEX["fused_ocr"]] = fused * np.maximum(x[:, INDEX["ocr"]], x[:, INDEX["doubt"]])
    x[:, INDEX["fused_closing"]] = fused * x[:, INDEX["closing_general"]]
    for gap, col in _GAPS.items():
        v = x[:, INDEX[col]]
        x[:, INDEX[gap]] = v - v.max()
    return x
