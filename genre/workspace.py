"""The app's own data folder: demo dataset, feature cache, saved models.

``$GENRE_HOME`` when set, else ``./workspace``. Everything in it is written atomically, so
several sessions (browser tabs) and restarts share it safely.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from .config import FeatureParams

DEMO_NAME = "demo-synthetic"
DEMO_ARGS = {"genres": 6, "clips_per_genre": 12, "duration": 30.0, "seed": 0}


def home() -> Path:
    return Path(os.environ.get("GENRE_HOME", "workspace")).expanduser().resolve()


def models_dir() -> Path:
    return home() / "models"


def runs_dir() -> Path:
    """Training runs' records (see :mod:`genre.runs`)."""
    return home() / "runs"


def demo_dir() -> Path:
    return home() / DEMO_NAME


def demo_ready() -> bool:
    return (demo_dir() / "README.txt").is_file()


def ensure_demo_dataset(on_progress=None, **overrides) -> Path:
    """The synthetic demo dataset, generated (atomically, as a whole folder) on first use."""
    from .atomic import atomic_dir
    from .demo import make_demo_dataset

    target = demo_dir()
    if demo_ready():
        return target
    with atomic_dir(target) as tmp:
        make_demo_dataset(tmp, on_progress=on_progress, **{**DEMO_ARGS, **overrides})
    return target


def features_path(dataset_root: str | Path, params: FeatureParams) -> Path:
    """Where the feature store of ``dataset_root`` with ``params`` is cached."""
    ident = json.dumps({"root": str(Path(dataset_root).expanduser().resolve()), **params.identity()}, sort_keys=True)
    return home() / "features" / f"{hashlib.sha256(ident.encode()).hexdigest()[:20]}.npz"
