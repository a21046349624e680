#!/usr/bin/env python
"""Benchmark: 50 epochs of the default network on a GTZAN-sized dataset, in the real app in a real browser.

One server (``streamlit run``) of this checkout with its own ``$GENRE_HOME`` and one chromium tab: the Dataset page
is given a folder of 1,000 synthetic 30 s WAVs in 10 genre folders (GTZAN's shape; made once, kept in ``--data``),
the Features page extracts them with 10 segments per track (10,000 rows of 130 x 13, GTZAN's default features),
and the Train page trains the default network for EPOCHS epochs on each backend in turn: ``auto`` (the default: JAX
for the dense network) and ``tensorflow`` (the default before auto), side by side in this one run.

Reported per backend: the run's training seconds as its record says (result.json: build, fit and test, the number
the Train page shows as "Time"), the first epoch and the median later epoch (epochs.jsonl), and the wall clock from
the click on "Start training" to the results on the page. Also the extraction's wall clock in the page.

A benchmark, not a test: nothing here asserts. Writes benchmarks/results_gtzan_app.json.

    python benchmarks/bench_gtzan_app.py [--epochs 50] [--data /tmp/genre-gtzan-1000]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from bench import make_dataset  # noqa: E402
from bench_app import App, app_run  # noqa: E402
from bench_memory import start  # noqa: E402
from bench_start import end_spares  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402
from table import print_table  # noqa: E402

from genre.jobs.runs import BACKENDS as BACKEND_LABELS  # noqa: E402
from tests.browser_kit import launch_browser, new_tab, stop_server  # noqa: E402

TRACKS, SEGMENTS = 1000, 10
BACKENDS = ("auto", "tensorflow")


def dataset(root: Path) -> Path:
    """The 1,000-track folder, made unless it is there already (making it takes a few minutes)."""
    if len(list(root.glob("*/*.wav"))) != TRACKS:
        print(f"making {TRACKS} tracks of 30 s in {root} ...", flush=True)
        make_dataset(root, TRACKS)
    return root


def extract_in_page(tab, url: str, root: Path) -> float:
    """Open the folder on the Dataset page, extract with SEGMENTS segments on the Features page; the extraction's
    seconds from the click to the result on the page."""
    tab.page.goto(url + "/dataset")
    tab.text("Dataset", where="h1")
    tab.set_text("Dataset folder", str(root))
    tab.page.get_by_text(f"Dataset · {root.name}").first.wait_for(timeout=120_000)  # the status strip
    tab.nav("Features")
    tab.text("Input shape", where='[data-testid="stMetric"]')
    tab.set_slider("Segments per track", SEGMENTS)
    tab.settle()
    start_at = time.perf_counter()
    tab.page.get_by_role("button", name="Extract features").click()
    tab.page.get_by_text(re.compile(r"Extracted [\d,]+ rows from [\d,]+ files|Cache hit: these features")).first \
        .wait_for(timeout=600_000)
    seconds = time.perf_counter() - start_at
    tab.settle()
    tab.step("gtzan-extracted")
    return seconds


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=50)
    ap.add_argument("--data", type=Path, default=Path(tempfile.gettempdir()) / "genre-gtzan-1000")
    ap.add_argument("--json-out", type=Path, default=Path(__file__).with_name("results_gtzan_app.json"))
    a = ap.parse_args(argv)
    import os

    root = dataset(a.data)
    results: dict = {"tracks": TRACKS, "segments": SEGMENTS, "epochs": a.epochs, "runs": {}}
    with tempfile.TemporaryDirectory(prefix="genre-bench-gtzan-", ignore_cleanup_errors=True) as tmp:
        work = Path(tmp)
        home = work / "home"
        proc, url = start(REPO, home, work / "server.log")
        try:
            with sync_playwright() as pw:
                browser = launch_browser(pw)
                tab = new_tab(browser, "gtzan")
                tab.page.goto(url + "/")
                tab.text("genre workbench", where="h1")
                results["extract_s"] = extract_in_page(tab, url, root)
                print(f"extraction in the page: {results['extract_s']:.1f} s", flush=True)
                results["load_before"] = os.getloadavg()[0]
                for backend in BACKENDS:
                    tab.nav("Train")
                    label = BACKEND_LABELS[backend]
                    if not tab.page.get_by_role("radio", name=label, exact=True).is_checked():  # a click on the
                        tab.act(lambda: tab.page.get_by_text(label, exact=True).first.click())  # chosen one: no rerun
                    tab.settle()
                    time.sleep(15)  # the Train page was opened: its warm worker gets ready, as for a user
                    out = app_run(App(home, proc, tab), epochs=a.epochs, name=f"gtzan-{backend}")
                    results["runs"][backend] = out
                    print(f"{backend} ({out['backend']}): {out['seconds']:.1f} s of training, wall {out['wall_s']:.1f} s",
                          flush=True)
                browser.close()
        finally:
            stop_server(proc)
            end_spares(home)
    rows = [{"backend (picked)": f"{b} ({r['backend']})", "training s (Time)": f"{r['seconds']:.1f}",
             "epoch 1 s": f"{r['epoch1_s']:.2f}", "later epoch s": f"{r['epoch_s']:.2f}",
             "Start -> results s": f"{r['wall_s']:.1f}"} for b, r in results["runs"].items()]
    print(f"{TRACKS} tracks x {SEGMENTS} segments, {a.epochs} epochs of the default network, in the app; "
          f"extraction {results['extract_s']:.1f} s; load {results['load_before']:.1f} before training")
    print_table(rows, tuple(rows[0]))
    a.json_out.write_text(json.dumps(results, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
