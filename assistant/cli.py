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
        catalog = load_catalog()
        corpus = load_corpus(corpus_dir or s.corpus_dir, catalog)
    except (CatalogError, CorpusError) as e:
        _fail(str(e))
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
    if errors:
        raise typer.Exit(1)


# ---------------------------------------------------------------------------------------------- index
@app.command("index")
def index_cmd(rebuild: bool = typer.Option(False, help="ignore the current generation and caches' reuse"),
              verify: bool = typer.Option(False, help="check that Chroma, BM25 and the corpus agree"),
              lexical_only: bool = typer.Option(False, help="build BM25 only (seconds)"),
              only: Optional[str] = typer.Option(None, help="comma-separated document numbers (tests)")) -> None:
    """Build the index (incremental, atomic). Progress per stage, summary at the end."""
    from indexing.build import BuildOptions, build_index
    from indexing.verify import verify_index

    s = _settings()
    if verify:
        rep = verify_index(s.index_dir, s.corpus_dir, s.chroma_url,
                           only=set(only.split(",")) if only else None)
        for line in rep.lines:
            out.print(line)
        raise typer.Exit(0 if rep.ok else 1)
    opts = BuildOptions(corpus_dir=s.corpus_dir, index_dir=s.index_dir, embed_backend=s.embed_backend,
                        embed_model=s.embed_model, embed_batch_size=s.embed_batch_size,
                        embed_max_chars=s.embed_max_chars, hub_downloads=s.hub_downloads, chroma_url=s.chroma_url,
                        rebuild=rebuild, lexical_only=lexical_only, only=set(only.split(",")) if only else None)
    res = _run_build(opts)
    _print_build(res)


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
                if self.task is not None:
                    t = prog.tasks[self.task]
                    prog.update(self.task, completed=t.total or t.completed)
                self.task = prog.add_task(name, total=total)

            def advance(self, n=1):
                prog.advance(self.task, n)

        try:
            res = build_index(opts, _P(), on_lexical_ready=lambda g: console.print(
                f"[green]lexical index ready[/] (generation {g}): answering lexically while embeddings build"))
        except (EmbeddingModelError, VectorStoreError, RuntimeError) as e:
            _fail(str(e))
        p = _P()
        p.task = None
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


def main() -> None:  # pragma: no cover
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
