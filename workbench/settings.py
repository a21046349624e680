"""Settings that stick: every Features and Train control keeps its value across page switches,
reloads and restarts, and sits in the URL so a set of settings can be bookmarked and shared.

Each setting is one entry in ``SETTINGS``: its widget key (also its URL parameter), default and
allowed values. Widgets are drawn with :func:`keep` (``key``, ``bind="query-params"``,
``persist_state="session"``): the URL holds the values of the page on screen, the session holds
them across page switches, and the workspace's ``settings.json`` (the last values anyone chose)
seeds a new session, so a reload on another page or an app restart does not lose them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import streamlit as st

from genre.atomic import read_json, update_json
from genre.data import workspace
from genre.data.params import EXCERPTS, FeatureParams
from genre.jobs.runs import BACKENDS
from genre.learn.config import ModelConfig, TrainConfig
from genre.learn.model import MODEL_KINDS
from genre.learn.splits import SPLIT_MODES

F, M, T = FeatureParams(), ModelConfig(), TrainConfig()
N_FFTS = [256, 512, 1024, 2048, 4096, 8192]
HOPS = [64, 128, 256, 384, 512, 768, 1024, 1536, 2048, 4096, 8192]
SAMPLE_RATES = [8000, 11025, 16000, 22050, 32000, 44100]
LEARNING_RATES = [1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2]
L2S = [0.0, 1e-4, 1e-3, 1e-2]
L1S = [0.0, 1e-5, 1e-4, 1e-3, 1e-2]
WIDTHS = [8, 16, 32, 64, 128, 256]  # filters and units of the CNN and LSTM
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
    "kind": Setting(M.kind, tuple(MODEL_KINDS)),
    "layers": Setting(", ".join(map(str, M.hidden_units))),
    "filters": Setting(M.filters, tuple(WIDTHS)),
    "lstm_units": Setting(M.lstm_units, tuple(WIDTHS)),
    "dense_units": Setting(M.dense_units, tuple(WIDTHS)),
    "dropout": Setting(M.dropout, low=0.0, high=0.8),
    "l1": Setting(M.l1, tuple(L1S)),
    "l2": Setting(M.l2, tuple(L2S)),
    "standardize": Setting(M.standardize),
    "aug_copies": Setting(T.augment_copies, low=0, high=10),
    "pitch": Setting(T.pitch_shift, low=0.0, high=6.0),
    "stretch": Setting(T.time_stretch, low=0.0, high=0.3),
    "noise": Setting(False),
    "snr": Setting(20, low=0, high=60),
    "time_mask": Setting(T.time_mask, low=0, high=40),
    "coef_mask": Setting(T.coef_mask, low=0, high=8),
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
}
FEATURE_KEYS = ("n_mfcc", "n_fft", "hop", "segments", "sr", "duration", "files", "excerpt", "max_segments")
TRAIN_KEYS = tuple(k for k in SETTINGS if k not in FEATURE_KEYS)
_SAVED = "_settings_saved"  # what this session last wrote to settings.json
_OWN = "_settings_own"  # on a shared server: this session's settings, kept here instead of settings.json


def last_used() -> dict:
    """The last values chosen: the workspace's ``settings.json`` (a local run), or this session's own (a shared
    server, where one visitor's choices must not seed the next visitor's session)."""
    if workspace.shared():
        return dict(st.session_state.get(_OWN, {}))
    return read_json(workspace.home() / "settings.json") or {}


def _store(changes: dict) -> None:
    """Keep ``changes`` for new sessions (a local run) or for this session only (a shared server)."""
    if workspace.shared():
        st.session_state[_OWN] = {**st.session_state.get(_OWN, {}), **changes}
    else:
        update_json(workspace.home() / "settings.json", changes)  # concurrent sessions never lose a write


def seed(keys) -> None:
    """Give each setting not yet in this session its value from the URL, else its last-used value, else its
    default. (A widget bound to the URL reads it itself.)"""
    missing = [k for k in keys if k not in st.session_state and (k in LABELS or k not in st.query_params)]
    if not missing:
        return
    last = last_used()
    for key in missing:
        value = _from_url(key) if key in LABELS and key in st.query_params else None
        if value is None:
            value = last.get(key, SETTINGS[key].default)
        st.session_state[key] = value if SETTINGS[key].allows(value) else SETTINGS[key].default


EXCERPT_LABELS = {"start": "Start (the notebook's)", "middle": "Middle", "whole": "Whole track"}
# The choices drawn with labels (their widgets' format_func). Streamlit's URL binding would store the label
# (?backend=JAX+%28often...): these keep their *values* in the URL themselves (:func:`remember`), and read a
# link made when it held the labels too (:func:`seed`).
LABELS = {
    "kind": lambda v: MODEL_KINDS[v].label,
    "backend": lambda v: BACKENDS[v],
    "split": lambda v: SPLIT_MODES[v].label,
    "excerpt": lambda v: EXCERPT_LABELS[v],
}


def keep(key: str) -> dict:
    """The widget arguments that make ``key`` stick (draw the widget with no ``value``; ``format_func=LABELS[key]``
    for a choice drawn with labels)."""
    if key in LABELS:
        return {"key": key, "persist_state": "session", "format_func": LABELS[key]}
    return {"key": key, "bind": "query-params", "persist_state": "session"}


OLD_LABELS = {"JAX (often 2-3x faster per epoch on a CPU)": "jax"}  # labels since reworded, in older links


def _from_url(key: str):
    """The value the URL gives ``key`` (a choice drawn with labels: its value, or its label in an older link), or None."""
    text = st.query_params.get(key)
    text = OLD_LABELS.get(text, text)
    return next((v for v in SETTINGS[key].options if text in (str(v), LABELS[key](v))), None)


def _sync_url(keys) -> None:
    """The URL holds the values of these choices drawn with labels (none at its default, as bound widgets do)."""
    for key in keys:
        if key not in LABELS or key not in st.session_state:
            continue
        value = st.session_state[key]
        if value == SETTINGS[key].default:
            st.query_params.pop(key, None)
        elif st.query_params.get(key) != str(value):
            st.query_params[key] = str(value)


def remember(keys) -> None:
    """Write these settings' current values to the workspace, when they changed, for new sessions; and to the URL,
    for the choices drawn with labels."""
    _sync_url(keys)
    now = {k: st.session_state[k] for k in keys if k in st.session_state}
    saved = st.session_state.get(_SAVED, {})
    if all(saved.get(k) == v for k, v in now.items()):
        return
    _store(now)
    st.session_state[_SAVED] = {**saved, **now}


def remember_value(key: str, value) -> None:
    """Record one value that is not a widget's (the dataset folder, the chosen model) for new sessions."""
    if last_used().get(key) != value:
        _store({key: value})


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


def train_values() -> dict:
    """Every Train page setting as this session has it (seeded from the last used, else the default)."""
    seed(TRAIN_KEYS)
    return {k: st.session_state.get(k, SETTINGS[k].default) for k in TRAIN_KEYS}


def configs(v: dict) -> tuple[ModelConfig, TrainConfig]:
    """The Train page's settings ``v`` (:func:`train_values`) as validated configs.

    Raises
    ------
    genre.errors.ParameterError
        Settings that make no valid config.
    ValueError
        Hidden layers that are not whole numbers.
    """
    units = tuple(int(u) for u in str(v["layers"]).replace(" ", "").split(",") if u)
    mc = ModelConfig(kind=v["kind"], hidden_units=units, filters=int(v["filters"]), lstm_units=int(v["lstm_units"]),
                     dense_units=int(v["dense_units"]), dropout=float(v["dropout"]), l1=float(v["l1"]),
                     l2=float(v["l2"]), learning_rate=float(v["lr"]), standardize=bool(v["standardize"])).validate()
    folds = int(v["folds"])
    tc = TrainConfig(epochs=int(v["epochs"]), batch_size=int(v["batch"]), test_size=float(v["test_size"]),
                     split=v["split"], seed=int(v["seed"]), patience=int(v["patience"]) if v["early"] else None,
                     folds=folds, fold=min(int(v["fold"]), folds - 1), lists=(str(v["lists"] or "").strip() or None) if v["split"] == "lists" else None,
                     augment_copies=int(v["aug_copies"]), pitch_shift=float(v["pitch"]),
                     time_stretch=float(v["stretch"]), noise_snr=float(v["snr"]) if v["noise"] else None,
                     time_mask=int(v["time_mask"]), coef_mask=int(v["coef_mask"])).validate()
    return mc, tc


def reset(keys) -> None:
    """Back to the notebook's defaults (a callback: it runs before the widgets are drawn)."""
    for key in keys:
        st.session_state[key] = SETTINGS[key].default
