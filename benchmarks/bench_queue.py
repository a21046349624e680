#!/usr/bin/env python
"""Benchmark: 20 Starts from 5 tabs within a few seconds, in the real app in a real browser.

One server (``streamlit run``, its own ``$GENRE_HOME``); one chromium tab sets up the demo dataset and extracts
its features; then five tabs, each a session of its own (its own browser context), open Train, set 5 epochs and
press *Start training* four times, as fast as the page takes the clicks. Meanwhile a sampler reads every run's
record on disk every 0.1 s: how many train at once (state ``running``), how many are queued. Then it waits for
every run to end. Reported: the seconds the 20 clicks took, the most runs training at once (against the cap,
``GENRE_MAX_RUNS``, default one on 2 cores), how many finished ``done``, how many were lost (no record, or not
ended), and whether each tab showed its run's place in the queue ("Queued: N runs ahead").

No baseline is run beside it: before the queue, each Start started its own training process at once (20 at a
time on two cores). A benchmark, not a test: nothing here asserts. Writes benchmarks/results_queue.json.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from bench_start import demo_on_train  # noqa: E402

from tests.browser_kit import new_tab  # noqa: E402

TABS, STARTS, EPOCHS = 5, 4, 5
FINAL = {"done", "failed", "stopped"}


def states(home: Path) -> dict[str, str]:
    out = {}
    for status in (home / "runs").glob("*/status.json"):
        try:
            out[status.parent.name] = json.loads(status.read_text()).get("state", "?")
        except (OSError, ValueError):
            out[status.parent.name] = "?"  # being written
    return out


class Sampler(threading.Thread):
    def __init__(self, home: Path):
        super().__init__(daemon=True)
        self.home, self.max_running, self.max_queued, self.alive = home, 0, 0, True

    def run(self):
        while self.alive:
            now = list(states(self.home).values())
            self.max_running = max(self.max_running, now.count("running"))
            self.max_queued = max(self.max_queued, now.count("queued"))
            time.sleep(0.1)


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="bench-queue-"))
    home = work / "home-queue"
    sampler = Sampler(home)
    result: dict = {"tabs": TABS, "starts_per_tab": STARTS, "epochs": EPOCHS,
                    "cap": int(os.environ.get("GENRE_MAX_RUNS") or max(1, (os.cpu_count() or 1) // 2))}
    try:
        with demo_on_train("queue", REPO, work) as (_, browser, url):
            tabs = [new_tab(browser, f"tab{i}") for i in range(TABS)]
            for tab in tabs:
                tab.page.goto(url + "/train")
                tab.text("Train", where="h1")
                tab.page.get_by_role("button", name="Start training").wait_for()
                tab.set_number("Epochs", EPOCHS)
            sampler.start()
            clicked, shown_place = time.perf_counter(), set()
            for round_ in range(STARTS):
                for i, tab in enumerate(tabs):
                    before = len(states(home))
                    tab.page.get_by_role("button", name="Start training").click()
                    deadline = time.monotonic() + 20
                    while len(states(home)) == before and time.monotonic() < deadline:
                        time.sleep(0.05)
                    if tab.page.get_by_text("Queued:").count():
                        shown_place.add(i)
            result["clicks_s"] = round(time.perf_counter() - clicked, 2)
            for i, tab in enumerate(tabs):  # the tab's own run, queued or not yet: does it say its place?
                if tab.page.get_by_text("Queued:").count():
                    shown_place.add(i)
            result["tabs_that_showed_a_place"] = len(shown_place)
            deadline = time.monotonic() + 600
            while time.monotonic() < deadline:
                now = states(home)
                if len(now) >= TABS * STARTS and all(s in FINAL for s in now.values()):
                    break
                time.sleep(0.5)
            result["all_ended_s"] = round(time.perf_counter() - clicked, 1)
    finally:
        sampler.alive = False
    final = states(home)
    result.update(runs=len(final), done=sum(s == "done" for s in final.values()),
                  not_ended=sum(s not in FINAL for s in final.values()), lost=TABS * STARTS - len(final),
                  max_training_at_once=sampler.max_running, max_queued_at_once=sampler.max_queued)
    (REPO / "benchmarks" / "results_queue.json").write_text(json.dumps(result, indent=1))
    for k, v in result.items():
        print(f"{k:<28}{v}")


if __name__ == "__main__":
    main()
