"""`htp requests list|export` (hand-over requests, for the board's monthly report) and `htp staff add|list`."""
from __future__ import annotations

import getpass
import json
import sys
from pathlib import Path
from typing import Optional

import typer

requests_app = typer.Typer(help="Hand-over requests to the park's staff.", no_args_is_help=True)
staff_app = typer.Typer(help="Staff accounts for /staff and the inbox.", no_args_is_help=True)
STATUS_HELP = "all, open, new, in_progress, answered or closed"


def _store():
    from .config import get_settings
    from .handover import RequestStore

    return RequestStore.from_settings(get_settings())


def _status(status: str) -> Optional[str]:
    if status not in ("all", "open", "new", "in_progress", "answered", "closed"):
        typer.echo(f"unknown status {status!r}: use {STATUS_HELP}", err=True)
        raise typer.Exit(2)
    return None if status == "all" else status


@requests_app.command("list")
def list_requests(status: str = typer.Option("open", help=STATUS_HELP),
                  json_out: bool = typer.Option(False, "--json", help="one JSON object per line")) -> None:
    """The inbox as staff see it: overdue first, then by due date."""
    rows = _store().list(_status(status))
    if json_out:
        for r in rows:
            r = {k: v for k, v in r.items() if k not in ("transcript", "closed_ts", "replied_ts")}
            typer.echo(json.dumps(r, ensure_ascii=False))
        return
    if not rows:
        typer.echo("no requests")
        return
    for r in rows:
        late = " OVERDUE" if r["overdue"] else ""
        typer.echo(f"#{r['id']:<4} {r['code']}  {r['status_label']:<11} due {r['due']}{late}  "
                   f"{r['assignee'] or '-':<10} {r['organisation'] or r['name']}: {r['question'][:60]}")


@requests_app.command("export")
def export_requests(csv_out: bool = typer.Option(True, "--csv", help="CSV (the only format)"),
                    out: Optional[Path] = typer.Option(None, "--out", help="file (default: standard output)"),
                    status: str = typer.Option("all", help=STATUS_HELP)) -> None:
    """All requests as CSV (UTF-8 with BOM, opens in Excel): the monthly report's table."""
    text = _store().csv(_status(status))
    if out:
        out.write_text(text, encoding="utf-8")
        typer.echo(f"{text.count(chr(10)) - 1} requests written to {out}", err=True)
    else:
        sys.stdout.write(text)


@staff_app.command("add")
def staff_add(username: str, role: str = typer.Option("staff", help="staff or admin"),
              name: str = typer.Option("", help="full name shown to colleagues"),
              title: str = typer.Option("", help="role shown to investors, e.g. 'Chuyên viên Phòng Đầu tư'"),
              password_stdin: bool = typer.Option(False, "--password-stdin", help="read the password from stdin")) -> None:
    """Add or replace an account in the staff file (bcrypt hash; the password is never stored)."""
    from .auth import add_account, staff_file
    from .config import get_settings

    if password_stdin:
        pw = sys.stdin.readline().rstrip("\n")
    else:
        pw = getpass.getpass("password: ")
        if getpass.getpass("again: ") != pw:
            typer.echo("the passwords differ", err=True)
            raise typer.Exit(2)
    path = staff_file(get_settings())
    try:
        acct = add_account(path, username, pw, role=role, name=name, title=title)
    except ValueError as e:
        typer.echo(str(e), err=True)
        raise typer.Exit(2)
    typer.echo(f"{acct.username} ({acct.role}) saved in {path}")


@staff_app.command("list")
def staff_list() -> None:
    """Configured accounts (HTP_STAFF and the staff file)."""
    from .auth import load_accounts
    from .config import get_settings

    for a in load_accounts(get_settings()).values():
        p = a.public()
        typer.echo(f"{a.username:<16} {a.role:<6} {p['name']} — {p['title']}")
