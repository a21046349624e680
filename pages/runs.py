"""Runs: every training run in the workspace (any tab's, the CLI's) and every saved model, side by side."""

from pathlib import Path

import pandas as pd
import streamlit as st

from genre import plots
from genre.data import workspace
from genre.data.params import FeatureParams
from genre.errors import GenreError
from genre.jobs.runs import Run
from genre.learn.augment import describe as describe_augmentation
from genre.learn.bundle import delete_bundle, list_bundles
from genre.learn.config import ModelConfig, TrainConfig
from genre.learn.model import describe as describe_network
from workbench import exports, runtime, state, ui

runtime.through_navigation()  # a page opened by URL on a fresh server runs through the entry script

st.title("📊 Runs")
ui.status_strip()

# Settings first, then what they gave. "dataset" .. "backend" are compared across selected runs.
SETTINGS = ["dataset", "genres", "input", "network", "backend", "dropout", "l1", "l2", "standardise", "augmentation", "lr",
            "batch", "epochs asked", "split", "test size", "seed", "backend"]


def settings_row(mc: ModelConfig, tc: TrainConfig, backend: str) -> dict:
    """The model and training settings columns (the network's own knobs only)."""
    return {"network": describe_network(mc), "backend": backend, "dropout": mc.dropout, "l1": mc.l1, "l2": mc.l2,
            "standardise": "yes" if mc.standardize else "no", "augmentation": describe_augmentation(tc.augmentation()),
            "lr": mc.learning_rate, "batch": tc.batch_size, "epochs asked": tc.epochs, "split": tc.split,
            "test size": tc.test_size, "seed": tc.seed}


def run_row(run: Run) -> dict:
    spec, status, result = run.spec, run.status(), run.result() or {}
    m = result.get("metrics", {})
    shape = spec.get("input_shape") or ["?", "?"]
    try:
        fp, mc, tc = run.configs()
    except GenreError:  # a record written by a newer or broken version: shown, without its settings
        fp, mc, tc = FeatureParams(), ModelConfig(), TrainConfig()
    return {
        "key": f"run:{run.id}", "run": run.name, "status": status.get("state"),
        "dataset": (spec.get("dataset") or "").rstrip("/").rsplit("/", 1)[-1],
        "genres": len(spec.get("genres", [])), "input": f"{shape[0]}×{shape[1]}",
        **settings_row(mc, tc, spec.get("backend", "tensorflow")),
        "segment acc": m.get("segment_accuracy"), "track acc": m.get("track_accuracy"),
        "epochs": m.get("epochs_run", len(run.epochs()) or None), "time (s)": _round(result.get("seconds")),
        "segments": fp.num_segments, "source": spec.get("source", "app"), "id": run.id,
    }


def bundle_row(b) -> dict:
    """A saved model with no run record (copied in, imported, or from before runs were recorded)."""
    fp, m = b.params, b.metrics
    frames, n = fp.input_shape
    return {
        "key": f"bundle:{b.path}", "run": b.label, "status": "saved model", "dataset": "", "genres": len(b.genres),
        "input": f"{frames}×{n}", **settings_row(b.model_config, b.train_config, b.info.get("backend", "tensorflow")),
        "segment acc": m.get("segment_accuracy"), "track acc": m.get("track_accuracy"), "epochs": m.get("epochs_run"),
        "time (s)": _round(b.info.get("seconds")), "segments": fp.num_segments,
        "source": "imported" if b.info.get("imported") else "saved model", "id": b.path.name,
    }


def _round(x):
    return None if x is None else round(float(x), 1)


def differing(table: pd.DataFrame) -> list[str]:
    """The settings columns whose values are not all the same."""
    return [c for c in SETTINGS if table[c].astype(str).nunique() > 1]


def delete(key: str) -> None:
    """The Delete button's callback: remove a run (record and bundle) or a saved model.

    The confirmation is for one delete: it is unticked again.
    """
    st.session_state["confirm_delete"] = False
    kind, _, ident = key.partition(":")
    try:
        if kind == "run":
            run = Run(workspace.runs_dir() / ident)
            gone = run.bundle_path
            run.delete()
        else:
            gone = ident
            delete_bundle(ident)
    except (GenreError, OSError) as exc:
        st.session_state["delete_error"] = f"Could not delete: {exc}"
        return
    if gone is not None and state.bundle_path() == str(gone):
        state.set_bundle_path(None)


def export_ui(key: str) -> None:
    kind, _, ident = key.partition(":")
    if kind == "run":
        exports.run_downloads_ui(Run(workspace.runs_dir() / ident))
    else:
        exports.bundle_download_button(ident, key=f"export-zip-{Path(ident).name}")


runs = state.runs()
bundles = list_bundles(workspace.models_dir())
rows, histories = [run_row(r) for r in runs], {}
for r in runs:
    result = r.result()
    histories[f"run:{r.id}"] = result["history"] if result else r.history()
# A bundle is shown as a run's when it is that run's own folder; an imported copy of it is a model of its own.
recorded = {str(r.bundle_path.resolve()) for r in runs if r.bundle_path is not None}
for b in bundles:
    if str(b.path.resolve()) not in recorded:
        rows.append(bundle_row(b))
        histories[f"bundle:{b.path}"] = b.history

if not rows:
    st.info("No runs yet: train a model on the Train page.")
    st.page_link("pages/train.py", label="Train", icon="🧠")
    st.stop()

table = pd.DataFrame(rows)
ACCURACIES = ("segment acc", "track acc")
# Shown in percent with one decimal everywhere (Streamlit's "percent" preset drops or keeps decimals per value).
st.dataframe(table.drop(columns=["key"]).assign(**{c: table[c] * 100 for c in ACCURACIES}), hide_index=True,
             column_config={c: st.column_config.ProgressColumn(format=ui.PERCENT_COLUMN, min_value=0, max_value=100)
                            for c in ACCURACIES})
st.caption("Accuracies are on each run's held-out test split; 'track acc' is the segments' mean-probability vote. "
           "Runs split by random segments overstate accuracy on unseen songs.")
labels = {r["key"]: f"{r['run']} · {r['id']}" for r in rows}

st.subheader("Compare")
chosen = st.multiselect("Runs", list(labels), default=[k for k in labels if histories[k]][:2], format_func=labels.get,
                        help="Their curves overlaid, and the settings in which they differ.")
picked = table[table["key"].isin(chosen)]
if len(picked) > 1:
    diff = differing(picked)
    if diff:
        st.caption("Settings in which these runs differ (highlighted):")
        shown = picked[["run", "status", *diff, "segment acc", "track acc", "epochs", "time (s)"]]
        numbers = {c: "{:g}" for c in shown.columns if pd.api.types.is_float_dtype(shown[c])}
        numbers.update({"segment acc": ui.percent, "track acc": ui.percent})
        st.dataframe(shown.style.set_properties(subset=diff, **{"background-color": "#fef3c7"})
                     .format(numbers, na_rep="–"), hide_index=True)
    else:
        st.caption("These runs have the same settings: the differences between them are seed and split noise.")
curves = {labels[k]: histories[k] for k in chosen if histories[k]}
if curves:
    st.pyplot(plots.curves_overlay_figure(curves))

st.subheader("Export")
exportable = [r["key"] for r in rows if r["key"].startswith("bundle:") or r["segment acc"] is not None]
if exportable:
    picked_key = st.selectbox("Run or saved model to export", exportable, format_func=labels.get, key="export_choice",
                              help="A finished run: its model bundle (.zip) and a report (.html). A saved model "
                                   "without a run record: its bundle.")
    export_ui(picked_key)
else:
    st.caption("Nothing to export yet: no run has finished with a model.")

st.subheader("Delete")
left, mid, right = st.columns([3, 2, 1], vertical_alignment="bottom")
victim = left.selectbox("Run or saved model", list(labels), format_func=labels.get, key="delete_choice")
confirm = mid.checkbox("Yes, delete it and its saved model", key="confirm_delete")
right.button("Delete", icon="🗑️", disabled=not confirm, on_click=delete, args=(victim,))
if st.session_state.get("delete_error"):
    st.error(st.session_state.pop("delete_error"))
