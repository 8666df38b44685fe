"""The project's own knowledge about each document: numbers, dates, validity and relations.

Lives in ``corpus/catalog.yaml`` (committed); the texts themselves are read from ``HTP_CORPUS_DIR``.
"""
from __future__ import annotations

import datetime as dt
import os
import unicodedata
from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError

CATALOG_PATH = Path(__file__).with_name("catalog.yaml")
# Entries a deployment adds (`htp corpus add --apply`) live beside its texts, merged over the project's catalog.
LOCAL_CATALOG_NAME = "catalog.local.yaml"


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
    """A document no text of the corpus ends, whose legal basis has nevertheless gone (e.g. the law it details).
    With ``doubt_kind: amendments_missing`` beside it in the entry: the corpus copy lacks later amendments (kept as
    an extra key of the entry so the catalog's dump, hence every index fingerprint, is unchanged for the others)."""

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


class DocumentUpdate(BaseModel):
    """What a newer text says about a document already catalogued (drafted by `htp corpus add`): relations are
    added to its entry, a date or basis is set where the entry has none. Never stored in the dump."""

    model_config = ConfigDict(extra="forbid")
    number: str
    expires: dt.date | None = None
    status_basis: str | None = None
    status: str | None = None  # for a document not in the corpus (not_in_corpus)
    replaced_by: list[Relation] = []
    amended_by: list[Relation] = []
    transition: Transition | None = None
    article_validity: list[ArticleValidity] = []
    source: str | None = None  # "263/2026/NĐ-CP Điều 24 k2": the provision the update was drafted from


class Catalog(BaseModel):
    version: int = 1
    documents: list[DocumentMeta]
    not_in_corpus: list[MissingDocument] = []
    # Applied at load (see merge_updates) and emptied: excluded from dumps, so index fingerprints are unchanged.
    updates: list[DocumentUpdate] = Field(default_factory=list, exclude=True)
    _conflicts: list[str] = PrivateAttr(default_factory=list)
    _sources: list[str] = PrivateAttr(default_factory=list)

    @property
    def conflicts(self) -> list[str]:
        """Problems found merging the catalog files ("file:line: …"); the entry loaded first was kept."""
        return self._conflicts

    @property
    def sources(self) -> list[str]:
        """The catalog files merged, project's first."""
        return self._sources

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


def default_corpus_dir() -> Path:
    """HTP_CORPUS_DIR, or ../shared/corpus (as assistant.config resolves it; corpus must not import assistant)."""
    env = os.environ.get("HTP_CORPUS_DIR")
    if env:
        return Path(env)
    for candidate in (Path.cwd() / ".." / "shared" / "corpus", Path(__file__).resolve().parents[1] / ".." / "shared"
                      / "corpus"):
        if candidate.is_dir():
            return candidate.resolve()
    return Path(__file__).resolve().parents[2] / "shared" / "corpus"


def local_catalog_path(corpus_dir: Path | str | None = None) -> Path:
    return Path(corpus_dir or default_corpus_dir()) / LOCAL_CATALOG_NAME


def load_catalog(path: Path | str | None = None, corpus_dir: Path | str | None = None,
                 overlay: bool | None = None) -> Catalog:
    """The project's catalog (or `path`), merged with `<corpus_dir>/catalog.local.yaml` when there is one.

    `overlay` defaults to True when no explicit `path` is given or a `corpus_dir` is. A broken file raises
    CatalogError naming file:line; conflicts between the files are kept in ``catalog.conflicts``."""
    path = Path(path) if path else CATALOG_PATH
    if overlay is None:
        overlay = path == CATALOG_PATH or corpus_dir is not None
    local = local_catalog_path(corpus_dir) if overlay else None
    if local is not None and (not local.is_file() or local.resolve() == path.resolve()):
        local = None
    return _load(str(path), _mtime(path), str(local) if local else None, _mtime(local) if local else 0)


def _mtime(path: Path | None) -> int:
    try:
        return path.stat().st_mtime_ns if path else 0
    except OSError:
        return 0


def read_catalog_file(path: Path | str) -> tuple[dict, dict[tuple[str, str], int]]:
    """(data, {(section, number): line}) of one catalog file; CatalogError with file:line when it is broken."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError as e:
        raise CatalogError(f"{path}: catalog not found") from e
    except UnicodeDecodeError as e:
        raise CatalogError(f"{path}: not UTF-8 text ({e.reason} at byte {e.start})") from e
    try:
        data = yaml.safe_load(text)
        node = yaml.compose(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise CatalogError(f"{where}: invalid YAML: {e}") from e
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise CatalogError(f"{path}:1: a catalog is a mapping with 'documents', 'not_in_corpus', 'updates'")
    lines: dict[tuple[str, str], int] = {}
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if isinstance(value, yaml.SequenceNode):
                for item in value.value:
                    if isinstance(item, yaml.MappingNode):
                        for k, v in item.value:
                            if k.value == "number" and isinstance(v, yaml.ScalarNode):
                                lines.setdefault((key.value, normalize_number(v.value)), item.start_mark.line + 1)
    return data, lines


def _validate(data: dict, path: str, lines: dict[tuple[str, str], int]) -> Catalog:
    data.setdefault("documents", [])
    try:
        return Catalog.model_validate(data)
    except ValidationError as e:
        err = e.errors()[0]
        loc = err.get("loc", ())
        where = path
        if len(loc) >= 2 and isinstance(loc[1], int):
            try:
                item = data[loc[0]][loc[1]]
                number = normalize_number(str(item.get("number", ""))) if isinstance(item, dict) else ""
                if (loc[0], number) in lines:
                    where = f"{path}:{lines[(loc[0], number)]}"
            except (KeyError, IndexError, TypeError):
                pass
        raise CatalogError(f"{where}: {'.'.join(str(x) for x in loc)}: {err.get('msg')} "
                           f"({len(e.errors())} problem(s))") from e


@lru_cache(maxsize=8)
def _load(path: str, _mtime_base: int = 0, local: str | None = None, _mtime_local: int = 0) -> Catalog:
    data, lines = read_catalog_file(path)
    catalog = _validate(data, path, lines)
    catalog._sources.append(path)
    where = {k: f"{path}:{v}" for k, v in lines.items()}
    if local:
        ldata, llines = read_catalog_file(local)
        extra = _validate(ldata, local, llines)
        catalog._sources.append(local)
        merge_into(catalog, extra, where, {k: f"{local}:{v}" for k, v in llines.items()})
    apply_updates(catalog, where)
    return catalog


def merge_into(base: Catalog, extra: Catalog, base_where: dict[tuple[str, str], str],
               extra_where: dict[tuple[str, str], str]) -> None:
    """Adds `extra`'s entries to `base`. A document number both describe is a conflict: base's entry is kept."""
    held = {normalize_number(d.number): d for d in base.documents}
    for d in extra.documents:
        key = normalize_number(d.number)
        here = extra_where.get(("documents", key), "?")
        if key in held:
            base._conflicts.append(f"{here}: document {d.number} is already described at "
                                   f"{base_where.get(('documents', key), '?')}: the first entry is kept")
            continue
        held[key] = d
        base.documents.append(d)
        base_where[("documents", key)] = here
    missing = {normalize_number(m.number) for m in base.not_in_corpus}
    for m in extra.not_in_corpus:
        key = normalize_number(m.number)
        if key in missing:
            base._conflicts.append(f"{extra_where.get(('not_in_corpus', key), '?')}: {m.number} is already listed "
                                   f"as not in the corpus at {base_where.get(('not_in_corpus', key), '?')}: "
                                   "the first entry is kept")
            continue
        missing.add(key)
        base.not_in_corpus.append(m)
        base_where[("not_in_corpus", key)] = extra_where.get(("not_in_corpus", key), "?")
    for u in extra.updates:
        base.updates.append(u)
        base_where.setdefault(("updates", normalize_number(u.number)),
                              extra_where.get(("updates", normalize_number(u.number)), "?"))
    base._conflicts.extend(extra._conflicts)


def apply_updates(catalog: Catalog, where: dict[tuple[str, str], str] | None = None) -> None:
    """Applies and empties ``catalog.updates``; a document the corpus now holds leaves ``not_in_corpus``."""
    where = where or {}
    held = {normalize_number(d.number) for d in catalog.documents}
    catalog.not_in_corpus = [m for m in catalog.not_in_corpus if normalize_number(m.number) not in held]
    for u in catalog.updates:
        here = where.get(("updates", normalize_number(u.number)), "?")
        doc = catalog.by_number(u.number)
        if doc is not None:
            _update_document(doc, u, here, where, catalog._conflicts)
            continue
        miss = catalog.missing(u.number)
        if miss is None:
            catalog._conflicts.append(f"{here}: update of {u.number}, a document the catalog does not know: ignored")
            continue
        if u.status and not miss.status:
            miss.status = u.status
        ends = [r for r in u.replaced_by if r.content]
        if ends and not miss.replaced_by:
            miss.replaced_by = ends[0].number
        elif ends and normalize_number(miss.replaced_by or "") != normalize_number(ends[0].number):
            catalog._conflicts.append(f"{here}: {u.number} replaced by {ends[0].number} conflicts with "
                                      f"{where.get(('not_in_corpus', normalize_number(u.number)), '?')} "
                                      f"({miss.replaced_by}): the first is kept")
    catalog.updates = []


def _update_document(doc: DocumentMeta, u: DocumentUpdate, here: str, where: dict, conflicts: list[str]) -> None:
    there = where.get(("documents", normalize_number(doc.number)), "?")
    for field in ("expires", "status_basis", "transition"):
        new = getattr(u, field)
        old = getattr(doc, field)
        if new is None:
            continue
        if old is None:
            setattr(doc, field, new)
        elif old != new and field == "expires":
            conflicts.append(f"{here}: {doc.number} {field} {new} conflicts with {there} ({old}): the first is kept")
    for field in ("replaced_by", "amended_by"):
        have = {normalize_number(r.number): r for r in getattr(doc, field)}
        for r in getattr(u, field):
            old = have.get(normalize_number(r.number))
            if old is None:
                getattr(doc, field).append(r)
                have[normalize_number(r.number)] = r
            elif r.from_ and old.from_ is None:
                old.from_ = r.from_  # the date the newer text states, where the entry had none
            elif r.from_ and old.from_ and r.from_ != old.from_:
                conflicts.append(f"{here}: {doc.number} {field} {r.number} from {r.from_} conflicts with {there} "
                                 f"(from {old.from_}): the first is kept")
    for rule in u.article_validity:
        if not any(set(rule.articles) & set(r.articles) for r in doc.article_validity):
            doc.article_validity.append(rule)
