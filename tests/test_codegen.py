"""``workbench codegen`` on a small upstream with real Triton kernels, compiled on the CPU.

The series changes one kernel's code (the compiled stages differ, its outputs do not), leaves
another alone, breaks a third so that only the compiler sees it (a branch the interpreter never
takes), changes a fourth one's results, and edits a kernel that no bench case launches. A second
run with nothing changed compiles nothing; a declared ``kernel_spec`` covers the unlaunched one.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import triton

from tests.conftest import editable_install, git, recipe_toml, write
from workbench.codegen import stages
from workbench.codegen.kernels import jit_functions

KERNELS = """\
import triton
import triton.language as tl


@triton.jit
def scale_kernel(x_ptr, out_ptr, n, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    x = tl.load(x_ptr + offs, mask=mask)
    tl.store(out_ptr + offs, x * 2.0, mask=mask)


@triton.jit
def add_kernel(x_ptr, y_ptr, out_ptr, n, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    tl.store(out_ptr + offs, tl.load(x_ptr + offs, mask=mask) + tl.load(y_ptr + offs, mask=mask), mask=mask)


@triton.jit
def fragile_kernel(x_ptr, out_ptr, n, BLOCK: tl.constexpr):
    pid = tl.program_id(0)
    offs = pid * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    x = tl.load(x_ptr + offs, mask=mask)
    tl.store(out_ptr + offs, x - 1.0, mask=mask)


@triton.jit
def shift_kernel(x_ptr, out_ptr, n, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    tl.store(out_ptr + offs, tl.load(x_ptr + offs, mask=mask) + 1.0, mask=mask)


@triton.jit
def gpu_only_kernel(x_ptr, n, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    tl.store(x_ptr + offs, tl.zeros((BLOCK,), tl.float32), mask=offs < n)
"""

OPS = """\
import torch
import triton

from kops.kernels import add_kernel, fragile_kernel, scale_kernel, shift_kernel


def _run(kernel, *tensors, block=256):
    out = torch.empty_like(tensors[0])
    n = out.numel()
    kernel[(triton.cdiv(n, block),)](*tensors, out, n, BLOCK=block)
    return out


def scale(x):
    return _run(scale_kernel, x)


def add(x, y):
    return _run(add_kernel, x, y)


def fragile(x):
    return _run(fragile_kernel, x)


def shift(x):
    return _run(shift_kernel, x)
"""

BENCH = """\
import os

from workbench.bench import bench

os.environ.setdefault("TRITON_INTERPRET", "1")


@bench(params={"op": ["scale", "add", "fragile", "shift"]})
def kernels(op):
    import torch
    from kops import ops

    x = torch.arange(1000, dtype=torch.float32)
    fn = getattr(ops, op)
    return (lambda: fn(x, x)) if op == "add" else (lambda: fn(x))
"""


def _recipe(url: str, torch_version: str, triton_version: str) -> str:
    return recipe_toml(
        "kops",
        url,
        build=editable_install([f"torch=={torch_version}", f"triton=={triton_version}"]),
        test_packages=["pytest"],
        codegen=["sm_90", "gfx942"],
    )


PYPROJECT = (
    '[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n\n'
    '[project]\nname = "kops"\nversion = "1.0"\n\n[tool.setuptools]\npackages = ["kops"]\n'
)


@pytest.fixture
def kops(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, wb) -> Path:
    up = tmp_path / "kops-upstream"
    files = {
        "pyproject.toml": PYPROJECT,
        "kops/__init__.py": "",
        "kops/kernels.py": KERNELS,
        "kops/ops.py": OPS,
        "test/test_ops.py": "def test_nothing():\n    pass\n",
    }
    for name, text in files.items():
        write(up / name, text)
    git(up, "init", "-q", "-b", "main")
    git(up, "add", "-A")
    git(up, "commit", "-q", "-m", "kops 1.0")
    git(up, "tag", "v1.0")
    root = tmp_path / "wb"
    recipe = _recipe(up.as_posix(), torch.__version__.split("+")[0], triton.__version__)
    write(root / "upstreams" / "kops" / "recipe.toml", recipe)
    write(root / "upstreams" / "kops" / "benches" / "bench_kernels.py", BENCH)
    write(root / "patches" / "kops" / "series", "")
    monkeypatch.setenv("WORKBENCH_ROOT", str(root))
    monkeypatch.setenv("WORKBENCH_CACHE", str(tmp_path / "cache"))
    monkeypatch.chdir(root)
    assert wb("upstream", "fetch", "kops").code == 0
    return root


def _patch(root: Path, wb) -> None:
    patched = root / "upstreams" / "kops" / "patched"
    text = KERNELS
    # Same results, other code: x * 2.0 becomes x + x.
    text = text.replace(
        "tl.store(out_ptr + offs, x * 2.0, mask=mask)", "tl.store(out_ptr + offs, x + x, mask=mask)"
    )
    # Only the compiler walks a branch the program never takes: a name that does not exist.
    text = text.replace(
        "    x = tl.load(x_ptr + offs, mask=mask)\n    tl.store(out_ptr + offs, x - 1.0",
        "    x = tl.load(x_ptr + offs, mask=mask)\n    if pid < 0:\n"
        "        x = no_such_helper(x)\n    tl.store(out_ptr + offs, x - 1.0",
    )
    text = text.replace("mask=mask) + 1.0, mask=mask)", "mask=mask) + 1.5, mask=mask)")
    text = text.replace("tl.zeros((BLOCK,), tl.float32)", "tl.full((BLOCK,), 1.0, tl.float32)")
    write(patched / "kops" / "kernels.py", text)
    git(patched, "commit", "-q", "-am", "Rework the kernels")
    assert wb("patches", "refresh", "kops").code == 0


@pytest.mark.slow
def test_codegen_finds_changes_errors_and_changed_outputs(kops: Path, wb):
    _patch(kops, wb)
    res = wb("codegen", "kops", "--json")
    assert res.code == 1, res.err
    doc = json.loads(res.out)
    assert doc["kind"] == "codegen" and doc["targets"] == ["sm_90", "gfx942"]
    by_name = {k["name"]: k for k in doc["kernels"]}
    assert set(by_name) == {"scale_kernel", "add_kernel", "fragile_kernel", "shift_kernel"}

    # Changed code, same answers: TTIR differs, the diff is in the run folder, figures are there.
    scale = by_name["scale_kernel"]
    assert scale["status"] == "changed"
    [variant] = scale["variants"]
    assert variant["replay"]["status"] == "same"
    sm90 = variant["targets"]["sm_90"]
    assert sm90["stages"]["ttir"]["changed"]
    folder = kops / ".workbench" / "runs" / "kops" / doc["run_id"]
    diff = (folder / sm90["stages"]["ttir"]["diff"]).read_text()
    assert "-" in diff and "arith.mulf" in diff and "arith.addf" in diff
    assert "loc(" not in diff and "#loc" not in diff
    for name in (
        "registers",
        "spill_store_bytes",
        "sass_instructions",
        "ptx_instructions",
        "num_warps",
        "warps_per_sm",
    ):
        before, after = sm90["figures"][name]
        assert isinstance(before, int) and isinstance(after, int), name
    amd = variant["targets"]["gfx942"]
    assert set(amd["stages"]) == {"ttir", "ttgir", "llir", "amdgcn"}
    assert amd["figures"]["vgprs"][0] > 0 and "amdgcn_instructions" in amd["figures"]

    # Untouched: unchanged on every stage of every target.
    add = by_name["add_kernel"]
    assert add["status"] == "unchanged"
    for target in add["variants"][0]["targets"].values():
        assert target["status"] == "unchanged"
        assert not any(s["changed"] for s in target["stages"].values())

    # Broken where only the compiler looks: an error on the patched side, with its message.
    fragile = by_name["fragile_kernel"]
    assert fragile["status"] == "error-patched"
    t = fragile["variants"][0]["targets"]["sm_90"]
    assert t["status"] == "error-patched" and "no_such_helper" in t["error"]["patched"]
    assert fragile["variants"][0]["replay"]["status"] == "same"  # the interpreter never got there

    # Other results on the same inputs: the differential check fails.
    shift = by_name["shift_kernel"]
    assert shift["status"] == "outputs-differ"
    assert shift["variants"][0]["replay"]["status"] == "differs"
    assert "out_ptr" in shift["variants"][0]["replay"]["detail"]

    # Changed, never launched: reported with what to add, never silently skipped.
    [unlaunched] = doc["uncovered"]
    assert (
        unlaunched["qualname"] == "gpu_only_kernel" and "kernel_spec(" in unlaunched["what_to_add"]
    )

    findings = " | ".join(doc["findings"])
    # One finding for the kernel, naming its targets and the compiler's own words (not the
    # "at 5:12:" that its message starts with).
    [broken] = [f for f in doc["findings"] if f.startswith("fragile_kernel")]
    assert broken.startswith(
        "fragile_kernel fails to compile on the patched side only (sm_90, gfx942)"
    )
    assert "NameError" in broken and "no_such_helper" in broken
    assert "shift_kernel: the patched kernel's outputs differ" in findings
    assert "gpu_only_kernel" in findings
    assert (folder / "codegen.md").is_file()

    # Where contributors look: the Runs tab's list and detail, and the PR draft's section.
    from workbench.paths import Workspace
    from workbench.runs import list_runs
    from workbench.tui.detail import run_markdown

    [run] = list_runs(Workspace.discover(), "kops", "codegen")
    assert run.verdict() == "problems" and run.run_id == doc["run_id"]
    assert "fragile_kernel" in run_markdown(run, True)
    draft = wb("pr", "draft", "kops")
    assert draft.code == 0, draft.err
    codegen = draft.out.split("## Codegen", 1)[1]
    assert "Generated by workbench" in codegen and "sm_90, gfx942" in codegen
    assert "`scale_kernel` | sm_90 | ttir" in codegen and "<details>" in codegen
    assert "shift_kernel: the patched kernel's outputs differ" in codegen

    # Nothing changed: the re-run compiles nothing (every kernel × target from the cache).
    again = json.loads(wb("codegen", "kops", "--json").out)
    assert again["compile"]["baseline"]["compiled"] == 0
    assert again["compile"]["patched"]["compiled"] == 0
    assert (
        again["compile"]["baseline"]["cached"]
        == doc["compile"]["baseline"]["compiled"] + doc["compile"]["baseline"]["cached"]
    )


@pytest.mark.slow
def test_a_declared_spec_compiles_a_kernel_without_a_cpu_launch(kops: Path, wb):
    bench = kops / "upstreams" / "kops" / "benches" / "bench_kernels.py"
    bench.write_text(
        BENCH.replace(
            "from workbench.bench import bench", "from workbench.bench import bench, kernel_spec"
        )
        + '\nSPECS = [kernel_spec("kops.kernels:gpu_only_kernel", '
        'args={"x_ptr": "*fp32", "n": 4096, "BLOCK": 512}, options={"num_warps": 8})]\n'
        # A spec that cannot compile on either side (arange wants a power of two).
         + 'BAD = kernel_spec("kops.kernels:add_kernel", args={"x_ptr": "*fp32", '
        '"y_ptr": "*fp32", "out_ptr": "*fp32", "n": 4096, "BLOCK": 1000})\n'
    )
    patched = kops / "upstreams" / "kops" / "patched"
    text = KERNELS.replace("tl.zeros((BLOCK,), tl.float32)", "tl.full((BLOCK,), 1.0, tl.float32)")
    write(patched / "kops" / "kernels.py", text)
    git(patched, "commit", "-q", "-am", "Fill with ones")
    assert wb("patches", "refresh", "kops").code == 0
    res = wb("codegen", "kops", "--target", "sm_90", "--json")
    assert res.code == 0, res.err
    doc = json.loads(res.out)
    assert doc["uncovered"] == [] and doc["findings"] == []
    # Failing on both sides is shown with the compiler's words, and is not the series' finding.
    add = next(k for k in doc["kernels"] if k["name"] == "add_kernel")
    assert add["status"] == "error-both"
    assert [v["targets"]["sm_90"]["status"] for v in add["variants"]] == ["unchanged", "error-both"]
    from workbench.codegen.report import to_markdown

    assert "fails on both sides: " in to_markdown(doc) and "power of 2" in to_markdown(doc)
    gpu_only = next(k for k in doc["kernels"] if k["name"] == "gpu_only_kernel")
    [variant] = gpu_only["variants"]
    assert variant["declared"] and gpu_only["status"] == "changed"
    t = variant["targets"]["sm_90"]
    assert t["figures"]["num_warps"] == [8, 8]
    assert (
        t["stages"]["ttgir"]["changed"]
        and '"ttg.num-warps" = 8'
        in (
            kops / ".workbench" / "runs" / "kops" / doc["run_id"] / t["stages"]["ttgir"]["diff"]
        ).read_text()
    )


def test_locations_are_stripped_from_every_stage():
    ttir = (
        '#loc = loc("/a/b.py":3:0)\n'
        "  %0 = tt.get_program_id x : i32 loc(#loc1)\n"
        '  %1 = arith.addi %0, %0 : i32 loc(callsite(#loc2 at "x.py":4:1))\n'
        "#loc1 = loc(unknown)\n"
    )
    assert stages.normalize("ttir", ttir) == (
        "  %0 = tt.get_program_id x : i32\n  %1 = arith.addi %0, %0 : i32\n"
    )
    ptx = '.file 1 "/w/base/k.py"\n\t.loc 1 7 0\n\tadd.s32 %r1, %r2, %r3;\n'
    assert stages.normalize("ptx", ptx) == "\tadd.s32 %r1, %r2, %r3;\n"
    assert stages.instructions("ptx", stages.normalize("ptx", ptx)) == 1
    llir = "define void @k(ptr %0) !dbg !5 {\n  ret void, !dbg !9\n}\n!5 = !{}\n"
    assert stages.normalize("llir", llir) == "define void @k(ptr %0) {\n  ret void\n}\n"
    log = "ptxas info: Used 40 registers\n    8 bytes stack frame, 4 bytes spill stores, 4 bytes spill loads\n"
    assert stages.ptxas_figures(log) == {
        "registers": 40,
        "stack_bytes": 8,
        "spill_store_bytes": 4,
        "spill_load_bytes": 4,
    }


def test_masking_names_keeps_what_the_code_does():
    before = "\tmov.u32 \t%r25, %ctaid.x;\n\tshl.b32 \t%r26, %r25, 10;\n"
    after = "\tmov.u32 \t%r26, %ctaid.x;\n\tshl.b32 \t%r27, %r26, 10;\n"
    assert stages.mask_names("ptx", before) == stages.mask_names("ptx", after)
    other_op = "\tmov.u32 \t%r26, %ctaid.x;\n\tshl.b32 \t%r27, %r26, 11;\n"
    assert stages.mask_names("ptx", before) != stages.mask_names("ptx", other_op)
    assert stages.mask_names("ttgir", "%9 = tt.load %8, %6 : t\n") == (
        stages.mask_names("ttgir", "%10 = tt.load %9, %7 : t\n")
    )
    assert stages.mask_names("sass", "IMAD R4, R2, UR6, P0;\n") == "IMAD R_, R_, UR_, P_;\n"
    assert stages.mask_names("amdgcn", "v_max_f64 v[2:3], v[2:3], s[0:1]\n") == (
        "v_max_f64 v_, v_, s_\n"
    )


def test_a_compile_error_is_told_by_the_line_that_says_what_is_wrong():
    from workbench.codegen.run import compiler_message

    error = (
        "CompilationError: at 16:15:\n    vals = tl.load(p)\n    if block_id < 0:\n"
        "        vals = no_such_helper(vals)\n               ^\n"
        "NameError('no_such_helper is not defined')"
    )
    assert compiler_message(error) == (
        "NameError('no_such_helper is not defined') (at 16:15 of the kernel)"
    )
    assert compiler_message("RuntimeError: PassManager::run failed\nmore") == (
        "RuntimeError: PassManager::run failed"
    )
    assert compiler_message(None) == "no message"


def test_occupancy_is_worked_out_as_the_cuda_calculator_does():
    # Registers go to a warp in units of 256: 125 per thread is 4096 a warp, 16 warps an SM.
    assert stages.warps_per_sm(90, registers=125, shared_bytes=32768, num_warps=8) == 16
    assert stages.warps_per_sm(80, registers=32, shared_bytes=0, num_warps=4) == 64
    assert stages.warps_per_sm(80, registers=255, shared_bytes=0, num_warps=4) == 8
    # Shared memory bound: one 100 KiB block (plus the 1 KiB the system keeps) fits an A100 SM.
    assert stages.warps_per_sm(80, registers=32, shared_bytes=102_400, num_warps=4) == 4
    assert stages.warps_per_sm(90, registers=32, shared_bytes=102_400, num_warps=4) == 8
    assert stages.warps_per_sm(75, registers=32, shared_bytes=0, num_warps=4) is None


def test_jit_functions_are_found_with_their_decorators_and_helpers():
    src = (
        "import triton\n\n@triton.jit\ndef helper(x):\n    return x + 1\n\n"
        "@triton.autotune(configs=[], key=[])\n@triton.jit\ndef k(p):\n    helper(p)\n\n"
        "def plain():\n    @triton.jit\n    def inner(p):\n        pass\n"
    )
    found = jit_functions(src)
    assert set(found) == {"helper", "k", "plain.<locals>.inner"}
    assert found["k"].text.startswith("@triton.autotune") and "helper" in found["k"].calls
    assert found["helper"].returns_value and not found["k"].returns_value


# --- triton itself: a patch to the compiler's Python layer, laid over the released wheel --------

SEMANTIC_OLD = """        if mask is None and other is not None:
            raise ValueError("`other` cannot be provided without `mask`")
"""
SEMANTIC_NEW = (
    SEMANTIC_OLD
    + """        # Masked-off lanes of a floating-point load read as zero, not as undefined.
        if mask is not None and other is None and ptr.type.scalar.element_ty.is_floating():
            other = self.scalar_constant(0.0, ptr.type.scalar.element_ty)
"""
)


@pytest.fixture
def triton_shaped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, wb) -> Path:
    """The project's own triton recipe and bench over a triton-shaped upstream: the released
    wheel's ``triton/**.py`` under ``python/triton/``, tagged as the wheel's release."""
    from tests.conftest import REPO_ROOT

    up = tmp_path / "triton-upstream"
    installed = Path(triton.__file__).parent
    for f in installed.rglob("*.py"):
        if "__pycache__" not in f.parts:
            dst = up / "python" / "triton" / f.relative_to(installed)
            dst.parent.mkdir(parents=True, exist_ok=True)
            dst.write_bytes(f.read_bytes())
    git(up, "init", "-q", "-b", "main")
    git(up, "add", "-A")
    git(up, "commit", "-q", "-m", f"triton {triton.__version__}")
    git(up, "tag", f"v{triton.__version__}")
    root = tmp_path / "wb"
    for rel in ("upstreams/triton/recipe.toml", "upstreams/triton/benches/bench_vector_add.py"):
        write(root / rel, (REPO_ROOT / rel).read_text())
    write(root / "patches" / "triton" / "series", "")
    monkeypatch.setenv("WORKBENCH_ROOT", str(root))
    monkeypatch.setenv("WORKBENCH_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("WORKBENCH_TRITON_URL", up.as_posix())
    monkeypatch.setenv("WORKBENCH_TRITON_PIN", f"v{triton.__version__}")
    monkeypatch.chdir(root)
    assert wb("upstream", "fetch", "triton").code == 0
    return root


@pytest.mark.slow
def test_a_patch_to_tritons_frontend_changes_how_the_bench_kernels_compile(triton_shaped, wb):
    patched = triton_shaped / "upstreams" / "triton" / "patched"
    semantic = patched / "python" / "triton" / "language" / "semantic.py"
    text = semantic.read_text()
    assert text.count(SEMANTIC_OLD) == 1
    semantic.write_text(text.replace(SEMANTIC_OLD, SEMANTIC_NEW))
    git(patched, "commit", "-q", "-am", "[FRONTEND] masked-off lanes of a float load read as zero")
    assert wb("patches", "refresh", "triton").code == 0

    res = wb("codegen", "triton", "--target", "sm_90", "--target", "gfx942", "--json")
    assert res.code == 0, res.err
    doc = json.loads(res.out)
    # The kernel's source is the same on both sides: only the overlaid compiler differs, so
    # neither side may take the other's compiles from the cache.
    assert doc["compile"]["patched"]["cached"] == 0 and doc["compile"]["patched"]["compiled"] == 2
    [add] = doc["kernels"]
    assert add["name"] == "add_kernel" and add["status"] == "changed"
    [variant] = add["variants"]
    assert variant["replay"]["status"] == "same"
    sm90 = variant["targets"]["sm_90"]
    folder = triton_shaped / ".workbench" / "runs" / "triton" / doc["run_id"]
    ttir = (folder / sm90["stages"]["ttir"]["diff"]).read_text()
    assert "+    %cst = arith.constant dense<0.000000e+00>" in ttir
    assert "tt.load %8, %6, %cst" in ttir
    # PTX is renumbered from the new register on: most changed lines are names only.
    ptx = sm90["stages"]["ptx"]
    assert 0 < ptx["lines_beyond_names"] < ptx["lines"]
    # What the GPU runs is said either way; the table says it outright.
    assert sm90["stages"]["sass"]["changed"] is False
    from workbench.codegen.report import to_markdown

    assert "sass same" in to_markdown(doc)
