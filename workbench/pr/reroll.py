"""A re-roll of a series, told as b4 tells one: which patches of the new version were added,
dropped, changed or kept, from ``git range-diff``'s pair lines, and the "vN: changes since vM"
comment for the PR, with the whole range-diff folded below the summary.

The old version is what the fork branch held (``OLD``); its range starts where it meets the new
pin (``git merge-base OLD NEW_BASE``), so a series rebased onto a newer pin compares patch by
patch, not with the upstream commits in between.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from workbench.gitops.git import run
from workbench.gitops.report import range_diff
from workbench.pr.model import GENERATED

PAIR_RE = re.compile(
    r"^ {0,3}(?P<old>\d+|-): +(?P<old_sha>[0-9a-f]+|-+) (?P<mark>[=!<>]) +(?P<new>\d+|-): +"
    r"(?P<new_sha>[0-9a-f]+|-+) (?P<subject>.*)$"
)
KINDS = {"=": "unchanged", "!": "changed", ">": "added", "<": "dropped"}
MAX_DIFF_CHARS = 40_000
"""The range-diff shown in a comment (GitHub takes 65,536 characters in all)."""


@dataclass(frozen=True)
class Pair:
    """One line of range-diff's summary: a patch of the old series, the new one, or both."""

    kind: str
    """unchanged, changed, added or dropped."""
    old: int | None
    new: int | None
    subject: str
    rewritten: bool = False
    """A patch dropped and one added with the same subject: range-diff found their diffs too
    different to pair them, but it is the same patch, rewritten."""


def parse_pairs(text: str) -> list[Pair]:
    """The pair lines of ``git range-diff --no-color`` output (the indented diffs are skipped)."""
    pairs = []
    for line in text.splitlines():
        m = PAIR_RE.match(line)
        if m:
            pairs.append(
                Pair(
                    KINDS[m["mark"]],
                    int(m["old"]) if m["old"] != "-" else None,
                    int(m["new"]) if m["new"] != "-" else None,
                    m["subject"].strip(),
                )
            )
    return pairs


def pair_rewrites(pairs: list[Pair]) -> list[Pair]:
    """``pairs`` with a dropped patch and an added one of the same subject shown as one
    changed (rewritten) patch."""
    first: dict[str, dict[str, Pair]] = {"added": {}, "dropped": {}}
    for p in pairs:
        if p.kind in first:
            first[p.kind].setdefault(p.subject, p)
    twins = first["added"].keys() & first["dropped"].keys()
    out = []
    for p in pairs:
        if p.subject in twins and p.kind in first and first[p.kind][p.subject] is p:
            if p.kind == "added":
                old = first["dropped"][p.subject].old
                out.append(Pair("changed", old, p.new, p.subject, rewritten=True))
            continue
        out.append(p)
    return out


@dataclass
class Reroll:
    """Version ``old_version`` of a series (old_base..old_head) against its successor."""

    old_version: int
    new_version: int
    old_base: str
    old_head: str
    new_base: str
    new_head: str
    range_diff: str
    pairs: list[Pair] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        out = {k: 0 for k in ("changed", "added", "dropped", "unchanged")}
        for p in self.pairs:
            out[p.kind] += 1
        return out

    @property
    def title(self) -> str:
        return f"v{self.new_version}: changes since v{self.old_version}"


def compute(
    cwd: Path, old_head: str, new_base: str, new_head: str, *, old_version: int
) -> Reroll | None:
    """The re-roll from ``old_head`` to ``new_base..new_head``, with real git in ``cwd`` (both
    commits must be there); None when the old head shares no history with the new pin."""
    merged = run(cwd, "merge-base", old_head, new_base, check=False)
    if not merged.ok or not merged.stdout:
        return None
    old_base = merged.stdout.split()[0]
    text = range_diff(cwd, old_base, old_head, new_base, new_head)
    return Reroll(
        old_version=old_version,
        new_version=old_version + 1,
        old_base=old_base,
        old_head=old_head,
        new_base=new_base,
        new_head=new_head,
        range_diff=text,
        pairs=pair_rewrites(parse_pairs(text)),
    )


def _fence(text: str) -> str:
    """A code fence longer than any run of backticks in ``text``."""
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    return "`" * max(3, longest + 1)


def _capped(text: str, limit: int) -> tuple[str, str | None]:
    """``text`` cut at a line boundary within ``limit`` characters, and what was cut, in words."""
    if len(text) <= limit:
        return text, None
    kept: list[str] = []
    size = 0
    lines = text.splitlines(keepends=True)
    for line in lines:
        if size + len(line) > limit:
            break
        kept.append(line)
        size += len(line)
    cut_lines = len(lines) - len(kept)
    cut_chars = len(text) - size
    return "".join(kept), f"{cut_lines} of {len(lines)} lines ({cut_chars} characters)"


def comment_text(reroll: Reroll, *, limit: int = MAX_DIFF_CHARS, ci: Sequence[str] = ()) -> str:
    """The PR comment for a re-roll: a summary per patch, numbered as in the new series, the
    ``ci`` lines (what became of the old version's checks, :mod:`workbench.pr.checks`), then the
    full range-diff in a collapsed block (cut at ``limit`` characters, saying how much)."""
    r = reroll
    total = sum(1 for p in r.pairs if p.new is not None)
    old_total = sum(1 for p in r.pairs if p.old is not None)
    counts = ", ".join(f"{n} {kind}" for kind, n in r.counts.items() if n)
    lines = [
        f"### {r.title}",
        "",
        f"> {GENERATED} from `git range-diff` of v{r.old_version} (`{r.old_head[:12]}`) and "
        f"v{r.new_version} (`{r.new_head[:12]}`) of the series: {counts or 'no patch'}.",
    ]
    if r.old_base != r.new_base:
        lines.append(
            f"> Rebased: v{r.old_version} sat on `{r.old_base[:12]}`, v{r.new_version} sits on "
            f"`{r.new_base[:12]}`."
        )
    lines.append("")
    for p in sorted((p for p in r.pairs if p.new is not None), key=lambda p: p.new if p.new else 0):
        label = "unchanged" if p.kind == "unchanged" else f"**{p.kind}**"
        if p.rewritten:
            label += f" (rewritten; was {p.old}/{old_total})"
        lines.append(f"- {p.new}/{total} {p.subject}: {label}")
    for p in r.pairs:
        if p.new is None:
            lines.append(f"- **dropped**: {p.subject} (was {p.old}/{old_total})")
    if r.pairs and all(p.kind == "unchanged" for p in r.pairs):
        lines += ["", "No patch changed: the new version holds the same changes."]
    if ci:
        lines += ["", *ci]
    shown, cut = _capped(r.range_diff, limit)
    fence = _fence(shown)
    command = (
        f"git range-diff {r.old_base[:12]}..{r.old_head[:12]} {r.new_base[:12]}..{r.new_head[:12]}"
    )
    lines += [
        "",
        "<details>",
        f"<summary><code>{command}</code></summary>",
        "",
        f"{fence}diff",
        shown.rstrip("\n"),
        fence,
    ]
    if cut:
        lines += ["", f"Cut here: {cut} not shown; run the command above to see them all."]
    lines += ["", "</details>"]
    return "\n".join(lines) + "\n"
