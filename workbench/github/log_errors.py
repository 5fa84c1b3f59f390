"""What a failing CI job's log says went wrong: the first error block pulled out of its text.

A GitHub Actions log is thousands of lines of set-up, downloads and progress around the few that
matter. :func:`extract_error` finds them: the failing tests and their assertion, the compiler
errors, the last Python traceback or the runner's ``##[error]`` lines. Text in, text out: no
file, no store, no network (:mod:`workbench.github.joblogs` fetches and keeps the logs).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_LINES = 40
"""The most lines an error block has: enough for an assertion and its context, short enough to
read in a terminal and to keep in the store."""
MAX_WIDTH = 400
"""Longer lines (a compiler's command line) are cut here."""


@dataclass(frozen=True)
class ErrorBlock:
    """What a contributor reads first of a failing job's log."""

    kind: str
    """``pytest``, ``compiler``, ``traceback``, ``actions`` (``##[error]`` lines) or ``none``."""
    first_line: str | None
    """The one line that names the failure: the first ``FAILED`` test, the first compiler error,
    the exception, the first ``##[error]``."""
    lines: tuple[str, ...]

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


_STAMP = re.compile(r"\ufeff?\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z ?")
_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[()][AB012]")


def clean_lines(text: str) -> list[str]:
    """The log's lines without the Actions timestamps, ANSI colours and group markers."""
    lines = []
    for raw in text.splitlines():
        line = raw
        if line[:1] in ("2", "\ufeff"):
            line = _STAMP.sub("", line, count=1)
        if "\x1b" in line:
            line = _ANSI.sub("", line)
        if line.startswith("##[endgroup]"):
            continue
        if line.startswith("##[group]"):
            line = line[len("##[group]") :]
        line = line.rstrip()
        if len(line) > MAX_WIDTH:
            line = line[:MAX_WIDTH] + " …"
        lines.append(line)
    return lines


def _more(n: int, what: str) -> str:
    return f"… {n} more {what}"


def _capped(lines: list[str], room: int, what: str = "lines") -> list[str]:
    """The first lines that fit in ``room``, the last one saying how many were left out."""
    if len(lines) <= room:
        return lines
    keep = max(room - 1, 0)
    return [*lines[:keep], _more(len(lines) - keep, what)]


# pytest ------------------------------------------------------------------------------------------

_SUMMARY_HEADER = re.compile(r"=+ short test summary info =+")
_SUMMARY_LINE = re.compile(r"(FAILED|ERROR) [^\s:]+\.py(::|\s|$)")
_FAILURES_HEADER = re.compile(r"=+ (FAILURES|ERRORS) =+")
_RESULT_LINE = re.compile(r"=+ .*\b(failed|errors?)\b.* in [\d.]+s.*=+")
_TEST_HEADER = re.compile(r"_{3,} .+ _{3,}")
_FRAME_SEP = re.compile(r"(_ ){3,}_?")
_E_LINE = re.compile(r"E(\s|$)")
_LOCATION = re.compile(r"[^\s:][^:]*:\d+: \S")
_DEF = re.compile(r"\s*(async\s+)?def \w")


def _pytest(lines: list[str]) -> ErrorBlock | None:
    header = next((i for i, ln in enumerate(lines) if _SUMMARY_HEADER.fullmatch(ln)), None)
    summary = [ln for ln in lines[header or 0 :] if _SUMMARY_LINE.match(ln)]
    summary = list(dict.fromkeys(summary))
    result = next((ln for ln in reversed(lines) if _RESULT_LINE.fullmatch(ln)), None)
    failures = next((i for i, ln in enumerate(lines) if _FAILURES_HEADER.fullmatch(ln)), None)
    assertion: list[str] = []
    location = None
    if failures is not None:
        assertion, location = _first_assertion(lines, failures + 1)
    if not summary and not assertion:
        return None
    out = _capped(summary, 10, "failed tests")
    if result:
        out.append(result)
    if assertion:
        if out:
            out.append("")
        out += _capped(assertion, MAX_LINES - len(out) - (1 if location else 0))
        if location:
            out.append(location)
    said = next((ln[1:].strip() for ln in assertion if _E_LINE.match(ln)), None)
    if summary:
        first = summary[0]
        # `pytest -v`/`-q` summaries of unittest-style tests name no error: add the first E line.
        if " - " not in first and said:
            first = f"{first} - {said}"
    else:
        first = location or said or assertion[0]
    return ErrorBlock("pytest", first, tuple(out))


def _first_assertion(lines: list[str], start: int) -> tuple[list[str], str | None]:
    """The first failure's ``E`` lines, with the test's name, the ``def`` and ``>`` lines before
    them, and the ``path:line: ExcType`` line after them."""
    first_e = None
    for i in range(start, len(lines)):
        if _E_LINE.match(lines[i]) and lines[i].strip() != "E":
            first_e = i
            break
        if _SUMMARY_HEADER.fullmatch(lines[i]):
            break
    if first_e is None:
        return [], None
    end = first_e
    while end < len(lines) and _E_LINE.match(lines[end]):
        end += 1
    # The frame the E lines belong to: back to the frame separator or the test's header.
    top = first_e
    while top > start and not (
        _TEST_HEADER.fullmatch(lines[top - 1]) or _FRAME_SEP.fullmatch(lines[top - 1])
    ):
        top -= 1
    test_header = next(
        (lines[i] for i in range(first_e - 1, start - 1, -1) if _TEST_HEADER.fullmatch(lines[i])),
        None,
    )
    frame = lines[top:first_e]
    arrow = next((k for k in range(len(frame) - 1, -1, -1) if frame[k].startswith(">")), None)
    context: list[str] = []
    if arrow is not None:
        define = next((k for k in range(arrow - 1, -1, -1) if _DEF.match(frame[k])), None)
        if define is not None:
            context.append(frame[define])
            if arrow - define > 1:
                context.append("    ...")
        context += frame[arrow:]
    else:  # --tb=short: "path:line: in test_x" and the source line
        context = [ln for ln in frame if ln.strip()][-2:]
    block = ([test_header] if test_header else []) + context + lines[first_e:end]
    location = next(
        (ln for ln in lines[end : end + 3] if ln.strip()),
        None,
    )
    if location is not None and not _LOCATION.match(location):
        location = None
    return block, location


# compilers ---------------------------------------------------------------------------------------

_COMPILER = re.compile(
    r"[^\s:][^:]*:\d+(?::\d+)?:\s*(?:fatal )?error\b"  # gcc, clang: file:line:col: error:
    r"|\S[^(]*\(\d+\): (?:catastrophic )?error\b"  # nvcc: file(line): error
    r"|error(?:\[\w+\])?: "  # cargo, a linker or tool at line start
)
_NINJA_FAILED = re.compile(r"FAILED: \S")
_CONTEXT_STOP = re.compile(r"\[\d+/\d+\] |ninja: |FAILED: |\S+\.\w+: In (function|member)")
MAX_COMPILER_ERRORS = 8


def _compiler(lines: list[str]) -> ErrorBlock | None:
    hits = [i for i, ln in enumerate(lines) if _COMPILER.match(ln)]
    if not hits:
        return None
    out: list[str] = []
    ninja = next(
        (
            lines[i]
            for i in range(hits[0] - 1, max(hits[0] - 200, -1), -1)
            if _NINJA_FAILED.match(lines[i])
        ),
        None,
    )
    if ninja:
        out.append(ninja)
    seen: set[str] = set()
    shown = 0
    for i in hits:
        if lines[i] in seen:
            continue  # the same error again, from another compile unit or a retry
        seen.add(lines[i])
        if shown == MAX_COMPILER_ERRORS or len(out) >= MAX_LINES - 1:
            break
        shown += 1
        out.append(lines[i])
        for ln in lines[i + 1 : i + 4]:
            if not ln.strip() or _COMPILER.match(ln) or _CONTEXT_STOP.match(ln):
                break
            out.append(ln)
    left = len({lines[i] for i in hits}) - shown
    out = out[: MAX_LINES - (1 if left else 0)]
    if left:
        out.append(_more(left, "errors"))
    return ErrorBlock("compiler", lines[hits[0]], tuple(out))


# tracebacks --------------------------------------------------------------------------------------

_TRACEBACK = "Traceback (most recent call last):"


def _traceback(lines: list[str]) -> ErrorBlock | None:
    start = next(
        (i for i in range(len(lines) - 1, -1, -1) if _TRACEBACK in lines[i]),
        None,
    )
    if start is None:
        return None
    # torchrun and friends prefix every line of a process's output ("[rank0]: ").
    prefix = lines[start][: lines[start].index(_TRACEBACK)]

    def bare(line: str) -> str:
        return line[len(prefix) :] if prefix and line.startswith(prefix) else line

    def ours(line: str) -> bool:  # another process's line ends a prefixed traceback
        return not prefix or line.startswith(prefix)

    frames: list[str] = []
    i = start + 1
    while (
        i < len(lines) and ours(lines[i]) and (not bare(lines[i]) or bare(lines[i])[:1].isspace())
    ):
        frames.append(bare(lines[i]))
        i += 1
    while frames and not frames[-1].strip():
        frames.pop()
    exception: list[str] = []
    while i < len(lines) and ours(lines[i]) and bare(lines[i]).strip() and len(exception) < 6:
        exception.append(bare(lines[i]))
        i += 1
    if not exception:
        return None
    room = MAX_LINES - 1 - len(exception)
    if len(frames) > room:
        tail = frames[-(room - 1) :]
        while tail and not tail[0].lstrip().startswith("File ") and len(tail) > 1:
            tail = tail[1:]
        frames = [f"  … {len(frames) - len(tail)} more lines of frames", *tail]
    return ErrorBlock("traceback", exception[0], (_TRACEBACK, *frames, *exception))


# the runner --------------------------------------------------------------------------------------


def _actions(lines: list[str]) -> ErrorBlock | None:
    found = list(
        dict.fromkeys(ln[len("##[error]") :] for ln in lines if ln.startswith("##[error]"))
    )
    if not found:
        return None
    return ErrorBlock("actions", found[0], tuple(_capped(found, MAX_LINES, "errors")))


def extract_error(text: str) -> ErrorBlock:
    """The first error block a contributor needs from a GitHub Actions job log, in this order:
    pytest's failed tests and the first assertion, compiler errors, the last Python traceback,
    the runner's ``##[error]`` lines; kind ``none`` when the log has none of them."""
    lines = clean_lines(text)
    for finder in (_pytest, _compiler, _traceback, _actions):
        block = finder(lines)
        if block is not None:
            return block
    return ErrorBlock("none", None, ())
