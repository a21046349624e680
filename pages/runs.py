"""Runs: every training run in the workspace (any tab's, the CLI's, an experiment's trials on request) and every
saved model, side by side. The rows come from :mod:`genre.jobs.listing`."""

import pandas as pd
import streamlit as st

from genre import plots
from genre.data import workspace
from genre.errors import GenreError
from genre.jobs import listing
from genre.learn.bundle import delete_bundle, list_bundles
from workbench import exports, runtime, state, ui

runtime.through_navigation()  # a page opened by URL on a fresh server runs through the entry script

st.title("📊 Runs")
ui.status_strip()


def delete(key: str) -> None:
    """The Delete button's callback: remove a run (record and bundle) or a saved model.

    The confirmation is for one delete: it is unticked again.
    """
    st.session_state["confirm_delete"] = False
    kind, target = listing.open_row(key)
    try:
        if kind == "run":
            gone = target.bundle_path
            target.delete()
        else:
            gone = target
            delete_bundle(target)
    except (GenreError, OSError) as exc:
        st.session_state["delete_error"] = f"Could not delete: {exc}"
        return
    if gone is not None and state.bundle_path() == str(gone):
        state.set_bundle_path(None)


def export_ui(key: str) -> None:
    kind, target = listing.open_row(key)
    if kind == "run":
        exports.run_downloads_ui(target)
    else:
        exports.bundle_download_button(str(target), key=f"export-zip-{target.name}")


def shown_ui(experiments: list) -> list:
    """Which experiments' trials to list beside the runs (none by default: a sweep has many)."""
    if not experiments:
        return []
    labels = {e.id: f"{listing.overview(e)['title']} · {e.id}" for e in experiments}
    chosen = st.multiselect("Also list the trials of", list(labels), format_func=labels.get, key="runs_trials_of",
                            help="Each trial of an experiment is a run: listed here it can be compared, exported "
                                 "or deleted like any run. Its experiment names it in the 'experiment' column.")
    return [e for e in experiments if e.id in chosen]


experiments = state.experiments()
rows, histories = listing.workspace_rows(state.runs(), list_bundles(workspace.models_dir()), shown_ui(experiments))

if not rows:
    st.info("No runs yet: train a model on the Train page.")
    st.page_link("pages/train.py", label="Train", icon="🧠")
    st.stop()

table = pd.DataFrame(rows)
ACCURACIES = ("segment acc", "track acc")
# Shown in percent with one decimal everywhere (Streamlit's "percent" preset drops or keeps decimals per value).
hidden = ["key"] + ([] if table["experiment"].astype(bool).any() else ["experiment"])  # only when trials are listed
st.dataframe(table.drop(columns=hidden).assign(**{c: table[c] * 100 for c in ACCURACIES}), hide_index=True,
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
    diff = listing.differing(picked.to_dict("records"))
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
