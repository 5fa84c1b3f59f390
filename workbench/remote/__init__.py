"""Remote runs: the same nox sessions on GitHub Actions runners, results brought home.

The workflow ``.github/workflows/upstream-check.yml`` (in the workbench repository, so a fork has
it) runs ``nox -s <upstream>_<session>`` on runners chosen by labels and uploads the run folder;
this package dispatches it on the contributor's fork, follows the run and unpacks the artifact
into ``.workbench/runs/<name>/<run-id>/`` where local runs live. No job system of our own.
"""
