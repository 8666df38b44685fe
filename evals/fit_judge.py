"""Fit the answerability model (assistant/ranking/answerable.json) and report cross-validated figures.

1. collect: every question of the training suites goes through ``Assistant.answer()`` with the model switched
   off, so the hand-set rules' decision is recorded beside the evidence the model reads (follow-up chains share a
   session, as in ``htp eval run``). Only questions that reach that decision count: a named text, a text the
   corpus lacks or lexical mode are settled by rules before it.
2. cross-validate (5-fold, stratified; and leave-one-suite-out) a logistic regression; the refusal threshold is
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

from assistant.ranking.answerable import FEATURES, MODEL_FILE
from assistant.ranking.model import LinearRanker

RULE_REFUSALS = ("out_of_scope", "weak_evidence")


@dataclass
class Row:
    uid: str
    suite: str
    lang: str
    x: np.ndarray
    answerable: bool
    rule_refused: bool  # what the hand-set rules decided on the same evidence


def collect(assistant, items, default_as_of: dt.date, progress=None) -> list[Row]:
    from .runner import traced

    out = []
    for it, trace in traced(assistant, items, default_as_of, progress):
        verdict = trace[1] if len(trace) > 1 else None
        if it.answerable is None or verdict is None or verdict.evidence is None:
            continue
        out.append(Row(it.uid, it.suite, it.lang, verdict.evidence, bool(it.answerable),
                       verdict.reason in RULE_REFUSALS))
    return out


def save_rows(rows: list[Row], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = [{"uid": r.uid, "suite": r.suite, "lang": r.lang, "answerable": r.answerable, "rule": r.rule_refused}
            for r in rows]
    np.savez_compressed(path, x=np.stack([r.x for r in rows]) if rows else np.zeros((0, len(FEATURES))),
                        meta=json.dumps({"features": FEATURES, "rows": meta}, ensure_ascii=False))


def load_rows(path: Path) -> list[Row]:
    d = np.load(path, allow_pickle=False)
    meta = json.loads(str(d["meta"]))
    if meta["features"] != FEATURES:
        raise ValueError(f"{path}: collected with other features; collect again (--recollect)")
    return [Row(m["uid"], m["suite"], m["lang"], d["x"][i], m["answerable"], m["rule"])
            for i, m in enumerate(meta["rows"])]


def fit(rows: list[Row], c: float = 1.0) -> LinearRanker:
    from sklearn.linear_model import LogisticRegression

    x = np.stack([r.x for r in rows])
    y = np.array([r.answerable for r in rows], dtype=np.int8)
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale = np.where(scale > 1e-9, scale, 1.0)
    lr = LogisticRegression(C=c, max_iter=2000)
    lr.fit((x - mean) / scale, y)
    return LinearRanker(list(FEATURES), mean, scale, lr.coef_[0].astype(float), float(lr.intercept_[0]))


def held_out(rows: list[Row], c: float, k: int = 5, seed: int = 0) -> dict[str, dict[str, float]]:
    """P(answerable) of each question from a model that never saw it: k-fold (stratified) and
    leave-one-suite-out."""
    from sklearn.model_selection import StratifiedKFold

    y = np.array([r.answerable for r in rows])
    kfold: dict[str, float] = {}
    for train, test in StratifiedKFold(k, shuffle=True, random_state=seed).split(np.zeros(len(rows)), y):
        m = fit([rows[i] for i in train], c)
        for i in test:
            kfold[rows[i].uid] = float(m.scores(rows[i].x[None, :])[0])
    loso: dict[str, float] = {}
    for s in sorted({r.suite for r in rows}):
        train = [r for r in rows if r.suite != s]
        if len({r.answerable for r in train}) < 2:
            continue
        m = fit(train, c)
        for r in rows:
            if r.suite == s:
                loso[r.uid] = float(m.scores(r.x[None, :])[0])
    return {"kfold": kfold, "loso": loso}


def rates(rows: list[Row], refused) -> dict[str, float]:
    ans = [r for r in rows if r.answerable]
    oos = [r for r in rows if not r.answerable]
    return {"answerable": len(ans), "answerable_refused": sum(map(refused, ans)) / (len(ans) or 1),
            "unanswerable": len(oos), "unanswerable_refused": sum(map(refused, oos)) / (len(oos) or 1)}


# Suites written to enrich one kind of question, not as investors' traffic: refusals only (unanswerable), or
# answerable questions on articles no other suite asks about (coverage_*). Their share of unanswerable questions
# (100% or 0%) is not the share among other people's questions.
ENRICHED_SUITES = {"unanswerable", "coverage_a", "coverage_b"}


def unanswerable_share(rows: list[Row]) -> float:
    """The share of unanswerable questions in the suites written as investors' traffic (all but the enriched
    ones): the prior the refusal cost is weighed with, so adding refusal examples does not by itself move the
    threshold toward refusing more answerable questions."""
    natural = [r for r in rows if r.suite not in ENRICHED_SUITES] or rows
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


def choose_c(rows: list[Row], max_refused: float, grid=(0.1, 0.3, 1.0, 3.0)) -> tuple[float, dict[float, float]]:
    """The regularisation of least leave-one-suite-out cost at its chosen threshold; ties to the stronger one."""
    got = {}
    for c in grid:
        p = held_out(rows, c)["loso"]
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
                suites: list[str] | None = None) -> LinearRanker:
    m = fit(rows, c)
    m.version = f"answerable-lr-{dt.date.today().isoformat()}"
    m.info = {"fitted": dt.datetime.now().isoformat(timespec="seconds"), "C": c, "threshold": thr,
              "questions": len(rows), "suites": suites or sorted({r.suite for r in rows}), "cv": report,
              "top_features": m.top_features(len(FEATURES))}
    m.save(path)
    return m
