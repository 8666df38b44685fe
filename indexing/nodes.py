"""One llama-index ``TextNode`` per provision (Khoản, or Điều without khoản), standing on its own."""
from __future__ import annotations

from llama_index.core.schema import TextNode

from corpus.loader import LegalDocument, Provision


def _heading(doc: LegalDocument, article: str, title: str) -> str:
    head = f"Điều {article}. {title}".rstrip(". ") if title else f"Điều {article}"
    return f"{doc.meta.title} ({doc.meta.short}) — {head}"


def node_prefix(doc: LegalDocument, p: Provision) -> str:
    return _heading(doc, p.article, p.article_title)


def make_node(doc: LegalDocument, p: Provision) -> TextNode:
    meta = doc.meta
    return TextNode(
        id_=p.id,
        text=f"{node_prefix(doc, p)}\n{p.text}",
        metadata={
            "provision_id": p.id,
            "document": meta.number,
            "doc_type": meta.type,
            "article": p.article,
            "clause": p.clause or "",
            "points": ",".join(p.points),
            "article_title": p.article_title,
            "effective": meta.effective.isoformat() if meta.effective else "",
            "expires": meta.expires.isoformat() if meta.expires else "",
            "confidence": meta.confidence,
            "line": p.line,
        },
        excluded_embed_metadata_keys=["provision_id", "document", "doc_type", "article", "clause", "points",
                                      "article_title", "effective", "expires", "confidence", "line"],
        excluded_llm_metadata_keys=["line", "points"],
    )


def nodes_for(doc: LegalDocument) -> list[TextNode]:
    return [make_node(doc, p) for p in doc.provisions()]


def embed_text(node: TextNode, max_chars: int) -> str:
    """The text that is embedded: prefix plus the start of the provision (e5 reads 512 tokens at most)."""
    return node.text[:max_chars]


def article_texts(doc: LegalDocument, max_chars: int) -> list[tuple[tuple[str, str], str]]:
    """One text per article (heading, then its body as a whole), embedded beside the provisions: a clause read
    alone misses what its neighbours say, and whole-article similarity tells adjacent articles of one text apart
    better than their best clauses do (the ranker's `art_dense`)."""
    out = []
    for art in doc.parsed.articles:
        body = art.body_text()
        if body.strip():
            out.append(((doc.number, art.number), f"{_heading(doc, art.number, art.title)}\n{body}"[:max_chars]))
    return out
