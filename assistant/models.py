"""Typed objects at the boundaries. ``Answer`` is the stable machine-readable contract of `htp ask --json`.

Contract (do not break; extend only): question, answer, refused, language, citations[{document, title, article,
clause, point, quote, in_force, status_note}], retrieved[{document, article, clause, score}].
"""
from __future__ import annotations

from pydantic import BaseModel, Field


class Citation(BaseModel):
    document: str = Field(description="number as written in the law, e.g. 10/2024/NĐ-CP")
    title: str
    article: str = Field(description='article number as a string: "22", "28a"')
    clause: str | None = None
    point: str | None = None
    quote: str
    in_force: bool
    status_note: str
    # Extensions (additive)
    provision_id: str
    citation: str = Field(description="full citation in legal style")
    short: str = Field(description="short form for chips")
    low_confidence: bool = False
    validity_doubt: bool = Field(default=False, description="no repeal in the corpus, but its legal basis has gone: "
                                                            "status_note says why")
    index: int = Field(default=0, description="1-based number used in the answer text")
    reason: str = Field(default="ranked", description="why it is cited: top_ranked, states_facet, states_quantity, "
                                                      "runner_up_clause, also_ranked, status_provision, "
                                                      "amendment")
    facets: list[str] = Field(default_factory=list, description="what the provision states: dossier, authority, "
                                                                  "time_limit, duration, rate, conditions …")
    score: float = Field(default=0.0, description="the ranker's probability that its article answers")
    heading_en: str | None = Field(default=None, description="the article's heading in English: the project's "
                                                             "unofficial rendering (corpus/digests_en.jsonl), "
                                                             "None when none is held")


class RetrievedItem(BaseModel):
    document: str
    article: str
    clause: str | None = None
    score: float
    # Extensions
    provision_id: str = ""
    in_force: bool = True


class ProcedureField(BaseModel):
    value: str
    provision_id: str
    short: str


class ProcedureCard(BaseModel):
    authority: list[ProcedureField] = []
    documents: list[ProcedureField] = []
    time_limit: list[ProcedureField] = []
    result: list[ProcedureField] = []

    def empty(self) -> bool:
        return not (self.authority or self.documents or self.time_limit or self.result)


class Answer(BaseModel):
    question: str
    answer: str
    refused: bool
    language: str
    citations: list[Citation] = []
    retrieved: list[RetrievedItem] = []
    # Extensions
    as_of: str = ""
    mode: str = Field(default="lexical", description="lexical | hybrid | llm")
    lead: str = ""
    notes: list[str] = []
    procedure: ProcedureCard | None = None
    search_query: str = ""
    restored_query: str | None = Field(default=None, description="an accentless question with its accents restored")
    follow_up: bool = False
    timings_ms: dict[str, float] = {}
    # Why a question was refused: out_of_scope (nearer other fields than the corpus), weak_evidence (the best
    # provision covers too little of it), not_stated (it asks for a fine, fee or tax bracket no provision found
    # states), not_in_corpus (it names a text the corpus lacks), no_such_article.
    refusal_reason: str | None = None
    evidence: dict[str, float] = Field(default_factory=dict, description="coverage, scope_margin, top_dense, "
                                                                         "confidence (the lead's ranker probability)")
    facets: list[str] = Field(default_factory=list, description="what the question asks: dossier, authority, "
                                                                  "time_limit, duration, rate, conditions …")
    session_id: str | None = None
    answer_id: str | None = None


class QuestionError(ValueError):
    """A question that cannot be answered as given (empty, too long, not text)."""
