"""`htp corpus drafter-eval`: the relation drafter run over the texts the catalog already describes, compared with
the hand-written relations.

Gold: every ``replaced_by`` (kind "ends") and ``amended_by`` (kind "amends") of a catalogued document, and every
``replaced_by`` of a document listed as not in the corpus ("ends"). Drafted: what :mod:`corpus.drafter` reads in
each held text — relations the text states about others, the amendment history it states ("Luật X đã được sửa
đổi, bổ sung theo Luật A …"), and the amending acts its own preamble, source lines and publisher notes name.

Precision is judged on the drafted relations the hand-written catalog could hold: those about a catalogued
document, and "ends" relations about a document listed as not in the corpus (the catalog keeps no amendment
history for texts it does not hold). A drafted relation of the right pair with the other kind counts as wrong.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .catalog import Catalog, normalize_number
from .drafter import Relation, draft_file

KINDS = ("ends", "amends")


@dataclass
class EvalResult:
    gold: set[tuple[str, str, str]]
    drafted: dict[tuple[str, str, str], Relation]
    judged: set[tuple[str, str, str]]
    unjudged: int
    per_kind: dict[str, dict[str, float]] = field(default_factory=dict)
    missed: list[tuple[str, str, str]] = field(default_factory=list)
    wrong: list[tuple[str, str, str]] = field(default_factory=list)
    skipped_files: list[str] = field(default_factory=list)

    @property
    def tp(self) -> int:
        return len(self.judged & self.gold)

    @property
    def precision(self) -> float:
        return self.tp / len(self.judged) if self.judged else 0.0

    @property
    def recall(self) -> float:
        return self.tp / len(self.gold) if self.gold else 0.0


def _key(target: str, source: str, kind: str) -> tuple[str, str, str]:
    return normalize_number(target), normalize_number(source), kind


def gold_relations(catalog: Catalog) -> set[tuple[str, str, str]]:
    gold = set()
    for d in catalog.documents:
        for r in d.replaced_by:
            gold.add(_key(d.number, r.number, "ends"))
        for r in d.amended_by:
            gold.add(_key(d.number, r.number, "amends"))
    for m in catalog.not_in_corpus:
        if m.replaced_by:
            gold.add(_key(m.number, m.replaced_by, "ends"))
    return gold


def drafted_relations(catalog: Catalog, corpus_dir: Path) -> tuple[dict[tuple[str, str, str], Relation], list[str]]:
    out: dict[tuple[str, str, str], Relation] = {}
    skipped = []
    for meta in catalog.documents:
        path = Path(corpus_dir) / meta.file
        if not path.exists():
            skipped.append(meta.file)
            continue
        d = draft_file(path, corpus_dir)
        if d.errors or d.number is None:
            skipped.append(meta.file)
            continue
        # the catalog's number, should the text's own differ in form
        rels = [r for r in d.relations if r.kind in KINDS] + d.history + d.incoming
        for r in rels:
            source = meta.number if normalize_number(r.source) == normalize_number(d.number) else r.source
            target = meta.number if normalize_number(r.target) == normalize_number(d.number) else r.target
            out.setdefault(_key(target, source, r.kind), r)
    return out, skipped


def evaluate(catalog: Catalog, corpus_dir: Path) -> EvalResult:
    gold = gold_relations(catalog)
    drafted, skipped = drafted_relations(catalog, corpus_dir)
    held = {normalize_number(d.number) for d in catalog.documents}
    missing = {normalize_number(m.number) for m in catalog.not_in_corpus}
    # a part of a text the corpus lacks ending ('Điều 112 NĐ 31/2021') is no relation its catalog entry can hold
    judged = {k for k, r in drafted.items()
              if k[0] in held or (k[0] in missing and k[2] == "ends" and not r.part)}
    res = EvalResult(gold, drafted, judged, len(drafted) - len(judged), skipped_files=skipped)
    for kind in KINDS:
        g = {k for k in gold if k[2] == kind}
        j = {k for k in judged if k[2] == kind}
        tp = len(g & j)
        res.per_kind[kind] = {"gold": len(g), "drafted": len(j), "correct": tp,
                              "precision": tp / len(j) if j else 0.0, "recall": tp / len(g) if g else 0.0}
    res.missed = sorted(gold - judged)
    res.wrong = sorted(judged - gold)
    return res
