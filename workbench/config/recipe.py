"""Recipes: the facts about one upstream, from ``upstreams/<name>/recipe.toml``, as typed values.

Reading the file and checking each table is :mod:`workbench.config.parse`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

DEVICES = ("cuda", "rocm", "tpu", "cpu")
BUILD_KINDS = ("source", "wheel-overlay")
TEST_RUNNERS = ("pytest", "run_tests.sh")
"""``pytest``: one pytest process over the selection. ``run_tests.sh``: as pytorch/xla's script
does, each test file as ``python FILE`` in its own process (unittest files)."""
FILE_TIMEOUT = 1800.0
PR_FORMATS = ("pytorch", "triton", "plain", "template")
NAME_RE = re.compile(r"^[a-z][a-z0-9_-]*$")


@dataclass(frozen=True)
class Upstream:
    repo: str
    """GitHub slug, ``owner/name``."""
    url: str
    default_branch: str
    pin: str
    """Tag, branch or commit the series applies to."""


@dataclass(frozen=True)
class BuildMode:
    name: str
    kind: str
    about: str
    packages: tuple[str, ...] = ()
    """pip requirements installed before the upstream (e.g. the pinned torch)."""
    install: tuple[str, ...] = ()
    """Commands for ``source`` builds; ``{worktree}`` is the worktree being built."""
    env: dict[str, str] = field(default_factory=dict)
    requires_env: tuple[str, ...] = ()
    """Environment variables that must be set for this mode (e.g. ``CUDA_HOME``)."""
    overlay: tuple[str, ...] = ()
    """``wheel-overlay``: globs of worktree files laid over the installed wheel."""
    overlay_into: str | None = None
    """``wheel-overlay``: the worktree folder that maps onto the installed package."""


@dataclass(frozen=True)
class TestMapping:
    source: str
    """A path in the upstream; ``{x}`` matches one path component."""
    tests: tuple[str, ...]

    def match(self, path: str) -> tuple[str, ...]:
        """The test paths for a changed ``path``, or () when this mapping does not apply."""
        pattern = re.escape(self.source).replace(r"\{x\}", r"(?P<x>[^/]+?)")
        m = re.match(rf"^{pattern}(?:/|$|\.py$)", path)
        if not m:
            return ()
        x = m.groupdict().get("x")
        x = x.removesuffix(".py") if x else x
        return tuple(t.replace("{x}", x) if x else t for t in self.tests)


@dataclass(frozen=True)
class DeviceFallback:
    device: str
    env: dict[str, str]
    args: tuple[str, ...]
    note: str | None


@dataclass(frozen=True)
class Tests:
    root: str
    runner: str
    map: tuple[TestMapping, ...]
    devices: dict[str, DeviceFallback]
    packages: tuple[str, ...] = ()
    """pip requirements the upstream's tests need (installed with the build's packages)."""
    file_timeout: float = FILE_TIMEOUT
    """Seconds one test file may run under the ``run_tests.sh`` runner before it is stopped."""
    map_exclude: tuple[str, ...] = ()
    """Test files or folders ``tests map`` leaves out unless given paths (too slow traced)."""


@dataclass(frozen=True)
class TitlePrefix:
    path: str
    prefix: str


def under(path: str, prefix: str) -> bool:
    """``path`` is ``prefix`` itself or inside the folder ``prefix`` (not merely a longer name)."""
    return path == prefix or path.startswith(prefix.rstrip("/") + "/")


@dataclass(frozen=True)
class PathRule:
    """Something the recipe says about a series that changes a file under one of ``paths``."""

    paths: tuple[str, ...]

    def matches(self, path: str) -> bool:
        return any(under(path, p) for p in self.paths)


@dataclass(frozen=True)
class PathLabel(PathRule):
    """A label to suggest when the series changes a file under one of ``paths``."""

    label: str


@dataclass(frozen=True)
class SuggestedLabels:
    by_path: tuple[PathLabel, ...] = ()
    """First match per changed file wins."""
    internal_paths: tuple[str, ...] = ()
    """Tests, docs, CI: a series that only touches these is not user facing."""
    internal: tuple[str, ...] = ()
    """The labels for such a series (ao: 'topic: not user facing')."""
    bot_command: str | None = None
    """How a contributor without triage rights asks for a label, e.g. '@pytorchbot label'."""


@dataclass(frozen=True)
class PathWarning(PathRule):
    """A warning for the PR draft when the series touches one of ``paths``."""

    message: str


@dataclass(frozen=True)
class PrFormat:
    format: str
    title_prefixes: tuple[TitlePrefix, ...]
    lint: tuple[str, ...]
    notes: tuple[str, ...]
    labels: SuggestedLabels = SuggestedLabels()
    warnings: tuple[PathWarning, ...] = ()


@dataclass(frozen=True)
class RequiredLabel:
    any_prefix: tuple[str, ...]
    why: str

    def satisfied_by(self, labels: list[str] | tuple[str, ...]) -> bool:
        return any(label.startswith(p) for label in labels for p in self.any_prefix)


@dataclass(frozen=True)
class Labels:
    newcomer: tuple[str, ...]
    required: tuple[RequiredLabel, ...]


ASK_FIELDS = ("label", "bot")
"""What ``[ci] ask_label`` may name: ``{label}`` (the workflow's label), ``{bot}`` (``[pr]
label_bot``)."""


@dataclass(frozen=True)
class CiAsks:
    """``[ci]``: what a failing check's entry tells a fork's author to ask a maintainer for,
    where the upstream says it in its own words (None: workbench's generic wording)."""

    approval: str | None = None
    """For workflows waiting for a maintainer's approval (a first-time contributor's runs)."""
    rerun: str | None = None
    """For a flaky or cancelled job, which a fork's author cannot rerun."""
    label_workflows: dict[str, str] = field(default_factory=dict)
    """Workflow name -> the label that runs it on a PR (ao: ``ciflow/rocm``)."""
    label: str | None = None
    """For a flaky or cancelled job of such a workflow; ``{label}`` and ``{bot}`` filled in."""
    bot: str | None = None
    """``[pr] label_bot``, for ``{bot}``."""

    def rerun_ask(self, workflow: str | None, default: str) -> str:
        """What to ask for to run a job of ``workflow`` again."""
        label = self.label_workflows.get(workflow or "")
        if label is not None:
            template = self.label or LABEL_ASK
            return template.format(label=label, bot=self.bot or "")
        return self.rerun or default


LABEL_ASK = (
    "ask a maintainer to rerun the job; it runs again on each push while the PR has the "
    "label {label}"
)


CODEGEN_TARGETS = ("sm_80", "sm_90", "sm_100", "gfx942")
"""What ``workbench codegen`` compiles for unless the recipe's ``[codegen] targets`` says."""


@dataclass(frozen=True)
class Recipe:
    name: str
    file: Path
    upstream: Upstream
    build_devices: dict[str, str]
    build_modes: dict[str, BuildMode]
    tests: Tests
    bench_folder: str
    pr: PrFormat
    labels: Labels
    codegen_targets: tuple[str, ...] = CODEGEN_TARGETS
    ci: CiAsks = CiAsks()
    bench_devices: dict[str, dict[str, str]] = field(default_factory=dict)
    """``[bench.devices.<device>] env``: what every bench process starts with on that device,
    e.g. the Triton interpreter on a CPU (kernels are defined when the upstream is imported,
    before a case's setup runs, so a case cannot turn it on itself)."""
    url_source: str = "recipe"
    pin_source: str = "recipe"

    def build_mode(self, device: str) -> BuildMode:
        """The build mode for ``device``, falling back to the CPU one."""
        return self.build_modes[self.build_devices.get(device, self.build_devices["cpu"])]

    def bench_env(self, device: str, mode: BuildMode | None = None) -> dict[str, str]:
        """The environment of the bench processes on ``device``: the build mode's (``mode``,
        default the device's) with the recipe's ``[bench.devices.<device>] env`` over it (as
        ``[tests.devices]``: for that device only)."""
        mode = mode or self.build_mode(device)
        return {**mode.env, **self.bench_devices.get(device, {})}

    def tests_for(self, path: str) -> tuple[str, ...]:
        out: list[str] = []
        for mapping in self.tests.map:
            for t in mapping.match(path):
                if t not in out:
                    out.append(t)
        return tuple(out)
