"""Reading ``recipe.toml`` into a :class:`~workbench.config.recipe.Recipe`, checked table by table.

Every problem raises :class:`~workbench.errors.RecipeError` naming the file and the key, with
what the key takes.
"""

from __future__ import annotations

import re
import string
import tomllib
from pathlib import Path

from workbench.config.recipe import (
    ASK_FIELDS,
    BUILD_KINDS,
    CODEGEN_TARGETS,
    DEVICES,
    FILE_TIMEOUT,
    PR_FORMATS,
    TEST_RUNNERS,
    BuildMode,
    CiAsks,
    DeviceFallback,
    Labels,
    PathLabel,
    PathWarning,
    PrFormat,
    Recipe,
    RequiredLabel,
    SuggestedLabels,
    TestMapping,
    Tests,
    TitlePrefix,
    Upstream,
)
from workbench.config.toml_reader import TableReader
from workbench.errors import RecipeError


def _upstream(t: TableReader) -> Upstream:
    repo = t.string("repo", "a GitHub slug like 'owner/name'")
    if not re.fullmatch(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+", repo or ""):
        raise RecipeError(t.file, t.key("repo"), "must be a GitHub slug like 'owner/name'", repo)
    up = Upstream(
        repo=repo,
        url=t.string("url", "a clone URL or a local path"),
        default_branch=t.string("default_branch", "a branch name such as 'main'"),
        pin=t.string("pin", "a tag, branch or commit the series applies to"),
    )
    t.done()
    return up


def _build_mode(name: str, t: TableReader) -> BuildMode:
    kind = t.string("kind", "the build kind", choices=BUILD_KINDS)
    mode = BuildMode(
        name=name,
        kind=kind,
        about=t.string("about", "a one-line description"),
        packages=t.strings("packages", "a list of pip requirements"),
        install=t.strings("install", "a list of shell commands", required=kind == "source"),
        env=t.string_map("env", "a table of environment variables"),
        requires_env=t.strings("requires_env", "a list of environment variable names"),
        overlay=t.strings("overlay", "a list of globs", required=kind == "wheel-overlay"),
        overlay_into=t.string(
            "overlay_into",
            "the worktree folder laid over the installed package",
            required=kind == "wheel-overlay",
        ),
    )
    t.done()
    return mode


def _build(t: TableReader) -> tuple[dict[str, str], dict[str, BuildMode]]:
    modes = {name: _build_mode(name, sub) for name, sub in t.table("modes").subtables().items()}
    if not modes:
        raise RecipeError(t.file, t.key("modes"), "must define at least one build mode")
    devices = t.string_map("devices", "a table of device = mode", required=True)
    if "cpu" not in devices:
        raise RecipeError(t.file, t.key("devices.cpu"), "is missing; every recipe needs a CPU mode")
    for device, mode in devices.items():
        if device not in DEVICES:
            raise RecipeError(
                t.file, t.key(f"devices.{device}"), f"is not a device ({', '.join(DEVICES)})"
            )
        if mode not in modes:
            raise RecipeError(
                t.file,
                t.key(f"devices.{device}"),
                f"names no build mode (defined: {', '.join(modes)})",
                mode,
            )
    t.done()
    return devices, modes


def _tests(t: TableReader) -> Tests:
    mappings = []
    for m in t.tables("map"):
        mappings.append(
            TestMapping(
                source=m.string("source", "an upstream path ({x} matches one component)"),
                tests=m.strings("tests", "a non-empty list of test paths", required=True),
            )
        )
        if not mappings[-1].tests:
            raise RecipeError(m.file, m.key("tests"), "must list at least one test path")
        m.done()
    devices = {}
    for device, d in t.table("devices", required=False).subtables().items():
        if device not in DEVICES:
            raise RecipeError(
                d.file, d.prefix.rstrip("."), f"is not a device ({', '.join(DEVICES)})"
            )
        devices[device] = DeviceFallback(
            device=device,
            env=d.string_map("env", "a table of environment variables"),
            args=d.strings("args", "a list of test-runner arguments"),
            note=d.string("note", "a one-line note", required=False),
        )
        d.done()
    tests = Tests(
        root=t.string("root", "the upstream's test folder"),
        runner=t.string("runner", "the test runner", choices=TEST_RUNNERS),
        map=tuple(mappings),
        devices=devices,
        packages=t.strings("packages", "a list of pip requirements for the tests"),
        file_timeout=t.seconds(
            "file_timeout", "a positive number of seconds per test file", default=FILE_TIMEOUT
        ),
        map_exclude=t.strings("map_exclude", "a list of test files or folders"),
    )
    t.done()
    return tests


def _bench_devices(t: TableReader) -> dict[str, dict[str, str]]:
    """``[bench.devices.<device>]``: the environment of the bench processes per device."""
    devices = {}
    for device, d in t.subtables().items():
        if device not in DEVICES:
            raise RecipeError(
                d.file, d.prefix.rstrip("."), f"is not a device ({', '.join(DEVICES)})"
            )
        devices[device] = d.string_map("env", "a table of environment variables")
        d.done()
    t.done()
    return devices


def _path_rules(t: TableReader, key: str, what: str) -> list[tuple[tuple[str, ...], str]]:
    """``[[pr.<key>]]`` tables of ``paths`` and one string (a label or a message)."""
    rules = []
    value = "label" if key == "labels" else "message"
    for entry in t.tables(key):
        paths = entry.strings("paths", "upstream paths (folders or files)", required=True)
        rules.append((paths, entry.string(value, what)))
        entry.done()
    return rules


def _pr(t: TableReader) -> PrFormat:
    prefixes = []
    for p in t.tables("title_prefixes"):
        prefixes.append(
            TitlePrefix(
                path=p.string("path", "an upstream path"),
                prefix=p.string("prefix", "a title prefix like '[FRONTEND]'"),
            )
        )
        p.done()
    by_path = [PathLabel(*fields) for fields in _path_rules(t, "labels", "the label to suggest")]
    internal = t.table("internal", required=False)
    suggested = SuggestedLabels(
        by_path=tuple(by_path),
        internal_paths=internal.strings("paths", "paths that are not user facing"),
        internal=internal.strings("labels", "labels for a series touching only those paths"),
        bot_command=t.string(
            "label_bot",
            "the comment prefix that asks a bot for a label",
            required=False,
            default=None,
        ),
    )
    internal.done()
    warnings = [
        PathWarning(*fields) for fields in _path_rules(t, "warn", "what the author must know")
    ]
    pr = PrFormat(
        format=t.string("format", "the PR body format", choices=PR_FORMATS),
        title_prefixes=tuple(prefixes),
        lint=t.strings("lint", "a list of lint commands the upstream expects"),
        notes=t.strings("notes", "a list of reminders for the PR author"),
        labels=suggested,
        warnings=tuple(warnings),
    )
    t.done()
    return pr


def _labels(t: TableReader) -> Labels:
    required = []
    for r in t.tables("required"):
        required.append(
            RequiredLabel(
                any_prefix=r.strings(
                    "any_prefix", "a non-empty list of label prefixes", required=True
                ),
                why=r.string("why", "why the upstream requires it"),
            )
        )
        if not required[-1].any_prefix:
            raise RecipeError(r.file, r.key("any_prefix"), "must list at least one label prefix")
        r.done()
    labels = Labels(
        newcomer=t.strings("newcomer", "a list of label names"), required=tuple(required)
    )
    t.done()
    return labels


def _ci(t: TableReader, bot: str | None) -> CiAsks:
    what = "one line saying what to ask a maintainer for"
    asks = CiAsks(
        approval=t.string("ask_approval", what, required=False, default=None),
        rerun=t.string("ask_rerun", what, required=False, default=None),
        label_workflows=t.string_map(
            "label_workflows", "a table of workflow name = the label that runs it"
        ),
        label=t.string("ask_label", what, required=False, default=None),
        bot=bot,
    )
    for workflow, label in asks.label_workflows.items():
        if not label.strip():
            raise RecipeError(
                t.file, t.key(f"label_workflows.{workflow}"), "must name a label", label
            )
    if asks.label is not None:
        try:
            names = {f for _, f, _, _ in string.Formatter().parse(asks.label) if f is not None}
        except ValueError as exc:
            raise RecipeError(t.file, t.key("ask_label"), f"is not a template: {exc}") from None
        unknown = sorted(names - set(ASK_FIELDS))
        if unknown:
            raise RecipeError(
                t.file,
                t.key("ask_label"),
                f"may name only {{label}} and {{bot}}, not {{{unknown[0]}}}",
                asks.label,
            )
        if "bot" in names and not bot:
            raise RecipeError(
                t.file, t.key("ask_label"), "names {bot}, but [pr] has no label_bot", asks.label
            )
    t.done()
    return asks


def parse_recipe(name: str, file: Path, text: str, shown_as: str | None = None) -> Recipe:
    """Parse and validate a recipe; every problem raises RecipeError naming file and key."""
    shown = shown_as or str(file)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RecipeError(shown, None, f"is not valid TOML: {exc}") from None
    top = TableReader(data, shown)
    upstream = _upstream(top.table("upstream"))
    devices, modes = _build(top.table("build"))
    tests = _tests(top.table("tests"))
    bench = top.table("bench", required=False)
    bench_folder = bench.string(
        "folder", "a folder under upstreams/<name>/", required=False, default="benches"
    )
    bench_devices = _bench_devices(bench.table("devices", required=False))
    bench.done()
    codegen = top.table("codegen", required=False)
    targets = codegen.strings("targets", "GPU targets such as 'sm_90' or 'gfx942'")
    for target in targets:
        if not re.fullmatch(r"sm_\d+a?|gfx[0-9a-f]+", target):
            raise RecipeError(
                shown,
                codegen.key("targets"),
                "takes sm_NN (NVIDIA) or gfxNNN (AMD) targets",
                target,
            )
    codegen.done()
    pr = _pr(top.table("pr"))
    labels = _labels(top.table("labels"))
    ci = _ci(top.table("ci", required=False), pr.labels.bot_command)
    top.done()
    return Recipe(
        name=name,
        file=file,
        upstream=upstream,
        build_devices=devices,
        build_modes=modes,
        tests=tests,
        bench_folder=bench_folder,
        pr=pr,
        labels=labels,
        codegen_targets=targets or CODEGEN_TARGETS,
        ci=ci,
        bench_devices=bench_devices,
    )
