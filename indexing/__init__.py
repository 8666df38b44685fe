"""Indexing: normalisation, underthesea terms (+ accent-folded), nodes, embeddings, Chroma and BM25 generations.

Reads the corpus package; knows nothing about answering or the API.
"""
