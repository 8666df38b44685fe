"""Diacritic restoration for questions typed without accents, learnt from the corpus itself.

"thu tuc cap giay phep lao dong" → "thủ tục cấp giấy phép lao động". Each folded syllable has the accented
forms the texts use ("thue" → thuế, thuê); a bigram model of the texts picks the likeliest sequence (Viterbi),
so "tien thue dat" becomes "tiền thuê đất" and "mien thue thu nhap" "miễn thuế thu nhập". Syllables the texts
never write (abbreviations such as "kcnc", numbers, English words) are kept as typed.

The dense model reads folded Vietnamese poorly; the restored question is what it embeds.
"""
from __future__ import annotations

import math
import re
from collections import Counter, defaultdict

from .text import fold

_WORD = re.compile(r"\w+")
MAX_CANDIDATES = 6


class DiacriticRestorer:
    def __init__(self, unigrams: Counter, bigrams: Counter, smoothing: float = 2.0):
        self.uni, self.bi, self.smoothing = unigrams, bigrams, smoothing
        self.total = sum(unigrams.values()) or 1
        by_folded: dict[str, list[tuple[int, str]]] = defaultdict(list)
        for w, c in unigrams.items():
            by_folded[fold(w)].append((c, w))
        self.candidates = {f: [w for _c, w in sorted(ws, reverse=True)[:MAX_CANDIDATES]]
                           for f, ws in by_folded.items()}

    @classmethod
    def from_texts(cls, texts) -> "DiacriticRestorer":
        uni: Counter = Counter()
        bi: Counter = Counter()
        for text in texts:
            for line in text.lower().splitlines():
                words = _WORD.findall(line)
                uni.update(words)
                bi.update(zip(words, words[1:]))
        return cls(uni, bi)

    def _logp(self, prev: str | None, w: str) -> float:
        p_w = (self.uni.get(w, 0) + 1) / (self.total + len(self.uni))
        if prev is None:
            return math.log(p_w)
        return math.log((self.bi.get((prev, w), 0) + self.smoothing * p_w) / (self.uni.get(prev, 0) + self.smoothing))

    def restore(self, text: str) -> str:
        """The text with accents restored on its folded Vietnamese syllables (lower-cased where restored)."""
        parts = re.split(r"(\w+)", text)
        # Punctuation ends a phrase: "lao dong, cu tru, thue" must not read "… trừ thuế" across the comma.
        segment: list[int] = []
        for i in range(1, len(parts), 2):
            if segment and parts[i - 1].strip():
                self._restore_segment(parts, segment)
                segment = []
            segment.append(i)
        if segment:
            self._restore_segment(parts, segment)
        return "".join(parts)

    def _restore_segment(self, parts: list[str], idx: list[int]) -> None:
        # Viterbi over the words; a syllable with no known accented form is a fixed, unscored state.
        states: list[list[str]] = []
        for i in idx:
            low = parts[i].lower()
            # Single letters are list markers or abbreviations ("r&d"), not syllables to guess.
            cands = self.candidates.get(low) if len(low) > 1 and low == fold(low) else None
            states.append(cands or [parts[i]])
        best: dict[str, tuple[float, list[str]]] = {s: (self._logp(None, s.lower()), [s]) for s in states[0]}
        for cands in states[1:]:
            nxt: dict[str, tuple[float, list[str]]] = {}
            for s in cands:
                score, path = max(((sc + self._logp(p.lower(), s.lower()), pth) for p, (sc, pth) in best.items()),
                                  key=lambda x: x[0])
                nxt[s] = (score, path + [s])
            best = nxt
        path = max(best.values(), key=lambda x: x[0])[1]
        for i, s in zip(idx, path):
            parts[i] = s
