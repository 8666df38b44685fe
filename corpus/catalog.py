"""The project's own knowledge about each document: numbers, dates, validity and relations.

Lives in ``corpus/catalog.yaml`` (committed); the texts themselves are read from ``HTP_CORPUS_DIR``.
"""
from __future__ import annotations

import datetime as dt
import unicodedata
from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

CATALOG_PATH = Path(__file__).with_name("catalog.yaml")


class Relation(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)
    number: str
    from_: dt.date | None = Field(default=None, alias="from")
    note: str | None = None
    # False: the newer text only repeals this one; its own matter is different (NĐ 263/2026 on hi-tech
    # agriculture zones repeals NĐ 10/2024 on hi-tech parks), so it is no successor to rank in its place.
    content: bool = True


class Transition(BaseModel):
    model_config = ConfigDict(extra="allow")
    number: str
    article: str | None = None
    note: str | None = None


class ArticleValidity(BaseModel):
    model_config = ConfigDict(extra="allow")
    articles: list[str]
    effective: dt.date | None = None
    expires: dt.date | None = None
    note: str | None = None


class Consolidation(BaseModel):
    model_config = ConfigDict(extra="allow")
    number: str
    date: dt.date | None = None


class ValidityDoubt(BaseModel):
    """A document no text of the corpus ends, whose legal basis has nevertheless gone (e.g. the law it details)."""

    model_config = ConfigDict(extra="forbid")
    since: dt.date
    vi: str
    en: str


class MissingAnnex(BaseModel):
    """An annex (phụ lục) the document has but the corpus copy lacks: the rule can be cited, the list cannot."""

    name: str  # as the text names it: "Phụ lục I"
    kind: str = "list"  # list | forms | other: only a missing list makes "is X on it?" unanswerable
    vi: str  # what it holds, in Vietnamese
    en: str


class DocumentMeta(BaseModel):
    model_config = ConfigDict(extra="allow")
    number: str
    type: str
    title: str
    title_en: str | None = None
    short: str
    aliases: list[str] = []
    issuer: str | None = None
    issued: dt.date | None = None
    effective: dt.date | None = None
    expires: dt.date | None = None
    status_basis: str | None = None
    replaced_by: list[Relation] = []
    amended_by: list[Relation] = []
    transition: Transition | None = None
    article_validity: list[ArticleValidity] = []
    file: str
    consolidated: Consolidation | None = None
    confidence: str = "high"
    partial: bool = False
    known_gaps: list[str] = []
    missing_annexes: list[MissingAnnex] = []
    validity_doubt: ValidityDoubt | None = None
    notes: str | None = None
    topics: list[str] = []

    @property
    def low_confidence(self) -> bool:
        return self.confidence != "high"


class MissingDocument(BaseModel):
    """A document users ask about that the corpus does not hold."""

    model_config = ConfigDict(extra="allow")
    number: str
    title: str
    short: str | None = None
    aliases: list[str] = []
    status: str | None = None
    replaced_by: str | None = None
    note: str | None = None


class Catalog(BaseModel):
    version: int = 1
    documents: list[DocumentMeta]
    not_in_corpus: list[MissingDocument] = []

    def by_number(self, number: str) -> DocumentMeta | None:
        key = normalize_number(number)
        for d in self.documents:
            if normalize_number(d.number) == key:
                return d
        return None

    def missing(self, number: str) -> MissingDocument | None:
        key = normalize_number(number)
        for d in self.not_in_corpus:
            if normalize_number(d.number) == key:
                return d
        return None

    def by_file(self, file: str) -> DocumentMeta | None:
        for d in self.documents:
            if d.file == file:
                return d
        return None

    def title_of(self, number: str) -> str:
        d = self.by_number(number) or self.missing(number)
        return d.title if d else number


class CatalogError(ValueError):
    pass


def normalize_number(number: str) -> str:
    """'10/2024/nđ-cp', '10/2024/ND-CP' and '10/2024/NĐ-CP' are one key."""
    s = unicodedata.normalize("NFC", number).strip().upper().replace("Đ", "D").replace(" ", "")
    return s


def load_catalog(path: Path | str | None = None) -> Catalog:
    path = Path(path) if path else CATALOG_PATH
    return _load(str(path))


@lru_cache(maxsize=4)
def _load(path: str) -> Catalog:
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError as e:
        raise CatalogError(f"{path}: catalog not found") from e
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else path
        raise CatalogError(f"{where}: invalid YAML: {e}") from e
    try:
        return Catalog.model_validate(data)
    except ValidationError as e:
        raise CatalogError(f"{path}: {e}") from e
