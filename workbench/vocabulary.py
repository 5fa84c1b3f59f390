"""The words every layer shares: the two sides of a comparison, and the progress-log callback.

A *side* is one build of an upstream: ``baseline`` is the pin, ``patched`` the pin plus the
series. The words are also keys and values in the JSON files (``tests.json``, ``bench.json``,
``codegen.json``) and folder names under ``upstreams/NAME/``, so they never change.
"""

from __future__ import annotations

from collections.abc import Callable

BASELINE = "baseline"
"""The pin, without the series (``upstreams/NAME/base``)."""
PATCHED = "patched"
"""The pin plus the series (``upstreams/NAME/patched``)."""
SIDES = (BASELINE, PATCHED)
"""Both sides, in the order they are built and reported."""

Log = Callable[[str], None]
"""Where a long step says what it is doing: one line at a time (stderr, a TUI pane, or nowhere)."""
