"""One llama-index ``TextNode`` per provision (Khoản, or Điều without khoản), standing on its own."""
from __future__ import annotations

from llama_index.core.schema import TextNode

from corpus.loader import LegalDocument, Provision


def node_prefix(doc: LegalDocument, p: Provision) -> str:
    head = f"Điều {p.article}. {p.article_title}".rstrip(". ") if p.article_title else f"Điều {p.article}"
    return f"{doc.meta.title} ({doc.meta.short}) — {head}"


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
