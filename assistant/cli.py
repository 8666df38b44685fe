"""`htp` — the command line: corpus check, index, ask, search, serve, draft, eval, bench."""
from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from .config import Settings, get_settings

app = typer.Typer(help="htp-assistant: grounded answers on Vietnam's high-tech park regulations.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
corpus_app = typer.Typer(help="Inspect the legal corpus.", no_args_is_help=True)
app.add_typer(corpus_app, name="corpus")
console = Console(stderr=True)
out = Console(width=None if sys.stdout.isatty() else 180)


def _settings() -> Settings:
    return get_settings()


def _fail(msg: str, code: int = 1) -> None:
    console.print(f"[bold red]error:[/] {msg}")
    raise typer.Exit(code)


# ---------------------------------------------------------------------------------------------- corpus
@corpus_app.command("check")
def corpus_check(corpus_dir: Optional[Path] = typer.Option(None, help="default: HTP_CORPUS_DIR"),
                 json_out: bool = typer.Option(False, "--json", help="machine-readable report")) -> None:
    """Parse every document: articles, numbering gaps, clauses, points, problems (file:line)."""
    from corpus.catalog import CatalogError, load_catalog
    from corpus.check import check_corpus
    from corpus.loader import CorpusError, load_corpus

    s = _settings()
    try:
        catalog = load_catalog(corpus_dir=corpus_dir or s.corpus_dir)  # with the corpus folder's own entries
        corpus = load_corpus(corpus_dir or s.corpus_dir, catalog)
    except (CatalogError, CorpusError) as e:
        _fail(str(e))
    for c in catalog.conflicts:
        console.print(f"[yellow]catalog conflict:[/] {c}")
    reports = check_corpus(corpus, catalog)
    if json_out:
        out.print_json(json.dumps([{**{k: v for k, v in r.__dict__.items() if k != "issues"},
                                    "issues": [str(i) for i in r.issues]} for r in reports], ensure_ascii=False))
        return
    t = Table(title=f"Corpus {corpus.directory}")
    for col in ("document", "conf.", "articles", "range", "gaps (known)", "unexpected gaps", "clauses", "points",
                "footnotes", "problems"):
        t.add_column(col)
    errors = 0
    for r in reports:
        errs = [i for i in r.issues if i.severity == "error"]
        errors += len(errs)
        t.add_row(r.number, r.confidence, str(r.articles), f"{r.first}–{r.last}" if r.first else "-",
                  ",".join(g for g in r.gaps if g in r.known_gaps) or "-",
                  ",".join(r.unexpected_gaps) or "-", str(r.clauses), str(r.points), str(r.footnotes),
                  str(len(r.issues)))
    out.print(t)
    other = [i for i in corpus.issues if not any(i in r.issues for r in reports)]
    for r in reports:
        for i in r.issues:
            out.print(f"  {i}")
    for i in other:
        out.print(f"  {i}")
    total = sum(r.articles for r in reports)
    out.print(f"{len(corpus.documents)} documents loaded, {total} articles, {errors} errors.")
    _digest_coverage(corpus, corpus_dir or s.corpus_dir, s.digests_file)
    if errors:
        raise typer.Exit(1)


def _digest_coverage(corpus, corpus_dir: Path, digests_file: Path | None) -> None:
    """English questions are compared with each article's English digest: say which articles have none."""
    from corpus.digests import LOCAL_DIGESTS_NAME, DigestError, load_all_digests, without_digest

    if digests_file is None:
        out.print("English digests: off (HTP_DIGESTS_FILE is empty).")
        return
    try:
        digests = load_all_digests(digests_file, corpus_dir)
    except DigestError as e:
        out.print(f"[red]English digests cannot be read:[/]\n{e}")
        raise typer.Exit(1)
    held = [(n, a.number) for n, d in corpus.documents.items() for a in d.parsed.articles]
    missing = without_digest(held, digests)
    out.print(f"English digests: {len(held) - len(missing)} of {len(held)} articles.")
    if missing:
        shown = ", ".join(f"{d} Điều {a}" for d, a in missing[:10]) + (" …" if len(missing) > 10 else "")
        out.print(f"  without one ({len(missing)}): {shown}; English questions reach them only through the "
                  f"glossary: write theirs in {Path(corpus_dir) / LOCAL_DIGESTS_NAME} (corpus/digests.py)")


@corpus_app.command("add")
def corpus_add(files: list[Path] = typer.Argument(..., help="legal texts: .txt (our header or a bare text), "
                                                             ".docx, .html"),
               apply: bool = typer.Option(False, "--apply", help="write text, entry and relations, then re-index"),
               catalog_file: Optional[Path] = typer.Option(None, "--catalog", help="catalog file to write (default "
                                                           "<corpus>/catalog.local.yaml; corpus/catalog.yaml for "
                                                           "the project's maintainers)"),
               name: Optional[str] = typer.Option(None, help="file name in the corpus folder (one file only)"),
               no_index: bool = typer.Option(False, "--no-index", help="with --apply: do not re-index"),
               lexical_only: bool = typer.Option(False, help="re-index BM25 only")) -> None:
    """Draft the catalog entry of new texts from their own words; show what changes; --apply writes it."""
    from corpus.additions import AddError, apply_plans, plan_add
    from corpus.catalog import CatalogError, load_catalog

    s = _settings()
    if name and len(files) > 1:
        _fail("--name needs exactly one file", 2)
    try:
        catalog = load_catalog(corpus_dir=s.corpus_dir)
        plans = []
        for f in files:
            if not f.is_file():
                _fail(f"{f}: no such file", 2)
            plans.append(plan_add(f, s.corpus_dir, catalog, name=name))
    except (AddError, CatalogError) as e:
        _fail(str(e))
    failed = False
    for p in plans:
        out.print(p.report(), markup=False, highlight=False)
        failed = failed or not p.ok
    if failed:
        _fail("not added: see the errors above")
    if not apply:
        out.print("(draft only: review it, then run again with --apply)")
        return

    def reindex(cat):
        if no_index:
            return None
        from .indexer import build_options

        opts = build_options(s, lexical_only=lexical_only)
        opts.catalog = cat
        return _run_build(opts)

    try:
        res = apply_plans(plans, s.corpus_dir, catalog_file, reindex)
    except (AddError, CatalogError) as e:
        _fail(str(e))
    out.print(f"added {', '.join(res.added)} to {res.catalog_path}")
    if res.index is not None:
        _print_build(res.index)


@corpus_app.command("drafter-eval")
def corpus_drafter_eval(json_out: bool = typer.Option(False, "--json")) -> None:
    """Run the relation drafter over the catalogued texts and compare with the hand-written relations."""
    from corpus.catalog import load_catalog
    from corpus.drafter_eval import evaluate

    s = _settings()
    r = evaluate(load_catalog(corpus_dir=s.corpus_dir), s.corpus_dir)
    if json_out:
        out.print_json(json.dumps({"precision": r.precision, "recall": r.recall, "per_kind": r.per_kind,
                                   "missed": r.missed, "wrong": r.wrong, "unjudged": r.unjudged}, ensure_ascii=False))
        return
    t = Table(title="relation drafter vs the hand-written catalog")
    for col in ("kind", "gold", "drafted (judged)", "correct", "precision", "recall"):
        t.add_column(col)
    for kind, v in r.per_kind.items():
        t.add_row(kind, str(v["gold"]), str(v["drafted"]), str(v["correct"]), f"{v['precision']:.3f}",
                  f"{v['recall']:.3f}")
    t.add_row("all", str(len(r.gold)), str(len(r.judged)), str(r.tp), f"{r.precision:.3f}", f"{r.recall:.3f}")
    out.print(t)
    out.print(f"{r.unjudged} drafted relations concern texts the catalog keeps no relations for (not judged)")
    for m in r.missed:
        out.print(f"missed: {m[0]} {m[2]} by {m[1]}")
    for w in r.wrong:
        out.print(f"wrong:  {w[0]} {w[2]} by {w[1]} ({r.drafted[w].describe()})")


@corpus_app.command("coverage")
def corpus_coverage(qa: Optional[Path] = typer.Option(None, help="JSONL with 'cited' lists (default: "
                                                        "<corpus>/../dev/tvpl-qa.jsonl)"),
                    json_out: bool = typer.Option(False, "--json")) -> None:
    """Of the publisher's questions, those whose cited documents are all held, and those with at least one."""
    from corpus.catalog import load_catalog

    from .query import find_references

    s = _settings()
    path = qa or (Path(s.corpus_dir) / ".." / "dev" / "tvpl-qa.jsonl")
    if not path.is_file():
        _fail(f"{path}: no such file (give --qa FILE)", 2)
    catalog = load_catalog(corpus_dir=s.corpus_dir)
    held = set(catalog.documents and [d.number for d in catalog.documents])
    all_held = some_held = total = 0
    lacking: dict[str, int] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        total += 1
        docs = []
        for c in row.get("cited") or []:
            refs, missing = find_references(c, catalog)
            if refs:
                docs.append(refs[0].number)
            else:
                docs.append(None)
                key = missing[0] if missing else c
                lacking[key] = lacking.get(key, 0) + 1
        have = [d for d in docs if d in held]
        all_held += bool(docs) and len(have) == len(docs)
        some_held += bool(have)
    res = {"questions": total, "all_cited_held": all_held, "some_cited_held": some_held,
           "most_cited_missing": sorted(lacking.items(), key=lambda x: -x[1])[:15]}
    if json_out:
        out.print_json(json.dumps(res, ensure_ascii=False))
        return
    out.print(f"{total} questions: cited documents all held {all_held}, at least one held {some_held}")
    for k, v in res["most_cited_missing"]:
        out.print(f"  {v:3d}  {k}", markup=False, highlight=False)


@corpus_app.command("changes")
def corpus_changes(since: str = typer.Option(..., help="YYYY-MM-DD"),
                   until: Optional[str] = typer.Option(None, help="YYYY-MM-DD (default: today)"),
                   json_out: bool = typer.Option(False, "--json")) -> None:
    """Texts that took effect, were amended or ceased in a period, each with the provision that says so."""
    from corpus.catalog import load_catalog
    from corpus.changes import changes

    s = _settings()
    start = _as_of(since)
    end = _as_of(until) or s.today()
    items = changes(load_catalog(corpus_dir=s.corpus_dir), start, end)
    if json_out:
        out.print_json(json.dumps([i.as_dict() for i in items], ensure_ascii=False))
        return
    for i in items:
        out.print(i.line(), markup=False, highlight=False)
    out.print(f"{len(items)} changes from {start} to {end}")


# ---------------------------------------------------------------------------------------------- index
@app.command("index")
def index_cmd(rebuild: bool = typer.Option(False, help="ignore the current generation and caches' reuse"),
              verify: bool = typer.Option(False, help="check that Chroma, BM25 and the corpus agree"),
              lexical_only: bool = typer.Option(False, help="build BM25 only (seconds)"),
              only: Optional[str] = typer.Option(None, help="comma-separated document numbers (tests)")) -> None:
    """Build the index (incremental, atomic). Progress per stage, summary at the end."""
    from indexing.verify import verify_index

    s = _settings()
    if verify:
        rep = verify_index(s.index_dir, s.corpus_dir, s.chroma_url,
                           only=set(only.split(",")) if only else None)
        for line in rep.lines:
            out.print(line)
        raise typer.Exit(0 if rep.ok else 1)
    from .indexer import build_options

    opts = build_options(s, rebuild, lexical_only, set(only.split(",")) if only else None)
    res = _run_build(opts)
    _print_build(res)
    if res.dense_ready and not only and s.question_bank_file:
        _prepare_bank(s)


def _prepare_bank(s) -> None:
    """Embed the ranker's question bank for the texts just indexed (cached), so the first question a server asks
    of a new generation does not wait for it (~20 s on 2 cores when the texts changed)."""
    import time

    from .engine import Assistant

    t = time.perf_counter()
    try:
        a = Assistant(s)
        bank = a.retriever.question_bank(a.handle.generation())
    except Exception as e:  # the index is built and served either way; the bank is embedded on first use
        out.print(f"[yellow]question bank not prepared ({type(e).__name__}: {e}); it is embedded on first use[/]")
        return
    if bank is not None:
        out.print(f"question bank ready: {len(bank.examples)} examples ({time.perf_counter() - t:.1f} s)")


def _run_build(opts):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from indexing.build import build_index
    from indexing.embeddings import EmbeddingModelError
    from indexing.vectors import VectorStoreError

    with Progress(TextColumn("{task.description:>10}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=False) as prog:
        class _P:
            task = None

            def stage(self, name, total=None):
                self.finish()
                self.task = prog.add_task(name, total=total)

            def finish(self):
                if self.task is not None:
                    t = prog.tasks[self.task]
                    total = t.total if t.total is not None else 1  # an indeterminate stage is done now
                    prog.update(self.task, total=total, completed=total)
                    prog.stop_task(self.task)

            def advance(self, n=1):
                prog.advance(self.task, n)

        from .buildprogress import ProgressReport  # done/total, rate, ETA for /readyz and the build log

        progress = ProgressReport(_P(), opts.index_dir.parent)
        try:
            res = build_index(opts, progress, on_lexical_ready=lambda g: console.print(
                f"[green]lexical index ready[/] (generation {g}): answering lexically while embeddings build"))
        except (EmbeddingModelError, VectorStoreError, RuntimeError) as e:
            progress.finish("failed")
            _fail(str(e))
        progress.finish()
    return res


def _print_build(res) -> None:
    if res.up_to_date:
        out.print(f"index up to date (generation {res.generation}, {res.documents} documents, {res.nodes} nodes, "
                  f"{'hybrid' if res.dense_ready else 'lexical'})")
        return
    t = Table(title=f"index generation {res.generation}")
    t.add_column("stage")
    t.add_column("seconds", justify="right")
    for k, v in res.seconds.items():
        t.add_row(k, f"{v:.1f}")
    out.print(t)
    out.print(f"{res.documents} documents, {res.nodes} nodes; segmented {res.segmented} new texts, embedded "
              f"{res.embedded} new vectors; mode: {'hybrid' if res.dense_ready else 'lexical'}; "
              f"changed documents: {', '.join(res.changed_documents) or '-'}")
    for i in res.issues:
        out.print(f"[yellow]{i}[/]")


# ---------------------------------------------------------------------------------------------- ask / search
def _as_of(value: Optional[str]) -> Optional[dt.date]:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        _fail(f"--as-of {value!r}: expected a date YYYY-MM-DD")


def _assistant():
    from indexing.embeddings import EmbeddingModelError
    from indexing.store import IndexError_

    from .engine import Assistant

    a = Assistant(_settings())
    try:
        a.handle.generation()
        if a.handle.mode == "hybrid":
            a.handle.collection()  # a damaged vector store is reported here, with its fix, not mid-answer
    except IndexError_ as e:
        _fail(str(e))
    except EmbeddingModelError as e:
        _fail(str(e))
    return a


def _batch_questions(path: Path):
    """Plain text (one question a line) or JSONL with a "question" field; yields (line, question|None, error)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        _fail(f"{path}: cannot read ({e})")
    for i, line in enumerate(lines, 1):
        s = line.strip()
        if not s:
            continue
        if s.startswith("{"):
            try:
                obj = json.loads(s)
            except ValueError as e:
                yield i, None, f"{path}:{i}: invalid JSON ({e.msg})", {}
                continue
            q = obj.get("question") if isinstance(obj, dict) else None
            if not isinstance(q, str):
                yield i, None, f"{path}:{i}: no \"question\" text field", obj
                continue
            yield i, q, None, obj
        else:
            yield i, s, None, {}


@app.command("ask")
def ask(question: Optional[str] = typer.Argument(None, help="the question (omit with --batch)"),
        json_out: bool = typer.Option(False, "--json", help="print the answer object as JSON"),
        batch: Optional[Path] = typer.Option(None, help="file: one question per line, or JSONL with 'question'"),
        as_of: Optional[str] = typer.Option(None, "--as-of", help="validity date YYYY-MM-DD (default today)"),
        session: Optional[str] = typer.Option(None, help="session id: follow-ups use the previous turns"),
        language: Optional[str] = typer.Option(None, help="answer language: vi or en (default: the question's)")) -> None:
    """Answer a question from the law, with citations."""
    from .models import QuestionError

    date = _as_of(as_of)
    if batch is None and not question:
        _fail("give a QUESTION or --batch FILE")
    a = _assistant()
    if batch is not None:
        for line, q, err, obj in _batch_questions(batch):
            if err:
                print(json.dumps({"line": line, "error": err, "refused": True}, ensure_ascii=False), flush=True)
                continue
            sess = obj.get("session") or session
            d = _as_of(obj.get("as_of")) if obj.get("as_of") else date
            try:
                ans = a.answer(q, session_id=sess, as_of=d, language=obj.get("language") or language)
                row = ans.model_dump(mode="json")
                if "id" in obj:
                    row["id"] = obj["id"]
                print(json.dumps(row, ensure_ascii=False), flush=True)
            except QuestionError as e:
                print(json.dumps({"line": line, "question": q, "error": str(e), "refused": True},
                                 ensure_ascii=False), flush=True)
        return
    try:
        ans = a.answer(question, session_id=session, as_of=date, language=language)
    except QuestionError as e:
        _fail(str(e), 2)
    if json_out:
        print(json.dumps(ans.model_dump(mode="json"), ensure_ascii=False, indent=1))
        return
    _print_answer(ans)


def _print_answer(ans) -> None:
    from rich.markup import escape
    from rich.panel import Panel

    out.print(Panel(escape(ans.answer), title=f"{'refused' if ans.refused else 'answer'} · {ans.mode} · "
                                              f"as of {ans.as_of}", expand=True))
    if ans.procedure:
        for label, items in (("Cơ quan", ans.procedure.authority), ("Hồ sơ", ans.procedure.documents),
                             ("Thời hạn", ans.procedure.time_limit), ("Kết quả", ans.procedure.result)):
            for f in items:
                out.print(f"[bold]{label}[/]: {escape(f.value)} [dim]({escape(f.short)})[/]")
    if ans.session_id:
        out.print(f"[dim]session {ans.session_id}[/]")


@app.command("search")
def search(question: str, json_out: bool = typer.Option(False, "--json"),
           k: int = typer.Option(10, "-k", help="how many articles"),
           as_of: Optional[str] = typer.Option(None, "--as-of")) -> None:
    """Ranked retrieval only (articles with their best clause)."""
    from .models import QuestionError

    a = _assistant()
    try:
        pq, res = a.search(question, _as_of(as_of), k)
    except QuestionError as e:
        _fail(str(e), 2)
    rows = [{"document": x.document, "article": x.article, "clause": x.best.clause, "score": round(x.score, 4),
             "in_force": x.in_force, "provision_id": x.best.node_id} for x in res.articles[:k]]
    if json_out:
        print(json.dumps({"question": question, "mode": res.mode, "language": pq.variant, "retrieved": rows},
                         ensure_ascii=False, indent=1))
        return
    t = Table(title=f"{res.mode} · {pq.variant}")
    for c in ("#", "document", "article", "clause", "score", "in force"):
        t.add_column(c)
    for i, r in enumerate(rows, 1):
        t.add_row(str(i), r["document"], r["article"], r["clause"] or "-", f"{r['score']:.3f}", str(r["in_force"]))
    out.print(t)


# ---------------------------------------------------------------------------------------------- serve
@app.command("serve")
def serve(host: Optional[str] = typer.Option(None, help="default HTP_HOST (127.0.0.1)"),
          port: Optional[int] = typer.Option(None, help="default HTP_PORT (8000)"),
          build: bool = typer.Option(True, help="build the index in the background if missing or stale"),
          workers: int = typer.Option(1, help="uvicorn worker processes")) -> None:
    """Serve the chat API, the widget (/), the staff page (/staff) and OpenAPI (/docs)."""
    from .api.server import run

    s = _settings()
    run(s, host or s.host, port or s.port, build_in_background=build, workers=workers)


# ---------------------------------------------------------------------------------------------- draft
@app.command("draft")
def draft(question: str,
          out_path: Path = typer.Option(..., "--out", help="reply.docx or reply.md"),
          org: Optional[str] = typer.Option(None, help="addressee, e.g. 'Công ty TNHH ABC'"),
          ref: Optional[str] = typer.Option(None, help="number of the incoming letter"),
          as_of: Optional[str] = typer.Option(None, "--as-of")) -> None:
    """Draft a formal reply letter (công văn) with legal bases: .docx or Markdown."""
    from .drafts import write_draft
    from .models import QuestionError

    a = _assistant()
    try:
        path = write_draft(a, question, out_path, org=org, ref=ref, as_of=_as_of(as_of))
    except QuestionError as e:
        _fail(str(e), 2)
    except ValueError as e:
        _fail(str(e), 2)
    out.print(f"draft written to {path}")


# ---------------------------------------------------------------------------------------------- eval / bench
def _register_optional() -> None:
    """Evaluation and benchmark commands live in their own packages (they drive the assistant)."""
    try:
        from evals.cli import eval_app

        app.add_typer(eval_app, name="eval")
    except ImportError:  # pragma: no cover
        pass
    try:
        from evals.bench import bench_app

        app.add_typer(bench_app, name="bench")
    except ImportError:  # pragma: no cover
        pass
    try:
        from evals.load import load_app

        app.add_typer(load_app, name="load")
    except ImportError:  # pragma: no cover
        pass


_register_optional()

# Hand-over requests and staff accounts (issue 17)
from .handover_cli import requests_app, staff_app  # noqa: E402

app.add_typer(requests_app, name="requests")
app.add_typer(staff_app, name="staff")


def main() -> None:  # pragma: no cover
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
