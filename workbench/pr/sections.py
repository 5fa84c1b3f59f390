"""The generated parts every PR format shares: the series, the test plan, the benchmarks, and
the compiled kernels (codegen) where a run of it exists.

Each part says where its facts come from (which run, which device, which versions) and quotes
itself as generated. A result from another version of the series is named as stale and its
outcome is not repeated: it would be passed off as the current one.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from workbench.bench import report
from workbench.pr import testplan
from workbench.pr.facts import Facts
from workbench.pr.model import GENERATED, quote
from workbench.runs import Latest, RunResult
from workbench.steps.cost import COST_RUNS, cost_words
from workbench.vocabulary import PATCHED

VERSION_KEYS = (("torch", "torch"), ("triton", "triton"), ("torchao", "torchao"))


def _when(r: RunResult) -> str:
    return r.started.strftime("%Y-%m-%d %H:%M UTC")


def _where(r: RunResult) -> str:
    """Device and versions, plus the runner for a run brought home from GitHub Actions."""
    parts = [r.device]
    versions = r.doc.get("versions") or {}
    if r.kind == "bench":
        mods = ((r.doc.get("sides") or {}).get(PATCHED) or {}).get("env", {}).get("modules", {})
        versions = {k: v.get("version") for k, v in mods.items() if isinstance(v, dict)}
    for key, shown in (*VERSION_KEYS, ("torch-xla", "torch_xla"), ("torch_xla", "torch_xla")):
        if versions.get(key):
            parts.append(f"{shown} {versions[key]}")
    if r.remote:
        run = r.remote.get("run_id") or r.run_id
        url = r.remote.get("html_url")
        parts.append(f"GitHub Actions run [{run}]({url})" if url else f"GitHub Actions run {run}")
    return "; ".join(parts)


def _stale(what: str, latest: Latest, session: str) -> str:
    r = latest.result
    assert r is not None
    return quote(
        f"{GENERATED}: the newest {what} run (`{r.run_id}`, {_when(r)}) was made from an "
        "earlier version of this series (STALE), so its outcome is not given here. "
        f"Run `nox -s {session}` again."
    )


def series_summary(facts: Facts) -> str:
    lines = [f"{GENERATED} from `patches/{facts.name}/` ({len(facts.patches)} patch(es)):", ""]
    for p in facts.patches:
        files = ", ".join(f"`{f}`" for f in p.files[:8])
        more = f" and {len(p.files) - 8} more" if len(p.files) > 8 else ""
        lines.append(f"- **{p.subject}** ({files}{more})")
        for body_line in p.body.splitlines():
            if body_line.strip():
                lines.append(f"  {body_line}")
    lines += _per_patch(facts)
    return quote("\n".join(lines))


PER_PATCH_WHAT = {"tests": ("test", "Tests"), "bench": ("benchmark", "Benchmarks")}
"""Each per-patch run's kind, as a run is named and as its line of cost starts."""
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|~&#!])")


def _md(text: str) -> str:
    """Words as Markdown that renders them as written (reasons and notes from the runs)."""
    return _MD_SPECIAL.sub(r"\\\1", text)


def _code(text: str) -> str:
    """A code span, whatever backticks ``text`` holds."""
    ticks = "`" * (max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"


def _per_patch(facts: Facts) -> list[str]:
    """One line per patch with its effect, from the newest runs made from this series with
    ``--per-patch`` (nothing without one), and what finding out cost; a per-patch run of an
    earlier version is named, its outcomes not given."""
    runs = facts.per_patch
    lines: list[str] = []
    current = runs.current()
    if current:
        sources = " and ".join(
            f"{PER_PATCH_WHAT[k][0]} run `{r.run_id}` ({_when(r)}; {r.device})"
            for k, r in current.items()
        )
        lines += [
            "",
            f"Per patch (each against the series up to the patch before it), from {sources}, "
            "made from this series:",
            "",
        ]
        for effect in runs.effects([p.file for p in facts.patches]):
            said = []
            tests = effect.tests_words(_code, _md)
            if tests is not None:
                said.append(f"tests: {tests}")
            bench = effect.bench_words(_code, _md)
            if bench is not None:
                said.append(f"benchmarks: {bench}")
            words = "; ".join(said) if said else "not in the per-patch results"
            lines.append(f"- {_code(effect.patch)}: {words}.")
        costs = []
        for k, r in current.items():
            cost = r.doc.get("per_patch_cost")
            if isinstance(cost, dict):
                spent = cost_words(cost, COST_RUNS[k])
                costs.append(f"{PER_PATCH_WHAT[k][1]} per patch: {_md(spent)}.")
        if costs:
            lines += ["", " ".join(costs)]
    for k, r in runs.stale().items():
        lines += [
            "",
            f"The newest per-patch {PER_PATCH_WHAT[k][0]} run (`{r.run_id}`, {_when(r)}) was "
            "made from an earlier version of this series (STALE), so its per-patch outcomes are "
            f"not given here. Run `workbench {k} run {facts.name} --per-patch` again.",
        ]
    return lines


MAX_SKIP_REASONS = 8
"""Skip reasons listed by name; the rest are counted."""


def skip_reason(reason: str) -> str:
    """A skip reason as a reader should take it: an expected failure is not a failure."""
    text = " ".join(reason.split())
    if text.startswith(("FAILED ", "XFAIL", "xfail")) or "expected failure" in text.lower():
        text = "expected to fail (xfail): " + text.removeprefix("FAILED ").strip()
    return text if len(text) <= 160 else text[:157] + "..."


def _skips(doc: dict) -> str:
    by_reason = doc.get("skipped_by_reason") or {}
    if not by_reason:
        return ""
    ranked = sorted(by_reason.items(), key=lambda kv: -kv[1])
    parts = [f"{skip_reason(reason)} ({n})" for reason, n in ranked[:MAX_SKIP_REASONS]]
    rest = ranked[MAX_SKIP_REASONS:]
    if rest:
        parts.append(f"{len(rest)} other reasons ({sum(n for _, n in rest)})")
    return "Skipped: " + "; ".join(parts) + "."


def _outcome(doc: dict) -> str:
    counts = doc.get("counts") or {}
    if not counts:
        return doc.get("note") or "No test was run."
    words = [f"{counts.get(k, 0)} {k}" for k in ("passed", "failed", "error", "skipped")]
    text = ", ".join(w for w in words if not w.startswith("0 ") or w.endswith("failed")) + "."
    reg, pre = doc.get("regressions") or [], doc.get("preexisting") or []
    if reg:
        text += f" **{len(reg)} regression(s)** (pass on the pin, fail with the series)"
        if len(reg) > testplan.MAX_NAMED:
            text += f", by file: {testplan.files_line(reg)}"
        text += ": " + testplan.failing_summary(reg) + "."
    if pre:
        text += f" {len(pre)} failure(s) also fail on the pin without the series: "
        text += testplan.failing_summary(pre, limit=testplan.MAX_NAMED // 2) + "."
    return text


def test_commands(facts: Facts, doc: dict) -> list[str]:
    """The commands a reviewer can paste in the upstream checkout: one pytest line per test
    file, with the device's environment and arguments."""
    targets = doc.get("override") or [t["path"] for t in doc.get("selection") or []]
    if not targets and doc.get("reproduce"):
        return [doc["reproduce"]]
    return testplan.pytest_lines(doc.get("env") or {}, doc.get("pytest_args") or [], targets)


def _made_with(facts: Facts, doc: dict, r: RunResult) -> str:
    """One line on how the results were made, for whoever wants to make them again."""
    if doc.get("override"):
        how = f"`workbench tests run {facts.name} -- {shlex.join(doc['override'])}`"
    else:
        how = f"`nox -s {facts.name}_tests`"
    line = (
        f"How this was made: {how} in the workbench (the pin and the pin plus this series, "
        "each in its own environment; failures re-run on the pin)"
    )
    selected = len(doc.get("override") or doc.get("selection") or [])
    if (r.folder / testplan.SELECTED_FILE).is_file() and selected > testplan.MAX_IDS:
        line += f"; the {selected} selected targets are listed in its run folder"
    return line + "."


def test_plan(facts: Facts, *, commands: list[str] | None = None) -> str:
    latest = facts.tests
    session = f"{facts.name}_tests"
    if latest.result is None:
        return quote(
            f"{GENERATED}: no test run yet for this series. Run `nox -s {session}` "
            f"(or `workbench tests run {facts.name}`)."
        )
    if not latest.current:
        return _stale("test", latest, session)
    r = latest.result
    doc = r.doc
    shown = commands if commands is not None else test_commands(facts, doc)
    lines = [
        f"{GENERATED} from test run `{r.run_id}` ({_when(r)}; {_where(r)}), made from this "
        "series. To run the same tests in the upstream checkout:",
        "",
        "```",
        *shown,
        "```",
        "",
        _outcome(doc),
    ]
    skips = _skips(doc)
    if skips:
        lines += ["", skips]
    if doc.get("device_note"):
        lines += ["", f"Device note: {doc['device_note']}"]
    lines += _map_lines(doc)
    lines += ["", _made_with(facts, doc, r)]
    return quote("\n".join(lines))


def _map_lines(doc: dict) -> list[str]:
    """Which tests a test map picked, and the changed code that no test runs on this device."""
    out = []
    m = doc.get("map")
    if m:
        out += [
            "",
            f"Tests selected one by one: those that run a changed function, by a test map of "
            f"the pin ({m['tests']} tests mapped on {m['device']}).",
        ]
    gaps = doc.get("not_exercised") or []
    if gaps:
        device = gaps[0].get("device") or doc.get("device")
        where = ", ".join(f"`{g['file']}::{g['block']}`" for g in gaps)
        out += [
            "",
            f"**Changed code that no test runs here** (not exercised on {device}): {where}. "
            "These need a run where their tests do not skip (a GPU runner).",
        ]
    return out


def benchmarks(facts: Facts) -> str:
    latest = facts.bench
    session = f"{facts.name}_bench"
    if latest.result is None:
        return quote(
            f"{GENERATED}: no benchmark run yet for this series. Run `nox -s {session}` "
            "(on a GPU runner for the GPU numbers: `workbench remote run "
            f"{facts.name} --session bench`)."
        )
    if not latest.current:
        return _stale("benchmark", latest, session)
    r = latest.result
    head = (
        f"{GENERATED} from benchmark run `{r.run_id}` ({_when(r)}; {_where(r)}), made from "
        "this series. Patched/baseline time ratios with 95% intervals; below 1 is faster."
    )
    parts = [head, report.to_markdown(r.doc, reproduce=False).rstrip("\n")]
    parts += [_bench_source(facts, f) for f in report.evidence_files(r.doc)]
    parts.append(_bench_made_with(facts, r.doc))
    return quote("\n\n".join(p for p in parts if p))


MAX_BENCH_SOURCE = 6000
"""Characters of a bench file shown in the body; a longer one is named, not shown."""


def _bench_source(facts: Facts, file: str) -> str:
    """The bench file, folded: what each case sets up and what it times, to run anywhere."""
    path = facts.recipe.file.parent / facts.recipe.bench_folder / file
    try:
        text = path.read_text(encoding="utf-8").rstrip()
    except OSError:
        return ""
    if len(text) > MAX_BENCH_SOURCE:
        return f"The cases come from `{file}` ({len(text):,} characters, not shown here)."
    return "\n".join(
        [
            f"<details><summary>The cases: <code>{file}</code> (each sets up its inputs and "
            "returns the call that is timed)</summary>",
            "",
            "```python",
            text,
            "```",
            "",
            "</details>",
        ]
    )


def _bench_made_with(facts: Facts, doc: dict) -> str:
    procs = [report.processes_of(c) for c in report.measured_cases(doc)]
    counted = [p for p in procs if p]
    how = f"`{doc['command']}`" if doc.get("command") else f"`nox -s {facts.name}_bench`"
    line = f"How this was made: {how} in the workbench"
    if counted:
        lo, hi = min(counted), max(counted)
        line += (
            f": each side in {lo if lo == hi else f'{lo}-{hi}'} fresh processes taking turns, "
            "every case first called once per side to compare outputs"
        )
    return line + "."


def codegen_has_news(facts: Facts) -> bool:
    """A Codegen section only when a kernel the series touches compiled differently (or a
    problem was found) in a run made from this series."""
    from workbench.codegen import report as codegen_report

    latest = facts.codegen
    if latest.result is None or not latest.current:
        return False
    return codegen_report.verdict(latest.result.doc) in ("changed", "problems")


def codegen(facts: Facts) -> str:
    """What the series does to the compiled Triton kernels; nothing without a codegen run."""
    from workbench.codegen import report as codegen_report

    latest = facts.codegen
    if latest.result is None:
        return ""
    if not latest.current:
        return _stale("codegen", latest, f"{facts.name}_codegen")
    r = latest.result
    targets = ", ".join(r.doc.get("targets") or [])
    head = (
        f"{GENERATED} from codegen run `{r.run_id}` ({_when(r)}; triton "
        f"{(r.doc.get('triton') or {}).get(PATCHED)}), made from this series: the kernels the "
        f"series changes and the benches launch, compiled without a GPU for {targets}; the "
        "patched kernels ran on the baseline's recorded inputs in the interpreter."
    )
    return quote(head + "\n\n" + codegen_report.to_markdown(r.doc, r.folder))


def lint_reminder(facts: Facts) -> str:
    lint = facts.recipe.pr.lint
    if not lint:
        return ""
    return "Before marking this ready: " + "; ".join(f"`{c}`" for c in lint) + "."


def scrub(text: str, paths: list[Path]) -> str:
    """Local absolute paths never leave the machine: the workspace root becomes ``.``, the home
    folder ``~``."""
    pairs = sorted(
        ((str(p), short) for p, short in ((q, ".") for q in paths) if str(p) not in ("", "/")),
        key=lambda kv: -len(kv[0]),
    )
    for long, short in pairs:
        text = text.replace(long, short)
    home = str(Path.home())
    if home not in ("", "/"):
        text = text.replace(home, "~")
    return text
