"""A pull request as a contributor names it: ``OWNER/REPO#N``, ``NAME#N`` or its URL."""

from __future__ import annotations

import re
from collections.abc import Mapping

from workbench.errors import UsageError

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
