"""Optional LLM-judged faithfulness (OpenAI-compatible endpoint from HTP_LLM_BASE_URL).

Without an endpoint there is no judge and the report says "n/a": a made-up number would be worse than none.
"""
from __future__ import annotations

import os
import re
from typing import Callable, Sequence

Judge = Callable[[str, str, Sequence[str]], "float | None"]

PROMPT = """You check a legal assistant's answer against the provisions it quotes.
Question: {question}

Quoted provisions:
{quotes}

Answer:
{answer}

What share of the answer's factual statements is supported by the quoted provisions? Reply with one number
between 0 and 1 and nothing else."""


def make_judge() -> Judge | None:
    base = os.environ.get("HTP_LLM_BASE_URL")
    if not base:
        return None
    import httpx

    model = os.environ.get("HTP_LLM_MODEL", "default")
    key = os.environ.get("HTP_LLM_API_KEY", "none")
    client = httpx.Client(base_url=base.rstrip("/"), timeout=float(os.environ.get("HTP_LLM_TIMEOUT_S", "30")),
                          headers={"Authorization": f"Bearer {key}"})

    def judge(question: str, answer: str, quotes: Sequence[str]) -> float | None:
        prompt = PROMPT.format(question=question, answer=answer,
                               quotes="\n\n".join(f"[{i}] {q}" for i, q in enumerate(quotes, 1)))
        try:
            r = client.post("/chat/completions", json={"model": model, "temperature": 0,
                                                       "messages": [{"role": "user", "content": prompt}]})
            r.raise_for_status()
            text = r.json()["choices"][0]["message"]["content"]
        except Exception:  # a judge failure leaves the question unjudged, it does not stop the run
            return None
        m = re.search(r"\d+(?:\.\d+)?", text)
        return min(1.0, max(0.0, float(m.group()))) if m else None

    return judge
