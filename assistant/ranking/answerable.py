"""Answerability: does the corpus hold a provision that answers the question?

One fitted logistic model over the evidence the judge already has — the ranker's probabilities, the question's
word coverage, the nearest-example scope margin, the dense neighbour, language — kept in `answerable.json` beside
this module (fitted by `htp eval fit-judge`, which reports cross-validated figures and picks the threshold on
held-out predictions). It replaces two hand-set rules for hybrid answers: "scope margin over a threshold unless
the ranker is confident" and "coverage under a threshold unless the ranker is confident". Lexical mode keeps the
coverage rule: without embeddings there is no scope margin and no dense evidence to weigh.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from .model import LinearRanker, load_model

MODEL_FILE = Path(__file__).resolve().parent / "answerable.json"

FEATURES = [
    "p1",  # the first article's probability (ranker)
    "p_top3",  # the best probability among the first three (a policy may lead with another)
    "p2",  # the runner-up's: a clear winner or a crowd of near-misses
    "coverage",  # IDF-weighted share of the question's words in the first article
    "confidence",  # coverage, mixed with the dense neighbour for English
    "scope_excess",  # nearest-example scope margin minus the language's threshold (> 0: looks out of scope)
    "top_dense",  # best dense cosine
    "en",
    "accentless",
    "follow_up",  # read with the previous topic
    "log_words",  # long chatty questions dilute coverage
    "bank_margin",  # closest unanswerable training question's cosine minus the closest answerable one's
]
BANK_MARGIN = FEATURES.index("bank_margin")  # filled from the question bank (recomputed per split when fitting)


def features(*, scores: list[float], coverage: float, confidence: float, scope_excess: float, top_dense: float,
             en: bool, accentless: bool, follow_up: bool, words: int, bank_margin: float) -> np.ndarray:
    p = list(scores[:3]) + [0.0] * (3 - min(3, len(scores)))
    return np.array([p[0], max(p), p[1], coverage, confidence, scope_excess, top_dense, float(en),
                     float(accentless), float(follow_up), math.log1p(words), bank_margin], dtype=np.float64)


def threshold(model: LinearRanker) -> float:
    return float(model.info.get("threshold", 0.5))


def load_answerability(path: Path = MODEL_FILE) -> LinearRanker:
    return load_model(path, FEATURES, "answerability model", "htp eval fit-judge")
