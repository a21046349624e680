"""Benchmark: MFCCs against musicnn's pretrained embeddings, side by side in one run.

For each feature family (the notebook's MFCCs; musicnn's ``penultimate`` embeddings, the mean of each segment's
3 s patches) and each head (the notebook's dense network, 512/256/64; logistic regression, one softmax over the
inputs), 5-fold cross-validation by track (``TrainConfig(split="kfold")``: every track tested once, its segments
voting by mean probability) gives the mean ± std over the folds of the test track accuracy and segment accuracy.
Inputs are standardised with the training rows' statistics. Extraction is timed per track (wall seconds of
``extract_to_store`` on 2 cores, cache cleared: MFCCs on two threads, musicnn's network on all cores).

Datasets: the bundled synthetic demo (6 genres x 12 clips of 30 s), and with ``--gtzan-shaped`` the overfitting
lab's GTZAN-shaped synthetic set (10 genres x 20 clips; four genres mix two others). Both are synthetic: they say
little about a network trained on real music (musicnn has never heard these sounds), and nothing about the gap
the issue measured on real recordings. This machine has no real music and no internet to fetch any.

Prints a table and writes ``benchmarks/results_transfer.json``. A benchmark, not a test: it asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("KERAS_BACKEND", "jax")  # "auto"'s choice for the dense network and logistic regression
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from table import print_table  # noqa: E402

HEADS = {"dense (notebook)": dict(kind="dense"), "logistic regression": dict(kind="logistic", learning_rate=1e-3)}
FAMILIES = {"MFCC (13 × 259)": dict(), "musicnn penultimate (200)": dict(features="musicnn")}


def run(root: Path, work: Path, *, folds: int, epochs: int) -> list[dict]:
    from genre.data.dataset import scan_dataset
    from genre.data.extract import extract_to_store
    from genre.data.params import FeatureParams
    from genre.learn.config import ModelConfig, TrainConfig
    from genre.learn.training import train

    n_tracks = scan_dataset(root).n_files
    rows = []
    for family, changes in FAMILIES.items():
        params = FeatureParams(**changes)
        started = time.perf_counter()
        fs, _ = extract_to_store(root, params, work / f"{root.name}-{params.features}.npz", jobs=2, force=True)
        per_track = (time.perf_counter() - started) / n_tracks
        for head, mc in HEADS.items():
            track, segment = [], []
            for fold in range(folds):
                result = train(fs, ModelConfig(**mc, standardize=True),
                               TrainConfig(split="kfold", folds=folds, fold=fold, epochs=epochs, seed=fold))
                track.append(result.metrics["track_accuracy"])
                segment.append(result.metrics["segment_accuracy"])
            rows.append({"dataset": root.name, "features": family, "head": head, "tracks": n_tracks,
                         "track_mean": statistics.mean(track), "track_std": statistics.stdev(track),
                         "segment_mean": statistics.mean(segment), "segment_std": statistics.stdev(segment),
                         "extract_s_per_track": per_track, "folds": folds, "epochs": epochs})
            print(f"{root.name}: {family} + {head}: track {rows[-1]['track_mean']:.3f} ± {rows[-1]['track_std']:.3f}",
                  flush=True)
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--epochs", type=int, default=60)
    ap.add_argument("--gtzan-shaped", action="store_true", help="also the GTZAN-shaped synthetic set (slower)")
    ap.add_argument("--json-out", type=Path, default=REPO / "benchmarks" / "results_transfer.json")
    a = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-transfer-") as tmp:
        work = Path(tmp)
        os.environ.setdefault("GENRE_HOME", str(work / "home"))
        from genre.data import workspace

        roots = [workspace.ensure_demo_dataset()]
        if a.gtzan_shaped:
            from bench_remedies import make_gtzan_shaped

            roots.append(make_gtzan_shaped(work / "gtzan-shaped"))
        rows = [r for root in roots for r in run(root, work, folds=a.folds, epochs=a.epochs)]
    print_table([{"dataset": r["dataset"], "features": r["features"], "head": r["head"],
                  "track accuracy": f"{r['track_mean']:.3f} ± {r['track_std']:.3f}",
                  "segment accuracy": f"{r['segment_mean']:.3f} ± {r['segment_std']:.3f}",
                  "extract s/track": f"{r['extract_s_per_track']:.3f}"} for r in rows],
                ("dataset", "features", "head", "track accuracy", "segment accuracy", "extract s/track"))
    a.json_out.write_text(json.dumps({"backend": os.environ["KERAS_BACKEND"], "cores": os.cpu_count(),
                                      "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
