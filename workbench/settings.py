"""Settings that stick: every Features and Train control keeps its value across page switches,
reloads and restarts, and sits in the URL so a set of settings can be bookmarked and shared.

Each setting is one entry in ``SETTINGS``: its widget key (also its URL parameter), default and
allowed values. Widgets are drawn with :func:`keep` (``key``, ``bind="query-params"``,
``persist_state="session"``): the URL holds the values of the page on screen, the session holds
them across page switches, and the workspace's ``settings.json`` (the last values anyone chose)
seeds a new session, so a reload on another page or an app restart does not lose them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import streamlit as st

from genre import workspace
from genre.atomic import write_text
from genre.config import EXCERPTS, FeatureParams, ModelConfig, TrainConfig
from genre.runs import BACKENDS
from genre.splits import SPLIT_MODES

F, M, T = FeatureParams(), ModelConfig(), TrainConfig()
N_FFTS = [256, 512, 1024, 2048, 4096, 8192]
HOPS = [64, 128, 256, 384, 512, 768, 1024, 1536, 2048, 4096, 8192]
SAMPLE_RATES = [8000, 11025, 16000, 22050, 32000, 44100]
LEARNING_RATES = [1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2]
L2S = [0.0, 1e-4, 1e-3, 1e-2]
BATCH_SIZES = [8, 16, 32, 64, 128, 256]
MAX_DURATION = 300  # s: real songs are 3-5 minutes


@dataclass(frozen=True)
class Setting:
    default: Any
    options: tuple | None = None  # allowed values; else a (low, high) range or any str/bool
    low: float | None = None
    high: float | None = None

    def allows(self, value: Any) -> bool:
        if type(value) is not type(self.default) and not (isinstance(self.default, float) and isinstance(value, int)
                                                           and not isinstance(value, bool)):
            return False
        if isinstance(value, list):
            return all(isinstance(v, str) for v in value)
        if self.options is not None:
            return value in self.options
        if self.low is not None:
            return self.low <= value <= self.high
        return True


SETTINGS: dict[str, Setting] = {
    # Features page
    "n_mfcc": Setting(F.n_mfcc, low=1, high=40),
    "n_fft": Setting(F.n_fft, tuple(N_FFTS)),
    "hop": Setting(F.hop_length, tuple(HOPS)),
    "segments": Setting(F.num_segments, low=1, high=30),
    "sr": Setting(F.sample_rate, tuple(SAMPLE_RATES)),
    "duration": Setting(int(F.duration), low=1, high=MAX_DURATION),
    "files": Setting(F.files_per_genre, low=-1, high=10**6),
    "excerpt": Setting(F.excerpt, tuple(EXCERPTS)),
    "max_segments": Setting(F.max_segments, low=1, high=200),
    # Train page
    "layers": Setting(", ".join(map(str, M.hidden_units))),
    "dropout": Setting(M.dropout, low=0.0, high=0.8),
    "l2": Setting(M.l2, tuple(L2S)),
    "lr": Setting(M.learning_rate, tuple(LEARNING_RATES)),
    "epochs": Setting(T.epochs, low=1, high=1000),
    "batch": Setting(T.batch_size, tuple(BATCH_SIZES)),
    "test_size": Setting(T.test_size, low=0.1, high=0.5),
    "seed": Setting(T.seed, low=0, high=10**6),
    "split": Setting(T.split, tuple(SPLIT_MODES)),
    "folds": Setting(T.folds, low=2, high=20),
    "fold": Setting(T.fold, low=0, high=19),
    "lists": Setting(""),
    "early": Setting(False),
    "patience": Setting(5, low=1, high=100),
    "backend": Setting("tensorflow", tuple(BACKENDS)),
    # Dataset page
    "exclude": Setting([]),
}
FEATURE_KEYS = ("n_mfcc", "n_fft", "hop", "segments", "sr", "duration", "files", "excerpt", "max_segments")
DATASET_KEYS = ("exclude",)
TRAIN_KEYS = tuple(k for k in SETTINGS if k not in FEATURE_KEYS + DATASET_KEYS)
_SAVED = "_settings_saved"  # what this session last wrote to settings.json


def last_used() -> dict:
    try:
        data = json.loads((workspace.home() / "settings.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def seed(keys) -> None:
    """Give each setting not yet in this session (nor in the URL) its last-used value, else its default."""
    missing = [k for k in keys if k not in st.session_state and k not in st.query_params]
    if not missing:
        return
    last = last_used()
    for key in missing:
        value = last.get(key, SETTINGS[key].default)
        st.session_state[key] = value if SETTINGS[key].allows(value) else SETTINGS[key].default


def keep(key: str) -> dict:
    """The widget arguments that make ``key`` stick (draw the widget with no ``value``)."""
    return {"key": key, "bind": "query-params", "persist_state": "session"}


def remember(keys) -> None:
    """Write these settings' current values to the workspace, when they changed, for new sessions."""
    now = {k: st.session_state[k] for k in keys if k in st.session_state}
    saved = st.session_state.get(_SAVED, {})
    if all(saved.get(k) == v for k, v in now.items()):
        return
    merged = {**last_used(), **now}
    write_text(workspace.home() / "settings.json", json.dumps(merged, indent=1))
    st.session_state[_SAVED] = {**saved, **now}


def remember_value(key: str, value) -> None:
    """Record one value that is not a widget's (the dataset folder, the chosen model) for new sessions."""
    if last_used().get(key) != value:
        write_text(workspace.home() / "settings.json", json.dumps({**last_used(), key: value}, indent=1))


def feature_params(exclude: tuple[str, ...] = ()) -> FeatureParams:
    """The Features page's settings (seeded first when this session has none) as validated parameters.

    Raises
    ------
    genre.errors.ParameterError
        When the settings do not make valid parameters (e.g. hop_length above n_fft).
    """
    seed(FEATURE_KEYS)
    v = {k: st.session_state.get(k, st.query_params.get(k, SETTINGS[k].default)) for k in FEATURE_KEYS}
    return FeatureParams(sample_rate=int(v["sr"]), duration=float(v["duration"]), num_segments=int(v["segments"]),
                         n_mfcc=int(v["n_mfcc"]), n_fft=int(v["n_fft"]), hop_length=int(v["hop"]),
                         files_per_genre=int(v["files"]), excerpt=str(v["excerpt"]),
                         max_segments=int(v["max_segments"]), exclude=tuple(exclude)).validate()


def reset(keys) -> None:
    """Back to the notebook's defaults (a callback: it runs before the widgets are drawn)."""
    for key in keys:
        st.session_state[key] = SETTINGS[key].default
