"""Train: the dense network with live curves, a Stop button and honest results.

Training runs in a worker thread owned by this tab (``genre.jobs.TrainingJob`` in session
state), so clicks and page changes do not kill it; a fragment redraws from its epoch logs.
"""

import pandas as pd
import streamlit as st

from genre import plots, workspace
from genre.config import ModelConfig, TrainConfig
from genre.errors import GenreError
from genre.jobs import TrainingJob
from genre.training import SEGMENT_SPLIT_NOTE, check_trainable
from workbench import state, ui

st.title("🧠 Train")
ui.status_strip()

M, T = ModelConfig(), TrainConfig()
LEARNING_RATES = [1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2]
L2S = [0.0, 1e-4, 1e-3, 1e-2]


def controls_ui(locked: bool):
    """The model and training settings; ``None`` configs with a message when invalid."""
    with st.container(border=True):
        c1, c2, c3, c4 = st.columns(4)
        units = c1.text_input("Hidden layers (units)", ", ".join(map(str, M.hidden_units)), disabled=locked,
                              help="Comma-separated units per Dense+ReLU layer, e.g. 512, 256, 64.")
        dropout = c2.slider("Dropout", 0.0, 0.8, M.dropout, 0.05, disabled=locked)
        l2 = c3.select_slider("L2", L2S, M.l2, disabled=locked)
        lr = c4.select_slider("Learning rate (Adam)", LEARNING_RATES, M.learning_rate, disabled=locked,
                              format_func=lambda v: f"{v:g}")
        c5, c6, c7, c8 = st.columns(4)
        epochs = c5.number_input("Epochs", 1, 1000, 50, disabled=locked)
        batch = c6.select_slider("Batch size", [8, 16, 32, 64, 128, 256], T.batch_size, disabled=locked)
        test_size = c7.slider("Test size", 0.1, 0.5, T.test_size, 0.05, disabled=locked)
        seed = c8.number_input("Seed", 0, 10**6, T.seed, disabled=locked)
        split = st.radio("Split", ["track", "segment"], horizontal=True, disabled=locked,
                         format_func=lambda s: {"track": "By track (honest, default)",
                                                "segment": "Random segments (the notebook's)"}[s])
        if split == "segment":
            st.warning(SEGMENT_SPLIT_NOTE, icon="⚠️")
        c9, c10 = st.columns([1, 3])
        early = c9.checkbox("Early stopping", disabled=locked)
        patience = c10.number_input("Patience (epochs)", 1, 100, 5, disabled=locked or not early)
        name = st.text_input("Run name", f"{split}-{units.replace(' ', '').replace(',', '-')}-lr{lr:g}",
                             disabled=locked)
    try:
        hidden = tuple(int(u) for u in units.replace(" ", "").split(",") if u)
        mc = ModelConfig(hidden_units=hidden, dropout=dropout, l2=l2, learning_rate=lr).validate()
        tc = TrainConfig(epochs=int(epochs), batch_size=batch, test_size=test_size, split=split, seed=int(seed),
                         patience=int(patience) if early else None).validate()
    except GenreError as exc:  # first: ParameterError is a ValueError too, and its message is the precise one
        return None, None, name, str(exc)
    except ValueError:  # int() of something that is not a number
        return None, None, name, "Hidden layers must be whole numbers separated by commas, e.g. 512, 256, 64."
    return mc, tc, name, None


def curves(job: TrainingJob) -> None:
    history = job.history()
    if not history:
        st.caption("Waiting for the first epoch...")
        return
    epochs = range(1, len(history.get("loss", [])) + 1)
    acc = pd.DataFrame({"epoch": epochs, "train": history.get("accuracy"), "validation": history.get("val_accuracy")})
    loss = pd.DataFrame({"epoch": epochs, "train": history.get("loss"), "validation": history.get("val_loss")})
    left, right = st.columns(2)
    left.caption("Accuracy")
    left.line_chart(acc, x="epoch", y=["train", "validation"], height=260)
    right.caption("Loss")
    right.line_chart(loss, x="epoch", y=["train", "validation"], height=260)


def progress_ui(job: TrainingJob) -> None:
    total = job.train_config.epochs
    done = job.epochs_done
    eta = job.eta_seconds()
    st.progress(done / total, text=f"Epoch {done}/{total} · elapsed {ui.fmt_seconds(job.elapsed)}"
                                   f" · ETA {ui.fmt_seconds(eta)}")


@st.fragment(run_every=1.0)
def live_ui() -> None:
    job = state.job()
    if job is None:
        return
    if not job.running:
        st.rerun(scope="app")  # the run ended: redraw the whole page with its results
    st.subheader(f"Training “{job.name}”")
    progress_ui(job)
    if st.button("Stop", icon="⏹️", disabled=job.stop_event.is_set(), help="Ends after the current batch; "
                 "what was learned so far is kept and saved."):
        job.stop()
        st.toast("Stopping after the current batch...")
    curves(job)
    st.caption(f"Validation curve: {'the test split (as in the notebook)' if job.train_config.patience is None else 'a held-out part of the training tracks'}.")


def results_ui(job: TrainingJob) -> None:
    st.subheader(f"Run “{job.name}”: {job.status}")
    if job.status == "failed":
        st.error(job.error)
        return
    res = job.result
    m = res.metrics
    if job.status == "stopped":
        st.info(f"Stopped on request after {m['epochs_run']} epoch(s); the model learned so far was kept.")
    split = "by track" if m["split"] == "track" else "by random segments (overstates accuracy)"
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("Segment accuracy (test)", f"{m['segment_accuracy']:.1%}", help=f"{m['n_segments']} test segments")
    c2.metric("Track accuracy (test, vote)", f"{m['track_accuracy']:.1%}",
              help=f"{m['n_tracks']} test tracks; each track's segments vote by mean probability")
    c3.metric("Epochs", m["epochs_run"])
    c4.metric("Time", ui.fmt_seconds(res.seconds))
    st.caption(f"Test split: {split}, {job.train_config.test_size:.0%} held out"
               f"{'' if m['stratified'] else ' (not stratified: too few tracks per genre)'}; "
               f"validation curve: {m['validation']}.")
    curves(job)
    left, right = st.columns([3, 2])
    genres = job.features.genres
    left.pyplot(plots.confusion_figure(m["confusion"], genres=genres, title="Confusion matrix (test tracks)"))
    right.caption("Per genre (test tracks)")
    right.dataframe(pd.DataFrame(m["per_genre"]).T.round(3), column_config={"support": st.column_config.NumberColumn(format="%d")})
    with st.expander("Model summary"):
        st.code(_summary(job), language=None)
    if job.bundle_path:
        st.success(f"Saved as model bundle `{job.bundle_path.name}` — pick it on **Classify**.", icon="💾")
        st.page_link("pages/classify.py", label="Classify clips with it", icon="🎧")


def _summary(job: TrainingJob) -> str:
    from genre.model import model_summary

    return model_summary(job.result.model)


def start(fs, mc, tc, name) -> None:
    job = TrainingJob(fs, mc, tc, name=name, models_dir=workspace.models_dir(),
                      extra={"feature_rows": len(fs)}).start()
    state.add_run(job)


fs = state.features()
if fs is None:
    st.info("Extract features first.")
    st.page_link("pages/features.py", label="Features", icon="🎛️")
    st.stop()
st.caption(f"Features: {len(fs):,} rows of {fs.X.shape[1]} frames × {fs.X.shape[2]} MFCCs, "
           f"{len(fs.genres)} genres, {len(fs.files)} tracks.")
job = state.job()
running = job is not None and job.running
mc, tc, name, problem = controls_ui(locked=running)
if problem:
    st.error(problem)
if not running:
    try:
        if tc is not None:
            check_trainable(fs, tc)
    except GenreError as exc:
        problem = str(exc)
        st.error(problem)
    if st.button("Start training", type="primary", icon="▶️", disabled=bool(problem)):
        start(fs, mc, tc, name)
        st.rerun()
if job is not None and job.running:
    live_ui()
elif job is not None:
    results_ui(job)
