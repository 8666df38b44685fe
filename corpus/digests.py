"""English digests of the articles: an English heading and a one-sentence gist of what each article states.

The texts are Vietnamese and the embedder (multilingual-e5-small) matches an English question with a Vietnamese
article far less well than with an English sentence on the same matter (the dense channel's first hit is right for
one English question in three against three Vietnamese ones in five). Translating the index side is the usual
remedy in cross-language search; the digests are that translation, kept short. They are what the project knows
*about* the texts, like the catalog, and are committed here (``corpus/digests_en.jsonl``); the texts are not.

Written on 2026-12-04 by helpers who saw only the articles (heading and the first 1,000 characters of the body),
neither the product nor any question suite. They only steer retrieval for English questions: answers still quote
the Vietnamese provision. An article without a digest (a text added later) is simply not compared this way;
a deployment writes the digests of the texts it adds in ``digests.local.jsonl`` beside them (same format, read over
the project's file), and ``htp corpus check`` lists the articles that have none.
"""
from __future__ import annotations

import json
from pathlib import Path

DIGESTS_PATH = Path(__file__).with_name("digests_en.jsonl")
LOCAL_DIGESTS_NAME = "digests.local.jsonl"  # a deployment's own, beside its texts
MAX_CHARS = 600  # a digest is a heading and a sentence; anything longer is a mistake in the file


class DigestError(ValueError):
    pass


def load_digests(path: Path = DIGESTS_PATH) -> dict[tuple[str, str], str]:
    """(document, article) → English digest. Every problem is reported at once as `file:line: reason`."""
    if not path.exists():
        raise DigestError(f"{path}: no such file")
    out: dict[tuple[str, str], str] = {}
    problems: list[str] = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            d = json.loads(line)
        except json.JSONDecodeError as e:
            problems.append(f"{path}:{n}: not JSON ({e.msg})")
            continue
        if not isinstance(d, dict) or set(d) != {"document", "article", "en"}:
            problems.append(f"{path}:{n}: expected the keys document, article, en")
            continue
        if not all(isinstance(d[k], str) and d[k].strip() for k in d):
            problems.append(f"{path}:{n}: document, article and en must be non-empty strings")
            continue
        if len(d["en"]) > MAX_CHARS:
            problems.append(f"{path}:{n}: digest of {len(d['en'])} characters (at most {MAX_CHARS})")
            continue
        key = (d["document"].strip(), d["article"].strip())
        if key in out:
            problems.append(f"{path}:{n}: a second digest of {key[0]} Điều {key[1]}")
            continue
        out[key] = " ".join(d["en"].split())
    if problems:
        raise DigestError("\n".join(problems))
    return out


def local_digests(corpus_dir: Path | None) -> dict[tuple[str, str], str]:
    """A deployment's own digests (``digests.local.jsonl`` beside its texts); none when it has no such file."""
    local = Path(corpus_dir) / LOCAL_DIGESTS_NAME if corpus_dir else None
    return load_digests(local) if local is not None and local.exists() else {}


def load_all_digests(path: Path, corpus_dir: Path | None) -> dict[tuple[str, str], str]:
    """The project's digests, with the corpus folder's own over them."""
    return {**load_digests(path), **local_digests(corpus_dir)}


def without_digest(articles: list[tuple[str, str]], digests: dict[tuple[str, str], str]) -> list[tuple[str, str]]:
    """The articles an English question cannot be compared with in English."""
    return [k for k in articles if k not in digests]


def heading(digest: str) -> str:
    """The English heading of a digest ("<heading> — <gist>")."""
    return digest.split(" — ", 1)[0].strip()

