"""The workflow file, parsed, checked against what the dispatcher sends and looks for."""

from __future__ import annotations

import json
import re

import pytest

from tests.github_actions import load_workflow, render, upload_step
from workbench.remote.workflow import (
    DEVICE_FILE,
    GPU_LABELS,
    INPUTS,
    LOG_FILE,
    SESSIONS,
    TPU_LABELS,
    artifact_name,
    default_labels,
    run_marker,
)


@pytest.fixture(scope="module")
def doc():
    return load_workflow()


@pytest.fixture(scope="module")
def job(doc):
    return doc["jobs"]["check"]


def test_it_is_started_by_workflow_dispatch_with_the_dispatchers_inputs(doc):
    assert set(doc["on"]) == {"workflow_dispatch"}
    inputs = doc["on"]["workflow_dispatch"]["inputs"]
    assert tuple(inputs) == INPUTS
    assert inputs["upstream"]["required"] is True
    assert inputs["session"]["type"] == "choice"
    assert tuple(inputs["session"]["options"]) == SESSIONS
    # GitHub allows at most 25 inputs; every one here is a string the dispatcher can send.
    assert all(i["type"] in ("string", "choice") for i in inputs.values())
    assert json.loads(inputs["runner_labels"]["default"]) == list(GPU_LABELS)


def test_run_name_carries_the_dispatch_id(doc):
    title = render(
        doc["run-name"],
        {
            "inputs.upstream": "ao",
            "inputs.session": "bench",
            "inputs.runner_labels": '["self-hosted"]',
            "inputs.dispatch_id": "abc123",
        },
    )
    assert run_marker("abc123") in title and title.startswith("ao bench")


def test_runs_on_the_labels_and_checks_out_the_ref(job):
    assert re.fullmatch(r"\$\{\{\s*fromJSON\(inputs\.runner_labels\)\s*\}\}", job["runs-on"])
    checkout = job["steps"][0]
    assert checkout["uses"].startswith("actions/checkout@")
    assert "inputs.ref" in checkout["with"]["ref"]


def test_nox_runs_the_session_named_by_the_inputs(job):
    assert job["env"]["UPSTREAM"] == "${{ inputs.upstream }}"
    assert job["env"]["SESSION"] == "${{ inputs.session }}"
    scripts = [s.get("run", "") for s in job["steps"]]
    nox = [s for s in scripts if "nox -s" in s]
    assert len(nox) == 1
    assert 'nox -s "${UPSTREAM}_${SESSION}"' in nox[0]
    # The session's own exit code must survive the tee into the log.
    assert "pipefail" in nox[0] and '"$WORKBENCH_HOME/runs/$UPSTREAM/$LOG_FILE"' in nox[0]
    # Inputs never pasted into a script: they arrive as environment variables.
    assert not any("${{ inputs." in s for s in scripts)


def test_the_device_and_log_files_are_the_ones_the_dispatcher_reads(job):
    assert job["env"]["DEVICE_FILE"] == DEVICE_FILE
    assert job["env"]["LOG_FILE"] == LOG_FILE
    prepare = next(s["run"] for s in job["steps"] if "nvidia-smi" in s.get("run", ""))
    assert "--query-gpu=name --format=csv,noheader" in prepare
    assert "device=cpu" in prepare  # a runner without GPU is fine: the CPU paths
    assert "WORKBENCH_HOME=" in prepare


def test_python_is_set_up_only_where_the_runner_has_none(job):
    setup = next(
        s for s in job["steps"] if str(s.get("uses", "")).startswith("actions/setup-python")
    )
    assert setup["if"] == "steps.python.outputs.found != 'true'"
    assert any(s.get("id") == "python" for s in job["steps"])


def test_the_upload_always_runs_and_is_named_as_the_dispatcher_expects(doc):
    step = upload_step(doc)
    assert step["uses"] == "actions/upload-artifact@v4"
    assert step["if"] == "always()"
    context = {"inputs.upstream": "xla", "inputs.session": "tests", "github.run_id": "987"}
    assert render(step["with"]["name"], context) == artifact_name("xla", "tests", 987)
    path = render(step["with"]["path"], {**context, "runner.temp": "/tmp/r"})
    assert path.rstrip("/") == "/tmp/r/workbench/runs/xla"


def test_default_labels_follow_the_recipes_devices():
    assert default_labels({"cpu": "overlay", "tpu": "overlay-tpu"}) == TPU_LABELS
    assert default_labels({"cpu": "python-only", "cuda": "cuda"}) == GPU_LABELS
