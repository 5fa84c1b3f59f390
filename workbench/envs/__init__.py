"""Environments: the baseline and patched virtual environments of each upstream."""
