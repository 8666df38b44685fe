"""Text normalisation shared by documents and queries.

- Unicode NFC, one tone-mark placement (``hoà`` → ``hòa``, ``thuý`` → ``thúy``), quotes and whitespace;
- accent folding (``công nghệ`` → ``cong nghe``) so questions typed without diacritics match.
"""
from __future__ import annotations

import re
import unicodedata

_TONES = "\u0300\u0301\u0303\u0309\u0323"
# New-style placement puts the tone on the second vowel of open "oa", "oe", "uy" syllables ("hoà", "thuý");
# the legal texts mostly use the old style ("hòa", "thúy"). Move it onto the first vowel. "qu" is a consonant.
# Only at the end of a syllable: neither a letter nor another mark may follow ("hoặc" is h-o-a-dot-breve-c in NFD
# and must stay as it is).
_END = r"(?![\w\u0300-\u036f])"
_NEW_STYLE = re.compile(rf"(?<![qQ])([oO])([aAeE])([{_TONES}]){_END}|(?<![qQ])([uU])([yY])([{_TONES}]){_END}")
_QUOTES = str.maketrans({"“": '"', "”": '"', "„": '"', "‘": "'", "’": "'", "«": '"', "»": '"', "\u00a0": " ",
                         "\u200b": "", "\ufeff": ""})
_VI_MARKS = re.compile(r"[àáảãạăằắẳẵặâầấẩẫậèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵđ]", re.I)


def _tone_fix(m: re.Match) -> str:
    if m.group(1):
        return m.group(1) + m.group(3) + m.group(2)
    return m.group(4) + m.group(6) + m.group(5)


def normalize(text: str) -> str:
    """NFC, canonical tone placement, plain quotes, single spaces (newlines kept)."""
    text = unicodedata.normalize("NFD", text)
    text = _NEW_STYLE.sub(_tone_fix, text)
    text = unicodedata.normalize("NFC", text).translate(_QUOTES)
    text = re.sub(r"[^\S\n]+", " ", text)
    return text.strip()


def fold(text: str) -> str:
    """Remove diacritics: 'Công nghệ cao' → 'Cong nghe cao'."""
    text = unicodedata.normalize("NFD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return text.replace("đ", "d").replace("Đ", "D")


def has_diacritics(text: str) -> bool:
    return bool(_VI_MARKS.search(text))


def syllables(text: str) -> list[str]:
    """Lower-cased word characters split on anything else ('khoản 2.' → ['khoản', '2'])."""
    return re.findall(r"\w+", text.lower())
