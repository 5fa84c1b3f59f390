"""PR descriptions in each upstream's own format, filled from real results; opening them.

The names below load on first use: ``workbench --help`` (which imports ``workbench.pr.cli``)
must work even where git, which GitPython needs at import, is missing.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from workbench.pr.make import make_draft
    from workbench.pr.model import DraftWarning, PrDraft
    from workbench.pr.work import WorkItem, current_work, start_work, stop_work

_WHERE = {
    "make_draft": "workbench.pr.make",
    "DraftWarning": "workbench.pr.model",
    "PrDraft": "workbench.pr.model",
    "WorkItem": "workbench.pr.work",
    "current_work": "workbench.pr.work",
    "start_work": "workbench.pr.work",
    "stop_work": "workbench.pr.work",
}

__all__ = [
    "DraftWarning",
    "PrDraft",
    "WorkItem",
    "current_work",
    "make_draft",
    "start_work",
    "stop_work",
]


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'workbench.pr' has no attribute {name!r}")
