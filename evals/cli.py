"""`htp eval run` / `htp eval compare`. Imports stay light: `htp` imports this module at every start."""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import List, Optional

import typer

eval_app = typer.Typer(help="Answer-quality evaluation suites.", no_args_is_help=True)


def _err(msg: str, code: int = 2) -> None:
    from rich.console import Console

    Console(stderr=True).print(f"[bold red]error:[/] {msg}")
    raise typer.Exit(code)


@eval_app.command("run")
def run_cmd(suites: List[str] = typer.Argument(..., help="suite files, suite names under evals/suites, or 'tvpl'"),
            as_of: Optional[str] = typer.Option(None, "--as-of", help="date for items without as_of (YYYY-MM-DD)"),
            out: Path = typer.Option(Path("eval-out/latest"), "--out", help="folder for results.json, report.html"),
            baselines: bool = typer.Option(False, "--baselines", help="also score retrieval-only peers"),
            limit: Optional[int] = typer.Option(None, "--limit", help="first N questions of each suite"),
            fail_under: List[str] = typer.Option([], "--fail-under",
                                                 help="metric=value or slice/metric=value; exit 1 if below")) -> None:
    """Run suites through Assistant.answer() and write results.json + report.html."""
    import tempfile

    from rich.console import Console

    from assistant.config import get_settings
    from assistant.engine import Assistant
    from assistant.sessions import SessionStore
    from indexing.store import IndexError_

    from .judge import make_judge
    from .runner import Runner, check_thresholds, limit_items, parse_threshold, write_outputs
    from .suite import SuiteError, load_suites

    con = Console(stderr=True)
    try:
        for spec in fail_under:
            parse_threshold(spec)
        date = dt.date.fromisoformat(as_of) if as_of else None
    except ValueError as e:
        _err(str(e))
    try:
        items = limit_items(load_suites(suites), limit)
    except SuiteError as e:
        _err(str(e))
    settings = get_settings()
    with tempfile.TemporaryDirectory(prefix="htp-eval-") as tmp:
        # Conversations of the run go to a throw-away session store, never into the product's history.
        a = Assistant(settings, sessions=SessionStore(Path(tmp) / "sessions.sqlite3", settings.history_turns))
        try:
            a.warm_up()
            runner = Runner(a, baselines=baselines, judge=make_judge())
        except IndexError_ as e:
            _err(str(e), 1)
        results = runner.run(items, as_of=date)
    jp, hp = write_outputs(results, out)
    _print_summary(results)
    con.print(f"wrote {jp} and {hp}")
    bad = check_thresholds(results, fail_under)
    if bad:
        for line in bad:
            con.print(f"[bold red]threshold violated:[/] {line}")
        raise typer.Exit(1)


def _console():
    import sys

    from rich.console import Console

    return Console(width=None if sys.stdout.isatty() else 200)  # logs and CI: do not squeeze tables to 80


def _print_summary(results: dict) -> None:
    from rich.table import Table

    from .report import fmt

    cols = ["n", "acc@1", "recall@5", "mrr@10", "ndcg@10", "citation_precision", "citation_recall",
            "citation_validity", "currency", "refusal_precision", "refusal_recall", "refused_rate", "support",
            "latency_p50_ms",
            "latency_p95_ms"]
    t = Table(title="evaluation by slice")
    t.add_column("slice")
    for c in cols:
        t.add_column(c.replace("citation_", "cit_").replace("refusal_", "ref_").replace("latency_", ""),
                     justify="right")
    for s, m in results["slices"].items():
        t.add_row(s, *[fmt(m.get(c), c) for c in cols])
    con = _console()
    con.print(t)
    base = results.get("baselines") or {}
    if base:
        slices = list(base.get("product", {}))
        bt = Table(title="retrieval peers: Acc@1 / R@5 / MRR@10")
        bt.add_column("slice")
        for sys_ in base:
            bt.add_column(sys_, justify="right")
        for s in slices:
            bt.add_row(s, *[" / ".join(fmt(base[x].get(s, {}).get(k)) for k in ("acc@1", "recall@5", "mrr@10"))
                            for x in base])
        con.print(bt)


@eval_app.command("compare")
def compare_cmd(a: Path = typer.Argument(..., help="baseline results.json (or its folder)"),
                b: Path = typer.Argument(..., help="new results.json (or its folder)"),
                out: Optional[Path] = typer.Option(None, "--out", help="HTML diff page (default: next to B)")) -> None:
    """Deltas between two runs and the questions that regressed."""
    from .compare import compare, load, print_table, render_html

    try:
        ra, rb = load(a), load(b)
    except (OSError, ValueError) as e:
        _err(f"cannot read results: {e}")
    c = compare(ra, rb)
    print_table(c)
    target = out or ((b if b.is_dir() else b.parent) / "compare.html")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(render_html(c), encoding="utf-8")
    typer.echo(f"wrote {target}")
