"""Per-tab state in ``st.session_state``, behind small typed accessors.

Large arrays (features) live here or in ``st.cache_resource``, never in ``st.cache_data``,
which would pickle and copy them on every rerun. Training runs are not tab state: they are
records in the workspace (``genre.jobs.runs``) that every tab reads; a tab only remembers which run
it is looking at (also in the URL, so a reload comes back to it).
"""

from __future__ import annotations

import os
from pathlib import Path

import streamlit as st

from genre.data import workspace
from genre.data.dataset import subfolders
from genre.errors import GenreError
from genre.jobs.runs import Run, list_runs, open_run

from . import settings

DATASET = "dataset_root"
FEATURES = "features"  # genre.data.store.FeatureSet
FEATURES_PATH = "features_path"  # where that FeatureSet is stored (str): what a run trains on
RUN = "run_id"  # the run this tab shows on Train
BUNDLE = "bundle_path"  # the model chosen on Classify (str)


_SWEPT: set[str] = set()  # the workspaces this server process has swept


def sweep_once() -> None:
    """Once per server process and workspace: remove what killed processes left there (:func:`genre.data.workspace.sweep`)."""
    home = str(workspace.home())
    if home not in _SWEPT:
        _SWEPT.add(home)
        workspace.sweep()


def default_dataset() -> str:
    """``$GENRE_DATASET`` (set by ``scripts/run.sh DIR``), else the folder last chosen, else the demo dataset."""
    last = settings.last_used().get(DATASET)
    return os.environ.get("GENRE_DATASET") or (last if isinstance(last, str) and last else str(workspace.demo_dir()))


def dataset_root() -> str:
    if DATASET not in st.session_state:
        st.session_state[DATASET] = default_dataset()
    return st.session_state[DATASET]


def set_dataset_root(path: str) -> None:
    st.session_state[DATASET] = path
    settings.remember_value(DATASET, path)


EXCLUDED = "excluded"  # {dataset folder: the folders left out of it} chosen in this session
REMEMBERED_EXCLUDED = "exclude_by_dataset"  # the same, for every folder ever set up, in settings.json


def _folder_key(root: str | Path) -> str:
    return str(Path(root).expanduser().resolve())


def folders(root: str) -> list[str]:
    """The visible sub-folders of ``root`` (candidate genres), or none when it cannot or may not be read."""
    try:
        workspace.check_data_root(root)
    except GenreError:
        return []
    return subfolders(root)


def _remembered_exclusions(key: str) -> list:
    last = settings.last_used()
    chosen = last.get(REMEMBERED_EXCLUDED, {})
    if isinstance(chosen, dict) and isinstance(chosen.get(key), list):
        return chosen[key]
    legacy, legacy_root = last.get("exclude"), last.get(DATASET)  # settings.json before folders were told apart
    if isinstance(legacy, list) and isinstance(legacy_root, str) and legacy_root and _folder_key(legacy_root) == key:
        return legacy
    return []


def excluded(root: str | None = None) -> tuple[str, ...]:
    """The folders of ``root`` (default: this session's dataset) left out of everything: this session's
    choice for that folder, else the one remembered for it in the workspace; only those still there."""
    root = root or dataset_root()
    key = _folder_key(root)
    chosen = st.session_state.get(EXCLUDED, {}).get(key)
    if chosen is None:
        chosen = _remembered_exclusions(key)
    there = set(folders(root))
    return tuple(g for g in chosen if isinstance(g, str) and g in there)


def set_excluded(root: str, chosen) -> None:
    """Leave ``chosen`` out of ``root`` in this session, and remember it for that folder only."""
    key, chosen = _folder_key(root), list(chosen)
    st.session_state.setdefault(EXCLUDED, {})[key] = chosen
    remembered = settings.last_used().get(REMEMBERED_EXCLUDED)
    remembered = dict(remembered) if isinstance(remembered, dict) else {}
    if remembered.get(key) != chosen:
        settings.remember_value(REMEMBERED_EXCLUDED, {**remembered, key: chosen})


def features():
    """This session's features; after a reload (a new session), the ones its settings name, when they are
    already extracted for the current dataset and its files are unchanged (never extracts)."""
    if st.session_state.get(FEATURES) is None:
        _restore_features()
    return st.session_state.get(FEATURES)


@st.cache_resource(show_spinner=False, max_entries=4, ttl=3600)
def _shared_store(path: str, stamp: tuple, _given=None):
    from genre.data.store import load_features

    return _given if _given is not None else load_features(path)


def clear_shared() -> None:
    """Forget the shared stores (no tab is open: their memory goes back; the next visit reads them again)."""
    _shared_store.clear()


def shared_store(path: str | Path, given=None):
    """The feature store at ``path``, one copy for every session (read-only): a new tab does not load its own.
    Keyed by the file's size and time, so a store written anew is read anew. ``given``: the features just written
    there (an extraction's), kept as that copy instead of being read back."""
    s = Path(path).stat()
    return _shared_store(str(path), (s.st_size, s.st_mtime_ns), given)


def _restore_features() -> None:
    from genre.data.extract import load_cached

    root = dataset_root()
    try:
        params = settings.feature_params(excluded(root))
    except GenreError:
        return
    attempt = (root, repr(params))
    if st.session_state.get("_restore_tried") == attempt:  # once per dataset and settings, not every rerun
        return
    st.session_state["_restore_tried"] = attempt
    path = workspace.features_path(root, params)
    fs = load_cached(root, params, path, load=shared_store)
    if fs is not None:
        set_features(fs, path)


def features_path() -> str | None:
    return st.session_state.get(FEATURES_PATH)


def set_features(fs, path: str | Path | None) -> None:
    st.session_state[FEATURES] = fs
    st.session_state[FEATURES_PATH] = None if path is None else str(path)


def runs() -> list[Run]:
    """Every run in the workspace (any tab's, the CLI's), newest first."""
    return list_runs(workspace.runs_dir())


def run() -> Run | None:
    """The run this tab looks at: the URL's ``?run=``, else the tab's last one; None if deleted."""
    wanted = st.query_params.get("run") or st.session_state.get(RUN)
    return open_run(workspace.runs_dir(), wanted) if wanted else None


def set_run(run: Run | None) -> None:
    st.session_state[RUN] = None if run is None else run.id
    if run is None:
        st.query_params.pop("run", None)
    else:
        st.query_params["run"] = run.id


def bundle_path() -> str | None:
    """The model chosen on Classify (this session's, else the one last chosen in the workspace)."""
    if BUNDLE not in st.session_state:
        last = settings.last_used().get(BUNDLE)
        st.session_state[BUNDLE] = last if isinstance(last, str) else None
    return st.session_state[BUNDLE]


@st.cache_resource(show_spinner=False, max_entries=1)
def predictor():
    """The server's one :class:`genre.jobs.predictor.Predictor`: Classify's predictions and the checks of imported models
    run in its worker process, so the server itself never imports TensorFlow."""
    from genre.jobs.predictor import Predictor

    return Predictor()


def bundle_label() -> str | None:
    """The chosen model's name as every page shows it (:attr:`genre.learn.bundle.Bundle.label`); None when there is none."""
    from genre.learn.bundle import load_bundle

    path = bundle_path()
    if not path:
        return None
    try:
        return load_bundle(path, load_model=False).label
    except (GenreError, OSError):
        return None


def adopt_model(run: Run) -> bool:
    """Make the model of a run started in the app the chosen one, once, when it is saved; whether it did.

    The offer is in the run's record (:meth:`genre.jobs.runs.Run.offer_model`), not in the tab: a reload, a second
    tab or a restart takes the model too, and only the first session that sees it does.
    """
    if not run.claim_model():
        return False
    set_bundle_path(run.bundle_path)
    return True


def set_bundle_path(path: str | Path | None) -> None:
    st.session_state[BUNDLE] = None if path is None else str(path)
    settings.remember_value(BUNDLE, st.session_state[BUNDLE])


EXPERIMENT = "experiment_id"  # the experiment this tab shows on Experiments (also the URL's ?exp=)


def experiments_dir() -> Path:
    return workspace.home() / "experiments"


OPENED = "experiment_folders"  # experiment folders outside the workspace that a user opened (settings.json)


def experiments() -> list:
    """Every experiment in the workspace (any tab's, the CLI's if written there), newest first, then the
    folders opened from elsewhere (``python -m genre experiment --out DIR``)."""
    from genre.jobs.experiment import list_experiments

    opened = settings.last_used().get(OPENED, [])
    return list_experiments(experiments_dir(), also=[str(p) for p in opened] if isinstance(opened, list) else [])


def open_experiment(folder: str):
    """Add an experiment folder made elsewhere to the list; the experiment, or raise GenreError saying why not."""
    from genre.jobs.experiment import open_experiment as opened_experiment

    exp = opened_experiment(folder)
    opened = [p for p in settings.last_used().get(OPENED, []) if isinstance(p, str)]
    if str(exp.path) not in opened:
        settings.remember_value(OPENED, opened + [str(exp.path)])
    return exp


def experiment():
    """The experiment this tab looks at: the URL's ``?exp=``, else the tab's last one; None if gone."""
    wanted = st.query_params.get("exp") or st.session_state.get(EXPERIMENT)
    return next((e for e in experiments() if e.id == wanted), None) if wanted else None


def set_experiment(exp) -> None:
    st.session_state[EXPERIMENT] = None if exp is None else exp.id
    if exp is None:
        st.query_params.pop("exp", None)
    else:
        st.query_params["exp"] = exp.id


def forget_features() -> None:
    """Drop this tab's features so the next page loads the ones its (changed) settings name, if extracted."""
    set_features(None, None)
    st.session_state.pop("_restore_tried", None)
