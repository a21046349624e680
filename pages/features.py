"""Features: MFCCs or musicnn embeddings, their parameters, a live preview of one segment, and a cached extraction."""

import json
import time
from pathlib import Path

import pandas as pd
import streamlit as st

from genre import plots
from genre.data import musicnn, workspace
from genre.data.audio import load_audio
from genre.data.extract import default_jobs, expected_rows, extract_to_store, load_cached
from genre.data.features import excerpt, segment_mfccs
from genre.data.params import EMBEDDINGS, EXCERPTS, FEATURE_KINDS, FeatureParams
from genre.errors import Cancelled, GenreError
from workbench import exports, insight, runtime, settings, state, ui

runtime.through_navigation()  # a page opened by URL on a fresh server runs through the entry script

st.title("🎛️ Features")
strip = ui.status_strip()


def params_ui(exclude: tuple[str, ...]) -> tuple[FeatureParams | None, str | None]:
    settings.seed(settings.FEATURE_KEYS)
    k1, k2 = st.columns([3, 1])
    kind = k1.radio("Features", list(FEATURE_KINDS), horizontal=True, **settings.keep("family"),
                    help="; ".join(f"{v.label}: {v.about}" for v in FEATURE_KINDS.values()))
    mfcc = FEATURE_KINDS[kind].grid
    k2.selectbox("musicnn layer", list(EMBEDDINGS), **settings.keep("layer"), disabled=mfcc,
                 format_func=lambda v: f"{v} ({EMBEDDINGS[v]} values)",
                 help="Which of musicnn's layers a segment's embedding comes from (the mean over its 3 s patches).")
    if not mfcc:
        st.caption("musicnn hears 16 kHz audio in 3 s patches and gives one vector per segment: the MFCC settings "
                   "and the sample rate do not apply; the segments below do. Its network runs in a worker process.")
    c1, c2, c3 = st.columns(3)
    c1.slider("n_mfcc (coefficients)", *settings.span("n_mfcc"), **settings.keep("n_mfcc"), disabled=not mfcc)
    n_fft = c2.select_slider("n_fft (window, samples)", settings.N_FFTS, **settings.keep("n_fft"), disabled=not mfcc)
    hops = [h for h in settings.HOPS if h <= n_fft]  # hop_length above n_fft would skip samples
    if st.session_state.get("hop", 0) > n_fft:
        st.session_state["hop"] = hops[-1]
    c3.select_slider("hop_length (samples)", hops, **settings.keep("hop"), help="At most n_fft.", disabled=not mfcc)
    c8, c9 = st.columns([3, 1])
    where = c8.radio("Where the segments come from", list(EXCERPTS), horizontal=True, **settings.keep("excerpt"),
                     help="; ".join(f"{k}: {v}" for k, v in EXCERPTS.items()).replace("`", ""))
    most = c9.number_input("At most, per track", *settings.span("max_segments"), disabled=where != "whole", **settings.keep("max_segments"),
                           help="With the whole track: segments evenly spread over it, at most this many.")
    whole = where == "whole"
    c4, c5, c6, c7 = st.columns(4)
    # With the whole track, duration and count only set the segments' length: the labels say so.
    segments = c4.slider("Divide the duration into … (segment length)" if whole else "Segments per track", *settings.span("segments"),
                         **settings.keep("segments"),
                         help="Segment length = duration ÷ this. The whole track is cut into segments of that length."
                              if whole else "The duration below is cut into this many segments: one training row each.")
    c5.selectbox("Sample rate (Hz)" if mfcc else "Sample rate (Hz; musicnn: 16000)", settings.SAMPLE_RATES,
                 **settings.keep("sr"), disabled=not mfcc)
    duration = c6.slider("Duration (s), for the segment length only" if whole else "Duration used (s)",
                         *settings.span("duration"), **settings.keep("duration"),
                         help="With the whole track only the segment length comes from it; every part of the track "
                              "is used." if whole else
                              "Seconds cut into the segments. GTZAN's clips are 30 s; songs are minutes long.")
    c7.number_input("Files per genre (-1 = all)", *settings.span("files"), step=1, **settings.keep("files"))
    if whole:
        st.caption(f"Whole track: segments of {duration / segments:.2f} s ({duration} s ÷ {segments}), as many as fit "
                   f"in each track, at most {int(most)}, spread evenly over it.")
    st.button("Reset to the notebook's defaults", on_click=settings.reset, args=(settings.FEATURE_KEYS,), icon="↩️")
    settings.remember(settings.FEATURE_KEYS)
    try:
        params = settings.params_of({k: st.session_state[k] for k in settings.FEATURE_KEYS}, exclude)
    except GenreError as exc:
        return None, str(exc)
    problems = params.problems()
    return params, (" ".join(problems) or None)


@st.cache_data(show_spinner=False, max_entries=4, ttl=600)  # decoded clips: up to ~50 MB each
def clip_at(path: str, sample_rate: int):
    return load_audio(path, sample_rate=sample_rate)


def preview_ui(dataset, params: FeatureParams) -> None:
    st.subheader("Preview")
    clips = [p for files in dataset.files for p in files]
    chosen = st.session_state.get("preview_clip")
    default = next((i for i, p in enumerate(clips) if str(p) == chosen), 0)
    path = st.selectbox("Clip", clips, index=default, format_func=lambda p: f"{p.parent.name}/{p.name}")
    m1, m2, m3 = st.columns(3)
    m1.metric("Input shape (frames × coefficients)" if params.kind.grid else "Input shape (embedding values)",
              " × ".join(map(str, params.input_shape)))
    m2.metric("Segment length", f"{params.segment_samples / params.sample_rate:.2f} s")
    m3.metric("Training rows (if every clip is long enough)" if params.excerpt != "whole" else "Training rows (at most)",
              f"{expected_rows(dataset, params):,}")
    try:
        y = clip_at(str(path), params.sample_rate)
    except GenreError as exc:
        st.error(str(exc))
        return
    part, segments = excerpt(y, params)
    if not segments:
        st.warning(f"This clip ({len(y) / params.sample_rate:.1f} s) is shorter than one segment.")
        return
    mfcc_png, mel_png, patches = segment_pictures(str(path), json.dumps(params.to_dict(), sort_keys=True))
    mfcc_side, musicnn_side = st.columns(2)  # the same segment, as each family's features see it
    mfcc_side.image(mfcc_png, width="stretch")
    musicnn_side.image(mel_png, width="stretch")
    musicnn_side.caption(f"The same segment as musicnn hears it, in 3 s patches ({patches} whole one(s) here; a dashed "
                         "line where each ends). With musicnn features a segment's row is the mean of its patches' "
                         "embeddings.")


@st.cache_data(show_spinner=False, max_entries=16, ttl=600)
def segment_pictures(path: str, params_json: str) -> tuple[bytes, bytes, int]:
    """The preview's first segment as its MFCCs and as musicnn's log-mel input (PNG, as ``st.pyplot`` draws them),
    and its whole 3 s patches: made once per clip and settings, not on every rerun of the page (~0.6 s each, e.g.
    on the click on Extract)."""
    params = FeatureParams.from_dict(json.loads(params_json))
    part, segments = excerpt(clip_at(path, params.sample_rate), params)
    d, seg = segments[0], params.segment_samples
    p = params.replace(features="mfcc")
    mfcc, _ = segment_mfccs(part, params=p, segments=[d])
    frames, n = p.input_shape
    mfcc_fig = plots.mfcc_figure(mfcc[0], sample_rate=p.sample_rate, hop_length=p.hop_length,
                                 title=f"MFCCs: {frames} frames × {n} (segment 1 of {len(segments)})")
    mel = musicnn.log_mel(part[d * seg:(d + 1) * seg], params.sample_rate)
    mel_fig = plots.log_mel_figure(mel, sample_rate=musicnn.SAMPLE_RATE, hop_length=musicnn.HOP,
                                   patch_frames=musicnn.PATCH_FRAMES,
                                   title=f"musicnn's input: {mel.shape[0]} frames × 96 mel bands at 16 kHz")
    return plots.png(mfcc_fig), plots.png(mel_fig), len(musicnn.patches(mel))


def extract_ui(dataset, params: FeatureParams) -> None:
    left, right = st.columns([1, 3], vertical_alignment="center")
    current = state.features()
    note = right.empty()
    if current is not None and (current.params != params or Path(current.root) != Path(dataset.root)):
        note.warning("These settings differ from the current features (" + current.params.describe() + "): "
                      "press **Extract features** to use them.", icon="⚠️")
    if not left.button("Extract features", type="primary", icon="⚙️"):
        return
    out = workspace.features_path(dataset.root, params)
    bar = st.progress(0.0, text="Starting workers...")
    jobs = default_jobs(dataset.n_files)

    shown = [0.0]

    def progress(done: int, total: int) -> None:  # ten redraws a second at most: each is a message to the browser
        if time.monotonic() - shown[0] >= 0.1 or done == total:
            shown[0] = time.monotonic()
            bar.progress(done / total, text=f"Extracting: file {done} of {total}")

    made = None  # the features extracted here, when they were
    try:
        if params.kind.network and load_cached(dataset.root, params, out, load=state.shared_store) is not None:
            hit = True  # found here: no need to start the worker for it
        elif params.kind.network:  # in the prediction worker: the server never runs a network
            stop = st.empty()
            stop.button("Stop", icon="⏹️", help="Stops the extraction (the files done so far are not kept).")
            hit = state.predictor().extract(dataset.root, params, out, on_progress=progress)
            stop.empty()
        else:
            made, hit = extract_to_store(dataset.root, params, out, jobs=jobs, on_progress=progress)
    except (GenreError, Cancelled) as exc:
        bar.empty()
        st.error(str(exc))
        return
    bar.empty()
    note.empty()
    fs = state.shared_store(out, made)  # the copy every session shares (the one just made: not read back)
    state.set_features(fs, out)
    ui.status_strip(strip)
    if hit:
        st.success(f"Cache hit: these features were already extracted with the same settings ({len(fs):,} rows).",
                   icon="⚡")
    else:
        st.success(f"Extracted {len(fs):,} rows from {len(fs.files)} files.", icon="✅")


def summary_ui() -> None:
    fs = state.features()
    if fs is None:
        st.info("No features yet: set the parameters above and press **Extract features**.")
        return
    s = fs.summary()
    st.subheader("Current features")
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("Rows (segments)", f"{s['rows']:,}")
    c2.metric("Tracks", s["tracks"])
    c3.metric("Skipped files", s["skipped"])
    c4.metric("Files with fewer segments", s["short"])
    st.bar_chart(pd.DataFrame({"genre": list(s["rows_per_genre"]), "rows": list(s["rows_per_genre"].values())}),
                 x="genre", y="rows", height=220)
    if fs.skipped:
        st.warning("These files could not be read and were skipped:")
        st.dataframe(pd.DataFrame(fs.skipped, columns=["file", "reason"]), hide_index=True)
    short = fs.short_files()
    if short:
        p = fs.params
        with st.expander(f"{ui.count(len(short), 'file')} gave fewer than {p.num_segments} segments: shorter than "
                         f"{p.duration:g} s"):
            st.dataframe(pd.DataFrame(short, columns=["file", "segments"]), hide_index=True)
    st.caption(f"From `{fs.root}`: {fs.params.describe()}.")
    exports.features_downloads_ui(fs, state.features_path())
    insight.explorer_ui(fs)
    st.page_link("pages/train.py", label="Next: train a model", icon="🧠")


exclude = state.excluded()
dataset, error = ui.try_scan(state.dataset_root(), exclude=exclude)
if error:
    st.error(f"{error} — choose a dataset on the Dataset page.")
    st.page_link("pages/dataset.py", label="Dataset", icon="📁")
    st.stop()
params, problem = params_ui(exclude)
if problem:
    st.error(problem)
else:
    preview_ui(dataset, params)
    extract_ui(dataset, params)
summary_ui()
