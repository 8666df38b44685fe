"""Hybrid retrieval: BM25 (accented + folded terms) and dense (Chroma) fused by weighted scores,
re-ranked for validity on ``as_of`` and aggregated from clauses into articles.
"""
from __future__ import annotations

import datetime as dt
import gc
import math
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from corpus.catalog import Catalog
from corpus.validity import doubtful, in_force
from indexing.diacritics import DiacriticRestorer
from indexing.store import IndexLayout, LoadedGeneration, load_generation
from indexing.terms import STOP, query_terms
from indexing.text import fold, has_diacritics

from .amendments import AmendmentLinks, read_links
from .config import RankingPolicy
from .digest_channel import DigestChannel, DigestScores
from .facets import stated_facets, title_facets
from .qvectors import cached_query_vectors
from .query import GLOSSARY_DIGEST, ParsedQuery, parse_query, spell_out
from .ranking import LinearRanker, features, load_ranker
from .ranking.bank import Example, QuestionBank
from .status import Landmarks, Target, targets as status_targets


@dataclass
class Hit:
    node_id: str
    document: str
    article: str
    clause: str | None
    score: float  # the clause's own score: fused, plus the question's own clause and the facet asked
    lexical: float = 0.0
    dense: float = 0.0
    in_force: bool = True
    fused: float = 0.0  # weighted fusion of the two channels, before anything else
    dense_raw: float = 0.0  # the dense cosine itself


@dataclass
class ArticleHit:
    document: str
    article: str
    score: float  # the ranker's probability that this article answers the question
    best: Hit
    clauses: list[Hit] = field(default_factory=list)
    in_force: bool = True
    fused: float = 0.0  # the best clause's fused score
    features: np.ndarray | None = None  # the ranker's input row (see assistant/ranking/features.py)


@dataclass
class Pool:
    """Candidate clauses of one question, with their channel scores (positions into the generation's nodes)."""

    gen: LoadedGeneration
    nodes: list[int]
    lnorm: np.ndarray
    dnorm: np.ndarray
    draw: np.ndarray
    fused: np.ndarray
    mode: str
    timings: dict[str, float]
    top_dense: float
    vec: list[float] | None
    restored: str | None
    status: list
    digest: DigestScores | None = None  # an English question against the articles' English digests
    digest_near: frozenset[tuple[str, str]] = frozenset()  # its nearest digested articles: always candidates


@dataclass
class Tokens:
    """Folded words of every node and article title of a generation (for the word-evidence features)."""

    nodes: dict[str, frozenset[str]]
    titles: dict[tuple[str, str], tuple[frozenset[str], str]]


@dataclass
class SearchResult:
    articles: list[ArticleHit]
    hits: list[Hit]
    mode: str  # lexical | hybrid
    timings_ms: dict[str, float]
    top_dense: float = 0.0
    coverage: float = 0.0  # share of the question's content words found in the best article
    query_vector: list[float] | None = None  # the dense query embedding (reused by the scope check)
    restored: str = ""  # an accentless question with its accents restored (embedded and searched)
    status: list[Target] = field(default_factory=list)  # provisions answering a question on a text's status
    ranked: list[ArticleHit] = field(default_factory=list)  # every candidate article scored, best first


# Names the way `dense_query_text` reads a question: the question bank's cached vectors are keyed by it.
DENSE_TEXT_VERSION = "spelled-out-1"


def dense_query_text(q: ParsedQuery, restored: str | None = None) -> str:
    """English questions are embedded with their Vietnamese glossary terms: e5 is multilingual, but the
    Vietnamese legal wording pulls the vector to the right neighbourhood. Accentless questions are embedded with
    their accents restored (e5 reads folded Vietnamese poorly). Vietnamese abbreviations are written out ("DN CNC
    … TNDN" → "doanh nghiệp công nghệ cao … thu nhập doanh nghiệp"): the embedder reads words, not chat shorthand."""
    if q.language == "en":
        return f"{q.text} ({q.expanded[len(q.text):].strip()})" if q.expanded != q.text else q.text
    return spell_out(restored or q.text)


class IndexHandle:
    """The generation being served, reloaded when the build flips CURRENT or finishes embeddings."""

    def __init__(self, index_dir: Path, embed_backend: str, embed_model: str, chroma_url: str | None = None,
                 embed_batch_size: int = 16, hub_downloads: bool = False, check_every_s: float = 2.0):
        self.layout = IndexLayout(index_dir)
        self.embed_backend, self.embed_model = embed_backend, embed_model
        self.embed_batch_size, self.hub_downloads = embed_batch_size, hub_downloads
        self.chroma_url = chroma_url
        self.check_every_s = check_every_s
        self._lock = threading.RLock()
        self._gen: LoadedGeneration | None = None
        self._stamp: tuple | None = None
        self._checked = 0.0
        self._collection = None
        self._embed = None
        self.last_error: str | None = None

    def _current_stamp(self) -> tuple:
        gid = self.layout.current_id()
        if not gid:
            return (None, None)
        mf = self.layout.gen_dir(gid) / "manifest.json"
        try:
            return (gid, mf.stat().st_mtime_ns)
        except FileNotFoundError:
            return (gid, None)

    def generation(self) -> LoadedGeneration:
        """Current generation; raises IndexMissing/IndexCorrupt with the fix in the message."""
        now = time.monotonic()
        with self._lock:
            if self._gen is not None and now - self._checked < self.check_every_s:
                return self._gen
            self._checked = now
            stamp = self._current_stamp()
            if self._gen is None or stamp != self._stamp:
                try:
                    gen = load_generation(self.layout, stamp[0])
                except Exception:
                    if self._gen is not None:
                        return self._gen  # keep serving the generation we have
                    raise
                self._gen, self._stamp, self._collection = gen, stamp, None
                # Hundreds of thousands of long-lived node objects: keep the cyclic GC from rescanning them
                # on every collection (seen as p95 spikes at 100× the corpus).
                gc.collect()
                gc.freeze()
            return self._gen

    @property
    def mode(self) -> str:
        gen = self.generation()
        return "hybrid" if gen.manifest.dense_ready and self.embed_backend != "none" else "lexical"

    def collection(self):
        gen = self.generation()
        if not (gen.manifest.dense_ready and gen.manifest.collection) or self.embed_backend == "none":
            return None
        with self._lock:
            if self._collection is None:
                from indexing.vectors import chroma_client, get_collection

                client = chroma_client(self.layout.chroma, self.chroma_url)
                self._collection = get_collection(client, gen.manifest.collection)
            return self._collection

    def embedder(self):
        with self._lock:
            if self._embed is None:
                from indexing.embeddings import make_embedding

                self._embed = make_embedding(self.embed_backend, self.embed_model, self.embed_batch_size,
                                             self.hub_downloads)
            return self._embed


class HybridRetriever:
    def __init__(self, handle: IndexHandle, catalog: Catalog, weight_vi: float = 0.5, weight_en: float = 0.55,
                 weight_noaccent: float = 0.7, candidates: int = 100, lm_texts: list[str] | None = None,
                 ranker: LinearRanker | None = None, policy: RankingPolicy | None = None,
                 examples: list[Example] | None = None, cache_dir: Path | None = None, model_id: str = "",
                 digests: dict[tuple[str, str], str] | None = None):
        self.handle = handle
        self.catalog = catalog
        self.weight_vi, self.weight_en, self.weight_noaccent = weight_vi, weight_en, weight_noaccent
        self.candidates = candidates
        self.ranker = ranker or load_ranker()
        self.policy = policy or RankingPolicy()
        self.lm_texts = list(lm_texts or [])  # questions in natural wording, for diacritic restoration
        # The question bank (assistant/ranking/bank.py): embedded once per generation, cached under cache_dir.
        self.examples = list(examples or [])
        self.digests = dict(digests or {})  # English digests of the articles (corpus/digests.py)
        self.cache_dir, self.model_id = cache_dir, model_id
        # Examples the bank leaves out: an evaluation of a training question sets its own, so the answer is the one
        # a question outside the bank would get (evals/runner.unseen).
        self.bank_exclude: frozenset[str] = frozenset()
        self._meta_cache: dict[str, tuple] = {}

    def lexical_weight(self, q: ParsedQuery) -> float:
        # Tuned on the dev suite (see README): the dense model reads accentless Vietnamese poorly, and the
        # lexical channel of English questions is the bilingual glossary.
        if q.language == "en":
            return self.weight_en
        return self.weight_noaccent if q.accentless else self.weight_vi

    def search(self, q: ParsedQuery, as_of: dt.date, k: int = 10, dense: bool = True,
               lexical: bool = True, context_docs: frozenset[str] = frozenset()) -> SearchResult:
        """retrieve → rank. `context_docs`: the texts the previous answer cited, which a follow-up most likely
        stays in (a ranking feature)."""
        pool = self.retrieve(q, as_of, dense, lexical)
        if pool is None:
            return SearchResult([], [], self._mode_name(dense), {})
        t = time.perf_counter()
        ranked, hits = self.rank(q, pool, as_of, context_docs)
        pool.timings["rank"] = (time.perf_counter() - t) * 1000
        # Evidence that the corpus answers at all: the best match by the search channels, current or not.
        by_fused = max(ranked, key=lambda a: a.fused, default=None)
        coverage = self.coverage(q, by_fused, pool.gen) if by_fused else 0.0
        return SearchResult(ranked[: max(k, 10)], hits, pool.mode, pool.timings, pool.top_dense, coverage,
                            pool.vec, pool.restored or "", pool.status, ranked)

    def _mode_name(self, dense: bool) -> str:
        return "hybrid" if dense and self.handle.collection() is not None else "lexical"

    # ---- retrieve: candidate clauses from both channels ----------------------------------------------------
    def retrieve(self, q: ParsedQuery, as_of: dt.date, dense: bool = True, lexical: bool = True) -> "Pool | None":
        timings: dict[str, float] = {}
        gen = self.handle.generation()
        ids = gen.lexical.ids
        n = len(ids)

        t = time.perf_counter()
        # An accentless question is searched (and embedded) with its accents restored: BM25 then also gets the
        # accented compounds.
        restored = self.restorer(gen).restore(q.text) if q.accentless else None
        terms = query_terms(restored + q.expanded[len(q.text):] if restored else q.expanded)
        timings["segment"] = (time.perf_counter() - t) * 1000
        t = time.perf_counter()
        lex = gen.lexical.scores(terms) if lexical else np.zeros(n, dtype=np.float32)
        timings["bm25"] = (time.perf_counter() - t) * 1000

        dense_scores: dict[int, float] = {}
        vec = None
        mode = "lexical"
        col = self.handle.collection() if dense else None
        if col is not None:
            mode = "hybrid"
            t = time.perf_counter()
            qtext = dense_query_text(q, restored)
            vec = self.handle.embedder().get_query_embedding(qtext)
            timings["embed"] = (time.perf_counter() - t) * 1000
            t = time.perf_counter()
            res = col.query(query_embeddings=[vec], n_results=min(self.candidates, n), include=["distances"])
            timings["chroma"] = (time.perf_counter() - t) * 1000
            pos = self._positions(gen)
            for cid, dist in zip(res["ids"][0], res["distances"][0]):
                i = pos.get(cid)
                if i is not None:
                    dense_scores[i] = 1.0 - float(dist)

        digest = None
        if col is not None and q.language == "en":
            t = time.perf_counter()
            digest = self._digest_scores(q, gen, vec)
            timings["digest"] = (time.perf_counter() - t) * 1000

        t = time.perf_counter()
        cand = set(np.argsort(-lex)[: self.candidates].tolist()) if lex.max() > 0 else set()
        cand |= set(dense_scores)
        # "Nghị định 10/2024 còn hiệu lực không?": the provision that ends it, found through the catalog.
        # Texts named but not held count too: a held text may state their status ("NĐ 239/2025 còn hiệu lực
        # không?" → Điều 111 k3 NĐ 96/2026).
        status = status_targets(q.text, [r.number for r in q.refs if not r.article] + list(q.missing_refs),
                                self.catalog, as_of, self._landmarks(gen), q.intents)
        near = frozenset(digest.top(self.policy.digest_candidates)) if digest is not None else frozenset()
        wanted = {(r.number, r.article) for r in q.refs if r.article} | {(t.document, t.article) for t in status}
        cand |= self._reference_nodes(gen, wanted | near)
        if not cand:
            return None
        cand_l = sorted(cand)
        lmax = float(lex.max()) or 1.0
        lnorm = np.array([lex[i] / lmax for i in cand_l])
        draw = np.array([dense_scores.get(i, 0.0) for i in cand_l])
        if dense_scores:
            vals = np.array(list(dense_scores.values()))
            lo, hi = float(vals.min()), float(vals.max())
            span = (hi - lo) or 1.0
            dnorm = np.array([(dense_scores[i] - lo) / span if i in dense_scores else 0.0 for i in cand_l])
            w = self.lexical_weight(q) if lexical else 0.0
            fused = w * lnorm + (1 - w) * dnorm
        else:
            dnorm = np.zeros(len(cand_l))
            fused = lnorm
        timings["fusion"] = (time.perf_counter() - t) * 1000
        top_dense = max(dense_scores.values()) if dense_scores else 0.0
        return Pool(gen, cand_l, lnorm, dnorm, draw, fused, mode, timings, top_dense, vec, restored, status, digest,
                    near)

    # ---- rank: features of each candidate article, weighed by the fitted model -----------------------------
    def rank(self, q: ParsedQuery, pool: "Pool", as_of: dt.date,
             context_docs: frozenset[str] = frozenset()) -> tuple[list[ArticleHit], list[Hit]]:
        gen = pool.gen
        ids = gen.lexical.ids
        named_articles = {(r.number, r.article) for r in q.refs if r.article}
        named_clauses = {(r.number, r.article, r.clause) for r in q.refs if r.article and r.clause}
        hits = []
        for j, i in enumerate(pool.nodes):
            nid = ids[i]
            doc, art, clause = self._meta(gen, nid)
            # A clause's own score (for choosing the clause to quote): fused, plus the question's own clause and
            # the facet asked (the ranker weighs articles; within one, the clause stating the facet answers).
            score = float(pool.fused[j])
            if (doc, art, clause) in named_clauses:
                score += 1.0
            if q.facets and q.facets & stated_facets(gen.nodes[nid].text):
                score += self.policy.clause_facet_bonus
            hits.append(Hit(nid, doc, art, clause, score, float(pool.lnorm[j]), float(pool.dnorm[j]),
                            self._in_force(doc, art, as_of), float(pool.fused[j]), float(pool.draw[j])))
        hits.sort(key=lambda h: -h.score)
        by: dict[tuple[str, str], ArticleHit] = {}
        for h in hits:
            a = by.get((h.document, h.article))
            if a is None:
                by[(h.document, h.article)] = ArticleHit(h.document, h.article, h.fused, h, [h], h.in_force)
            else:
                a.clauses.append(h)
        forced = named_articles | {(t.document, t.article) for t in pool.status} | pool.digest_near
        for a in by.values():
            a.fused = max(h.fused for h in a.clauses)
        arts = sorted(by.values(), key=lambda a: -a.fused)
        keep = arts[: self.policy.rank_pool] + [a for a in arts[self.policy.rank_pool:]
                                                if (a.document, a.article) in forced]
        cands = self._candidates(q, keep, gen, as_of, context_docs, {(t.document, t.article) for t in pool.status},
                                 self._article_similarity(pool, keep), pool.digest)
        x = features.matrix(cands, q.facets, q.earlier, q.language, q.accentless)
        bank = self.question_bank(gen) if pool.vec is not None else None
        if bank is not None:
            x[:, features.BANK_INDEX] = bank.features(pool.vec, [(a.document, a.article) for a in keep],
                                                      self.bank_exclude)
        p = self.ranker.scores(x)
        for a, s, row in zip(keep, p, x):
            a.score = float(s)
            a.features = row
        ranked = self._current_first(sorted(keep, key=lambda a: -a.score), q, as_of)
        return self._status_first(ranked, pool.status), hits

    def _current_first(self, ranked: list[ArticleHit], q: ParsedQuery, as_of: dt.date) -> list[ArticleHit]:
        """Validity policy (shared/README: an OCR copy is never the sole basis of a confident answer; a repealed
        provision is never quoted as current): an article out of force on `as_of`, or of an unverified OCR copy
        or a doubtful text, that the question does not name does not lead when a current, clean article scores
        at least `validity_ratio_repealed` (repealed) or `validity_ratio` (unverified) of it; it comes right
        after that article."""
        named = {r.number for r in q.refs}

        def shaky(a: ArticleHit) -> bool:
            if a.document in named:
                return False
            meta = self.catalog.by_number(a.document)
            return not a.in_force or bool(meta and (meta.low_confidence or doubtful(meta, as_of)))

        if not ranked or not shaky(ranked[0]):
            return ranked
        # A question about earlier rules may want the repealed text; then only a much closer current one leads.
        if q.earlier:
            ratio = self.policy.validity_ratio_earlier
        elif not ranked[0].in_force:
            ratio = self.policy.validity_ratio_repealed
        else:
            ratio = self.policy.validity_ratio
        j = next((j for j, a in enumerate(ranked[1:6], 1) if not shaky(a) and a.score >= ratio * ranked[0].score),
                 None)
        if j is None:
            return ranked
        out = list(ranked)
        out.insert(0, out.pop(j))
        return out

    @staticmethod
    def _article_similarity(pool: "Pool", arts: list[ArticleHit]) -> np.ndarray:
        """The question's cosine with each whole article; NaN without one (lexical mode, or a generation built
        before article vectors): `_candidates` then reads the best clause's cosine, the nearest stand-in."""
        if pool.vec is None or pool.gen.articles is None:
            return np.full(len(arts), np.nan)
        return pool.gen.articles.similarity(np.asarray(pool.vec), [(a.document, a.article) for a in arts])

    def _candidates(self, q: ParsedQuery, arts: list[ArticleHit], gen: LoadedGeneration, as_of: dt.date,
                    context_docs: frozenset[str], status: set[tuple[str, str]], art_dense: np.ndarray,
                    digest: DigestScores | None = None) -> list[features.Candidate]:
        words = self._question_words(q)
        idf, unseen = self._idf(gen, accented=False)
        if q.language == "en":
            # English words never occur in the Vietnamese texts: left in, they would weigh most in every share and
            # flatten it for all candidates alike. An English question's evidence is its glossary terms.
            words = {w for w in words if w in idf} or words
        weights = {w: idf.get(w, unseen) for w in words}
        total = sum(weights.values()) or 1.0
        toks = self._tokens(gen)
        marks = self._landmarks(gen)
        links = self._amendment_links(gen)
        successors_named = self._successors_asked(q, as_of)
        explicit = {r.number for r in q.refs} - set(successors_named.values())
        named_docs = {r.number for r in q.refs} | set(successors_named)
        named_articles = {(r.number, r.article) for r in q.refs if r.article}
        named_clauses = {(r.number, r.article) for r in q.refs if r.article and r.clause}
        top = arts[:10]
        # The texts replacing a repealed article found near the top: their in-force articles are its successors.
        succ_docs = set()
        for a in top:
            if not a.in_force and a.document not in explicit:
                meta = self.catalog.by_number(a.document)
                succ_docs |= {r.number for r in meta.replaced_by if r.content} if meta else set()
        linked = set()
        for a in arts[:3]:
            linked |= links.linked((a.document, a.article))
        # An article without a digest (a text added since) gets the candidates' median: neither for nor against.
        dsim = [digest.sim.get((a.document, a.article)) for a in arts] if digest is not None else []
        known = [v for v in dsim if v is not None]
        neutral = float(np.median(known)) if known else 0.0
        out = []
        for j, (a, sim) in enumerate(zip(arts, art_dense)):
            meta = self.catalog.by_number(a.document)
            title_words, title = toks.titles.get((a.document, a.article), (frozenset(), ""))
            title_weights = {w: idf.get(w, unseen) for w in title_words if len(w) > 1 and w not in STOP}
            title_total = sum(title_weights.values())
            missed = [v for w, v in title_weights.items() if w not in words]
            clause_words = set()
            for h in a.clauses[:3]:
                clause_words |= toks.nodes.get(h.node_id, frozenset())
            best_text = gen.nodes[a.best.node_id].text if a.best.node_id in gen.nodes else ""
            any_facets = frozenset().union(*(stated_facets(gen.nodes[h.node_id].text) for h in a.clauses[:3]
                                             if h.node_id in gen.nodes))
            fused_sorted = sorted((h.fused for h in a.clauses), reverse=True)
            dense_raw = max(h.dense_raw for h in a.clauses)  # 0 in lexical mode
            out.append(features.Candidate(
                document=a.document, article=a.article, doc_type=meta.type if meta else "",
                fused=fused_sorted[0], lex=max(h.lexical for h in a.clauses), dense=max(h.dense for h in a.clauses),
                dense_raw=dense_raw, art_dense=dense_raw if np.isnan(sim) else float(sim),
                second=fused_sorted[1] if len(fused_sorted) > 1 else 0.0, n_clauses=len(a.clauses),
                title_cover=sum(v for w, v in weights.items() if w in title_words) / total,
                cover=sum(v for w, v in weights.items() if w in clause_words) / total,
                title_prec=(sum(v for w, v in title_weights.items() if w in words) / title_total
                            if title_total else 0.0),
                title_miss=max(missed) / unseen if missed else 0.0,
                facets_best=stated_facets(best_text), facets_any=any_facets, facets_title=title_facets(title),
                closing=(a.document, a.article) in marks.closing and a.document not in explicit,
                in_force=a.in_force or a.document in explicit,
                ocr=bool(meta and meta.low_confidence and a.document not in explicit),
                doubt=bool(meta and doubtful(meta, as_of) and a.document not in explicit),
                successor_of_found=a.in_force and a.document in succ_docs,
                named_doc=a.document in named_docs, named_article=(a.document, a.article) in named_articles,
                named_clause=(a.document, a.article) in named_clauses, context_doc=a.document in context_docs,
                status_target=(a.document, a.article) in status,
                amend_link=(a.document, a.article) in linked and a.in_force,
                en_digest=(neutral if dsim[j] is None else dsim[j]) if digest is not None else 0.0,
                en_digest_lex=digest.lex.get((a.document, a.article), 0.0) if digest is not None else 0.0))
        return out

    def _question_words(self, q: ParsedQuery) -> set[str]:
        return {w for w in re.findall(r"\w+", fold(q.expanded).lower()) if len(w) > 1 and w not in STOP}

    # ---- helpers ------------------------------------------------------------------------------
    def _positions(self, gen: LoadedGeneration) -> dict[str, int]:
        key = ("pos", gen.manifest.generation)
        got = self._meta_cache.get(key)
        if got is None:
            got = {nid: i for i, nid in enumerate(gen.lexical.ids)}
            self._meta_cache = {k: v for k, v in self._meta_cache.items() if k[1] == gen.manifest.generation}
            self._meta_cache[key] = got
        return got

    def _meta(self, gen: LoadedGeneration, nid: str) -> tuple[str, str, str | None]:
        md = gen.nodes[nid].metadata
        return md["document"], md["article"], md["clause"] or None

    def _in_force(self, doc: str, article: str, as_of: dt.date) -> bool:
        meta = self.catalog.by_number(doc)
        return in_force(meta, as_of, article) if meta else True

    def _landmarks(self, gen: LoadedGeneration) -> Landmarks:
        key = ("landmarks", gen.manifest.generation)
        got = self._meta_cache.get(key)
        if got is None:
            titles = {}
            for node in gen.nodes.values():
                md = node.metadata
                titles.setdefault((md["document"], md["article"]), md.get("article_title") or "")
            got = Landmarks.from_titles(titles)
            self._meta_cache[key] = got
        return got

    def _tokens(self, gen: LoadedGeneration) -> Tokens:
        key = ("tokens", gen.manifest.generation)
        got = self._meta_cache.get(key)
        if got is None:
            nodes, titles = {}, {}
            for nid, node in gen.nodes.items():
                nodes[nid] = frozenset(re.findall(r"\w+", fold(node.text).lower()))
                md = node.metadata
                title = md.get("article_title") or ""
                titles.setdefault((md["document"], md["article"]),
                                  (frozenset(re.findall(r"\w+", fold(title).lower())), title))
            got = Tokens(nodes, titles)
            self._meta_cache[key] = got
        return got

    def _reference_nodes(self, gen: LoadedGeneration, wanted: set[tuple[str, str]]) -> set[int]:
        """Nodes of the Điều the question names ("Điều 22 Luật Công nghệ cao 2025"), or that answer a question on a
        text's status, are looked up directly."""
        if not wanted:
            return set()
        nodes = self._article_nodes(gen)
        return {i for k in wanted for i in nodes.get(k, ())}

    def amendments(self) -> AmendmentLinks:
        """Which article amends which, in the generation being served."""
        return self._amendment_links(self.handle.generation())

    def _amendment_links(self, gen: LoadedGeneration) -> AmendmentLinks:
        key = ("amendments", gen.manifest.generation)
        got = self._meta_cache.get(key)
        if got is None:
            rows = [(n.metadata["document"], n.metadata["article"], n.metadata.get("article_title") or "",
                     n.text.split("\n", 1)[-1]) for n in gen.nodes.values()]
            got = read_links(rows, self.catalog)
            self._meta_cache[key] = got
        return got

    def _successors_asked(self, q: ParsedQuery, as_of: dt.date) -> dict[str, str]:
        """{successor: old} for each repealed text the question names while asking about today's rule."""
        if not q.now:
            return {}
        out: dict[str, str] = {}
        for r in q.refs:
            meta = self.catalog.by_number(r.number)
            if meta is None or r.article or in_force(meta, as_of):
                continue
            for rel in meta.replaced_by:
                if rel.content and self.catalog.by_number(rel.number) is not None:
                    out.setdefault(rel.number, r.number)
        return {n: old for n, old in out.items() if n not in {r.number for r in q.refs}}

    @staticmethod
    def _status_first(articles: list[ArticleHit], status: list[Target]) -> list[ArticleHit]:
        """The provisions answering a question on a named text's status lead, in the order asked, just above the
        best match (the other articles keep their scores, so the citation cut-off still judges them), with the
        clause the catalog names as their best."""
        out = list(articles)
        for t in reversed(status):
            j = next((j for j, a in enumerate(out) if (a.document, a.article) == (t.document, t.article)), None)
            if j is None:
                continue
            a = out.pop(j)
            named = next((h for h in a.clauses if t.clause and h.clause == t.clause), None)
            if named is not None:
                a.clauses.remove(named)
                a.clauses.insert(0, named)
                a.best = named
            a.score = max(a.score, out[0].score + 1e-3) if out else a.score
            out.insert(0, a)
        return out

    def prepare(self, gen: LoadedGeneration) -> None:
        """Build what the first search of a generation would otherwise build (seconds on the full corpus)."""
        self.restorer(gen)
        self._landmarks(gen)
        self._amendment_links(gen)
        self._tokens(gen)
        self._idf(gen, accented=False)
        # What each clause states (facets) is read once per generation here, not while a question waits: the
        # ranker reads it for ~180 candidate clauses, 0.3 ms each when cold (2-3 s for the whole corpus).
        for node in gen.nodes.values():
            stated_facets(node.text)
        self.question_bank(gen)
        self.digest_channel(gen)  # 1,785 digests: 55 s to embed on 2 cores the first time, then cached

    def question_bank(self, gen: LoadedGeneration) -> QuestionBank | None:
        """The bank's examples embedded the way this generation embeds a question (accents restored, English with
        its glossary terms); None without examples or embeddings."""
        if not self.examples or self.cache_dir is None or self.handle.collection() is None:
            return None
        key = ("bank", gen.manifest.generation)
        got = self._meta_cache.get(key)
        if got is None:
            def texts() -> dict[str, list[str]]:
                restorer = self.restorer(gen)
                out = []
                for e in self.examples:
                    q = parse_query(e.question, self.catalog)
                    out.append(dense_query_text(q, restorer.restore(q.text) if q.accentless else None))
                return {"q": out}

            # Named by the questions, the way they are read (English: with the glossary's terms) and what their
            # accents are restored from (parsing them all takes seconds).
            learnt_from = ([DENSE_TEXT_VERSION, GLOSSARY_DIGEST] + sorted(gen.manifest.doc_hashes.values())
                           + self.lm_texts)
            vecs = cached_query_vectors(self.handle.embedder(), self.model_id, self.cache_dir, "bank", texts,
                                        key={"q": [e.question for e in self.examples]},
                                        salt="\n".join(learnt_from))["q"]
            got = QuestionBank(self.examples, vecs)
            self._meta_cache[key] = got
        return got

    def digest_channel(self, gen: LoadedGeneration) -> DigestChannel | None:
        """The digests of this generation's articles, embedded as passages (cached like the question bank); None
        without digests or embeddings."""
        if not self.digests or self.cache_dir is None or self.handle.collection() is None:
            return None
        key = ("digests", gen.manifest.generation)
        if key in self._meta_cache:
            return self._meta_cache[key]
        held = self._article_nodes(gen)
        keys = [k for k in sorted(self.digests) if k in held]
        texts = [self.digests[k] for k in keys]
        got = None
        if keys:
            vecs = cached_query_vectors(self.handle.embedder(), self.model_id, self.cache_dir, "digests",
                                        {"d": texts}, passages=True)["d"]
            got = DigestChannel(keys, texts, vecs)
        self._meta_cache[key] = got
        return got

    def _digest_scores(self, q: ParsedQuery, gen: LoadedGeneration, vec) -> DigestScores | None:
        """An English question against every digest. Its dense vector is reused: the glossary terms it carries
        cost nothing measurable here (first hit right for 0.452 of 600 training questions, 0.458 embedded as
        written) and a second embedding would double an English question's latency."""
        channel = self.digest_channel(gen)
        if channel is None or vec is None:
            return None
        return channel.scores(vec, q.text)

    def _article_nodes(self, gen: LoadedGeneration) -> dict[tuple[str, str], list[int]]:
        key = ("article-nodes", gen.manifest.generation)
        got = self._meta_cache.get(key)
        if got is None:
            got = {}
            for i, nid in enumerate(gen.lexical.ids):
                md = gen.nodes[nid].metadata
                got.setdefault((md["document"], md["article"]), []).append(i)
            self._meta_cache[key] = got
        return got

    def restorer(self, gen: LoadedGeneration) -> DiacriticRestorer:
        """Accent restoration learnt from this generation's texts (and natural questions), built once."""
        key = ("restorer", gen.manifest.generation)
        got = self._meta_cache.get(key)
        if got is None:
            got = DiacriticRestorer.from_texts([n.text for n in gen.nodes.values()] + self.lm_texts)
            self._meta_cache[key] = got
        return got

    def _idf(self, gen: LoadedGeneration, accented: bool) -> tuple[dict[str, float], float]:
        """IDF of syllables over the nodes (accented or folded), computed once per generation."""
        key = ("idf-acc" if accented else "idf", gen.manifest.generation)
        got = self._meta_cache.get(key)
        if got is None:
            norm = (lambda s: s.lower()) if accented else (lambda s: fold(s).lower())
            df: dict[str, int] = {}
            for node in gen.nodes.values():
                for w in set(re.findall(r"\w+", norm(node.text))):
                    df[w] = df.get(w, 0) + 1
            n = len(gen.nodes)
            idf = {w: math.log((n + 1) / (c + 0.5)) for w, c in df.items()}
            got = (idf, math.log((n + 1) / 0.5))
            self._meta_cache[key] = got
        return got

    def coverage(self, q: ParsedQuery, top: ArticleHit, gen: LoadedGeneration | None = None) -> float:
        """IDF-weighted share of the question's words found in the best article's matching clauses: the rare,
        informative words ("ly hôn", "bitcoin") decide, not "thủ tục" or "quy định"."""
        gen = gen or self.handle.generation()
        # Accented questions are compared with accents ("hôn" is not "hơn"); accentless ones folded.
        key = (lambda s: s.lower()) if has_diacritics(q.text) else (lambda s: fold(s).lower())
        words = {w for w in re.findall(r"\w+", key(q.expanded)) if len(w) > 1 and fold(w) not in STOP}
        if not words:
            return 0.0
        idf, unseen = self._idf(gen, accented=has_diacritics(q.text))
        # A generation swapped since the search lacks removed nodes: they count as not found.
        text = " ".join(key(gen.nodes[h.node_id].text) for h in top.clauses[:3] if h.node_id in gen.nodes)
        toks = set(re.findall(r"\w+", text))
        weights = {w: idf.get(w, unseen) for w in words}
        total = sum(weights.values())
        return sum(v for w, v in weights.items() if w in toks) / total if total else 0.0
