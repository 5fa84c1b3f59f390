"""A fresh checkout with nothing exported: every upstream session clones on first use and works.

The newcomer's case: a clone of the workbench, a recipe whose upstream was never fetched, and a
shell with nothing in it but ``HOME``, ``PATH`` and the ``WORKBENCH_<NAME>_URL`` the README names
(no ``TRITON_INTERPRET``, no ``WORKBENCH_ROOT``). Each of the five sessions runs through real nox
from a state with no clone (``upstreams/kops/src``, ``base`` and ``patched`` removed before each)
and does its job; so does ``workbench tests select``. The upstream defines a Triton kernel when
it is imported, as torchao does, so its bench case runs on the CPU only if the recipe's
``[bench.devices.cpu]`` puts the interpreter in every bench process from the start.

Cost: one nox venv serves the five sessions (each session's folder links to it), made without a
download: it links this environment's packages but not the workbench, which the first session
installs from the checkout with the ``plot`` extra (pip set to no index and no build isolation
in the throwaway ``HOME``). The sides' environments are built once and reused after each clone is
removed, as their content is the same. About 25 s on two cores: 3 to 6 s a session.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
import torch
import triton

from tests.conftest import REPO_ROOT, build_wheel, git, recipe_toml, wheel_overlay, write

NAME = "kops"

UPSTREAM = {
    "pyproject.toml": (
        '[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n\n'
        '[project]\nname = "kops"\nversion = "1.0"\n\n'
        '[tool.setuptools]\npackages = ["kops"]\n'
    ),
    "kops/__init__.py": "",
    # The kernel is defined at import, as torchao's are: the interpreter must be on before.
    "kops/kernels.py": (
        "import torch\nimport triton\nimport triton.language as tl\n\nBLOCK = 1024\n\n\n"
        "@triton.jit\n"
        "def add_kernel(x_ptr, y_ptr, out_ptr, n, BLOCK: tl.constexpr):\n"
        "    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)\n"
        "    mask = offs < n\n"
        "    x = tl.load(x_ptr + offs, mask=mask)\n"
        "    y = tl.load(y_ptr + offs, mask=mask)\n"
        "    tl.store(out_ptr + offs, x + y, mask=mask)\n\n\n"
        "def add(x, y):\n"
        "    out = torch.empty_like(x)\n"
        "    n = out.numel()\n"
        "    add_kernel[(triton.cdiv(n, BLOCK),)](x, y, out, n, BLOCK=BLOCK)\n"
        "    return out\n"
    ),
    "kops/util.py": "def clamp(v, lo, hi):\n    return max(lo, min(hi, v))\n",
    "test/test_kernels.py": (
        "import torch\nfrom kops.kernels import add\n\n\n"
        "def test_add():\n    x = torch.rand(3000)\n    assert torch.equal(add(x, x), x + x)\n"
    ),
    "test/test_util.py": "from kops.util import clamp\n\n\ndef test_clamp():\n    assert clamp(5, 0, 3) == 3\n",
}

# The series: the launch's grid computed another way (the wrapper the bench runs changes, the
# kernel does not).
PATCHED_KERNELS = UPSTREAM["kops/kernels.py"].replace(
    "add_kernel[(triton.cdiv(n, BLOCK),)]", "add_kernel[((n + BLOCK - 1) // BLOCK,)]"
)


def _recipe(wheel: str, torch_version: str, triton_version: str) -> str:
    # Its url is never reached: like the README's newcomer, the shell names the clone URL to use.
    return recipe_toml(
        "kops",
        "https://example.invalid/kops.git",
        mode="overlay",
        build=wheel_overlay(
            "kops",
            [wheel, f"torch=={torch_version}", f"triton=={triton_version}"],
            about="the released wheel with the worktree's kops/**.py laid over it",
        ),
        tests_map={"kops/{x}": ["test/test_{x}.py"]},
        tests_cpu={"env": {"TRITON_INTERPRET": "1"}},
        bench_cpu={"env": {"TRITON_INTERPRET": "1"}},
        codegen=["sm_90"],
    )


BENCH = """\
from workbench.bench import bench


@bench(params={"n": [4096]})
def add(n):
    import torch
    from kops.kernels import add

    x = torch.rand(n)
    y = torch.rand(n)
    return lambda: add(x, y)
"""

SESSIONS = (
    ("build", []),
    ("tests", []),
    ("bench", ["--budget", "1", "--max-budget", "1", "--processes", "2"]),
    ("codegen", []),
    ("map", []),
)


def _upstream(tmp_path: Path) -> tuple[Path, str]:
    """The upstream at v1.0, and the series' one patch (made on a branch the clone never sees)."""
    up = tmp_path / "kops-upstream"
    up.mkdir()
    git(up, "init", "-q", "-b", "main")
    for name, text in UPSTREAM.items():
        write(up / name, text)
    git(up, "add", "-A")
    git(up, "commit", "-q", "-m", "kops 1.0")
    git(up, "tag", "v1.0")
    git(up, "checkout", "-q", "-b", "topic")
    write(up / "kops" / "kernels.py", PATCHED_KERNELS)
    git(up, "commit", "-q", "-am", "Compute the grid without triton.cdiv")
    patch = git(up, "format-patch", "-1", "-o", str(tmp_path / "patch"))
    git(up, "checkout", "-q", "main")
    git(up, "branch", "-q", "-D", "topic")
    return up, patch


def _checkout(tmp_path: Path, wheel: Path, patch: str) -> Path:
    """A fresh clone of the workbench holding one recipe, its bench and its series."""
    root = tmp_path / "wb"
    for name in ("noxfile.py", "pyproject.toml", "README.md", ".gitignore"):
        write(root / name, (REPO_ROOT / name).read_text())
    shutil.copytree(
        REPO_ROOT / "workbench", root / "workbench", ignore=shutil.ignore_patterns("__pycache__")
    )
    version = torch.__version__.split("+")[0]
    recipe = _recipe(wheel.as_posix(), version, triton.__version__)
    write(root / "upstreams" / NAME / "recipe.toml", recipe)
    write(root / "upstreams" / NAME / "benches" / "bench_add.py", BENCH)
    patches = root / "patches" / NAME
    write(patches / "series", f"{Path(patch).name}\n")
    shutil.copy(patch, patches / Path(patch).name)
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "workbench")
    return root


def _session_venv(root: Path) -> None:
    """One venv for every session: this environment's packages linked in, the workbench not
    (the session installs it from the checkout, with its ``plot`` extra)."""
    shared = root / ".nox" / "shared"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(shared)], check=True)
    [site] = shared.glob("lib/python*/site-packages")
    ours = Path(sysconfig.get_paths()["purelib"])
    for entry in ours.iterdir():
        if entry.name.startswith(("__editable__", "workbench", "__pycache__")):
            continue
        (site / entry.name).symlink_to(entry)
    for kind, _ in SESSIONS:
        (root / ".nox" / f"{NAME}_{kind}").symlink_to(shared)


def _shell(tmp_path: Path, upstream: Path) -> dict[str, str]:
    """``env -i HOME=... PATH=... WORKBENCH_KOPS_URL=...``: a user's git identity and pip
    configuration in that HOME, nothing else."""
    home = tmp_path / "home"
    write(
        home / ".gitconfig",
        "[user]\n\tname = Ada Contributor\n\temail = ada@example.com\n"
        "[init]\n\tdefaultBranch = main\n[advice]\n\tdetachedHead = false\n",
    )
    # No download in a test: pip finds everything installed, or fails. (pip reads the negative
    # option inverted: `no-build-isolation = false` turns build isolation off.)
    write(
        home / ".config" / "pip" / "pip.conf",
        "[global]\nno-index = true\n[install]\nno-build-isolation = false\n",
    )
    git_dir = str(Path(shutil.which("git") or "/usr/bin/git").parent)
    return {
        "HOME": str(home),
        "PATH": f"{git_dir}:/usr/bin:/bin",
        f"WORKBENCH_{NAME.upper()}_URL": upstream.as_posix(),
    }


def _forget_clone(root: Path) -> None:
    for part in ("src", "base", "patched"):
        shutil.rmtree(root / "upstreams" / NAME / part, ignore_errors=True)


def _newest(root: Path, kind: str) -> Path:
    runs = sorted((root / ".workbench" / "runs" / NAME).glob(f"*-{kind}"))
    assert runs, f"no {kind} run folder"
    return runs[-1]


@pytest.mark.slow
def test_every_session_clones_on_first_use_and_does_its_job(tmp_path: Path):
    up, patch = _upstream(tmp_path)
    wheel = build_wheel(up, tmp_path / "wheels", "kops-1.0-*.whl")
    root = _checkout(tmp_path, wheel, patch)
    _session_venv(root)
    env = _shell(tmp_path, up)
    assert "TRITON_INTERPRET" not in env

    outputs = {}
    for kind, args in SESSIONS:
        _forget_clone(root)
        proc = subprocess.run(
            [sys.executable, "-m", "nox", "-s", f"{NAME}_{kind}", "--", *args],
            cwd=root,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        output = outputs[kind] = proc.stdout + proc.stderr
        assert proc.returncode == 0, f"{kind}:\n{output[-4000:]}"
        assert "no clone yet" not in output
        assert f"cloning {up.as_posix()} (first use)" in output, (kind, output[-2000:])
        assert (root / "upstreams" / NAME / "patched" / "kops" / "kernels.py").read_text() == (
            PATCHED_KERNELS
        )
        if kind == "build":
            # The session installed the workbench with what draws bench.png.
            assert "pip install -e '.[plot]'" in output or "pip install -e .[plot]" in output

    sides = root / ".workbench" / "envs" / NAME
    assert {p.name for p in sides.iterdir()} >= {"baseline", "patched"}

    tests = json.loads((_newest(root, "tests") / "tests.json").read_text())
    assert tests["changed_files"] == ["kops/kernels.py"]
    assert tests["counts"]["passed"] >= 1 and tests["regressions"] == []
    assert tests["env"] == {"TRITON_INTERPRET": "1"}

    bench_dir = _newest(root, "bench")
    bench = json.loads((bench_dir / "bench.json").read_text())
    [case] = bench["cases"]
    # The Triton kernel ran in the interpreter on both sides, without the caller exporting it.
    assert case["id"] == "add[n=4096]" and not case["skipped"] and "ratio" in case, case
    assert (bench_dir / "bench.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    codegen = json.loads((_newest(root, "codegen") / "codegen.json").read_text())
    [kernel] = codegen["kernels"]
    assert kernel["name"] == "add_kernel" and "sm_90" in kernel["variants"][0]["targets"]
    assert codegen["findings"] == []

    [meta] = (sides / "maps").glob("*/meta.json")
    assert json.loads(meta.read_text())["test_files"] == [
        "test/test_kernels.py",
        "test/test_util.py",
    ]
    assert "2 tests in 2 file(s)" in outputs["map"]

    # `workbench tests select`, no session of its own, clones on first use too.
    _forget_clone(root)
    proc = subprocess.run(
        [str(root / ".nox" / "shared" / "bin" / "workbench"), "tests", "select", NAME],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "(first use)" in proc.stderr and "no clone yet" not in proc.stderr
    assert "test/test_kernels.py" in proc.stdout
