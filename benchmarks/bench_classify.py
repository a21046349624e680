#!/usr/bin/env python
"""Benchmark: Classify in the real app in a real browser, this checkout against a baseline, in one run.

Each version gets its own checkout (a ``git worktree`` for the baseline), ``$GENRE_HOME`` and server
(``streamlit run``). One chromium tab sets up the demo dataset, extracts its features (30 s, 5 segments), trains
the default network for 5 epochs on the Train page (its model becomes the chosen one) and opens Classify. Then,
one file at a time ("Clear all" between two), it uploads real-looking files: four different 30 s WAVs at
22.05 kHz (the first is the cold one: the prediction worker starts), a tagged MP3 (44.1 kHz stereo), a 44.1 kHz
stereo OGG, a 10 s WAV and a 5-minute 44.1 kHz stereo song. Each is timed from the file handed to the uploader
to its genre on screen (the clip's heading "name — genre"), and to musicnn's tags on screen ("A network trained
on a million songs hears"). Last, the server's RSS (the server process alone) and the prediction worker's.

A benchmark, not a test: nothing here asserts. Writes benchmarks/results_classify.json.

    python benchmarks/bench_classify.py                  # against the commit this session started from
    python benchmarks/bench_classify.py --baseline REV
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import psutil
import soundfile as sf

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from bench_app import app_run  # noqa: E402
from bench_memory import side_by_side, uploads  # noqa: E402
from bench_start import demo_on_train  # noqa: E402

BASELINE = "801d39d"  # main when musicnn's embeddings became a feature family
WARM_WAVS = 4


def files(folder: Path) -> list[Path]:
    """Four different 30 s WAVs (the first is the cold upload), then bench_memory's real-looking uploads."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(WARM_WAVS):
        rng = np.random.default_rng(i)
        t = np.arange(30 * 22050) / 22050
        y = 0.3 * np.sin(2 * np.pi * (180 + 40 * i) * t) * (1 + np.sin(2 * np.pi * 3 * t)) \
            + 0.05 * rng.standard_normal(t.size)
        path = folder / f"wav30-{i}.wav"
        sf.write(path, y.astype(np.float32), 22050)
        out.append(path)
    return out + uploads(folder)


def children_rss_mb(pid: int, marker: str) -> float:
    return sum(p.memory_info().rss for p in psutil.Process(pid).children(recursive=True)
               if marker in " ".join(p.cmdline())) / 2**20


def measure(label: str, checkout: Path, work: Path, clips: list[Path]) -> dict:
    timings = []
    with demo_on_train(f"classify-{label}", checkout, work) as (app, _, _):
        tab, proc = app.tab, app.proc
        app_run(app, epochs=5, name=f"{label}-model")
        tab.nav("Classify")
        for path in clips:
            t0 = time.perf_counter()
            tab.page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(path))
            tab.page.locator("h3").filter(has_text=f"{path.name} — ").first.wait_for()
            genre_s = time.perf_counter() - t0
            tab.page.get_by_text("A network trained on a million songs hears").first.wait_for()
            tags_s = time.perf_counter() - t0
            timings.append({"file": path.name, "genre_s": round(genre_s, 3), "tags_s": round(tags_s, 3)})
            print(f"  {label} {path.name}: genre {genre_s:.2f} s, musicnn's tags {tags_s:.2f} s", flush=True)
            tab.settle()
            tab.act(lambda: tab.page.get_by_role("button", name="Clear all").click())
        server_mb = psutil.Process(proc.pid).memory_info().rss / 2**20
        worker_mb = children_rss_mb(proc.pid, "genre.jobs.predictor")
    warm = [t["genre_s"] for t in timings[1:WARM_WAVS]]
    return {"uploads": timings, "cold_30s_wav_genre_s": timings[0]["genre_s"],
            "warm_30s_wav_genre_s_median": statistics.median(warm),
            "warm_30s_wav_tags_s_median": statistics.median(t["tags_s"] for t in timings[1:WARM_WAVS]),
            "server_rss_mb": round(server_mb), "prediction_worker_rss_mb": round(worker_mb)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--baseline", default=BASELINE)
    args = ap.parse_args()
    with side_by_side(args.baseline, "bench-classify-") as (work, base, this):
        clips = files(work / "uploads")
        results = {"baseline": {"commit": args.baseline, **measure("baseline", base, work, clips)},
                   "this": {"commit": this, **measure("this", REPO, work, clips)},
                   "load_at_start": list(psutil.getloadavg()), "cores": psutil.cpu_count()}
    (REPO / "benchmarks" / "results_classify.json").write_text(json.dumps(results, indent=1))
    print(f"{'':<34}{'baseline':>10}{'this':>10}")
    for key in ("cold_30s_wav_genre_s", "warm_30s_wav_genre_s_median", "warm_30s_wav_tags_s_median",
                "server_rss_mb", "prediction_worker_rss_mb"):
        print(f"{key:<34}{results['baseline'][key]:>10}{results['this'][key]:>10}")
    for old, new in zip(results["baseline"]["uploads"], results["this"]["uploads"]):
        print(f"{new['file'] + ' genre / tags (s)':<34}{old['genre_s']:>5}/{old['tags_s']:<5}"
              f"{new['genre_s']:>5}/{new['tags_s']}")


if __name__ == "__main__":
    main()
