"""The generated parts every PR format shares: the series, the test plan, the benchmarks, and
the compiled kernels (codegen) where a run of it exists.

Each part says where its facts come from (which run, which device, which versions) and quotes
itself as generated. A result from another version of the series is named as stale and its
outcome is not repeated: it would be passed off as the current one.
"""

from __future__ import annotations

import shlex
from pathlib import Path

from workbench.bench import report
from workbench.pr.facts import Facts
from workbench.pr.model import GENERATED, quote
from workbench.runs import Latest, RunResult

VERSION_KEYS = (("torch", "torch"), ("triton", "triton"), ("torchao", "torchao"))


def _when(r: RunResult) -> str:
    return r.started.strftime("%Y-%m-%d %H:%M UTC")


def _where(r: RunResult) -> str:
    """Device and versions, plus the runner for a run brought home from GitHub Actions."""
    parts = [r.device]
    versions = r.doc.get("versions") or {}
    if r.kind == "bench":
        mods = ((r.doc.get("sides") or {}).get("patched") or {}).get("env", {}).get("modules", {})
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
    return quote("\n".join(lines))


def _skips(doc: dict) -> str:
    by_reason = doc.get("skipped_by_reason") or {}
    if not by_reason:
        return ""
    parts = [f"{reason} ({n})" for reason, n in sorted(by_reason.items(), key=lambda kv: -kv[1])]
    return "Skipped: " + "; ".join(parts) + "."


def _outcome(doc: dict) -> str:
    counts = doc.get("counts") or {}
    if not counts:
        return doc.get("note") or "No test was run."
    words = [f"{counts.get(k, 0)} {k}" for k in ("passed", "failed", "error", "skipped")]
    text = ", ".join(w for w in words if not w.startswith("0 ") or w.endswith("failed")) + "."
    reg, pre = doc.get("regressions") or [], doc.get("preexisting") or []
    if reg:
        text += f" **{len(reg)} regression(s)** (pass on the pin, fail with the series): "
        text += ", ".join(f"`{r['id']}`" for r in reg) + "."
    if pre:
        text += f" {len(pre)} failure(s) also fail on the pin without the series: "
        text += ", ".join(f"`{r['id']}`" for r in pre) + "."
    return text


def test_commands(facts: Facts, doc: dict) -> list[str]:
    """The commands a reviewer can paste in the upstream checkout."""
    if doc.get("reproduce"):
        return [doc["reproduce"]]
    targets = [t["path"] for t in doc.get("selection") or []]
    env = " ".join(f"{k}={shlex.quote(v)}" for k, v in (doc.get("env") or {}).items())
    return [f"{env} python -m pytest {shlex.join(targets)}".strip()] if targets else []


def _workbench_command(facts: Facts, doc: dict) -> str:
    """How the run was started: the session, or the CLI with the files given after --."""
    if doc.get("override"):
        return f"workbench tests run {facts.name} -- {shlex.join(doc['override'])}"
    return f"nox -s {facts.name}_tests   # pin and pin+series envs; failures re-run on the pin"


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
        f"{GENERATED} from test run `{r.run_id}` ({_when(r)}; {_where(r)}), made from this series:",
        "",
        "```",
        _workbench_command(facts, doc),
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
    return quote(head + "\n\n" + report.to_markdown(r.doc))


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
        f"{(r.doc.get('triton') or {}).get('patched')}), made from this series: the kernels the "
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
