"""``codegen.json`` for people: a terminal table, and markdown for the PR description."""

from __future__ import annotations

from pathlib import Path

from rich.table import Table

from workbench.codegen.run import compiler_message
from workbench.codegen.stages import STAGES
from workbench.vocabulary import BASELINE, PATCHED, SIDES

SHOWN_FIGURES = (
    ("registers", "regs"),
    ("vgprs", "vgprs"),
    ("sgprs", "sgprs"),
    ("spill_store_bytes", "spill st B"),
    ("spill_load_bytes", "spill ld B"),
    ("vgpr_spills", "vgpr spills"),
    ("scratch_bytes", "scratch B"),
    ("shared_bytes", "smem B"),
    ("occupancy", "waves/SIMD"),
    ("warps_per_sm", "warps/SM"),
    ("num_warps", "warps"),
    ("num_stages", "stages"),
    ("sass_instructions", "SASS instr"),
    ("ptx_instructions", "PTX instr"),
    ("amdgcn_instructions", "AMDGCN instr"),
)
MACHINE_STAGES = ("sass", "amdgcn")
"""The last stage of each backend: what the GPU runs."""
DIFF_LINES = 60
"""Lines of one stage's diff shown in a PR description before it is cut (the file has them all)."""
DIFF_BUDGET = 30_000
"""Characters of diffs in one PR description (GitHub takes 65,536 in all); the rest is named."""
DIFF_STAGES = ("ttgir", "ptx", "sass", "amdgcn", "ttir", "llir")
"""The stages a reviewer reads first, in that order."""


def verdict(doc: dict) -> str:
    """One word for a table cell."""
    s = doc.get("summary") or {}
    if doc.get("findings"):
        return "problems"
    if s.get("changed"):
        return "changed"
    if s.get("kernels"):
        return "unchanged"
    return "no kernels"


def _figure(before: object, after: object) -> str:
    if before == after:
        return f"{before}"
    if isinstance(before, int) and isinstance(after, int):
        return f"{before} → {after} ({after - before:+d})"
    return f"{before} → {after}"


ALWAYS = (
    "registers",
    "vgprs",
    "spill_store_bytes",
    "vgpr_spills",
    "scratch_bytes",
    "warps_per_sm",
    "occupancy",
)
"""Shown even when equal: what a reviewer asks first (registers, spills, occupancy)."""


def figure_cells(target: dict) -> list[str]:
    """The figures that changed, and the registers and spills whether or not they did."""
    figures = target.get("figures") or {}
    return [
        f"{label} {_figure(*figures[name])}"
        for name, label in SHOWN_FIGURES
        if name in figures
        and figures[name] != [None, None]
        and (name in ALWAYS or figures[name][0] != figures[name][1])
    ]


def _stages_cell(target: dict) -> str:
    if target["status"] in ("error-patched", "error-baseline"):
        side = target["status"].removeprefix("error-")
        return f"fails on the {side} side: {compiler_message(target['error'].get(side))}"
    if target["status"] == "error-both":
        # Not the series' doing, and still worth knowing: the spec or the pin does not compile.
        return f"fails on both sides: {compiler_message(target['error'].get(BASELINE))}"
    if target["status"] not in ("changed", "unchanged"):
        return target["status"]
    got = target.get("stages") or {}
    cells = [_stage_cell(s, got[s]) for s in STAGES if s in got and got[s]["changed"]]
    if not cells:
        return "unchanged"
    # The machine code the GPU runs, said outright when the IR changed and it did not.
    cells += [f"{s} same" for s in MACHINE_STAGES if s in got and not got[s]["changed"]]
    return ", ".join(cells)


def _stage_cell(stage: str, s: dict) -> str:
    beyond = s.get("lines_beyond_names")
    if beyond is None or beyond * 2 > s["lines"]:
        return f"{stage} ±{s['lines']}"  # mostly real changes: the figure says enough
    if beyond == 0:
        return f"{stage} ±{s['lines']} (names only)"
    return f"{stage} ±{s['lines']} (±{beyond} beyond names)"


def _replay_cell(variant: dict) -> str:
    r = variant.get("replay")
    if not r:
        return "declared spec" if variant.get("declared") else "not replayed"
    if r["status"] == "same":
        return "same" if not r.get("tolerance") else f"same within {r['tolerance']}"
    return r["status"]


def _targets(doc: dict, variant: dict) -> list[tuple[str, dict]]:
    """A variant's targets in the order the run was asked for (the JSON file sorts its keys)."""
    return [(t, variant["targets"][t]) for t in doc["targets"] if t in variant["targets"]]


def to_rich(doc: dict) -> Table:
    table = Table(title=f"codegen: {doc.get('upstream')} (triton {doc['triton'].get(PATCHED)})")
    for col in ("kernel", "target", "stages changed", "figures (baseline → patched)", "outputs"):
        table.add_column(col)
    for k in doc["kernels"]:
        if k["status"] == "unchanged":
            n = len(k["variants"])
            table.add_row(
                k["name"],
                ", ".join(doc["targets"]),
                "unchanged" + (f" ({n} specializations)" if n > 1 else ""),
                "",
                ", ".join(sorted({_replay_cell(v) for v in k["variants"]})),
            )
            continue
        for label, count, rows in _variant_rows(doc, k):
            name = label + count
            for row in rows:
                table.add_row(name, *row)
                name = ""
    return table


def _variant_rows(doc: dict, kernel: dict) -> list[tuple[str, str, list[tuple[str, ...]]]]:
    """A kernel's rows per specialization, those that read the same shown once with a count."""
    groups: dict[tuple, int] = {}
    for v in kernel["variants"]:
        rows = tuple(
            (target, _stages_cell(t), "; ".join(figure_cells(t)) or "–", _replay_cell(v))
            for target, t in _targets(doc, v)
        )
        groups[rows] = groups.get(rows, 0) + 1
    out: list[tuple[str, str, list[tuple[str, ...]]]] = []
    for i, (rows, n) in enumerate(groups.items()):
        name = kernel["name"] + (f" #{i + 1}" if len(groups) > 1 else "")
        out.append((name, f" ({n} specializations)" if n > 1 else "", list(rows)))
    return out


def summary_line(doc: dict) -> str:
    s = doc["summary"]
    parts = [
        f"{s['kernels']} kernel(s) × {len(doc['targets'])} target(s): {s['changed']} changed, "
        f"{s['unchanged']} unchanged"
    ]
    if s.get("errors"):
        parts.append(f"{s['errors']} with compile errors")
    parts.append(
        f"outputs: {s['outputs_same']} launch(es) the same"
        + (f", {s['outputs_differ']} differ" if s.get("outputs_differ") else "")
    )
    if s.get("uncovered"):
        parts.append(f"{s['uncovered']} changed kernel(s) never launched")
    c = doc.get("compile") or {}
    compiled = sum((c.get(side) or {}).get("compiled") or 0 for side in SIDES)
    cached = sum((c.get(side) or {}).get("cached") or 0 for side in SIDES)
    parts.append(f"{compiled} compile(s), {cached} from the cache")
    return "; ".join(parts)


def to_markdown(doc: dict, folder: Path | None = None) -> str:
    """The PR section's body: the table, the findings, then the diffs in collapsed blocks."""
    lines = [summary_line(doc) + ".", ""]
    rows = []
    for k in doc["kernels"]:
        if k["status"] == "unchanged":
            continue
        for label, count, cells in _variant_rows(doc, k):
            for target, stages_cell, figures, replay in cells:
                if stages_cell != "unchanged":
                    rows.append(
                        f"| `{label}`{count} | {target} | {stages_cell} | {figures} | {replay} |"
                    )
    if rows:
        lines += [
            "| kernel | target | stages changed | figures (baseline → patched) | outputs |",
            "|---|---|---|---|---|",
            *rows,
            "",
        ]
    unchanged = [k["name"] for k in doc["kernels"] if k["status"] == "unchanged"]
    if unchanged:
        lines += ["Unchanged on every target: " + ", ".join(f"`{n}`" for n in unchanged) + ".", ""]
    for f in doc.get("findings") or []:
        lines.append(f"- **{f}**")
    if doc.get("findings"):
        lines.append("")
    if folder is not None:
        for block in diff_blocks(doc, folder):
            lines += [block, ""]
    return "\n".join(lines).rstrip() + "\n"


def diff_blocks(doc: dict, folder: Path) -> list[str]:
    """One collapsed ``<details>`` per changed kernel and target, its stage diffs inside."""
    blocks: list[str] = []
    used, left_out = 0, 0
    for k in doc["kernels"]:
        for v in k["variants"]:
            for target, t in _targets(doc, v):
                if t["status"] != "changed":
                    continue
                if used >= DIFF_BUDGET:
                    left_out += 1
                    continue
                parts = [f"<details><summary><code>{k['name']}</code> on {target}</summary>", ""]
                changed = t.get("stages") or {}
                for stage in sorted(
                    changed, key=lambda s: DIFF_STAGES.index(s) if s in DIFF_STAGES else 99
                ):
                    s = changed[stage]
                    if not s.get("changed"):
                        continue
                    try:
                        text = (folder / s["diff"]).read_text().splitlines()
                    except OSError:
                        continue
                    cut = len(text) > DIFF_LINES
                    shown = text[:DIFF_LINES] + (
                        [f"... {len(text) - DIFF_LINES} more lines in {s['diff']}"] if cut else []
                    )
                    parts += [f"{stage}:", "", "```diff", *shown, "```", ""]
                parts.append("</details>")
                blocks.append("\n".join(parts))
                used += len(blocks[-1])
    if left_out:
        blocks.append(f"{left_out} more changed kernel/target diff(s) are in the run folder.")
    return blocks
