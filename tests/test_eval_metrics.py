"""Every evaluation metric on hand-made rankings: ties, empty retrievals, duplicates, no gold, refusals."""
from __future__ import annotations

import math

import pytest

from evals import metrics as M

A, B, C, D, E = ("10/2024/NĐ-CP", "5"), ("133/2025/QH15", "22"), ("133/2025/QH15", "9"), ("67/2025/QH15", "14"), \
    ("219/2025/NĐ-CP", "18")


def test_acc_at_1():
    assert M.acc_at_1([A], [A, B]) == 1.0
    assert M.acc_at_1([A], [B, A]) == 0.0
    assert M.acc_at_1([A, B], [B]) == 1.0  # any gold article at rank 1
    assert M.acc_at_1([A], []) == 0.0  # nothing retrieved: a miss
    assert M.acc_at_1([], [A]) is None  # no gold: undefined, left out of averages


def test_recall_at_k():
    assert M.recall_at_k([A, B], [A, C, D, E, B], 5) == 1.0
    assert M.recall_at_k([A, B], [A, C, D, E, B], 1) == 0.5
    assert M.recall_at_k([A, B], [C, D], 5) == 0.0
    assert M.recall_at_k([A], [], 10) == 0.0
    assert M.recall_at_k([], [A], 5) is None
    # Gold listed twice (two clauses of one article) is one article.
    assert M.recall_at_k([A, A], [A], 5) == 1.0


def test_duplicates_count_once():
    # Three clauses of article C ahead of A: at article level A is at rank 2, not 4.
    ranking = [C, C, C, A]
    assert M.dedupe(ranking) == [C, A]
    assert M.first_relevant_rank([A], ranking) == 2
    assert M.mrr_at_k([A], ranking, 10) == 0.5
    assert M.recall_at_k([A], ranking, 2) == 1.0
    assert M.hit_at_k([A], ranking, 2) == 1.0
    # A duplicated relevant item is not counted twice in DCG.
    assert M.ndcg_at_k([A], [A, A, A], 10) == pytest.approx(1.0)


def test_mrr():
    assert M.mrr_at_k([B], [A, C, B], 10) == pytest.approx(1 / 3)
    assert M.mrr_at_k([B, C], [A, C, B], 10) == 0.5  # the first relevant counts
    assert M.mrr_at_k([B], [A] * 3 + [C, D, E] + [("x", str(i)) for i in range(10)] + [B], 10) == 0.0  # beyond 10
    assert M.mrr_at_k([B], [], 10) == 0.0
    assert M.mrr_at_k([], [B], 10) is None


def test_ndcg_binary():
    assert M.ndcg_at_k([A], [A, B], 10) == pytest.approx(1.0)
    assert M.ndcg_at_k([A], [B, A], 10) == pytest.approx(1 / math.log2(3))
    # Two gold, one found at rank 2: DCG = 1/log2(3); ideal = 1 + 1/log2(3).
    assert M.ndcg_at_k([A, B], [C, A], 10) == pytest.approx((1 / math.log2(3)) / (1 + 1 / math.log2(3)))
    assert M.ndcg_at_k([A, B], [], 10) == 0.0
    assert M.ndcg_at_k([], [A], 10) is None
    # More gold than k: the ideal is capped at k, so a perfect top-k scores 1.
    gold = [("d", str(i)) for i in range(12)]
    assert M.ndcg_at_k(gold, gold, 10) == pytest.approx(1.0)


def test_ties_keep_system_order():
    scored = [(C, 0.9), (A, 0.9), (B, 0.5)]  # C and A tie: the system listed C first
    assert M.rank_by_score(scored) == [C, A, B]
    assert M.acc_at_1([A], M.rank_by_score(scored)) == 0.0
    assert M.mrr_at_k([A], M.rank_by_score(scored)) == 0.5
    # Scores out of order are sorted; duplicates keep their best position.
    assert M.rank_by_score([(B, 0.1), (A, 0.7), (B, 0.8)]) == [B, A]


def test_registry_names():
    assert set(M.RETRIEVAL) == {"acc@1", "recall@1", "recall@5", "recall@10", "hit@5", "mrr@10", "ndcg@10"}
    assert M.RETRIEVAL["recall@5"]([A], [B, C, D, E, A]) == 1.0
    assert M.RETRIEVAL["recall@1"]([A], [B, A]) == 0.0


def test_citation_precision_recall():
    assert M.citation_precision([A, B], [A, C]) == 0.5
    assert M.citation_recall([A, B], [A, C]) == 0.5
    assert M.citation_precision([A], [A, A, A]) == 1.0  # duplicate citations count once
    assert M.citation_recall([A, B], [A, A]) == 0.5
    assert M.citation_precision([A], []) is None  # cited nothing: precision undefined…
    assert M.citation_recall([A], []) == 0.0  # …but nothing of the gold was cited
    assert M.citation_precision([], [A]) is None and M.citation_recall([], [A]) is None


def _c(doc="133/2025/QH15", art="22", exists=True, retrieved=True, shown=True, actual=True) -> M.CitedCheck:
    return M.CitedCheck(doc, art, exists, retrieved, shown, actual)


def test_citation_validity():
    assert M.citation_validity([_c(), _c(art="9")]) == 1.0
    assert M.citation_validity([_c(), _c(exists=False)]) == 0.0  # a provision the corpus does not have
    assert M.citation_validity([_c(retrieved=False)]) == 0.0  # cited without having been retrieved
    assert M.citation_validity([]) is None  # refusals and empty answers are not judged


def test_currency():
    assert M.currency([_c()]) == 1.0
    # An out-of-force provision shown as in force is the failure; shown as out of force is fine.
    assert M.currency([_c(doc="21/2008/QH12", shown=True, actual=False)]) == 0.0
    assert M.currency([_c(doc="21/2008/QH12", shown=False, actual=False), _c()]) == 1.0
    # must_cite_current: the first in-force citation must be from that document.
    old, new = _c(doc="21/2008/QH12", shown=False, actual=False), _c(doc="133/2025/QH15")
    assert M.currency([old, new], "133/2025/QH15") == 1.0
    assert M.currency([_c(doc="10/2024/NĐ-CP"), new], "133/2025/QH15") == 0.0
    assert M.currency([old], "133/2025/QH15") == 0.0  # nothing in force cited
    assert M.currency([], "133/2025/QH15") == 0.0  # a refusal cannot satisfy it
    assert M.currency([]) is None


def test_refusal_metrics():
    unans = [True, True, False, False]
    refused = [True, False, True, False]
    assert M.refusal_precision(unans, refused) == 0.5
    assert M.refusal_recall(unans, refused) == 0.5
    assert M.refusal_accuracy(unans, refused) == 0.5
    # Never refusing: precision undefined, recall 0.
    assert M.refusal_precision(unans, [False] * 4) is None
    assert M.refusal_recall(unans, [False] * 4) == 0.0
    # Refusing everything: recall 1, precision = share unanswerable.
    assert M.refusal_recall(unans, [True] * 4) == 1.0 and M.refusal_precision(unans, [True] * 4) == 0.5
    # No unanswerable questions: recall undefined; every refusal is wrong.
    assert M.refusal_recall([False, False], [True, False]) is None
    assert M.refusal_precision([False, False], [True, False]) == 0.0
    assert M.refusal_accuracy([], []) is None


def test_support():
    quote = "Thời hạn của Giấy chứng nhận doanh nghiệp công nghệ cao là 05 năm."
    ans = (f'Theo khoản 3 Điều 18 Luật Công nghệ cao số 133/2025/QH15 (còn hiệu lực) [1]: "{quote}"\n\n'
           f"Căn cứ pháp lý:\n[1] khoản 3 Điều 18 Luật Công nghệ cao số 133/2025/QH15 — còn hiệu lực")
    frame = ["Theo", "Căn cứ pháp lý:", "khoản 3 Điều 18 Luật Công nghệ cao số 133/2025/QH15", "còn hiệu lực"]
    assert M.support(ans, [quote], frame) == 1.0
    # An unsupported claim lowers it: of giấy/nhận/miễn/phí/vĩnh/viễn ("chung" is a function word when folded)
    # only giấy and nhận are in the quote.
    assert M.support("giấy chứng nhận miễn phí vĩnh viễn", [quote]) == pytest.approx(2 / 6)
    assert M.support("Theo [1]", [quote], ["Theo"]) is None  # only frame: nothing to judge
    assert M.support("thuế suất 10%", []) == 0.0


def test_percentile_and_mean():
    assert M.percentile([], 50) is None
    assert M.percentile([5.0], 95) == 5.0
    assert M.percentile([1, 2, 3, 4], 50) == 2.5
    assert M.percentile(list(range(1, 101)), 95) == pytest.approx(95.05)
    assert M.mean([None, 1.0, 0.0]) == 0.5
    assert M.mean([None]) is None
