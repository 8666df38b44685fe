"""Questions answered before: the ranker's question bank.

`examples.jsonl` beside this module holds the answerable questions of the training suites with the articles that
answer them (written by `htp eval fit-ranker`; never blind or paraphrase questions). A new question's nearest
examples in the embedding space vote for their articles, each with weight exp((cos - 1) / TAU), so a question
asked before in other words points at the article that answered it. Three ranker features come of it per
candidate article: the square root of its vote, the cosine of its closest example, and how far that lies below
the best candidate's. The vote is not normalised over the candidates: a question that no example comes close to
gives every article a vote near zero and ranks on the other features. (A vote share did: its nearest examples,
however far, still took the whole share, and on questions about articles no example answers it ranked worse than
no bank at all, leave-one-suite-out Acc@1 0.653 against 0.685; the square root of the vote, 0.685.)

The bank also holds the training suites' questions the corpus cannot answer (no articles): the judge reads how much
nearer a new question lies to the closest of them than to the closest answerable one (`judge_margin`). Written by
people who saw what the corpus lacks (fees, fines, visas, VAT, today's prices), they teach the refusal model the
near-domain questions the hand-written scope examples miss: leave-one-suite-out cost 0.0542 → 0.037, the first
unanswerable suite refused about 60% instead of 37.5% when left out, with a second writer's questions in the bank
(`evals/README.md`).

The ranker is fitted with each training question's whole suite left out of the bank (`evals/fit_ranker.py`), so
its bank columns are those a new writer's question would get: a suite's writer often asks one provision twice in
other words, and with only the question itself left out its twin's vote taught the ranker to trust the bank more
than other people's questions bear out (leave-one-suite-out Acc@1 on the older suites 0.730 against 0.756 once four
such suites joined the training set). The judge leaves only the question itself out (`evals/fit_judge.py`), which
measured better for it.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

BANK_FILE = Path(__file__).resolve().parent / "examples.jsonl"
TAU = 0.02  # temperature of the vote over cosines (0.01 and 0.04 ranked 1 point worse in cross-validation)
COLUMNS = ["bank_vote", "bank_max", "bank_gap"]


class BankError(ValueError):
    pass


@dataclass(frozen=True)
class Example:
    uid: str  # suite:id of the question it was taken from
    question: str
    gold: tuple[tuple[str, str], ...]  # (document, article); empty: a question the corpus cannot answer

    @property
    def answerable(self) -> bool:
        return bool(self.gold)

    def to_json(self) -> dict:
        return {"uid": self.uid, "q": self.question, "gold": [list(k) for k in self.gold]}

    @classmethod
    def from_json(cls, d: dict) -> "Example":
        return cls(d["uid"], d["q"], tuple(tuple(k) for k in d["gold"]))


def load_examples(path: Path = BANK_FILE) -> list[Example]:
    """The bank's examples; a malformed line is reported as file:line."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as e:
        raise BankError(f"question bank {path} cannot be read ({e.strerror}); write it with "
                        f"`htp eval fit-ranker`, or set HTP_QUESTION_BANK_FILE= to rank without it") from e
    out: list[Example] = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            d = json.loads(line)
            q, gold, uid = d["q"], d["gold"], d["uid"]
            if not isinstance(q, str) or not q.strip():
                raise ValueError("'q' must be non-empty text")
            if not isinstance(gold, list):
                raise ValueError("'gold' must be a list ([] for a question the corpus cannot answer)")
            keys = tuple((str(doc), str(art)) for doc, art in gold)
        except (ValueError, KeyError, TypeError) as e:
            raise BankError(f"{path}:{n}: expected {{\"uid\", \"q\", \"gold\": [[document, article], …]}} "
                            f"({e})") from e
        out.append(Example(str(uid), q, keys))
    return out


def write_examples(examples: list[Example], path: Path = BANK_FILE) -> None:
    tmp = path.with_suffix(".jsonl.tmp")
    tmp.write_text("".join(json.dumps(e.to_json(), ensure_ascii=False) + "\n" for e in examples), encoding="utf-8")
    tmp.replace(path)


class QuestionBank:
    def __init__(self, examples: list[Example], vectors: np.ndarray):
        if len(examples) != len(vectors):
            raise BankError(f"{len(examples)} examples but {len(vectors)} vectors")
        self.examples = examples
        self.vectors = vectors  # unit rows
        self._uids = {e.uid: i for i, e in enumerate(examples)}
        self._answerable = np.array([e.answerable for e in examples], dtype=bool)
        # Per suite, its examples (one writer's questions); per article, the examples that answered it, and each
        # one's share of its vote (1 / its articles): a question's features then cost one small gather per
        # candidate, not a pass over the whole bank.
        by_suite: dict[str, set[str]] = {}
        by_article: dict[tuple[str, str], list[int]] = {}
        for i, e in enumerate(examples):
            by_suite.setdefault(e.uid.split(":", 1)[0], set()).add(e.uid)
            for k in e.gold:
                by_article.setdefault(k, []).append(i)
        self._suites = {s: frozenset(u) for s, u in by_suite.items()}
        self._by_article = {k: np.array(v) for k, v in by_article.items()}
        self._share = np.array([1.0 / len(e.gold) if e.gold else 0.0 for e in examples])

    def of_suite(self, suite: str) -> frozenset[str]:
        """The examples taken from one suite (uids "suite:id"): one writer's questions."""
        return self._suites.get(suite, frozenset())

    def _kept(self, exclude) -> np.ndarray:
        keep = np.ones(len(self.examples), dtype=bool)
        for uid in exclude:
            i = self._uids.get(uid)
            if i is not None:
                keep[i] = False
        return keep

    def judge_margin(self, vec, exclude: frozenset[str] | set[str] = frozenset()) -> float:
        """Cosine of the closest unanswerable example minus that of the closest answerable one (> 0: the question
        lies nearer a question the corpus could not answer); 0 when either side is empty."""
        if vec is None or not self.examples:
            return 0.0
        v = np.asarray(vec, dtype=np.float32)
        cos = self.vectors @ (v / max(float(np.linalg.norm(v)), 1e-12))
        keep = self._kept(exclude)
        pos, neg = cos[keep & self._answerable], cos[keep & ~self._answerable]
        return float(neg.max() - pos.max()) if len(pos) and len(neg) else 0.0

    def features(self, vec, keys: list[tuple[str, str]], exclude: frozenset[str] | set[str] = frozenset()
                 ) -> np.ndarray:
        """One row per candidate article (`COLUMNS`): sqrt of its vote, closest example's cosine, gap to the best."""
        out = np.zeros((len(keys), len(COLUMNS)))
        if not keys or not self.examples:
            return out
        v = np.asarray(vec, dtype=np.float32)
        v = v / max(float(np.linalg.norm(v)), 1e-12)
        cos = self.vectors @ v
        keep = self._kept(exclude)
        weight = np.where(keep, np.exp((cos - 1.0) / TAU), 0.0) * self._share
        closest = np.where(keep, cos, 0.0)  # a left-out example is no closer than none
        for j, k in enumerate(keys):
            idx = self._by_article.get(k)
            if idx is not None:
                out[j, 0] = np.sqrt(weight[idx].sum())
                out[j, 1] = max(float(closest[idx].max()), 0.0)
        out[:, 2] = out[:, 1] - out[:, 1].max()
        return out
