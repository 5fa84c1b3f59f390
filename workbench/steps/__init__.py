"""The steps of a series: the pin plus the first k patches, each with its worktree and environment."""
