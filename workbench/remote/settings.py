"""Where and how remote runs go: the fork, the runner labels, the poll interval and timeouts.

Each setting comes from a command-line flag, else an environment variable, else the ``[remote]``
table of the untracked ``workbench.toml``::

    [remote]
    repo = "me/workbench"                          # your fork of the workbench repository
    runner_labels = ["self-hosted", "linux", "gpu"] # else chosen from the recipe's devices

The intervals have environment variables so tests (and impatient people) can shorten them.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from workbench.config.toml_reader import TableReader
from workbench.errors import RecipeError, UsageError

SLUG = re.compile(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+")
LABEL = re.compile(r"[A-Za-z0-9_.:-]+")


@dataclass(frozen=True)
class Timing:
    poll: float = 15.0
    """Seconds between two looks at a run's state."""
    queue_timeout: float = 900.0
    """How long a run may wait for a runner before it is cancelled: a runner offline."""
    find_timeout: float = 120.0
    """How long a dispatched run may take to show up in the runs list (older API, no run id)."""

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ, **flags: float | None) -> Timing:
        values = {}
        for name, var in (
            ("poll", "WORKBENCH_REMOTE_POLL"),
            ("queue_timeout", "WORKBENCH_REMOTE_QUEUE_TIMEOUT"),
            ("find_timeout", "WORKBENCH_REMOTE_FIND_TIMEOUT"),
        ):
            flag = flags.get(name)
            if flag is not None:
                values[name] = flag
                continue
            raw = env.get(var)
            if raw:
                try:
                    values[name] = float(raw)
                except ValueError:
                    values[name] = -1.0
                if values[name] < 0:
                    raise UsageError(
                        f"{var}={raw!r} is not a number of seconds >= 0", f"unset {var}"
                    )
        return cls(**values)


@dataclass(frozen=True)
class RemoteConfig:
    repo: str | None = None
    runner_labels: tuple[str, ...] = ()


def read_remote_config(path: Path) -> RemoteConfig:
    """The ``[remote]`` table of workbench.toml, validated (unknown keys are errors)."""
    if not path.exists():
        return RemoteConfig()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise RecipeError(path.name, None, f"is not valid TOML: {exc}") from None
    table = TableReader(data, path.name).table("remote", required=False)
    repo = table.string("repo", "a GitHub slug like 'me/workbench'", required=False)
    if repo is not None and not SLUG.fullmatch(repo):
        raise RecipeError(
            path.name, "remote.repo", "must be a GitHub slug like 'me/workbench'", repo
        )
    labels = table.strings("runner_labels", "a list of runner labels")
    table.done()
    return RemoteConfig(repo, tuple(check_labels(labels)) if labels else ())


def check_repo(repo: str | None) -> str:
    if not repo:
        raise UsageError(
            "no fork to run on",
            'give --repo OWNER/NAME or put [remote] repo = "OWNER/NAME" in workbench.toml',
        )
    if not SLUG.fullmatch(repo):
        raise UsageError(f"--repo {repo!r} is not OWNER/NAME", "e.g. --repo me/workbench")
    return repo


def check_labels(labels: Sequence[str]) -> list[str]:
    """Labels as given, split at commas too (``--runner-labels self-hosted,linux,gpu``)."""
    out = [part.strip() for label in labels for part in label.split(",") if part.strip()]
    bad = [label for label in out if not LABEL.fullmatch(label)]
    if bad or not out:
        raise UsageError(
            f"runner labels {bad or list(labels)!r} are not valid",
            "give labels such as --runner-labels self-hosted linux gpu",
        )
    return out
