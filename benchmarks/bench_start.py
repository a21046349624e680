#!/usr/bin/env python
"""Benchmark: Start -> first epoch shown, in the real app in a real browser, this checkout against a baseline.

Each version gets its own checkout (a ``git worktree`` for the baseline), its own ``$GENRE_HOME`` and its own
server (``streamlit run``); one chromium tab sets up the demo dataset, extracts the features and opens Train
(the default network and backend: dense on JAX, auto), then starts ROUNDS runs of EPOCHS epochs, one after the
other, WAIT_S apart (a user reads the results between two runs). Measured from the click on "Start training"
to the first "Epoch 1/N" on the page (bench_app.app_run). The versions are measured in turn, in one run of
this script, on the same machine.

A benchmark, not a test: nothing here asserts. Writes benchmarks/results_start.json.

    python benchmarks/bench_start.py                  # this checkout against the commit before the warm queue
    python benchmarks/bench_start.py --baseline REV
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from bench_app import App, app_run  # noqa: E402
from bench_memory import side_by_side, start  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402

from tests.browser_kit import extract, launch_browser, new_tab, set_up_demo, stop_server  # noqa: E402

BASELINE = "0d0d021"  # main before the warm processes and the queue
ROUNDS, EPOCHS, WAIT_S = 3, 30, 15.0  # 30 epochs: a run that ends before the page redraws shows no first epoch


def end_spares(home: Path) -> None:
    """The spares a version left waiting (they would idle for 10 minutes in their own sessions)."""
    import json
    import os
    import signal

    from genre.process import ProcessId

    for entry in (home / "queue" / "spares").glob("*.json"):
        ident = ProcessId.from_dict(json.loads(entry.read_text() or "{}"))
        if ident is not None and ident.alive():
            os.killpg(ident.pid, signal.SIGKILL)


@contextlib.contextmanager
def demo_on_train(label: str, checkout: Path, work: Path):
    """A server of ``checkout`` (workspace ``work/home-<label>``) and a chromium tab that has set up the demo
    dataset, extracted its features (30 s, 5 segments) and opened Train: ``(App, browser, url)``. The server and
    the spares it left waiting end afterwards."""
    home = work / f"home-{label}"
    proc, url = start(checkout, home, work / f"server-{label}.log")
    try:
        with sync_playwright() as pw:
            browser = launch_browser(pw)
            tab = new_tab(browser, label)
            set_up_demo(tab, url)
            extract(tab, duration=30, segments=5)
            tab.nav("Train")
            yield App(home, proc, tab), browser, url
            browser.close()
    finally:
        stop_server(proc)
        end_spares(home)


def measure(label: str, checkout: Path, work: Path) -> dict:
    with demo_on_train(f"start-{label}", checkout, work) as (app, _, _):
        time.sleep(WAIT_S)  # the page was opened: a warm process (where there is one) gets ready
        runs = []
        for i in range(ROUNDS):
            out = app_run(app, epochs=EPOCHS, name=f"{label}-{i}")
            runs.append({k: out.get(k) for k in ("first_epoch_s", "wall_s", "backend", "epoch1_s", "state")})
            print(f"  {label} round {i}: first epoch shown after {out['first_epoch_s']} s", flush=True)
            time.sleep(WAIT_S)
    firsts = [r["first_epoch_s"] for r in runs if r["first_epoch_s"] is not None]
    return {"runs": runs, "first_epoch_s_median": statistics.median(firsts) if firsts else None}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--baseline", default=BASELINE)
    args = ap.parse_args()
    with side_by_side(args.baseline, "bench-start-") as (work, base, this):
        results = {"baseline": {"commit": args.baseline, **measure("baseline", base, work)},
                   "this": {"commit": this, **measure("this", REPO, work)},
                   "rounds": ROUNDS, "epochs": EPOCHS, "wait_s": WAIT_S}
        (REPO / "benchmarks" / "results_start.json").write_text(json.dumps(results, indent=1))
    b, t = results["baseline"]["first_epoch_s_median"], results["this"]["first_epoch_s_median"]
    print(f"Start -> first epoch shown, median of {ROUNDS}: baseline {b:.2f} s, this {t:.2f} s")


if __name__ == "__main__":
    main()
