"""Train: the dense network with live curves, a Stop button and honest results.

Every run is a process of its own with a record in the workspace (``genre.jobs.runs``); this page starts
runs and draws their records. A reload, another tab or an app restart shows the same runs, and
any tab can watch or stop any run.
"""

import time

import pandas as pd
import streamlit as st

from genre import plots
from genre.data import workspace
from genre.errors import GenreError
from genre.jobs import queue
from genre.jobs.execution import launch, prewarm, warm_hint
from genre.jobs.runs import BACKEND_HELP, BACKENDS, IN_FLIGHT, create_run, phase, resolve_backend
from genre.learn.config import check_features, run_name
from genre.learn.splits import GTZAN_LISTS, SPLIT_MODES, default_lists, describe_split
from genre.learn.training import describe_training, split_rows
from workbench import exports, insight, lab, runtime, settings, state, ui

runtime.through_navigation()  # a page opened by URL on a fresh server runs through the entry script

st.title("🧠 Train")
strip = ui.status_strip()

STATE_ICONS = {IN_FLIGHT: "🏃", "done": "✅", "stopped": "⏹️", "failed": "❌"}


def split_ui(fs):
    """The split mode (genre.learn.splits.SPLIT_MODES) and its own settings: ``(split, folds, fold, lists)``."""
    keep = settings.keep
    gtzan_lists = default_lists(fs.genres, fs.files) if fs is not None else None
    if gtzan_lists:
        st.info("This looks like GTZAN: choose **Predefined lists** to train on its artist- and fault-filtered "
                "split (Kereliuk, Sturm & Larsen 2015), comparable with published results.", icon="🎼")
    split = st.radio("Split", list(SPLIT_MODES), horizontal=True, **keep("split"))
    note = SPLIT_MODES[split].note
    if split == "segment":
        st.warning(note, icon="⚠️")
    elif note:
        st.caption(note)
    folds, fold, lists = settings.SETTINGS["folds"].default, 0, None
    if split == "kfold":
        c1, c2 = st.columns(2)
        folds = c1.number_input("Folds", *settings.span("folds"), **keep("folds"))
        if st.session_state.get("fold", 0) > folds - 1:  # fewer folds than before: the last one
            st.session_state["fold"] = int(folds) - 1
        fold = c2.number_input("Test fold", 0, int(folds) - 1, **keep("fold"), help="0-based")
    elif split == "lists":
        if not st.session_state.get("lists") and gtzan_lists:
            st.session_state["lists"] = gtzan_lists
        lists = st.text_input("Lists folder", **keep("lists"),
                              help="train.txt, test.txt and optionally valid.txt, one path relative to the dataset "
                                   "folder per line (GTZAN's fault-filtered split is bundled: " + str(GTZAN_LISTS) + ")")
    return split, folds, fold, (lists or "").strip() or None


def controls_ui(fs):
    """The model and training settings; ``None`` configs with a message when invalid."""
    settings.seed(settings.TRAIN_KEYS)
    keep = settings.keep
    with st.container(border=True):
        kind = lab.model_ui()
        c5, c6, c7, c8 = st.columns(4)
        c5.number_input("Epochs", *settings.span("epochs"), **keep("epochs"))
        c6.select_slider("Batch size", settings.BATCH_SIZES, **keep("batch"))
        c7.slider("Test size", *settings.span("test_size"), step=0.05, **keep("test_size"))
        c8.number_input("Seed", *settings.span("seed"), **keep("seed"))
        split, *_ = split_ui(fs)
        c9, c10, c11 = st.columns([1, 1, 2], vertical_alignment="bottom")
        early = c9.checkbox("Early stopping", **keep("early"))
        c10.number_input("Patience (epochs)", *settings.span("patience"), disabled=not early, **keep("patience"))
        backend = c11.radio("Backend", list(BACKENDS), horizontal=True, **keep("backend"), help=BACKEND_HELP)
        augmentation_problem = lab.augmentation_ui()  # in the words on screen: said before the config's own
        try:
            mc, tc = settings.configs(settings.train_values())
            problem = None
        except GenreError as exc:  # first: ParameterError is a ValueError too, and its message is the precise one
            mc, tc, problem = None, None, str(exc)
        except ValueError:  # int() of something that is not a number
            mc, tc, problem = None, None, "Hidden layers must be whole numbers separated by commas, e.g. 512, 256, 64."
        if mc is not None and fs is not None:
            try:
                check_features(fs.params, mc, tc)  # a CNN on embeddings, augmentation of them: said here
            except GenreError as exc:
                problem = str(exc)
        on = fs.params if fs is not None else None
        name = st.text_input("Run name", run_name(mc, tc, resolve_backend(backend, mc.kind), on) if mc is not None else f"{kind}-{split}",
                             help="Says what sets the run apart: its network, split and backend, then each setting "
                                  "that differs from the defaults. A label only: every run gets a unique id, and "
                                  "its model carries this name.")
    settings.remember(settings.TRAIN_KEYS)
    return mc, tc, name, backend, augmentation_problem or problem


def new_run_ui(fs) -> None:
    """The settings (always: they can be chosen before features exist) and Start (once they do)."""
    if fs is None:
        st.info("Extract features first to start a new run. Runs already started are listed below.")
        st.page_link("pages/features.py", label="Features", icon="🎛️")
    else:
        rows = (f"{fs.X.shape[1]} frames × {fs.X.shape[2]} MFCCs" if fs.params.kind.grid else
                f"{fs.X.shape[1]} values (musicnn {fs.params.layer} embeddings)")
        st.caption(f"Features: {len(fs):,} rows of {rows}, "
                   f"{ui.count(len(fs.genres), 'genre')}, {ui.count(len(fs.files), 'track')}.")
    mc, tc, name, backend, problem = controls_ui(fs)
    if fs is None:
        problem = problem or "no features yet"
    elif problem is None:
        try:
            split = split_rows(fs, tc)  # a split that cannot work is said here, not by a failed run
        except GenreError as exc:
            problem = str(exc)
        else:
            lab.rows_note(fs, split, tc)
            if split.missing:
                st.warning(f"{ui.count(len(split.missing), 'listed file')} not in these features, left out: "
                           + ", ".join(split.missing[:8]) + (", ..." if len(split.missing) > 8 else ""), icon="📋")
    if problem and fs is not None:
        st.error(problem)
    busy = [r for r in state.runs() if r.running]
    if busy:
        st.caption(f"{ui.count(len(busy), 'run')} queued or training now; at most {queue.max_runs()} train at once "
                   "(GENRE_MAX_RUNS), the others wait their turn in one queue.")
    if mc is not None:  # a process with Keras imported waits for this Start (warmed for this very run when it can)
        prewarm(resolve_backend(backend, mc.kind), warm_hint(fs, split, mc, tc) if fs is not None and not problem
                else None)
    if st.button("Start training", type="primary", icon="▶️", disabled=bool(problem)):
        try:
            run = create_run(workspace.runs_dir(), features_path=state.features_path(), features=fs,
                             model_config=mc, train_config=tc, name=name, backend=backend,
                             models_dir=workspace.models_dir())
            run.offer_model()  # its model becomes the chosen one when saved, whichever tab sees it first
            launch(run)
        except (GenreError, OSError) as exc:
            st.error(f"Could not start the run: {exc}")
            return
        state.set_run(run)
        st.rerun()


def curves(history: dict) -> None:
    if not history:
        st.caption("Waiting for the first epoch...")
        return
    points = len(history.get("loss", ())) <= 60  # dots on short curves only
    for column, metric in zip(st.columns(2), ("accuracy", "loss")):
        column.caption(metric.capitalize())
        column.vega_lite_chart(pd.DataFrame(plots.curves_rows(history, metric), columns=["epoch", "value", "split"]),
                               plots.curves_spec(metric, points=points), width="stretch")


def validation_note(tc: dict) -> str:
    return ("Validation curve: " + ("the test split (as in the notebook)." if tc.get("patience") is None
                                    else "a held-out part of the training tracks (early stopping never sees the test split)."))


@st.fragment(run_every=0.5)
def live_ui(run, drawn_phase: str) -> None:
    """The run's progress, redrawn every half second from its record on disk.

    ``drawn_phase`` is the run's phase (in flight, or how it ended) the rest of the page was drawn with (the run
    picker's icon, the strip): when it ends, the whole page is redrawn, with its results. Queued, starting and
    running are this fragment's to show: a whole-page redraw for each would delay the first epoch on screen.
    """
    status = run.status()
    if phase(status.get("state", "pending")) != drawn_phase:
        st.rerun(scope="app")  # it ended: redraw the whole page (with its results)
    spec, epochs = run.spec, run.epochs()
    total = spec["train_config"]["epochs"]
    st.subheader(f"Training “{run.name}”")
    if status.get("state") == "queued":
        ahead = run.queue_position()
        st.info(f"Queued: {ui.count(ahead or 0, 'run')} ahead of it; at most {queue.max_runs()} train at once. "
                "Stop takes it out of the queue.", icon="🕒")
    elif status.get("state") == "pending":
        waited = max(0.0, time.time() - float(spec.get("created", time.time())))
        doing = status.get("message", "")
        if doing.startswith("augmenting"):  # the run makes its augmented copies first (once per setting)
            st.info(f"{doing[0].upper()}{doing[1:]} · {waited:.0f} s", icon="🎚️")
        else:
            st.info(f"Starting: {doing or 'a process with ' + BACKENDS[spec.get('backend', 'tensorflow')] + ' takes it'}"
                    f" · {waited:.0f} s", icon="⏳")
    else:
        elapsed = time.time() - float(status.get("started") or time.time())
        st.progress(len(epochs) / total, text=f"Epoch {len(epochs)}/{total} · elapsed {ui.fmt_seconds(elapsed)}"
                                              f" · ETA {ui.fmt_seconds(run.eta_seconds(epochs))}")
    ui.stop_button(run, help="Ends after the current batch; what was learned so far is kept and saved.",
                   stopping="Stopping after the current batch...")
    curves(run.history(epochs))
    st.caption(validation_note(spec["train_config"]))


def per_genre_table(per_genre: dict) -> pd.DataFrame:
    """Precision, recall and F1 as text, "–" where undefined (no test tracks, or never predicted)."""
    table = pd.DataFrame(per_genre).T
    for column in ("precision", "recall", "f1"):
        table[column] = [("–" if v is None or pd.isna(v) else f"{float(v):.3f}") for v in table[column]]
    table["support"] = table["support"].astype(int)
    return table


def results_ui(run) -> None:
    status, spec = run.status(), run.spec
    st.subheader(f"Run “{run.name}”: {status.get('state')}")
    result = run.result()
    if status.get("state") == "failed" or result is None:
        st.error(status.get("message") or "The run ended without a result.")
        if run.epochs():
            curves(run.history())
        return
    m = result["metrics"]
    bundle = run.bundle_path
    if bundle is not None and bundle.is_dir() and state.adopt_model(run):
        ui.status_strip(strip)  # the model this tab just trained is now the one Classify uses
    if result.get("stopped"):
        st.info(f"Stopped on request after {m['epochs_run']} epoch(s); the model learned so far was kept.")
    split = describe_split(m, spec["train_config"])
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("Segment accuracy (test)", ui.percent(m['segment_accuracy']), help=f"{m['n_segments']} test segments")
    c2.metric("Track accuracy (test, vote)", ui.percent(m['track_accuracy']),
              help=f"{m['n_tracks']} test tracks; each track's segments vote by mean probability")
    c3.metric("Epochs", m["epochs_run"])
    c4.metric("Time", ui.fmt_seconds(result["seconds"]), help=f"Build, fit and test on {spec.get('backend')}, "
              "in the run's own process")
    st.caption(f"Test split: {split}"
               f"{'' if m['stratified'] else '; stratified by genre except ' + ', '.join(m.get('untested_genres') or ['some genres']) + ' (too few tracks to test)'}; "
               f"validation curve: {m['validation']}. Backend: {spec.get('backend')}.")
    st.caption(describe_training(spec, m))
    curves(result["history"])
    st.caption("Per genre (test tracks)")
    st.dataframe(per_genre_table(m["per_genre"]), column_config={
        "support": st.column_config.NumberColumn(format="%d", help="Test tracks of the genre")})
    insight.error_analysis_ui(run)
    with st.expander("Model summary"):
        st.code(result.get("summary", ""), language=None)
    exports.run_downloads_ui(run)
    bundle = run.bundle_path
    if bundle is not None and bundle.is_dir():
        st.success(f"Saved as model bundle `{bundle.name}`.", icon="💾")
        if st.button("Classify with it", icon="🎧", key=f"classify-{run.id}"):
            state.set_bundle_path(bundle)
            st.switch_page("pages/classify.py")
    elif bundle is not None:
        st.caption(f"Its model bundle `{bundle.name}` has been deleted.")


def pick_run_ui():
    """The run to show: this tab's (also after a reload, from the URL), else the newest running one."""
    runs = state.runs()
    if not runs:
        return None
    current = state.run()
    if current is None:
        current = next((r for r in runs if r.running), None) or runs[0]
    ids = [r.id for r in runs]
    labels = {r.id: f"{STATE_ICONS.get(phase(r.state), '')} {r.name} · {r.id}" for r in runs}
    chosen = st.selectbox("Show run", ids, index=ids.index(current.id) if current.id in ids else 0,
                          format_func=labels.get, help="Every run in the workspace: this tab's, other tabs', the CLI's.")
    run = next(r for r in runs if r.id == chosen)
    state.set_run(run)
    return run


new_run_ui(state.features() if state.features_path() else None)
st.divider()
shown = pick_run_ui()
if shown is None:
    st.caption("No runs yet.")
elif shown.running:
    live_ui(shown, phase(shown.state))
else:
    results_ui(shown)
