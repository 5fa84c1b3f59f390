"""The dashboard's panes: each owns its widgets, the messages they post (nested in its class) and
the thread workers behind them; the screen (:mod:`workbench.tui.dashboard`) composes and routes.

The tabs: :mod:`.items` (the issue and PR lists), :mod:`.patches` (the series), :mod:`.runs`,
:mod:`.notifications`. Around them: :mod:`.filters` (the sidebar and the filter bar) and
:mod:`.status` (the status bar and the sync it reports).
"""
