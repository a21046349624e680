#!/usr/bin/env python
"""Benchmark: genre's pipeline against the notebook's, measured side by side in one run.

Prints a table of ratios (ours vs the notebook's script) and writes the same figures as JSON.
A benchmark, not a test: nothing here asserts on time. Training in the app is measured by
``bench_app.py``, in a real browser.

    python benchmarks/bench.py --quick         # smoke run: 20 tracks
    python benchmarks/bench.py                 # 200 tracks: several minutes
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import librosa  # lazy: its submodules load on first use
import numpy as np
import soundfile as sf
from table import print_table  # benchmarks/table.py, beside this script

from genre.data.audio import load_audio
from genre.data.demo import DEMO_GENRES, synth_clip
from genre.data.features import notebook_segment_mfccs, segment_mfccs
from genre.data.params import FeatureParams
from genre.data.store import load_features

SAMPLE_RATE = 22050  # Hz, GTZAN's
CLIP_SECONDS = 30.0
N_GENRES = 10
DEFAULT_TRACKS, QUICK_TRACKS = 200, 20
RUNS = 3  # fresh-process runs per command, and loads per store (median reported)
MFCC_TRACKS, WARMUP_TRACKS = 40, 3  # section 3: tracks timed in-process, after untimed warm-up ones
SEED = 0
RSS_POLL_S, TREE_EVERY = 0.05, 5  # poll peak RSS every 50 ms; look for new processes every 5th poll
MB = 1e6
TARGETS = {"extract": 5.0, "store_size": 10.0, "store_load": 20.0,
           "mfcc_relative_diff": 1e-5, "home_cold_s": 3.0}  # float32 agreement; Home page seconds

# The notebook's extraction cell, as written but for paths from argv and keyword arguments
# (librosa 0.11 accepts keywords only).
NOTEBOOK_SCRIPT = '''\
import json
import math
import os
import sys

import librosa

SAMPLE_RATE = 22050
TRACK_DURATION = 30  # measured in seconds
SAMPLES_PER_TRACK = SAMPLE_RATE * TRACK_DURATION


def save_mfcc(dataset_path, json_path, num_mfcc=13, n_fft=2048, hop_length=512, num_segments=5):
    data = {"mapping": [], "labels": [], "mfcc": []}
    samples_per_segment = int(SAMPLES_PER_TRACK / num_segments)
    num_mfcc_vectors_per_segment = math.ceil(samples_per_segment / hop_length)
    for i, (dirpath, dirnames, filenames) in enumerate(os.walk(dataset_path)):
        if dirpath is not dataset_path:
            semantic_label = dirpath.split("/")[-1]
            data["mapping"].append(semantic_label)
            print("\\nProcessing: {}".format(semantic_label))
            for f in filenames:
                file_path = os.path.join(dirpath, f)
                signal, sample_rate = librosa.load(file_path, sr=SAMPLE_RATE)
                for d in range(num_segments):
                    start = samples_per_segment * d
                    finish = start + samples_per_segment
                    mfcc = librosa.feature.mfcc(y=signal[start:finish], sr=sample_rate, n_mfcc=num_mfcc,
                                                n_fft=n_fft, hop_length=hop_length)
                    mfcc = mfcc.T
                    if len(mfcc) == num_mfcc_vectors_per_segment:
                        data["mfcc"].append(mfcc.tolist())
                        data["labels"].append(i - 1)
                        print("{}, segment:{}".format(file_path, d + 1))
    with open(json_path, "w") as fp:
        json.dump(data, fp, indent=4)


if __name__ == "__main__":
    save_mfcc(sys.argv[1], sys.argv[2], num_segments=5)
'''
WARM_LIBROSA = ("import sys, librosa; y, sr = librosa.load(sys.argv[1], sr=22050); "
                "librosa.feature.mfcc(y=y[:132300], sr=sr, n_mfcc=13, n_fft=2048, hop_length=512)")
BASELINE_IMPORTS = "import genre.cli, genre.data.extract, scipy.fft, soundfile, soxr, joblib"  # what our CLI loads
# A fresh process that renders the app's default page (Home) as a browser session's first run would.
HOME_COLD = ("import sys; from streamlit.testing.v1 import AppTest; "
             "at = AppTest.from_file(sys.argv[1], default_timeout=60).run(); "
             "assert not at.exception and at.title[0].value.endswith('genre workbench'), at; "
             "assert 'tensorflow' not in sys.modules, 'the Home page imported TensorFlow'")
IMPORT_TF = "import os; os.environ['TF_CPP_MIN_LOG_LEVEL'] = '2'; import tensorflow"


def timed(fn, *args, **kwargs):
    """``(fn(...), seconds)``."""
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - start


# --- 1. data (untimed) -----------------------------------------------------------------------

def make_dataset(root: Path, n_tracks: int) -> list[Path]:
    """``root/genreGG/genreGG.NNNNN.wav``: demo-synth clips, 30 s mono 16-bit PCM at 22050 Hz."""
    shutil.rmtree(root, ignore_errors=True)
    paths = []
    for i in range(n_tracks):
        g = i % N_GENRES
        path = root / f"genre{g:02d}" / f"genre{g:02d}.{i // N_GENRES:05d}.wav"
        path.parent.mkdir(parents=True, exist_ok=True)
        y = synth_clip(DEMO_GENRES[g % len(DEMO_GENRES)], duration=CLIP_SECONDS, sample_rate=SAMPLE_RATE,
                       rng=np.random.default_rng([SEED, i]))
        sf.write(path, y, SAMPLE_RATE, subtype="PCM_16", format="WAV")
        paths.append(path)
    return paths


# --- measuring a process ---------------------------------------------------------------------

def _process_tree(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            children.setdefault(int(stat.read_text().rsplit(")", 1)[1].split()[1]), []).append(int(stat.parent.name))
        except (OSError, IndexError, ValueError):
            pass
    tree, todo = [], [root]
    while todo:
        tree.append(todo.pop())
        todo.extend(children.get(tree[-1], []))
    return tree


def _peak_rss_kb(pid: int) -> int:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    return next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:")), 0)


def run_measured(cmd: list[str], **popen) -> dict:
    """Wall time of ``cmd`` in a fresh process (``popen``: more ``subprocess.Popen`` arguments); peak RSS (VmHWM, polled) of its largest process
    and summed over its process tree. Not wait4's ru_maxrss: it also counts the pages of this
    (big) parent that the child had before its exec."""
    peaks: dict[int, int] = {}
    done = threading.Event()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, **popen)

        def sample() -> None:
            tree, polls = [proc.pid], 0
            while not done.wait(RSS_POLL_S):
                if polls % TREE_EVERY == 0:  # a /proc scan costs ~3 ms, reading known pids ~20 us
                    tree = _process_tree(proc.pid)
                polls += 1
                for pid in tree:
                    peaks[pid] = max(peaks.get(pid, 0), _peak_rss_kb(pid))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        proc.wait()
        seconds = time.perf_counter() - start
        done.set()
        sampler.join()
        if proc.returncode != 0:
            err.seek(0)
            raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}:\n{err.read().decode()[-2000:]}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)  # CPU time counts the workers, which it reaps
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return {"seconds": seconds, "cpu_s": cpu, "peak_rss_mb": max(peaks.values(), default=0) * 1024 / MB,
            "tree_rss_mb": sum(peaks.values()) * 1024 / MB, "processes": len(peaks)}


# --- 2. whole-process extraction -------------------------------------------------------------

def bench_extraction(data: Path, work: Path) -> tuple[dict, Path, Path]:
    script, npz, js = work / "notebook_extract.py", work / "features.npz", work / "notebook.json"
    script.write_text(NOTEBOOK_SCRIPT)
    ours = [sys.executable, "-m", "genre", "extract", str(data), "--out", str(npz), "--jobs"]
    commands = {"ours_1job": (ours + ["1"], npz), "notebook": ([sys.executable, str(script), str(data), str(js)], js),
                "ours_2jobs": (ours + ["2"], npz)}  # 2 jobs last: its store is the one section 4 reads
    first_wav = next(data.glob("*/*.wav"))  # compile/load librosa's numba cache once, untimed
    subprocess.run([sys.executable, "-c", WARM_LIBROSA, str(first_wav)], check=True, capture_output=True)
    runs: dict[str, list[dict]] = {name: [] for name in commands}
    for _ in range(RUNS):  # interleaved, so a busy moment on the machine hits every command alike
        for name, (cmd, out) in commands.items():
            out.unlink(missing_ok=True)  # never a cache hit
            runs[name].append(run_measured(cmd))
    result = {name: {"runs_s": [r["seconds"] for r in rs],
                     **{k: statistics.median(r[k] for r in rs) for k in ("seconds", "cpu_s")},
                     **{k: max(r[k] for r in rs) for k in ("peak_rss_mb", "tree_rss_mb", "processes")}}
              for name, rs in runs.items()}
    result["baseline_imports"] = run_measured([sys.executable, "-c", BASELINE_IMPORTS])
    return result, npz, js


# --- 3. per-track MFCC and audio read, in-process --------------------------------------------

def bench_mfcc(paths: list[Path]) -> dict:
    params = FeatureParams()
    ms: dict[str, list[float]] = {k: [] for k in ("load_audio", "librosa_load", "ours", "notebook")}
    max_diff = max_abs = 0.0
    same_segments = True
    for n, path in enumerate(paths[:WARMUP_TRACKS + MFCC_TRACKS]):
        y, t_ours_read = timed(load_audio, path, sample_rate=params.sample_rate)
        _, t_librosa_read = timed(librosa.load, path, sr=params.sample_rate)
        (ours, index), t_ours = timed(segment_mfccs, y, params=params)
        (ref, ref_index), t_ref = timed(notebook_segment_mfccs, y, params=params)
        if n >= WARMUP_TRACKS:
            for key, t in zip(ms, (t_ours_read, t_librosa_read, t_ours, t_ref)):
                ms[key].append(t * 1000)
        same_segments &= np.array_equal(index, ref_index)
        if same_segments and ref.size:
            max_diff = max(max_diff, float(np.abs(ours - ref).max()))
            max_abs = max(max_abs, float(np.abs(ref).max()))
    return {**{f"{k}_ms": statistics.median(v) for k, v in ms.items()}, "tracks": len(ms["ours"]),
            "same_segments": bool(same_segments), "max_abs_diff": max_diff, "max_abs_value": max_abs,
            "relative_diff": max_diff / max_abs if max_abs else 0.0}


# --- 4. store --------------------------------------------------------------------------------

def bench_store(npz: Path, js: Path) -> dict:
    def load_json() -> np.ndarray:
        with open(js) as fp:
            data = json.load(fp)
        return np.array(data["mfcc"])

    fs, X_json = load_features(npz), load_json()
    npz_s = statistics.median(timed(load_features, npz)[1] for _ in range(RUNS))
    json_s = statistics.median(timed(load_json)[1] for _ in range(RUNS))
    return {"npz_mb": npz.stat().st_size / MB, "json_mb": js.stat().st_size / MB, "npz_load_s": npz_s,
            "json_load_s": json_s, "rows_npz": len(fs), "rows_json": len(X_json), "features_mb": fs.X.nbytes / MB}


# --- 5. Home page cold start ------------------------------------------------------------------

def bench_home(work: Path) -> dict:
    """A fresh process rendering the Home page, against a fresh process that only imports TensorFlow."""
    app = Path(__file__).resolve().parents[1] / "streamlit_app.py"
    env_home = {**os.environ, "GENRE_HOME": str(work / "home")}
    runs: dict[str, list[float]] = {"home": [], "import_tf": []}
    for _ in range(RUNS):
        for name, code in (("home", HOME_COLD), ("import_tf", IMPORT_TF)):
            runs[name].append(run_measured([sys.executable, "-c", code, str(app)], env=env_home,
                                           cwd=app.parent)["seconds"])
    return {"runs_s": runs, **{f"{k}_s": statistics.median(v) for k, v in runs.items()}}


# --- report ----------------------------------------------------------------------------------

def _row(metric: str, ours: float, theirs: float, ratio: float, target: float | None = None, *,
         fmt: str = "{:.2f}", kind: str = "x") -> dict:
    """One summary row; ``kind`` "x": a ratio, higher is better; "s": the target is on our seconds;
    "rel": a relative error, lower is better."""
    higher = kind == "x"
    if kind == "s":  # the target is on our own seconds, not on the ratio
        met = None if target is None else bool(ours <= target)
        target_text = "" if target is None else f"<= {target:g} s"
    else:
        met = None if target is None else bool(ratio >= target if higher else ratio <= target)
        target_text = "" if target is None else f"{'>=' if higher else '<='} {target:g}{'' if kind == 'rel' else kind}"
    return {"metric": metric, "ours": fmt.format(ours), "baseline": fmt.format(theirs),
            "ratio": {"x": f"{ratio:.2f}x", "s": f"{ratio:.2f}x", "rel": f"{ratio:.1e}"}[kind],
            "target": target_text, "met?": met, "values": [ours, theirs, ratio]}


def summary_rows(r: dict) -> list[dict]:
    ex, mf, st = r["extraction"], r["mfcc"], r["store"]
    nb, ours2, ours1 = ex["notebook"], ex["ours_2jobs"], ex["ours_1job"]
    rows = [
        _row("extract, whole process, 2 jobs (s)", ours2["seconds"], nb["seconds"], nb["seconds"] / ours2["seconds"],
             TARGETS["extract"]),
        _row("extract, whole process, 1 job (s)", ours1["seconds"], nb["seconds"], nb["seconds"] / ours1["seconds"]),
        _row("extract, CPU time, 2 jobs (s)", ours2["cpu_s"], nb["cpu_s"], nb["cpu_s"] / ours2["cpu_s"]),
        _row("MFCC per track (ms)", mf["ours_ms"], mf["notebook_ms"], mf["notebook_ms"] / mf["ours_ms"]),
        _row("MFCC max |ours - notebook|, of max |x|", mf["max_abs_diff"], mf["max_abs_value"], mf["relative_diff"],
             TARGETS["mfcc_relative_diff"], fmt="{:.3g}", kind="rel"),
        _row("audio read per file (ms)", mf["load_audio_ms"], mf["librosa_load_ms"],
             mf["librosa_load_ms"] / mf["load_audio_ms"]),
        _row("store size (MB)", st["npz_mb"], st["json_mb"], st["json_mb"] / st["npz_mb"], TARGETS["store_size"]),
        _row("store load (s)", st["npz_load_s"], st["json_load_s"], st["json_load_s"] / st["npz_load_s"],
             TARGETS["store_load"], fmt="{:.3f}"),
        _row("extract peak RSS, all processes (MB)", ours2["tree_rss_mb"], nb["tree_rss_mb"],
             nb["tree_rss_mb"] / ours2["tree_rss_mb"], fmt="{:.0f}"),
        _row("extract peak RSS, largest process (MB)", ours2["peak_rss_mb"], nb["peak_rss_mb"],
             nb["peak_rss_mb"] / ours2["peak_rss_mb"], fmt="{:.0f}"),
    ]
    if "home" in r:
        h = r["home"]
        rows.append(_row("Home page, fresh process (s) vs import tensorflow", h["home_s"], h["import_tf_s"],
                         h["import_tf_s"] / h["home_s"], TARGETS["home_cold_s"], kind="s"))
    return rows


def print_report(r: dict) -> None:
    c, ex, mf, st = r["config"], r["extraction"], r["mfcc"], r["store"]
    print(f"\n{c['tracks']} tracks of {CLIP_SECONDS:g} s, {c['cpus']} CPUs, median of {RUNS} runs; "
          f"load average {c['load_before']:.1f} before, {c['load_after']:.1f} after")
    for name in ("ours_2jobs", "ours_1job", "notebook", "baseline_imports"):
        e = ex[name]
        print(f"  {name:<16} {e['seconds']:6.2f} s wall, {e['cpu_s']:6.2f} s CPU; peak RSS "
              f"{e['peak_rss_mb']:4.0f} MB largest process, {e['tree_rss_mb']:4.0f} MB over {e['processes']} process(es)")
    print(f"  features: {st['features_mb']:.1f} MB in memory ({st['rows_npz']} rows; notebook JSON "
          f"{st['rows_json']}); MFCC over {mf['tracks']} tracks: same segments kept: {mf['same_segments']}")
    print_table(r["summary"], ("metric", "ours", "baseline", "ratio", "target", "met?"))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tracks", type=int, help=f"clips to generate (default {DEFAULT_TRACKS}; --quick {QUICK_TRACKS})")
    p.add_argument("--quick", action="store_true", help=f"smoke run: {QUICK_TRACKS} tracks")
    p.add_argument("--workdir", type=Path, help="keep data and stores here (default: a temp dir, deleted)")
    p.add_argument("--skip-training", action="store_true",
                   help="no effect, kept for old command lines: training is measured by bench_app.py")
    p.add_argument("--json-out", type=Path, default=Path(__file__).with_name("results.json"))
    a = p.parse_args(argv)
    tracks = a.tracks or (QUICK_TRACKS if a.quick else DEFAULT_TRACKS)
    if tracks < N_GENRES:
        p.error(f"--tracks must be at least {N_GENRES} (one per genre)")
    work = a.workdir or Path(tempfile.mkdtemp(prefix="genre-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    r: dict = {"config": {"tracks": tracks, "runs": RUNS, "cpus": os.cpu_count(),
                          "python": platform.python_version(), "quick": a.quick, "load_before": os.getloadavg()[0]}}
    if r["config"]["load_before"] > (os.cpu_count() or 1) / 2:
        print(f"warning: load average {r['config']['load_before']:.1f} on {os.cpu_count()} CPUs: other work on this "
              "machine will inflate wall-clock times; CPU times are less affected", flush=True)
    try:
        print(f"1. generating {tracks} clips in {work} ...", flush=True)
        paths = make_dataset(work / "data", tracks)
        print("2. whole-process extraction ...", flush=True)
        r["extraction"], npz, js = bench_extraction(work / "data", work)
        print("3. per-track MFCC and audio read ...", flush=True)
        r["mfcc"] = bench_mfcc(paths)
        print("4. store ...", flush=True)
        r["store"] = bench_store(npz, js)
        print("5. Home page cold start ...", flush=True)
        r["home"] = bench_home(work)
    finally:
        if a.workdir is None:
            shutil.rmtree(work, ignore_errors=True)
    r["config"]["load_after"] = os.getloadavg()[0]
    r["summary"] = summary_rows(r)
    print_report(r)
    a.json_out.parent.mkdir(parents=True, exist_ok=True)
    tmp = a.json_out.with_name(f".{a.json_out.name}.tmp")
    tmp.write_text(json.dumps(r, indent=2))
    os.replace(tmp, a.json_out)
    print(f"\nresults -> {a.json_out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
