"""Follow-ups: an elliptical question ("còn thuế nhập khẩu thì sao?") borrows the previous turn's topic.

One place for this logic, used by the extractive and the LLM modes alike.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from indexing.terms import is_stop
from indexing.text import fold, normalize

# Strong cues make a follow-up whatever the length ("còn thuế nhập khẩu thì sao?", "what about the fee?").
_STRONG_CUES = re.compile(
    r"^(còn|vậy còn|thế còn|con|vay con|the con|what about|how about|and what about)\b|"
    r"(thì sao|thi sao|\bnó\b|\bviệc này\b|\bthủ tục này\b|\btrường hợp này\b|\bvăn bản này\b|\bđiều này\b|"
    r"\bkhoản này\b|\bcái này\b|\bkhi đó\b|\btrường hợp đó\b|\bquỹ đó\b|\bviec nay\b|\bthu tuc nay\b|"
    r"\btruong hop nay\b|\bdieu nay\b|\bin that case\b|\bthe same\b)", re.I)
# Weak cues are common in standalone questions too ("… quy định thế nào?", "Is it …"): only a short question
# with one is a follow-up.
_WEAK_CUES = re.compile(
    r"^(vậy|thế|nếu|trường hợp|vay|neu|and|what if|also|then)\b|"
    r"(thế nào|the nao|\bnhư vậy\b|\bno\b|\bit\b|\bthis\b|\bthat\b|\bthose\b|\bthem\b|\bsuch\b)", re.I)
WEAK_CUE_MAX_WORDS = 7
_GENERIC = set("""ho so gom nhung gi thoi han bao lau may ngay co quan nao o dau ai can giay to thu tuc the nao
nop dau muc thue suat bao nhieu nam duoc khong phai lam sao dieu kien what documents how long which authority who
where when is are do does required need needed the a an of for to it this that those them such about fee cost
""".split())


# Heads too general to mark a slot: "giấy chứng nhận" does not replace "giấy phép lao động".
_GENERIC_HEADS = {"giấy", "người", "hồ", "cơ", "văn", "thời", "thủ", "quy"}


@dataclass
class Turn:
    question: str
    search_query: str
    language: str
    documents: list[str] = field(default_factory=list)  # documents cited in the answer
    refused: bool = False


def content_words(text: str) -> list[str]:
    """The words that carry meaning, folded ("thẻ" stays: only "thế" is a function word)."""
    return [fold(w) for w in re.findall(r"\w+", normalize(text).lower()) if len(w) > 1 and not is_stop(w)]


def is_elliptical(question: str) -> bool:
    words = content_words(question)
    q = normalize(question)
    if _STRONG_CUES.search(q) or (len(words) <= WEAK_CUE_MAX_WORDS and _WEAK_CUES.search(q)):
        return True
    # Short questions made only of generic words ("hồ sơ gồm những gì?", "how long?") name no topic.
    topical = [w for w in words if w not in _GENERIC]
    return len(words) <= 6 and len(topical) <= 1


@dataclass
class Contextualized:
    query: str  # what is searched
    follow_up: bool
    context_documents: list[str]


def _word(word: str) -> str:
    """A whitespace-separated word, lower-case, without punctuation."""
    return normalize(word).lower().strip("?,.!:;()")


def previous_topic(question: str, prev: Turn) -> str:
    """The previous turn's words, minus the slot the new question replaces: in "còn thuế nhập khẩu thì sao?"
    after "… miễn thuế TNDN …", the word after the shared head "thuế" (TNDN) is what changed. A head the new
    question does not follow with a word of its own ("nếu dự án nằm ngoài khu thì sao?") replaces nothing."""
    words = [_word(w) for w in re.findall(r"\S+", question)]
    cur = set(content_words(question))
    follows = {fold(a): fold(b) for a, b in zip(words, words[1:])
               if b and not is_stop(b) and fold(b) not in _GENERIC and fold(b) != fold(a)}
    out, skip = [], 0
    for w in re.findall(r"\S+", prev.search_query):
        word = _word(w)
        key, stop = fold(word), is_stop(word)
        if skip and key not in cur and not stop:
            skip -= 1
            continue
        skip = 0
        out.append(w)
        if key in cur and not stop and key in follows:
            skip = 1
    return " ".join(out)


def contextualize(question: str, history: list[Turn], force: bool = False) -> Contextualized:
    """Rewrite an elliptical question with the previous turn's topic; a standalone one passes through.
    `force`: the caller found the question too weak on its own (see Assistant.answer)."""
    prev = next((t for t in reversed(history) if not t.refused), None)
    if prev is None or not (force or is_elliptical(question)):
        return Contextualized(question, False, [])
    # The current words come first and twice: they say what changed; the previous topic says about what.
    return Contextualized(_with_topic(question, prev), True, prev.documents)


def _with_topic(question: str, prev: Turn) -> str:
    """The question, twice, with the previous topic less the slot it replaces. English words name no slot of a
    Vietnamese topic ("What about import duties?" after a CIT question): an English question brings its glossary
    terms along, and a term of the previous topic that starts like one of them ("thuế thu nhập doanh nghiệp" and
    "thuế nhập khẩu") is the slot they replace, with the longer terms containing it."""
    from .query import detect_language, glossary_terms

    if detect_language(question)[0] == "en":
        own = glossary_terms(question)
        heads = {t.split()[0] for t in own if len(t.split()) > 1} - _GENERIC_HEADS
        prev_terms = glossary_terms(prev.search_query) if prev.language == "en" else []
        dropped = [t for t in prev_terms if len(t.split()) > 1 and t.split()[0] in heads
                   and not any(t in o for o in own)]  # "giấy phép lao động" is part of the new term: it stays
        mine = " ".join(own)
        if dropped:
            kept = [t for t in prev_terms if t not in own and not any(d in t for d in dropped)]
            return f"{question} {mine} {question} {mine} ({' '.join(kept)})"
        topic = " ".join(prev_terms) or prev.search_query
        if own and set(content_words(mine)) & set(content_words(topic)):
            # no term to replace, but the question's terms belong with the topic's ("tax exemption" after CIT
            # incentives): both, in Vietnamese
            return f"{question} {mine} {question} {mine} ({topic})"
    return f"{question} {question} ({previous_topic(question, prev)})"
