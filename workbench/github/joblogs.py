"""Failing CI jobs' logs on demand: fetched once, kept gzipped, read offline, boiled down.

A red check on a PR says little until its log is read, and a GitHub Actions log is thousands of
lines of set-up, downloads and progress around the few that matter. :func:`fetch_job_log` fetches
one job's log (``GET /repos/{repo}/actions/jobs/{id}/logs`` answers with a redirect to blob storage
on another host, followed without the token, like an artifact download), scrubs the token out of
it, keeps it at ``<home>/logs/OWNER/REPO/JOB.log.gz`` and records it in the store with the first
error block :func:`extract_error` pulls out of it: the failing tests and their assertion, the
compiler errors, the last Python traceback or the runner's ``##[error]`` lines. The next reading
needs no request: :func:`read_log` reads the file back.
"""

from __future__ import annotations

import gzip
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from workbench.errors import UsageError, WorkbenchError
from workbench.fsutil import atomic_writer
from workbench.github.errors import GitHubError, RateLimited, UnexpectedResponse, Unreachable
from workbench.github.model import CiCheck, PrStatus
from workbench.github.store import Store, StoredJobLog, now_utc

if TYPE_CHECKING:
    from workbench.github.client import GitHubClient

MAX_LINES = 40
"""The most lines an error block has: enough for an assertion and its context, short enough to
read in a terminal and to keep in the store."""
MAX_WIDTH = 400
"""Longer lines (a compiler's command line) are cut here."""
LOG_RETENTION = (
    "GitHub keeps Actions logs for a limited time (90 days unless the repository sets less)"
)

_REPO = re.compile(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+")


class JobLogGone(GitHubError):
    """The log expired or was deleted: the command ran and found it gone, exit 1."""

    exit_code = 1
    title = "log gone"


class JobLogNotFound(GitHubError):
    """GitHub has no log for the job (404): a deleted run, a check that is not an Actions job,
    or a token that cannot read the repository's Actions."""

    title = "log not found"


class JobLogMissing(GitHubError):
    """The stored file of a recorded log is not there any more."""

    title = "log missing"


# --- extraction ----------------------------------------------------------------------------------


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


# --- fetching and reading ------------------------------------------------------------------------


def log_path(repo: str, job_id: int) -> str:
    """Where a job's log lives, relative to the workbench home."""
    if not _REPO.fullmatch(repo) or any(part in (".", "..") for part in repo.split("/")):
        raise GitHubError(f"{repo!r} is not an OWNER/REPO name", "give it as e.g. pytorch/ao")
    return f"logs/{repo}/{job_id}.log.gz"


class _Scrubber:
    """Replaces the token in a byte stream, also where it spans two chunks."""

    def __init__(self, token: str | None):
        self.token = token.encode() if token else b""
        self.carry = b""

    def feed(self, chunk: bytes) -> bytes:
        if not self.token:
            return chunk
        data = (self.carry + chunk).replace(self.token, b"***")
        keep = len(self.token) - 1
        self.carry = data[-keep:] if keep else b""
        return data[: len(data) - len(self.carry)]

    def close(self) -> bytes:
        rest, self.carry = self.carry, b""
        return rest


def fetch_job_log(
    client: GitHubClient,
    ws_home: Path,
    store: Store,
    repo: str,
    job_id: int,
    check_name: str,
    *,
    url: str | None = None,
) -> StoredJobLog:
    """Fetch one Actions job's log, keep it (gzipped, token scrubbed) and record it in the store.

    ``url`` is the check's page, for the message when the log is gone. The token goes to the API
    only: the redirect to blob storage is followed without it. The file appears whole or not at
    all (a temp file, renamed), and the store's row only once the file is there.
    """
    relative = log_path(repo, job_id)
    where = f"the log of {check_name} (job {job_id} of {repo})"
    see = f"see {url}" if url else "see the check on the PR's page"
    status, location = client.redirect(
        f"/repos/{repo}/actions/jobs/{job_id}/logs", allow=(404, 410)
    )
    if status == 410:
        raise JobLogGone(f"{where} has expired or was deleted", f"{LOG_RETENTION}; {see}")
    if status == 404:
        raise JobLogNotFound(
            f"GitHub does not have {where} (404)",
            f"the run may have been deleted, or the token cannot read the repository's Actions; {see}",
        )
    if not location:
        raise UnexpectedResponse(
            f"GitHub answered {status} without a download location for {where}",
            "check WORKBENCH_GITHUB_API; nothing was stored",
        )
    dest = ws_home / relative
    with (
        atomic_writer(dest) as fh,
        gzip.GzipFile(filename=f"{job_id}.log", mode="wb", fileobj=fh, mtime=0) as gz,
    ):
        size = _download(client, location, gz, where)
    block = extract_error(_read(dest))
    log = StoredJobLog(
        repo=repo,
        job_id=job_id,
        check_name=check_name,
        fetched_at=now_utc(),
        path=relative,
        bytes=size,
        first_error=block.first_line,
        error_block=block.text,
    )
    store.save_job_log(log)
    return log


HINT_AGAIN = "check the network and run the command again"


def _download(client: GitHubClient, location: str, gz: gzip.GzipFile, where: str) -> int:
    """Stream the log from blob storage, without the token, scrubbed of it; bytes written."""
    scrub = _Scrubber(client.credentials.token)
    size = 0

    def write(chunk: bytes) -> None:
        nonlocal size
        data = scrub.feed(chunk)
        gz.write(data)
        size += len(data)

    client.download(
        location,
        write,
        # The signed link lives a few minutes; it went stale on the way.
        stale=GitHubError(f"the download link for {where} expired before it was read", HINT_AGAIN),
        failed=lambda why: Unreachable(f"downloading {where} failed: {why}", HINT_AGAIN),
    )
    data = scrub.close()
    gz.write(data)
    return size + len(data)


def _read(path: Path) -> str:
    with gzip.open(path, "rb") as fh:
        return fh.read().decode("utf-8", errors="replace")


def stored_file(home: Path, log: StoredJobLog) -> Path:
    return home / log.path


def read_log(home: Path, log: StoredJobLog) -> str:
    """The whole stored log, as text."""
    path = stored_file(home, log)
    try:
        return _read(path)
    except FileNotFoundError:
        raise JobLogMissing(
            f"the stored log {path} of {log.check_name} is missing",
            "fetch it again with --refresh",
        ) from None
    except (OSError, EOFError) as exc:
        raise JobLogMissing(
            f"the stored log {path} of {log.check_name} cannot be read: {exc}",
            "fetch it again with --refresh",
        ) from None


# --- a PR's failing checks -----------------------------------------------------------------------

_PR_REF = re.compile(
    r"(?:https?://[^/]+/)?(?P<repo>[A-Za-z0-9_.-]+(?:/[A-Za-z0-9_.-]+)?)"
    r"(?:#|/pull/)(?P<number>\d+)/?"
)


def parse_pr_ref(text: str, repos: Mapping[str, str]) -> tuple[str, int]:
    """``OWNER/REPO#N``, ``NAME#N`` or a PR's URL as ``(repo, number)``; ``repos`` maps the
    recipes' names to their repositories, whose spelling the store uses."""
    m = _PR_REF.fullmatch(text.strip())
    if not m:
        raise UsageError(
            f"{text!r} is not a pull request reference",
            "give it as OWNER/REPO#N, e.g. pytorch/ao#1234",
        )
    repo, number = m["repo"], int(m["number"])
    for name, slug in repos.items():
        if repo.lower() in (slug.lower(), name.lower()):
            return slug, number
    if "/" not in repo:
        raise UsageError(
            f"{repo!r} is neither OWNER/REPO nor an upstream's name",
            f"known upstreams: {', '.join(repos) or 'none'}",
        )
    return repo, number


def pick_checks(pr: PrStatus, name: str | None) -> list[CiCheck]:
    """The checks whose logs to show: every failing one, or the one ``name`` picks (a substring
    of its name or ``workflow / name`` label, case-insensitive; failing checks first)."""
    failing = [c for c in pr.checks if c.failed]
    if name is None:
        return list({(c.label, c.job_id): c for c in failing}.values())
    needle = name.lower()
    for pool in (failing, list(pr.checks)):
        found = [c for c in pool if needle in c.name.lower() or needle in c.label.lower()]
        exact = [c for c in found if needle in (c.name.lower(), c.label.lower())]
        if len({c.label for c in exact}) == 1:
            found = exact
        if len({c.label for c in found}) == 1:
            # The same check more than once (a re-run): its newest job.
            return [max(found, key=lambda c: c.job_id or 0)]
        if found:
            labels = sorted({c.label for c in found})
            raise UsageError(
                f"--check {name!r} matches {len(labels)} checks of {pr.repo}#{pr.number}: "
                + "; ".join(labels),
                "give more of the name, or the whole 'workflow / name'",
            )
    labels = sorted({c.label for c in pr.checks})
    raise UsageError(
        f"no check of {pr.repo}#{pr.number} matches {name!r}",
        f"its checks: {'; '.join(labels)}"
        if labels
        else "no checks are stored; run workbench sync",
    )


@dataclass(frozen=True)
class CheckLog:
    """One check and its log, as :func:`check_logs` found it."""

    check: CiCheck
    log: StoredJobLog | None
    source: str
    """``store`` (read offline), ``fetched`` (now), ``offline`` (the stored one: GitHub could not
    be reached), ``kept`` (the stored one: GitHub no longer has it), ``status`` (a commit status
    or other check without an Actions log) or ``problem`` (the log is gone or was not found, and
    none is stored: see ``problem``)."""
    problem: WorkbenchError | None = None


def check_logs(
    store: Store,
    home: Path,
    repo: str,
    checks: Sequence[CiCheck],
    client: Callable[[], GitHubClient],
    *,
    refresh: bool = False,
    on_offline: Callable[[Unreachable], None] | None = None,
) -> Iterator[CheckLog]:
    """The log of each check, one at a time: the stored one unless ``refresh``, else fetched.

    ``client`` is called once, at the first fetch, so that reading stored logs needs neither a
    token nor the network. An expired or missing log is reported in its :class:`CheckLog` and
    the others are still read; a stored copy outlives GitHub's. A rate limit stops here, saying how many logs are stored: those
    fetched before it stay. Unreachable GitHub falls back to a stored log, or stops without one.
    """
    with_log = [c for c in checks if c.job_id is not None]
    stored = store.job_logs(repo, [c.job_id for c in with_log if c.job_id is not None])
    the_client: GitHubClient | None = None
    done = 0
    for check in checks:
        if check.job_id is None:
            yield CheckLog(check, None, "status")
            continue
        log = stored.get(check.job_id)
        usable = log is not None and stored_file(home, log).exists()
        if log is not None and usable and not refresh:
            done += 1
            yield CheckLog(check, log, "store")
            continue
        try:
            if the_client is None:
                the_client = client()
            fetched = fetch_job_log(
                the_client, home, store, repo, check.job_id, check.label, url=check.url
            )
        except Unreachable as exc:
            if log is None or not usable:
                raise
            if on_offline:
                on_offline(exc)
            done += 1
            yield CheckLog(check, log, "offline")
            continue
        except RateLimited as exc:
            raise RateLimited(
                f"{exc.message}; {done} of {len(with_log)} failing jobs' logs are stored",
                "run the command again then; stored logs are not fetched again",
                reset=exc.reset,
            ) from None
        except (JobLogGone, JobLogNotFound) as exc:
            if log is not None and usable:  # kept here longer than GitHub keeps it
                done += 1
                yield CheckLog(check, log, "kept")
            else:
                yield CheckLog(check, None, "problem", exc)
            continue
        done += 1
        yield CheckLog(check, fetched, "fetched")
