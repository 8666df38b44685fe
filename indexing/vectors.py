"""Chroma: one client per process (persistent under the data dir, or a server via HTP_CHROMA_URL)."""
from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlparse

import chromadb
from chromadb.config import Settings as ChromaSettings

from .store import IndexCorrupt


class VectorStoreError(RuntimeError):
    pass


class ChromaFolderCorrupt(VectorStoreError, IndexCorrupt):
    """The local Chroma folder cannot be opened: an IndexCorrupt too, so callers that report index problems
    (CLI `ask`, API) say "rebuild with `htp index --rebuild`" instead of failing with a bare error."""


def forget_client(persist_dir: Path) -> None:
    """Drop chromadb's per-process cached system for a local folder (chromadb keeps a broken one after a
    failed open, so every later open in the process fails even once the folder is rebuilt)."""
    from chromadb.api.shared_system_client import SharedSystemClient

    for key in {str(persist_dir), str(Path(persist_dir).resolve())}:
        system = SharedSystemClient._identifier_to_system.pop(key, None)
        SharedSystemClient._identifier_to_refcount.pop(key, None)
        if system is not None:
            try:
                system.stop()
            except Exception:
                pass


def chroma_client(persist_dir: Path | None = None, url: str | None = None):
    # One Settings object: telemetry off, and no default embedding function is ever used (we pass vectors).
    settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    if url:
        u = urlparse(url)
        if not u.hostname:
            raise VectorStoreError(f"HTP_CHROMA_URL={url!r} is not a URL like http://127.0.0.1:8001")
        try:
            return chromadb.HttpClient(host=u.hostname, port=u.port or 8000, ssl=u.scheme == "https",
                                       settings=settings)
        except Exception as e:
            raise VectorStoreError(f"cannot reach the Chroma server at {url}: {e} — start it with "
                                   f"`chroma run --path DIR --port PORT` or unset HTP_CHROMA_URL") from e
    assert persist_dir is not None
    persist_dir.mkdir(parents=True, exist_ok=True)
    try:
        return chromadb.PersistentClient(path=str(persist_dir), settings=settings)
    except Exception as e:
        forget_client(persist_dir)
        raise ChromaFolderCorrupt(f"the Chroma folder {persist_dir} cannot be opened ({e}); rebuild it with "
                                  f"`htp index --rebuild`") from e


def collection_name(model_id: str, fingerprint: str) -> str:
    """The model and the corpus fingerprint are in the name: switching models never mixes vectors."""
    name = f"htp-{model_id}-{fingerprint[:12]}"
    return re.sub(r"[^A-Za-z0-9._-]", "-", name)[:60].strip("-._")


def get_collection(client, name: str, create: bool = False):
    if create:
        return client.get_or_create_collection(name, metadata={"hnsw:space": "cosine"}, embedding_function=None)
    from chromadb.errors import NotFoundError

    try:
        return client.get_collection(name, embedding_function=None)
    except NotFoundError as e:
        # Reliability fix: a removed or replaced Chroma folder (or a Chroma server that lost its data) used to
        # surface as a bare chromadb NotFoundError (HTTP 500, a traceback in `htp ask`). It is index damage: say
        # so with the fix. A plain `htp index` would find the generation up to date; --rebuild recreates it.
        raise IndexCorrupt(f"the Chroma collection {name} of the current index generation does not exist (was the "
                           f"Chroma folder removed or replaced?): rebuild it with `htp index --rebuild`") from e
