"""The one answer path. CLI, API (JSON and streaming), OpenAI-compatible endpoint, drafts and evals all call
:meth:`Assistant.answer` (streaming is a view of it, as in llama-index's condense-plus-context engine):

    validate → contextualize (follow-ups) → understand query → hybrid retrieve (validity-aware)
    → choose provisions → compose (extractive, or LLM + citation check) → procedure card → record turn
"""
from __future__ import annotations

import datetime as dt
import logging
import time
import unicodedata
import uuid
from dataclasses import dataclass, field, replace
from typing import Iterator

import numpy as np

from corpus.catalog import Catalog, load_catalog
from corpus.digests import DIGESTS_PATH, DigestError, heading, load_digests, local_digests
from corpus.loader import Corpus, load_corpus
from indexing.embeddings import model_id

from .annexes import annex_notes, asks_membership, mentions_annex
from .asked import AskedConcept, unstated
from .compose import (amendment_notes, best_text, choose, compose_text, missing_notes, refusal_text, to_citation,
                      validity_notes)
from .config import Settings, get_settings
from .conversation import Turn, content_words, contextualize
from .models import Answer, ProcedureCard, QuestionError, RetrievedItem
from .facets import CARD_FACETS, stated_facets
from .procedure import extract_card
from .query import ParsedQuery, parse_query, spell_out
from .ranking import RankerError, load_ranker
from .ranking import answerable as answerability
from .ranking.bank import BANK_FILE, BankError, Example, load_examples
from .retrieval import HybridRetriever, IndexHandle, SearchResult
from .scope import ScopeBankError, ScopeGuard, natural_questions
from .sessions import SessionStore
from .status import status_lead


def clean_question(question: object, max_chars: int) -> str:
    if not isinstance(question, str):
        raise QuestionError("the question must be text")
    q = unicodedata.normalize("NFC", question)
    # Control characters are never meaningful in a question; keep newlines as spaces.
    q = "".join(" " if unicodedata.category(ch) in ("Cc", "Cs") else ch for ch in q).strip()
    q = " ".join(q.split())
    if not q:
        raise QuestionError("the question is empty: please type a question (câu hỏi trống)")
    if len(q) > max_chars:
        raise QuestionError(f"the question is too long ({len(q)} characters; at most {max_chars}): "
                            f"please shorten it (câu hỏi quá dài)")
    return q


log = logging.getLogger("htp")


@dataclass
class Verdict:
    """The refusal decision of one answer and the evidence it rested on (shown in `Answer.evidence`)."""

    reason: str | None = None  # None: answer
    scope_margin: float | None = None
    unstated: AskedConcept | None = None
    # The answerability model's evidence (hybrid answers without a named text) and its probability.
    evidence: np.ndarray | None = None
    p_answerable: float | None = None


@dataclass
class Understanding:
    """What the answer path knows about the question after reading it once."""

    q: str  # the cleaned question
    own: ParsedQuery  # the question on its own
    pq: ParsedQuery  # what is searched: the question, or the question with the previous topic
    ctx: object  # conversation.Contextualized
    lang: str  # the answer's language
    own_res: SearchResult | None  # the question searched on its own, when it may lean on the conversation
    timings: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


FOLLOW_UP_MAX_WORDS = 10
FOLLOW_UP_CONFIDENCE = 0.6


def one_blas_thread() -> None:
    """Keep numpy's BLAS to one thread in a process that answers questions. Its products there are small (a few
    thousand vectors × 384 per question), and an idle OpenBLAS thread spin-waits on the core the embedder needs
    next: on 2 cores, with 1,990 question-bank vectors, embedding a question took ~100 ms instead of ~20 (p50)."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1, user_api="blas")


class Assistant:
    def __init__(self, settings: Settings | None = None, catalog: Catalog | None = None,
                 sessions: SessionStore | None = None):
        self.settings = settings or get_settings()
        self.catalog = catalog or load_catalog()
        s = self.settings
        one_blas_thread()
        self.handle = IndexHandle(s.index_dir, s.embed_backend, s.embed_model, s.chroma_url, s.embed_batch_size,
                                  s.hub_downloads)
        self.retriever = HybridRetriever(self.handle, self.catalog, s.fusion_weight_vi, s.fusion_weight_en,
                                         s.fusion_weight_noaccent, lm_texts=natural_questions(), policy=s.ranking,
                                         ranker=load_ranker(s.ranker_file) if s.ranker_file else None,
                                         examples=self._examples(s), cache_dir=s.cache_dir,
                                         model_id=model_id(s.embed_backend, s.embed_model),
                                         digests=self._digests(s))
        self._sessions = sessions
        self._corpus: Corpus | None = None
        self._corpus_hashes: dict[str, str] | None = None
        self._scope: ScopeGuard | None = None
        self._scope_error: str | None = None
        self.answerability = None  # the fitted refusal model; None: the coverage and margin rules decide
        if s.answerability_file:
            try:
                self.answerability = answerability.load_answerability(s.answerability_file)
            except RankerError as e:
                if s.answerability_file != answerability.MODEL_FILE:
                    raise  # a model the user named must exist
                log.warning("htp: %s; refusing by the coverage and scope-margin rules", e)

    @staticmethod
    def _digests(s: Settings) -> dict[tuple[str, str], str]:
        """The articles' English digests; a file the user named must load, the packaged one may be absent."""
        if not s.digests_file:
            return {}
        try:
            packaged = load_digests(s.digests_file)
        except DigestError as e:
            if s.digests_file != DIGESTS_PATH:
                raise
            log.warning("htp: %s; English questions are ranked without the project's digests", e)
            packaged = {}
        return {**packaged, **local_digests(s.corpus_dir)}  # the deployment's own file must load

    @staticmethod
    def _examples(s: Settings) -> list[Example]:
        """The question bank's examples; a bank the user named must exist, the packaged one may be absent."""
        if not s.question_bank_file:
            return []
        try:
            return load_examples(s.question_bank_file)
        except BankError as e:
            if s.question_bank_file != BANK_FILE:
                raise
            log.warning("htp: %s", e)
            return []

    @property
    def corpus(self) -> Corpus:
        """The parsed texts, reloaded when the served generation was built from other texts, so quotes and
        document pages always match what retrieval searched."""
        try:
            hashes = self.handle.generation().manifest.doc_hashes
        except Exception:  # no index yet: the texts on disk
            hashes = None
        if self._corpus is None or (hashes is not None and hashes != self._corpus_hashes):
            docs = self.settings.documents
            self._corpus = load_corpus(self.settings.corpus_dir, self.catalog, only=set(docs) if docs else None)
            self._corpus_hashes = hashes
        return self._corpus

    @property
    def sessions(self) -> SessionStore:
        if self._sessions is None:
            self._sessions = SessionStore(self.settings.db_url, self.settings.history_turns)
        return self._sessions

    def warm_up(self) -> None:
        """Load everything a first question needs (index, corpus, underthesea, embedder)."""
        gen = self.handle.generation()
        self.retriever.prepare(gen)
        _ = self.corpus
        if self.handle.mode == "hybrid":
            self.handle.embedder().get_query_embedding("khu công nghệ cao")
            if self.scope is not None:
                try:
                    self.scope.vectors()
                except ScopeBankError as e:
                    self._disable_scope(e)
        from indexing.terms import query_terms

        query_terms("Khu công nghệ cao được ưu đãi gì?")

    # ------------------------------------------------------------------------------------------ search
    def search(self, question: str, as_of: dt.date | None = None, k: int = 10) -> tuple[ParsedQuery, SearchResult]:
        q = clean_question(question, self.settings.max_message_chars)
        as_of = as_of or self.settings.today()
        pq = parse_query(q, self.catalog)
        return pq, self.retriever.search(pq, as_of, k)

    # ------------------------------------------------------------------------------------------ answer
    def answer(self, question: str, session_id: str | None = None, as_of: dt.date | None = None,
               language: str | None = None, k: int = 10, record: bool = True,
               history: list[Turn] | None = None, trace: list | None = None) -> Answer:
        """understand → retrieve and rank → judge → compose → record.

        `history` (stateless callers such as the OpenAI-compatible endpoint) replaces the session's turns.
        `trace`: a list that receives the search result the answer rests on, then the verdict (model fitting,
        diagnostics)."""
        t0 = time.perf_counter()
        q = clean_question(question, self.settings.max_message_chars)
        as_of = as_of or self.settings.today()
        if history is None:
            history = []
            if session_id:
                session_id = self.sessions.ensure(session_id)
                history = self.sessions.history(session_id)
        u = self.understand(q, history, as_of, k, language)
        res = self.retrieve(u, as_of, k)
        if trace is not None:
            trace.append(res)
        t = time.perf_counter()
        verdict = self.judge(u, res)
        if trace is not None:
            trace.append(verdict)
        ans = self.compose(u, res, verdict, as_of, k)
        u.timings["compose"] = (time.perf_counter() - t) * 1000
        if session_id and record:
            t = time.perf_counter()
            self.record(session_id, u, ans)
            u.timings["session"] = (time.perf_counter() - t) * 1000
        u.timings["total"] = (time.perf_counter() - t0) * 1000
        ans.timings_ms = {k2: round(v, 2) for k2, v in u.timings.items()}
        return ans

    def understand(self, q: str, history: list[Turn], as_of: dt.date, k: int,
                   language: str | None = None) -> "Understanding":
        """Read the question once (ParsedQuery: language, references, facet asked, cues), and decide whether it
        leans on the conversation."""
        timings: dict[str, float] = {}
        ctx = contextualize(q, history)
        t = time.perf_counter()
        own = parse_query(q, self.catalog)
        timings["normalise"] = (time.perf_counter() - t) * 1000
        own_res = None  # the question searched on its own, when it may lean on the conversation
        if history and not own.refs and len(content_words(q)) <= FOLLOW_UP_MAX_WORDS:
            own_res = self.retriever.search(own, as_of, k)
            # A short question without cues may still lean on the conversation ("BQL trả kết quả trong bao
            # lâu?", "thẻ kim cương thì hơn gì?"): weak evidence, or only just out of scope on its own, it is
            # read with the previous topic.
            if not ctx.follow_up and (self.confidence(own_res, own) < FOLLOW_UP_CONFIDENCE
                                      or self._just_out_of_scope(own, own_res)):
                forced = contextualize(q, history, force=True)
                ctx = forced if forced.follow_up else ctx
        pq = parse_query(ctx.query, self.catalog, own.language) if ctx.follow_up else own
        lang = language if language in ("vi", "en") else own.language
        if ctx.follow_up and own.language != "en" and history:
            lang = language if language in ("vi", "en") else ("en" if history[-1].language == "en" and
                                                              own.accentless else own.language)
        return Understanding(q, own, pq, ctx, lang, own_res, timings)

    def retrieve(self, u: "Understanding", as_of: dt.date, k: int) -> SearchResult:
        """Candidates from both channels, ranked by the fitted model (HybridRetriever.retrieve → rank)."""
        if u.own_res is not None and not u.ctx.follow_up:
            res = u.own_res
        else:
            res = self.retriever.search(u.pq, as_of, k, context_docs=frozenset(u.ctx.context_documents)
                                        if u.ctx.follow_up else frozenset())
        u.timings.update(res.timings_ms)
        return res

    def judge(self, u: "Understanding", res: SearchResult) -> Verdict:
        """Whether to answer, and if not, why (refusal_reason); notes that go with either."""
        pq, own, lang = u.pq, u.own, u.lang
        u.notes = missing_notes(pq.missing_refs, self.catalog, lang) + self._absent_article_notes(own, lang)
        verdict = self._verdict(pq, res, u.ctx.follow_up)
        if verdict.reason is None and u.ctx.follow_up and u.own_res is not None:
            own_margin = self._changed_subject(own, u.own_res, res)
            if own_margin is not None:
                verdict = Verdict("out_of_scope", own_margin)  # the evidence is the question's own margin
        lists = ([a.document for a in res.articles[:3] if self._list_missing(a)]
                 if own.annex and verdict.reason is None and asks_membership(u.q) else [])
        if lists:
            # "Is X on the list?" and the list is an annex the corpus copy lacks: say so instead of guessing.
            verdict = Verdict("not_in_corpus", verdict.scope_margin)
            u.notes += annex_notes(lists, self.catalog, lang)
        if verdict.reason is None and own.refs and all(self._article_absent(r) for r in own.refs):
            verdict = Verdict("no_such_article", verdict.scope_margin)
        if verdict.reason == "not_stated":
            c = verdict.unstated
            u.notes.append(f"The texts found do not state {c.label_en}; the corpus does not hold the document that "
                           f"sets it." if lang == "en" else
                           f"Các văn bản tìm được không quy định {c.label_vi}; kho dữ liệu chưa có văn bản quy định "
                           f"nội dung này.")
        return verdict

    def compose(self, u: "Understanding", res: SearchResult, verdict: Verdict, as_of: dt.date, k: int) -> Answer:
        """The answer object: extractive (or LLM-phrased and citation-checked), with its procedure card."""
        pq, lang, notes = u.pq, u.lang, u.notes
        retrieved = [RetrievedItem(document=a.document, article=a.article, clause=a.best.clause,
                                   score=round(a.score, 4), provision_id=a.best.node_id, in_force=a.in_force)
                     for a in res.articles[:k]]
        common = dict(question=u.q, language=lang, retrieved=retrieved, as_of=as_of.isoformat(), mode=res.mode,
                      search_query=u.ctx.query, follow_up=u.ctx.follow_up, facets=sorted(pq.facets))
        if verdict.reason is not None:
            ans = Answer(answer=refusal_text(lang, notes), refused=True, notes=notes,
                         refusal_reason=verdict.reason, **common)
        else:
            pol = self.settings.ranking
            chosen = choose(self.corpus, self.catalog, res.articles, pq, as_of,
                            sibling_ratio=self.settings.sibling_clause_ratio,
                            pinned=frozenset((t.document, t.article) for t in res.status),
                            secondary_min=pol.secondary_min, secondary_ratio=pol.secondary_ratio,
                            links=self.retriever.amendments())
            cits = [to_citation(c, self.catalog, as_of, lang, i + 1) for i, c in enumerate(chosen)]
            for c in cits:
                d = self.retriever.digests.get((c.document, c.article))
                c.heading_en = heading(d) if d else None
            found = {(a.document, a.article) for a in res.articles[:k]}
            notes = (validity_notes(cits, self.catalog, as_of, lang)
                     + amendment_notes(cits, self.retriever.amendments(), found, self.catalog, as_of, lang) + notes)
            if u.own.annex:
                notes += annex_notes([c.document for c in cits], self.catalog, lang)
            # Weak: no candidate near the top is likely to answer (the lead may be a policy's choice among them).
            weak = bool(res.articles) and max(a.score for a in res.articles[:3]) < pol.weak_lead
            lead, text = compose_text(cits, lang, notes, self._status_preface(res, cits, as_of, lang),
                                      pq.facets, pq.quantity, weak)
            ans = Answer(answer=text, refused=False, citations=cits, lead=lead, notes=notes, **common)
            if u.own.procedural or pq.procedural:
                ans.procedure = self._card(chosen)
            if self.settings.llm_base_url and self.settings.llm_model:
                from .llm import llm_answer

                ans = llm_answer(self.settings, ans)
        ans.evidence = {k2: round(v, 4) for k2, v in self._evidence(pq, res, verdict).items()}
        ans.restored_query = res.restored or None
        ans.answer_id = uuid.uuid4().hex
        return ans

    def record(self, session_id: str, u: "Understanding", ans: Answer) -> None:
        ans.session_id = session_id
        turn = Turn(u.q, u.ctx.query[:600], u.lang, [c.document for c in ans.citations], ans.refused)
        self.sessions.add_turn(session_id, turn, ans.answer_id, ans.model_dump_json())

    @staticmethod
    def _card(chosen) -> ProcedureCard | None:
        """A procedure card only from cited clauses that state a dossier, an authority, a time limit or a step
        (a transition clause that mentions a certificate makes no card)."""
        units = []
        for c in chosen:
            if len({(x[0], x[1].number) for x in units}) >= 2:
                break
            text = best_text(c.article, c.clause.number if c.clause else None)
            if stated_facets(text) & CARD_FACETS:
                units.append((c.meta.number, c.article, c.meta.short, c.clause.number if c.clause else None))
        card = extract_card(units) if units else None
        return card if card is not None and not card.empty() else None

    def stream(self, question: str, session_id: str | None = None, as_of: dt.date | None = None,
               language: str | None = None) -> Iterator[tuple[str, object]]:
        """Events of one answer: ('meta', Answer) first for metadata, then ('delta', text) chunks,
        ('citation', Citation) per cited provision and ('done', Answer)."""
        ans = self.answer(question, session_id=session_id, as_of=as_of, language=language)
        yield "meta", ans
        text = ans.answer
        step = 48
        for i in range(0, len(text), step):
            yield "delta", text[i:i + step]
        for c in ans.citations:
            yield "citation", c
        yield "done", ans

    # ------------------------------------------------------------------------------------------ helpers
    def _verdict(self, pq: ParsedQuery, res: SearchResult, follow_up: bool = False) -> Verdict:
        """Whether to refuse, and why; each piece of evidence is computed once, in this order."""
        if not res.articles:
            return Verdict("weak_evidence")
        if pq.missing_refs and not pq.refs:
            if any(t.about in pq.missing_refs for t in res.status):
                return Verdict()  # its status is stated by a text held: answered from that provision
            return Verdict("not_in_corpus")  # a text the corpus does not hold: say so, cite nothing
        if any(r.article for r in pq.refs) and res.articles[0].best.document in {r.number for r in pq.refs}:
            return Verdict()  # an explicit "Điều N <document>" that exists is always answered
        if pq.language == "en" and pq.expanded == pq.text:
            return Verdict("out_of_scope")  # no word of the question is in the domain glossary
        if pq.refs:
            return Verdict("weak_evidence" if self._weak(pq, res) else None)
        margin = self.scope_margin(pq, res)
        x = self._answerability_evidence(pq, res, margin, follow_up)
        if x is not None and self.answerability is not None:
            # One fitted decision on all the evidence (assistant/ranking/answerable.py); the reason says which
            # side of the scope threshold the question fell.
            p = float(self.answerability.scores(x[None, :])[0])
            refused = p < answerability.threshold(self.answerability)
            if refused and margin > self.scope_threshold(pq):
                return Verdict("out_of_scope", margin, evidence=x, p_answerable=p)
            # Refused within scope, it goes on to the figure check below: a fee no provision found states is
            # the more specific refusal (not_stated) than "no provision found".
            verdict = Verdict("weak_evidence" if refused else None, margin, evidence=x, p_answerable=p)
        else:
            if margin is not None and margin > self.scope_threshold(pq) and not self._answerable(res):
                return Verdict("out_of_scope", margin, evidence=x)
            if self._weak(pq, res):  # after the scope check: a bank found broken there raises the threshold
                return Verdict("weak_evidence", margin, evidence=x)
            verdict = Verdict(None, margin, evidence=x)
        nodes = self.handle.generation().nodes
        texts = [nodes[h.node_id].text for a in res.articles[:3] for h in a.clauses[:2] if h.node_id in nodes]
        asked = unstated(pq.text, texts)  # a fine, fee or tax bracket none of the best provisions mentions
        return replace(verdict, reason="not_stated", unstated=asked) if asked else verdict

    def _answerability_evidence(self, pq: ParsedQuery, res: SearchResult, margin: float | None,
                                follow_up: bool) -> np.ndarray | None:
        """The answerability model's features; None without a scope margin (lexical mode, scope check off)."""
        if margin is None or res.mode != "hybrid":
            return None
        bank = self.retriever.question_bank(self.handle.generation()) if res.query_vector is not None else None
        if bank is not None:
            bank_margin = bank.judge_margin(res.query_vector, self.retriever.bank_exclude)
        else:  # the bank switched off (HTP_QUESTION_BANK_FILE=): the training mean weighs neither way
            bank_margin = float(self.answerability.mean[answerability.BANK_MARGIN]) if self.answerability else 0.0
        return answerability.features(
            scores=[a.score for a in res.articles[:3]], coverage=res.coverage,
            confidence=self.confidence(res, pq), scope_excess=margin - self.scope_threshold(pq),
            top_dense=res.top_dense, en=pq.language == "en", accentless=pq.accentless, follow_up=follow_up,
            words=len(content_words(pq.text)), bank_margin=bank_margin)

    def _scope_excess(self, pq: ParsedQuery, res: SearchResult) -> float | None:
        """How far the question's scope margin lies above its refusal threshold (None: no scope check)."""
        margin = self.scope_margin(pq, res)
        return None if margin is None else margin - self.scope_threshold(pq)

    def _just_out_of_scope(self, pq: ParsedQuery, res: SearchResult) -> bool:
        excess = self._scope_excess(pq, res)
        return excess is not None and 0 < excess <= self.settings.follow_up_scope_slack

    def _changed_subject(self, own: ParsedQuery, own_res: SearchResult, res: SearchResult) -> float | None:
        """A question read as a follow-up ("thời tiết hôm nay thế nào?" after a tax question) that is clearly out
        of scope on its own, and whose own words the previous topic's provisions do not contain, changed the
        subject: it is refused instead of being answered with the previous topic. Returns its own scope margin
        then, else None."""
        excess = self._scope_excess(own, own_res)
        if excess is None or excess <= self.settings.follow_up_scope_slack or not res.articles:
            return None
        # English words never occur in the Vietnamese texts: an English question is judged on its glossary terms.
        words = replace(own, expanded=own.expanded[len(own.text):]) if own.language == "en" else own
        if self.retriever.coverage(words, res.articles[0]) >= self.settings.follow_up_own_coverage:
            return None
        return excess + self.scope_threshold(own)

    def _answerable(self, res: SearchResult) -> bool:
        """Scope by answerability, not topic resemblance: a question that looks like the near-domain examples
        (overtime, dismissal, land …) is still answered when the ranker is confident that a provision answers it
        and the provision covers the question's words."""
        pol = self.settings.ranking
        return bool(res.articles) and res.articles[0].score >= pol.scope_override and \
            res.coverage >= pol.scope_override_coverage

    def _weak(self, pq: ParsedQuery, res: SearchResult) -> bool:
        """Word coverage below the threshold, unless the ranker is confident: a chatty question ("Bên em là DN
        trong KCNC TP.HCM, chuẩn bị xin GPLĐ cho kỹ sư …") dilutes coverage without being any less answerable."""
        if res.articles and res.articles[0].score >= self.settings.ranking.weak_override:
            return False
        return self.confidence(res, pq) < self.refusal_threshold(pq)

    # ---- scope (nearest example questions in the embedding space) ----------------------------------------
    @property
    def scope(self) -> ScopeGuard | None:
        if self._scope_error is not None:
            return None
        if self._scope is None and self.settings.scope_check and self.handle.mode == "hybrid":
            s = self.settings
            self._scope = ScopeGuard(self.handle.embedder(), model_id(s.embed_backend, s.embed_model),
                                     s.cache_dir, k=s.scope_k)
        return self._scope

    @property
    def scope_error(self) -> str | None:
        """Why the scope check is off although configured (a bank that cannot be read), else None."""
        return self._scope_error

    def scope_margin(self, pq: ParsedQuery, res: SearchResult) -> float | None:
        guard = self.scope
        if guard is None:
            return None
        try:
            # The search's own embedding is reused (no second model call while the investor waits): Vietnamese
            # with its abbreviations written out ("GPLĐ" → "giấy phép lao động": the examples near the boundary
            # differ by such words), English with its glossary terms (dense_query_text).
            if res.query_vector is not None:
                return guard.judge_vector(np.asarray(res.query_vector, dtype=np.float32)).margin
            return guard.judge(pq.text if pq.language == "en" else spell_out(res.restored or pq.text)).margin
        except ScopeBankError as e:
            self._disable_scope(e)
            return None

    def _disable_scope(self, e: ScopeBankError) -> None:
        # A broken installation must not stop answers: refuse on word coverage alone, and say why once.
        self._scope_error = str(e)
        log.warning("htp: scope check disabled: %s", e)

    def scope_threshold(self, pq: ParsedQuery) -> float:
        s = self.settings
        if pq.language == "en":
            return s.scope_margin_en
        return s.scope_margin_noaccent if pq.accentless else s.scope_margin_vi

    def _evidence(self, pq: ParsedQuery, res: SearchResult, verdict: Verdict) -> dict[str, float]:
        out = {"coverage": res.coverage, "confidence": self.confidence(res, pq)}
        if res.mode == "hybrid":
            out["top_dense"] = res.top_dense
        if verdict.scope_margin is not None:
            out["scope_margin"] = verdict.scope_margin
        if verdict.p_answerable is not None:
            out["answerable"] = verdict.p_answerable
        return out

    def refusal_threshold(self, pq: ParsedQuery) -> float:
        # Folded words match more loosely than accented ones, so accentless questions need more coverage.
        base = self.settings.refusal_threshold
        if self.scope is None:
            # Without the scope check (lexical mode while embeddings build, or switched off) word coverage is
            # the only evidence, and off-topic questions must be stopped by it.
            base = max(base, self.settings.refusal_threshold_no_scope)
        if pq.language == "en":
            # English evidence is only the dense neighbour and the glossary: weak, so refuse only clear misses.
            return base * 0.4
        return base + 0.10 if pq.accentless else base

    @staticmethod
    def confidence(res: SearchResult, pq: ParsedQuery) -> float:
        """Evidence strength in [0, 1]. Vietnamese: the IDF-weighted share of the question's words found in the
        best article (rare, informative words decide). English words are not in the Vietnamese texts, so the
        dense neighbour decides there (e5 cosines live in a narrow band: 0.80 is weak, 0.90 strong)."""
        if pq.language != "en" or res.mode != "hybrid":
            return res.coverage
        dense = min(1.0, max(0.0, (res.top_dense - 0.80) / 0.10))
        return 0.5 * res.coverage + 0.5 * dense

    def _status_preface(self, res: SearchResult, cits, as_of: dt.date, lang: str) -> str | None:
        """A question on a named text's status gets its answer first, in plain words, pointing at the cited
        provision that grounds it (the one that ends the text, or its own effect or transition article)."""
        for t in res.status:
            index = next((c.index for c in cits if (c.document, c.article) == (t.document, t.article)), None)
            if index is not None:
                return status_lead(t, self.catalog, as_of, lang, index)
        return None

    def _list_missing(self, hit) -> bool:
        """The article issues or refers to a list (an annex) that its document's corpus copy lacks."""
        meta = self.catalog.by_number(hit.document)
        if meta is None or not any(a.kind == "list" for a in meta.missing_annexes):
            return False
        doc = self.corpus.get(hit.document)
        art = doc.article(hit.article) if doc is not None else None
        return art is not None and mentions_annex(art.full_text())

    def _article_absent(self, ref) -> bool:
        doc = self.corpus.get(ref.number)
        return bool(ref.article) and doc is not None and doc.article(ref.article) is None

    def _absent_article_notes(self, pq: ParsedQuery, lang: str) -> list[str]:
        """"Điều 99 Luật Công nghệ cao 2025" does not exist; "Điều 49 NĐ 10/2024" is missing from the source."""
        out = []
        for r in pq.refs:
            if not self._article_absent(r):
                continue
            doc = self.corpus.get(r.number)
            arts = doc.parsed.articles
            span = f"{arts[0].number}–{arts[-1].number}" if arts else "-"
            if r.article in doc.meta.known_gaps:
                out.append(f"Article {r.article} of {r.number} is missing from the copy in the corpus (a known gap)."
                           if lang == "en" else
                           f"Điều {r.article} {r.number} không có trong bản văn bản của kho dữ liệu (thiếu ở bản nguồn).")
            else:
                out.append(f"{r.number} has no Article {r.article} (its articles run {span})." if lang == "en" else
                           f"{r.number} không có Điều {r.article} (văn bản gồm Điều {span}).")
        return out
