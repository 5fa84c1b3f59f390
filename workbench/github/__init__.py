"""The GitHub tracker: a local store of upstream issues and PRs, a client, and the sync between them.

``store`` has no network and no PyGithub import, so reading (``workbench issues``, the TUI) stays fast
and works offline; ``client`` wraps PyGithub; ``sync`` fills the store from the client.
"""
