"""Failing CI jobs' logs on demand: fetched once, kept gzipped, read offline.

:func:`fetch_job_log` fetches one job's log (``GET /repos/{repo}/actions/jobs/{id}/logs``
answers with a redirect to blob storage on another host, followed without the token, like an
artifact download), scrubs the token out of it, keeps it at ``<home>/logs/OWNER/REPO/JOB.log.gz``
and records it in the store with the first error block
:func:`~workbench.github.log_errors.extract_error` pulls out of it. The next reading needs no
request: :func:`read_log` reads the file back. :func:`pick_checks` says which of a PR's checks'
logs to show, :func:`check_logs` reads them, the stored ones offline
(:func:`workbench.github.failing.failing_logs` runs the two).
"""

from __future__ import annotations

import gzip
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from workbench.errors import UsageError, WorkbenchError
from workbench.fsutil import atomic_writer
from workbench.github.errors import GitHubError, RateLimited, UnexpectedResponse, Unreachable
from workbench.github.log_errors import extract_error
from workbench.github.model import CiCheck, PrStatus
from workbench.github.store import Store, StoredJobLog, now_utc

if TYPE_CHECKING:
    from workbench.github.client import GitHubClient

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
