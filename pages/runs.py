"""Runs: every training run of this tab and every saved model, side by side."""

import pandas as pd
import streamlit as st

from genre import plots, workspace
from genre.bundle import delete_bundle, list_bundles
from genre.errors import GenreError
from workbench import state, ui

st.title("📊 Runs")
ui.status_strip()


def row(name, status, metrics, fp, mc, tc, seconds, source) -> dict:
    return {
        "run": name, "status": status, "split": tc.split,
        "segment acc": metrics.get("segment_accuracy"), "track acc": metrics.get("track_accuracy"),
        "epochs": metrics.get("epochs_run"), "time (s)": None if seconds is None else round(seconds, 1),
        "n_mfcc": fp.n_mfcc, "n_fft": fp.n_fft, "hop": fp.hop_length, "segments": fp.num_segments,
        "sr": fp.sample_rate, "layers": "/".join(map(str, mc.hidden_units)), "dropout": mc.dropout,
        "l2": mc.l2, "lr": mc.learning_rate, "batch": tc.batch_size, "source": source,
    }


bundles = list_bundles(workspace.models_dir())
saved = {str(b.path) for b in bundles}
rows, histories = [], {}
for b in bundles:
    rows.append(row(b.name, "saved" + (" (stopped)" if b.info.get("stopped") else ""), b.metrics, b.params,
                    b.model_config, b.train_config, b.info.get("seconds"), "saved model"))
    histories[b.name] = b.history
for job in state.runs():
    if job.bundle_path is not None and str(job.bundle_path) in saved:
        continue  # already listed as its saved bundle
    metrics = job.result.metrics if job.result is not None else {}
    rows.append(row(job.name, job.status, metrics, job.features.params, job.model_config, job.train_config,
                    job.elapsed, "this tab"))
    histories[job.name] = job.history()

if not rows:
    st.info("No runs yet: train a model on the Train page.")
    st.page_link("pages/train.py", label="Train", icon="🧠")
    st.stop()

table = pd.DataFrame(rows)
st.dataframe(table, hide_index=True, column_config={
    "segment acc": st.column_config.ProgressColumn(format="percent", min_value=0, max_value=1),
    "track acc": st.column_config.ProgressColumn(format="percent", min_value=0, max_value=1),
})
st.caption("Accuracies are on each run's held-out test split; 'track acc' is the segments' mean-probability vote. "
           "Runs split by random segments overstate accuracy on unseen songs.")

st.subheader("Compare curves")
names = list(histories)
chosen = st.multiselect("Runs", names, default=names[:3])
if chosen:
    st.pyplot(plots.curves_overlay_figure({n: histories[n] for n in chosen}))

if bundles:
    st.subheader("Delete a saved model")
    left, right = st.columns([3, 1], vertical_alignment="bottom")
    victim = left.selectbox("Saved model", [str(b.path) for b in bundles],
                            format_func=lambda p: next(b.name for b in bundles if str(b.path) == p))
    confirm = right.checkbox("Yes, delete it")
    if st.button("Delete", icon="🗑️", disabled=not confirm):
        try:
            delete_bundle(victim)
        except (GenreError, OSError) as exc:
            st.error(f"Could not delete: {exc}")
        else:
            if state.bundle_path() == victim:
                state.set_bundle_path(None)
            st.rerun()
