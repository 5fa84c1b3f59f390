"""Suggested labels and title prefixes, from the recipe's path maps and the changed files."""

from __future__ import annotations

from collections import Counter

from workbench.config import Recipe
from workbench.config.recipe import under


def suggest_labels(recipe: Recipe, changed: list[str]) -> tuple[list[str], list[str]]:
    """(labels, why): the first path label matching each changed file, then the not-user-facing
    labels when every changed file is internal (tests, docs, CI)."""
    rules = recipe.pr.labels
    labels: list[str] = []
    why: list[str] = []
    for path in changed:
        for rule in rules.by_path:
            if rule.matches(path):
                if rule.label not in labels:
                    labels.append(rule.label)
                    why.append(f"{rule.label}: changes {path}")
                break
    if rules.internal and changed:
        internal = [p for p in changed if any(under(p, i) for i in rules.internal_paths)]
        if len(internal) == len(changed):
            for label in rules.internal:
                if label not in labels:
                    labels.append(label)
                    why.append(f"{label}: only tests, docs or CI files change")
    return labels, why


def title_prefix(recipe: Recipe, changed: list[str]) -> str | None:
    """The bracket prefix most changed files point to (first matching rule per file)."""
    votes: Counter[str] = Counter()
    order: dict[str, int] = {}
    for path in changed:
        for i, rule in enumerate(recipe.pr.title_prefixes):
            if under(path, rule.path):
                votes[rule.prefix] += 1
                order.setdefault(rule.prefix, i)
                break
    if not votes:
        return None
    return max(votes, key=lambda p: (votes[p], -order[p]))


def missing_required(recipe: Recipe, labels: list[str]) -> list[str]:
    """The upstream's required labels that ``labels`` does not satisfy, with why."""
    return [r.why for r in recipe.labels.required if not r.satisfied_by(labels)]
