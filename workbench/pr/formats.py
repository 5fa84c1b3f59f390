"""Each upstream's own PR layout: PyTorch's Summary/Test Plan (ao), Triton's template with the
New contributor declaration, XLA's plain description, or any upstream's own GitHub template."""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable
from pathlib import Path

from workbench.pr import sections
from workbench.pr.facts import Facts
from workbench.pr.labels import title_prefix
from workbench.pr.model import GENERATED, human, quote
from workbench.selection.perfile import file_commands

# Where GitHub looks for a pull request template (case-insensitive), in its order.
TEMPLATE_PLACES = (".github", "", "docs")
TEMPLATE_NAME = "pull_request_template.md"
TEMPLATE_FOLDER = "pull_request_template"

WHY = "In your own words: what this changes and why. The generated notes below are not a summary."


def _fixes(facts: Facts) -> str:
    if not facts.issue:
        return ""
    title = f" ({facts.issue.title})" if facts.issue.title else ""
    return f"Fixes #{facts.issue.number}{title}"


def _join(*parts: str) -> str:
    return "\n\n".join(p.strip("\n") for p in parts if p and p.strip()) + "\n"


def _markdown_sections(facts: Facts, commands: list[str] | None = None) -> list[str]:
    """The series, the linked issue, the test plan and the benchmarks under ``##`` headings."""
    return [
        sections.series_summary(facts),
        _fixes(facts),
        "## Test plan",
        sections.test_plan(facts, commands=commands),
        "## Benchmarks",
        sections.benchmarks(facts),
        *(["## Codegen", sections.codegen(facts)] if sections.codegen_has_news(facts) else []),
    ]


def first_subject(facts: Facts) -> str:
    return facts.patches[0].subject


def pytorch(facts: Facts) -> tuple[str, str]:
    """pytorch/ao: no template; PyTorch's ``Summary:`` / ``Test Plan:`` sections."""
    body = _join(
        "Summary:",
        human("summary", WHY),
        sections.series_summary(facts),
        _fixes(facts),
        "Test Plan:",
        sections.test_plan(facts),
        human("test-plan", "Anything you checked by hand (or on a GPU) that is not listed above."),
        "Benchmarks:",
        sections.benchmarks(facts),
        *(["Codegen:", sections.codegen(facts)] if sections.codegen_has_news(facts) else []),
        sections.lint_reminder(facts),
    )
    return first_subject(facts), body


# The checklist of triton's .github/PULL_REQUEST_TEMPLATE.md, with the boxes the workbench can
# check from the series itself.
TRITON_INTRO = (
    "The core Triton is a small number of people, and we receive many PRs (thank\n"
    "you!).  To help us review your code more quickly, **if you are a new\n"
    "contributor (less than 3 PRs merged) we ask that you complete the following\n"
    "tasks and include the filled-out checklist in your PR description.**"
)


def _box(checked: bool) -> str:
    return "[x]" if checked else "[ ]"


def triton(facts: Facts) -> tuple[str, str]:
    subject = first_subject(facts)
    prefix = title_prefix(facts.recipe, facts.changed)
    title = subject if subject.startswith("[") or not prefix else f"{prefix} {subject}"
    tests_added = [
        f
        for f in facts.changed
        if f.startswith(("python/test/", "test/", "unittest/", "python/triton_kernels/tests/"))
    ]
    lit_added = [f for f in facts.added if f.startswith("test/") and f.endswith(".mlir")]
    lit_changed = [f for f in facts.changed if f.startswith("test/") and f.endswith(".mlir")]
    checklist = "\n".join(
        [
            "# New contributor declaration",
            "",
            "- [ ] I am not making a trivial change, such as fixing a typo in a comment.",
            "",
            "- [ ] I have written a PR description following these",
            "  [rules](https://cbea.ms/git-commit/#why-not-how).",
            "",
            "- [ ] I have run `pre-commit run --from-ref origin/main --to-ref HEAD`.",
            "",
            "- Select one of the following.",
            f"  - {_box(bool(tests_added))} I have added tests.",
            "    - `/test` for `lit` tests",
            "    - `/unittest` for C++ tests",
            "    - `/python/test` for end-to-end tests",
            "  - [ ] This PR does not need a test because `FILL THIS IN`.",
            "",
            "- Select one of the following.",
            f"  - {_box(not lit_added and not lit_changed)} I have not added any `lit` tests.",
            "  - [ ] The `lit` tests I have added follow these [best practices](https://mlir.llvm"
            ".org/getting_started/TestingGuide/#filecheck-best-practices),",
            '    including "Tests should be minimal part". (Usually running Python code',
            "    and using the instructions it generates is not minimal.)",
        ]
    )
    verified = [
        f"- Tests the series adds or changes: {', '.join(f'`{f}`' for f in tests_added)}."
        if tests_added
        else "- The series adds or changes no test file: tick the second box and say why.",
        "- It adds no lit test (`test/**/*.mlir`)."
        if not (lit_added or lit_changed)
        else f"- lit tests: {', '.join(f'`{f}`' for f in lit_added + lit_changed)} (check the "
        "best practices yourself).",
        "- The other boxes are yours to tick.",
    ]
    body = _join(
        human("description", WHY),
        *_markdown_sections(facts),
        TRITON_INTRO,
        checklist,
        quote(f"{GENERATED}: boxes ticked only where the series shows it.\n" + "\n".join(verified)),
        sections.lint_reminder(facts),
    )
    return title, body


def plain_title(subject: str) -> str:
    """A plain sentence: no bracket prefixes, capitalised, no trailing period."""
    text = re.sub(r"^(\[[^\]]*\]\s*)+", "", subject).strip().rstrip(".")
    return text[:1].upper() + text[1:] if text else subject


def xla_commands(facts: Facts, doc: dict) -> list[str]:
    """pytorch/xla runs its unittest files as scripts; ``test/run_tests.sh`` takes the same files
    as filters."""
    files = doc.get("files") or [
        t["path"] for t in doc.get("selection") or [] if t["path"].endswith(".py")
    ]
    lines = file_commands(doc.get("env") or {}, files)
    if files:
        lines.append("test/run_tests.sh -L " + " ".join(shlex.quote(f) for f in files))
    return lines or sections.test_commands(facts, doc)


def plain(facts: Facts) -> tuple[str, str]:
    """pytorch/xla: a plain-sentence title, a description, the test commands."""
    r = facts.tests.result
    commands = xla_commands(facts, r.doc) if r and facts.tests.current else None
    body = _join(
        human("description", WHY),
        *_markdown_sections(facts, commands),
        sections.lint_reminder(facts),
    )
    return plain_title(first_subject(facts)), body


def find_template(worktree: Path) -> Path | None:
    """The upstream's PR template where GitHub looks for one; a folder of several: the first."""
    for place in TEMPLATE_PLACES:
        folder = worktree / place if place else worktree
        if not folder.is_dir():
            continue
        for entry in sorted(folder.iterdir()):
            if entry.name.lower() == TEMPLATE_NAME and entry.is_file():
                return entry
            if entry.name.lower() == TEMPLATE_FOLDER and entry.is_dir():
                first = sorted(p for p in entry.iterdir() if p.suffix.lower() == ".md")
                if first:
                    return first[0]
    return None


def template(facts: Facts) -> tuple[str, str]:
    """Any other upstream: its own template with the generated parts after it, else a neutral
    Summary / Test plan / Benchmarks layout."""
    found = find_template(facts.worktree)
    generated = _markdown_sections(facts)
    if found:
        text = found.read_text(errors="replace").strip()
        body = _join(human("template", text, raw=True), *generated)
    else:
        body = _join("## Summary", human("summary", WHY), *generated)
    return first_subject(facts), body


RENDERERS: dict[str, Callable[[Facts], tuple[str, str]]] = {
    "pytorch": pytorch,
    "triton": triton,
    "plain": plain,
    "template": template,
}
