#!/usr/bin/env bash
# Creates .venv (Python 3.11) and installs the project into it. Used by run.sh and test.sh.
# Installs only when something changed since the last install: the requirements (with the files they
# include), pyproject.toml or the Python version. A second start takes a second, not a reinstall.
# Usage: scripts/setup.sh [requirements file]          (default: requirements.txt)
#        scripts/setup.sh --check [requirements file]  (exit 0 when .venv is up to date, 1 when not)
set -euo pipefail
cd "$(dirname "$0")/.."
check=0
if [ "${1:-}" = "--check" ]; then check=1; shift; fi
req="${1:-requirements.txt}"
py="${PYTHON:-python3}"
stamp=".venv/.installed-$(basename "$req")"  # one per requirements file: run.sh and test.sh each keep theirs

# What the install depends on: the requirements file and every file it includes with -r, pyproject.toml, Python.
wanted() {
  local files=("$req") inc
  while read -r inc; do files+=("$(dirname "$req")/$inc"); done < <(sed -n 's/^[[:space:]]*-r[[:space:]]*//p' "$req")
  { cat "${files[@]}" pyproject.toml requirements-nodeps.txt; "$py" --version; } | sha256sum | cut -d' ' -f1
}

up_to_date() { [ -x .venv/bin/python ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$(wanted)" ]; }

if [ "$check" = 1 ]; then up_to_date; exit $?; fi
if up_to_date; then exit 0; fi

if [ ! -x .venv/bin/python ]; then
  if ! "$py" -m venv .venv 2>/dev/null; then
    # Debian's system Python keeps venv in a separate package.
    echo "setup: installing python3-venv" >&2
    apt-get update -qq && apt-get install -y -qq python3-venv >/dev/null
    rm -rf .venv && "$py" -m venv .venv
  fi
fi
echo "setup: installing $req into .venv (first time, or it changed; a few minutes)" >&2
log=.venv/install.log
pip=(.venv/bin/python -m pip install --disable-pip-version-check)
# pip and setuptools are chatty (and this machine's pip config warns about local indexes): their words go
# to the log, shown only when the install fails.
# requirements-nodeps.txt: packages used for their data only (musicnn's weights), whose pins would break the rest.
if ! { "${pip[@]}" --upgrade pip && "${pip[@]}" -r "$req" && "${pip[@]}" --no-deps -r requirements-nodeps.txt \
       && "${pip[@]}" --no-deps -e .; } >"$log" 2>&1; then
  tail -n 40 "$log" >&2
  echo "setup: the install failed (the whole log: $log)" >&2
  exit 1
fi
wanted >"$stamp"
