"""Shared fixtures: synthetic audio made here (numpy + soundfile), a tiny GTZAN-shaped dataset,
its features, and one tiny trained bundle per session.

Nothing imports TensorFlow unless a test asks for ``trained``, ``bundle_dir`` or ``bundle``;
those are session-scoped so the network is trained once.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from genre.data.params import FeatureParams
from genre.learn.config import ModelConfig, TrainConfig

# The app tests' fixtures, defined here once: imported by each test module instead, a session fixture would be
# a fixture of that module and built again for every one (the tiny dataset 9 times, its model 4 times).
from tests.app_fixtures import dataset_copy, home, saved_bundle, tiny, tiny_bundle  # noqa: F401

# The CLI's default backend (auto: JAX for the dense network) cannot run in this process once a test has imported
# Keras on TensorFlow: the CLI in-process, and in the subprocesses the tests start, trains on TensorFlow unless a
# test asks otherwise (tests/test_cli.py runs auto in a process of its own).
os.environ.setdefault("GENRE_BACKEND", "tensorflow")
# Nothing a test does lands in the repository's ./workspace (JAX's compilation cache of a test's run, say): a test
# that needs a workspace of its own asks for genre_home or home.
os.environ.setdefault("GENRE_HOME", tempfile.mkdtemp(prefix="genre-tests-home-"))
# Runs go through the workspace's queue to warm processes (genre.jobs.queue): tests start several at once, so the
# cap is above the machine's default of one; a spare starts only for a queued run and waits 15 s at most, so the
# suite leaves no TensorFlow process idling (tests/test_queue.py sets these its own way).
os.environ.setdefault("GENRE_MAX_RUNS", "4")
os.environ.setdefault("GENRE_WARM_SPARES", "0")
os.environ.setdefault("GENRE_SPARE_IDLE_S", "15")

SR = 8000  # Hz, the tiny dataset's rate
SECONDS = 3.0
CLIPS_PER_GENRE = 4

# Created in this (unsorted) order on purpose; labels must follow the sorted names.
GENRE_SIGNALS = {
    "rock": ("noise", 0.0),
    "blues": ("sine", 220.0),
    "metal": ("square", 660.0),
}
GENRES = tuple(sorted(GENRE_SIGNALS))  # ("blues", "metal", "rock")

SMALL_PARAMS = dict(sample_rate=SR, duration=SECONDS, num_segments=3, n_fft=512, hop_length=256)
TINY_MODEL = dict(hidden_units=(32, 16), learning_rate=1e-2)
TINY_TRAIN = dict(epochs=8, batch_size=8, seed=0)


def until(predicate, what: str = "a condition", *, timeout: float = 120.0, poll: float = 0.05, log=None):
    """Wait until ``predicate()`` is truthy and return its value; fail after ``timeout`` seconds, saying what was
    awaited (and the end of the file ``log``, a process's log, when given)."""
    import time

    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        if time.monotonic() > deadline:
            tail = Path(log).read_text(errors="replace")[-2000:] if log is not None and Path(log).exists() else ""
            raise AssertionError(f"timed out waiting for {what}" + (f"\n{tail}" if tail else ""))
        time.sleep(poll)
    return value


@pytest.fixture
def bystander():
    """An unrelated process the test started (a stale record may name its pid): it must never be signalled."""
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    yield proc
    proc.kill()
    proc.wait()


def signal(kind: str, seconds: float, sr: int, *, freq: float = 440.0, amp: float = 0.5,
           rng: np.random.Generator | None = None) -> np.ndarray:
    """A mono float32 test signal.

    kind: "sine", "square", "noise" (white), "silence" or "chirp" (``freq`` to ``2*freq``).
    """
    rng = rng if rng is not None else np.random.default_rng(0)
    t = np.arange(int(round(seconds * sr))) / sr
    if kind == "sine":
        y = np.sin(2 * np.pi * freq * t + rng.uniform(0, 2 * np.pi))
    elif kind == "square":
        y = np.sign(np.sin(2 * np.pi * freq * t + rng.uniform(0, 2 * np.pi)))
    elif kind == "noise":
        y = rng.uniform(-1.0, 1.0, t.size)
    elif kind == "silence":
        y = np.zeros(t.size)
    elif kind == "chirp":
        y = np.sin(2 * np.pi * freq * (t + t**2 / (2 * max(seconds, 1e-9))))
    else:
        raise ValueError(f"unknown test signal kind {kind!r}")
    return (amp * y).astype(np.float32)


def write_audio(path: str | Path, y: np.ndarray, sr: int, *, format: str | None = None,
                subtype: str | None = None) -> Path:
    """Write ``y`` (shape (n,) or (n, channels)) with soundfile; the format follows the extension."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    ext_format = {".mp3": "MP3", ".au": "AU", ".aiff": "AIFF", ".aif": "AIFF", ".ogg": "OGG",
                  ".flac": "FLAC", ".wav": "WAV"}
    fmt = format or ext_format.get(path.suffix.lower())
    sf.write(path, y, sr, format=fmt, subtype=subtype)
    return path


def make_wav(path: str | Path, seconds: float = SECONDS, sr: int = SR, kind: str = "sine", *,
             freq: float = 440.0, amp: float = 0.5, seed: int = 0, channels: int = 1,
             format: str | None = None, subtype: str | None = None) -> Path:
    """Write a synthetic clip (any soundfile format; WAV by default) and return its path."""
    y = signal(kind, seconds, sr, freq=freq, amp=amp, rng=np.random.default_rng(seed))
    if channels > 1:
        y = np.stack([y] * channels, axis=1)
    return write_audio(path, y, sr, format=format, subtype=subtype)


def make_dataset(root: Path, *, clips: int = CLIPS_PER_GENRE, seconds: float = SECONDS, sr: int = SR,
                 seed: int = 0) -> Path:
    """A GTZAN-shaped folder: one clearly different signal per genre, varied per clip."""
    for g, (name, (kind, freq)) in enumerate(GENRE_SIGNALS.items()):
        for k in range(clips):
            rng = np.random.default_rng([seed, g, k])
            y = signal(kind, seconds, sr, freq=freq * rng.uniform(0.9, 1.1), amp=rng.uniform(0.3, 0.8), rng=rng)
            y = y + (0.01 * rng.standard_normal(y.size)).astype(np.float32)
            write_audio(root / name / f"{name}.{k:05d}.wav", y, sr)
    return root


@pytest.fixture
def make_wav_file():
    """The :func:`make_wav` helper, as a fixture."""
    return make_wav


@pytest.fixture
def params() -> FeatureParams:
    """Feature parameters for the tiny dataset: 3 one-second segments of 32 frames x 13 MFCCs."""
    p = FeatureParams(**SMALL_PARAMS).validate()
    assert p.problems() == []
    return p


@pytest.fixture(scope="session")
def gtzan(tmp_path_factory) -> Path:
    """The tiny dataset (3 genres x 4 clips, 3 s at 8 kHz). Shared: do not modify; use ``gtzan_copy``."""
    return make_dataset(tmp_path_factory.mktemp("gtzan") / "data")


@pytest.fixture
def gtzan_copy(gtzan, tmp_path) -> Path:
    """A private copy of the tiny dataset that a test may change."""
    return Path(shutil.copytree(gtzan, tmp_path / "data"))


@pytest.fixture(scope="session")
def features(gtzan):
    """The tiny dataset's features (extracted in-process, no TensorFlow)."""
    from genre.data.dataset import scan_dataset
    from genre.data.extract import extract_features

    return extract_features(scan_dataset(gtzan), FeatureParams(**SMALL_PARAMS))


@pytest.fixture
def genre_home(tmp_path, monkeypatch) -> Path:
    """``GENRE_HOME`` pointing at an empty temporary folder."""
    folder = tmp_path / "genre-home"
    monkeypatch.setenv("GENRE_HOME", str(folder))
    return folder


@pytest.fixture(scope="session")
def trained(features, tmp_path_factory):
    """A tiny network trained once (8 short epochs) on the tiny dataset and its bundle: ``(result, path)``."""
    from genre.learn.bundle import save_bundle
    from genre.learn.training import train

    mc, tc = ModelConfig(**TINY_MODEL), TrainConfig(**TINY_TRAIN)
    result = train(features, mc, tc)
    path = save_bundle(tmp_path_factory.mktemp("models") / "tiny", model=result.model, genres=features.genres,
                       params=features.params, model_config=mc, train_config=tc, metrics=result.metrics,
                       history=result.history)
    return result, path


@pytest.fixture(scope="session")
def bundle_dir(trained) -> Path:
    """The saved tiny bundle. Shared: copy it before changing it."""
    return trained[1]


@pytest.fixture(scope="session")
def bundle(bundle_dir):
    """The tiny bundle, loaded with its model."""
    from genre.learn.bundle import load_bundle

    return load_bundle(bundle_dir)


@pytest.fixture
def umask():
    """``umask(mask)`` sets the process's umask for the rest of the test; the old one is restored after."""
    import os

    old = os.umask(0o022)
    os.umask(old)
    yield os.umask
    os.umask(old)


# --- the slow tests -------------------------------------------------------------------------------------------
# `pytest -m "not slow and not browser"` is the quick loop (the library's logic, no network trained, no process
# started, no page run): a test is slow when it trains a network (these fixtures, or Keras itself), starts the
# app's processes, runs a page (AppTest) or the CLI in a process of its own. Marked here, from what a test
# uses, so that no test has to remember it.
SLOW_FIXTURES = {"trained", "bundle_dir", "bundle", "tiny_bundle", "saved_bundle", "new_run", "start", "flow"}
SLOW_MODULES = {"test_app_", "test_runs", "test_experiment", "test_cli", "test_predictor", "test_training",
                "test_model", "test_export", "test_audio_fuzz", "test_atomic", "test_augment", "test_report",
                "test_setup", "test_memory_policy", "test_process", "test_queue", "test_musicnn"}


def pytest_collection_modifyitems(config, items):
    for item in items:
        module = item.module.__name__.rsplit(".", 1)[-1]
        if (SLOW_FIXTURES & set(getattr(item, "fixturenames", ()))
                or any(module.startswith(prefix) for prefix in SLOW_MODULES)) and "browser" not in item.keywords:
            item.add_marker(pytest.mark.slow)
