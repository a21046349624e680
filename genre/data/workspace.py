"""The app's own data folder: demo dataset, feature cache, saved models.

``$GENRE_HOME`` when set, else ``./workspace``. Everything in it is written atomically, so
several sessions (browser tabs) and restarts share it safely.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from genre.data.params import FeatureParams

DEMO_NAME = "demo-synthetic"
DEMO_ARGS = {"genres": 6, "clips_per_genre": 12, "duration": 30.0, "seed": 0}


def data_roots() -> list[Path] | None:
    """The folders datasets may come from (``$GENRE_DATA_ROOTS``, separated by ``os.pathsep``), or
    None: unrestricted, as for a local run. Set it when the app is shared, so that no visitor can
    make the server scan any folder it can read. The workspace itself (the demo) is always allowed."""
    value = os.environ.get("GENRE_DATA_ROOTS", "").strip()
    if not value:
        return None
    package_data = Path(__file__).resolve().parent / "gtzan-fault-filtered"  # the bundled split lists
    return [Path(p).expanduser().resolve() for p in value.split(os.pathsep) if p.strip()] + [home(), package_data]


def shared() -> bool:
    """Whether this server is shared by visitors (``$GENRE_SHARED``, or ``$GENRE_DATA_ROOTS`` set): then a
    visitor's settings live in their session and URL only, never seeding the next visitor's."""
    return os.environ.get("GENRE_SHARED", "").strip().lower() in ("1", "true", "yes") or data_roots() is not None


def check_data_root(path: str | Path) -> Path:
    """``path`` resolved, when datasets may be read there; else a :class:`DatasetError` that says where they may."""
    from genre.errors import DatasetError

    resolved = Path(path).expanduser().resolve()
    roots = data_roots()
    if roots is not None and not any(resolved == r or r in resolved.parents for r in roots):
        raise DatasetError(f"{path} is outside the folders this server reads datasets from "
                           f"({', '.join(map(str, roots[:-2]))}; set by GENRE_DATA_ROOTS)")
    return resolved


def home() -> Path:
    return Path(os.environ.get("GENRE_HOME", "workspace")).expanduser().resolve()


def models_dir() -> Path:
    return home() / "models"


def runs_dir() -> Path:
    """Training runs' records (see :mod:`genre.jobs.runs`)."""
    return home() / "runs"


def jax_cache_dir() -> Path:
    """JAX's persistent compilation cache: compiled steps a later run of the same shapes reuses. Trusted code, so
    it lives in the workspace, which only this app writes."""
    return home() / "cache" / "jax"


def demo_dir() -> Path:
    return home() / DEMO_NAME


def demo_ready() -> bool:
    return (demo_dir() / "README.txt").is_file()


def ensure_demo_dataset(on_progress=None, **overrides) -> Path:
    """The synthetic demo dataset, generated (atomically, as a whole folder) on first use."""
    from genre.atomic import atomic_dir
    from genre.data.demo import make_demo_dataset

    target = demo_dir()
    if demo_ready():
        return target
    with atomic_dir(target) as tmp:
        make_demo_dataset(tmp, on_progress=on_progress, **{**DEMO_ARGS, **overrides})
    return target


LEFTOVER_AGE_S = 600.0  # a temp file or an empty model folder older than this belongs to no write in progress


def sweep(*, older_than: float = LEFTOVER_AGE_S) -> list[Path]:
    """Remove what a killed process left in the workspace; the paths removed.

    An atomic write killed halfway leaves its ``.*.tmp`` file; a delete killed halfway its ``.*.deleting``
    folder; a run killed while saving the empty model folder it had reserved. Only what is older than
    ``older_than`` seconds goes, so a write in progress is never touched.
    """
    import shutil
    import time

    limit, gone = time.time() - older_than, []
    runs, models = runs_dir(), models_dir()
    candidates = [*runs.glob(".*.tmp"), *runs.glob("*/.*.tmp"), *runs.glob(".*.deleting"),
                  *models.glob(".*.tmp"), *models.glob(".*.deleting"),
                  *(p for p in models.glob("*") if p.is_dir() and not p.name.startswith(".") and not any(p.iterdir()))]
    for path in candidates:
        try:
            if path.lstat().st_mtime > limit:
                continue
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
            gone.append(path)
        except OSError:
            continue  # gone meanwhile, or not ours to remove
    return gone


def features_path(dataset_root: str | Path, params: FeatureParams) -> Path:
    """Where the feature store of ``dataset_root`` with ``params`` is cached."""
    ident = json.dumps({"root": str(Path(dataset_root).expanduser().resolve()), **params.identity()}, sort_keys=True)
    return home() / "features" / f"{hashlib.sha256(ident.encode()).hexdigest()[:20]}.npz"
