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

    cols = ["n", "lead_correct", "acc@1", "hit@5", "recall@5", "mrr@10", "ndcg@10", "citation_precision", "citation_recall",
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


def _collect(settings, items, collect, tmp: Path, con):
    """Training rows from suite items: a warmed-up assistant with a throw-away session store, a progress bar."""
    from rich.progress import Progress

    from assistant.engine import Assistant
    from assistant.sessions import SessionStore

    a = Assistant(settings, sessions=SessionStore(tmp / "s.sqlite3", settings.history_turns))
    a.warm_up()
    with Progress(console=con) as bar:
        task = bar.add_task("collect", total=len(items))
        return collect(a, items, settings.today(), lambda: bar.advance(task))


@eval_app.command("fit-ranker")
def fit_ranker_cmd(suites: List[str] = typer.Argument(None, help="training suites (default: evals/suite.py "
                                                                  "TRAIN_SUITES)"),
                   rows: Path = typer.Option(Path("eval-out/ranker/rows.npz"), "--rows",
                                             help="cache of the collected feature rows"),
                   recollect: bool = typer.Option(False, "--recollect", help="collect rows again"),
                   c: Optional[float] = typer.Option(None, "--c", help="regularisation (default: chosen by CV)"),
                   write: bool = typer.Option(True, "--write/--dry-run", help="write assistant/ranking/model.json"),
                   report_out: Path = typer.Option(Path("eval-out/ranker/report.json"), "--report")) -> None:
    """Collect ranking features on suite questions, cross-validate and fit the ranker (model.json)."""
    import json
    import tempfile

    from rich.table import Table

    from assistant.config import get_settings
    from assistant.ranking.bank import BANK_FILE, write_examples
    from assistant.ranking.model import MODEL_FILE, RankerError, carried_over, identity_ranker, load_ranker

    from . import fit_ranker as F
    from .suite import TRAIN_SUITES, SuiteError, load_suites

    specs = suites or TRAIN_SUITES
    con = _console()
    if recollect or not rows.exists():
        try:
            items = load_suites(specs)
        except SuiteError as e:
            _err(str(e))
        settings = get_settings()
        with tempfile.TemporaryDirectory(prefix="htp-fit-") as tmp:
            # The question bank of these suites (written beside the model only with it, below).
            examples = Path(tmp) / "examples.jsonl"
            write_examples(F.examples_of(items), examples)
            settings = settings.model_copy(update={"question_bank_file": examples})
            current = settings.ranker_file or MODEL_FILE
            try:
                load_ranker(current)
            except RankerError:
                # Features do not depend on the model; the order of follow-up citations does, a little: the current
                # model with new features at weight 0 keeps it as users saw it; the identity ranker without one.
                try:
                    model = carried_over(current)
                except RankerError:
                    model = identity_ranker()
                con.print(f"collecting with {model.version}: {current} was fitted on other features")
                stand_in = Path(tmp) / "collecting-ranker.json"
                model.save(stand_in)
                settings = settings.model_copy(update={"ranker_file": stand_in})
            got = _collect(settings, items, F.collect, Path(tmp), con)
        F.save_rows(got, rows)
    collected = F.load_rows(rows)
    data, bank = collected.rows, collected.bank
    con.print(f"{len(data)} questions, {sum(len(r.y) for r in data)} candidate rows, "
              f"{sum(int(r.y.any()) for r in data)} with a gold candidate; "
              f"{len(bank.examples) if bank else 0} questions in the bank")
    if c is None:
        c, grid = F.choose_c(data, bank=bank)
        con.print("C by leave-one-suite-out MRR@10: "
                  + ", ".join(f"{k}: {v:.3f}" for k, v in grid.items()) + f" → {c}")
    cv = F.cross_validate(data, c, bank=bank)
    rep = F.report(data, cv)
    rel = F.reliability(data, cv)
    t = Table(title=f"held-out ranking (C={c}): Acc@1 / hit@5 / MRR@10")
    for col in ("slice", "n", "5-fold", "leave-one-suite-out", "fused score only"):
        t.add_column(col)
    for name, r in rep.items():
        t.add_row(name, str(r["kfold"]["n"]), *[" / ".join(f"{r[k][m]:.3f}" for m in ("acc@1", "hit@5", "mrr@10"))
                                                 for k in ("kfold", "loso", "fused")])
    con.print(t)
    rt = Table(title="reliability of the top article's probability (5-fold, held out)")
    for col in ("p", "n", "mean_p", "acc@1"):
        rt.add_column(col)
    for row in rel:
        rt.add_row(*[str(row[k]) for k in ("p", "n", "mean_p", "acc@1")])
    con.print(rt)
    report_out.parent.mkdir(parents=True, exist_ok=True)
    report_out.write_text(json.dumps({"C": c, "report": rep, "reliability": rel}, indent=1), encoding="utf-8")
    if write:
        m = F.write_model(data, c, rep, rel, suites=list(specs), bank=bank)
        if bank is not None:  # rows collected without embeddings carry no bank: keep the one there is
            write_examples(bank.examples, BANK_FILE)
        con.print("top features (standardised coefficients): " +
                  ", ".join(f"{n} {w:+.2f}" for n, w in m.top_features(12)))
        con.print(f"wrote {F.MODEL_FILE}" + (f" and {BANK_FILE}" if bank is not None else ""))


@eval_app.command("fit-judge")
def fit_judge_cmd(suites: List[str] = typer.Argument(None, help="training suites (default: evals/suite.py "
                                                                 "TRAIN_SUITES)"),
                  rows: Path = typer.Option(Path("eval-out/judge/rows.npz"), "--rows",
                                            help="cache of the collected evidence rows"),
                  recollect: bool = typer.Option(False, "--recollect", help="collect rows again"),
                  c: Optional[float] = typer.Option(None, "--c", help="regularisation (default: chosen by CV)"),
                  max_refused: float = typer.Option(0.02, "--max-refused",
                                                    help="held-out share of answerable questions it may refuse"),
                  write: bool = typer.Option(True, "--write/--dry-run",
                                             help="write assistant/ranking/answerable.json")) -> None:
    """Collect the judge's evidence on suite questions, cross-validate and fit the answerability model."""
    import json
    import tempfile

    from rich.table import Table

    from assistant.config import get_settings

    from . import fit_judge as F
    from .suite import TRAIN_SUITES, SuiteError, load_suites

    specs = suites or TRAIN_SUITES
    con = _console()
    if recollect or not rows.exists():
        try:
            items = load_suites(specs)
        except SuiteError as e:
            _err(str(e))
        # The model switched off: the rows record what the hand-set rules decided on the same evidence.
        settings = get_settings().model_copy(update={"answerability_file": None})
        with tempfile.TemporaryDirectory(prefix="htp-fit-judge-") as tmp:
            got = _collect(settings, items, F.collect, Path(tmp), con)
        F.save_rows(got, rows)
    got = F.load_rows(rows)
    data, bank = got.rows, got.bank
    con.print(f"{len(data)} questions reach the decision: {sum(r.answerable for r in data)} answerable, "
              f"{sum(not r.answerable for r in data)} not")
    if c is None:
        c, grid = F.choose_c(data, max_refused, bank=bank)
        con.print("C by leave-one-suite-out cost per question (2 × answerable refused + unanswerable answered, "
                  f"at an unanswerable share of {F.unanswerable_share(data):.3f}): " +
                  ", ".join(f"{k}: {v:.4f}" for k, v in grid.items()) + f" → {c}")
    p = F.held_out(data, c, bank=bank)
    thr = F.choose_threshold([r for r in data if r.uid in p["loso"]], p["loso"], max_refused)
    report = {"threshold": thr, "rules": F.rates(data, lambda r: r.rule_refused)}
    for kind in ("kfold", "loso"):
        report[kind] = F.rates([r for r in data if r.uid in p[kind]], lambda r: p[kind][r.uid] < thr)
    for s in sorted({r.suite for r in data}):
        rs = [r for r in data if r.suite == s]
        report[f"suite:{s}"] = {"rules": F.rates(rs, lambda r: r.rule_refused),
                                "loso": F.rates([r for r in rs if r.uid in p["loso"]],
                                                lambda r: p["loso"][r.uid] < thr)}
    report["reliability"] = F.reliability(data, p["kfold"])
    t = Table(title=f"refusals, held out (C={c}, threshold {thr:.2f}): answerable refused / unanswerable refused")
    for col in ("slice", "hand-set rules", "model"):
        t.add_column(col)

    def fmt(r: dict) -> str:
        return (f"{r['answerable_refused']:.3f} of {r['answerable']} / "
                f"{r['unanswerable_refused']:.3f} of {r['unanswerable']}")

    t.add_row("all, 5-fold", fmt(report["rules"]), fmt(report["kfold"]))
    t.add_row("all, leave-one-suite-out", fmt(report["rules"]), fmt(report["loso"]))
    for s in sorted({r.suite for r in data}):
        t.add_row(f"suite {s} (left out)", fmt(report[f"suite:{s}"]["rules"]), fmt(report[f"suite:{s}"]["loso"]))
    con.print(t)
    con.print("reliability (5-fold): " + ", ".join(f"p {r['p']}: {r['answerable']:.2f} of {r['n']} answerable"
                                                   for r in report["reliability"]))
    out = rows.parent / "report.json"
    out.write_text(json.dumps({"C": c, **report}, indent=1), encoding="utf-8")
    if write:
        m = F.write_model(data, c, thr, report, suites=list(specs), bank=bank)
        con.print("features (standardised coefficients): " +
                  ", ".join(f"{n} {w:+.2f}" for n, w in m.top_features(len(m.features))))
        con.print(f"wrote {F.MODEL_FILE}")


@eval_app.command("paraphrase")
def paraphrase_cmd(out: Path = typer.Option(Path("eval-out/paraphrase.json"), "--out")) -> None:
    """Core facts asked many ways: how often the answer leads with the same provision and states the fact."""
    import json
    import tempfile

    from rich.table import Table

    from assistant.config import get_settings
    from assistant.engine import Assistant
    from assistant.sessions import SessionStore

    from .paraphrase import run

    settings = get_settings()
    with tempfile.TemporaryDirectory(prefix="htp-para-") as tmp:
        a = Assistant(settings, sessions=SessionStore(Path(tmp) / "s.sqlite3", settings.history_turns))
        a.warm_up()
        res = run(a)
    t = Table(title="paraphrase consistency")
    for col in ("fact", "n", "same lead", "lead is gold", "states the fact", "modal lead"):
        t.add_column(col)
    for f, r in res["facts"].items():
        t.add_row(f, str(r["n"]), f"{r['same_lead']:.2f}", f"{r['lead_gold']:.2f}", f"{r['states']:.2f}",
                  " ".join(r["modal_lead"] or ("-",)))
    s = res["summary"]
    t.add_row("all", str(s["questions"]), f"{s['same_lead']:.2f}", f"{s['lead_gold']:.2f}", f"{s['states']:.2f}", "")
    _console().print(t)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(res, ensure_ascii=False, indent=1, default=list), encoding="utf-8")
    typer.echo(f"wrote {out}")
