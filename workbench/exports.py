"""Download and import buttons: a model bundle as a zip, a run's HTML report, the features, a zip back in.

The files are made only when a download button is pressed (``st.download_button`` with a callable,
run by Streamlit off the script thread), so a page that shows them does not zip a model or draw a
report on every rerun. The callables call the library only, never Streamlit.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from genre.data import workspace
from genre.errors import GenreError
from genre.learn.bundle import INFO_FILE, MODEL_FILE, slug

from . import state

IMPORTED = "imported_bundles"  # upload file_id -> the bundle folder it became (an upload is imported once)


def bundle_download_button(path: str | Path, *, key: str) -> None:
    """A button that downloads the bundle folder ``path`` as ``<name>.zip`` (disabled when it is gone)."""
    from genre.learn.export import bundle_zip

    path = Path(path)
    complete = (path / INFO_FILE).is_file() and (path / MODEL_FILE).is_file()
    st.download_button("Model bundle (.zip)", data=lambda: bundle_zip(path), file_name=f"{path.name}.zip",
                       mime="application/zip", icon="📦", key=key, on_click="ignore", disabled=not complete,
                       help="bundle.json and model.keras in one folder; import it on Classify (here or in "
                            "another workbench), or load it with genre.learn.bundle.load_bundle."
                       if complete else "This run's model bundle has been deleted.")


def run_downloads_ui(run) -> None:
    """Download buttons for a finished run (a :class:`genre.jobs.runs.Run`): its model bundle and its report.

    Draws nothing for a run without a result (running, or failed before saving a model).
    """
    if run.result() is None:
        return
    from genre.report import report_for_run

    left, right = st.columns(2)
    with left:
        bundle = run.bundle_path
        if bundle is not None:
            bundle_download_button(bundle, key=f"export-zip-{run.id}")
    right.download_button("Report (.html)", data=lambda: report_for_run(run).encode("utf-8"),
                          file_name=f"{slug(run.name)}-report.html", mime="text/html", icon="📄",
                          key=f"export-report-{run.id}", on_click="ignore",
                          help="One self-contained page: settings, curves, confusion matrix, per-genre table "
                               "and model summary; opens in any browser, offline.")


def features_downloads_ui(fs, path: str | Path | None) -> None:
    """Download buttons for the features ``fs``: the store's ``.npz`` (at ``path``) and the notebook's JSON."""
    from genre.learn.export import features_json_bytes, features_npz_bytes

    name = slug(Path(fs.root).name or "features")
    left, right = st.columns(2)
    if path is not None:
        left.download_button("Features (.npz)", data=lambda: features_npz_bytes(path), file_name=f"{name}-mfcc.npz",
                             mime="application/octet-stream", icon="🗜️", key="export-npz", on_click="ignore",
                             help="np.load(file) gives X, y, genres, files, track and segment.")
    size = fs.X.size * 20 / 1e6  # about 20 characters per number as JSON text
    right.download_button("Notebook's JSON", data=lambda: features_json_bytes(fs), file_name=f"{name}-data.json",
                          mime="application/json", icon="📝", key="export-json", on_click="ignore",
                          help=f"mapping, mfcc and labels, as the notebook's load_data reads them (about "
                               f"{size:,.0f} MB; made when you press the button).")


def import_bundle_ui() -> Path | None:
    """Upload a bundle zip, import it (safe mode) into the workspace's models and choose it; its folder.

    An upload is imported once: later reruns with the same file still on the uploader only say so.
    """
    from genre.learn.export import import_bundle_zip

    upload = st.file_uploader("Model bundle (.zip)", type=["zip"], key="import_bundle",
                              help="A zip of a model bundle (bundle.json and model.keras), e.g. downloaded from "
                                   "the Runs page. It is loaded in Keras' safe mode before it is added.")
    if upload is None:
        return None
    done = st.session_state.setdefault(IMPORTED, {})
    if upload.file_id in done:
        st.caption(f"{upload.name} was imported as model “{done[upload.file_id][1]}”.")
        return Path(done[upload.file_id][0])
    try:
        with st.spinner(f"Checking and loading {upload.name} (the model's process starts the first time)..."):
            path = import_bundle_zip(upload.getvalue(), workspace.models_dir(),
                                     check_model=state.predictor().check_bundle)  # Keras runs in the worker
    except GenreError as exc:
        st.error(f"Cannot import {upload.name}: {exc}")
        return None
    except OSError as exc:
        st.error(f"Cannot import {upload.name}: {exc.strerror or exc}")
        return None
    state.set_bundle_path(path)
    done[upload.file_id] = (str(path), state.bundle_label())
    st.success(f"Imported {upload.name} as model “{done[upload.file_id][1]}”; it is now the chosen model.", icon="📦")
    return path

