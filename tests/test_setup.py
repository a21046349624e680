"""scripts/setup.sh installs only when something changed; pyproject.toml declares genre's data folder.

The install is faked (a stand-in ``python`` that records pip calls), so this takes a second, not minutes.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

FAKE_PYTHON = """#!/usr/bin/env bash
case "$1 $2" in
  "-m venv") mkdir -p "$3/bin" && cp "$0" "$3/bin/python" && exit 0 ;;
  "-m pip") echo "$*" >> "$PIP_CALLS"; exit 0 ;;
esac
[ "$1" = "--version" ] && echo "Python 3.11.7"
"""


@pytest.fixture
def repo(tmp_path):
    """A copy of the set-up's inputs, with a stand-in Python: ``(folder, run(*args) -> exit code, pip calls)``."""
    for name in ("requirements.txt", "requirements-dev.txt", "requirements-nodeps.txt", "pyproject.toml"):
        shutil.copy(REPO / name, tmp_path / name)
    (tmp_path / "scripts").mkdir()
    shutil.copy(REPO / "scripts" / "setup.sh", tmp_path / "scripts" / "setup.sh")
    fake = tmp_path / "fake-python"
    fake.write_text(FAKE_PYTHON)
    fake.chmod(0o755)
    calls = tmp_path / "pip-calls"
    env = {**os.environ, "PYTHON": str(fake), "PIP_CALLS": str(calls)}

    def run(*args) -> int:
        return subprocess.run(["bash", "scripts/setup.sh", *args], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=60).returncode

    return tmp_path, run, lambda: calls.read_text().splitlines() if calls.exists() else []


def test_a_second_set_up_installs_nothing(repo):
    folder, run, pip_calls = repo
    assert run("--check", "requirements.txt") == 1  # nothing installed yet
    assert run("requirements.txt") == 0
    installed = len(pip_calls())
    assert installed == 4  # pip itself, the requirements, the data-only packages (musicnn's weights), the project
    assert run("--check", "requirements.txt") == 0
    assert run("requirements.txt") == 0 and len(pip_calls()) == installed  # no pip at all the second time


@pytest.mark.parametrize("changed", ["requirements.txt", "pyproject.toml", "requirements-nodeps.txt"])
def test_a_changed_requirement_or_project_file_installs_again(repo, changed):
    folder, run, pip_calls = repo
    assert run("requirements-dev.txt") == 0
    with open(folder / changed, "a") as fh:  # requirements.txt is included by requirements-dev.txt with -r
        fh.write("\n# changed\n")
    assert run("--check", "requirements-dev.txt") == 1
    assert run("requirements-dev.txt") == 0 and len(pip_calls()) == 8
    assert run("--check", "requirements-dev.txt") == 0


def test_the_package_data_is_declared_so_setuptools_has_nothing_to_warn_about():
    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert config["packages"]["find"]["include"] == ["genre*"]
    declared = {f for pattern in config["package-data"]["genre.data"] for f in (REPO / "genre" / "data").glob(pattern)}
    assert REPO / "genre" / "data" / "gtzan-fault-filtered" / "train.txt" in declared  # the split lists ship
    assert all((REPO / "genre" / layer / "__init__.py").is_file() for layer in ("data", "learn", "jobs"))
