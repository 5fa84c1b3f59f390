"""The body of an open PR that gets a new version of its series.

A hidden marker at the end of the body says which version of the series the PR holds and which
commit workbench pushed for it (``<!-- workbench:series v2 commit=SHA top=SHA -->``; no marker
means v1, pushed before markers existed). The new body is the regenerated draft with the human
parts kept (``make_draft(keep_from=...)``); :func:`carry_over` then makes sure nothing else the
contributor wrote on GitHub is lost: ticked checkboxes of the upstream's template are ticked again,
a filled human part the new body no longer has is appended as it was, and text written outside
the human parts (not a generated block) that the new body lacks goes, word for word, into a
``<!-- human:from-github -->`` part at the end, with a warning saying so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from workbench.pr.model import GENERATED, HUMAN_RE, human_parts, is_placeholder

MARK_RE = re.compile(
    r"[ \t]*<!-- workbench:series v(?P<version>\d+)(?P<fields>(?: [a-z]+=[0-9a-f]+)*) -->[ \t]*\n?"
)
CARRY_KEY = "from-github"
BOX_RE = re.compile(r"^(?P<lead>\s*[-*+] )\[(?P<mark>[ xX])\]", re.M)
FENCE_RE = re.compile(r"^\s*(```|~~~)")
# Lines the drafter writes outside quotes: regenerated, never carried.
GENERATED_LINE_RE = re.compile(r"^(Fixes #\d+\b|Before marking this ready: )")


@dataclass(frozen=True)
class SeriesMark:
    version: int = 1
    commit: str | None = None
    """The commit workbench pushed to this PR's branch."""
    top: str | None = None
    """The top commit of the whole series (a stack's top PR; the PR's own commit otherwise)."""


def read_mark(body: str) -> SeriesMark:
    """The last marker in ``body``; v1 with nothing known when there is none."""
    found = list(MARK_RE.finditer(body))
    if not found:
        return SeriesMark()
    m = found[-1]
    fields = dict(f.split("=", 1) for f in m["fields"].split())
    return SeriesMark(int(m["version"]), fields.get("commit"), fields.get("top"))


def strip_mark(body: str) -> str:
    return MARK_RE.sub("", body).rstrip("\n") + "\n"


def with_mark(body: str, version: int, commit: str, top: str) -> str:
    mark = f"<!-- workbench:series v{version} commit={commit} top={top} -->"
    return strip_mark(body).rstrip("\n") + "\n\n" + mark + "\n"


def normalize(body: str | None) -> str:
    """A body as GitHub gives it back (CRLF after a web edit), with Unix line ends."""
    return (body or "").replace("\r\n", "\n").replace("\r", "\n")


def _words(text: str) -> str:
    return " ".join(BOX_RE.sub(r"\g<lead>[ ]", text).split())


def same_text(a: str, b: str) -> bool:
    """The same words, whatever the line breaks and spaces (and checkbox ticks)."""
    return _words(a) == _words(b)


def without_part(body: str, key: str) -> str:
    """``body`` with the human part ``key`` emptied (so nothing of it is kept)."""
    return HUMAN_RE.sub(
        lambda m: f"<!-- human:{key} -->\n<!-- /human:{key} -->" if m["key"] == key else m[0],
        body,
    )


def _blocks(text: str) -> list[str]:
    """Paragraphs: runs of non-blank lines; a fenced code block stays whole."""
    blocks: list[list[str]] = [[]]
    fenced = False
    for line in text.splitlines():
        if FENCE_RE.match(line):
            fenced = not fenced
        if not line.strip() and not fenced:
            blocks.append([])
        else:
            blocks[-1].append(line)
    return ["\n".join(b) for b in blocks if b]


def _written(block: str) -> str:
    """What of a block outside the human parts the contributor may have written: a generated
    quote and the drafter's own lines are left out; lines typed right after a quote stay."""
    lines = block.splitlines()
    if lines and lines[0].startswith(f"> {GENERATED}"):
        while lines and lines[0].startswith(">"):
            lines.pop(0)
    if lines and GENERATED_LINE_RE.match(lines[0]) and len(lines) == 1:
        return ""
    return "\n".join(lines).strip("\n")


def _tick(new_body: str, old_outside: str) -> str:
    """Tick the boxes of ``new_body`` that were ticked in the same line of the old body."""
    ticked = {
        _words(line)
        for line in old_outside.splitlines()
        if (m := BOX_RE.match(line)) and m["mark"] in "xX"
    }

    def tick(line: str) -> str:
        m = BOX_RE.match(line)
        if m and m["mark"] == " " and _words(line) in ticked:
            return BOX_RE.sub(r"\g<lead>[x]", line, count=1)
        return line

    lines = [tick(line) for line in new_body.splitlines()]
    return "\n".join(lines) + ("\n" if new_body.endswith("\n") else "")


def _part(key: str, text: str) -> str:
    return f"<!-- human:{key} -->\n{text.strip()}\n<!-- /human:{key} -->"


def carry_over(old_body: str, new_body: str) -> tuple[str, list[str]]:
    """``new_body`` with nothing lost of what the contributor wrote in ``old_body``, and one
    note per kind of thing carried over (for a warning)."""
    old = strip_mark(normalize(old_body))
    new = strip_mark(new_body)
    notes: list[str] = []
    old_filled = {k: v for k, v in human_parts(old).items() if not is_placeholder(v)}

    # A human part left empty in the new body (a body file) gets the old text.
    def fill(m: re.Match[str]) -> str:
        if m["key"] in old_filled and is_placeholder(m["text"]):
            return _part(m["key"], old_filled[m["key"]])
        return m[0]

    new = HUMAN_RE.sub(fill, new)
    new_parts = human_parts(new)
    appended: list[str] = []
    loose: list[str] = []
    ends = {m["key"]: m.end() for m in HUMAN_RE.finditer(old)}
    for key, text in old_filled.items():
        if key == CARRY_KEY:
            loose.append(text.strip())  # carried before: stays
        elif key not in new_parts:
            appended.append(_part(key, text))
            if HUMAN_RE.sub("", old[ends[key] :]).strip():  # it moves to the end
                notes.append(f"the human part '{key}', which the new draft no longer has")
        elif _words(new_parts[key]) != _words(text):
            loose.append(text.strip())
            notes.append(f"your text of the human part '{key}' as it was on GitHub")
    outside = HUMAN_RE.sub("\n\n", old)
    new = _tick(new, outside)  # ticked again where they were: nothing moves
    here = _words(new)
    written = 0
    for block in _blocks(outside):
        text = _written(block)
        if text and _words(text) not in here and _words(text) not in map(_words, loose):
            loose.append(text)
            written += 1
    if written:
        notes.append(f"{written} paragraph(s) you wrote outside the human parts")
    extra = list(appended)
    if loose:
        extra.append(_part(CARRY_KEY, "\n\n".join(loose)))
    if extra:
        new = new.rstrip("\n") + "\n\n" + "\n\n".join(extra) + "\n"
    return new, notes
