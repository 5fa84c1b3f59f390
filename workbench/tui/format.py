"""Text for table cells: relative times, CI and review words, missing labels. No Textual here."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from workbench.config import Recipe

Clock = Callable[[], datetime]
"""Now, as an aware UTC datetime; injectable so that tests and snapshots see a fixed time."""

STALE_DAYS = 30
"""An open item nobody touched for this long is marked stale."""
STALE_SYNC_HOURS = 24
"""A store not synced for this long is called stale in the status bar."""

CI_STYLE = {"success": "green", "failure": "red", "pending": "yellow", "none": "dim"}
REVIEW_TEXT = {
    "APPROVED": ("approved", "green"),
    "CHANGES_REQUESTED": ("changes requested", "red"),
    "REVIEW_REQUIRED": ("review required", "yellow"),
}
VERDICT_STYLE = {
    "passed": "green",
    "regressions": "red",
    "no tests": "dim",
    "faster": "green",
    "slower": "red",
    "unchanged": "cyan",
    "inconclusive": "yellow",
    "empty": "dim",
}


def utc_now() -> datetime:
    return datetime.now(UTC)


def parse_stamp(stamp: str) -> datetime:
    """The store's ``YYYY-MM-DDTHH:MM:SSZ`` (or any ISO 8601 time) as an aware datetime."""
    value = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def seconds_since(stamp: str, now: datetime) -> float:
    return (now - parse_stamp(stamp)).total_seconds()


def ago(stamp: str | None, now: datetime) -> str:
    if not stamp:
        return "never"
    seconds = max(0.0, seconds_since(stamp, now))
    for unit, size in (
        ("y", 365 * 86400),
        ("mo", 30 * 86400),
        ("d", 86400),
        ("h", 3600),
        ("m", 60),
    ):
        if seconds >= size:
            return f"{int(seconds // size)}{unit} ago"
    return "just now"


def is_stale(stamp: str, now: datetime, days: int = STALE_DAYS) -> bool:
    return seconds_since(stamp, now) > days * 86400


def missing_labels(recipe: Recipe | None, labels: Sequence[str]) -> list[str]:
    """The recipe's required labels a PR lacks, as prefixes (``module:``)."""
    if recipe is None:
        return []
    return [
        " or ".join(req.any_prefix)
        for req in recipe.labels.required
        if not req.satisfied_by(tuple(labels))
    ]
