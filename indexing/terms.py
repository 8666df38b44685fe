"""Lexical terms for BM25: underthesea compounds plus accent-folded syllables and bigrams.

underthesea cannot segment text typed without diacritics, so accentless matching must not depend on it:
folded syllable unigrams and bigrams carry that path, the accented compounds add precision
(``thuế`` tax vs ``thuê`` rent fold to the same ``thue``).
"""
from __future__ import annotations

import hashlib
import json
import re
import sys
import threading
from pathlib import Path

from .text import fold, has_diacritics, normalize

FOLD = "~"  # namespace prefix of folded features, so 'cao' (word) and '~cao' (syllable) never collide

# Function words that carry no meaning for retrieval (folded forms).
STOP = set("""
va cua cac la co duoc cho voi theo tai trong nay do khi thi ma de nhung mot ve tu den hoac nhu tren duoi
the nao gi bao nhieu sao khong a o ai nhe vay ha cho toi minh ban chung em anh chi xin hoi
""".split())
# The same words as written with their accents: folded, "thẻ" (card) and "thế" (so) are both "the", and only
# the second is a function word.
STOP_ACCENTED = set("""
và của các là có được cho với theo tại trong này đó khi thì mà để những một về từ đến hoặc như trên dưới
thế nào gì bao nhiêu sao không à ở ai nhé vậy hả tôi mình bạn chúng em anh chị xin hỏi
""".split())
_PUNCT = re.compile(r"^[\W_]+$")


def is_stop(word: str) -> bool:
    """A function word, judged on its accents when it has them (NFC)."""
    word = word.lower()
    return fold(word) in STOP and (not has_diacritics(word) or word in STOP_ACCENTED)

_lock = threading.Lock()


_word_tokenize = None


def _load_word_tokenize():
    """underthesea's package init also imports its optional translation pipeline, which pulls in transformers
    and torch (seconds and ~300 MB) that word segmentation never uses: make those optional imports fail."""
    blocked = [m for m in ("transformers", "torch") if m not in sys.modules]
    for m in blocked:
        sys.modules[m] = None  # type: ignore[assignment]  # "import torch" now raises ImportError
    try:
        from underthesea import word_tokenize
    finally:
        for m in blocked:
            if sys.modules.get(m) is None:
                del sys.modules[m]
    return word_tokenize


def _segment(text: str) -> list[str]:
    global _word_tokenize
    with _lock:  # underthesea's tagger is not documented as thread-safe
        if _word_tokenize is None:
            _word_tokenize = _load_word_tokenize()
        return _word_tokenize(text)


def compounds(text: str) -> list[str]:
    """underthesea words, lower-cased, spaces joined by '_' ('công_nghệ_cao')."""
    out = []
    for w in _segment(text):
        w = w.lower().replace(" ", "_")
        if not _PUNCT.match(w):
            out.append(w)
    return out


def folded_features(text: str) -> list[str]:
    syl = [s for s in re.findall(r"\w+", fold(text).lower())]
    uni = [FOLD + s for s in syl if s not in STOP]
    bi = [f"{FOLD}{a}_{b}" for a, b in zip(syl, syl[1:]) if not (a in STOP and b in STOP)]
    return uni + bi


def document_terms(text: str, words: list[str] | None = None) -> list[str]:
    text = normalize(text)
    words = compounds(text) if words is None else words
    return [w for w in words if fold(w) not in STOP] + folded_features(text)


def query_terms(text: str) -> list[str]:
    text = normalize(text)
    feats = folded_features(text)
    if has_diacritics(text):
        feats = [w for w in compounds(text) if fold(w) not in STOP] + feats
    return feats


class SegmentCache:
    """underthesea output per text, keyed by content hash (segmentation costs ~4 s per MB)."""

    def __init__(self, path: Path):
        self.path = path
        self.data: dict[str, list[str]] = {}
        self.hits = self.misses = 0
        if path.exists():
            try:
                self.data = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                self.data = {}  # a damaged cache only costs time

    @staticmethod
    def key(text: str) -> str:
        return hashlib.sha1(text.encode("utf-8")).hexdigest()

    def words(self, text: str) -> list[str]:
        text = normalize(text)
        k = self.key(text)
        got = self.data.get(k)
        if got is None:
            self.misses += 1
            got = self.data[k] = compounds(text)
        else:
            self.hits += 1
        return got

    def save(self, keep: set[str] | None = None) -> None:
        if keep is not None:
            self.data = {k: v for k, v in self.data.items() if k in keep}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.data, ensure_ascii=False), encoding="utf-8")
        tmp.replace(self.path)
