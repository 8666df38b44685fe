"""Index generations on disk, switched atomically.

    index/CURRENT                 id of the generation being served (replaced with os.replace)
    index/generations/<id>/       manifest.json, nodes.jsonl, bm25/, articles.npz (one vector per article)
    index/chroma/                 Chroma (collections named after model + corpus fingerprint)
    index/cache/                  segmentation and embedding caches

A build writes a new generation and flips CURRENT only when it is complete; a killed build leaves the
previous generation serving, and its leftovers are removed by the next build.
"""
from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from llama_index.core.schema import TextNode

from .lexical import LexicalIndex


class IndexError_(RuntimeError):
    """Base for index problems; the message says what to run."""


class IndexMissing(IndexError_):
    pass


class IndexCorrupt(IndexError_):
    pass


@dataclass
class Manifest:
    generation: str
    created: str
    fingerprint: str
    doc_hashes: dict[str, str]
    model_id: str | None
    collection: str | None
    dense_ready: bool
    node_count: int
    documents: int
    stage_seconds: dict[str, float] = field(default_factory=dict)
    issues: list[str] = field(default_factory=list)
    article_vectors: int = 0  # whole-article vectors in articles.npz (0: lexical, or built before they existed)

    def to_json(self) -> str:
        return json.dumps(self.__dict__, ensure_ascii=False, indent=1)

    @classmethod
    def from_json(cls, text: str) -> "Manifest":
        return cls(**json.loads(text))


def atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


class IndexLayout:
    def __init__(self, root: Path):
        self.root = root
        self.generations = root / "generations"
        self.chroma = root / "chroma"
        self.cache = root / "cache"
        self.current_file = root / "CURRENT"
        self.lock_file = root / "build.lock"

    def current_id(self) -> str | None:
        try:
            gid = self.current_file.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None
        return gid or None

    def set_current(self, gid: str) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        atomic_write(self.current_file, gid + "\n")

    def gen_dir(self, gid: str) -> Path:
        return self.generations / gid

    def new_generation_id(self, fingerprint: str) -> str:
        return dt.datetime.now().strftime("%Y%m%dT%H%M%S%f") + "-" + fingerprint[:8]

    def read_manifest(self, gid: str) -> Manifest:
        path = self.gen_dir(gid) / "manifest.json"
        try:
            return Manifest.from_json(path.read_text(encoding="utf-8"))
        except FileNotFoundError as e:
            raise IndexCorrupt(f"{path} is missing: rebuild with `htp index --rebuild`") from e
        except (ValueError, TypeError) as e:
            raise IndexCorrupt(f"{path} is damaged ({e}): rebuild with `htp index --rebuild`") from e

    def write_manifest(self, m: Manifest) -> None:
        atomic_write(self.gen_dir(m.generation) / "manifest.json", m.to_json())


def save_nodes(path: Path, nodes: list[TextNode]) -> None:
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        for n in nodes:
            f.write(json.dumps({"id": n.id_, "text": n.text, "metadata": n.metadata}, ensure_ascii=False) + "\n")
    os.replace(tmp, path)


def load_nodes(path: Path) -> dict[str, TextNode]:
    nodes: dict[str, TextNode] = {}
    try:
        with open(path, encoding="utf-8") as f:
            for i, line in enumerate(f, 1):
                d = json.loads(line)
                nodes[d["id"]] = TextNode(id_=d["id"], text=d["text"], metadata=d["metadata"])
    except FileNotFoundError as e:
        raise IndexCorrupt(f"{path} is missing: rebuild with `htp index --rebuild`") from e
    except (ValueError, KeyError) as e:
        raise IndexCorrupt(f"{path}:{i}: damaged node record ({e}): rebuild with `htp index --rebuild`") from e
    return nodes


class ArticleVectors:
    """One embedding per article (document, article), kept beside the generation in `articles.npz`: the ranker
    compares the question with the whole article, and there are few enough (≈1,800) to hold in memory."""

    FILE = "articles.npz"

    def __init__(self, keys: list[tuple[str, str]], vectors: np.ndarray):
        self.index = {k: i for i, k in enumerate(keys)}
        self.keys = keys
        self.vectors = np.asarray(vectors, dtype=np.float32).reshape(len(keys), -1) if keys \
            else np.zeros((0, 0), np.float32)
        # unit length, so that a dot product is the cosine whatever the backend returns
        self._unit = self.vectors / np.maximum(np.linalg.norm(self.vectors, axis=1, keepdims=True), 1e-12)

    def similarity(self, query: np.ndarray, keys: list[tuple[str, str]]) -> np.ndarray:
        """Cosine of the query with each article; NaN for an article without a vector."""
        out = np.full(len(keys), np.nan)
        rows = [(j, self.index[k]) for j, k in enumerate(keys) if k in self.index]
        if rows:
            q = np.asarray(query, dtype=np.float32)
            js, ix = zip(*rows)
            out[list(js)] = self._unit[list(ix)] @ (q / max(float(np.linalg.norm(q)), 1e-12))
        return out

    def save(self, gen_dir: Path) -> None:
        tmp = gen_dir / (self.FILE + ".tmp.npz")
        np.savez(tmp, keys=np.array(["\t".join(k) for k in self.keys]), vectors=self.vectors)
        os.replace(tmp, gen_dir / self.FILE)

    @classmethod
    def load(cls, gen_dir: Path) -> "ArticleVectors | None":
        path = gen_dir / cls.FILE
        if not path.exists():
            return None
        try:
            with np.load(path, allow_pickle=False) as d:
                keys = [tuple(str(k).split("\t", 1)) for k in d["keys"]]
                vectors = d["vectors"]
        except Exception as e:
            raise IndexCorrupt(f"{path} cannot be read ({e}): rebuild with `htp index --rebuild`") from e
        if vectors.ndim != 2 or len(keys) != len(vectors):
            raise IndexCorrupt(f"{path}: {len(keys)} articles for {len(vectors)} vectors: "
                               f"rebuild with `htp index --rebuild`")
        return cls(keys, vectors)


@dataclass
class LoadedGeneration:
    manifest: Manifest
    nodes: dict[str, TextNode]
    lexical: LexicalIndex
    articles: ArticleVectors | None = None  # None: lexical, or a generation built before article vectors


def load_generation(layout: IndexLayout, gid: str | None = None) -> LoadedGeneration:
    gid = gid or layout.current_id()
    if not gid:
        raise IndexMissing(f"no index in {layout.root}: build it with `htp index`")
    m = layout.read_manifest(gid)
    nodes = load_nodes(layout.gen_dir(gid) / "nodes.jsonl")
    try:
        lexical = LexicalIndex.load(layout.gen_dir(gid) / "bm25")
    except Exception as e:
        raise IndexCorrupt(f"the BM25 index of generation {gid} cannot be read ({e}): "
                           f"rebuild with `htp index --rebuild`") from e
    if len(lexical.ids) != len(nodes):
        raise IndexCorrupt(f"generation {gid}: BM25 has {len(lexical.ids)} nodes, nodes.jsonl {len(nodes)}: "
                           f"rebuild with `htp index --rebuild`")
    articles = ArticleVectors.load(layout.gen_dir(gid)) if m.dense_ready else None
    return LoadedGeneration(m, nodes, lexical, articles)
