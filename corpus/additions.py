"""`htp corpus add`: bring a new legal text in — draft its entry, show what changes, and (``--apply``) write the
text, its entry and the relations it states, then re-index; a failure at any step restores corpus and catalog.

Entries go to ``<corpus>/catalog.local.yaml`` (merged over the project's catalog at load) unless ``--catalog``
names another file, e.g. ``corpus/catalog.yaml`` for the project's maintainers. The file is edited as text: a new
entry is inserted at the end of ``documents``, the relations it states about documents already described are
appended to ``updates`` (applied at load: see corpus.catalog.apply_updates); comments and layout are kept.
"""
from __future__ import annotations

import datetime as dt
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import yaml

from .catalog import (CATALOG_PATH, Catalog, CatalogError, local_catalog_path, load_catalog, normalize_number,
                      read_catalog_file)
from .drafter import Draft, Impact, NotALegalText, draft_text, impact, read_any

ALLOWED_SUFFIXES = {".txt", ".docx", ".html", ".htm"}
_SAFE_PART = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,150}$")


class AddError(ValueError):
    pass


class _NoAliases(yaml.SafeDumper):
    def ignore_aliases(self, data):  # the same date object twice must not become &id001 / *id001
        return True


def dump_yaml(data) -> str:
    return yaml.dump(data, Dumper=_NoAliases, allow_unicode=True, sort_keys=False, width=120,
                     default_flow_style=False)


def safe_destination(name: str, corpus_dir: Path) -> str:
    """A file name inside the corpus folder ('x.txt' or 'ocr/x.txt'); anything that could leave it is refused."""
    raw = name.replace("\\", "/")
    parts = raw.split("/")
    if raw.startswith("/") or any(p in ("", ".", "..") for p in parts) or len(parts) > 2 or \
            (len(parts) == 2 and parts[0] != "ocr") or not _SAFE_PART.match(parts[-1]):
        raise AddError(f"{name}: not a plain file name inside the corpus folder (letters, digits, '.', '-', '_'; "
                       "at most one folder, 'ocr/')")
    target = (corpus_dir / raw).resolve()
    root = corpus_dir.resolve()
    if root not in target.parents:
        raise AddError(f"{name}: leaves the corpus folder {root}")
    if Path(raw).suffix.lower() != ".txt":
        raw = str(Path(raw).with_suffix(".txt"))
    return raw


@dataclass
class AddPlan:
    source: Path | None
    dest: str  # relative to the corpus folder
    text: str
    draft: Draft
    impact: Impact
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    copy: bool = True  # False: the file is in the corpus folder already

    @property
    def ok(self) -> bool:
        return not self.errors

    def entry(self) -> dict:
        e = dict(self.draft.entry)
        review = list(self.draft.review) + self.warnings
        if review:
            e["review"] = review
        return e

    def report(self) -> str:
        lines = [f"# {self.dest}"]
        for err in self.errors:
            lines.append(f"error: {err}")
        if self.draft.entry:
            lines.append("## draft entry")
            lines.append(dump_yaml([self.entry()]).rstrip())
            lines.append("## what changes for documents already described")
            lines += [f"- {x}" for x in self.impact.lines] or ["- nothing"]
            if self.impact.updates:
                lines.append("## updates written")
                lines.append(dump_yaml(self.impact.updates).rstrip())
            if self.impact.known:
                lines.append("## known but not held (not_in_corpus)")
                lines.append(dump_yaml(self.impact.known).rstrip())
            for c in self.impact.conflicts:
                lines.append(f"conflict: {c}")
        return "\n".join(lines)


def plan_add(file: Path | None, corpus_dir: Path, catalog: Catalog, name: str | None = None,
             data: bytes | None = None, max_bytes: int | None = None) -> AddPlan:
    """Read and draft, checking everything that can be checked before anything is written."""
    corpus_dir = Path(corpus_dir)
    name = name or (file.name if file else "upload.txt")
    copy = True
    if file is not None:
        try:
            rel = file.resolve().relative_to(corpus_dir.resolve())
            name, copy = str(rel), False
        except ValueError:
            pass
    if Path(name).suffix.lower() not in ALLOWED_SUFFIXES:
        raise AddError(f"{name}: expected a .txt, .docx or .html file")
    dest = safe_destination(name, corpus_dir)
    if data is not None and max_bytes is not None and len(data) > max_bytes:
        raise AddError(f"{name}: {len(data)} bytes, over the limit of {max_bytes}")
    if file is not None and max_bytes is not None and file.stat().st_size > max_bytes:
        raise AddError(f"{name}: {file.stat().st_size} bytes, over the limit of {max_bytes}")
    try:
        if data is not None:
            with tempfile.TemporaryDirectory() as tmp:
                p = Path(tmp) / Path(name).name
                p.write_bytes(data)
                text = read_any(p)
        else:
            text = read_any(file)
    except NotALegalText as e:
        msg = str(e).replace(str(Path(tempfile.gettempdir())), "")
        raise AddError(msg if name in msg else f"{name}: {msg}") from e
    text = text.replace("\r\n", "\n")
    draft = draft_text(text, dest)
    errors = list(draft.errors)
    if draft.number and draft.entry and catalog.by_number(draft.number) is None:
        _add_relations_held_texts_state(draft, catalog, corpus_dir, imp_lines := [])
    else:
        imp_lines = []
    known = catalog.missing(draft.number) if draft.number else None
    if known is not None and draft.entry:
        # What the catalog knew of it while not held: its short name and the names users give it.
        e = draft.entry
        e["aliases"] = list(dict.fromkeys([*known.aliases, *e.get("aliases", [])]))
        e["short"] = known.short or e["short"]
    warnings: list[str] = []
    imp = Impact([], [], [], [])
    if draft.number:
        held = catalog.by_number(draft.number)
        if held is not None:
            errors.append(f"{dest}: {draft.number} is already in the catalog (file {held.file}): not added twice")
        else:
            imp = impact(draft, catalog)
            imp.lines[1:1] = imp_lines
    if catalog.by_file(dest) is not None:
        errors.append(f"{dest}: this file is already catalogued as {catalog.by_file(dest).number}")
    elif copy and (corpus_dir / dest).exists():
        errors.append(f"{dest}: a different file of that name is already in the corpus folder")
    recorded = {normalize_number(k["number"]) for k in imp.known}
    for r in imp.unknown:
        if r.kind == "transition" or normalize_number(r.target) in recorded:
            continue
        warnings.append(f"{dest}:{r.line}: {r.where} names {r.target}, a document the catalog does not know: "
                        "relation not recorded (list it under not_in_corpus to keep it)")
    for k in imp.known:
        warnings.append(f"{dest}: {k['number']} (not held) recorded under not_in_corpus: {k['status']}; check its "
                        f"title '{k['title']}'")
    return AddPlan(file, dest, text, draft, imp, errors, warnings, copy)


def _add_relations_held_texts_state(draft: Draft, catalog: Catalog, corpus_dir: Path, lines: list[str]) -> None:
    """What the texts already held say about the newcomer ("Luật 93/2025 Điều 71 k2 sửa đổi Luật 07/2017"): its
    amended_by / replaced_by, each with the provision that says so."""
    from .drafter import draft_file

    key = normalize_number(draft.number)
    e = draft.entry
    for meta in catalog.documents:
        path = corpus_dir / meta.file
        if not path.exists():
            continue
        try:
            other = draft_file(path, corpus_dir)
        except NotALegalText:
            continue
        for r in other.relations + other.history:
            if normalize_number(r.target) != key or r.kind not in ("ends", "amends"):
                continue
            source = meta.number if normalize_number(r.source) == normalize_number(other.number or "") else r.source
            stated = r.where.replace(other.number or "", meta.number) if r.origin == "text" else \
                (r.doubt or meta.number).replace("stated in ", "")
            field_ = "replaced_by" if r.kind == "ends" and not r.part else "amended_by"
            if any(normalize_number(x["number"]) == normalize_number(source) for x in e.get(field_, [])):
                continue
            e.setdefault(field_, []).append({"number": source, "from": r.from_,
                                             "note": f"{stated}: {r.quote[:140]}"})
            if field_ == "replaced_by" and r.from_ and not e.get("expires"):
                e["expires"] = r.from_
            lines.append(f"{draft.number} (this text): {'ends' if field_ == 'replaced_by' else 'amended'}"
                         f"{' from ' + r.from_.strftime('%d/%m/%Y') if r.from_ else ''} by {source}, as {stated} "
                         "states")
            draft.review.append(f"{draft.file}: {field_} {source} read from {stated}: check")


# ---------------------------------------------------------------------------------------------- writing
def _entry_block(entry: dict) -> str:
    return dump_yaml([entry])


def insert_entries(text: str, documents: list[dict], updates: list[dict], missing: list[dict] | None = None) -> str:
    """The catalog file's text with `documents` appended to its documents list, `missing` to not_in_corpus and
    `updates` to its updates."""
    if missing:
        text = _append_to_section(text, "not_in_corpus", missing)
    lines = text.splitlines(keepends=True) if text.strip() else ["version: 1\n"]
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    top = {m.group(1): i for i, line in enumerate(lines) if (m := re.match(r"^([a-z_]+):", line))}
    if documents:
        block = "".join(_entry_block(d) for d in documents)
        if "documents" not in top or re.match(r"^documents:\s*\[\s*\]\s*$", lines[top["documents"]]):
            if "documents" in top:
                del lines[top["documents"]]
            lines.append("documents:\n")
            lines.append(block)
        else:
            # end of the documents section: the next top-level key after it, or the end of the file
            start = top["documents"]
            nxt = min([i for i in top.values() if i > start] or [len(lines)])
            while nxt > start + 1 and lines[nxt - 1].lstrip().startswith("#"):
                nxt -= 1  # a comment heading the next section stays with it
            lines.insert(nxt, block)
    if updates:
        text2 = "".join(lines)
        lines = text2.splitlines(keepends=True)
        top = {m.group(1): i for i, line in enumerate(lines) if (m := re.match(r"^([a-z_]+):", line))}
        block = dump_yaml(updates)
        if "updates" in top and max(top.values()) == top["updates"]:
            lines.append(block)
        elif "updates" in top:
            raise AddError("the catalog's 'updates' section must be its last top-level key")
        else:
            lines.append("# Relations stated by texts added later about documents described above (htp corpus add).\n")
            lines.append("updates:\n")
            lines.append(block)
    return "".join(lines)


def _append_to_section(text: str, section: str, items: list[dict]) -> str:
    lines = text.splitlines(keepends=True) if text.strip() else ["version: 1\n"]
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    top = {m.group(1): i for i, line in enumerate(lines) if (m := re.match(r"^([a-z_]+):", line))}
    block = dump_yaml(items)
    if section not in top or re.match(rf"^{section}:\s*\[\s*\]\s*$", lines[top[section]]):
        if section in top:
            del lines[top[section]]
            top = {m.group(1): i for i, line in enumerate(lines) if (m := re.match(r"^([a-z_]+):", line))}
        at = top.get("updates", len(lines))
        while at > 0 and lines[at - 1].lstrip().startswith("#"):
            at -= 1
        lines[at:at] = [f"{section}:\n", block]
    else:
        start = top[section]
        nxt = min([i for i in top.values() if i > start] or [len(lines)])
        while nxt > start + 1 and lines[nxt - 1].lstrip().startswith("#"):
            nxt -= 1
        lines.insert(nxt, block)
    return "".join(lines)


def _json_safe(d):
    if isinstance(d, dict):
        return {k: _json_safe(v) for k, v in d.items()}
    if isinstance(d, list):
        return [_json_safe(v) for v in d]
    return d


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@dataclass
class ApplyResult:
    catalog_path: Path
    added: list[str]
    files_written: list[str]
    index: object | None = None


def apply_plans(plans: list[AddPlan], corpus_dir: Path, catalog_path: Path | None = None,
                reindex: Callable[[Catalog], object] | None = None) -> ApplyResult:
    """Write the texts and entries of `plans`, then `reindex`; on any failure restore what was there."""
    corpus_dir = Path(corpus_dir)
    bad = [e for p in plans for e in p.errors]
    if bad:
        raise AddError("; ".join(bad))
    numbers = [normalize_number(p.draft.number) for p in plans]
    if len(set(numbers)) != len(numbers):
        raise AddError("the same document number is given twice: " + ", ".join(p.draft.number for p in plans))
    catalog_path = Path(catalog_path) if catalog_path else local_catalog_path(corpus_dir)
    if catalog_path.resolve() not in (CATALOG_PATH.resolve(), local_catalog_path(corpus_dir).resolve()):
        raise AddError(f"{catalog_path}: entries go to {local_catalog_path(corpus_dir)} (the corpus folder's own "
                       f"catalog) or to the project's {CATALOG_PATH}; another file would not be read")
    before = catalog_path.read_bytes() if catalog_path.exists() else None
    written: list[Path] = []
    try:
        for p in plans:
            if p.copy:
                target = corpus_dir / p.dest
                if target.exists():
                    raise AddError(f"{p.dest}: already in the corpus folder")
                _atomic_write(target, p.text.encode("utf-8"))
                written.append(target)
        updates = [u for p in plans for u in p.impact.updates]
        held = {normalize_number(p.draft.number) for p in plans}
        known, seen = [], set()
        for p in plans:  # texts the new ones end or amend that no catalog knows: recorded as known, not held
            for k in p.impact.known:
                key = normalize_number(k["number"])
                if key not in held and key not in seen:
                    seen.add(key)
                    known.append(k)
        text = insert_entries(before.decode("utf-8") if before else "", [p.entry() for p in plans],
                              [_json_safe(u) for u in updates], known)
        # Check the result before it replaces anything: valid YAML, valid entries, merges cleanly.
        fd, tmp = tempfile.mkstemp(suffix=".yaml", dir=catalog_path.parent if catalog_path.parent.exists() else None)
        os.close(fd)
        try:
            Path(tmp).write_text(text, encoding="utf-8")
            read_catalog_file(tmp)
            if catalog_path.resolve() == CATALOG_PATH.resolve():
                merged = load_catalog(tmp, corpus_dir=corpus_dir)
            else:
                merged = _merged_with(tmp, corpus_dir)
        finally:
            Path(tmp).unlink(missing_ok=True)
        for p in plans:
            if merged.by_number(p.draft.number) is None:
                raise AddError(f"{p.dest}: the written catalog does not hold {p.draft.number}")
        _atomic_write(catalog_path, text.encode("utf-8"))
        result = ApplyResult(catalog_path, [p.draft.number for p in plans], [p.dest for p in plans if p.copy])
        if reindex is not None:
            result.index = reindex(load_catalog(corpus_dir=corpus_dir))
        return result
    except BaseException as e:
        if before is None:
            catalog_path.unlink(missing_ok=True)
        else:
            _atomic_write(catalog_path, before)
        for w in written:
            w.unlink(missing_ok=True)
        if isinstance(e, (AddError, CatalogError)):
            raise
        raise AddError(f"{e.__class__.__name__}: {e} — corpus and catalog restored") from e


def _merged_with(overlay_tmp: str, corpus_dir: Path) -> Catalog:
    """The project's catalog merged with `overlay_tmp` standing in for the corpus folder's overlay."""
    from .catalog import _validate, apply_updates, merge_into

    data, lines = read_catalog_file(CATALOG_PATH)
    base = _validate(data, str(CATALOG_PATH), lines)
    where = {k: f"{CATALOG_PATH}:{v}" for k, v in lines.items()}
    odata, olines = read_catalog_file(overlay_tmp)
    extra = _validate(odata, overlay_tmp, olines)
    merge_into(base, extra, where, {k: f"{overlay_tmp}:{v}" for k, v in olines.items()})
    apply_updates(base, where)
    return base


def today() -> dt.date:
    return dt.date.today()
