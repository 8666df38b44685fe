"""Diacritic restoration learnt from the texts: accentless questions get their accents back."""
from __future__ import annotations

import pytest

from indexing.diacritics import DiacriticRestorer

TEXTS = [
    "Miễn thuế thu nhập doanh nghiệp trong 04 năm đối với dự án đầu tư mới.",
    "Tiền thuê đất được miễn trong thời gian xây dựng cơ bản.",
    "Người nước ngoài được cấp thẻ tạm trú; nơi cư trú của người lao động.",
    "Thủ tục cấp giấy phép lao động cho chuyên gia nước ngoài.",
    "Khoản được trừ khi xác định thu nhập chịu thuế; khấu trừ thuế giá trị gia tăng.",
    "Hồ sơ gồm những giấy tờ sau đây: a) đơn đề nghị; d) bản sao hộ chiếu.",
]


@pytest.fixture(scope="module")
def restorer():
    return DiacriticRestorer.from_texts(TEXTS)


@pytest.mark.parametrize("typed,expected", [
    ("mien thue thu nhap doanh nghiep", "miễn thuế thu nhập doanh nghiệp"),
    ("tien thue dat", "tiền thuê đất"),  # the same syllable, two accents, chosen by its neighbours
    ("thu tuc cap giay phep lao dong", "thủ tục cấp giấy phép lao động"),
])
def test_restores_from_context(restorer, typed, expected):
    assert restorer.restore(typed) == expected


def test_keeps_what_it_does_not_know_and_punctuation(restorer):
    # abbreviations, numbers, single letters and English stay as typed; punctuation is kept
    assert restorer.restore("DN o KCNC nam 2026, r&d?") == "DN o KCNC năm 2026, r&d?"
    assert restorer.restore("") == ""
    assert restorer.restore("???") == "???"


def test_punctuation_breaks_the_context(restorer):
    # "trừ thuế" is frequent, but across a comma "cu tru" is read on its own
    assert restorer.restore("noi cu tru, thue dat").startswith("nơi cư trú,")


def test_accented_words_are_left_alone(restorer):
    assert restorer.restore("Miễn thuế cho du an") == "Miễn thuế cho dự án"
