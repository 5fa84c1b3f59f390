"""Reading ``bench.json``'s per-patch results back: one line per patch, the spread, the cost.

``0003-x.patch: slower 1.31x (1.22–1.40) in 2 case(s)``: a patch's timed cases grouped by
verdict, each group's geometric mean ratio and the span of its intervals;
``0001-y.patch: skipped: no bench case runs the code this patch changes``; a whole-series change
that no one patch shows as ``spread: case f[n=1] slower 1.20x over 0002, 0003, no single patch
resolves it``; then what finding out cost. The terminal, ``bench.md`` and ``bench show`` all read
them from here (made by :mod:`workbench.bench.per_patch`).
"""

from __future__ import annotations

import math
import re

from workbench.bench import stats
from workbench.steps.cost import COST_RUNS, cost_words

ORDER = (stats.SLOWER, stats.FASTER, stats.INCONCLUSIVE, stats.UNCHANGED)


def short_patch(name: str) -> str:
    """``0002-fix-x.patch`` → ``0002``; a name without a leading number stays whole."""
    m = re.match(r"(\d+)-", name)
    return m.group(1) if m else name


def geomean_ratio(cases: list[dict]) -> float:
    return math.exp(sum(math.log(c["ratio"]) for c in cases) / len(cases))


def _group(cases: list[dict]) -> str:
    lo = min(c["interval"][0] for c in cases)
    hi = max(c["interval"][1] for c in cases)
    return f"{geomean_ratio(cases):.2f}x ({lo:.2f}–{hi:.2f}) in {len(cases)} case(s)"


def verdict_groups(cases: list[dict]) -> list[tuple[str, list[dict]]]:
    """A step's timed cases by verdict: slower, faster, inconclusive, unchanged, any other."""
    by_verdict: dict[str, list[dict]] = {}
    for c in cases:
        by_verdict.setdefault(str(c.get("verdict")), []).append(c)
    order = [v for v in ORDER if v in by_verdict] + [v for v in by_verdict if v not in ORDER]
    return [(v, by_verdict[v]) for v in order]


def patch_line(entry: dict) -> str:
    """One patch's outcome, in a line."""
    return f"{entry['patch']}: {patch_effect(entry)}"


def patch_effect(entry: dict) -> str:
    """One patch's outcome without its name: why it was skipped, or its verdicts and ratios."""
    if entry.get("skipped"):
        return f"skipped: {entry['skipped']}"
    cases = entry.get("cases") or []
    line = "; ".join(f"{v} {_group(group)}" for v, group in verdict_groups(cases))
    against = entry.get("against")
    if against is not None and against != entry["step"] - 1:
        line += f" (against step {against}: the patches between change no code these cases run)"
    differ = [c for c in cases if c.get("outputs") == "differ"]
    if differ:
        line += f", outputs differ in {len(differ)} case(s)"
    return line


def spread_line(item: dict) -> str:
    """A whole-series change that no single patch's step shows."""
    over = ", ".join(short_patch(p) for p in item["patches"])
    where = f" over {over}" if over else ""
    return (
        f"spread: case {item['id']} {item['verdict']} {item['ratio']:.2f}x{where}, "
        f"no single patch resolves it ({item['note']})"
    )


def cost_line(cost: dict) -> str:
    return f"per patch: {cost_words(cost, COST_RUNS['bench'])}"


def outcome_lines(doc: dict) -> list[str]:
    """One line per patch, then the spread (none when run without ``--per-patch``)."""
    if "per_patch" not in doc:
        return []
    out = [patch_line(e) for e in doc["per_patch"]] or ["the series has no patch yet"]
    return out + [spread_line(s) for s in doc.get("spread") or []]


def lines(doc: dict) -> list[str]:
    """Every per-patch line of a document, the cost last."""
    cost = doc.get("per_patch_cost")
    return outcome_lines(doc) + ([cost_line(cost)] if cost else [])


def markdown(doc: dict) -> list[str]:
    """The same as a short section of ``bench.md`` (nothing without ``--per-patch``)."""
    items = outcome_lines(doc)
    if not items:
        return []
    section = [
        "**Per patch**: each patch against the one before, on the cases that run its code.",
        "",
        *(f"- {item}" for item in items),
    ]
    cost = doc.get("per_patch_cost")
    if cost:
        line = cost_line(cost)
        section += ["", line[0].upper() + line[1:] + "."]
    return [*section, ""]
