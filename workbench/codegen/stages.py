"""The compiler's stages as text to diff, and the static figures read from them (stdlib only).

Source locations are stripped (``loc(...)``, ``#loc`` lines, ``.loc``/``.file`` directives, debug
sections and metadata), so that a patch that moves a kernel down a file, or a second worktree at
another path, does not show up as a code change. What remains is what the GPU would run.
"""

from __future__ import annotations

import re

STAGES = ("ttir", "ttgir", "llir", "ptx", "amdgcn", "sass")
"""In compilation order; a target has the ones of its backend (NVIDIA: ptx, sass; AMD: amdgcn)."""

_LOC_LINE = re.compile(r"^\s*#loc\d*\s*=")
_DEBUG_SECTION = re.compile(r"^\s*\.section\s+\.?debug|^\s*\.section\s+\"?\.debug")


def _strip_loc_calls(line: str) -> str:
    """Remove every ``loc(...)`` with balanced parentheses (``loc(callsite(#a at #b))``)."""
    out = []
    i = 0
    while True:
        j = line.find("loc(", i)
        if j < 0 or (j > 0 and (line[j - 1].isalnum() or line[j - 1] == "_")):
            if j < 0:
                out.append(line[i:])
                break
            out.append(line[i : j + 4])
            i = j + 4
            continue
        out.append(line[i:j].rstrip(" "))
        depth, k = 0, j + 3
        while k < len(line):
            if line[k] == "(":
                depth += 1
            elif line[k] == ")":
                depth -= 1
                if depth == 0:
                    break
            elif line[k] == '"':
                k = line.find('"', k + 1)
                if k < 0:
                    k = len(line)
            k += 1
        i = k + 1
    return "".join(out).rstrip()


def normalize(stage: str, text: str, paths: tuple[str, ...] = ()) -> str:
    """``text`` of ``stage`` without source locations; ``paths`` (worktrees, environments) are
    replaced by placeholders wherever they remain."""
    lines: list[str] = []
    in_debug = False
    for line in text.splitlines():
        if stage in ("ttir", "ttgir"):
            if _LOC_LINE.match(line):
                continue
            line = _strip_loc_calls(line)
        elif stage == "llir":
            if line.startswith("!") or line.startswith("source_filename") or "; ModuleID" in line:
                continue
            line = re.sub(r",?\s*!dbg !\d+", "", line)
            if line.lstrip().startswith("#dbg_"):
                continue
        elif stage in ("ptx", "amdgcn"):
            stripped = line.strip()
            if _DEBUG_SECTION.match(line):
                in_debug = True
                continue
            if in_debug:
                if stripped.startswith((".section", ".text")) and "debug" not in stripped:
                    in_debug = False
                else:
                    continue
            if stripped.startswith((".loc", ".file", ".ident", ".Ltmp")):
                continue  # line info, file names, the compiler's banner, debug labels
            if stripped.startswith("; %bb") or stripped.startswith("// %bb"):
                continue
        for p in paths:
            if p:
                line = line.replace(p, "<path>")
        lines.append(line.rstrip())
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines) + "\n"


_NAMES: dict[str, list[tuple[re.Pattern[str], str]]] = {
    "ttir": [(re.compile(r"%[\w.]+"), "%_")],
    "ttgir": [(re.compile(r"%[\w.]+"), "%_")],
    "llir": [(re.compile(r"%[\w.]+"), "%_"), (re.compile(r"^(\d+):"), "_:")],
    "ptx": [(re.compile(r"%([a-z]+)\d+\b"), r"%\1_"), (re.compile(r"\$L__\w+"), "$L_")],
    "sass": [(re.compile(r"\b(U?R|U?P)\d+\b"), r"\1_"), (re.compile(r"\.L_x_\d+"), ".L_x_")],
    "amdgcn": [
        (re.compile(r"\b([vsa])(?:\d+|\[\d+:\d+\])"), r"\1_"),
        (re.compile(r"\.LBB\d+_\d+"), ".LBB_"),
    ],
}


def mask_names(stage: str, text: str) -> str:
    """``text`` with value and register names masked (``%12``, ``%r7``, ``R4``, ``v[2:3]``).

    A compiler numbers values and registers in order, so one inserted instruction renames every
    later one and a diff shows them all; the lines that differ once names are masked are the
    ones that changed what the code does (or where it keeps it).
    """
    rules = _NAMES.get(stage, [])
    out = []
    for line in text.splitlines():
        for pattern, repl in rules:
            line = pattern.sub(repl, line)
        out.append(line)
    return "\n".join(out) + "\n"


_SASS_INSTR = re.compile(
    r"^\s*(?:[\w-]+:[\w-]+:[\w-]+:[\w-]+:\d+\s+)?(?:/\*[0-9a-f]+\*/\s*)?@?!?[A-Z][A-Z0-9_.]+"
)
_AMD_INSTR = re.compile(r"^\s+[sv]_[a-z0-9_]+|^\s+(?:buffer|global|flat|ds|scratch)_[a-z0-9_]+")


def instructions(stage: str, text: str) -> int | None:
    """Instructions in a machine-level stage (PTX, SASS, AMDGCN); None for the IR stages."""
    if stage == "sass":
        return sum(
            1
            for line in text.splitlines()
            if _SASS_INSTR.match(line) and not line.lstrip().startswith("Function")
        )
    if stage == "ptx":
        return sum(
            1
            for line in text.splitlines()
            if (t := line.strip()).endswith(";") and not t.startswith((".", "//"))
        )
    if stage == "amdgcn":
        return sum(1 for line in text.splitlines() if _AMD_INSTR.match(line))
    return None


def ptxas_figures(log: str) -> dict[str, int]:
    """ptxas' own ``-v`` report: registers, spill stores/loads and stack frame, in bytes."""
    out: dict[str, int] = {}
    if m := re.search(r"Used (\d+) registers", log):
        out["registers"] = int(m.group(1))
    if m := re.search(
        r"(\d+) bytes stack frame, (\d+) bytes spill stores, (\d+) bytes spill loads", log
    ):
        out["stack_bytes"] = int(m.group(1))
        out["spill_store_bytes"] = int(m.group(2))
        out["spill_load_bytes"] = int(m.group(3))
    if m := re.search(r"(\d+) bytes smem", log):
        out["ptxas_smem_bytes"] = int(m.group(1))
    return out


def amdgcn_figures(text: str) -> dict[str, int]:
    """The AMDGPU backend's kernel info comments: registers, spills, scratch, occupancy."""
    out: dict[str, int] = {}
    for key, pattern in (
        ("vgprs", r"; NumVgprs: (\d+)"),
        ("agprs", r"; NumAgprs: (\d+)"),
        ("sgprs", r"; TotalNumSgprs: (\d+)"),
        ("scratch_bytes", r"; ScratchSize: (\d+)"),
        ("occupancy", r"; Occupancy: (\d+)"),
        ("lds_bytes", r"; LDSByteSize: (\d+)"),
        ("vgpr_spills", r"\.vgpr_spill_count:\s+(\d+)"),
        ("sgpr_spills", r"\.sgpr_spill_count:\s+(\d+)"),
    ):
        if m := re.search(pattern, text):
            out[key] = int(m.group(1))
    return out


# Per-SM limits of the NVIDIA architectures (CUDA C Programming Guide, "Compute Capabilities"):
# max resident warps, max resident blocks, shared memory per SM in bytes.
_SM_LIMITS = {
    80: (64, 32, 167_936),
    86: (48, 16, 102_400),
    87: (48, 16, 167_936),
    89: (48, 24, 102_400),
    90: (64, 32, 233_472),
    100: (64, 32, 233_472),
    103: (64, 32, 233_472),
    120: (48, 32, 102_400),
}
_REGISTERS_PER_SM = 65_536
_REGISTER_UNIT = 256  # registers are given to a warp in units of 256
_RESERVED_SMEM = 1_024  # shared memory the system keeps per block (compute capability 8.0 on)


def warps_per_sm(arch: int, registers: int, shared_bytes: int, num_warps: int) -> int | None:
    """Theoretical occupancy of an NVIDIA kernel: resident warps per SM, as the CUDA occupancy
    calculator works it out from registers per thread, shared memory per block and warps per
    block. None for an architecture whose limits are not known here."""
    if arch not in _SM_LIMITS or num_warps <= 0:
        return None
    max_warps, max_blocks, smem = _SM_LIMITS[arch]
    per_warp = -(-max(registers, 1) * 32 // _REGISTER_UNIT) * _REGISTER_UNIT
    by_registers = (_REGISTERS_PER_SM // per_warp) // num_warps
    by_smem = smem // (shared_bytes + _RESERVED_SMEM)
    blocks = min(max_warps // num_warps, max_blocks, by_registers, by_smem)
    return blocks * num_warps


FIGURES = (
    "registers",
    "spill_store_bytes",
    "spill_load_bytes",
    "stack_bytes",
    "vgprs",
    "agprs",
    "sgprs",
    "vgpr_spills",
    "sgpr_spills",
    "scratch_bytes",
    "occupancy",
    "warps_per_sm",
    "shared_bytes",
    "num_warps",
    "num_stages",
    "ptx_instructions",
    "sass_instructions",
    "amdgcn_instructions",
)
"""The static figures, in the order a table shows them; a target has those its backend gives."""
