"""The workspace's disk: what takes space, and removing what nothing needs.

A run's model is ~20 MB whatever its epochs, a feature cache ~60 MB per setting at GTZAN scale, an
experiment's trials a model each: :func:`usage` says where the space went; :func:`unused_feature_caches`
finds the stores (and their augmented copies) that no run trains or trained on; :func:`select_runs` picks
runs by state, age or experiment for a bulk delete.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

from genre.data import workspace
from genre.jobs.experiment import list_experiments
from genre.jobs.runs import Run, list_runs


def size_of(path: Path) -> int:
    """Bytes on disk of a file or a folder's files (0 when it is gone)."""
    if path.is_file():
        return path.stat().st_size
    total = 0
    for folder, _, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(folder, name)).st_size
            except OSError:
                continue  # removed meanwhile
    return total


def _features(home: Path) -> tuple[list[Path], list[Path]]:
    stores = sorted((home / "features").glob("*.npz")) if (home / "features").is_dir() else []
    return [p for p in stores if ".aug-" not in p.name], [p for p in stores if ".aug-" in p.name]


def usage(home: Path | None = None) -> list[dict]:
    """``{"what", "items", "bytes"}`` per kind of thing in the workspace, largest first."""
    home = Path(home or workspace.home())
    features, augmented = _features(home)
    runs = list_runs(home / "runs")
    experiments = list_experiments(home / "experiments")
    rows = [
        {"what": "run records", "items": len(runs), "bytes": size_of(home / "runs")},
        {"what": "saved models", "items": len(list((home / "models").iterdir())) if (home / "models").is_dir() else 0,
         "bytes": size_of(home / "models")},
        {"what": "experiments (their trials and models)", "items": len(experiments),
         "bytes": size_of(home / "experiments")},
        {"what": "feature caches", "items": len(features), "bytes": sum(map(size_of, features))},
        {"what": "augmentation caches", "items": len(augmented), "bytes": sum(map(size_of, augmented))},
        {"what": "demo dataset", "items": int(workspace.demo_ready()), "bytes": size_of(workspace.demo_dir())},
        {"what": "compiled JAX steps", "items": len(list(workspace.jax_cache_dir().glob("*")))
         if workspace.jax_cache_dir().is_dir() else 0, "bytes": size_of(workspace.jax_cache_dir())},
    ]
    return sorted(rows, key=lambda r: -r["bytes"])


def _all_runs(home: Path) -> list[Run]:
    return list_runs(home / "runs") + [r for e in list_experiments(home / "experiments") for r in e.runs()]


def unused_feature_caches(home: Path | None = None, *, keep=()) -> list[Path]:
    """Feature stores no run record (the workspace's or an experiment's) trains or trained on, with their augmented
    copies, and augmented copies whose store is gone; never those in ``keep`` (e.g. the features in use)."""
    home = Path(home or workspace.home())
    needed = {Path(p).resolve() for p in keep}
    needed |= {Path(r.spec["features"]).resolve() for r in _all_runs(home) if r.spec.get("features")}
    features, augmented = _features(home)
    unused = [p for p in features if p.resolve() not in needed]
    kept = {p.stem for p in features if p.resolve() in needed}
    return unused + [p for p in augmented if p.name.split(".aug-")[0] not in kept]


def select_runs(runs: list[Run], *, states=(), older_than_days: float | None = None) -> list[Run]:
    """The runs (not in flight) in one of ``states`` (any when empty), created more than ``older_than_days`` ago."""
    cutoff = None if older_than_days is None else time.time() - older_than_days * 86400
    picked = []
    for run in runs:
        state = run.state
        if run.running or (states and state not in states):
            continue
        if cutoff is not None and float(run.spec.get("created", time.time())) > cutoff:
            continue
        picked.append(run)
    return picked


def remove(paths) -> int:
    """Delete these files and folders; the bytes freed."""
    freed = 0
    for path in map(Path, paths):
        size = size_of(path)
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
        freed += size
    return freed
