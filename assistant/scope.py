"""Is a question about what the corpus covers? A nearest-neighbour check in the embedding space.

Word overlap cannot tell "phạt tù vì trộm cắp" (the Labour Code mentions theft) or "mức đóng bảo hiểm xã hội"
(it mentions social insurance) from the questions the corpus answers. The embedder can: the question is compared
with two banks of example questions, in scope (``scope/in_scope.jsonl``, written from the texts) and out of
scope (``scope/out_of_scope.jsonl``: other fields of law, everyday questions). The margin is the mean cosine of
the k nearest out-of-scope examples minus that of the k nearest in-scope ones; above the threshold the
question is refused. Both banks also hold their accent-folded copies, so a question typed without diacritics
meets examples of its own form on both sides.

The banks are embedded once per model and bank content (under a minute with the default model) and kept in
the user cache (``HTP_CACHE_DIR``, shared by every index and process) and in memory; ``warm_up()`` does it
ahead of the first question.
"""
from __future__ import annotations

import functools
import json
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from indexing.text import fold, normalize

from .qvectors import cached_query_vectors

BANK_DIR = Path(__file__).resolve().parent / "scope"
BANKS = {"in": "in_scope.jsonl", "out": "out_of_scope.jsonl"}


class ScopeBankError(ValueError):
    pass


def load_bank(path: Path) -> list[str]:
    """Questions of one bank; a malformed line is reported as file:line."""
    out: list[str] = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as e:
        raise ScopeBankError(f"scope bank {path} cannot be read ({e.strerror}); reinstall the package or set "
                             f"HTP_SCOPE_CHECK=0 to answer without the scope check") from e
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            q = json.loads(line)["q"]
        except (ValueError, KeyError, TypeError) as e:
            raise ScopeBankError(f"{path}:{n}: expected a JSON object with a 'q' field ({e})") from e
        if not isinstance(q, str) or not q.strip():
            raise ScopeBankError(f"{path}:{n}: 'q' must be non-empty text")
        out.append(normalize(q))
    return out


def natural_questions() -> list[str]:
    """The accented in-scope examples: how people word questions, for diacritic restoration."""
    try:
        return [q for q in load_bank(BANK_DIR / BANKS["in"]) if q != fold(q)]
    except ScopeBankError:
        return []


def with_folded(texts: list[str]) -> list[str]:
    seen, out = set(), []
    for t in texts + [fold(t) for t in texts]:
        if t not in seen:
            seen.add(t)
            out.append(t)
    return out


@dataclass
class ScopeVerdict:
    margin: float  # > 0: nearer the out-of-scope examples
    nearest_in: str
    nearest_out: str


class ScopeGuard:
    def __init__(self, embedder, model_id: str, cache_dir: Path, k: int = 3, bank_dir: Path = BANK_DIR):
        self.embedder, self.model_id, self.k = embedder, model_id, k
        self.cache_dir = Path(cache_dir).expanduser()
        self.bank_dir = bank_dir
        self._lock = threading.Lock()
        self._vecs: dict[str, np.ndarray] | None = None
        self._texts: dict[str, list[str]] = {}
        # One answer may judge the same text more than once (a question on its own, then as a follow-up):
        # the embedding is computed once.
        self.judge = functools.lru_cache(maxsize=256)(self._judge)

    def vectors(self) -> dict[str, np.ndarray]:
        with self._lock:
            if self._vecs is None:
                texts = {side: with_folded(load_bank(self.bank_dir / name)) for side, name in BANKS.items()}
                self._vecs = cached_query_vectors(self.embedder, self.model_id, self.cache_dir, "scope", texts)
                self._texts = texts
            return self._vecs

    def _judge(self, question: str) -> ScopeVerdict:
        v = np.asarray(self.embedder.get_query_embedding(question), dtype=np.float32)
        return self.judge_vector(v)

    def judge_vector(self, v: np.ndarray) -> ScopeVerdict:
        vecs = self.vectors()
        v = v / max(float(np.linalg.norm(v)), 1e-12)
        s_in, s_out = vecs["in"] @ v, vecs["out"] @ v
        k = self.k
        margin = float(np.sort(s_out)[-k:].mean() - np.sort(s_in)[-k:].mean())
        return ScopeVerdict(margin, self._texts["in"][int(s_in.argmax())], self._texts["out"][int(s_out.argmax())])
