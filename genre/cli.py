"""``python -m genre``: the library from a terminal.

Every :class:`~genre.errors.GenreError` (and a missing or unreadable path) becomes one line on
stderr and exit code 2; Ctrl-C exits 130 without a traceback. ``--json`` prints exactly one
JSON object on stdout; progress bars go to stderr, and only on a terminal.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import signal
import sys
from pathlib import Path

from genre.data.params import FeatureParams, knobs
from genre.errors import ClipTooShortError, GenreError, ParameterError, TrainingError
from genre.jobs.experiment.spec import KEEP_MODELS
from genre.jobs.runs import BACKENDS, DEFAULT_BACKEND
from genre.learn.config import AUGMENT_FIELDS, ModelConfig, TrainConfig
from genre.learn.splits import SPLIT_MODES


def _progress(desc: str, unit: str):
    """A tqdm bar (shown on terminals only) and an ``on_progress(done, total)`` that drives it."""
    from tqdm import tqdm

    bar = tqdm(desc=desc, unit=unit, disable=None, file=sys.stderr, leave=False)

    def update(done: int, total: int) -> None:
        bar.total = total
        bar.update(done - bar.n)

    return bar, update


def cmd_demo_data(a) -> int:
    from genre.data.demo import make_demo_dataset

    bar, update = _progress("synthesising", "clip")
    with bar:
        out = make_demo_dataset(a.out_dir, genres=a.genres, clips_per_genre=a.clips_per_genre,
                                duration=a.duration, seed=a.seed, on_progress=update)
    print(f"wrote a synthetic demo dataset to {out} ({a.genres} genres x {a.clips_per_genre} clips)", file=sys.stderr)
    return 0


def _dask_client(address: str):
    from dask.distributed import Client

    try:
        return Client(address)
    except (ValueError, TypeError, OSError) as exc:  # malformed, unknown protocol, unreachable
        raise ParameterError(f"cannot use the Dask scheduler {address!r}: {exc} (expected e.g. "
                             "tcp://host:8786)") from None


def cmd_extract(a) -> int:
    from genre.data.extract import extract_to_store
    from genre.data.store import export_json

    params = _config(FeatureParams, a, exclude=tuple(a.exclude))
    client = _dask_client(a.dask_scheduler) if a.dask_scheduler else None
    bar, update = _progress("extracting", "file")
    with bar:
        fs, hit = extract_to_store(a.dataset_dir, params, a.out, jobs=a.jobs, on_progress=update, dask_client=client)
    for name, why in fs.skipped:
        print(f"warning: skipped {name}: {why}", file=sys.stderr)
    s = fs.summary()
    short = fs.short_files()
    if short:
        print(f"note: {len(short)} file(s) shorter than {params.duration:g} s gave fewer than {params.num_segments} "
              f"segments: {', '.join(f'{f} ({n})' for f, n in short[:5])}{', ...' if len(short) > 5 else ''}",
              file=sys.stderr)
    print(f"{'cache hit: ' if hit else ''}{s['rows']} rows of {tuple(s['input_shape'])} from {s['tracks']} files "
          f"({s['skipped']} skipped) -> {a.out}", file=sys.stderr)
    if a.json:
        export_json(fs, a.json)
        print(f"notebook JSON -> {a.json}", file=sys.stderr)
    return 0


def _units(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(u) for u in text.replace("-", ",").split(",") if u.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"layer sizes as 512,256,64, got {text!r}") from None


def config_args(parser, cls, names=None) -> None:
    """A flag for each field of config class ``cls`` (those in ``names``, else all with a CLI knob), derived
    from its declaration (:class:`genre.data.params.Knob`): ``--`` and the field's name, dashed, and any
    older spelling; the field's type and default; its choices when it is a word."""
    for name, (f, k) in knobs(cls).items():
        if not k.cli or (names is not None and name not in names):
            continue
        kind = str(f.type)
        kw = {"dest": name, "default": f.default, "help": k.help or None}
        if kind == "bool":
            kw["action"] = "store_true"
        elif "tuple[int" in kind:
            kw["type"] = _units
        elif k.options and isinstance(f.default, str):
            kw["choices"] = list(k.options)
        else:
            kw["type"] = {"int": int, "float": float, "str": str}[kind.split(" | ")[0]]
        parser.add_argument("--" + name.replace("_", "-"), *k.aliases, **kw)


def _config(cls, a, **overrides):
    """The config ``cls`` from the parsed flags (:func:`config_args`) and ``overrides``, validated."""
    values = {name: getattr(a, name) for name, (_, k) in knobs(cls).items() if k.cli and hasattr(a, name)}
    return cls(**{**values, **overrides}).validate()


def cmd_train(a) -> int:
    from genre.data import workspace
    from genre.data.store import load_features
    from genre.jobs.execution import execute, queue_turn
    from genre.jobs.queue import max_runs
    from genre.jobs.runs import create_run
    from genre.learn.splits import default_lists
    from genre.learn.training import split_rows

    fs = load_features(a.features)
    lists = a.lists
    if a.split == "lists" and lists is None:
        lists = default_lists(fs.genres, fs.files)
        if lists is None:
            raise ParameterError("--split lists needs --lists DIR (a folder of train.txt, test.txt and optionally "
                                 "valid.txt); only features of GTZAN default to its fault-filtered split")
        print(f"note: GTZAN's artist- and fault-filtered split (Kereliuk, Sturm & Larsen 2015), from {lists}",
              file=sys.stderr)
    mc = _config(ModelConfig, a)
    tc = _config(TrainConfig, a, lists=None if lists is None else str(Path(lists).resolve()))
    split = split_rows(fs, tc)  # a split that cannot work fails here, before a run record and TensorFlow
    if SPLIT_MODES[tc.split].note and tc.split != "lists":
        print(f"note: {SPLIT_MODES[tc.split].note}", file=sys.stderr)
    if split.missing:
        print(f"note: {len(split.missing)} listed file(s) are not in these features (left out): "
              f"{', '.join(split.missing[:5])}{', ...' if len(split.missing) > 5 else ''}", file=sys.stderr)
    # The same record as the app's runs, so a CLI run appears on the app's Runs page.
    run = create_run(workspace.runs_dir(), features_path=a.features, features=fs, model_config=mc, train_config=tc,
                     name=a.name or Path(a.out).name, backend=a.backend, bundle_out=a.out, source="cli")
    from tqdm import tqdm

    if tc.augmentation() is not None:  # here, with a progress bar; the run then reads the copies from the cache
        from genre.learn.augment import load_or_augment

        with tqdm(desc="augmenting", unit="track", disable=None, file=sys.stderr, leave=False) as bar:
            def on_progress(done: int, total: int) -> None:
                bar.total = total
                bar.update(done - bar.n)

            aug = load_or_augment(fs, a.features, tc, on_progress=on_progress)
        print(f"note: {tc.augment_copies} augmented copies of each training track ({len(aug):,} rows for all "
              "tracks, cached; the copies of test and validation tracks are never used)", file=sys.stderr)
    def waiting(ahead: int) -> None:
        print(f"queued: {ahead} run(s) ahead in this workspace's queue (at most {max_runs()} train at once: "
              "GENRE_MAX_RUNS)" if ahead else f"queued: waiting for one of the {max_runs()} training slots",
              file=sys.stderr)

    with _ctrl_c_stops(run), queue_turn(run, on_wait=waiting):
        with tqdm(total=tc.epochs, desc="training", unit="epoch", disable=None, file=sys.stderr, leave=False) as bar:
            def on_epoch(epoch: int, logs: dict) -> None:
                bar.update(1)
                bar.set_postfix(acc=f"{logs.get('accuracy', 0):.3f}", val_acc=f"{logs.get('val_accuracy', 0):.3f}")

            execute(run, on_epoch=on_epoch)
    status = run.status()
    if status["state"] == "failed":
        raise TrainingError(status.get("message") or "training failed")
    result = run.result()
    m = result["metrics"]
    if m.get("n_augmented_rows"):
        print(f"trained on {m['n_train_segments']:,} rows + {m['n_augmented_rows']:,} augmented copies", file=sys.stderr)
    print(f"split by {tc.split}; test: segment accuracy {m['segment_accuracy']:.3f} ({m['n_segments']} segments), "
          f"track accuracy {m['track_accuracy']:.3f} ({m['n_tracks']} tracks, mean-probability vote); "
          f"{m['epochs_run']} epochs in {result['seconds']:.1f} s on {run.spec['backend']} -> {a.out} (run {run.id})",
          file=sys.stderr)
    return 0


@contextlib.contextmanager
def _ctrl_c_stops(run):
    """The first Ctrl-C asks ``run`` to stop after its batch, as the app's Stop does (what it learned is saved);
    a second one interrupts at once."""
    def first(signum, frame):
        print("\nstopping after this batch; the model learned so far is saved (Ctrl-C again to abort)",
              file=sys.stderr)
        run.request_stop()
        signal.signal(signal.SIGINT, previous)

    previous = signal.signal(signal.SIGINT, first)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def cmd_experiment(a) -> int:
    from genre.jobs.execution import StopFlag
    from genre.jobs.experiment import ExperimentSpec, parse_vary, run_experiment

    varies = [parse_vary(v) for v in a.vary]  # every --vary checked before any work
    if a.workers is not None and a.dask_scheduler:
        raise ParameterError("--workers and --dask-scheduler exclude each other: trials run locally or on the cluster")
    base = {"features": FeatureParams(exclude=tuple(a.exclude), files_per_genre=a.files_per_genre).validate()}
    spec = ExperimentSpec.build(a.dataset_dir, varies, base=base, repeats=a.repeats, split=a.split, folds=a.folds,
                                lists=a.lists, epochs=a.epochs, backend=a.backend, workers=a.workers,
                                keep_models=a.keep_models)
    client = _dask_client(a.dask_scheduler) if a.dask_scheduler else None
    from tqdm import tqdm

    with tqdm(desc="trials", unit="trial", disable=None, file=sys.stderr, leave=False) as bar:
        def progress(done: int, total: int, row: dict) -> None:
            bar.total = total
            bar.update(done - bar.n)

        # Ctrl-C stops the experiment like the app's Stop: trials in flight end after their batch, all are kept.
        # A stop file in the experiment's folder (the app's Stop) ends it like Ctrl-C does.
        result = run_experiment(spec, a.out, dask_client=client, on_progress=progress,
                                stop=StopFlag(Path(a.out) / "stop"))
    if a.json:
        print(json.dumps(result, default=list))
    else:
        for row in result["summary"]:
            settings = ", ".join(f"{k}={v}" for k, v in row["settings"].items()) or "(defaults)"
            print(f"{settings}: track accuracy {row['track_accuracy_mean']:.3f} ± {row['track_accuracy_std']:.3f}, "
                  f"segment {row['segment_accuracy_mean']:.3f} ± {row['segment_accuracy_std']:.3f} (n={row['n']})")
    for name in result["missing"]:
        print(f"warning: listed but missing: {name}", file=sys.stderr)
    failed = [t for t in result["trials"] if t.get("error")]
    for t in failed:
        print(f"warning: trial {t['settings']} seed {t['seed']}: {t['error']}", file=sys.stderr)
    print(f"{len(result['trials']) - len(failed)} of {len(result['trials'])} trials done -> {a.out}", file=sys.stderr)
    return 0


def cmd_predict(a) -> int:
    from genre.learn.bundle import load_bundle
    from genre.learn.predict import predict_file

    bundle = load_bundle(a.model_dir)
    results, rows, failed = [], [], 0
    for clip in a.clips:
        try:
            p = predict_file(bundle, clip)
            results.append({"path": clip, "genre": p.genre, "probabilities": p.probabilities,
                            "segments": p.n_segments})
            rows.append({**p.row(), "file": clip, "error": ""})
            if a.hear:
                results[-1]["musicnn_hears"] = _hears(clip)
                rows[-1]["musicnn hears"] = ", ".join(f"{t} {v:.2f}" for t, v in results[-1]["musicnn_hears"])
        except GenreError as exc:
            failed += 1
            results.append({"path": clip, "error": str(exc)})
            rows.append({"file": clip, "error": str(exc)})
    if a.csv:
        _write_predictions_csv(a.csv, rows)
        print(f"{len(rows)} prediction(s) -> {a.csv}", file=sys.stderr)
    if a.json:
        print(json.dumps({"results": results}))
    else:
        for r in results:
            if "error" in r:
                print(f"{r['path']}: error: {r['error']}")
            else:
                top = sorted(r["probabilities"].items(), key=lambda kv: -kv[1])[:3]
                alts = ", ".join(f"{g} {v:.0%}" for g, v in top)
                print(f"{r['path']}: {r['genre']}  ({alts}; {r['segments']} segments)"
                      + (f"; musicnn hears {', '.join(t for t, _ in r['musicnn_hears'][:3]) or '(too short)'}"
                         if a.hear else ""))
    return 1 if failed else 0


def _hears(clip: str) -> list:
    """musicnn's top tags for ``clip`` (none when it is shorter than the 3 s it listens to)."""
    from genre.jobs.predictor import hear

    try:
        return hear(data=clip)["top"]
    except ClipTooShortError:
        return []


PREDICTION_COLUMNS = ("file", "genre", "probability", "runner-up", "runner-up probability", "segments",
                      "segment agreement", "weak", "error")  # Prediction.row()'s, and why a clip failed


def _write_predictions_csv(path: Path, rows: list[dict]) -> None:
    """One row per clip (a clip that failed: its file and error), written atomically."""
    import csv

    from genre.atomic import atomic_path

    with atomic_path(path, suffix=".csv") as tmp, open(tmp, "w", newline="", encoding="utf-8") as fh:
        columns = list(dict.fromkeys([*PREDICTION_COLUMNS, *(k for r in rows for k in r)]))  # row() may grow
        writer = csv.DictWriter(fh, fieldnames=columns, restval="")
        writer.writeheader()
        writer.writerows(rows)


def cmd_evaluate(a) -> int:
    from genre.learn.bundle import load_bundle
    from genre.learn.predict import evaluate_dataset

    bundle = load_bundle(a.model_dir)
    bar, update = _progress("evaluating", "file")
    with bar:
        result = evaluate_dataset(bundle, a.dataset_dir, jobs=a.jobs, on_progress=update, exclude=tuple(a.exclude))
    if a.json:
        print(json.dumps(result))
    else:
        print(f"{result['n_tracks']} tracks ({len(result['skipped'])} skipped): track accuracy "
              f"{result['track_accuracy']:.3f}, segment accuracy {result['segment_accuracy']:.3f}")
        for g, row in zip(result["genres"], result["confusion"]):
            print(f"  {g:>12}: {row}")
    return 0


def cmd_warmup(a) -> int:
    """Pay one-time costs before the app starts: librosa's numba compile, the demo dataset."""
    import numpy as np

    from genre.data import workspace

    print("compiling librosa's numba functions (cached after the first time)...", file=sys.stderr)
    import librosa

    y = np.random.default_rng(0).standard_normal(22050).astype(np.float32)
    librosa.power_to_db(librosa.feature.melspectrogram(y=y, sr=22050))
    if not a.no_demo:
        bar, update = _progress("demo dataset", "clip")
        with bar:
            path = workspace.ensure_demo_dataset(on_progress=update)
        print(f"demo dataset ready: {path}", file=sys.stderr)
    return 0


def _default_backend() -> str:
    """``--backend``'s default: ``$GENRE_BACKEND`` when it names one, else auto (each network's faster)."""
    import os

    chosen = os.environ.get("GENRE_BACKEND", "").strip()
    return chosen if chosen in BACKENDS else DEFAULT_BACKEND


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m genre", description="Music-genre classification: MFCCs per segment -> "
                                "dense network.")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("demo-data", help="write a small synthetic GTZAN-shaped dataset")
    s.add_argument("out_dir", type=Path)
    s.add_argument("--genres", type=int, default=6)
    s.add_argument("--clips-per-genre", type=int, default=10)
    s.add_argument("--duration", type=float, default=30.0)
    s.add_argument("--seed", type=int, default=0)
    s.set_defaults(func=cmd_demo_data)

    s = sub.add_parser("extract", help="MFCCs per segment of a GTZAN-shaped folder -> .npz store")
    s.add_argument("dataset_dir", type=Path)
    s.add_argument("--out", type=Path, required=True)
    config_args(s, FeatureParams)
    s.add_argument("--exclude", action="append", default=[], metavar="FOLDER",
                   help="a folder that is not a genre (e.g. unlabelled); repeat for more")
    s.add_argument("--jobs", type=int, default=-1, help="worker threads (-1: one per core)")
    s.add_argument("--json", type=Path, help="also write the notebook's JSON here")
    s.add_argument("--dask-scheduler", help="run on this Dask cluster (e.g. tcp://host:8786)")
    s.set_defaults(func=cmd_extract)

    s = sub.add_parser("train", help="train a network (dense, cnn or lstm) on a feature store -> model bundle")
    s.add_argument("features", type=Path)
    s.add_argument("--out", type=Path, required=True)
    config_args(s, ModelConfig)
    config_args(s, TrainConfig, set(knobs(TrainConfig)) - set(AUGMENT_FIELDS))
    s.add_argument("--backend", choices=list(BACKENDS), default=_default_backend(),
                   help="Keras backend ($GENRE_BACKEND, else auto): " + "; ".join(f"{k}: {v}" for k, v in BACKENDS.items()))
    s.add_argument("--name", help="the run's name on the app's Runs page (default: the --out folder's name)")
    config_args(s.add_argument_group("augmentation of the training tracks (copies of test/validation tracks are "
                                     "never used)"), TrainConfig, AUGMENT_FIELDS)
    s.set_defaults(func=cmd_train)

    s = sub.add_parser("experiment", help="a grid of settings x repeated seeds (x k folds): mean +- std per point")
    s.add_argument("dataset_dir", type=Path)
    s.add_argument("--out", type=Path, required=True, help="the experiment's folder (records, summary JSON and CSV)")
    s.add_argument("--vary", action="append", default=[], metavar="NAME=V1,V2",
                   help="a setting and its values (hidden_units as 512-256-64); several --vary make a grid")
    s.add_argument("--repeats", type=int, default=3, help="seeds per grid point")
    config_args(s, TrainConfig, ("split", "folds", "lists", "epochs"))
    s.add_argument("--backend", choices=list(BACKENDS), default=_default_backend(),
                   help="($GENRE_BACKEND, else auto) " + "; ".join(f"{k}: {v}" for k, v in BACKENDS.items()))
    s.add_argument("--workers", type=int, help="trials at once on this machine (default: half the cores)")
    s.add_argument("--keep-models", choices=list(KEEP_MODELS), default="all",
                   help="what to keep of the trials' models (~20 MB each): " + "; ".join(
                       f"{k}: {v}" for k, v in KEEP_MODELS.items()))
    s.add_argument("--dask-scheduler", help="run the trials on this Dask cluster (e.g. tcp://host:8786)")
    s.add_argument("--exclude", action="append", default=[], metavar="FOLDER",
                   help="a folder that is not a genre (e.g. unlabelled); repeat for more")
    config_args(s, FeatureParams, ("files_per_genre",))
    s.add_argument("--json", action="store_true", help="print exactly one JSON object on stdout")
    s.set_defaults(func=cmd_experiment)

    s = sub.add_parser("predict", help="classify audio clips with a model bundle")
    s.add_argument("model_dir", type=Path)
    s.add_argument("clips", nargs="+")
    s.add_argument("--json", action="store_true")
    s.add_argument("--csv", type=Path, metavar="FILE", help="also write one row per clip to this CSV file")
    s.add_argument("--hear", action="store_true", help="also say what musicnn, a network pretrained on a million "
                   "songs, hears in each clip (its top tags)")
    s.set_defaults(func=cmd_predict)

    s = sub.add_parser("evaluate", help="score a model bundle on a labelled GTZAN-shaped folder")
    s.add_argument("model_dir", type=Path)
    s.add_argument("dataset_dir", type=Path)
    s.add_argument("--json", action="store_true")
    s.add_argument("--jobs", type=int, default=1)
    s.add_argument("--exclude", action="append", default=[], metavar="FOLDER",
                   help="a folder that is not a genre (e.g. unlabelled); repeat for more")
    s.set_defaults(func=cmd_evaluate)

    s = sub.add_parser("warmup", help="one-time set-up for the app: numba compile, demo dataset")
    s.add_argument("--no-demo", action="store_true", help="do not create the demo dataset")
    s.set_defaults(func=cmd_warmup)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.ERROR, format="%(levelname)s: %(message)s")  # skips are reported once below
    try:
        return args.func(args)
    except GenreError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"error: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
