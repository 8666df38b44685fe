"""Query embeddings of fixed question banks (the scope examples, the ranker's question bank), computed once per
model and bank content, kept in the user cache (``HTP_CACHE_DIR``, shared by every index and process) and in
memory."""
from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path
from typing import Callable

import numpy as np

MEMO: dict[Path, dict[str, np.ndarray]] = {}  # one computation per process and cache file
log = logging.getLogger("htp")


def cache_file(cache_dir: Path, name: str, model_id: str, texts: dict[str, list[str]], salt: str = "") -> Path:
    h = hashlib.sha1((json.dumps(texts, ensure_ascii=False, sort_keys=True) + salt).encode()).hexdigest()[:12]
    return Path(cache_dir).expanduser() / f"{name}-{model_id}-{h}.npz"


def embed_queries(embedder, texts: list[str], passages: bool = False) -> np.ndarray:
    """Unit-length query embeddings (or, `passages`, text embeddings), one row per text."""
    if not texts:
        return np.zeros((0, 0), dtype=np.float32)
    if passages:
        m = np.asarray(embedder.get_text_embedding_batch(texts), dtype=np.float32)
    else:
        m = np.asarray([embedder.get_query_embedding(t) for t in texts], dtype=np.float32)
    return m / np.maximum(np.linalg.norm(m, axis=1, keepdims=True), 1e-12)


def cached_query_vectors(embedder, model_id: str, cache_dir: Path, name: str,
                         texts: dict[str, list[str]] | Callable[[], dict[str, list[str]]],
                         key: dict[str, list[str]] | None = None, salt: str = "",
                         passages: bool = False) -> dict[str, np.ndarray]:
    """The unit query vectors of each group of texts, from memory, the cache file, or the embedder. `key` (one
    entry per text) and `salt` name the texts when computing them costs time: `texts` may then be a function,
    called only when the vectors are not cached."""
    ident = key if key is not None else texts
    assert isinstance(ident, dict)
    path = cache_file(cache_dir, name, model_id, ident, salt)
    vecs: dict[str, np.ndarray] | None = MEMO.get(path)
    if vecs is None and path.exists():
        try:
            with np.load(path) as z:
                vecs = {k: z[k] for k in ident}
        except Exception:  # a damaged cache is rebuilt, not trusted
            vecs = None
    if vecs is None or any(len(vecs[k]) != len(t) for k, t in ident.items()):
        got = texts() if callable(texts) else texts
        vecs = {k: embed_queries(embedder, t, passages) for k, t in got.items()}
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f"{path.stem}.{os.getpid()}.tmp.npz")
            np.savez(tmp, **vecs)
            tmp.replace(path)  # atomic: a killed process never leaves half a cache
        except OSError as e:  # a read-only home: keep the vectors in memory, recompute next time
            log.warning("htp: cannot cache %s vectors in %s (%s)", name, path.parent, e)
    MEMO[path] = vecs
    return vecs
