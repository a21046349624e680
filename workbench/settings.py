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
from genre.data.params import FEATURE_KINDS, FeatureParams, knobs
from genre.jobs.runs import BACKENDS, DEFAULT_BACKEND
from genre.learn.config import ModelConfig, TrainConfig
from genre.learn.model import MODEL_KINDS
from genre.learn.splits import SPLIT_MODES

F, M, T = FeatureParams(), ModelConfig(), TrainConfig()
CONFIG_CLASSES = {"features": FeatureParams, "model": ModelConfig, "train": TrainConfig}


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


# Fields whose widgets do not hold the field's value: a toggle and a number, text, or whole seconds.
_T_PATIENCE, _T_SNR = 5, 20  # the number a toggle starts from
COMPOSITE: dict[str, dict[str, Setting]] = {
    "hidden_units": {"layers": Setting(", ".join(map(str, M.hidden_units)))},
    "patience": {"early": Setting(False), "patience": Setting(_T_PATIENCE, low=1, high=100)},
    "noise_snr": {"noise": Setting(False), "snr": Setting(_T_SNR, low=0, high=60)},
    "lists": {"lists": Setting("")},
    "duration": {"duration": Setting(int(F.duration), low=1, high=300)},
}


def keys_of(cls) -> dict[str, str]:
    """The widget keys of ``cls``'s fields that a widget holds as they are: key -> field name."""
    return {k.key or name: name for name, (_, k) in knobs(cls).items() if k.app and name not in COMPOSITE}


def _settings(cls) -> dict[str, Setting]:
    out: dict[str, Setting] = {}
    for name, (f, k) in knobs(cls).items():
        if k.app:
            out.update(COMPOSITE.get(name) or {k.key or name: Setting(f.default, k.options, k.low, k.high)})
    return out


# Every setting of the Features and Train pages, derived from the configs' declarations (genre.data.params.Knob).
SETTINGS: dict[str, Setting] = {**_settings(FeatureParams), **_settings(ModelConfig), **_settings(TrainConfig),
                                "backend": Setting(DEFAULT_BACKEND, tuple(BACKENDS))}
FEATURE_KEYS = tuple(_settings(FeatureParams))
TRAIN_KEYS = tuple(k for k in SETTINGS if k not in FEATURE_KEYS)
N_FFTS, HOPS, SAMPLE_RATES = (list(SETTINGS[k].options) for k in ("n_fft", "hop", "sr"))
LEARNING_RATES, L1S, L2S, BATCH_SIZES = (list(SETTINGS[k].options) for k in ("lr", "l1", "l2", "batch"))
WIDTHS = list(SETTINGS["filters"].options)  # filters and units of the CNN and LSTM
MAX_DURATION = SETTINGS["duration"].high  # s: real songs are 3-5 minutes


def span(key: str) -> tuple:
    """A setting's range, ``(low, high)``, as its declaration gives it (for a slider or number input)."""
    return SETTINGS[key].low, SETTINGS[key].high


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
    "family": lambda v: FEATURE_KINDS[v].label,
}


def keep(key: str) -> dict:
    """The widget arguments that make ``key`` stick (draw the widget with no ``value``; ``format_func=LABELS[key]``
    for a choice drawn with labels)."""
    if key in LABELS:
        return {"key": key, "persist_state": "session", "format_func": LABELS[key]}
    return {"key": key, "bind": "query-params", "persist_state": "session"}


OLD_LABELS = {"JAX (often 2-3x faster per epoch on a CPU)": "jax", "TensorFlow (the project's default)": "tensorflow",
              "JAX (faster on a CPU for the dense network and the LSTM; slower for the CNN)": "jax"}  # labels since reworded, in older links


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
    return params_of({k: st.session_state.get(k, st.query_params.get(k, SETTINGS[k].default)) for k in FEATURE_KEYS},
                     exclude)


def params_of(v: dict, exclude: tuple[str, ...] = ()) -> FeatureParams:
    """The Features page's widget values ``v`` as validated parameters."""
    return FeatureParams(**_fields(FeatureParams, v), exclude=tuple(exclude)).validate()


def _fields(cls, v: dict) -> dict:
    """The fields of ``cls`` that widgets hold as they are, from the widget values ``v``, as the fields' types."""
    cast = {"int": int, "float": float, "str": str, "bool": bool}
    found = {name: (f, v[key]) for key, name in keys_of(cls).items() if key in v
             for f in [knobs(cls)[name][0]]}
    out = {name: cast[str(f.type).split(" | ")[0]](value) for name, (f, value) in found.items()}
    if cls is FeatureParams and "duration" in v:
        out["duration"] = float(v["duration"])
    return out


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
    mc = ModelConfig(**_fields(ModelConfig, v), hidden_units=units).validate()
    folds = int(v["folds"])
    lists = (str(v["lists"] or "").strip() or None) if v["split"] == "lists" else None
    tc = TrainConfig(**{**_fields(TrainConfig, v), "fold": min(int(v["fold"]), folds - 1)}, lists=lists,
                     patience=int(v["patience"]) if v["early"] else None,
                     noise_snr=float(v["snr"]) if v["noise"] else None).validate()
    return mc, tc


def widget_values(configs: dict, backend: str) -> dict:
    """The Features and Train pages' widget values for ``configs`` (``{"features", "model", "train"}``)."""
    values = {key: getattr(configs[where], name) for where, cls in CONFIG_CLASSES.items()
              for key, name in keys_of(cls).items()}
    mc, tc = configs["model"], configs["train"]
    values.update(layers=", ".join(map(str, mc.hidden_units)), lists=tc.lists or "", early=tc.patience is not None,
                  backend=backend, noise=tc.noise_snr is not None, duration=configs["features"].duration)
    if tc.noise_snr is not None:
        values["snr"] = tc.noise_snr
    if tc.patience is not None:
        values["patience"] = tc.patience
    return values


def reset(keys) -> None:
    """Back to the notebook's defaults (a callback: it runs before the widgets are drawn)."""
    for key in keys:
        st.session_state[key] = SETTINGS[key].default
