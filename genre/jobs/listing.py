"""The workspace's runs, experiment trials and saved models as rows: what the Runs page lists and compares.

A row reads a run's brief (its result without the per-track rows, :meth:`Run.brief`), never its whole
result, so a workspace of hundreds of runs lists in about the time a few take.
"""

from __future__ import annotations

from pathlib import Path

from genre.data.params import FeatureParams
from genre.errors import GenreError
from genre.jobs.experiment import overview
from genre.jobs.runs import Run
from genre.learn.augment import describe as describe_augmentation
from genre.learn.config import ModelConfig, TrainConfig
from genre.learn.model import describe as describe_network

# The settings columns, compared across the rows a user picks (:func:`differing`).
SETTINGS = ["dataset", "genres", "input", "network", "backend", "dropout", "l1", "l2", "standardise", "augmentation",
            "lr", "batch", "epochs asked", "split", "test size", "seed"]
NO_EXPERIMENT = ""  # the experiment column of a run of its own (the app's, the CLI's)


def settings_row(mc: ModelConfig, tc: TrainConfig, backend: str) -> dict:
    """The model and training settings columns (the network's own knobs only)."""
    return {"network": describe_network(mc), "backend": backend, "dropout": mc.dropout, "l1": mc.l1, "l2": mc.l2,
            "standardise": "yes" if mc.standardize else "no", "augmentation": describe_augmentation(tc.augmentation()),
            "lr": mc.learning_rate, "batch": tc.batch_size, "epochs asked": tc.epochs, "split": tc.split,
            "test size": tc.test_size, "seed": tc.seed}


def _round(x):
    return None if x is None else round(float(x), 1)


def run_row(run: Run, experiment: str = NO_EXPERIMENT) -> tuple[dict, dict]:
    """A run's row and its curves (``History.history``: the brief's, else the epoch log of a run in flight)."""
    spec, status, brief = run.spec, run.status(), run.brief() or {}
    m = brief.get("metrics", {})
    shape = spec.get("input_shape") or ["?", "?"]
    try:
        fp, mc, tc = run.configs(spec)
    except GenreError:  # a record written by a newer or broken version: shown, without its settings
        fp, mc, tc = FeatureParams(), ModelConfig(), TrainConfig()
    epochs = None if brief else run.epochs()
    row = {
        "key": f"run:{run.path}", "run": run.name, "experiment": experiment, "status": status.get("state"),
        "dataset": (spec.get("dataset") or "").rstrip("/").rsplit("/", 1)[-1],
        "genres": len(spec.get("genres", [])), "input": "×".join(map(str, shape)),
        **settings_row(mc, tc, spec.get("backend", "tensorflow")),
        "segment acc": m.get("segment_accuracy"), "track acc": m.get("track_accuracy"),
        "epochs": m.get("epochs_run", len(epochs or ()) or None), "time (s)": _round(brief.get("seconds")),
        "segments": fp.num_segments, "source": spec.get("source", "app"), "id": run.id,
    }
    return row, brief.get("history") if brief else run.history(epochs)


def bundle_row(b) -> tuple[dict, dict]:
    """A saved model with no run record (copied in, imported, or from before runs were recorded), and its curves."""
    fp, m = b.params, b.metrics
    row = {
        "key": f"bundle:{b.path}", "run": b.label, "experiment": NO_EXPERIMENT, "status": "saved model",
        "dataset": "", "genres": len(b.genres), "input": "×".join(map(str, fp.input_shape)),
        **settings_row(b.model_config, b.train_config, b.info.get("backend", "tensorflow")),
        "segment acc": m.get("segment_accuracy"), "track acc": m.get("track_accuracy"), "epochs": m.get("epochs_run"),
        "time (s)": _round(b.info.get("seconds")), "segments": fp.num_segments,
        "source": "imported" if b.info.get("imported") else "saved model", "id": b.path.name,
    }
    return row, b.history


def workspace_rows(runs: list[Run], bundles: list, experiments=()) -> tuple[list[dict], dict[str, dict]]:
    """Every run, every trial of ``experiments`` (named by the experiment) and every saved model that is not
    a run's own folder: ``(rows, curves by row key)``. An imported copy of a run's model is a model of its own."""
    rows, curves = [], {}
    for run, experiment in [(r, NO_EXPERIMENT) for r in runs] + [
            (r, f"{overview(e)['title']} · {e.id}") for e in experiments for r in e.runs()]:
        row, history = run_row(run, experiment)
        rows.append(row)
        curves[row["key"]] = history
    recorded = {str(r.bundle_path.resolve()) for r in runs if r.bundle_path is not None}
    for b in bundles:
        if str(b.path.resolve()) not in recorded:
            row, history = bundle_row(b)
            rows.append(row)
            curves[row["key"]] = history
    return rows, curves


def differing(rows: list[dict]) -> list[str]:
    """The settings columns whose values are not all the same among ``rows``."""
    return [c for c in SETTINGS if len({str(r.get(c)) for r in rows}) > 1]


def open_row(key: str):
    """What a row's key names: ``("run", Run)`` or ``("bundle", path)``."""
    kind, _, ident = key.partition(":")
    return (kind, Run(Path(ident))) if kind == "run" else (kind, Path(ident))
