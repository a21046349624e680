"""genre: MFCC -> dense-network music-genre classification, as a library.

The code runs one way, in layers; a module imports only from its own layer or the ones below:

- ``genre.errors``, ``genre.atomic``, ``genre.process``: the base (errors, atomic writes, process identities);
- ``genre.data``: a dataset's files, audio, features, the feature store, the workspace's folders;
- ``genre.learn``: networks, splits, augmentation, training, evaluation, bundles, prediction;
- ``genre.jobs``: runs, experiments and the processes that execute them;
- ``genre.cli``, ``genre.report``, ``genre.plots`` and the app (``workbench``, ``pages``) on top.

``tests/test_layers.py`` holds the code to that. ``import genre`` is cheap: the public names below are
imported on first use (as librosa does), so it never imports TensorFlow nor librosa.
"""

from __future__ import annotations

import importlib

from genre.errors import (
    AudioError,
    BundleError,
    ClipTooShortError,
    DatasetError,
    FeatureStoreError,
    GenreError,
    ParameterError,
    TrainingError,
)

__version__ = "0.1.0"

_LAZY = {  # public name -> the module that defines it
    "FeatureParams": "genre.data.params",
    "ModelConfig": "genre.learn.config",
    "TrainConfig": "genre.learn.config",
    "scan_dataset": "genre.data.dataset",
    "load_audio": "genre.data.audio",
    "extract_to_store": "genre.data.extract",
    "load_features": "genre.data.store",
    "train": "genre.learn.training",
    "track_votes": "genre.learn.evaluate",
    "score": "genre.learn.evaluate",
    "load_bundle": "genre.learn.bundle",
    "save_bundle": "genre.learn.bundle",
    "predict_file": "genre.learn.predict",
    "create_run": "genre.jobs.runs",
}


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'genre' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])


__all__ = [
    "AudioError", "BundleError", "ClipTooShortError", "DatasetError", "FeatureStoreError", "GenreError",
    "ParameterError", "TrainingError", "__version__", *_LAZY,
]
