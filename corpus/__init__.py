"""Legal corpus: the catalog of documents, the parser (Chương → Điều → Khoản → Điểm), citations and validity.

Knows nothing about indexing or answering; everything downstream reads these types.
"""
