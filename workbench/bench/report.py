"""Reading ``bench.json``: what each case may be taken as, and the document's renderings.

A case is evidence only when it runs the changed code, and its verdict stands only on enough
independent processes (:func:`backed_verdict`); the lines under a table say why a case has no
verdict, what no case runs, what was skipped. Every renderer (terminal, markdown, PNG) works from
the JSON document, so ``workbench bench show FILE.json`` gives the same table, markdown and plot
as the run that wrote it. Writing the document is :mod:`workbench.bench.document`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from workbench.bench import outputs, per_patch_report, stats
from workbench.bench.runner import UNTIMED_OFF_CHANGE, Settings
from workbench.vocabulary import BASELINE, PATCHED

if TYPE_CHECKING:
    from rich.table import Table


def processes_of(case: dict) -> int | None:
    """Independent processes per side a case's numbers rest on (None: a run from before this
    was recorded, when one long-lived process per side ran the whole case)."""
    procs = case.get("processes")
    if isinstance(procs, dict):
        return min(int(v) for v in procs.values())
    return None


def is_evidence(case: dict) -> bool:
    """Does the case's timing speak about the change: it runs (or may run) changed code, or
    there is no series to speak of (``--file`` with two sides: ``changed_code`` is null)."""
    if case.get("changed_code") is None:
        return True
    return bool(case["changed_code"] or case.get("may_run"))


def backed_verdict(case: dict) -> str | None:
    """The verdict a reader may see: faster/slower/unchanged only when the case rests on enough
    independent processes; anything else reads inconclusive. None for a skipped case, and for a
    case that runs none of the changed code (timed with --all: never evidence)."""
    if case.get("skipped") or "verdict" not in case or not is_evidence(case):
        return None
    procs = processes_of(case)
    if procs is None or procs < stats.MIN_UNITS:
        return stats.INCONCLUSIVE
    return str(case["verdict"])


def reason_of(case: dict, min_effect: float) -> str | None:
    """One line on why a case has no verdict (None when it has one)."""
    if backed_verdict(case) != stats.INCONCLUSIVE:
        return None
    procs = processes_of(case)
    if procs is None:
        return (
            "measured in one long-lived process per side, so the difference between two "
            "processes of the same code is not in the interval: run it again"
        )
    return case.get("noise_warning") or (
        f"the 95% interval {case['ci'][0]:.3f}-{case['ci'][1]:.3f} crosses "
        f"±{100 * min_effect:g}% (p = {case['p_value']:.2g})"
    )


def summary_of(cases: list[dict]) -> dict[str, int]:
    """Verdicts counted over the cases that are evidence; the others as "skipped" (a device or
    a set-up skipped them) or "not evidence" (they run none of the changed code)."""
    counts: dict[str, int] = {}
    for case in cases:
        if not case.get("skipped") and not is_evidence(case):
            key = "not evidence"
        else:
            key = backed_verdict(case) or "skipped"
        counts[key] = counts.get(key, 0) + 1
    differ = [c for c in cases if is_evidence(c) and outputs_differ(c)]
    if differ:
        counts["outputs differ"] = len(differ)
    return counts


def outputs_differ(case: dict) -> bool:
    return (case.get("outputs") or {}).get("match") == outputs.DIFFER


def verdict_cell(case: dict) -> str:
    """The verdict with what a reviewer must not miss: "faster, outputs differ: SQNR 31.2 dB"."""
    verdict = backed_verdict(case) or ("not evidence" if not is_evidence(case) else "")
    if outputs_differ(case):
        return f"{verdict}, outputs {outputs.short(case['outputs'])}"
    return verdict


def fmt_time(ns: float | None) -> str:
    if ns is None:
        return "–"
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)):
        if ns >= scale:
            return f"{ns / scale:.3g} {unit}"
    return f"{ns:.3g} ns"


def _title(doc: dict) -> str:
    names = ", ".join(Path(f).name for f in doc["files"])
    return f"{doc.get('upstream') or names}"


def _ratio_text(case: dict) -> str:
    lo, hi = case["ci"]
    return f"{case['ratio']:.3f} ({lo:.3f}–{hi:.3f})"


def _pct_peak(case: dict) -> str:
    roof = (case.get("roofline") or {}).get(PATCHED)
    if not roof:
        return ""
    parts = []
    if roof.get("gbs") is not None:
        parts.append(f"{roof['gbs']:.3g} GB/s")
        if roof.get("pct_bandwidth") is not None:
            parts[-1] += f" ({roof['pct_bandwidth']:.0f}%)"
    if roof.get("tflops") is not None:
        parts.append(f"{roof['tflops']:.2f} TFLOP/s")
        if roof.get("pct_flops") is not None:
            parts[-1] += f" ({roof['pct_flops']:.0f}%)"
    return ", ".join(parts)


def _environment_line(doc: dict) -> str:
    env = ((doc.get("sides") or {}).get(PATCHED) or {}).get("env") or {}
    mods = env.get("modules", {})
    parts = [f"device: {doc.get('device') or '?'}", f"Python {env.get('python', '?')}"]
    for name in ("torch", "triton", "torchao", "torch_xla"):
        if name in mods and mods[name].get("version"):
            parts.append(f"{name} {mods[name]['version']}")
    if env.get("threads"):
        parts.append(f"{env['threads']} thread(s)")
    malloc = env.get("malloc")
    if malloc:  # glibc's thresholds as the workers had them (--allocator)
        parts.append("malloc " + " ".join(f"{k}={v}" for k, v in sorted(malloc.items())))
    s = doc.get("settings") or {}
    if "budget" not in s:
        return "; ".join(parts)
    budget = f"budget {s['budget']:g} s/case"
    if s.get("max_budget"):
        budget += f" (up to {s['max_budget']:g} s when undecided)"
    parts.append(f"{budget}, min effect ±{100 * s['min_effect']:g}%")
    return "; ".join(parts)


def _procs_text(case: dict) -> str:
    procs = processes_of(case)
    return "1 (old run)" if procs is None else str(procs)


def measured_cases(doc: dict) -> list[dict]:
    """Timed cases whose timing is evidence about the change (every timed case without one)."""
    return [c for c in doc["cases"] if "ratio" in c and not c.get("skipped") and is_evidence(c)]


def off_change_cases(doc: dict) -> list[dict]:
    """Cases timed (with --all) that run none of the changed code: shown apart, never evidence."""
    return [c for c in doc["cases"] if "ratio" in c and not c.get("skipped") and not is_evidence(c)]


def skipped_lines(doc: dict) -> list[str]:
    """Skipped cases, one line per reason: "8 CUDA cases skipped: needs CUDA"."""
    by_reason: dict[str, list[dict]] = {}
    for c in doc["cases"]:
        if c.get("untimed"):
            continue
        if c.get("skipped") or "ratio" not in c:
            by_reason.setdefault(str(c.get("skipped") or "not run"), []).append(c)
    lines = []
    for reason, cases in by_reason.items():
        devices = {str(c.get("device", "cpu")).split(":")[0] for c in cases}
        kind = f"{devices.pop().upper()} " if len(devices) == 1 and "cpu" not in devices else ""
        noun = "case" if len(cases) == 1 else "cases"
        lines.append(f"{len(cases)} {kind}{noun} skipped: {reason}")
    return lines


def _names(items: list[str], limit: int = 6) -> str:
    shown = ", ".join(f"`{x}`" for x in items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def no_bench_line(doc: dict) -> str | None:
    """One line when the series changes code and no case runs any of it: no verdict then."""
    changed = doc.get("changed_blocks")
    if changed is None:
        return None
    ran = [c for c in doc["cases"] if not c.get("skipped") and "changed_code" in c]
    if any(is_evidence(c) for c in ran):
        return None
    untraceable = doc.get("changed_not_traceable") or []
    upstream = doc.get("upstream") or "NAME"
    if not changed and not untraceable and doc.get("changed_files") == 0:
        return (
            "No bench runs a change: the series is empty (no patch in it yet), so both sides "
            "run the same code and no case was timed; `--all` times every case (an A/A run)."
        )
    if not changed and not untraceable:
        return (
            "No bench runs this change: the series changes no upstream code a bench could run "
            "(tests or docs only), so no case was timed as evidence."
        )
    functions = [b for b in changed if not b.endswith("::<module>")] or changed
    return (
        f"No bench runs this change: none of the {len(ran)} case(s) that ran here runs "
        f"{_names(functions)}. Add a `@bench` in `upstreams/{upstream}/benches/` that calls "
        "them, so their speed can be measured."
    )


def coverage_line(doc: dict) -> str | None:
    """Which changed functions the timed cases run, and which no case runs."""
    changed = [b for b in doc.get("changed_blocks") or [] if not b.endswith("::<module>")]
    if not changed:
        return None
    counts: dict[str, int] = {}
    for c in measured_cases(doc):
        for b in c.get("changed_code") or []:
            counts[b] = counts.get(b, 0) + 1
    if not counts:
        return None
    ran = ", ".join(f"`{b}` ({n} case{'s' if n > 1 else ''})" for b, n in sorted(counts.items()))
    line = f"Changed code the timed cases run: {ran}."
    missing = [b for b in changed if b not in counts]
    if missing:
        line += f" Run by no case here: {_names(missing)}."
    return line


def untimed_line(doc: dict) -> str | None:
    untimed = [c["id"] for c in doc["cases"] if c.get("untimed") == UNTIMED_OFF_CHANGE]
    if not untimed:
        return None
    noun = "case runs" if len(untimed) == 1 else "cases run"
    return (
        f"Not timed: {len(untimed)} {noun} none of the changed code ({_names(untimed, 4)}); "
        "`--all` times them too, apart from the evidence."
    )


def interrupted_line(doc: dict) -> str:
    done = len(measured_cases(doc)) + len(off_change_cases(doc))
    return (
        f"**Interrupted**: the run was stopped after {done} timed case(s); the cases it had not "
        "finished are not in these results."
    )


def evidence_files(doc: dict) -> list[str]:
    """The bench files whose cases are evidence here, in run order."""
    return list(dict.fromkeys(str(c.get("file")) for c in measured_cases(doc) if c.get("file")))


def geomean_line(doc: dict) -> str | None:
    g = doc.get("geomean")
    if not g:
        return None
    lo, hi = g["ci"]
    what = "that run the change" if doc.get("changed_blocks") is not None else "timed"
    return (
        f"Geometric mean of patched/baseline over the {g['cases']} case(s) {what}: "
        f"{g['ratio']:.3f} (95% interval {lo:.3f}–{hi:.3f})."
    )


def outputs_lines(doc: dict) -> list[str]:
    """One line per case whose outputs differ between the sides."""
    return [
        f"`{c['id']}`: {c['outputs'].get('detail') or outputs.short(c['outputs'])}"
        + (f" (SQNR {c['outputs']['sqnr_db']:.1f} dB)" if c["outputs"].get("sqnr_db") else "")
        for c in doc["cases"]
        if not c.get("skipped") and is_evidence(c) and outputs_differ(c)
    ]


def warning_lines(doc: dict) -> list[str]:
    """Why each case without a verdict has none; a reason shared by several cases once."""
    # A document from elsewhere (a runner, an older release) may lack settings.
    min_effect = (doc.get("settings") or {}).get("min_effect", Settings().min_effect)
    by_text: dict[str, list[str]] = {}
    measured = measured_cases(doc)
    for c in measured:
        text = reason_of(c, min_effect)
        if text:
            by_text.setdefault(text, []).append(c["id"])
    lines = []
    for text, ids in by_text.items():
        if len(ids) == len(measured) and len(ids) > 1:
            lines.append(f"all cases: {text}")
        else:
            lines.append(", ".join(f"`{i}`" for i in ids) + f": {text}")
    return lines


def _markdown_table(cases: list[dict], emphasis: bool) -> list[str]:
    has_roof = any(c.get("roofline") for c in cases)
    head = ["benchmark", BASELINE, PATCHED, "patched/baseline (95% CI)", "p"]
    if has_roof:
        head.append("patched throughput (% of peak)")
    head += ["outputs", "processes per side", "verdict"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for c in cases:
        verdict = backed_verdict(c)
        cell = verdict_cell(c)
        if emphasis and verdict in (stats.FASTER, stats.SLOWER, stats.UNCHANGED):
            cell = f"**{verdict}**" + cell[len(verdict) :]
        row = [
            f"`{c['id']}`",
            fmt_time((c.get(BASELINE) or {}).get("median_ns")),
            fmt_time((c.get(PATCHED) or {}).get("median_ns")),
            _ratio_text(c),
            f"{c['p_value']:.2g}",
        ]
        if has_roof:
            row.append(_pct_peak(c))
        row += [outputs.short(c.get("outputs")), _procs_text(c), cell]
        lines.append("| " + " | ".join(row) + " |")
    return lines


def to_markdown(doc: dict, *, reproduce: bool = True) -> str:
    """A GitHub-markdown table, ready for a PR body (``reproduce``: end with the workbench
    command that made it; a PR body says how to run the cases in the upstream instead)."""
    measured = measured_cases(doc)
    nothing = no_bench_line(doc)
    if nothing:
        lines = [nothing]
    elif measured:
        lines = _markdown_table(measured, emphasis=True)
    else:
        lines = ["No case ran here."]
    lines.append("")
    for extra in (geomean_line(doc), coverage_line(doc)):
        if extra and not nothing:
            lines += [extra, ""]
    differ = outputs_lines(doc)
    if differ:
        lines += ["**Outputs differ** between baseline and patched:", *(f"- {d}" for d in differ)]
        lines.append("")
    off = off_change_cases(doc)
    if off:
        lines += [
            "Timed with `--all`, but these cases run none of the changed code: not evidence "
            "about the change.",
            "",
            *_markdown_table(off, emphasis=False),
            "",
        ]
    untimed = untimed_line(doc)
    if untimed:
        lines += [untimed, ""]
    skips = skipped_lines(doc)
    if skips:
        lines += [" ".join(f"{line}." for line in skips), ""]
    lines += per_patch_report.markdown(doc)
    lines.append(_environment_line(doc) + ".")
    warnings = warning_lines(doc)
    if warnings:
        lines += ["", "No verdict:", *(f"- {w}" for w in warnings)]
    if doc.get("interrupted"):
        lines[:0] = [interrupted_line(doc), ""]
    if reproduce and doc.get("command"):
        lines += ["", f"Reproduce: `{doc['command']}`"]
    return "\n".join(lines) + "\n"


VERDICT_STYLE = {"faster": "green", "slower": "red", "unchanged": "cyan", "inconclusive": "yellow"}


def notes(doc: dict) -> list[str]:
    """The lines below a table: no bench, geomean, coverage, not-evidence, untimed, skips."""
    lines = [
        line
        for line in (no_bench_line(doc), geomean_line(doc), coverage_line(doc))
        if line is not None
    ]
    lines += [f"outputs differ: {d}" for d in outputs_lines(doc)]
    if off_change_cases(doc):
        lines.append("dimmed: timed with --all, not evidence (they run none of the changed code)")
    untimed = untimed_line(doc)
    if untimed:
        lines.append(untimed)
    return [line.replace("`", "") for line in lines] + skipped_lines(doc)


def to_rich(doc: dict) -> Table:
    from rich.markup import escape
    from rich.table import Table

    caption = "\n".join([*map(escape, notes(doc)), _environment_line(doc)])
    table = Table(title=f"{_title(doc)}: patched vs baseline", caption=caption)
    table.add_column("case", no_wrap=True)
    for col in (BASELINE, PATCHED, "ratio [95% CI]", "p", "procs"):
        table.add_column(col, justify="right", no_wrap=True)
    measured = measured_cases(doc)
    off = off_change_cases(doc)
    has_roof = any(c.get("roofline") for c in measured + off)
    if has_roof:
        table.add_column("throughput (% peak)", justify="right")
    table.add_column("outputs", justify="right")
    table.add_column("verdict", justify="right", no_wrap=True)
    for c in measured + off:
        if c in off and c is off[0] and measured:
            table.add_section()  # timed with --all: below the evidence, dimmed
        verdict = backed_verdict(c) or ""
        style = "red" if outputs_differ(c) else VERDICT_STYLE.get(verdict, "")
        if c in off:
            style = "dim"
        lo, hi = c["ci"]
        row = [
            escape(c["id"]),
            fmt_time((c.get(BASELINE) or {}).get("median_ns")),
            fmt_time((c.get(PATCHED) or {}).get("median_ns")),
            f"{c['ratio']:.3f} [{lo:.3f}, {hi:.3f}]",
            f"{c['p_value']:.2g}",
            _procs_text(c),
        ]
        if has_roof:
            row.append(_pct_peak(c))
        row += [escape(outputs.short(c.get("outputs"))), f"[{style}]{escape(verdict_cell(c))}[/]"]
        table.add_row(*row, style="dim" if c in off else None)
    return table


def to_png(doc: dict, path: Path) -> Path:
    """Ratio per case with its interval; the ±min-effect band shaded. Headless (Agg)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cases = measured_cases(doc)
    height = max(2.0, 0.45 * len(cases) + 1.2)
    fig, ax = plt.subplots(figsize=(8, height), dpi=120)
    eff = doc["settings"]["min_effect"]
    ax.axvspan(1 - eff, 1 + eff, color="0.88", label=f"±{100 * eff:g}% (unchanged)")
    ax.axvline(1.0, color="0.5", linewidth=0.8)
    colors = {
        "faster": "tab:green",
        "slower": "tab:red",
        "unchanged": "tab:blue",
        "inconclusive": "tab:orange",
    }
    for i, c in enumerate(cases):
        lo, hi = c["ci"]
        ax.errorbar(
            c["ratio"],
            i,
            xerr=[[c["ratio"] - lo], [hi - c["ratio"]]],
            fmt="o",
            color=colors.get(backed_verdict(c) or "", "k"),
            capsize=3,
        )
        ax.annotate(
            verdict_cell(c),
            (hi, i),
            xytext=(4, 0),
            textcoords="offset points",
            va="center",
            fontsize=8,
        )
    ax.set_yticks(range(len(cases)), [c["id"] for c in cases], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("patched / baseline time (lower is faster)")
    ax.set_title(f"{_title(doc)} on {doc['device']}", fontsize=9)
    ax.legend(loc="lower right", fontsize=7)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path
