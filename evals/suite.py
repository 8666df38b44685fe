"""Evaluation suites: JSONL question sets, validated strictly so that a typo never silently skews a metric.

A suite line is one JSON object::

    {"id": "dev-001", "question": "...", "lang": "vi" | "vi-noaccent" | "en",
     "relevant": [{"document": "133/2025/QH15", "article": "22", "clause": "3"}], "answerable": true,
     "follow_up_of": "dev-000"?, "as_of": "2026-06-01"?, "must_cite_current": "133/2025/QH15"?, "tags": [..]?}

Every problem of every file is reported as ``file:line: reason`` in one :class:`SuiteError`.

The publisher Q&A set (``tvpl-qa.jsonl``, lines with ``cited`` instead of ``relevant``) is read by
:func:`load_tvpl`; see its docstring for how its citations become expectations.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from corpus.catalog import Catalog, load_catalog

LANGS = ("vi", "vi-noaccent", "en")
REQUIRED: dict[str, type | tuple[type, ...]] = {"id": str, "question": str, "lang": str, "relevant": list,
                                                 "answerable": bool}
OPTIONAL: dict[str, type | tuple[type, ...]] = {"follow_up_of": str, "as_of": str, "must_cite_current": str,
                                                 "tags": list, "note": str}
REPO = Path(__file__).resolve().parents[1]
TVPL_FILE = "tvpl-qa.jsonl"
# The suites the ranker and the answerability model are fitted on (`htp eval fit-ranker`, `fit-judge`); those of
# HELD_OUT_SUITES are never among them.
TRAIN_SUITES = ["dev", "followup", "validity", "holdout", "fresh", "tvpl", "scenario", "unanswerable", "unanswerable_b",
                "unanswerable_c", "unanswerable_d", "coverage_a", "coverage_b", "coverage_c", "coverage_d",
                "coverage_e", "coverage_f", "coverage_g", "coverage_h", "coverage_i", "coverage_j", "coverage_k",
                "coverage_l", "coverage_m"]
# Questions no model or bank has seen, written by people who saw neither the product nor the other suites: the three
# blind suites, the paraphrase sets, and a round of coverage and out-of-scope suites (stop 27) kept out of the fit
# because adding them lowered the leave-one-suite-out figure of the suites written as investors' traffic.
HELD_OUT_SUITES = ["blind", "blind_b", "blind_c", "paraphrase",
                   "coverage_n", "coverage_o", "coverage_p", "unanswerable_e"]
# The publisher's answers were collected from a repository snapshot of 19/12/2025: their citations are the law
# in force the day before, unless a line says otherwise.
TVPL_DEFAULT_AS_OF = dt.date(2025, 12, 18)


class SuiteError(ValueError):
    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__(f"{len(problems)} problem(s) in evaluation suites:\n" + "\n".join(problems))


@dataclass(frozen=True)
class Gold:
    document: str
    article: str
    clause: str | None = None

    @property
    def key(self) -> tuple[str, str]:
        return (self.document, self.article)


@dataclass
class Item:
    id: str
    question: str
    lang: str
    relevant: list[Gold]
    # None: the expectation is unknown (publisher items whose cited law is not in the corpus): neither
    # retrieval nor refusal is scored for them, only citation validity and currency.
    answerable: bool | None
    suite: str
    source: str  # file:line
    follow_up_of: str | None = None
    as_of: dt.date | None = None
    must_cite_current: str | None = None
    tags: list[str] = field(default_factory=list)

    @property
    def uid(self) -> str:
        return f"{self.suite}:{self.id}"

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "suite": self.suite, "question": self.question, "lang": self.lang,
                "relevant": [g.__dict__ for g in self.relevant], "answerable": self.answerable,
                "follow_up_of": self.follow_up_of, "as_of": self.as_of.isoformat() if self.as_of else None,
                "must_cite_current": self.must_cite_current, "tags": self.tags, "source": self.source}


def suite_name(path: Path) -> str:
    return "tvpl" if path.name == TVPL_FILE else path.stem


def _type_name(t: type | tuple[type, ...]) -> str:
    names = {str: "string", bool: "boolean", list: "list", dict: "object"}
    ts = t if isinstance(t, tuple) else (t,)
    return " or ".join(names.get(x, x.__name__) for x in ts)


def _check_type(where: str, key: str, value: Any, want: type | tuple[type, ...], problems: list[str]) -> bool:
    if isinstance(value, want) and not (want is not bool and isinstance(value, bool)):
        return True
    problems.append(f"{where}: field '{key}' must be a {_type_name(want)}, got {type(value).__name__} "
                    f"{json.dumps(value, ensure_ascii=False)[:40]}")
    return False


def _parse_item(d: dict, where: str, suite: str, catalog: Catalog, seen: set[str], problems: list[str]) -> Item | None:
    n0 = len(problems)
    for key, want in REQUIRED.items():
        if key not in d:
            problems.append(f"{where}: missing field '{key}'")
        else:
            _check_type(where, key, d[key], want, problems)
    for key, want in OPTIONAL.items():
        if key in d and d[key] is not None:
            _check_type(where, key, d[key], want, problems)
    if len(problems) > n0:
        return None  # the checks below need the fields and their types
    unknown = sorted(set(d) - set(REQUIRED) - set(OPTIONAL))
    if unknown:
        problems.append(f"{where}: unknown field(s) {', '.join(unknown)} (allowed: "
                        f"{', '.join([*REQUIRED, *OPTIONAL])})")
    iid = d["id"].strip()
    if not iid or not d["question"].strip():
        problems.append(f"{where}: empty id or question")
    if iid in seen:
        problems.append(f"{where}: duplicate id '{iid}'")
    if d["lang"] not in LANGS:
        problems.append(f"{where}: lang must be one of {', '.join(LANGS)}, got '{d['lang']}'")
    gold: list[Gold] = []
    for j, g in enumerate(d["relevant"]):
        w = f"{where}: relevant[{j}]"
        if not isinstance(g, dict):
            problems.append(f"{w} must be an object with document, article[, clause]")
            continue
        bad = False
        for key in ("document", "article"):
            if key not in g:
                problems.append(f"{w}: missing field '{key}'")
                bad = True
            elif not _check_type(w, key, g[key], str, problems):
                bad = True
        if g.get("clause") is not None and not _check_type(w, "clause", g["clause"], str, problems):
            bad = True
        extra = set(g) - {"document", "article", "clause", "point"}
        if extra:
            problems.append(f"{w}: unknown field(s) {', '.join(sorted(extra))}")
        if bad:
            continue
        meta = catalog.by_number(g["document"])
        if meta is None:
            problems.append(f"{w}: unknown document number '{g['document']}' (not in corpus/catalog.yaml)")
            continue
        gold.append(Gold(meta.number, g["article"].strip(), g.get("clause")))
    if d["answerable"] and not d["relevant"]:
        problems.append(f"{where}: answerable item has no relevant provision")
    if not d["answerable"] and d["relevant"]:
        problems.append(f"{where}: unanswerable item lists relevant provisions")
    fu = d.get("follow_up_of")
    if fu is not None and fu not in seen:
        problems.append(f"{where}: follow_up_of '{fu}' is not an earlier id of this file")
    as_of = None
    if d.get("as_of") is not None:
        try:
            as_of = dt.date.fromisoformat(d["as_of"])
        except ValueError:
            problems.append(f"{where}: as_of must be an ISO date (YYYY-MM-DD), got '{d['as_of']}'")
    mcc = d.get("must_cite_current")
    if mcc is not None:
        meta = catalog.by_number(mcc)
        if meta is None:
            problems.append(f"{where}: must_cite_current: unknown document number '{mcc}'")
        else:
            mcc = meta.number
    if any(not isinstance(t, str) for t in d.get("tags") or []):
        problems.append(f"{where}: tags must be strings")
    seen.add(iid)
    if len(problems) > n0:
        return None
    return Item(iid, d["question"], d["lang"], gold, d["answerable"], suite, where, fu, as_of, mcc,
                list(d.get("tags") or []))


def _read_lines(path: Path, problems: list[str]) -> list[tuple[str, dict]]:
    """(file:line, object) for each non-blank line; broken lines are reported, not returned."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        problems.append(f"{path}: cannot read ({e})")
        return []
    out = []
    for i, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        where = f"{path}:{i}"
        try:
            d = json.loads(line)
        except json.JSONDecodeError as e:
            problems.append(f"{where}: invalid JSON ({e.msg} at column {e.colno})")
            continue
        if not isinstance(d, dict):
            problems.append(f"{where}: a line must be a JSON object, got {type(d).__name__}")
            continue
        out.append((where, d))
    return out


def is_tvpl(path: Path, rows: list[tuple[str, dict]]) -> bool:
    return path.name == TVPL_FILE or bool(rows and "cited" in rows[0][1] and "relevant" not in rows[0][1])


def load_suite(path: Path | str, catalog: Catalog | None = None, problems: list[str] | None = None) -> list[Item]:
    """Items of one suite file. With ``problems`` given, problems are appended there instead of raised."""
    path = Path(path)
    catalog = catalog or load_catalog()
    own: list[str] = [] if problems is None else problems
    n0 = len(own)
    rows = _read_lines(path, own)
    if is_tvpl(path, rows):
        items = _tvpl_items(rows, catalog, own)
    else:
        seen: set[str] = set()
        items = [it for where, d in rows if (it := _parse_item(d, where, suite_name(path), catalog, seen, own))]
    if problems is None and len(own) > n0:
        raise SuiteError(own)
    return items


def load_suites(paths: list[Path | str], catalog: Catalog | None = None) -> list[Item]:
    """All items of all files; every problem of every file in one SuiteError."""
    catalog = catalog or load_catalog()
    problems: list[str] = []
    items: list[Item] = []
    for p in paths:
        items += load_suite(resolve_suite(p), catalog, problems)
    if problems:
        raise SuiteError(problems)
    return items


def resolve_suite(spec: Path | str) -> Path:
    """A path, a suite name under evals/suites ('dev'), or 'tvpl' (the publisher set in the dev folder)."""
    p = Path(spec)
    if p.exists():
        return p
    if str(spec) == "tvpl":
        return tvpl_path()
    cand = REPO / "evals" / "suites" / f"{spec}.jsonl"
    return cand if cand.exists() else p


# ---------------------------------------------------------------------------------------------- publisher set
def tvpl_path() -> Path:
    base = os.environ.get("HTP_DEV_DIR")
    return (Path(base) if base else (REPO / ".." / "shared" / "dev").resolve()) / TVPL_FILE


def load_tvpl(path: Path | str | None = None, catalog: Catalog | None = None) -> list[Item]:
    """The publisher's real questions, their ``cited`` strings mapped to corpus provisions.

    Mapping (decided here, reported per item in ``tags``):
    - each cited string ("Điểm b khoản 3 Điều 12 Luật Thuế thu nhập doanh nghiệp 2025") is resolved with the
      product's own reference parser against the catalog (number, type + number, or a naming alias + year);
    - cited provisions of documents in the corpus become ``relevant`` (article + clause);
    - an item with at least one resolved citation is answerable (tag ``tvpl-partial`` when some are not);
    - an item none of whose citations is in the corpus gets ``answerable=None`` and tag
      ``tvpl-not-in-corpus``: the publisher answered from law the corpus does not hold, but the corpus may
      still answer from another text, so demanding a refusal would be as wrong as demanding a hit. These
      items are scored for citation validity and currency only, and their refusal rate is shown for
      information;
    - ``as_of`` is the date the publisher wrote against (first dd/mm/yyyy in the line's ``as_of`` note, minus a
      day after "trước"; a bare year → 1 July), else 18/12/2025 (the snapshot the set was collected from).
    """
    path = Path(path) if path else tvpl_path()
    problems: list[str] = []
    items = _tvpl_items(_read_lines(path, problems), catalog or load_catalog(), problems)
    if problems:
        raise SuiteError(problems)
    return items


_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")
_YEAR_ONLY = re.compile(r"^\s*((?:19|20)\d\d)\b")


def tvpl_as_of(note: str | None) -> dt.date:
    if not note:
        return TVPL_DEFAULT_AS_OF
    m = _DATE.search(note)
    if m:
        try:
            d = dt.date(int(m.group(3)), int(m.group(2)), int(m.group(1)))
        except ValueError:
            return TVPL_DEFAULT_AS_OF
        before = "trước" in note[: m.start()].lower()
        if _YEAR_ONLY.match(note) and not before:
            return d
        return d - dt.timedelta(days=1) if before else d
    m = _YEAR_ONLY.match(note)
    return dt.date(int(m.group(1)), 7, 1) if m else TVPL_DEFAULT_AS_OF


def resolve_cited(cited: str, catalog: Catalog) -> Gold | None:
    from assistant.query import find_references

    for text in (cited, cited.replace(",", "")):  # "Luật Thuế xuất khẩu, thuế nhập khẩu" vs alias without comma
        refs, _missing = find_references(text, catalog)
        if len(refs) == 1 and refs[0].article:
            return Gold(refs[0].number, refs[0].article, refs[0].clause)
    return None


def _tvpl_items(rows: list[tuple[str, dict]], catalog: Catalog, problems: list[str]) -> list[Item]:
    from assistant.query import detect_language

    items: list[Item] = []
    seen: set[str] = set()
    for where, d in rows:
        q, cited, iid = d.get("question"), d.get("cited"), d.get("id")
        if not isinstance(q, str) or not q.strip():
            problems.append(f"{where}: missing or empty 'question'")
            continue
        if not isinstance(cited, list) or not all(isinstance(c, str) for c in cited):
            problems.append(f"{where}: 'cited' must be a list of strings")
            continue
        if not isinstance(iid, str) or iid in seen:
            problems.append(f"{where}: missing or duplicate 'id'")
            continue
        seen.add(iid)
        gold: list[Gold] = []
        for c in cited:
            g = resolve_cited(c, catalog)
            if g is not None and g not in gold:
                gold.append(g)
        lang, accentless = detect_language(q)
        tags = ["tvpl-not-in-corpus"] if not gold else (["tvpl-partial"] if len(gold) < len(cited) else [])
        tier = d.get("tier")
        if isinstance(tier, str) and tier[:1] in "ABC":
            tags.append(f"tvpl-tier-{tier[0]}")
        note = d.get("as_of") if isinstance(d.get("as_of"), str) else None
        items.append(Item(iid, q.strip(), "vi-noaccent" if accentless else lang, gold, True if gold else None,
                          "tvpl", where, None, tvpl_as_of(note), None, tags))
    return items
