#!/usr/bin/env bash
# Installs everything and starts the workbench on http://localhost:8501.
# Usage: scripts/run.sh [DATASET_DIR]   (no argument: the bundled synthetic demo dataset)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh requirements.txt
if [ $# -ge 1 ]; then export GENRE_DATASET="$(cd "$1" && pwd)"; fi
echo "Warming up (librosa's one-time numba compile on a new machine takes ~30 s; then it is cached)..." >&2
.venv/bin/python -m genre warmup
exec .venv/bin/python -m streamlit run streamlit_app.py --server.port "${PORT:-8501}"
