"""Model bundles: a folder with the ``.keras`` model and a JSON of everything needed to use it.

``bundle.json`` holds the genre names, the feature parameters the model was trained on (so
prediction always extracts features the same way), the model and training configs, metrics
and history. Bundles are written atomically and loaded with Keras ``safe_mode`` on, since a
bundle may come from someone else.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from genre.atomic import atomic_dir
from genre.data.params import FeatureParams
from genre.errors import BundleError, GenreError
from genre.learn.config import ModelConfig, TrainConfig

MODEL_FILE = "model.keras"
INFO_FILE = "bundle.json"
BUNDLE_FORMAT = 1


@dataclass
class Bundle:
    """A loaded bundle. ``model`` is None when read with ``load_model=False``."""

    path: Path
    genres: tuple[str, ...]
    params: FeatureParams
    model_config: ModelConfig
    train_config: TrainConfig
    metrics: dict = field(default_factory=dict)
    history: dict = field(default_factory=dict)
    info: dict = field(default_factory=dict)
    model: object = None

    @property
    def name(self) -> str:
        """The name of the run that made it (its folder's name only for bundles saved without one)."""
        name = self.info.get("name")
        return name if isinstance(name, str) and name else self.path.name

    @property
    def label(self) -> str:
        """How the app names the model: its name, and whether it is an imported copy."""
        return self.name + (" (imported)" if self.info.get("imported") else "")


def slug(name: str) -> str:
    """A safe folder name from a user's run name."""
    s = re.sub(r"[^A-Za-z0-9._-]+", "-", name.strip()).strip(".-")
    return s[:80] or "model"


def save_bundle(path: str | Path, *, model, genres, params: FeatureParams, model_config: ModelConfig,
                train_config: TrainConfig, metrics: dict, history: dict, extra: dict | None = None,
                name: str | None = None) -> Path:
    """Write a bundle folder atomically (replacing one at ``path``); ``name`` (default: the folder's) names the model."""
    path = Path(path)
    info = {
        "format": BUNDLE_FORMAT, "name": name or path.name, "created": time.strftime("%Y-%m-%d %H:%M:%S"),
        "genres": list(genres), "feature_params": params.to_dict(), "model_config": model_config.to_dict(),
        "train_config": train_config.to_dict(), "metrics": metrics, "history": history, **(extra or {}),
    }
    with atomic_dir(path) as tmp:
        model.save(tmp / MODEL_FILE)
        (tmp / INFO_FILE).write_text(json.dumps(info, indent=1), encoding="utf-8")
    return path


def load_bundle(path: str | Path, *, load_model: bool = True) -> Bundle:
    """Read a bundle; with ``load_model`` also its Keras model (safe mode).

    Raises
    ------
    BundleError
        Missing folder or parts, unreadable JSON, bad parameters, or a model whose input or
        output shape does not match the parameters and genres.
    """
    path = Path(path)
    if not path.is_dir():
        raise BundleError(f"model bundle not found: {path} (expected a folder with {INFO_FILE} and {MODEL_FILE})")
    try:
        info = json.loads((path / INFO_FILE).read_text(encoding="utf-8"))
        genres = tuple(info["genres"])
        bundle = Bundle(path=path, genres=genres, params=FeatureParams.from_dict(info["feature_params"]),
                        model_config=ModelConfig.from_dict(info.get("model_config", {})),
                        train_config=TrainConfig.from_dict(info.get("train_config", {})),
                        metrics=info.get("metrics", {}), history=info.get("history", {}), info=info)
    except FileNotFoundError:
        raise BundleError(f"{path} is not a model bundle: {INFO_FILE} is missing") from None
    except (OSError, ValueError, KeyError, TypeError, GenreError) as exc:
        raise BundleError(f"{path}/{INFO_FILE} is unreadable or incomplete ({exc.__class__.__name__}: {exc})") from None
    if len(genres) < 2:
        raise BundleError(f"{path}: a bundle needs at least two genres, it lists {len(genres)}")
    if load_model:
        bundle.model = _load_model(path, bundle)
    return bundle


def check_complete(path: str | Path) -> None:
    """Raise BundleError when the bundle at ``path`` has no model file (checked without loading it)."""
    if not (Path(path) / MODEL_FILE).is_file():
        raise BundleError(f"{path} is not a complete bundle: {MODEL_FILE} is missing")


def _load_model(path: Path, bundle: Bundle):
    from genre.learn.model import import_keras

    model_path = path / MODEL_FILE
    check_complete(path)
    keras = import_keras()
    try:
        model = keras.models.load_model(model_path, safe_mode=True, compile=False)
    except Exception as exc:  # Keras raises many types for a bad archive
        raise BundleError(f"cannot load {model_path}: {exc.__class__.__name__}: {str(exc)[:300]}") from None
    want_in, want_out = tuple(bundle.params.input_shape), len(bundle.genres)
    got_in, got_out = tuple(model.input_shape[1:]), model.output_shape[-1]
    if got_in != want_in or got_out != want_out:
        raise BundleError(f"{path}: the model takes {got_in} and predicts {got_out} genres, but the bundle's "
                          f"parameters give rows of {want_in} and list {want_out} genres")
    return model


def list_bundles(models_dir: str | Path) -> list[Bundle]:
    """Every readable bundle under ``models_dir`` (JSON only, no TensorFlow), newest first."""
    models_dir = Path(models_dir)
    if not models_dir.is_dir():
        return []
    found = []
    for p in models_dir.iterdir():
        if p.is_dir() and not p.name.startswith(".") and (p / INFO_FILE).is_file():
            try:
                found.append(load_bundle(p, load_model=False))
            except BundleError:
                continue
    return sorted(found, key=lambda b: (b.info.get("created", ""), b.path.name), reverse=True)


def reserve_bundle_path(models_dir: str | Path, name: str) -> Path:
    """A new, empty folder ``models_dir/slug(name)`` (``-2``, ``-3``... when taken), made with ``os.mkdir``.

    The folder is created here, so two runs finishing at the same moment never get the same one
    (checking for the folder and using the name later could give both the same).
    """
    models_dir = Path(models_dir)
    models_dir.mkdir(parents=True, exist_ok=True)
    base, n = slug(name), 1
    while True:
        path = models_dir / (base if n == 1 else f"{base}-{n}")
        try:
            os.mkdir(path)
            return path
        except FileExistsError:
            n += 1


def delete_bundle(path: str | Path) -> None:
    """Remove a bundle folder (only a folder that looks like a bundle)."""
    path = Path(path)
    if not (path / INFO_FILE).is_file():
        raise BundleError(f"not a model bundle, not deleting: {path}")
    trash = path.with_name(f".{path.name}.deleting")
    path.rename(trash)
    shutil.rmtree(trash, ignore_errors=True)
