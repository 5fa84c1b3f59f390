"""Git operations for an upstream: its clone and two worktrees, and the patch series kept as files."""
