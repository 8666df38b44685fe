"""Fit the answerability model (assistant/ranking/answerable.json) and report cross-validated figures.

1. collect: every question of the training suites goes through ``Assistant.answer()`` with the model switched
   off, so the hand-set rules' decision is recorded beside the evidence the model reads (follow-up chains share a
   session, as in ``htp eval run``). Only questions that reach that decision count: a named text, a text the
   corpus lacks or lexical mode are settled by rules before it.
2. cross-validate (5-fold, stratified; and leave-one-suite-out) a logistic regression — the question-bank margin
   recomputed for each split (`with_bank`: held-out questions out of the bank, each training question without its
   own example); the refusal threshold is
   the one of least leave-one-suite-out cost (each suite judged by a model that never saw its writer: the closest
   thing to other people's questions; a threshold chosen on 5-fold refused 2.2% of the answerable questions when
   each suite was left out, against 1.0% on its own folds), refusing an answerable question counting twice as much as answering an
   unanswerable one with cited (and, when weak, hedged) provisions, each weighed by its share of the questions
   written as investors' traffic (a suite of refusal examples only does not count toward that share), and never
   refusing more than ``max_refused`` of the answerable questions.
3. fit on everything and write the model with its threshold, figures and training suites.
"""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from assistant.ranking.answerable import BANK_MARGIN, FEATURES, MODEL_FILE
from assistant.ranking.bank import QuestionBank
from assistant.ranking.model import LinearRanker

from .fit_ranker import bank_of, logistic, vectors_and_bank

RULE_REFUSALS = ("out_of_scope", "weak_evidence")


@dataclass
class Row:
    uid: str
    suite: str
    lang: str
    x: np.ndarray
    answerable: bool
    rule_refused: bool  # what the hand-set rules decided on the same evidence
    qv: np.ndarray | None = None  # the query vector the search embedded (None: no embeddings)


@dataclass
class Collected:
    rows: list[Row]
    bank: QuestionBank | None  # the question bank as the collecting assistant embedded it


def collect(assistant, items, default_as_of: dt.date, progress=None) -> Collected:
    from .runner import traced

    out = []
    for it, trace in traced(assistant, items, default_as_of, progress):
        verdict = trace[1] if len(trace) > 1 else None
        if it.answerable is None or verdict is None or verdict.evidence is None:
            continue
        res = trace[0]
        qv = np.asarray(res.query_vector, dtype=np.float32) if res.query_vector is not None else None
        out.append(Row(it.uid, it.suite, it.lang, verdict.evidence, bool(it.answerable),
                       verdict.reason in RULE_REFUSALS, qv))
    r = assistant.retriever
    return Collected(out, r.question_bank(r.handle.generation()))


def save_rows(got: Collected, path: Path) -> None:
    rows, bank = got.rows, got.bank
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = [{"uid": r.uid, "suite": r.suite, "lang": r.lang, "answerable": r.answerable, "rule": r.rule_refused,
             "qv": r.qv is not None} for r in rows]
    arrays, bank_meta = vectors_and_bank([r.qv for r in rows], bank)
    np.savez_compressed(path, x=np.stack([r.x for r in rows]) if rows else np.zeros((0, len(FEATURES))), **arrays,
                        meta=json.dumps({"features": FEATURES, "rows": meta, "bank": bank_meta}, ensure_ascii=False))


def load_rows(path: Path) -> Collected:
    d = np.load(path, allow_pickle=False)
    meta = json.loads(str(d["meta"]))
    if meta["features"] != FEATURES or "qv" not in d:
        raise ValueError(f"{path}: collected with other features; collect again (--recollect)")
    rows = [Row(m["uid"], m["suite"], m["lang"], d["x"][i], m["answerable"], m["rule"],
                d["qv"][i] if m["qv"] else None) for i, m in enumerate(meta["rows"])]
    return Collected(rows, bank_of(meta, d))


def with_bank(rows: list[Row], bank: QuestionBank | None, unseen: frozenset[str] = frozenset()) -> list[Row]:
    """The rows with the question-bank margin a question outside the bank would get: each question's own example is
    left out, and so are the `unseen` ones (a held-out split's questions). Unlike the ranker's columns, the rest of
    its suite stays in: leaving it out too cost more when suites were held out (0.0421 against 0.0382 per
    question; the ranker's twin-phrasing problem does not arise for questions the corpus cannot answer)."""
    out = []
    for r in rows:
        x = r.x.copy()
        x[BANK_MARGIN] = bank.judge_margin(r.qv, unseen | {r.uid}) if bank is not None and r.qv is not None else 0.0
        out.append(Row(r.uid, r.suite, r.lang, x, r.answerable, r.rule_refused, r.qv))
    return out


def fit(rows: list[Row], c: float = 1.0) -> LinearRanker:
    return logistic(np.stack([r.x for r in rows]), np.array([r.answerable for r in rows], dtype=np.int8), c, FEATURES)


def _score(rows: list[Row], test: list[int], c: float, bank: QuestionBank | None, out: dict[str, float]) -> None:
    """P(answerable) of the `test` rows from a model fitted on the others, with a bank that holds none of them."""
    unseen = frozenset(rows[i].uid for i in test)
    m = fit(with_bank([r for r in rows if r.uid not in unseen], bank, unseen), c)
    for r in with_bank([rows[i] for i in test], bank, unseen):
        out[r.uid] = float(m.scores(r.x[None, :])[0])


def held_out(rows: list[Row], c: float, k: int = 5, seed: int = 0, bank: QuestionBank | None = None
             ) -> dict[str, dict[str, float]]:
    """P(answerable) of each question from a model that never saw it: k-fold (stratified) and
    leave-one-suite-out."""
    from sklearn.model_selection import StratifiedKFold

    y = np.array([r.answerable for r in rows])
    kfold: dict[str, float] = {}
    for _, test in StratifiedKFold(k, shuffle=True, random_state=seed).split(np.zeros(len(rows)), y):
        _score(rows, test.tolist(), c, bank, kfold)
    loso: dict[str, float] = {}
    for s in sorted({r.suite for r in rows}):
        test = [i for i, r in enumerate(rows) if r.suite == s]
        if len({r.answerable for i, r in enumerate(rows) if r.suite != s}) < 2:
            continue
        _score(rows, test, c, bank, loso)
    return {"kfold": kfold, "loso": loso}


def rates(rows: list[Row], refused) -> dict[str, float]:
    ans = [r for r in rows if r.answerable]
    oos = [r for r in rows if not r.answerable]
    return {"answerable": len(ans), "answerable_refused": sum(map(refused, ans)) / (len(ans) or 1),
            "unanswerable": len(oos), "unanswerable_refused": sum(map(refused, oos)) / (len(oos) or 1)}


# Suites written to enrich one kind of question, not as investors' traffic, told by their names: refusals only
# (unanswerable, unanswerable_b …), or answerable questions on articles no other suite asks about (coverage_a …).
# Their share of unanswerable questions (100% or 0%) is not the share among other people's questions; a new suite
# of either kind counts as one without being listed here.
ENRICHED_PREFIXES = ("unanswerable", "coverage_")


def enriched(suite: str) -> bool:
    return suite.startswith(ENRICHED_PREFIXES)


def unanswerable_share(rows: list[Row]) -> float:
    """The share of unanswerable questions in the suites written as investors' traffic (all but the enriched
    ones): the prior the refusal cost is weighed with, so adding refusal examples does not by itself move the
    threshold toward refusing more answerable questions."""
    natural = [r for r in rows if not enriched(r.suite)] or rows
    return sum(not r.answerable for r in natural) / (len(natural) or 1)


def choose_threshold(rows: list[Row], p: dict[str, float], max_refused: float, refusal_cost: float = 2.0) -> float:
    """The threshold of least held-out cost, a refused answerable question costing `refusal_cost` times an answered
    unanswerable one (that one still gets cited provisions and, when weak, says so), each rate weighed by the
    share of such questions (`unanswerable_share`), among those refusing at most `max_refused` of the answerable
    questions; ties go to the lower threshold (fewer refusals)."""
    prior = unanswerable_share(rows)
    best, best_cost = 0.0, float("inf")
    for t in np.round(np.arange(0.02, 0.96, 0.01), 2):
        rt = rates(rows, lambda r: p[r.uid] < t)
        if rt["answerable_refused"] > max_refused:
            continue
        c = cost_of(rt, refusal_cost, prior)
        if c < best_cost - 1e-9:
            best, best_cost = float(t), c
    return best


def cost_of(rt: dict[str, float], refusal_cost: float, prior: float) -> float:
    """Expected cost per question: answerable questions refused and unanswerable ones answered, each at its share."""
    return refusal_cost * rt["answerable_refused"] * (1 - prior) + (1 - rt["unanswerable_refused"]) * prior


def cost(rows: list[Row], refused, refusal_cost: float = 2.0) -> float:
    return cost_of(rates(rows, refused), refusal_cost, unanswerable_share(rows))


def choose_c(rows: list[Row], max_refused: float, grid=(0.1, 0.3, 1.0, 3.0), bank: QuestionBank | None = None
             ) -> tuple[float, dict[float, float]]:
    """The regularisation of least leave-one-suite-out cost at its chosen threshold; ties to the stronger one."""
    got = {}
    for c in grid:
        p = held_out(rows, c, bank=bank)["loso"]
        seen = [r for r in rows if r.uid in p]  # a suite of one class only cannot be left out
        t = choose_threshold(seen, p, max_refused)
        got[c] = cost(seen, lambda r: p[r.uid] < t)
    return min(grid, key=lambda c: (round(got[c], 3), c)), got


def reliability(rows: list[Row], p: dict[str, float], edges=(0.0, 0.2, 0.4, 0.6, 0.8, 0.9, 1.01)) -> list[dict]:
    table = []
    for lo, hi in zip(edges, edges[1:]):
        inside = [r for r in rows if lo <= p[r.uid] < hi]
        if inside:
            table.append({"p": f"{lo:.1f}–{min(hi, 1.0):.1f}", "n": len(inside),
                          "answerable": round(sum(r.answerable for r in inside) / len(inside), 3)})
    return table


def write_model(rows: list[Row], c: float, thr: float, report: dict, path: Path = MODEL_FILE,
                suites: list[str] | None = None, bank: QuestionBank | None = None) -> LinearRanker:
    m = fit(with_bank(rows, bank), c)
    m.version = f"answerable-lr-{dt.date.today().isoformat()}"
    m.info = {"fitted": dt.datetime.now().isoformat(timespec="seconds"), "C": c, "threshold": thr,
              "questions": len(rows), "suites": suites or sorted({r.suite for r in rows}), "cv": report,
              "top_features": m.top_features(len(FEATURES))}
    m.save(path)
    return m
