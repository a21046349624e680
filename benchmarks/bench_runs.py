#!/usr/bin/env python
"""Benchmark: the Runs page with 3 and with 150 run records, in the real app in a real browser, this checkout
against a baseline (before the runs' briefs), side by side in one run of this script.

One real run is trained (the demo's features, 2 epochs); its record is copied to make N records, each
``result.json`` padded to the size of a GTZAN run's (300 test tracks' rows, ~400 KB). For each version and N,
a server with its own ``$GENRE_HOME``; a new chromium tab opens /runs and the time until the table of runs
is drawn and the page has settled is taken, ROUNDS times (a new session each time).

A benchmark, not a test: nothing here asserts. Writes benchmarks/results_runs.json.

    python benchmarks/bench_runs.py [--baseline REV]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from bench_memory import side_by_side, start  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402

from tests.browser_kit import app_env, launch_browser, new_tab, stop_server  # noqa: E402

BASELINE = "0f7e2f7"  # main before the runs' briefs and the listing module
COUNTS, ROUNDS, TRACK_ROWS = (3, 150), 3, 300

PREPARE = """
import json, sys
try:
    from genre.data import workspace
    from genre.data.params import FeatureParams
    from genre.learn.config import ModelConfig, TrainConfig
    from genre.data.extract import extract_to_store
    from genre.jobs.runs import create_run
    from genre.jobs.execution import execute
except ImportError:
    from genre.data import workspace
    from genre.data.params import FeatureParams
    from genre.learn.config import ModelConfig, TrainConfig
    from genre.data.extract import extract_to_store
    from genre.jobs.runs import create_run, execute
root = workspace.ensure_demo_dataset()
params = FeatureParams(duration=6.0, num_segments=3, files_per_genre=4)
store = workspace.features_path(root, params)
fs, _ = extract_to_store(root, params, store)
run = create_run(workspace.runs_dir(), features_path=store, features=fs, train_config=TrainConfig(epochs=2),
                 model_config=ModelConfig(hidden_units=(32,)), name="model", models_dir=workspace.models_dir(),
                 source="cli", backend="tensorflow")
execute(run)
print(run.path)
"""


def make_home(checkout: Path, home: Path, n: int) -> None:
    out = subprocess.run([sys.executable, "-c", PREPARE], cwd=checkout, capture_output=True, text=True,
                         env={**app_env(home), "PYTHONPATH": str(checkout)}, timeout=900)
    if out.returncode:
        raise RuntimeError(out.stderr[-3000:])
    first = Path(out.stdout.strip().splitlines()[-1])
    result = json.loads((first / "result.json").read_text())
    rows = result.get("tracks") or []
    result["tracks"] = (rows * (TRACK_ROWS // max(1, len(rows)) + 1))[:TRACK_ROWS] if rows else []
    (first / "result.json").write_text(json.dumps(result))
    (first / "brief.json").unlink(missing_ok=True)  # made again from the padded result on first read
    for i in range(n - 1):
        copy = first.with_name(f"{first.name[:-6]}{i:06x}")
        shutil.copytree(first, copy)
        spec = json.loads((copy / "run.json").read_text())
        spec.update(id=copy.name, name=f"model-{i}")
        (copy / "run.json").write_text(json.dumps(spec))


def measure(label: str, checkout: Path, work: Path, n: int) -> dict:
    home = work / f"home-{label}-{n}"
    make_home(checkout, home, n)
    proc, url = start(checkout, home, work / f"server-{label}-{n}.log")
    times = []
    try:
        with sync_playwright() as pw:
            browser = launch_browser(pw)
            for i in range(ROUNDS + 1):  # the first visit warms the server's imports: not counted
                tab = new_tab(browser, f"runs-{label}-{n}-{i}")
                t0 = time.perf_counter()
                tab.page.goto(url + "/runs")
                tab.page.locator('[data-testid="stDataFrame"]').first.wait_for(timeout=120_000)
                tab.settle()
                if i:
                    times.append(time.perf_counter() - t0)
                tab.page.context.close()
            browser.close()
    finally:
        stop_server(proc)
    return {"seconds": times, "median_s": statistics.median(times)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--baseline", default=BASELINE)
    args = ap.parse_args()
    with side_by_side(args.baseline, "bench-runs-") as (work, base, this):
        results = {"baseline": {"commit": args.baseline}, "this": {"commit": this}}
        for label, checkout in (("baseline", base), ("this", REPO)):
            for n in COUNTS:
                results[label][str(n)] = measure(label, checkout, work, n)
                print(f"{label}, {n} runs: Runs page drawn in {results[label][str(n)]['median_s']:.2f} s",
                      flush=True)
    (REPO / "benchmarks" / "results_runs.json").write_text(json.dumps(results, indent=1))
    for label in ("baseline", "this"):
        a, b = results[label]["3"]["median_s"], results[label]["150"]["median_s"]
        print(f"{label}: 3 runs {a:.2f} s, 150 runs {b:.2f} s ({b / a:.2f}x)")


if __name__ == "__main__":
    main()
