"""What a reviewer would chase: the warnings listed above a draft (and in ``--json``)."""

from __future__ import annotations

from workbench.bench import report
from workbench.display import worktree_sentence
from workbench.gitops.status import WorktreeState
from workbench.pr.facts import Facts
from workbench.pr.formats import find_template
from workbench.pr.labels import missing_required
from workbench.pr.model import DraftWarning, human_parts, is_placeholder, too_long


def lint(facts: Facts, body: str, labels: list[str]) -> list[DraftWarning]:
    out: list[DraftWarning] = []
    name = facts.name
    if facts.worktree_state is not WorktreeState.IN_SYNC:
        out.append(
            DraftWarning(
                "worktree",
                f"upstreams/{name}/patched {worktree_sentence(facts.worktree_state)}: "
                f"the draft is made from patches/{name}/",
            )
        )
    tests = facts.tests
    if tests.result is None:
        out.append(DraftWarning("no-tests", f"no tests were run: nox -s {name}_tests"))
    elif not tests.current:
        out.append(
            DraftWarning(
                "stale-tests",
                f"no tests were run for the current series (the newest run, "
                f"{tests.result.run_id}, is stale): nox -s {name}_tests",
            )
        )
    else:
        doc = tests.result.doc
        if not doc.get("counts"):
            out.append(DraftWarning("no-test-plan", "no test file was selected or run"))
        if doc.get("regressions"):
            ids = ", ".join(r["id"] for r in doc["regressions"])
            out.append(DraftWarning("test-regression", f"tests fail with the series: {ids}"))
    bench = facts.bench
    if bench.result is not None and bench.current:
        slower = [
            c["id"]
            for c in bench.result.doc.get("cases", [])
            if report.backed_verdict(c) == "slower"
        ]
        if slower:
            out.append(DraftWarning("bench-regression", "slower: " + ", ".join(slower)))
        differ = report.outputs_lines(bench.result.doc)
        if differ:
            out.append(
                DraftWarning(
                    "bench-outputs-differ",
                    "the patched side computes other outputs than the baseline: "
                    + "; ".join(line.replace("`", "") for line in differ),
                )
            )
        nothing = report.no_bench_line(bench.result.doc)
        if nothing:
            out.append(DraftWarning("no-bench-evidence", nothing.replace("`", "")))
    elif bench.result is not None:
        out.append(
            DraftWarning(
                "stale-bench",
                f"the newest benchmark run ({bench.result.run_id}) is stale: nox -s {name}_bench",
            )
        )
    for why in missing_required(facts.recipe, labels):
        out.append(DraftWarning("missing-label", f"missing a required label: {why}"))
    template = find_template(facts.worktree) if facts.recipe.pr.format == "template" else None
    original = template.read_text(errors="replace").strip() if template else None
    for key, text in human_parts(body).items():
        if is_placeholder(text) or (original is not None and text.strip() == original):
            out.append(DraftWarning("empty-human-section", f"write the '{key}' part yourself"))
    for rule in facts.recipe.pr.warnings:
        hits = [f for f in facts.changed if rule.matches(f)]
        if hits:
            out.append(DraftWarning("path", f"{', '.join(hits)}: {rule.message}"))
    if "## Test plan" not in body and "Test Plan:" not in body:
        out.append(DraftWarning("no-test-plan", "the body has no test plan section"))
    problem = too_long(body)
    if problem:
        out.append(DraftWarning("body-too-long", problem + ": pr open refuses it"))
    if bench.result is not None and bench.current and bench.result.doc.get("interrupted"):
        out.append(
            DraftWarning(
                "bench-interrupted",
                f"the benchmark run {bench.result.run_id} was interrupted: its table holds only "
                f"the cases it finished (nox -s {name}_bench again for all)",
            )
        )
    return out
