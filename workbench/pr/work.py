"""Start work on an issue: the series remembers it, names its next patch after it, and the draft
says ``Fixes #N``."""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from workbench.config import load_recipe
from workbench.errors import UsageError
from workbench.fsutil import atomic_write_json
from workbench.gitops.series import load_series
from workbench.paths import Workspace
from workbench.runs import now_iso

if TYPE_CHECKING:
    from workbench.github.store import Store


@dataclass
class WorkItem:
    upstream: str
    number: int
    title: str | None
    subject: str
    """The commit subject to use for the next patch (format-patch names the file after it)."""
    patch_file: str
    started: str
    url: str | None = None


def _slug(text: str) -> str:
    # git format-patch's own file naming: runs of other characters become one '-', at most 52.
    slug = re.sub(r"[^A-Za-z0-9._]+", "-", text).strip("-.")
    return slug[:52].rstrip("-.") or "patch"


def _file(ws: Workspace, name: str) -> Path:
    return ws.state_dir() / f"{name}.work.json"


def start_work(ws: Workspace, name: str, number: int, *, store: Store | None = None) -> WorkItem:
    """Record ``number`` as the issue the series of ``name`` works on."""
    recipe = load_recipe(ws, name)
    if number <= 0:
        raise UsageError(f"#{number} is not an issue number", "give the number shown by issues")
    title = url = None
    if store is not None:
        tracked = store.item(recipe.upstream.repo, number)
        if tracked is not None:
            if tracked.item.is_pull_request:
                raise UsageError(
                    f"#{number} in {recipe.upstream.repo} is a pull request, not an issue",
                    "start work on an issue",
                )
            title, url = tracked.item.title, tracked.item.url
    series = load_series(ws.patches(name))
    subject = f"Fix #{number}: {title}" if title else f"Fix #{number}"
    item = WorkItem(
        upstream=name,
        number=number,
        title=title,
        subject=subject,
        patch_file=f"{len(series.entries) + 1:04d}-{_slug(subject)}.patch",
        started=now_iso(),
        url=url,
    )
    atomic_write_json(_file(ws, name), asdict(item))
    return item


def current_work(ws: Workspace, name: str) -> WorkItem | None:
    path = _file(ws, name)
    try:
        return WorkItem(**json.loads(path.read_text()))
    except (OSError, ValueError, TypeError):
        return None


def stop_work(ws: Workspace, name: str) -> bool:
    path = _file(ws, name)
    if path.exists():
        path.unlink()
        return True
    return False
