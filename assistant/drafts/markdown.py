"""Render a :class:`Letter` as Markdown for pasting (e-mail, ticketing, a Word document via paste)."""
from __future__ import annotations

import re

from .letter import (BASES_COLUMNS, BLANK, DRAFT_MARK, ISSUER_LINES, MOTTO, NUMBER, PARENT_BODY, SIGN_HINT, SIGNATURE,
                     Letter)

_MD_SPECIAL = re.compile(r"([\\`*_\[\]|<>#])")


def md_escape(text: str) -> str:
    # Legal text can hold "*", "_" or "|" (tables); escape so quotes paste verbatim.
    return _MD_SPECIAL.sub(r"\\\1", text)


def _cell(text: str) -> str:
    return md_escape(text).replace("\n", "<br>")


def render_markdown(letter: Letter) -> str:
    e = md_escape
    out = [f"*{e(DRAFT_MARK)}*", "",
           "| | |", "|:---:|:---:|",
           f"| {e(PARENT_BODY)}<br>**{e(ISSUER_LINES[0])} {e(ISSUER_LINES[1])}** "
           f"| **{e(MOTTO[0])}**<br>**{e(MOTTO[1])}** |",
           f"| {e(NUMBER)}<br>**{e(letter.subject_line)}** | *{e(letter.place_date)}* |", "",
           f"**{e(letter.addressee)}**", "", e(letter.opening), ""]
    if letter.bases:
        out += [f"**{e(letter.bases_intro)}**", "",
                "| " + " | ".join(BASES_COLUMNS) + " |", "|---:|---|---|---|"]
        for i, b in enumerate(letter.bases, 1):
            out.append(f"| {i} | {_cell(b.name)} | {_cell('; '.join(b.provisions))} | {_cell(b.status_label)} |")
        out.append("")
    out += [e(letter.body_intro), ""]
    if letter.refused:
        for text in letter.refusal_paragraphs:
            out += [e(text), ""]
        for text in [letter.staff_note, *letter.missing]:
            out += [f"*{e(text)}*", ""]
    else:
        for pt in letter.points:
            out += [f"**{pt.index}. {e(pt.heading)}**", ""]
            out += ["\n>\n".join(f"> {e(line)}" for line in pt.quote_lines), ""]
        if letter.notes:
            out += [f"**{e(letter.notes_heading)}**", ""] + [f"- {e(n)}" for n in letter.notes] + [""]
        out += [e(letter.follow_up), ""]
    out += [e(letter.closing), "", e(letter.regards), "",
            "| | |", "|:---|:---:|",
            f"| ***Nơi nhận:*** | **{e(SIGNATURE[0])}**<br>**{e(SIGNATURE[1])}** |",
            f"| {'<br>'.join(e(r) for r in letter.recipients)} | *{e(SIGN_HINT)}*<br><br><br>**{e(BLANK)}** |", ""]
    return "\n".join(out)
