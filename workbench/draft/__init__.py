"""PR descriptions in each upstream's own format, filled from real results; opening them.

The names below load on first use: ``workbench --help`` (which imports ``workbench.draft.cli``)
must work even where git, which GitPython needs at import, is missing.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from workbench.draft.make import make_draft
    from workbench.draft.model import DraftWarning, PrDraft
    from workbench.draft.work import WorkItem, current_work, start_work, stop_work

_WHERE = {
    "make_draft": "workbench.draft.make",
    "DraftWarning": "workbench.draft.model",
    "PrDraft": "workbench.draft.model",
    "WorkItem": "workbench.draft.work",
    "current_work": "workbench.draft.work",
    "start_work": "workbench.draft.work",
    "stop_work": "workbench.draft.work",
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
    raise AttributeError(f"module 'workbench.draft' has no attribute {name!r}")
