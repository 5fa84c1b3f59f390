"""How the client reaches GitHub: the API's address and patience (``WORKBENCH_GITHUB_*``), and
the token, found where gh finds it.

The token is read from ``GH_TOKEN``, ``GITHUB_TOKEN`` or ``gh auth token`` and lives only in this
process's memory. Nothing here imports PyGithub.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field

from workbench.errors import UsageError

DEFAULT_API = "https://api.github.com"
TOKEN_VARS = ("GH_TOKEN", "GITHUB_TOKEN")
ANONYMOUS_WARNING = (
    "no GitHub token (GH_TOKEN, GITHUB_TOKEN or `gh auth login`): anonymous use is limited to "
    "60 requests an hour, and CI/review state needs a token"
)


@dataclass(frozen=True)
class Settings:
    """How the client talks to the API; each field has a ``WORKBENCH_GITHUB_*`` variable."""

    api: str = DEFAULT_API
    timeout: int = 20
    """Whole seconds to wait for one answer (PyGithub takes an int)."""
    retries: int = 3
    """Retries for 5xx answers, timeouts and dropped connections."""
    backoff: float = 1.0
    """urllib3 backoff factor: waits 0, 2x, 4x ... this between retries (at most 30 s)."""
    max_rate_limit_wait: float = 5.0
    """Longest wait for a rate limit to reset; longer means stop and say when to come back."""

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> Settings:
        def number(name: str, default: float) -> float:
            raw = env.get(f"WORKBENCH_GITHUB_{name}")
            if raw is None or raw == "":
                return default
            try:
                value = float(raw)
            except ValueError:
                value = -1.0
            if value < 0:
                raise UsageError(
                    f"WORKBENCH_GITHUB_{name}={raw!r} is not a number >= 0",
                    f"unset it or give e.g. {default:g}",
                )
            return value

        api = (env.get("WORKBENCH_GITHUB_API") or DEFAULT_API).rstrip("/")
        if urllib.parse.urlparse(api).scheme not in ("http", "https"):
            raise UsageError(
                f"WORKBENCH_GITHUB_API={api!r} is not an http(s) URL",
                f"unset it for {DEFAULT_API}",
            )
        return cls(
            api=api,
            timeout=max(1, round(number("TIMEOUT", cls.timeout))),
            retries=int(number("RETRIES", cls.retries)),
            backoff=number("BACKOFF", cls.backoff),
            max_rate_limit_wait=number("MAX_WAIT", cls.max_rate_limit_wait),
        )


@dataclass(frozen=True)
class Credentials:
    token: str | None = field(repr=False)
    source: str | None
    """Where the token came from (``GH_TOKEN``, ``GITHUB_TOKEN``, ``gh auth token``), for messages."""


def _gh_token(api: str) -> str | None:
    exe = shutil.which("gh")
    if not exe:
        return None
    args = [exe, "auth", "token"]
    host = urllib.parse.urlparse(api).hostname
    if host and host != "api.github.com":
        args += ["--hostname", host]
    try:
        proc = subprocess.run(args, capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    token = proc.stdout.strip()
    return token if proc.returncode == 0 and token else None


def find_credentials(api: str = DEFAULT_API, env: Mapping[str, str] = os.environ) -> Credentials:
    """The token as gh finds it: ``GH_TOKEN``, then ``GITHUB_TOKEN``, then ``gh auth token``."""
    for var in TOKEN_VARS:
        token = env.get(var, "").strip()
        if token:
            return Credentials(token, var)
    gh_token = _gh_token(api)
    if gh_token:
        return Credentials(gh_token, "gh auth token")
    return Credentials(None, None)
