"""Per-tab state in ``st.session_state``, behind small typed accessors.

Large arrays (features) live here or in ``st.cache_resource``, never in ``st.cache_data``,
which would pickle and copy them on every rerun.
"""

from __future__ import annotations

import os
from pathlib import Path

import streamlit as st

from genre import workspace
from genre.config import FeatureParams

DATASET = "dataset_root"
FEATURES = "features"  # genre.store.FeatureSet
JOB = "job"  # the tab's current genre.jobs.TrainingJob
RUNS = "runs"  # every TrainingJob of this tab
BUNDLE = "bundle_path"  # the model chosen on Classify (str)


def default_dataset() -> str:
    """``$GENRE_DATASET`` (set by ``scripts/run.sh DIR``), else the synthetic demo dataset."""
    return os.environ.get("GENRE_DATASET") or str(workspace.demo_dir())


def dataset_root() -> str:
    return st.session_state.setdefault(DATASET, default_dataset())


def set_dataset_root(path: str) -> None:
    st.session_state[DATASET] = path


def features():
    return st.session_state.get(FEATURES)


def set_features(fs) -> None:
    st.session_state[FEATURES] = fs


def job():
    return st.session_state.get(JOB)


def runs() -> list:
    return st.session_state.setdefault(RUNS, [])


def add_run(job) -> None:
    st.session_state[JOB] = job
    runs().append(job)


def bundle_path() -> str | None:
    return st.session_state.get(BUNDLE)


def set_bundle_path(path: str | Path | None) -> None:
    st.session_state[BUNDLE] = None if path is None else str(path)


def feature_params() -> FeatureParams:
    """The parameters currently set on the Features page (defaults until then)."""
    return st.session_state.get("feature_params", FeatureParams())
