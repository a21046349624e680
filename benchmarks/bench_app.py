#!/usr/bin/env python
"""Benchmark: what a user of the app meets, in the real app (``streamlit run``) in a real browser.

Side by side in one run, in a temporary ``$GENRE_HOME``:

1. live training from the Train page (the page open, its fragment redrawing every second) against
   ``python -m genre train`` on the same feature store, interleaved;
2. Start -> first epoch shown, and Stop -> "stopped" shown;
3. seconds per epoch with TensorFlow and with JAX on GTZAN-sized features (through the CLI);
4. the server's memory after a Train page visit, N short runs from the browser and a Classify visit.

A benchmark, not a test: nothing here asserts on time. See benchmarks/README.md.

    python benchmarks/bench_app.py --quick     # smoke run: 5 epochs, 1 round, 3 memory runs
    python benchmarks/bench_app.py             # 30 epochs, 3 rounds, 20 memory runs: ~10 min
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from playwright.sync_api import sync_playwright  # noqa: E402
from table import print_table  # noqa: E402  (benchmarks/table.py, beside this script)

from genre.data import workspace  # noqa: E402
from genre.data.params import FeatureParams  # noqa: E402
from genre.data.store import FeatureSet, save_features  # noqa: E402
from genre.jobs.runs import Run, list_runs  # noqa: E402
from tests.browser_kit import (  # noqa: E402
    TRAIN_WAIT_S,
    Tab,
    app_env,
    extract,
    launch_browser,
    new_tab,
    set_up_demo,
    start_server,
    stop_all_runs,
    stop_server,
)

DEFAULT_EPOCHS, QUICK_EPOCHS = 30, 5  # the figure: 30 epochs of the default network on the demo features
DEFAULT_ROUNDS, QUICK_ROUNDS = 3, 1  # app runs and CLI runs each (section 1)
MEMORY_RUNS, QUICK_MEMORY_RUNS = 20, 3  # runs started from the browser (section 4)
MEMORY_EPOCHS = 2
STOP_EPOCHS, STOP_AFTER = 1000, 2  # section 2: a long run, stopped once "Epoch 2/1000" (or later) shows
BACKEND_EPOCHS = 5
GTZAN_TRACKS, GTZAN_SEGMENTS, GTZAN_GENRES = 1000, 10, 10  # 10,000 rows of 130 x 13: GTZAN's default features
SEED = 0
TARGET_RATIO = 1.15  # app "seconds" / CLI "seconds"
POLL_MS = 100  # how often the page (in the browser) and the run record (in a thread) are looked at while timing
CLK_TCK = os.sysconf("SC_CLK_TCK")
MB = 1e6

# Where the Train page is for the run named ``name``: {"end": state} once its results header
# "Run “name”: state" shows; else {"epoch": k} once the progress bar shows "Epoch k/epochs" with
# k >= min (min null: wait for the header only); else null.
PAGE_JS = r"""(a) => {
    const prefix = "Run “" + a.name + "”: ";
    for (const h of document.querySelectorAll("h3")) {
        const i = h.textContent.indexOf(prefix);
        if (i >= 0) return {end: h.textContent.slice(i + prefix.length).trim()};
    }
    if (a.min === null) return null;
    const re = new RegExp("Epoch (\\d+)/" + a.epochs + "(?!\\d)");
    for (const bar of document.querySelectorAll('[data-testid="stProgress"]')) {
        const m = bar.textContent.match(re);
        if (m && Number(m[1]) >= a.min) return {epoch: Number(m[1])};
    }
    return null;
}"""


@dataclass
class App:
    """A running server, its workspace, and the one browser tab that drives it."""

    home: Path
    proc: subprocess.Popen
    tab: Tab


# --- processes: CPU time and memory -------------------------------------------------------------

def _stat(pid: int) -> list[str]:
    """``/proc/PID/stat`` after the command name: index ``n - 3`` is the man page's field ``n``."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return []


def _cpu_s(pid: int, *, reaped_children: bool = False) -> float:
    """User+system seconds of ``pid`` (or of the children it has waited for: cutime+cstime)."""
    f = _stat(pid)
    if not f:
        return 0.0
    i = 13 if reaped_children else 11
    return (int(f[i]) + int(f[i + 1])) / CLK_TCK


def _descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for proc in Path("/proc").glob("[0-9]*"):
        f = _stat(int(proc.name))
        if f:
            children.setdefault(int(f[1]), []).append(int(proc.name))
    found, todo = [], list(children.get(root, []))
    while todo:
        found.append(todo.pop())
        todo.extend(children.get(found[-1], []))
    return found


def _cmd(pid: int) -> str:
    with contextlib.suppress(OSError):
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    return ""


@dataclass(frozen=True)
class Procs:
    """Whose CPU time is counted: found once by a scan of /proc, then read cheaply."""

    server: int | None  # the Streamlit process
    chromium: tuple[int, ...]  # the browser's processes
    driver: tuple[int, ...]  # Playwright's driver (node)


def find_procs(server_pid: int | None) -> Procs:
    server_tree = set(_descendants(server_pid)) | {server_pid} if server_pid else set()
    ours = [p for p in _descendants(os.getpid()) if p not in server_tree]
    chromium = tuple(p for p in ours if "chromium" in _cmd(p))
    return Procs(server_pid, chromium, tuple(p for p in ours if p not in chromium))


def cpu_snapshot(procs: Procs, training_pid: int | None = None) -> dict:
    """CPU seconds so far, by who spends them.

    ``server``, ``chromium``, ``driver`` (see :class:`Procs`); ``reaped``: the run processes the
    server started and has reaped (supervisor + training) plus the CLI processes this script has
    reaped; ``training``: the live process ``training_pid``; ``bench``: this process.
    """
    mine, cli = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    server = procs.server
    return {"server": _cpu_s(server) if server else 0.0,
            "reaped": (_cpu_s(server, reaped_children=True) if server else 0.0) + cli.ru_utime + cli.ru_stime,
            "training": _cpu_s(training_pid) if training_pid else 0.0,
            "chromium": {p: _cpu_s(p) for p in procs.chromium}, "driver": {p: _cpu_s(p) for p in procs.driver},
            "bench": mine.ru_utime + mine.ru_stime}


def cpu_spent(before: dict, after: dict) -> dict:
    """Seconds each spent between two snapshots (a browser process gone meanwhile is not counted)."""
    out = {}
    for k, v in after.items():
        if isinstance(v, dict):
            out[k] = sum(s - before[k].get(p, 0.0) for p, s in v.items() if s)
        else:
            out[k] = v - before[k]
    return out


class TrainingPhase:
    """CPU time by process while a run trains: from its record's state turning "running" to its end.

    A thread polls the new run's status every ``POLL_MS`` and reads a few /proc files (no scan);
    the training process is read while it lives, so the last reading is at most one poll old.
    """

    def __init__(self, home: Path, before: set[str], procs: Procs):
        self.home, self.before, self.procs = home, before, procs
        self.first = self.last = None  # (perf_counter, snapshot)
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        run = None
        while not self._done.wait(POLL_MS / 1000):
            if run is None:
                run = next((r for r in list_runs(self.home / "runs") if r.id not in self.before), None)
                continue
            st = run.raw_status()
            if st.get("state") == "running":
                self.last = (time.perf_counter(), cpu_snapshot(self.procs, st.get("pid")))
                self.first = self.first or self.last
            elif self.first is not None:
                return

    def result(self) -> dict | None:
        """``seconds`` of the phase and each process's CPU as a share of one core (``*_pct``)."""
        self._done.set()
        self._thread.join()
        if self.first is None or self.last[0] <= self.first[0]:
            return None  # too short to see
        seconds = self.last[0] - self.first[0]
        spent = cpu_spent(self.first[1], self.last[1])
        return {"seconds": seconds, **{f"{k}_pct": 100 * v / seconds for k, v in spent.items() if k != "reaped"}}


def rss_mb(pid: int) -> dict:
    """``VmRSS`` (now) and ``VmHWM`` (peak) of ``pid``, in MB."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return {k: int(fields[k].split()[0]) * 1024 / MB for k in ("VmRSS", "VmHWM")}


# --- runs: their records ------------------------------------------------------------------------

def run_ids(home: Path) -> set[str]:
    return {r.id for r in list_runs(home / "runs")}


def new_run(home: Path, before: set[str]) -> Run:
    """The one run recorded since ``before`` was taken."""
    runs = [r for r in list_runs(home / "runs") if r.id not in before]
    if len(runs) != 1:
        raise RuntimeError(f"expected one new run in {home / 'runs'}, found {[r.id for r in runs]}")
    return runs[0]


def wait_reaped(run: Run, timeout: float = 30) -> None:
    """Until the run's processes are gone from /proc (reaped, so their CPU time is their parent's)."""
    st = run.raw_status()
    pids = [p for p in (st.get("supervisor_pid"), st.get("pid")) if p]
    deadline = time.monotonic() + timeout
    while any(Path(f"/proc/{p}").exists() for p in pids) and time.monotonic() < deadline:
        time.sleep(0.05)


def run_record(run: Run) -> dict:
    """What the run's record says: state, backend, ``seconds`` (result.json: build, fit and test),
    epoch 1's seconds (from the start of training: split, build, tracing) and the median of the later
    epochs' seconds (epochs.jsonl's times are cumulative)."""
    result, epochs = run.result() or {}, run.epochs()
    times = [e["seconds"] for e in epochs]
    later = [b - a for a, b in zip(times, times[1:])]
    return {"id": run.id, "name": run.name, "state": run.state, "backend": run.spec.get("backend"),
            "features": run.spec.get("features"), "rows": run.spec.get("rows"), "seconds": result.get("seconds"),
            "epochs_run": len(epochs), "epoch1_s": times[0] if times else None,
            "epoch_s": statistics.median(later) if later else None}


# --- the app in the browser ---------------------------------------------------------------------

@contextlib.contextmanager
def serving(home: Path, log: Path):
    """``streamlit run`` on a free port with ``$GENRE_HOME=home``: yields ``(process, url)``."""
    proc, url = start_server(home, log)
    try:
        yield proc, url
    except BaseException:
        print(f"--- last lines of {log} ---\n" + "\n".join(log.read_text().splitlines()[-40:]), file=sys.stderr)
        raise
    finally:
        stop_server(proc)


def open_app(browser, home: Path, proc: subprocess.Popen, url: str, name: str) -> App:
    """A new tab: Home -> "Set up the demo dataset" -> Features -> Extract with the default parameters."""
    tab = new_tab(browser, name)
    set_up_demo(tab, url)
    extract(tab, duration=int(FeatureParams().duration), segments=FeatureParams().num_segments)
    return App(home, proc, tab)


def on_train_page(tab: Tab) -> None:
    """Go to Train unless there: the sidebar link of the page shown sends no rerun to wait for."""
    if not tab.page.locator("h1").filter(has_text="Train").count():
        tab.nav("Train")


def wait_page(tab: Tab, *, epochs: int, name: str, min_epoch: int | None, timeout_s: float = TRAIN_WAIT_S) -> dict:
    """``{"epoch": k}`` or ``{"end": state}``, as soon as the page shows it (see ``PAGE_JS``)."""
    handle = tab.page.wait_for_function(PAGE_JS, arg={"epochs": epochs, "name": name, "min": min_epoch},
                                        polling=POLL_MS, timeout=timeout_s * 1000)
    return handle.json_value()


def app_run(app: App, *, epochs: int, name: str, stop_after: int | None = None) -> dict:
    """One run started on the Train page (default network, ``epochs``, seed 0) and watched there.

    Timed from the click on "Start training": the first "Epoch k/N" with k >= 1 on the progress
    bar (None when the run ended between two redraws), and the results header "Run “name”: ...".
    With ``stop_after``: Stop is clicked once epoch ``stop_after`` (or later) shows, and the time
    from that click to the header is measured too. Also: what the run's record says (and when,
    see :func:`timeline`), and the CPU time each process spent from the click to the header,
    and while the run trained (:class:`TrainingPhase`).
    """
    tab = app.tab
    on_train_page(tab)
    tab.set_number("Epochs", epochs)
    tab.set_number("Seed", SEED)
    tab.set_text("Run name", name)  # a label only; it makes this run's results header unique on the page
    before, procs = run_ids(app.home), find_procs(app.proc.pid)
    phase, cpu0 = TrainingPhase(app.home, before, procs), cpu_snapshot(procs)
    clicked_at, start = time.time(), time.perf_counter()
    tab.page.get_by_role("button", name="Start training").click()
    shown = wait_page(tab, epochs=epochs, name=name, min_epoch=1)
    out: dict = {"first_epoch_s": time.perf_counter() - start if "epoch" in shown else None,
                 "first_epoch_shown": shown.get("epoch")}
    if stop_after is not None:
        shown, stop_clicked = click_stop(tab, shown, epochs=epochs, name=name, after=stop_after)
        out.update(stop_clicked_at_epoch=shown["epoch"], stop_clicked_s=stop_clicked - start)
    if "end" not in shown:
        shown = wait_page(tab, epochs=epochs, name=name, min_epoch=None)
    out["wall_s"] = time.perf_counter() - start
    if stop_after is not None:
        out["stop_s"] = out["wall_s"] - out["stop_clicked_s"]
    run = new_run(app.home, before)
    wait_reaped(run)
    out["cpu_s"], out["training_cpu"] = cpu_spent(cpu0, cpu_snapshot(procs)), phase.result()
    out.update(run_record(run), timeline_s=timeline(run, clicked_at), shown_state=shown["end"])
    tab.settle()
    tab.check(name)
    if out["state"] != ("stopped" if stop_after else "done"):
        raise RuntimeError(f"run {name!r} ended {out['state']}: {run.status().get('message')}")
    return out


def click_stop(tab: Tab, shown: dict, *, epochs: int, name: str, after: int) -> tuple[dict, float]:
    """Click Stop once epoch ``after`` (or later) shows: what the page showed, and when it was clicked."""
    if shown.get("epoch", after) < after:
        shown = wait_page(tab, epochs=epochs, name=name, min_epoch=after)
    if "end" in shown:
        raise RuntimeError(f"run {name!r} ended ({shown['end']}) before Stop could be clicked")
    clicked = time.perf_counter()
    tab.page.get_by_role("button", name="Stop").click()
    return shown, clicked


def timeline(run: Run, clicked_at: float) -> dict:
    """When the run's record says things happened, in seconds after the Start click (``time.time``
    of one machine): ``created`` (run.json), ``running`` (the training process has imported Keras
    and loaded the features), ``epoch1_logged`` (epochs.jsonl's first line), ``ended`` (final status)."""
    spec, st, epochs = run.spec, run.raw_status(), run.epochs()
    started = st.get("started")
    at = lambda t: None if t is None else t - clicked_at  # noqa: E731
    return {"created": at(spec.get("created")), "running": at(started),
            "epoch1_logged": at(started + epochs[0]["seconds"]) if started and epochs else None,
            "ended": at(st.get("finished"))}


def cli_run(home: Path, features: str | Path, *, epochs: int, name: str, out_dir: Path,
            backend: str = "tensorflow", server_pid: int | None = None) -> dict:
    """``python -m genre train FEATURES --out DIR --epochs N --seed 0 --backend B``: wall time from
    spawn to exit, CPU time by process (as in :func:`cpu_snapshot`, also while it trains: see
    :class:`TrainingPhase`), and what its run record says."""
    cmd = [sys.executable, "-m", "genre", "train", str(features), "--out", str(out_dir / name), "--epochs",
           str(epochs), "--seed", str(SEED), "--backend", backend, "--name", name]
    before, procs = run_ids(home), find_procs(server_pid)
    phase, cpu0 = TrainingPhase(home, before, procs), cpu_snapshot(procs)
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=REPO, env=app_env(home), capture_output=True, text=True)
    wall = time.perf_counter() - start
    cpu, training_cpu = cpu_spent(cpu0, cpu_snapshot(procs)), phase.result()
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}:\n{proc.stderr[-2000:]}")
    return {"wall_s": wall, "cpu_s": cpu, "training_cpu": training_cpu, **run_record(new_run(home, before))}


# --- 1. live training: the app vs the CLI --------------------------------------------------------

def bench_live_training(app: App, work: Path, *, epochs: int, rounds: int) -> dict:
    """``rounds`` runs from the Train page and as many ``python -m genre train`` on the store the app
    extracted, interleaved app, cli, cli, app, app, cli, ... after one untimed 1-epoch app run (the
    training process's first TensorFlow import, the browser's first charts)."""
    warm = app_run(app, epochs=1, name="warm-up")
    runs: dict[str, list[dict]] = {"app": [], "cli": []}
    for i in range(rounds):
        for kind in ("app", "cli") if i % 2 == 0 else ("cli", "app"):
            name = f"{kind}-{len(runs[kind]) + 1}"
            print(f"   {name} ...", flush=True)
            if kind == "app":
                runs[kind].append(app_run(app, epochs=epochs, name=name))
            else:
                runs[kind].append(cli_run(app.home, warm["features"], epochs=epochs, name=name,
                                          out_dir=work / "cli-models", server_pid=app.proc.pid))
    return {"epochs": epochs, "rounds": rounds, "features": warm["features"], "rows": warm["rows"], "runs": runs,
            **{f"{kind}_{stat}": summarise(rs, stat) for kind, rs in runs.items() for stat in ("median", "min")}}


def summarise(runs: list[dict], stat: str) -> dict:
    """The median (or the smallest) of each timing over ``runs``; CPU seconds by process too."""
    pick = statistics.median if stat == "median" else min
    keys = ("seconds", "wall_s", "epoch1_s", "epoch_s", "first_epoch_s")
    out = {k: pick(v) if (v := [r[k] for r in runs if r.get(k) is not None]) else None for k in keys}
    out["cpu_s"] = {k: pick(r["cpu_s"][k] for r in runs) for k in runs[0]["cpu_s"]}
    if "timeline_s" in runs[0]:
        out["timeline_s"] = {k: pick(v) if (v := [r["timeline_s"][k] for r in runs if r["timeline_s"][k] is not None])
                             else None for k in runs[0]["timeline_s"]}
    phases = [r["training_cpu"] for r in runs if r.get("training_cpu")]
    out["training_cpu"] = {k: pick(x[k] for x in phases) for k in phases[0]} if phases else None
    return out


# --- 2. Start -> first epoch, Stop -> stopped -------------------------------------------------------

def bench_stop(app: App) -> dict:
    """A long run from the Train page: Start -> first epoch shown, then Stop -> "stopped" shown."""
    return app_run(app, epochs=STOP_EPOCHS, name="stop-me", stop_after=STOP_AFTER)


# --- 3. TensorFlow vs JAX per epoch ----------------------------------------------------------------

def gtzan_sized_store(path: Path) -> Path:
    """A feature store shaped like GTZAN's default features: 1,000 tracks x 10 segments of 130 x 13
    (3 s segments), 10 genres; standard normal noise (speed does not depend on the values)."""
    rng = np.random.default_rng(SEED)
    track = np.repeat(np.arange(GTZAN_TRACKS, dtype=np.int32), GTZAN_SEGMENTS)
    params = FeatureParams(num_segments=GTZAN_SEGMENTS)
    genres = tuple(f"genre{g:02d}" for g in range(GTZAN_GENRES))
    fs = FeatureSet(X=rng.standard_normal((len(track), *params.input_shape), dtype=np.float32),
                    y=(track % GTZAN_GENRES).astype(np.int64), genres=genres,
                    files=tuple(f"{genres[t % GTZAN_GENRES]}/{genres[t % GTZAN_GENRES]}.{t:05d}.wav"
                                for t in range(GTZAN_TRACKS)),
                    track=track, segment=np.tile(np.arange(GTZAN_SEGMENTS, dtype=np.int32), GTZAN_TRACKS),
                    params=params, key="synthetic-gtzan", root="synthetic")
    return save_features(fs, path)


def bench_backends(home: Path, work: Path) -> dict:
    """``python -m genre train`` for BACKEND_EPOCHS epochs of the default network on the GTZAN-sized
    store, once with ``--backend tensorflow`` and once with ``--backend jax``."""
    store = gtzan_sized_store(work / "gtzan-sized.npz")
    out = {}
    for backend in ("tensorflow", "jax"):
        print(f"   {backend} ...", flush=True)
        out[backend] = cli_run(home, store, epochs=BACKEND_EPOCHS, name=f"gtzan-{backend}", backend=backend,
                               out_dir=work / "cli-models")
    return {"epochs": BACKEND_EPOCHS, "rows": out["tensorflow"]["rows"], "runs": out}


# --- 4. server memory ----------------------------------------------------------------------------

def bench_memory(app: App, runs: int) -> dict:
    """The server's RSS after the first Train page visit, after ``runs`` runs of MEMORY_EPOCHS epochs
    started from the browser one after another (each: Start, wait for its results), and after
    Classify loads one model (the server's first Keras import)."""
    on_train_page(app.tab)
    app.tab.settle()
    rss = {"train_visit": rss_mb(app.proc.pid)}
    walls, each = [], []  # each run's wall time, and the server's RSS after it
    for i in range(runs):
        walls.append(app_run(app, epochs=MEMORY_EPOCHS, name=f"memory-{i + 1}")["wall_s"])
        each.append(rss_mb(app.proc.pid)["VmRSS"])
    rss["after_runs"] = rss_mb(app.proc.pid)
    app.tab.nav("Classify")
    app.tab.text("Genres:", where='[data-testid="stCaptionContainer"]')  # the model has been loaded
    app.tab.settle()
    rss["classify"] = rss_mb(app.proc.pid)
    return {"runs": runs, "epochs": MEMORY_EPOCHS, "rss_mb": rss, "run_wall_s": walls, "rss_after_each_run_mb": each,
            "growth_runs_mb": rss["after_runs"]["VmRSS"] - rss["train_visit"]["VmRSS"],
            # the first run's results load matplotlib and friends once; a leak shows in the runs after it
            "growth_per_later_run_mb": (each[-1] - each[0]) / (runs - 1) if runs > 1 else None,
            "growth_classify_mb": rss["classify"]["VmRSS"] - rss["after_runs"]["VmRSS"]}


# --- report --------------------------------------------------------------------------------------

def _row(metric: str, value: float | None, baseline: float | None = None, *, ratio: str = "",
         target: str = "", met: bool | None = None, fmt: str = "{:.2f}") -> dict:
    show = lambda v: "-" if v is None else fmt.format(v)  # noqa: E731
    return {"metric": metric, "value": show(value), "baseline": show(baseline), "ratio": ratio, "target": target,
            "met?": {None: "-", True: "yes", False: "NO"}[met], "values": [value, baseline]}


def _x(a: float | None, b: float | None) -> str:
    return f"{a / b:.2f}x" if a is not None and b else ""


def summary_rows(r: dict) -> list[dict]:
    rows = []
    if "live" in r:
        lv = r["live"]
        am, cm, an, cn = lv["app_median"], lv["cli_median"], lv["app_min"], lv["cli_min"]
        ratio = am["seconds"] / cm["seconds"]
        rows += [
            _row("training seconds (result.json), median: app vs CLI", am["seconds"], cm["seconds"],
                 ratio=f"{ratio:.2f}x", target=f"<= {TARGET_RATIO:g}x", met=ratio <= TARGET_RATIO),
            _row("training seconds, fastest run: app vs CLI", an["seconds"], cn["seconds"],
                 ratio=_x(an["seconds"], cn["seconds"])),
            _row("seconds per epoch after the first, median: app vs CLI", am["epoch_s"], cm["epoch_s"],
                 ratio=_x(am["epoch_s"], cm["epoch_s"]), fmt="{:.3f}"),
            _row("wall: Start click -> results shown vs CLI spawn -> exit", am["wall_s"], cm["wall_s"],
                 ratio=_x(am["wall_s"], cm["wall_s"])),
            _row("Start click -> first epoch shown (s), median of app runs", am["first_epoch_s"]),
        ]
    if "stop" in r:
        st = r["stop"]
        rows += [_row(f"Start click -> first epoch shown (s), {STOP_EPOCHS}-epoch run", st["first_epoch_s"]),
                 _row("Stop click -> \"stopped\" shown (s)", st["stop_s"])]
    if "backends" in r:
        tf, jx = r["backends"]["runs"]["tensorflow"], r["backends"]["runs"]["jax"]
        rows += [_row("GTZAN-sized, s per epoch after the first: tensorflow vs jax", tf["epoch_s"], jx["epoch_s"],
                      ratio=_x(tf["epoch_s"], jx["epoch_s"]), fmt="{:.3f}"),
                 _row("GTZAN-sized, epoch 1 (build, tracing): tensorflow vs jax", tf["epoch1_s"], jx["epoch1_s"],
                      ratio=_x(tf["epoch1_s"], jx["epoch1_s"])),
                 _row(f"GTZAN-sized, {r['backends']['epochs']} epochs (result.json s): tensorflow vs jax",
                      tf["seconds"], jx["seconds"], ratio=_x(tf["seconds"], jx["seconds"]))]
    if "memory" in r:
        m, rss = r["memory"], r["memory"]["rss_mb"]
        rows += [_row(f"server RSS (MB): after {m['runs']} runs vs first Train visit", rss["after_runs"]["VmRSS"],
                      rss["train_visit"]["VmRSS"], ratio=f"{m['growth_runs_mb']:+.0f} MB", fmt="{:.0f}"),
                 _row("server RSS growth per run after the first (MB/run)", m["growth_per_later_run_mb"],
                      fmt="{:+.1f}"),
                 _row("server RSS (MB): Classify, one model loaded vs after the runs", rss["classify"]["VmRSS"],
                      rss["after_runs"]["VmRSS"], ratio=f"{m['growth_classify_mb']:+.0f} MB", fmt="{:.0f}")]
    return rows


CPU_NAMES = {"reaped": "run processes", "training": "training process", "server": "server",
             "chromium": "chromium", "driver": "playwright driver", "bench": "this script"}


def _cpu_text(cpu: dict, wall: float) -> str:
    """Whole-window CPU seconds, and each as a share of one core over ``wall``."""
    return ", ".join(f"{label} {cpu[k]:.1f} s ({cpu[k] / wall:.0%})" for k, label in CPU_NAMES.items()
                     if k in cpu and k != "training")


def _phase_text(phase: dict | None) -> str:
    if not phase:
        return "too short to see"
    return ", ".join(f"{label} {phase[k + '_pct']:.0f}%" for k, label in CPU_NAMES.items() if k + "_pct" in phase)


def _timeline_text(t: dict, first: float | None, wall: float, what: str) -> str:
    show = lambda v: "-" if v is None else f"{v:.1f}"  # noqa: E731
    return (f"seconds after the Start click ({what}): run recorded {show(t['created'])}, training process running "
            f"{show(t['running'])}, epoch 1 logged {show(t['epoch1_logged'])}, shown {show(first)}, run ended "
            f"{show(t['ended'])}, results shown {show(wall)}")


def print_report(r: dict) -> None:
    c = r["config"]
    print(f"\n{c['cpus']} CPUs; load average (1, 5, 15 min) {', '.join(f'{x:.2f}' for x in c['load_before'])} "
          f"before, {', '.join(f'{x:.2f}' for x in c['load_after'])} after; backends {c['backends']}")
    if "live" in r:
        lv = r["live"]
        print(f"1. {lv['epochs']} epochs of the default network on {lv['rows']} rows (demo features), seed {SEED}, "
              f"{lv['rounds']} round(s):")
        for kind, runs in lv["runs"].items():
            for x in runs:
                first = "" if kind == "cli" else (
                    f", epoch {x['first_epoch_shown']} shown first, {x['first_epoch_s']:.1f} s after the click"
                    if x["first_epoch_s"] is not None else ", no epoch shown live")
                print(f"   {x['name']:<6} seconds {x['seconds']:6.2f}, wall {x['wall_s']:6.2f}, epoch 1 "
                      f"{x['epoch1_s']:.2f} s, later epochs {x['epoch_s']:.3f} s{first}")
        print("   " + _timeline_text(lv["app_median"]["timeline_s"], lv["app_median"]["first_epoch_s"],
                                   lv["app_median"]["wall_s"], "app runs, median"))
        print("   CPU per run (median), from the click (spawn) to the results shown (exit); share of one core:")
        for kind in ("app", "cli"):
            med = lv[f"{kind}_median"]
            print(f"   {kind}: {_cpu_text(med['cpu_s'], med['wall_s'])}")
        print("   CPU while the run trains (its state \"running\"), median share of one core:")
        for kind in ("app", "cli"):
            print(f"   {kind}: {_phase_text(lv[f'{kind}_median']['training_cpu'])}")
    if "stop" in r:
        st = r["stop"]
        print(f"2. {_timeline_text(st['timeline_s'], st['first_epoch_s'], st['wall_s'], 'the long run')}\n"
              f"   Stop clicked {st['stop_clicked_s']:.1f} s after Start, when epoch {st['stop_clicked_at_epoch']} "
              f"showed; final status {st['timeline_s']['ended'] - st['stop_clicked_s']:.2f} s after the Stop "
              f"click, header {st['stop_s']:.2f} s after; the run stopped after {st['epochs_run']} epochs")
    if "memory" in r:
        m = r["memory"]
        print("4. server RSS/peak (MB): " + "; ".join(f"{k} {v['VmRSS']:.0f}/{v['VmHWM']:.0f}"
                                                       for k, v in m["rss_mb"].items())
              + f"\n   RSS after each run (MB): {' '.join(f'{x:.0f}' for x in m['rss_after_each_run_mb'])}"
              + f"\n   wall of each run (s): {' '.join(f'{w:.1f}' for w in m['run_wall_s'])}")
    print_table(r["summary"], ("metric", "value", "baseline", "ratio", "target", "met?"))


def app_backends(r: dict) -> list[str]:
    """The Keras backends the app's runs used (its Train page's default unless changed)."""
    runs = r.get("live", {}).get("runs", {}).get("app", []) + ([r["stop"]] if "stop" in r else [])
    return sorted({x["backend"] for x in runs})


def write_json(r: dict, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(r, indent=2))
    os.replace(tmp, path)


# --- main ----------------------------------------------------------------------------------------

def run_sections(r: dict, browser, home: Path, work: Path, a) -> None:
    """Sections 1-2 on one server; 3 with no server; 4 on a fresh one (its first Train visit)."""
    with serving(home, work / "streamlit.log") as (proc, url):
        app = open_app(browser, home, proc, url, "bench-app")
        print(f"1. live training, app vs CLI: {a.epochs} epochs, {a.rounds} round(s) ...", flush=True)
        r["live"] = bench_live_training(app, work, epochs=a.epochs, rounds=a.rounds)
        print("2. Start -> first epoch, Stop -> stopped ...", flush=True)
        r["stop"] = bench_stop(app)
        app.tab.page.context.close()
    print("3. TensorFlow vs JAX per epoch, GTZAN-sized features ...", flush=True)
    r["backends"] = bench_backends(home, work)
    if not a.skip_memory:
        print(f"4. server memory, {a.memory_runs} runs ...", flush=True)
        with serving(home, work / "streamlit-memory.log") as (proc, url):
            app = open_app(browser, home, proc, url, "bench-memory")
            r["memory"] = bench_memory(app, a.memory_runs)
            app.tab.page.context.close()


def parse_args(argv: list[str] | None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, help=f"epochs of each section-1 run (default {DEFAULT_EPOCHS}; "
                                              f"--quick {QUICK_EPOCHS})")
    p.add_argument("--rounds", type=int, help=f"app runs and CLI runs each (default {DEFAULT_ROUNDS}; "
                                              f"--quick {QUICK_ROUNDS})")
    p.add_argument("--skip-memory", action="store_true", help="skip section 4")
    p.add_argument("--quick", action="store_true", help=f"smoke run: {QUICK_EPOCHS} epochs, {QUICK_ROUNDS} round, "
                                                        f"{QUICK_MEMORY_RUNS} memory runs")
    p.add_argument("--workdir", type=Path,
                   help="keep $GENRE_HOME and the server logs here (default: a temp dir, deleted)")
    p.add_argument("--json-out", type=Path, default=Path(__file__).with_name("results_app.json"))
    a = p.parse_args(argv)
    a.epochs = a.epochs or (QUICK_EPOCHS if a.quick else DEFAULT_EPOCHS)
    a.rounds = a.rounds or (QUICK_ROUNDS if a.quick else DEFAULT_ROUNDS)
    a.memory_runs = QUICK_MEMORY_RUNS if a.quick else MEMORY_RUNS
    return a


def main(argv: list[str] | None = None) -> int:
    a = parse_args(argv)
    work = a.workdir or Path(tempfile.mkdtemp(prefix="genre-bench-app-"))
    home = work / "home"
    home.mkdir(parents=True, exist_ok=True)
    os.environ["GENRE_HOME"] = str(home)  # for the demo dataset made here; the server and the CLI get it too
    r: dict = {"config": {"epochs": a.epochs, "rounds": a.rounds, "memory_runs": a.memory_runs, "quick": a.quick,
                          "cpus": os.cpu_count(), "load_before": os.getloadavg()}}
    if r["config"]["load_before"][0] > (os.cpu_count() or 1) / 2:
        print(f"warning: load average {r['config']['load_before'][0]:.1f} on {os.cpu_count()} CPUs: other work "
              "on this machine will inflate the times", flush=True)
    try:
        print(f"preparing the demo dataset in {home} ...", flush=True)
        workspace.ensure_demo_dataset()
        with sync_playwright() as pw:
            browser = launch_browser(pw)
            try:
                run_sections(r, browser, home, work, a)
            finally:
                browser.close()
    finally:
        stop_all_runs(home)
        if a.workdir is None:
            shutil.rmtree(work, ignore_errors=True)
    r["config"]["load_after"] = os.getloadavg()
    r["config"]["backends"] = app_backends(r)
    r["summary"] = summary_rows(r)
    print_report(r)
    write_json(r, a.json_out)
    print(f"\nresults -> {a.json_out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
