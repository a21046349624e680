"""Fixtures and helpers for the ``AppTest`` page tests (``tests/test_app_*.py``).

A tiny synthetic dataset (3 demo genres x 4 clips of 4 s at 8 kHz), its features and one tiny
trained bundle are made once per session; each test gets its own empty ``GENRE_HOME`` and copies
in what it needs, so a test may delete or add files freely.
"""

from __future__ import annotations

import io
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from streamlit.testing.v1 import AppTest

from genre.data.params import FeatureParams
from genre.learn.config import ModelConfig, TrainConfig

APP = Path(__file__).resolve().parents[1] / "streamlit_app.py"
TIMEOUT = 60  # seconds per script run: the first Train/Classify run imports TensorFlow

TINY_PARAMS = dict(sample_rate=8000, duration=4.0, num_segments=2, n_fft=512, hop_length=256)
TINY_MODEL = dict(hidden_units=(16,))
TINY_TRAIN = dict(epochs=2)


@dataclass(frozen=True)
class Tiny:
    """The shared tiny data. Do not modify it: copy first."""

    root: Path  # the dataset folder
    params: FeatureParams
    features: object  # genre.data.store.FeatureSet
    store: Path  # where those features are saved


def open_page(page: str, **state) -> AppTest:
    """An app started at ``pages/<page>.py`` with ``state`` injected into session state, not yet run."""
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    for key, value in state.items():
        at.session_state[key] = value
    return at.switch_page(f"pages/{page}.py")


def button(at: AppTest, label: str):
    """The one button labelled ``label`` (fails clearly when absent)."""
    found = [b for b in at.button if b.label == label]
    assert len(found) == 1, f"expected one {label!r} button, found {[b.label for b in at.button]}"
    return found[0]


def by_label(widgets, label: str):
    found = [w for w in widgets if w.label == label]
    assert len(found) == 1, f"expected one widget {label!r}, found {[w.label for w in widgets]}"
    return found[0]


def texts(elements) -> str:
    """All values of an element list (errors, warnings...) joined, for substring checks."""
    return "\n".join(str(e.value) for e in elements)


def wav_bytes(seconds: float, sample_rate: int = 8000, freq: float = 440.0) -> bytes:
    """A mono 16-bit WAV of a sine, as bytes (an upload)."""
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    buf = io.BytesIO()
    sf.write(buf, (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32), sample_rate, format="WAV",
             subtype="PCM_16")
    return buf.getvalue()


@pytest.fixture(scope="session")
def tiny(tmp_path_factory) -> Tiny:
    """The tiny dataset and its features (no TensorFlow)."""
    from genre.data import workspace
    from genre.data.demo import make_demo_dataset
    from genre.data.extract import extract_to_store

    base = tmp_path_factory.mktemp("app-tiny")
    root = make_demo_dataset(base / "data", genres=3, clips_per_genre=4, duration=4.0, sample_rate=8000)
    params = FeatureParams(**TINY_PARAMS).validate()
    assert params.problems() == []
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GENRE_HOME", str(base / "home"))
        store = workspace.features_path(root, params)
        fs, _ = extract_to_store(root, params, store)
    assert len(fs) == 3 * 4 * 2
    return Tiny(root=root, params=params, features=fs, store=store)


@pytest.fixture(scope="session")
def tiny_bundle(tiny, tmp_path_factory) -> Path:
    """A bundle trained once (2 epochs, one layer of 16) through a run record, as the app does (in-process)."""
    from genre.data import workspace
    from genre.jobs.execution import execute
    from genre.jobs.runs import create_run

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GENRE_HOME", str(tmp_path_factory.mktemp("app-bundle-home")))
        run = create_run(workspace.runs_dir(), features_path=tiny.store,
                         features=tiny.features, model_config=ModelConfig(**TINY_MODEL),
                         train_config=TrainConfig(**TINY_TRAIN), name="tiny", models_dir=workspace.models_dir())
        execute(run)
    assert run.state == "done", run.status()
    return run.bundle_path


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    """An empty ``GENRE_HOME`` for this test."""
    path = tmp_path / "genre-home"
    monkeypatch.setenv("GENRE_HOME", str(path))
    return path


def add_bundle(home: Path, bundle: Path, name: str = "tiny") -> Path:
    """A private copy of ``bundle`` in ``home``'s models folder."""
    return Path(shutil.copytree(bundle, home / "models" / name))


@pytest.fixture
def saved_bundle(home, tiny_bundle) -> Path:
    """The tiny bundle, copied into this test's ``GENRE_HOME``."""
    return add_bundle(home, tiny_bundle)


@pytest.fixture
def dataset_copy(tiny, tmp_path) -> Path:
    """A private copy of the tiny dataset that a test may change."""
    return Path(shutil.copytree(tiny.root, tmp_path / "data"))
