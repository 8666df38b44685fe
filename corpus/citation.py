"""Citations in Vietnamese legal style.

Full: ``điểm a khoản 2 Điều 22 Luật Công nghệ cao số 133/2025/QH15``.
Short (chips): ``Đ22.2.a Luật CNC 2025``.
"""
from __future__ import annotations

from .catalog import DocumentMeta

_LAW_TYPES = ("Luật", "Bộ luật")


def document_name(doc: DocumentMeta) -> str:
    """'Luật Công nghệ cao số 133/2025/QH15', 'Nghị định số 10/2024/NĐ-CP quy định về khu công nghệ cao'."""
    title = doc.title.strip()
    if doc.type in _LAW_TYPES and title.startswith(doc.type):
        base = title.split(" (")[0]
        return f"{base} số {doc.number}"
    rest = title[len(doc.type):].strip() if title.startswith(doc.type) else title
    return f"{doc.type} số {doc.number} {rest}".strip()


def full_citation(doc: DocumentMeta, article: str, clause: str | None = None, point: str | None = None,
                  lang: str = "vi") -> str:
    if lang == "en":
        parts = []
        if point:
            parts.append(f"point {point}")
        if clause:
            parts.append(f"clause {clause}")
        parts.append(f"Article {article}")
        return f"{', '.join(parts)} of {doc.title_en or doc.type} No. {doc.number}"
    parts = []
    if point:
        parts.append(f"điểm {point}")
    if clause:
        parts.append(f"khoản {clause}")
    parts.append(f"Điều {article}")
    return f"{' '.join(parts)} {document_name(doc)}"


def short_citation(doc: DocumentMeta, article: str, clause: str | None = None, point: str | None = None) -> str:
    ref = f"Đ{article}"
    if clause:
        ref += f".{clause}"
    if point:
        ref += f".{point}"
    return f"{ref} {doc.short}"
