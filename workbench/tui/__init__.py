"""The Textual TUI: one screen for a contributor's day (``workbench`` with no arguments).

Only this package imports Textual; it reads the library (store, series engine, run index, PR
drafts) and runs blocking work in thread workers.
"""
