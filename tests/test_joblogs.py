"""`workbench prs log`: failing CI jobs' logs fetched once (token never sent to blob storage, never
stored), boiled down to the error a contributor needs, read offline afterwards.

The sample logs are shaped like pytorch/ao's CI: pytest run by ``python -m pytest test/...``
inside pytorch/test-infra's linux_job, a torch.compile/inductor failure in a benchmark script, a
CUDA extension build that fails under ninja, a job cancelled at its time limit.
"""

from __future__ import annotations

import gzip
import io
import json
import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests import github_server
from tests.github_joblogs import FakeJobLogs
from tests.github_server import TOKEN, VIEWER, Fault, GitHubEnv
from workbench.github.joblogs import _Scrubber, read_log
from workbench.github.log_errors import MAX_LINES, clean_lines, extract_error
from workbench.github.model import CiCheck, PrStatus
from workbench.github.pr_ref import parse_pr_ref

fake_github = github_server.fake_github  # the fixtures, shared with the other GitHub tests
gh_env = github_server.gh_env

AO = "pytorch/ao"
START = datetime(2026, 12, 1, 10, 0, 0, tzinfo=UTC)


def stamped(text: str, *, start: datetime = START) -> str:
    """A log as the Actions runner writes it: each line behind a 7-digit-fraction timestamp,
    a byte-order mark at the very start."""
    out = []
    for i, line in enumerate(text.splitlines()):
        moment = start + timedelta(milliseconds=137 * i)
        out.append(f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond:06d}1Z {line}")
    return "\ufeff" + "\n".join(out) + "\n"


RED, BOLD, RESET = "\x1b[31m", "\x1b[1m", "\x1b[0m"
BLANK_SOURCE, BLANK_E = " " * 4, "E" + " " * 7
"""pytest's blank lines inside a failure keep their indentation: trailing spaces."""

# --- sample logs ---------------------------------------------------------------------------------

LINUX_JOB_PREAMBLE = f"""\
Current runner version: '2.321.0'
Runner name: 'i-0c3d2e1f4a5b6c7d8'
Runner group name: 'Default'
Machine name: 'ip-10-0-12-34'
##[group]GITHUB_TOKEN Permissions
Contents: read
Metadata: read
##[endgroup]
Secret source: Actions
Prepare workflow directory
Prepare all required actions
Getting action download info
Download action repository 'pytorch/test-infra@main' (SHA:6f2a5e1c0e7b)
Uses: pytorch/test-infra/.github/workflows/linux_job_v2.yml@refs/heads/main (6f2a5e1c0e7b)
##[group] Inputs
  runner: linux.g5.12xlarge.nvidia.gpu
  gpu-arch-type: cuda
  gpu-arch-version: 12.6
  docker-image: pytorch/manylinux2_28-builder:cuda12.6
  timeout: 120
##[endgroup]
Complete job name: test-nightly (CUDA Nightly, linux.g5.12xlarge.nvidia.gpu, --pre torch --index-url https://download.pytorch.org/whl/nightly/cu126, cuda, 12.6) / linux-job
##[group]Run pytorch/test-infra/.github/actions/setup-linux@main
with:
  hf-token: {TOKEN}
##[endgroup]
##[group]Run set -euxo pipefail
{BOLD}+ conda create -n venv python=3.10 -y{RESET}
Collecting package metadata (current_repodata.json): ...working... done
Solving environment: ...working... done
+ python -m pip install --pre torch --index-url https://download.pytorch.org/whl/nightly/cu126
Successfully installed torch-2.10.0.dev20261130+cu126 triton-3.5.0+git8a3f1e2
+ python -m pip install -r dev-requirements.txt
+ USE_CPP=1 python -m pip install . --no-build-isolation
Successfully built torchao
Successfully installed torchao-0.15.0+git4f1c2d3
+ export CONDA=/opt/conda
"""

PYTEST_LOG = (
    LINUX_JOB_PREAMBLE
    + f"""\
+ python -m pytest test/quantization/test_quant_api.py test/dtypes --verbose -s
{BOLD}============================= test session starts =============================={RESET}
platform linux -- Python 3.10.16, pytest-8.3.4, pluggy-1.5.0 -- /opt/conda/envs/venv/bin/python
cachedir: .pytest_cache
hypothesis profile 'default'
rootdir: /pytorch/ao
configfile: pytest.ini
plugins: hypothesis-6.122.3, xdist-3.6.1
collecting ... collected 212 items

test/quantization/test_quant_api.py::TestQuantFlow::test_dynamic_quant_gpu_singleline {RED}PASSED{RESET} [  0%]
test/quantization/test_quant_api.py::TestQuantFlow::test_int8_wo_quant_save_load {RED}FAILED{RESET} [  1%]
test/quantization/test_quant_api.py::TestQuantFlow::test_quantized_tensor_subclass_int4 {RED}FAILED{RESET} [  1%]
test/dtypes/test_affine_quantized.py::TestAffineQuantized::test_tensor_core_layout_transpose PASSED [  2%]

{RED}=================================== FAILURES ==================================={RESET}
{RED}{BOLD}__________________ TestQuantFlow.test_int8_wo_quant_save_load ___________________{RESET}

self = <test.quantization.test_quant_api.TestQuantFlow testMethod=test_int8_wo_quant_save_load>

    @unittest.skipIf(not torch.cuda.is_available(), "Need CUDA available")
    def test_int8_wo_quant_save_load(self):
        m = ToyLinearModel().eval().cpu()
        quantize_(m, int8_weight_only())
        example_inputs = m.example_inputs()
        ref = m(*example_inputs)
        with tempfile.NamedTemporaryFile() as f:
            torch.save(m.state_dict(), f)
            f.seek(0)
            state_dict = torch.load(f)
        m2 = ToyLinearModel().eval().cpu()
        m2.load_state_dict(state_dict, assign=True)
        res = m2(*example_inputs)
{BLANK_SOURCE}
>       torch.testing.assert_close(res, ref, atol=1e-2, rtol=1e-2)
E       AssertionError: Tensor-likes are not close!
{BLANK_E}
E       Mismatched elements: 37 / 128 (28.9%)
E       Greatest absolute difference: 0.0625 at index (0, 17) (up to 0.01 allowed)
E       Greatest relative difference: 0.1904296875 at index (1, 3) (up to 0.01 allowed)

test/quantization/test_quant_api.py:412: AssertionError
{RED}{BOLD}_______________ TestQuantFlow.test_quantized_tensor_subclass_int4 _______________{RESET}

self = <test.quantization.test_quant_api.TestQuantFlow testMethod=test_quantized_tensor_subclass_int4>

    def test_quantized_tensor_subclass_int4(self):
>       m = ToyLinearModel().eval().to(torch.bfloat16).to("cuda")
E       RuntimeError: CUDA error: an illegal memory access was encountered
E       Compile with `TORCH_USE_CUDA_DSA` to enable device-side assertions.

test/quantization/test_quant_api.py:455: RuntimeError
{RED}=============================== warnings summary ==============================={RESET}
test/quantization/test_quant_api.py::TestQuantFlow::test_int8_wo_quant_save_load
  /opt/conda/envs/venv/lib/python3.10/site-packages/torch/_dynamo/eval_frame.py:838: UserWarning: torch.utils.checkpoint: the use_reentrant parameter should be passed explicitly.

-- Docs: https://docs.pytest.org/en/stable/how-to/capture-warnings.html
{BOLD}=========================== short test summary info ============================{RESET}
{RED}FAILED{RESET} test/quantization/test_quant_api.py::TestQuantFlow::test_int8_wo_quant_save_load - AssertionError: Tensor-likes are not close!
{RED}FAILED{RESET} test/quantization/test_quant_api.py::TestQuantFlow::test_quantized_tensor_subclass_int4 - RuntimeError: CUDA error: an illegal memory access was encountered
{RED}=========== 2 failed, 206 passed, 4 skipped, 14 warnings in 312.45s (0:05:12) ==========={RESET}
##[error]Process completed with exit code 1.
##[group]Run pytorch/test-infra/.github/actions/teardown-linux@main
##[endgroup]
Cleaning up orphan processes
"""
)

FRAMES = "".join(
    f'  File "/opt/conda/envs/venv/lib/python3.10/site-packages/torch/_inductor/{mod}.py", '
    f"line {100 + i}, in {fn}\n    {code}\n"
    for i, (mod, fn, code) in enumerate(
        [
            ("compile_fx", "compile_fx_inner", "return wrap_compiler_debug(_compile_fx_inner)(gm)"),
            ("compile_fx", "_compile_fx_inner", "mb_compiled_graph = fx_codegen_and_compile("),
            ("compile_fx", "fx_codegen_and_compile", "return scheme.codegen_and_compile(gm)"),
            ("graph", "run", "return super().run(*args)"),
            ("graph", "call_function", "out = lowerings[target](*args, **kwargs)"),
            ("lowering", "wrapped", "out = decomp_fn(*args, **kwargs)"),
            ("lowering", "_scaled_mm", "return tuned_scaled_mm(mat_a, mat_b, scale_a, scale_b)"),
            ("kernel/mm_scaled", "tuned_scaled_mm", "return autotune_select_algorithm("),
            ("select_algorithm", "autotune_select_algorithm", "return _ALGORITHM_SELECTOR_CACHE("),
            ("select_algorithm", "__call__", "timings = do_autotuning(precompile_fn)"),
        ]
        * 3
    )
)

INDUCTOR_LOG = (
    LINUX_JOB_PREAMBLE
    + """\
+ python benchmarks/float8/bench_matmul.py --shape_gen_name square --recipe rowwise
W1201 10:04:12.345000 1234 torch/_inductor/utils.py:1250] [0/0] Not enough SMs to use max_autotune_gemm mode
Traceback (most recent call last):
  File "/opt/conda/envs/venv/lib/python3.10/site-packages/torch/_inductor/select_algorithm.py", line 2127, in __call__
    timings = do_autotuning(precompile_fn)
AssertionError: scaled_mm: expected scale_a of shape (4096, 1), got (1, 4096)

The above exception was the direct cause of the following exception:

Traceback (most recent call last):
  File "/pytorch/ao/benchmarks/float8/bench_matmul.py", line 160, in <module>
    fire.Fire(run)
  File "/pytorch/ao/benchmarks/float8/bench_matmul.py", line 121, in run
    fp8_time_sec = do_benchmarks(tops, peak_tops, use_gpu_kernel_time, fn, A, B)
"""
    + FRAMES
    + """\
torch._inductor.exc.InductorError: LoweringException: AssertionError: scaled_mm: expected scale_a of shape (4096, 1), got (1, 4096)
  target: aten._scaled_mm.default
  args[0]: TensorBox(StorageBox(InputBuffer(name='arg0_1', layout=FixedLayout('cuda:0', torch.float8_e4m3fn, size=[4096, 4096]))))

Set TORCHDYNAMO_VERBOSE=1 for the internal stack trace (please do this especially if you're reporting a bug to PyTorch). For even more developer context, set TORCH_LOGS="+dynamo"

##[error]Process completed with exit code 1.
"""
)

BUILD_LOG = (
    LINUX_JOB_PREAMBLE.split("+ USE_CPP=1")[0]
    + """\
+ USE_CPP=1 python -m pip install . --no-build-isolation -v
Processing /pytorch/ao
  Running command python setup.py develop
  [1/24] /usr/local/cuda/bin/nvcc --generate-dependencies-with-compile --dependency-output /pytorch/ao/build/temp.linux-x86_64-cpython-310/torchao/csrc/cuda/fp6_llm/fp6_linear.o.d -I/pytorch/ao/torchao/csrc -c /pytorch/ao/torchao/csrc/cuda/fp6_llm/fp6_linear.cu -o /pytorch/ao/build/temp.linux-x86_64-cpython-310/torchao/csrc/cuda/fp6_llm/fp6_linear.o -O3 -gencode=arch=compute_80,code=sm_80 -std=c++17
FAILED: /pytorch/ao/build/temp.linux-x86_64-cpython-310/torchao/csrc/cuda/sparse_marlin/marlin_kernel_nm.o
/usr/local/cuda/bin/nvcc --generate-dependencies-with-compile --dependency-output /pytorch/ao/build/temp.linux-x86_64-cpython-310/torchao/csrc/cuda/sparse_marlin/marlin_kernel_nm.o.d """
    + "-DTORCH_EXTENSION_NAME=_C " * 40
    + """-c /pytorch/ao/torchao/csrc/cuda/sparse_marlin/marlin_kernel_nm.cu
/pytorch/ao/torchao/csrc/cuda/sparse_marlin/mma.h(72): error: identifier "__hmax2" is undefined
        return __hmax2(a, b);
               ^

/pytorch/ao/torchao/csrc/cuda/sparse_marlin/marlin_kernel_nm.cu(215): error: no instance of overloaded function "mma_sp" matches the argument list
            argument types are: (const FragA, FragB, FragC, int)
            mma_sp(frag_a[k % 2][0], frag_b, frag_c[i][j][0], 0);
            ^

2 errors detected in the compilation of "/pytorch/ao/torchao/csrc/cuda/sparse_marlin/marlin_kernel_nm.cu".
[3/24] c++ -MMD -MF /pytorch/ao/build/temp.linux-x86_64-cpython-310/torchao/csrc/cpu/int8_sdpa.o.d -c /pytorch/ao/torchao/csrc/cpu/int8_sdpa.cpp
FAILED: /pytorch/ao/build/temp.linux-x86_64-cpython-310/torchao/csrc/cpu/int8_sdpa.o
c++ -MMD -MF /pytorch/ao/build/temp.linux-x86_64-cpython-310/torchao/csrc/cpu/int8_sdpa.o.d -c /pytorch/ao/torchao/csrc/cpu/int8_sdpa.cpp -o /pytorch/ao/build/temp.linux-x86_64-cpython-310/torchao/csrc/cpu/int8_sdpa.o
/pytorch/ao/torchao/csrc/cpu/int8_sdpa.cpp: In function 'void torchao::int8_sdpa_fused_kernel_impl()':
/pytorch/ao/torchao/csrc/cpu/int8_sdpa.cpp:1234:18: error: 'class at::vec::CPU_CAPABILITY::Vectorized<float>' has no member named 'exp_u20'
 1234 |     auto y = x.exp_u20();
      |                ^~~~~~~
ninja: build stopped: subcommand failed.
Traceback (most recent call last):
  File "/opt/conda/envs/venv/lib/python3.10/site-packages/torch/utils/cpp_extension.py", line 2506, in _run_ninja_build
    subprocess.run(
  File "/opt/conda/envs/venv/lib/python3.10/subprocess.py", line 526, in run
    raise CalledProcessError(retcode, process.args,
subprocess.CalledProcessError: Command '['ninja', '-v', '-j', '48']' returned non-zero exit status 1.

The above exception was the direct cause of the following exception:

Traceback (most recent call last):
  File "/pytorch/ao/setup.py", line 702, in <module>
    setup(
RuntimeError: Error compiling objects for extension
  error: subprocess-exited-with-error
error: subprocess-exited-with-error

× python setup.py develop did not run successfully.
│ exit code: 1
╰─> See above for output.
##[error]Process completed with exit code 1.
"""
)

TIMEOUT_LOG = (
    LINUX_JOB_PREAMBLE
    + """\
+ python -m pytest test/prototype/test_smoothquant.py test/integration/test_integration.py
============================= test session starts ==============================
platform linux -- Python 3.10.16, pytest-8.3.4, pluggy-1.5.0
rootdir: /pytorch/ao
collected 1620 items

test/prototype/test_smoothquant.py ........................................ [  2%]
test/integration/test_integration.py ......ss....................ss....... [  4%]
test/integration/test_integration.py ...................
##[error]The job running on runner i-0c3d2e1f4a5b6c7d8 has exceeded the maximum execution time of 120 minutes.
##[error]The operation was canceled.
##[group]Run pytorch/test-infra/.github/actions/teardown-linux@main
##[endgroup]
Cleaning up orphan processes
##[error]The operation was canceled.
"""
)


# --- extraction ----------------------------------------------------------------------------------


def test_cleaning_strips_timestamps_colours_and_group_markers() -> None:
    lines = clean_lines(stamped(PYTEST_LOG))
    assert lines[0] == "Current runner version: '2.321.0'"
    assert "GITHUB_TOKEN Permissions" in lines
    assert "##[endgroup]" not in "\n".join(lines)
    assert not any("\x1b" in ln or ln.startswith("2026-12-01T") for ln in lines)
    # Indentation after the timestamp is the log's own (pytest's source lines, tracebacks).
    assert ">       torch.testing.assert_close(res, ref, atol=1e-2, rtol=1e-2)" in lines


def test_pytest_failures_give_the_summary_and_the_first_assertion() -> None:
    block = extract_error(stamped(PYTEST_LOG))
    assert block.kind == "pytest"
    assert block.first_line == (
        "FAILED test/quantization/test_quant_api.py::TestQuantFlow::test_int8_wo_quant_save_load"
        " - AssertionError: Tensor-likes are not close!"
    )
    assert list(block.lines) == [
        block.first_line,
        "FAILED test/quantization/test_quant_api.py::TestQuantFlow::"
        "test_quantized_tensor_subclass_int4 - RuntimeError: CUDA error: an illegal memory "
        "access was encountered",
        "=========== 2 failed, 206 passed, 4 skipped, 14 warnings in 312.45s (0:05:12) ===========",
        "",
        "__________________ TestQuantFlow.test_int8_wo_quant_save_load ___________________",
        "    def test_int8_wo_quant_save_load(self):",
        "    ...",
        ">       torch.testing.assert_close(res, ref, atol=1e-2, rtol=1e-2)",
        "E       AssertionError: Tensor-likes are not close!",
        "E",
        "E       Mismatched elements: 37 / 128 (28.9%)",
        "E       Greatest absolute difference: 0.0625 at index (0, 17) (up to 0.01 allowed)",
        "E       Greatest relative difference: 0.1904296875 at index (1, 3) (up to 0.01 allowed)",
        "test/quantization/test_quant_api.py:412: AssertionError",
    ]


def test_many_failed_tests_and_a_long_assertion_stay_within_the_cap() -> None:
    summary = "".join(
        f"FAILED test/test_ops.py::TestOps::test_case_{i} - AssertionError: {i}\n"
        for i in range(60)
    )
    text = (
        "=================================== FAILURES ===================================\n"
        "_____________________________ TestOps.test_case_0 ______________________________\n"
        "\n"
        "    def test_case_0(self):\n"
        ">       self.assertEqual(a, b)\n"
        + "".join(f"E       line {i} of a long tensor diff\n" for i in range(80))
        + "\ntest/test_ops.py:10: AssertionError\n"
        "=========================== short test summary info ============================\n"
        + summary
        + "======================= 60 failed, 3 passed in 12.00s =======================\n"
    )
    block = extract_error(stamped(text))
    assert block.kind == "pytest"
    assert len(block.lines) <= MAX_LINES
    assert block.lines[9] == "… 51 more failed tests"
    assert block.lines[-1] == "test/test_ops.py:10: AssertionError"
    assert any(ln.startswith("… ") and "more lines" in ln for ln in block.lines)


def test_a_collection_error_in_short_traceback_mode() -> None:
    text = """\
==================================== ERRORS ====================================
___________ ERROR collecting test/prototype/test_mx_formats.py ____________
ImportError while importing test module '/pytorch/ao/test/prototype/test_mx_formats.py'.
test/prototype/test_mx_formats.py:12: in <module>
    from torchao.prototype.mx_formats.kernels import triton_f4_to_bf16
E   ModuleNotFoundError: No module named 'torchao.prototype.mx_formats.kernels'
=========================== short test summary info ============================
ERROR test/prototype/test_mx_formats.py
!!!!!!!!!!!!!!!!!!!! Interrupted: 1 error during collection !!!!!!!!!!!!!!!!!!!!
=============================== 1 error in 3.21s ===============================
"""
    block = extract_error(stamped(text))
    assert block.kind == "pytest"
    assert block.first_line == (
        "ERROR test/prototype/test_mx_formats.py - ModuleNotFoundError: "
        "No module named 'torchao.prototype.mx_formats.kernels'"
    )
    assert "E   ModuleNotFoundError: No module named 'torchao.prototype.mx_formats.kernels'" in (
        block.lines
    )
    assert "    from torchao.prototype.mx_formats.kernels import triton_f4_to_bf16" in block.lines


def test_an_inductor_failure_gives_the_last_traceback_cut_to_the_cap() -> None:
    block = extract_error(stamped(INDUCTOR_LOG))
    assert block.kind == "traceback"
    assert block.first_line == (
        "torch._inductor.exc.InductorError: LoweringException: AssertionError: scaled_mm: "
        "expected scale_a of shape (4096, 1), got (1, 4096)"
    )
    lines = list(block.lines)
    assert len(lines) <= MAX_LINES
    assert lines[0] == "Traceback (most recent call last):"
    assert lines[1].startswith("  … ") and "more lines of frames" in lines[1]
    assert lines[2].startswith('  File "')  # cut on a frame's boundary
    # The innermost frames and the whole exception message, up to the blank line after it.
    assert "    timings = do_autotuning(precompile_fn)" in lines
    assert lines[-3:] == [
        block.first_line,
        "  target: aten._scaled_mm.default",
        "  args[0]: TensorBox(StorageBox(InputBuffer(name='arg0_1', layout=FixedLayout("
        "'cuda:0', torch.float8_e4m3fn, size=[4096, 4096]))))",
    ]
    assert not any("Set TORCHDYNAMO_VERBOSE" in ln for ln in lines)


def test_a_traceback_with_a_rank_prefix() -> None:
    text = """\
[rank1]: Traceback (most recent call last):
[rank1]:   File "/pytorch/ao/test/dtypes/test_nf4.py", line 40, in <module>
[rank1]:     run_fsdp()
[rank1]: torch.distributed.DistBackendError: NCCL error in: ProcessGroupNCCL.cpp:3356
E1201 10:00:00.000000 140 torch/distributed/elastic/multiprocessing/api.py:869] failed
"""
    block = extract_error(stamped(text))
    assert block.kind == "traceback"
    assert block.lines == (
        "Traceback (most recent call last):",
        '  File "/pytorch/ao/test/dtypes/test_nf4.py", line 40, in <module>',
        "    run_fsdp()",
        "torch.distributed.DistBackendError: NCCL error in: ProcessGroupNCCL.cpp:3356",
    )


def test_a_cuda_build_failure_gives_the_compiler_errors() -> None:
    block = extract_error(stamped(BUILD_LOG))
    assert block.kind == "compiler"
    assert block.first_line == (
        '/pytorch/ao/torchao/csrc/cuda/sparse_marlin/mma.h(72): error: identifier "__hmax2" is '
        "undefined"
    )
    lines = list(block.lines)
    assert lines[0] == (
        "FAILED: /pytorch/ao/build/temp.linux-x86_64-cpython-310/torchao/csrc/cuda/sparse_marlin/"
        "marlin_kernel_nm.o"
    )
    assert lines[1:4] == [block.first_line, "        return __hmax2(a, b);", "               ^"]
    assert (
        "/pytorch/ao/torchao/csrc/cpu/int8_sdpa.cpp:1234:18: error: 'class at::vec::"
        "CPU_CAPABILITY::Vectorized<float>' has no member named 'exp_u20'"
    ) in lines
    assert "      |                ^~~~~~~" in lines
    assert lines.count("error: subprocess-exited-with-error") == 1  # the same error once
    assert not any("-DTORCH_EXTENSION_NAME" in ln for ln in lines)  # not the command line
    assert len(lines) <= MAX_LINES


def test_gcc_and_cargo_errors() -> None:
    text = (
        "In file included from csrc/kernel.cpp:3:\n"
        "csrc/kernel.h:10:5: fatal error: cuda_fp8.h: No such file or directory\n"
        "   10 | #include <cuda_fp8.h>\n"
        "      |          ^~~~~~~~~~~~\n"
        "compilation terminated.\n"
    )
    block = extract_error(stamped(text))
    assert block.kind == "compiler"
    assert block.lines[:2] == (
        "csrc/kernel.h:10:5: fatal error: cuda_fp8.h: No such file or directory",
        "   10 | #include <cuda_fp8.h>",
    )
    cargo = "error[E0425]: cannot find value `x` in this scope\n --> src/main.rs:2:5\n"
    assert extract_error(cargo).first_line == "error[E0425]: cannot find value `x` in this scope"


def test_a_timeout_gives_the_runners_errors() -> None:
    block = extract_error(stamped(TIMEOUT_LOG))
    assert block.kind == "actions"
    assert block.lines == (
        "The job running on runner i-0c3d2e1f4a5b6c7d8 has exceeded the maximum execution time "
        "of 120 minutes.",
        "The operation was canceled.",
    )
    assert block.first_line == block.lines[0]


def test_a_log_without_an_error() -> None:
    block = extract_error(stamped("Run actions/checkout@v4\nall good\n"))
    assert (block.kind, block.first_line, block.lines, block.text) == ("none", None, (), "")


def test_the_scrubber_finds_the_token_across_chunks() -> None:
    text = f"a {TOKEN} b {TOKEN}{TOKEN} c".encode()
    for size in (1, 3, len(TOKEN) - 1, len(TOKEN), 1000):
        scrub = _Scrubber(TOKEN)
        chunks = [text[i : i + size] for i in range(0, len(text), size)]
        got = b"".join(scrub.feed(c) for c in chunks) + scrub.close()
        assert got == b"a *** b ****** c", size
    assert _Scrubber(None).feed(b"x") == b"x"


def test_pr_references() -> None:
    repos = {"ao": AO, "xla": "pytorch/xla"}
    assert parse_pr_ref("pytorch/ao#12", repos) == (AO, 12)
    assert parse_pr_ref("PyTorch/AO#12", repos) == (AO, 12)  # as the store spells it
    assert parse_pr_ref("ao#7", repos) == (AO, 7)
    assert parse_pr_ref("https://github.com/pytorch/xla/pull/9/", repos) == ("pytorch/xla", 9)
    assert parse_pr_ref("other/repo#3", repos) == ("other/repo", 3)
    for bad in ("pytorch/ao", "#3", "nosuch#3", "a/b/c#1"):
        with pytest.raises(Exception) as info:
            parse_pr_ref(bad, repos)
        assert getattr(info.value, "exit_code", None) == 2, bad


# --- the command against the fake server ---------------------------------------------------------

JOB_URL = "https://github.com/pytorch/ao/actions/runs/9001/job/{}"


def check(
    name: str,
    job_id: int | None,
    conclusion: str | None = "failure",
    workflow: str | None = "Run Regression Tests",
) -> CiCheck:
    return CiCheck(
        name=name,
        workflow=workflow,
        conclusion=conclusion,
        status="completed",
        url=JOB_URL.format(job_id) if job_id else "https://ci.example.com/build/77",
        job_id=job_id,
        run_id=9001 if job_id else None,
        completed_at="2026-12-01T10:30:00Z",
    )


CUDA = check("test-nightly (CUDA Nightly, cuda, 12.6) / linux-job", 111)
CPU = check("test (CPU 2.8, cpu) / linux-job", 222)
LINT = check("lint", 333, "success", "Code Analysis with Ruff")
STATUS = check("ci/circleci: build", None, "error", None)


def pr(number: int, *checks: CiCheck) -> PrStatus:
    return PrStatus(
        AO, number, "FAILURE", None, False, True, False, head_sha="abc123", checks=checks
    )


@pytest.fixture
def logs(gh_env: GitHubEnv) -> FakeJobLogs:
    """PR 42: one failing job; 43: two failing jobs, a passing one and a failing commit status;
    44: nothing failing."""
    fake = FakeJobLogs().install(gh_env.server)
    fake.add(AO, 111, stamped(PYTEST_LOG))
    fake.add(AO, 222, stamped(BUILD_LOG))
    fake.add(AO, 333, stamped("Run ruff check\nAll checks passed!\n"))
    with gh_env.store() as store:
        store.replace_pr_status(
            [AO],
            [pr(42, CUDA, LINT), pr(43, CUDA, CPU, LINT, STATUS), pr(44, LINT)],
            VIEWER,
        )
    return fake


def one_line(text: str) -> str:
    lines = text.strip().splitlines()
    assert len(lines) == 1, text
    assert "Traceback" not in text
    return lines[0]


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def every_file(home: Path) -> bytes:
    """All the workbench home holds, gzip files unpacked."""
    data = b""
    for path in sorted(p for p in home.rglob("*") if p.is_file()):
        raw = path.read_bytes()
        data += gzip.decompress(raw) if path.suffix == ".gz" else raw
    return data


def test_a_failing_jobs_log_is_fetched_once_without_the_token_then_read_offline(
    gh_env: GitHubEnv, logs: FakeJobLogs, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = gh_env.server
    result = gh_env.cli("prs", "log", "pytorch/ao#42")
    assert result.rc == 0, result.err
    assert result.err == ""

    # One request for the job's log (302), one to blob storage: on another host, no token.
    assert [(r.method, r.path, r.status) for r in server.requests] == [
        ("GET", "/repos/pytorch/ao/actions/jobs/111/logs", 302),
        ("GET", "/joblogs/pytorch/ao/111.txt", 200),
    ]
    assert server.requests[0].authorized
    [hit] = logs.storage
    assert hit.host.startswith("localhost:") and not hit.authorized

    # The file holds the log, token scrubbed; no file under the home holds the token.
    stored = gh_env.home / "logs" / "pytorch" / "ao" / "111.log.gz"
    text = gzip.decompress(stored.read_bytes()).decode()
    assert text == stamped(PYTEST_LOG).replace(TOKEN, "***")
    assert TOKEN.encode() not in every_file(gh_env.home)
    assert not list(stored.parent.glob(".*.tmp"))

    out = result.out
    assert f"Run Regression Tests / {CUDA.name}" in out and "failure" in out
    assert "logs/pytorch/ao/111.log.gz" in out and "fetched now" in out
    assert "E       AssertionError: Tensor-likes are not close!" in out
    assert "test/quantization/test_quant_api.py:412: AssertionError" in out
    assert "lint" not in out  # it passed

    with gh_env.store() as store:
        row = store.job_log(AO, 111)
    assert row is not None
    assert row.path == "logs/pytorch/ao/111.log.gz"
    assert row.bytes == len(text.encode())
    assert row.first_error is not None and row.first_error.startswith("FAILED test/quantization")
    assert row.check_name == CUDA.label
    assert read_log(gh_env.home, row) == text

    # Offline: GitHub unreachable, and the log is read from the store without any request.
    server.reset_log()
    monkeypatch.setenv("WORKBENCH_GITHUB_API", f"http://127.0.0.1:{closed_port()}")
    again = gh_env.cli("prs", "log", "pytorch/ao#42")
    assert again.rc == 0, again.err
    assert server.requests == []
    assert "E       AssertionError: Tensor-likes are not close!" in again.out
    assert f"fetched {row.fetched_at}" in again.out
    # Without a token too: reading needs none.
    monkeypatch.delenv("GH_TOKEN")
    assert gh_env.cli("prs", "log", "ao#42").rc == 0


def test_full_prints_the_whole_log_scrubbed(gh_env: GitHubEnv, logs: FakeJobLogs) -> None:
    result = gh_env.cli("prs", "log", "pytorch/ao#42", "--full")
    assert result.rc == 0, result.err
    assert "Download action repository 'pytorch/test-infra@main'" in result.out
    assert "hf-token: ***" in result.out and TOKEN not in result.out


def test_refresh_fetches_again_and_offline_falls_back_to_the_stored_log(
    gh_env: GitHubEnv, logs: FakeJobLogs, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = gh_env.server
    assert gh_env.cli("prs", "log", "pytorch/ao#42").rc == 0
    server.reset_log()
    assert gh_env.cli("prs", "log", "pytorch/ao#42", "--refresh").rc == 0
    assert server.count("/actions/jobs/111/logs") == 1 and server.count("/joblogs/") == 1

    monkeypatch.setenv("WORKBENCH_GITHUB_API", f"http://127.0.0.1:{closed_port()}")
    monkeypatch.setenv("WORKBENCH_GITHUB_RETRIES", "0")
    result = gh_env.cli("prs", "log", "pytorch/ao#42", "--refresh")
    assert result.rc == 0, result.err
    assert "warning:" in one_line(result.err) and "showing the stored log" in result.err
    assert "E       AssertionError: Tensor-likes are not close!" in result.out


def test_offline_without_a_stored_log_is_one_line_exit_2(
    gh_env: GitHubEnv, logs: FakeJobLogs, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WORKBENCH_GITHUB_API", f"http://127.0.0.1:{closed_port()}")
    monkeypatch.setenv("WORKBENCH_GITHUB_RETRIES", "0")
    result = gh_env.cli("prs", "log", "pytorch/ao#42")
    assert result.rc == 2
    assert "cannot reach" in one_line(result.err)
    assert not (gh_env.home / "logs" / "pytorch" / "ao" / "111.log.gz").exists()


def test_an_expired_log_is_one_clear_line_exit_1(gh_env: GitHubEnv, logs: FakeJobLogs) -> None:
    logs.add(AO, 111, 410)
    result = gh_env.cli("prs", "log", "pytorch/ao#42")
    assert result.rc == 1
    line = one_line(result.err)
    assert "expired or was deleted" in line and "limited time" in line
    assert JOB_URL.format(111) in line
    assert gh_env.server.count("/joblogs/") == 0
    with gh_env.store() as store:
        assert store.job_log(AO, 111) is None
    assert not (gh_env.home / "logs" / "pytorch" / "ao").exists() or not list(
        (gh_env.home / "logs" / "pytorch" / "ao").iterdir()
    )


def test_one_expired_log_does_not_hide_the_others(gh_env: GitHubEnv, logs: FakeJobLogs) -> None:
    logs.add(AO, 111, 410)
    result = gh_env.cli("prs", "log", "pytorch/ao#43")
    assert result.rc == 1
    assert "expired or was deleted" in one_line(result.err)
    assert '/sparse_marlin/mma.h(72): error: identifier "__hmax2" is undefined' in result.out
    with gh_env.store() as store:
        assert sorted(store.job_logs(AO, [111, 222])) == [222]

    # GitHub no longer has either: the stored one is still shown, the other is reported.
    logs.add(AO, 222, 410)
    result = gh_env.cli("prs", "log", "pytorch/ao#43", "--refresh")
    assert result.rc == 1
    assert "GitHub no longer has it" in result.out and "__hmax2" in result.out


def test_several_logs_gone_is_one_line_with_the_worst_exit_code(
    gh_env: GitHubEnv, logs: FakeJobLogs
) -> None:
    logs.add(AO, 111, 410)
    logs.add(AO, 222, 404)
    result = gh_env.cli("prs", "log", "pytorch/ao#43")
    assert result.rc == 2  # the worse of the two: a log GitHub does not know
    line = one_line(result.err)
    assert line.startswith("workbench: 2 logs of pytorch/ao#43 could not be fetched")


def test_a_missing_job_is_one_clear_line_exit_2(gh_env: GitHubEnv, logs: FakeJobLogs) -> None:
    logs.add(AO, 111, 404)
    result = gh_env.cli("prs", "log", "pytorch/ao#42")
    assert result.rc == 2
    assert "(404)" in one_line(result.err) and JOB_URL.format(111) in result.err


def test_a_rate_limit_keeps_the_logs_fetched_before_it(
    gh_env: GitHubEnv, logs: FakeJobLogs
) -> None:
    server = gh_env.server
    server.faults.append(
        Fault(
            "/actions/jobs/222/logs",
            status=403,
            body='{"message": "API rate limit exceeded for user ID 1000."}',
            headers={"X-RateLimit-Remaining": "0"},
        )
    )
    result = gh_env.cli("prs", "log", "pytorch/ao#43")
    assert result.rc == 1
    line = one_line(result.err)
    assert "rate limit" in line and "1 of 2 failing jobs' logs are stored" in line
    assert [(r.path, r.status) for r in server.requests] == [
        ("/repos/pytorch/ao/actions/jobs/111/logs", 302),
        ("/joblogs/pytorch/ao/111.txt", 200),
        ("/repos/pytorch/ao/actions/jobs/222/logs", 403),
    ]
    assert "E       AssertionError: Tensor-likes are not close!" in result.out  # shown before
    with gh_env.store() as store:
        assert store.job_log(AO, 111) is not None
        assert store.job_log(AO, 222) is None
    assert (gh_env.home / "logs" / "pytorch" / "ao" / "111.log.gz").exists()

    # Later: only the missing log is fetched.
    server.reset_log()
    again = gh_env.cli("prs", "log", "pytorch/ao#43")
    assert again.rc == 0, again.err
    assert server.count("/actions/jobs/") == 1 and server.count("/actions/jobs/222/logs") == 1
    assert '/sparse_marlin/mma.h(72): error: identifier "__hmax2" is undefined' in again.out
    # The commit status has no log to fetch: its URL is shown.
    assert "ci/circleci: build" in again.out and "https://ci.example.com/build/77" in again.out


def test_check_picks_one_by_name_or_label(gh_env: GitHubEnv, logs: FakeJobLogs) -> None:
    server = gh_env.server
    result = gh_env.cli("prs", "log", "pytorch/ao#43", "--check", "cpu 2.8")
    assert result.rc == 0, result.err
    assert [r.path for r in server.requests] == [
        "/repos/pytorch/ao/actions/jobs/222/logs",
        "/joblogs/pytorch/ao/222.txt",
    ]
    assert CPU.label in result.out and CUDA.label not in result.out

    # A passing check's log, when asked by name.
    server.reset_log()
    result = gh_env.cli("prs", "log", "pytorch/ao#43", "--check", "Code Analysis with Ruff / lint")
    assert result.rc == 0, result.err
    assert server.count("/actions/jobs/333/logs") == 1
    assert "success" in result.out and "no error block found" in result.out

    # Ambiguous: both failing jobs are "linux-job"s of "Run Regression Tests".
    server.reset_log()
    result = gh_env.cli("prs", "log", "pytorch/ao#43", "--check", "LINUX-JOB")
    assert result.rc == 2
    line = one_line(result.err)
    assert "matches 2 checks" in line and CUDA.label in line and CPU.label in line
    assert server.requests == []

    result = gh_env.cli("prs", "log", "pytorch/ao#43", "--check", "nosuch")
    assert result.rc == 2
    assert "no check of pytorch/ao#43 matches 'nosuch'" in one_line(result.err)
    assert LINT.label in result.err


def test_json_shape(gh_env: GitHubEnv, logs: FakeJobLogs) -> None:
    result = gh_env.cli("prs", "log", "pytorch/ao#43", "--json")
    assert result.rc == 0, result.err
    docs = result.json()
    assert [d["check"] for d in docs] == [CUDA.label, CPU.label, STATUS.label]
    first = docs[0]
    assert set(first) == {
        "check",
        "job_id",
        "conclusion",
        "url",
        "log_path",
        "bytes",
        "first_error",
        "error_block",
        "fetched",
    }
    assert first["job_id"] == 111 and first["conclusion"] == "failure"
    assert first["url"] == JOB_URL.format(111)
    assert Path(first["log_path"]) == gh_env.home / "logs" / "pytorch" / "ao" / "111.log.gz"
    assert first["bytes"] == len(stamped(PYTEST_LOG).replace(TOKEN, "***").encode())
    assert first["first_error"].startswith("FAILED test/quantization/test_quant_api.py::")
    assert "E       AssertionError: Tensor-likes are not close!" in first["error_block"]
    assert datetime.strptime(first["fetched"], "%Y-%m-%dT%H:%M:%SZ")
    status = docs[2]
    assert status["job_id"] is None and status["log_path"] is None
    assert status["error_block"] is None and status["url"] == "https://ci.example.com/build/77"

    full = gh_env.cli("prs", "log", "pytorch/ao#42", "--json", "--full").json()
    assert full[0]["log"] == stamped(PYTEST_LOG).replace(TOKEN, "***")


def test_nothing_failing_nothing_stored_no_token(
    gh_env: GitHubEnv, logs: FakeJobLogs, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = gh_env.cli("prs", "log", "pytorch/ao#44")
    assert result.rc == 0, result.err
    assert "no failing check" in result.out
    assert gh_env.cli("prs", "log", "pytorch/ao#44", "--json").json() == []

    result = gh_env.cli("prs", "log", "pytorch/ao#99")
    assert result.rc == 2
    assert "run: workbench sync" in one_line(result.err)

    result = gh_env.cli("prs", "log", "not-a-ref")
    assert result.rc == 2
    assert "OWNER/REPO#N" in one_line(result.err)

    monkeypatch.delenv("GH_TOKEN")
    result = gh_env.cli("prs", "log", "pytorch/ao#42")
    assert result.rc == 2
    assert "needs a GitHub token" in one_line(result.err)
    assert gh_env.server.requests == []


def test_not_synced_is_one_line_exit_2(gh_env: GitHubEnv) -> None:
    result = gh_env.cli("prs", "log", "pytorch/ao#42")
    assert result.rc == 2
    assert "workbench sync" in one_line(result.err)
    assert gh_env.server.requests == []


def test_prs_log_has_its_own_usage_and_prs_still_takes_a_name(gh_env: GitHubEnv) -> None:
    result = gh_env.cli("prs", "log", "--help")
    assert result.rc == 0
    assert result.out.startswith("usage: workbench prs log ")
    result = gh_env.cli("prs", "log")
    assert result.rc == 2 and "OWNER/REPO#N" in one_line(result.err)
    top = gh_env.cli("--help").out
    assert "prs log" in top
    gh_env.store().close()
    result = gh_env.cli("prs", "ao", "--json")  # still the prs command, with its NAME
    assert result.rc == 2 and "nothing synced yet for ao" in one_line(result.err)


def test_the_store_keeps_each_logs_first_error(gh_env: GitHubEnv, logs: FakeJobLogs) -> None:
    """What the blocking list reads: the first error of each stored log, offline."""
    assert gh_env.cli("prs", "log", "pytorch/ao#43").rc == 0
    with gh_env.store() as store:
        rows = store.job_logs(AO, [111, 222, 333])
    assert sorted(rows) == [111, 222]
    assert rows[222].first_error is not None and "__hmax2" in rows[222].first_error
    assert json.loads(json.dumps(rows[111].error_block))  # plain text, no bytes
    assert io.StringIO(rows[111].error_block).readline().startswith("FAILED ")


# What `pytest test --verbose -s` (ao's regression_test.yml) printed for torchao v0.18.0's
# test_quant_primitives.py with `+ 1` added to _quantize_affine_no_dtype_cast's rounding.
TORCHAO_VERBOSE_RUN = """\
test/quantization/test_quant_primitives.py::TestQuantPrimitives::test_get_groupwise_affine_qparams PASSED
test/quantization/test_quant_primitives.py::TestQuantPrimitives::test_groupwise_affine_quantize_tensor_from_qparams FAILED
=================================== FAILURES ===================================
____ TestQuantPrimitives.test_groupwise_affine_quantize_tensor_from_qparams ____

self = <test_quant_primitives.TestQuantPrimitives testMethod=test_groupwise_affine_quantize_tensor_from_qparams>

    def test_groupwise_affine_quantize_tensor_from_qparams(self):
        input = torch.randn(10, 256)
        scales = torch.randn(10, 2)

        for zero_point_domain in [ZeroPointDomain.FLOAT, ZeroPointDomain.INT]:
            w_int4x8 = groupwise_affine_quantize_tensor_from_qparams(
                input, scales, zeros, n_bit, groupsize, zero_point_domain
            )

>           self.assertTrue(torch.equal(w_int4x8, w_int4x8_ref))
E           AssertionError: False is not true

test/quantization/test_quant_primitives.py:697: AssertionError
=========================== short test summary info ============================
FAILED test/quantization/test_quant_primitives.py::TestQuantPrimitives::test_groupwise_affine_quantize_tensor_from_qparams
FAILED test/quantization/test_quant_primitives.py::TestQuantPrimitives::test_quantize_dequantize_channel_asym
============== 2 failed, 20 passed, 1 skipped, 1 warning in 7.89s ==============
"""


def test_a_summary_line_without_the_error_gets_the_first_assertion() -> None:
    block = extract_error(stamped(TORCHAO_VERBOSE_RUN))
    assert block.kind == "pytest"
    assert block.first_line == (
        "FAILED test/quantization/test_quant_primitives.py::TestQuantPrimitives::"
        "test_groupwise_affine_quantize_tensor_from_qparams - AssertionError: False is not true"
    )
    assert ">           self.assertTrue(torch.equal(w_int4x8, w_int4x8_ref))" in block.lines
    assert "test/quantization/test_quant_primitives.py:697: AssertionError" in block.lines
