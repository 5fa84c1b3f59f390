"""PyGithub set up for syncing many issues quickly and cheaply.

PyGithub's objects complete themselves lazily: touching ``issue.pull_request`` on a listed issue
costs one request per issue. The sync therefore reads list pages through the requester and parses
the JSON itself (:mod:`workbench.github.model`). PyGithub's defaults are changed where they cost
time: ``per_page`` 100 instead of 30, no 0.25 s sleep before each request, a bounded rate-limit
wait instead of sleeping until the reset.

The token (found as :mod:`workbench.github.settings` says) lives only in this process's memory:
no message, log line or file written here contains it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import urllib.parse
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import requests
from github import Auth, Github, GithubException, GithubRetry
from github.GithubException import RateLimitExceededExceedsMaxWait

from workbench import __version__
from workbench.errors import WorkbenchError
from workbench.github.errors import (
    BadToken,
    GitHubError,
    RateLimited,
    UnexpectedResponse,
    Unreachable,
)
from workbench.github.settings import Credentials, Settings, find_credentials

PER_PAGE = 100
_LINK = re.compile(r'<([^>]+)>\s*;\s*rel="(\w+)"')

# PyGithub prints INFO notes (retries, rate-limit waits) to stderr by default; the CLI answers in
# one line and a TUI owns the terminal, so only its warnings may go there.
logging.getLogger("github").setLevel(logging.WARNING)


@dataclass(frozen=True)
class RateLimit:
    remaining: int | None = None
    limit: int | None = None
    reset: int | None = None
    """Epoch seconds."""

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> RateLimit:
        def num(name: str) -> int | None:
            try:
                return int(float(headers[name]))
            except (KeyError, ValueError, TypeError):
                return None

        return cls(num("x-ratelimit-remaining"), num("x-ratelimit-limit"), num("x-ratelimit-reset"))


def reset_text(reset: int | None) -> str:
    """A rate-limit reset as the contributor reads it: local time and minutes from now."""
    if reset is None:
        return "at an unknown time"
    when = datetime.fromtimestamp(reset).astimezone()
    minutes = max(0, round((when - datetime.now().astimezone()).total_seconds() / 60))
    return f"at {when:%H:%M} (in {minutes} min)"


@dataclass(frozen=True)
class ApiPage:
    """One answer of a list endpoint."""

    not_modified: bool
    items: list[Any]
    etag: str | None
    next_url: str | None
    last_page: int | None
    """From the ``Link: rel="last"`` header: how many pages the list has."""
    last_modified: str | None = None
    """The ``Last-Modified`` header, for ``if_modified_since`` next time."""
    poll_interval: int | None = None
    """``X-Poll-Interval``: seconds GitHub asks a poller to wait before asking again."""
    status: int = 200
    """200, 304, or an error status the caller allowed (then ``items`` is empty)."""
    message: str | None = None
    """GitHub's message with an allowed error status."""


class _Retry(GithubRetry):
    """GithubRetry that also refuses a long ``Retry-After`` instead of sleeping through it."""

    def get_retry_after(self, response: Any) -> float | None:
        after = super().get_retry_after(response)
        cap = self.max_rate_limit_wait
        if after is None or cap is None or after <= cap:
            return after
        if response.status in (403, 429):
            raise RateLimitExceededExceedsMaxWait(
                response.status, None, dict(response.headers), wait=after
            )
        return cap


def _short_reason(exc: BaseException) -> str:
    text = str(exc)
    for pattern in (r"\[Errno -?\d+\] ([^'\")]+)", r"(Name or service not known)", r"(timed out)"):
        m = re.search(pattern, text)
        if m:
            return m[1].strip()
    return type(exc).__name__


class GitHubClient:
    """Raw JSON pages and GraphQL over PyGithub's requester, with errors as WorkbenchErrors."""

    def __init__(self, settings: Settings, credentials: Credentials):
        self.settings = settings
        self.credentials = credentials
        retry = _Retry(
            total=settings.retries,
            backoff_factor=settings.backoff,
            backoff_max=30,
            max_rate_limit_wait=settings.max_rate_limit_wait,
            raise_on_status=False,
        )
        self.github = Github(
            auth=Auth.Token(credentials.token) if credentials.token else None,
            base_url=settings.api,
            timeout=settings.timeout,
            per_page=PER_PAGE,
            retry=retry,
            seconds_between_requests=0,
            seconds_between_writes=0,
            user_agent=f"workbench/{__version__} (PyGithub)",
        )
        self.requests = 0
        """Requests made (retries inside one request not counted)."""
        self.rate = RateLimit()
        """As of the last answer."""

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> GitHubClient:
        settings = Settings.from_env(env)
        return cls(settings, find_credentials(settings.api, env))

    @property
    def anonymous(self) -> bool:
        return self.credentials.token is None

    def close(self) -> None:
        self.github.close()

    def __enter__(self) -> GitHubClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- requests --------------------------------------------------------------------------------

    def get_page(
        self,
        url: str,
        params: Mapping[str, Any] | None = None,
        *,
        etag: str | None = None,
        if_modified_since: str | None = None,
        allow: Collection[int] = (),
    ) -> ApiPage:
        """GET one page of a list; with ``etag`` or ``if_modified_since``, a conditional request
        that may answer 304. Statuses in ``allow`` come back as a page with no items."""
        headers = {"Accept": "application/vnd.github+json"}
        if etag:
            headers["If-None-Match"] = etag
        if if_modified_since:
            headers["If-Modified-Since"] = if_modified_since
        status, answer, text = self._call("GET", url, params, headers, allow=allow)
        links = {rel: target for target, rel in _LINK.findall(answer.get("link", ""))}
        last = re.search(r"[?&]page=(\d+)", links.get("last", ""))
        modified = answer.get("last-modified", if_modified_since)
        poll = _seconds(answer.get("x-poll-interval"))
        if status == 304:
            return ApiPage(True, [], answer.get("etag", etag), None, None, modified, poll, 304)
        if status >= 400:  # allowed by the caller
            body = _loose_json(text)
            said = body.get("message") if isinstance(body, dict) else None
            message = self._scrub(str(said)) if said else None
            return ApiPage(False, [], None, None, None, None, poll, status, message)
        data = self._json(text, url)
        if not isinstance(data, list):
            raise UnexpectedResponse(
                f"GitHub sent a {type(data).__name__} where a list was expected ({_path(url)})",
                "check WORKBENCH_GITHUB_API; nothing of this answer was stored",
            )
        return ApiPage(
            False,
            data,
            answer.get("etag"),
            links.get("next"),
            int(last[1]) if last else None,
            answer.get("last-modified"),
            poll,
        )

    def graphql(self, query: str, variables: Mapping[str, Any]) -> dict[str, Any]:
        """POST a GraphQL query; returns its ``data``."""
        graphql_url = self.github.requester.graphql_url
        _, _, text = self._call(
            "POST", graphql_url, None, {}, {"query": query, "variables": dict(variables)}
        )
        body = self._json(text, graphql_url)
        errors = body.get("errors") if isinstance(body, dict) else None
        if errors:
            first = errors[0].get("message") if isinstance(errors[0], dict) else errors[0]
            if isinstance(errors[0], dict) and errors[0].get("type") == "RATE_LIMITED":
                raise RateLimited(
                    f"GitHub's GraphQL rate limit is exhausted; it resets {reset_text(self.rate.reset)}",
                    "the issue lists were stored; run `workbench sync` again then",
                    reset=self.rate.reset,
                )
            said = self._scrub(str(first))
            schema = re.search(
                r"doesn't exist on type|Cannot query field|[Uu]nknown argument|"
                r"`first` or `last`|undefinedField",
                said + str(errors[0].get("extensions", "") if isinstance(errors[0], dict) else ""),
            )
            raise GitHubError(
                f"GitHub's GraphQL API refused the query: {said}",
                "GitHub's schema no longer has what this workbench asks for; update the workbench"
                if schema
                else "the token may lack the 'repo' or 'read:org' scope",
            )
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, dict):
            raise UnexpectedResponse(
                "GitHub's GraphQL answer has no 'data' object",
                "check WORKBENCH_GITHUB_API; nothing of this answer was stored",
            )
        return data

    def request(
        self,
        verb: str,
        url: str,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        *,
        allow: Collection[int] = (),
    ) -> tuple[int, Any]:
        """One REST call: the status and the parsed JSON answer (None when empty).

        Statuses in ``allow`` come back to the caller instead of raising, for endpoints where an
        error status has a meaning of its own (a 404 that says "not set up yet").
        """
        headers = {"Accept": "application/vnd.github+json"}
        status, _, text = self._call(verb, url, params, headers, body, allow=allow)
        if status >= 400:  # an allowed error
            return status, _loose_json(text)
        if not text.strip():
            return status, None
        return status, self._json(text, url)

    def redirect(self, url: str, *, allow: Collection[int] = ()) -> tuple[int, str | None]:
        """GET an endpoint that answers with a redirect (an artifact's zip): the status and the
        ``Location``, not followed, so the token is never sent to the storage host."""
        headers = {"Accept": "application/vnd.github+json"}
        status, answer, _ = self._call("GET", url, None, headers, allow=(302, *allow))
        return status, answer.get("location")

    def download(
        self,
        location: str,
        write: Callable[[bytes], object],
        *,
        stale: WorkbenchError,
        failed: Callable[[str], WorkbenchError],
    ) -> int:
        """Stream a file from the ``Location`` a :meth:`redirect` gave (GitHub's blob storage,
        another host) to ``write``, without the token; bytes read. A link that went stale on the
        way (403/404/410) raises ``stale``; a network failure ``failed(reason)``."""
        self.requests += 1
        size = 0
        try:
            with requests.get(location, stream=True, timeout=self.settings.timeout) as r:
                if r.status_code in (403, 404, 410):
                    raise stale
                r.raise_for_status()
                for chunk in r.iter_content(chunk_size=1 << 20):
                    write(chunk)
                    size += len(chunk)
        except requests.RequestException as exc:
            raise failed(type(exc).__name__) from None
        return size

    def _call(
        self,
        verb: str,
        url: str,
        params: Mapping[str, Any] | None,
        headers: dict[str, str],
        body: Any = None,
        *,
        allow: Collection[int] = (),
    ) -> tuple[int, dict[str, str], str]:
        self.requests += 1
        try:
            status, answer, text = self.github.requester.requestJson(
                verb, url, parameters=dict(params or {}), headers=headers, input=body
            )
        except GithubException as exc:  # raised from inside GithubRetry (rate limits, 403)
            answer = {k.lower(): str(v) for k, v in (exc.headers or {}).items()}
            self.rate = RateLimit.from_headers(answer)
            error = self._error(exc.status, answer, exc.data, url)
            if exc.status in allow and not isinstance(error, RateLimited):
                data = exc.data if isinstance(exc.data, dict | list) else None
                return exc.status, answer, json.dumps(data) if data is not None else ""
            raise error from None
        except requests.Timeout:
            raise Unreachable(
                f"no answer from {self.settings.api} within {self.settings.timeout} s "
                f"({self.settings.retries + 1} tries)",
                "check the network, or raise WORKBENCH_GITHUB_TIMEOUT",
            ) from None
        except requests.RequestException as exc:
            raise Unreachable(
                f"cannot reach {self.settings.api}: {self._scrub(_short_reason(exc))}"
            ) from None
        self.rate = RateLimit.from_headers(answer)
        if status >= 400 and status not in allow:
            try:
                data = json.loads(text) if text else None
            except ValueError:
                data = None
            raise self._error(status, answer, data, url)
        return status, answer, text

    @contextlib.contextmanager
    def calls(self, what: str) -> Iterator[None]:
        """PyGithub object calls (``get_repo``, ``create_pull``, ...) with errors as
        WorkbenchErrors, like the raw calls; ``what`` names the call in messages."""
        try:
            yield
        except GithubException as exc:
            headers = {k.lower(): str(v) for k, v in (exc.headers or {}).items()}
            self.rate = RateLimit.from_headers(headers)
            raise self._error(exc.status, headers, exc.data, what) from None
        except requests.Timeout:
            raise Unreachable(
                f"no answer from {self.settings.api} within {self.settings.timeout} s ({what})",
                "check the network, or raise WORKBENCH_GITHUB_TIMEOUT",
            ) from None
        except requests.RequestException as exc:
            raise Unreachable(
                f"cannot reach {self.settings.api} ({what}): {self._scrub(_short_reason(exc))}"
            ) from None

    # --- errors ----------------------------------------------------------------------------------

    def _scrub(self, text: str) -> str:
        token = self.credentials.token
        return text.replace(token, "***") if token else text

    def _json(self, text: str, url: str) -> Any:
        try:
            return json.loads(text)
        except ValueError:
            start = self._scrub(text[:60])
            raise UnexpectedResponse(
                f"GitHub's answer for {_path(url)} is not JSON: {start!r}",
                "a proxy or portal may be answering; check WORKBENCH_GITHUB_API; "
                "nothing of this answer was stored",
            ) from None

    def _error(self, status: int, headers: Mapping[str, str], data: Any, url: str) -> GitHubError:
        message = data.get("message") if isinstance(data, dict) else None
        said = f": {self._scrub(str(message))}" if message else ""
        path = _path(url)
        rate = RateLimit.from_headers(headers)
        limited = (
            rate.remaining == 0
            or "retry-after" in headers
            or (isinstance(message, str) and "rate limit" in message.lower())
        )
        if status in (403, 429) and limited:
            who = "anonymous " if self.anonymous else ""
            hint = "what was fetched so far is kept; run `workbench sync` again then"
            if self.anonymous:
                hint += "; a token (GH_TOKEN or `gh auth login`) allows 5000 requests an hour"
            return RateLimited(
                f"GitHub {who}rate limit exhausted ({status}); it resets {reset_text(rate.reset)}",
                hint,
                reset=rate.reset,
            )
        if status == 401:
            if self.anonymous:
                return BadToken(
                    f"GitHub wants a token for {path} (401{said})",
                    "set GH_TOKEN or run `gh auth login`",
                )
            return BadToken(
                f"GitHub rejected the token from {self.credentials.source} (401{said})",
                "make a new token (or run `gh auth login`) and put it in GH_TOKEN; "
                "unset GH_TOKEN/GITHUB_TOKEN if they hold an old one",
            )
        if status == 404:
            return GitHubError(
                f"{path} was not found on GitHub (404)",
                "check the repo slug in the recipe, or that the token can see the repository",
            )
        if status >= 500:
            return GitHubError(
                f"GitHub answered {status} for {path} after {self.settings.retries} retries{said}",
                "GitHub may be having trouble; try again later",
            )
        return GitHubError(f"GitHub answered {status} for {path}{said}")


def _loose_json(text: str) -> Any:
    """The body of an error answer the caller allowed: informative at best, None if not JSON."""
    try:
        return json.loads(text) if text.strip() else None
    except ValueError:
        return None


def _seconds(value: str | None) -> int | None:
    try:
        return max(0, int(value)) if value is not None else None
    except ValueError:
        return None


def _path(url: str) -> str:
    return urllib.parse.urlparse(url).path or url
