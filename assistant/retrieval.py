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
from .query import ParsedQuery
from .status import Landmarks, Target, about_earlier_rules, intents, targets as status_targets


# A question on today's rule ("hiện nay", "luật mới", "giờ … còn", "now"), matched on folded text.
NOW_CUE = re.compile(r"\b(hien nay|hien hanh|hien tai|bay gio|hien gio|(?<!them )(?<!lam )gio (day|luat|nghi dinh|con|van)"
                     r"|(luat|nghi dinh|thong tu|quyet dinh|van ban|quy dinh) moi|now|currently|nowadays"
                     r"|new (law|decree|circular|rules?)|current (law|rules?|decree))\b")


@dataclass
class Hit:
    node_id: str
    document: str
    article: str
    clause: str | None
    score: float
    lexical: float = 0.0
    dense: float = 0.0
    in_force: bool = True


@dataclass
class ArticleHit:
    document: str
    article: str
    score: float
    best: Hit
    clauses: list[Hit] = field(default_factory=list)
    in_force: bool = True


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


def dense_query_text(q: ParsedQuery, restored: str | None = None) -> str:
    """English questions are embedded with their Vietnamese glossary terms: e5 is multilingual, but the
    Vietnamese legal wording pulls the vector to the right neighbourhood. Accentless questions are embedded with
    their accents restored (e5 reads folded Vietnamese poorly)."""
    if q.language == "en" and q.expanded != q.text:
        return f"{q.text} ({q.expanded[len(q.text):].strip()})"
    if restored:
        return restored
    return q.text


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
                 weight_noaccent: float = 0.7, candidates: int = 100, rank_bonus: dict[str, float] | None = None,
                 lm_texts: list[str] | None = None):
        self.handle = handle
        self.catalog = catalog
        self.weight_vi, self.weight_en, self.weight_noaccent = weight_vi, weight_en, weight_noaccent
        self.candidates = candidates
        self.out_of_force_factor = 0.7
        self.ocr_factor = 0.85
        self.ref_doc_bonus = 0.25  # a document the question names
        self.doubt_factor = 0.85
        self.successor_ratio = 0.8  # the replacing document's article takes the place when it scores this close
        self.amend_window = 3  # an article among the first this many brings the article amending it (or amended)
        self.amend_max = 2
        # Transition and effect articles name everything their text covers ("doanh nghiệp công nghệ cao … ưu đãi
        # thuế …"), so they match general questions; they answer only questions about earlier rules or dates.
        self.closing_factor = 0.85
        self.rank_bonus: dict[str, float] = dict(rank_bonus or {})  # by document type (legal hierarchy)
        self.lm_texts = list(lm_texts or [])  # questions in natural wording, for diacritic restoration
        self._meta_cache: dict[str, tuple] = {}

    def lexical_weight(self, q: ParsedQuery) -> float:
        # Tuned on the dev suite (see README): the dense model reads accentless Vietnamese poorly, and the
        # lexical channel of English questions is the bilingual glossary.
        if q.language == "en":
            return self.weight_en
        return self.weight_noaccent if q.accentless else self.weight_vi

    def search(self, q: ParsedQuery, as_of: dt.date, k: int = 10, dense: bool = True,
               lexical: bool = True, context_docs: frozenset[str] = frozenset(),
               context_bonus: float = 0.0) -> SearchResult:
        """`context_docs`: the texts the previous answer cited, which a follow-up most likely stays in; their
        provisions get `context_bonus`."""
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

        t = time.perf_counter()
        cand = set(np.argsort(-lex)[: self.candidates].tolist()) if lex.max() > 0 else set()
        cand |= set(dense_scores)
        # "Nghị định 10/2024 còn hiệu lực không?": the provision that ends it, found through the catalog.
        asked = intents(q.text)
        status = status_targets(q.text, [r.number for r in q.refs if not r.article], self.catalog, as_of,
                                self._landmarks(gen), asked)
        wanted = {(r.number, r.article) for r in q.refs if r.article} | {(t.document, t.article) for t in status}
        cand |= self._reference_nodes(gen, wanted)
        if not cand:
            timings["fusion"] = (time.perf_counter() - t) * 1000
            return SearchResult([], [], mode, timings)
        cand_l = sorted(cand)
        lmax = float(lex.max()) or 1.0
        lnorm = np.array([lex[i] / lmax for i in cand_l])
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
        hits = []
        explicit_docs = {r.number for r in q.refs}
        # "Luật Đầu tư 2020 bắt ký quỹ …, luật mới còn bắt không?": a repealed text named for comparison, with the
        # question on today's rule; its successor counts as named and the old one is ranked as repealed.
        successors = self._successors_asked(q, as_of)
        explicit_docs -= set(successors.values())
        closing = (self._landmarks(gen).closing
                   if self.closing_factor != 1.0 and not about_earlier_rules(q.text, asked) else frozenset())
        named_docs = {r.number for r in q.refs} | set(successors)  # each gets the bonus of a named document
        for j, i in enumerate(cand_l):
            nid = ids[i]
            doc, art, clause = self._meta(gen, nid)
            score = float(fused[j])
            if doc in named_docs:
                score += self.ref_doc_bonus
            for r in q.refs:
                if r.number == doc and r.article and r.article == art:
                    score += 1.0
                    if r.clause and r.clause == clause:
                        score += 0.3
            if (doc, art) in closing and doc not in explicit_docs:
                score *= self.closing_factor
            if doc in context_docs:
                score += context_bonus
            ok = self._in_force(doc, art, as_of)
            if not ok and doc not in explicit_docs:
                # Out of force on as_of: never ranked above a current provision of similar relevance.
                score *= self.out_of_force_factor
            meta = self.catalog.by_number(doc)
            if meta is not None and self.rank_bonus:
                score += self.rank_bonus.get(meta.type, 0.0)
            if meta is not None and meta.low_confidence and doc not in explicit_docs:
                score *= self.ocr_factor  # OCR copies never outrank a clean text of similar relevance
            if meta is not None and doubtful(meta, as_of) and doc not in explicit_docs:
                score *= self.doubt_factor  # nor does a text whose legal basis has gone
            hits.append(Hit(nid, doc, art, clause, score, float(lnorm[j]), float(dnorm[j]), ok))
        hits.sort(key=lambda h: -h.score)
        ranked = self._aggregate(hits)
        articles = self._replacements_first(ranked, explicit_docs)
        articles = self._status_first(self._with_amendments(articles, self._amendment_links(gen)), status)
        timings["fusion"] = (time.perf_counter() - t) * 1000
        top_dense = max(dense_scores.values()) if dense_scores else 0.0
        # Evidence that the corpus answers at all: the best match, current or not.
        coverage = self.coverage(q, ranked[0], gen) if ranked else 0.0
        return SearchResult(articles[: max(k, 10)], hits, mode, timings, top_dense, coverage, vec, restored or "",
                            status)

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

    def _reference_nodes(self, gen: LoadedGeneration, wanted: set[tuple[str, str]]) -> set[int]:
        """Nodes of the Điều the question names ("Điều 22 Luật Công nghệ cao 2025"), or that answer a question on a
        text's status, are looked up directly."""
        if not wanted:
            return set()
        out = set()
        for i, nid in enumerate(gen.lexical.ids):
            md = gen.nodes[nid].metadata
            if (md["document"], md["article"]) in wanted:
                out.add(i)
        return out

    @staticmethod
    def _aggregate(hits: list[Hit]) -> list[ArticleHit]:
        by: dict[tuple[str, str], ArticleHit] = {}
        for h in hits:
            key = (h.document, h.article)
            a = by.get(key)
            if a is None:
                by[key] = ArticleHit(h.document, h.article, h.score, h, [h], h.in_force)
            else:
                a.clauses.append(h)
        for a in by.values():
            # Several matching clauses make the article more likely the answer, a little.
            if len(a.clauses) > 1:
                a.score += 0.05 * a.clauses[1].score
        return sorted(by.values(), key=lambda a: -a.score)

    def _replacements_first(self, articles: list[ArticleHit], explicit_docs: set[str],
                            window: int = 10) -> list[ArticleHit]:
        """An out-of-force article that still ranks above the replacing document's best article gives it its
        place: the current rule comes first, the old one right after it (unless the question names the old
        document)."""
        out = list(articles)
        i = 0
        while i < min(len(out), window):
            a = out[i]
            meta = None if a.in_force or a.document in explicit_docs else self.catalog.by_number(a.document)
            successors = {r.number for r in meta.replaced_by if r.content} if meta is not None else set()
            j = next((j for j in range(i + 1, min(len(out), window)) if out[j].in_force
                      and out[j].document in successors and out[j].score >= self.successor_ratio * a.score), None)
            if j is not None:  # one move per old article: it now stands right after its successor
                newer = out.pop(j)
                newer.score = max(newer.score, a.score)
                out.insert(i, newer)
                i += 1
            i += 1
        return out

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

    def _with_amendments(self, articles: list[ArticleHit], links: AmendmentLinks, top: int = 5) -> list[ArticleHit]:
        """A provision is read with its amendment: an article among the first `amend_window` that a current
        text amends (or that amends one) brings that article right after it, when it was found at all but
        ranked below the first `top`."""
        if not self.amend_window or not articles:
            return articles
        out = list(articles)
        moved = 0
        i = 0
        while i < min(self.amend_window, len(out)) and moved < self.amend_max:
            a = out[i]
            near = {(x.document, x.article) for x in out[:top]}
            linked = links.linked((a.document, a.article)) - near
            j = next((j for j in range(top, len(out)) if (out[j].document, out[j].article) in linked
                      and out[j].in_force), None)
            if j is not None:
                out.insert(i + 1, out.pop(j))  # read right after the article it belongs with
                moved += 1
                i += 1
            i += 1
        return out

    def _successors_asked(self, q: ParsedQuery, as_of: dt.date) -> dict[str, str]:
        """{successor: old} for each repealed text the question names while asking about today's rule."""
        if not NOW_CUE.search(fold(q.text).lower()):
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
