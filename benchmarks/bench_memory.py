#!/usr/bin/env python
"""Benchmark: the app server's memory over a tour of every page, and after the last tab closes.

The real server (``streamlit run``) and real chromium tabs, side by side with a baseline commit in one run:
each version gets its own checkout (a ``git worktree`` for the baseline), its own ``$GENRE_HOME`` with the demo
dataset and one small model, and the same tour:

- tab A: Dataset (three clips, each with its waveform, mel spectrogram and MFCCs), Features (two settings, then
  Extract, then the feature map), Train and Runs (pages drawn), Classify (four uploads: a tagged MP3, an OGG at
  44.1 kHz stereo, a 10 s clip and a 5-minute song), Experiments;
- tab B, opened meanwhile: Features and Classify with the same uploads;
- both tabs closed; the server's RSS (psutil; the server process alone, not training or prediction workers)
  sampled every 5 s for 90 s.

A benchmark, not a test: nothing here asserts. Writes benchmarks/results_memory.json.

    python benchmarks/bench_memory.py                  # this checkout against the baseline commit below
    python benchmarks/bench_memory.py --baseline REV   # another baseline
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import psutil
import soundfile as sf

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from playwright.sync_api import sync_playwright  # noqa: E402

from tests.browser_kit import app_env, free_port, healthy, launch_browser, new_tab  # noqa: E402

BASELINE = "914e242"  # main before issue 14's work
AFTER_CLOSE_S, SAMPLE_S = 90, 5

PREPARE = """
try:  # this checkout's layout
    from genre.data import workspace
    from genre.data.params import FeatureParams
    from genre.learn.config import ModelConfig, TrainConfig
    from genre.data.extract import extract_to_store
    from genre.jobs.runs import create_run
    from genre.jobs.execution import execute
except ImportError:  # the baseline's (before genre's layers)
    from genre import workspace
    from genre.config import FeatureParams, ModelConfig, TrainConfig
    from genre.extract import extract_to_store
    from genre.runs import create_run, execute

root = workspace.ensure_demo_dataset()
params = FeatureParams(duration=6.0, num_segments=3, files_per_genre=4)
store = workspace.features_path(root, params)
fs, _ = extract_to_store(root, params, store)
run = create_run(workspace.runs_dir(), features_path=store, features=fs, train_config=TrainConfig(epochs=2),
                 model_config=ModelConfig(hidden_units=(32,)), name="memory-model", models_dir=workspace.models_dir(),
                 source="cli")
execute(run)
"""


def uploads(folder: Path) -> list[Path]:
    """Real-looking files: a tagged MP3, a 44.1 kHz stereo OGG, a 10 s WAV clip, a 5-minute song."""
    rng = np.random.default_rng(0)

    def music(seconds: float, sr: int, channels: int = 1) -> np.ndarray:
        t = np.arange(int(seconds * sr)) / sr
        y = 0.3 * np.sin(2 * np.pi * 220 * t) * (1 + np.sin(2 * np.pi * 2 * t)) + 0.05 * rng.standard_normal(t.size)
        return np.stack([y] * channels, axis=1).astype(np.float32) if channels > 1 else y.astype(np.float32)

    folder.mkdir(parents=True, exist_ok=True)
    files = [(folder / "tagged.mp3", music(30, 44100, 2), 44100, {"format": "MP3"}),
             (folder / "stereo-44k.ogg", music(30, 44100, 2), 44100, {"format": "OGG", "subtype": "VORBIS"}),
             (folder / "clip-10s.wav", music(10, 22050), 22050, {}),
             (folder / "song-5min.wav", music(300, 44100, 2), 44100, {})]
    for path, y, sr, kw in files:
        sf.write(path, y, sr, **kw)
    tagged = folder / "tagged.mp3"
    tagged.write_bytes(b"ID3\x03\x00\x00\x00\x00\x00\x0a" + b"\x00" * 10 + tagged.read_bytes())  # an ID3v2 tag
    return [p for p, *_ in files]


def start(checkout: Path, home: Path, log: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    cmd = [sys.executable, "-m", "streamlit", "run", "streamlit_app.py", "--server.port", str(port),
           "--server.address", "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false",
           "--server.fileWatcherType", "none"]
    env = {**app_env(home), "PYTHONPATH": str(checkout)}
    with open(log, "a") as out:
        proc = subprocess.Popen(cmd, cwd=checkout, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while not healthy(f"{url}/_stcore/health"):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"server did not start:\n{log.read_text()[-2000:]}")
        time.sleep(0.3)
    return proc, url


def rss_mb(proc: subprocess.Popen) -> float:
    return psutil.Process(proc.pid).memory_info().rss / 2**20


def tour(tab, url: str, files: list[Path], *, first: bool) -> None:
    page = tab.page
    if first:
        page.goto(url + "/dataset")
        tab.text("Dataset", where="h1")
        tab.settle()
        for clip in ("ambient.00001.wav", "rock.00002.wav", "waltz.00003.wav"):
            genre = clip.split(".")[0]
            tab.choose("Genre", genre)
            tab.choose("Clip", clip)
            for name in ("Mel spectrogram", "MFCCs", "Waveform"):  # drawn with the clip; a tab click reruns nothing
                page.get_by_role("tab", name=name).click()
            tab.settle()
    page.goto(url + "/features")
    tab.text("Input shape", where='[data-testid="stMetric"]')
    tab.settle()
    for value in (20, 13):
        tab.set_slider("n_mfcc (coefficients)", value)
    tab.act(lambda: page.get_by_role("button", name="Extract features").click())
    for name in ("Train", "Runs", "Classify"):
        tab.nav(name)
    for path in files:
        tab.upload(path)
    tab.settle()
    if first:
        tab.nav("Experiments")


def measure(label: str, checkout: Path, work: Path, files: list[Path]) -> dict:
    home = work / f"home-{label}"
    prep = subprocess.run([sys.executable, "-c", PREPARE], cwd=checkout, env={**app_env(home),
                          "PYTHONPATH": str(checkout)}, capture_output=True, text=True, timeout=600)
    if prep.returncode:
        raise RuntimeError(prep.stderr[-2000:])
    proc, url = start(checkout, home, work / f"server-{label}.log")
    steps = {"start": rss_mb(proc)}
    try:
        with sync_playwright() as p:
            browser = launch_browser(p)
            a = new_tab(browser, f"memory-{label}-a")
            a.page.context.set_default_timeout(60_000)
            tour(a, url, files, first=True)
            steps["after tab A's tour"] = rss_mb(proc)
            b = new_tab(browser, f"memory-{label}-b")
            b.page.context.set_default_timeout(60_000)
            tour(b, url, files, first=False)
            steps["after tab B"] = rss_mb(proc)
            peak = max(steps.values())
            for tab in (a, b):
                tab.page.context.close()
            browser.close()
        closed = time.monotonic()
        after = {}
        while (t := time.monotonic() - closed) <= AFTER_CLOSE_S:
            after[round(t)] = rss_mb(proc)
            time.sleep(SAMPLE_S)
        tf = "tensorflow" in Path(f"/proc/{proc.pid}/maps").read_text()
    finally:
        proc.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=15)
        if proc.poll() is None:
            proc.kill()
    return {"steps_mb": steps, "peak_mb": peak, "after_close_mb": after, "tensorflow_in_server": tf}


@contextlib.contextmanager
def side_by_side(baseline: str, prefix: str):
    """A work folder with the ``baseline`` commit checked out in it (a ``git worktree``): ``(work, its checkout,
    this checkout's commit)``; both removed afterwards. The benchmarks that compare two versions in one run use it."""
    work = Path(tempfile.mkdtemp(prefix=prefix))
    base = work / "baseline"
    subprocess.run(["git", "worktree", "add", "--detach", str(base), baseline], cwd=REPO, check=True,
                   capture_output=True)
    try:
        yield work, base, subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True,
                                         text=True).stdout.strip()
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(base)], cwd=REPO, capture_output=True)
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--baseline", default=BASELINE, help=f"commit to compare with (default {BASELINE})")
    args = ap.parse_args()
    with side_by_side(args.baseline, "bench-memory-") as (work, base, this):
        files = uploads(work / "uploads")
        results = {"baseline": {"commit": args.baseline, **measure("baseline", base, work, files)},
                   "this": {"commit": this, **measure("this", REPO, work, files)},
                   "load_at_start": list(psutil.getloadavg()), "cores": psutil.cpu_count()}
    print(f"{'server RSS, MB':<28}{'baseline':>12}{'this':>12}")
    for key in results["this"]["steps_mb"]:
        print(f"{key:<28}{results['baseline']['steps_mb'][key]:>12.0f}{results['this']['steps_mb'][key]:>12.0f}")
    for t in results["this"]["after_close_mb"]:
        old = results["baseline"]["after_close_mb"].get(t, float("nan"))
        print(f"{f'{t} s after the tabs closed':<28}{old:>12.0f}{results['this']['after_close_mb'][t]:>12.0f}")
    print(f"{'TensorFlow in the server':<28}{str(results['baseline']['tensorflow_in_server']):>12}"
          f"{str(results['this']['tensorflow_in_server']):>12}")
    (REPO / "benchmarks" / "results_memory.json").write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
