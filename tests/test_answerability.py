"""The answerability model: one fitted refusal decision over the judge's evidence, kept in a versioned file."""
from __future__ import annotations

import json

import numpy as np
import pytest

from assistant.ranking import RankerError
from assistant.ranking.answerable import FEATURES, features, load_answerability, threshold


def test_the_committed_model_matches_the_features_and_carries_its_threshold_and_figures():
    m = load_answerability()
    assert 0.0 < threshold(m) < 1.0
    assert m.info["cv"]["kfold"]["answerable"] > 100, "fitted and cross-validated on suite questions"
    strong = features(scores=[0.9, 0.1, 0.05], coverage=0.9, confidence=0.9, scope_excess=-0.05, top_dense=0.9,
                      en=False, accentless=False, follow_up=False, words=8, bank_margin=-0.05)
    weak = features(scores=[0.02, 0.01, 0.01], coverage=0.1, confidence=0.1, scope_excess=0.05, top_dense=0.8,
                    en=False, accentless=False, follow_up=False, words=8, bank_margin=0.05)
    p_strong, p_weak = m.scores(np.stack([strong, weak]))
    # A confident ranker with full coverage, nearer questions answered before, reads as answerable; no evidence at
    # all, nearer a question the corpus could not answer, does not.
    assert p_strong >= threshold(m) > p_weak


def test_a_stale_or_missing_model_file_fails_with_its_path(tmp_path):
    stale = tmp_path / "answerable.json"
    stale.write_text(json.dumps({"features": FEATURES[:-1], "mean": [], "scale": [], "coef": []}), encoding="utf-8")
    with pytest.raises(RankerError, match="answerable.json.*fit-judge"):
        load_answerability(stale)
    with pytest.raises(RankerError, match="missing"):
        load_answerability(tmp_path / "absent.json")


def test_a_named_model_file_that_is_absent_stops_the_assistant(small_settings, tmp_path):
    from assistant.engine import Assistant

    with pytest.raises(RankerError, match="absent.json"):
        Assistant(small_settings.model_copy(update={"answerability_file": tmp_path / "absent.json"}))


def test_the_judge_decides_with_the_model_and_shows_its_probability(assistant):
    thr = threshold(assistant.answerability)
    ans = assistant.answer("Điều kiện để được cấp Giấy chứng nhận doanh nghiệp công nghệ cao là gì?", record=False)
    assert not ans.refused and ans.evidence["answerable"] >= thr
    off = assistant.answer("Công thức nấu phở bò ngon nhất là gì?", record=False)
    assert off.refused and off.evidence["answerable"] < thr
    assert off.refusal_reason in ("out_of_scope", "weak_evidence")


def test_a_judge_refusal_in_scope_names_the_figure_no_provision_states(small_settings, tmp_path):
    """When the model refuses a question within scope that asks a fee, the refusal says no provision states the fee
    (not_stated) rather than that no provision was found; a question asking no figure keeps weak_evidence. A model
    whose threshold refuses everything puts both questions before the judge."""
    from assistant.engine import Assistant
    from assistant.ranking.answerable import MODEL_FILE

    d = json.loads(MODEL_FILE.read_text(encoding="utf-8"))
    d["info"]["threshold"] = 1.0
    strict = tmp_path / "answerable.json"
    strict.write_text(json.dumps(d), encoding="utf-8")
    a = Assistant(small_settings.model_copy(update={"answerability_file": strict}))
    fee = a.answer("Lệ phí cấp giấy phép lao động cho chuyên gia nước ngoài là bao nhiêu tiền?", record=False)
    assert fee.refused and fee.refusal_reason == "not_stated" and "lệ phí" in fee.answer
    plain = a.answer("Hồ sơ đề nghị cấp giấy phép lao động gồm những gì?", record=False)
    assert plain.refused and plain.refusal_reason == "weak_evidence"


def test_without_the_model_the_hand_set_rules_decide(small_settings):
    from assistant.engine import Assistant

    a = Assistant(small_settings.model_copy(update={"answerability_file": None}))
    ans = a.answer("Công thức nấu phở bò ngon nhất là gì?", record=False)
    assert ans.refused and "answerable" not in ans.evidence


def test_an_assistant_keeps_numpy_to_one_blas_thread(small_settings):
    """An idle OpenBLAS thread spin-waits on the core the embedder needs next (benchmarked in `htp bench ask`);
    building an Assistant limits BLAS to one thread whatever it was before."""
    from threadpoolctl import threadpool_info, threadpool_limits

    from assistant.engine import Assistant

    threadpool_limits(limits=2, user_api="blas")
    Assistant(small_settings)
    blas = [p for p in threadpool_info() if p["user_api"] == "blas"]
    assert blas and all(p["num_threads"] == 1 for p in blas), blas


def test_the_refusal_prior_is_the_share_among_suites_written_as_traffic():
    """Suites written only to enrich one kind of question (unanswerable*, coverage_*) do not move the share of
    unanswerable questions the refusal cost is weighed with; a new one counts by its name."""
    import numpy as np

    from evals import fit_judge as FJ

    def row(suite: str, answerable: bool) -> FJ.Row:
        return FJ.Row(f"{suite}:{answerable}", suite, "vi", np.zeros(1), answerable, False, None)

    rows = [row("dev", True), row("dev", True), row("dev", True), row("dev", False),
            row("unanswerable_z", False), row("unanswerable_z", False), row("coverage_z", True)]
    assert FJ.enriched("unanswerable_z") and FJ.enriched("coverage_z") and not FJ.enriched("dev")
    assert FJ.unanswerable_share(rows) == 0.25
