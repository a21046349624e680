"""Benchmark: the overfitting lab. Every remedy the notebook names, measured the same way, side by side.

1. **Remedies.** For each remedy (one row of ``REMEDIES``: settings changed from the notebook's dense
   network), ``genre.jobs.experiment.run_experiment`` trains 3 seeds on the same split by track (30 % of
   the tracks held out for testing, stratified by genre) and reports mean ± std of the test track
   accuracy (each track's segments vote by mean probability), segment accuracy, and the train −
   validation accuracy gap at the last epoch (the validation curve is the test split, as in the
   notebook, except with early stopping, which holds out part of the training tracks). On two
   datasets: the bundled synthetic demo (6 genres × 12 clips of 30 s) and a GTZAN-shaped synthetic
   set (GTZAN's 10 genre names and file names, 20 clips of 30 s at 22050 Hz each; four of its genres
   are mixes of two of the others, so it is harder).
2. **Seconds per epoch** of each model kind on each Keras backend: a ``python -m genre train`` run
   of 6 epochs on the GTZAN-shaped features; the median of epochs 2-6 (the first compiles).
3. **Augmentation cost**: seconds per track per copy, audio transforms (pitch shift ± 2 semitones,
   stretch 1 ± 0.1, noise at 30 dB, on the 30 s excerpt, then MFCCs), and masks only (no audio).

It prints tables and writes JSON (default ``benchmarks/results_remedies.json``). A benchmark, not a
test: it asserts nothing. About 25 minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from table import print_table  # noqa: E402

AUGMENT = dict(augment_copies=2, pitch_shift=2.0, time_stretch=0.1, noise_snr=30.0, time_mask=8, coef_mask=2)
REMEDIES = {  # name -> (ModelConfig changes, TrainConfig changes), from the notebook's dense network
    "notebook (dropout 0.3, L2 1e-3)": ({}, {}),
    "no regularisation": ({"dropout": 0.0, "l2": 0.0}, {}),
    "simpler network (128-32)": ({"hidden_units": (128, 32)}, {}),
    "+ L1 1e-4": ({"l1": 1e-4}, {}),
    "+ early stopping (patience 5)": ({}, {"patience": 5}),
    "+ standardised inputs": ({"standardize": True}, {}),
    "+ augmentation (2 copies)": ({}, AUGMENT),
    "CNN": ({"kind": "cnn"}, {}),
    "LSTM": ({"kind": "lstm"}, {}),
}
KINDS = ("dense", "cnn", "lstm")
BACKENDS = ("tensorflow", "jax")
GTZAN = ("blues", "classical", "country", "disco", "hiphop", "jazz", "metal", "pop", "reggae", "rock")


def make_gtzan_shaped(root: Path, clips: int = 20, duration: float = 30.0, sample_rate: int = 22050) -> Path:
    """GTZAN's genre and file names; genres 0-5 one demo synth each, 6-9 a mix of two of them."""
    import numpy as np
    import soundfile as sf

    from genre.data.demo import DEMO_GENRES, synth_clip

    mixes = [(0, 2), (1, 3), (2, 4), (3, 5)]
    for g, name in enumerate(GTZAN):
        (root / name).mkdir(parents=True, exist_ok=True)
        for k in range(clips):
            rng = np.random.default_rng([7, g, k])
            parts = [g] if g < 6 else list(mixes[g - 6])
            y = sum(synth_clip(DEMO_GENRES[p], duration=duration, sample_rate=sample_rate, rng=rng) for p in parts)
            y = 0.9 * y / max(1e-9, float(np.max(np.abs(y))))
            sf.write(root / name / f"{name}.{k:05d}.wav", y.astype(np.float32), sample_rate, subtype="PCM_16")
    return root


def remedies(dataset: Path, out: Path, epochs: int, repeats: int) -> list[dict]:
    from genre.data.params import FeatureParams
    from genre.jobs.experiment import Experiment, ExperimentSpec, gaps, run_experiment
    from genre.learn.config import ModelConfig, TrainConfig

    rows = []
    for i, (name, (model, train)) in enumerate(REMEDIES.items()):
        base = {"features": FeatureParams(), "model": ModelConfig(**model), "train": TrainConfig(**train)}
        start = time.perf_counter()
        run_experiment(ExperimentSpec.build(dataset, base=base, repeats=repeats, epochs=epochs, workers=1), out / f"r{i}")
        wall = time.perf_counter() - start
        (row,) = gaps(Experiment(out / f"r{i}"))
        rows.append({"remedy": name, **{k: row[k] for k in ("n", "track_accuracy_mean", "track_accuracy_std",
                                                             "segment_accuracy_mean", "segment_accuracy_std",
                                                             "gap_mean", "gap_std")}, "wall_s": wall})
        print(f"  {name}: track {row['track_accuracy_mean']:.3f} ± {row['track_accuracy_std']:.3f}, "
              f"gap {row['gap_mean']:.3f} ({wall:.0f} s)", flush=True)
    return rows


def seconds_per_epoch(features: Path, tmp: Path, env: dict) -> list[dict]:
    rows = []
    for kind in KINDS:
        for backend in BACKENDS:
            proc = subprocess.run([sys.executable, "-m", "genre", "train", str(features), "--out",
                                   str(tmp / f"{kind}-{backend}"), "--model", kind, "--backend", backend,
                                   "--epochs", "6", "--name", f"bench {kind} {backend}"],
                                  cwd=REPO, env={**env, "KERAS_BACKEND": backend}, capture_output=True, text=True)
            if proc.returncode != 0:
                raise RuntimeError(f"{kind}/{backend} failed:\n{proc.stderr[-2000:]}")
            from genre.jobs.runs import list_runs

            run = next(r for r in list_runs(Path(env["GENRE_HOME"]) / "runs") if r.name == f"bench {kind} {backend}")
            t = [e["seconds"] for e in run.epochs()]
            per = [b - a for a, b in zip(t, t[1:])]
            rows.append({"kind": kind, "backend": backend, "first_epoch_s": t[0], "epoch_s": statistics.median(per)})
            print(f"  {kind} on {backend}: {statistics.median(per):.3f} s per epoch (first {t[0]:.2f} s)", flush=True)
    return rows


def augmentation_cost(fs, tracks: int = 20) -> dict:
    from dataclasses import replace

    import numpy as np

    from genre.learn.augment import augment_features
    from genre.learn.config import TrainConfig

    keep = np.isin(fs.track, np.unique(fs.track)[:tracks])
    part = replace(fs, X=fs.X[keep], y=fs.y[keep], track=fs.track[keep], segment=fs.segment[keep])
    out = {}
    for name, settings in (("audio transforms + masks", AUGMENT), ("masks only", dict(augment_copies=2, time_mask=8,
                                                                                        coef_mask=2))):
        s = TrainConfig(**settings).augmentation()
        start = time.perf_counter()
        augment_features(part, s, jobs=1)
        out[name] = (time.perf_counter() - start) / tracks / s["augment_copies"]
        print(f"  {name}: {out[name] * 1000:.1f} ms per track per copy (one thread)", flush=True)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--json-out", type=Path, default=Path(__file__).with_name("results_remedies.json"))
    a = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="genre-bench-remedies-") as tmp:
        tmp = Path(tmp)
        os.environ["GENRE_HOME"] = str(tmp / "home")
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
        subprocess.run([sys.executable, "-m", "genre", "warmup"], cwd=REPO, env=env, check=True, capture_output=True)
        from genre.data import workspace
        from genre.data.extract import extract_to_store
        from genre.data.params import FeatureParams

        datasets = {"demo": workspace.demo_dir(), "GTZAN-shaped": make_gtzan_shaped(tmp / "gtzan-shaped")}
        load = os.getloadavg()[0]
        results: dict = {"epochs": a.epochs, "repeats": a.repeats, "load_before": load, "remedies": {}}
        for name, root in datasets.items():
            print(f"{name}: {a.repeats} seeds x {len(REMEDIES)} remedies, {a.epochs} epochs, split by track", flush=True)
            results["remedies"][name] = remedies(root, tmp / f"exp-{name}", a.epochs, a.repeats)
        print("seconds per epoch, GTZAN-shaped features", flush=True)
        store = workspace.features_path(datasets["GTZAN-shaped"], FeatureParams())
        fs, _ = extract_to_store(datasets["GTZAN-shaped"], FeatureParams(), store)
        results["epochs_per_kind"] = seconds_per_epoch(store, tmp, env)
        print("augmentation cost", flush=True)
        results["augmentation_s_per_track_copy"] = augmentation_cost(fs)
        results["load_after"] = os.getloadavg()[0]
    for name, rows in results["remedies"].items():
        print(f"\n{name}: test track accuracy (vote), split by track (30 % of tracks), {a.repeats} seeds, "
              f"{a.epochs} epochs")
        print_table([{"remedy": r["remedy"], "track acc": f"{r['track_accuracy_mean']:.3f} ± {r['track_accuracy_std']:.3f}",
                      "segment acc": f"{r['segment_accuracy_mean']:.3f} ± {r['segment_accuracy_std']:.3f}",
                      "train - val gap": f"{r['gap_mean']:+.3f} ± {r['gap_std']:.3f}"} for r in rows],
                    ("remedy", "track acc", "segment acc", "train - val gap"))
    print("\nseconds per epoch (median of epochs 2-6), GTZAN-shaped features")
    print_table([{"kind": r["kind"], "backend": r["backend"], "s/epoch": f"{r['epoch_s']:.3f}",
                  "first epoch (s)": f"{r['first_epoch_s']:.2f}"} for r in results["epochs_per_kind"]],
                ("kind", "backend", "s/epoch", "first epoch (s)"))
    print(f"\nload {load:.1f} before, {results['load_after']:.1f} after")
    a.json_out.write_text(json.dumps(results, indent=1, default=list))
    return 0


if __name__ == "__main__":
    sys.exit(main())
