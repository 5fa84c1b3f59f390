"""Recipes: the real ones load; malformed ones exit 2 naming file, key and expectation."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT, write
from workbench.config import known_upstreams, load_recipe, load_recipes
from workbench.errors import RecipeError
from workbench.paths import Workspace


def test_real_recipes_hold_the_upstream_facts():
    ws = Workspace(REPO_ROOT)
    recipes = {r.name: r for r in load_recipes(ws)}
    assert set(recipes) >= {"ao", "triton", "xla"}
    ao, triton, xla = recipes["ao"], recipes["triton"], recipes["xla"]
    assert (ao.upstream.repo, ao.upstream.default_branch, ao.upstream.pin) == (
        "pytorch/ao",
        "main",
        "v0.18.0",
    )
    assert (xla.upstream.repo, xla.upstream.default_branch, xla.upstream.pin) == (
        "pytorch/xla",
        "master",
        "v2.9.0",
    )
    assert triton.upstream.repo == "triton-lang/triton"
    # The triton pin is the tag of the wheel the overlay build lays files over.
    overlay = triton.build_mode("cpu")
    assert overlay.kind == "wheel-overlay"
    assert f"triton=={triton.upstream.pin.removeprefix('v')}" in overlay.packages
    assert ao.build_mode("cpu").env == {"USE_CPP": "0"}
    assert ao.build_mode("cuda").requires_env == ("CUDA_HOME",)
    assert triton.tests.devices["cpu"].env == {"TRITON_INTERPRET": "1"}
    assert "--device=cpu" in triton.tests.devices["cpu"].args
    assert xla.tests.devices["cpu"].env["PJRT_DEVICE"] == "CPU"
    assert ao.tests_for("torchao/quantization/quant_primitives.py") == (
        "test/quantization/test_quant_primitives.py",
    )
    assert ao.tests_for("torchao/prototype/mx_formats/kernels.py") == (
        "test/prototype/mx_formats",
        "test/prototype/test_mx_formats.py",
    )
    assert triton.tests_for("python/triton/language/core.py") == ("python/test/unit/language",)
    assert [r.any_prefix for r in ao.labels.required] == [
        ("module:",),
        ("release notes:", "topic: not user facing"),
    ]
    assert "good first issue" in ao.labels.newcomer
    assert (ao.pr.format, triton.pr.format, xla.pr.format) == ("pytorch", "triton", "plain")
    # What a fork's author asks an ao maintainer for: the bot command where there is one.
    assert ao.ci.label_workflows["Run Regression Tests on ROCm"] == "ciflow/rocm"
    assert "`@pytorchbot label ciflow/rocm`" in ao.ci.rerun_ask("Run Regression Tests on ROCm", "")
    assert "no rerun command" in ao.ci.rerun_ask("Run regression tests", "generic")
    assert xla.ci.rerun_ask("anything", "generic") == "generic"


@pytest.mark.parametrize(
    ("edit", "key", "expected"),
    [
        (lambda t: t.replace('pin = "v1.0"\n', ""), "upstream.pin", "is missing"),
        (lambda t: t.replace('pin = "v1.0"', "pin = 3"), "upstream.pin", "must be a tag"),
        (
            lambda t: t.replace('repo = "example/demo"', 'repo = "demo"'),
            "upstream.repo",
            "GitHub slug",
        ),
        (
            lambda t: t.replace('cpu = "plain"', 'cpu = "fancy"'),
            "build.devices.cpu",
            "names no build mode",
        ),
        (
            lambda t: t.replace('kind = "source"', 'kind = "magic"'),
            "build.modes.plain.kind",
            "must be one of source, wheel-overlay",
        ),
        (
            lambda t: t.replace('runner = "pytest"', 'runner = "pytest"\nrunnr = "x"'),
            "tests.runnr",
            "is not a known key",
        ),
        (lambda t: t.replace('format = "plain"', 'format = "html"'), "pr.format", "must be one of"),
        (lambda t: t.replace("[labels]", "[labls]"), "labels", "is missing"),
        (
            lambda t: t.replace('format = "plain"', 'format = "plain"\n[[pr.labels]]\nlabel = "x"'),
            "pr.labels[0].paths",
            "is missing",
        ),
        (
            lambda t: t.replace('format = "plain"', 'format = "plain"\n[[pr.warn]]\npaths = ["a"]'),
            "pr.warn[0].message",
            "is missing",
        ),
        (
            lambda t: t.replace('format = "plain"', 'format = "plain"\n[pr.internal]\npath = []'),
            "pr.internal.path",
            "is not a known key",
        ),
        (
            lambda t: t.replace('tests = ["test/test_{x}.py"]', "tests = []"),
            "tests.map[0].tests",
            "at least one",
        ),
        (
            lambda t: t.replace("[pr]", "[bench.devices.gpu]\nenv = {}\n\n[pr]"),
            "bench.devices.gpu",
            "is not a device",
        ),
        (
            lambda t: t.replace("[pr]", "[bench.devices.cpu]\nenv = { X = 1 }\n\n[pr]"),
            "bench.devices.cpu.env",
            "table of environment variables",
        ),
        (
            lambda t: t.replace("[pr]", '[bench.devices.cpu]\nargs = ["-x"]\n\n[pr]'),
            "bench.devices.cpu.args",
            "is not a known key",
        ),
        (
            lambda t: t + '\n[ci]\nask_label = "ask for {label} in {room}"\n',
            "ci.ask_label",
            "may name only {label} and {bot}, not {room}",
        ),
        (
            lambda t: t + '\n[ci]\nask_label = "comment `{bot} {label}`"\n',
            "ci.ask_label",
            "names {bot}, but [pr] has no label_bot",
        ),
        (
            lambda t: t + '\n[ci]\nask_label = "ask for {label"\n',
            "ci.ask_label",
            "is not a template",
        ),
        (
            lambda t: t + '\n[ci.label_workflows]\n"ROCm tests" = 3\n',
            "ci.label_workflows",
            "a table of workflow name = the label",
        ),
        (
            lambda t: t + '\n[ci.label_workflows]\n"ROCm tests" = " "\n',
            "ci.label_workflows.ROCm tests",
            "must name a label",
        ),
        (lambda t: t + '\n[ci]\nask_rerun = ""\n', "ci.ask_rerun", "one line"),
        (lambda t: t + '\n[ci]\nask_retry = "x"\n', "ci.ask_retry", "is not a known key"),
    ],
)
def test_malformed_recipe_exits_2_naming_file_and_key(workspace, wb, edit, key, expected):
    recipe = workspace.root / "upstreams" / "demo" / "recipe.toml"
    recipe.write_text(edit(recipe.read_text()))
    res = wb("upstream", "fetch", "demo")
    assert res.code == 2
    line = res.err.strip()
    assert "\n" not in line and "Traceback" not in line
    assert "upstreams/demo/recipe.toml" in line
    assert f"'{key}'" in line
    assert expected in line


def test_invalid_toml_names_the_file_and_position(workspace, wb):
    recipe = workspace.root / "upstreams" / "demo" / "recipe.toml"
    recipe.write_text(recipe.read_text().replace('pin = "v1.0"', "pin = v1.0"))
    res = wb("patches", "status", "demo")
    assert res.code == 2
    assert "upstreams/demo/recipe.toml: is not valid TOML" in res.err
    assert "line 5" in res.err


def test_unknown_upstream_lists_the_known_ones(workspace, wb):
    write(
        workspace.root / "upstreams" / "other" / "recipe.toml",
        (workspace.root / "upstreams" / "demo" / "recipe.toml").read_text(),
    )
    res = wb("patches", "apply", "nope")
    assert res.code == 2
    assert res.err.strip() == "workbench: unknown upstream 'nope' (known upstreams: demo, other)"


def test_overrides_from_workbench_toml_and_env(workspace, monkeypatch, tmp_path: Path):
    ws = Workspace(workspace.root)
    assert load_recipe(ws, "demo").pin_source == "recipe"
    write(ws.local_config, '[upstreams.demo]\nurl = "/mirror/demo"\npin = "v0.9"\n')
    r = load_recipe(ws, "demo")
    assert (r.upstream.url, r.url_source) == ("/mirror/demo", "workbench.toml")
    assert (r.upstream.pin, r.pin_source) == ("v0.9", "workbench.toml")
    monkeypatch.setenv("WORKBENCH_DEMO_PIN", "abc1234")
    r = load_recipe(ws, "demo")
    assert (r.upstream.pin, r.pin_source) == ("abc1234", "env WORKBENCH_DEMO_PIN")
    assert r.upstream.url == "/mirror/demo"
    # workbench.toml is git-ignored: overriding never edits a tracked file.
    from tests.conftest import git

    assert git(workspace.root, "status", "--porcelain") == ""


def test_workbench_toml_errors_name_the_key(workspace):
    ws = Workspace(workspace.root)
    write(ws.local_config, '[upstreams.nope]\npin = "x"\n')
    with pytest.raises(
        RecipeError,
        match=r"workbench.toml: key 'upstreams.nope': names no upstream \(known: demo\)",
    ):
        load_recipe(ws, "demo")
    write(ws.local_config, '[upstreams.demo]\npinn = "x"\n')
    with pytest.raises(RecipeError, match=r"key 'upstreams.demo.pinn': is not a known key"):
        load_recipe(ws, "demo")


def test_known_upstreams_are_the_recipe_folders(workspace):
    (workspace.root / "upstreams" / "empty").mkdir()
    assert known_upstreams(Workspace(workspace.root)) == ["demo"]


def test_bench_processes_get_the_recipes_device_fallbacks():
    """What every bench process starts with comes from the recipe and the device found: the
    Triton interpreter on a CPU, never on a GPU; the build mode's own environment (xla's
    PJRT_DEVICE) either way."""
    recipes = {r.name: r for r in load_recipes(Workspace(REPO_ROOT))}
    ao, triton, xla = recipes["ao"], recipes["triton"], recipes["xla"]
    for r in (ao, triton):
        assert r.bench_env("cpu")["TRITON_INTERPRET"] == "1"
        for gpu in ("cuda", "rocm"):
            assert "TRITON_INTERPRET" not in r.bench_env(gpu)
    assert ao.bench_env("cpu") == {"USE_CPP": "0", "TRITON_INTERPRET": "1"}
    assert xla.bench_env("cpu") == {"PJRT_DEVICE": "CPU"}
    assert xla.bench_env("tpu") == {"PJRT_DEVICE": "TPU"}
    # The CUDA mode without CUDA_HOME builds as python-only: still no interpreter on the GPU.
    assert ao.bench_env("cuda", ao.build_mode("cpu")) == {"USE_CPP": "0"}


def test_bench_run_file_of_an_upstream_gets_its_fallbacks(workspace, monkeypatch):
    from workbench.envs.builder import EnvBuilder, bench_env_of_files

    recipe = workspace.root / "upstreams" / "demo" / "recipe.toml"
    recipe.write_text(
        recipe.read_text().replace("[pr]", '[bench.devices.cpu]\nenv = { FALLBACK = "1" }\n\n[pr]')
    )
    bench = write(workspace.root / "upstreams" / "demo" / "benches" / "bench_x.py", "")
    other = write(workspace.root / "elsewhere" / "bench_y.py", "")
    ws = Workspace(workspace.root)
    monkeypatch.setenv("WORKBENCH_DEVICE", "cpu")
    assert bench_env_of_files(ws, [bench]) == {"FALLBACK": "1"}
    assert bench_env_of_files(ws, [other]) == {}
    assert EnvBuilder(ws, load_recipe(ws, "demo")).bench_env() == {"FALLBACK": "1"}
    monkeypatch.setenv("WORKBENCH_DEVICE", "cuda")
    assert bench_env_of_files(ws, [bench]) == {}
