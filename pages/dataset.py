"""Dataset: choose a GTZAN-shaped folder, see what is in it, listen and look at clips."""

from pathlib import Path

import pandas as pd
import streamlit as st

from genre import plots
from genre.data import workspace
from genre.data.audio import find_unreadable, load_audio
from genre.data.dataset import MIN_TRACKS
from genre.data.features import clip_mfccs
from genre.errors import GenreError
from workbench import runtime, state, ui

runtime.through_navigation()  # a page opened by URL on a fresh server runs through the entry script

PREVIEW_SR = 22050

st.title("📁 Dataset")
strip = ui.status_strip()


@st.cache_data(show_spinner=False, max_entries=32, ttl=3600)
def unreadable(root: str, _dataset, stamp: str) -> list[tuple[str, str]]:
    paths = [p for files in _dataset.files for p in files]
    return [(p.relative_to(_dataset.root).as_posix(), why) for p, why in find_unreadable(paths)]


@st.cache_data(show_spinner=False, max_entries=4, ttl=600)  # a 5-minute song is 26 MB decoded
def clip_audio(path: str, sample_rate: int):
    return load_audio(path, sample_rate=sample_rate)


def use_demo() -> None:
    # A callback: it runs before the text input is drawn, the only time its value may be set.
    root = str(workspace.demo_dir())
    st.session_state["dataset_input"] = root
    st.session_state["_build_demo"] = True  # asked for: built now if it is not there yet
    state.set_dataset_root(root)


def folder_ui() -> str:
    left, right = st.columns([4, 1], vertical_alignment="bottom")
    root = left.text_input("Dataset folder", value=state.dataset_root(), key="dataset_input",
                           help="A folder with one sub-folder per genre (like GTZAN's genres_original), "
                                "each holding audio clips (wav, flac, ogg, mp3, au, aiff).")
    right.button("Use the demo dataset", on_click=use_demo,
                 help="The bundled synthetic dataset (created on first use).")
    if Path(root).expanduser() == workspace.demo_dir() and not workspace.demo_ready():
        if not st.session_state.pop("_build_demo", False):  # built when asked, never before a user can type a folder
            st.info("No dataset yet: type your dataset's folder above, or **Use the demo dataset** (synthesised on "
                    "first use: about 15 s and 90 MB).", icon="📁")
            st.stop()
        ui.ensure_demo()
    return root.strip()


def exclude_ui(root: str) -> tuple[str, ...]:
    """Folders that are not genres (``unlabelled/``, ``misc/``), left out of everything; remembered per folder."""
    names = state.folders(root)
    if not names:  # a typo or a file: nothing to choose, and the real folder's choice is left as it was
        return ()
    # The widget shows the folder's choice (state.excluded); a key per folder, so another folder starts from its own.
    chosen = st.multiselect("Leave out folders", names, default=list(state.excluded(root)),
                            key=f"exclude:{Path(root).expanduser()}",
                            help="Folders that are not genres. Left out of features, training and evaluation, "
                                 "on every page; remembered for this folder.")
    state.set_excluded(root, chosen)
    return tuple(chosen)


def overview_ui(dataset) -> None:
    table = pd.DataFrame({"genre": dataset.genres, "label": range(len(dataset.genres)), "clips": dataset.available})
    left, right = st.columns([2, 3])
    left.dataframe(table, hide_index=True)
    right.bar_chart(table, x="genre", y="clips", height=260)
    st.caption(f"{ui.count(len(dataset.genres), 'genre')}, {ui.count(sum(dataset.available), 'clip')} in `{dataset.root}`. "
               "Labels are the genres' indices in sorted order.")
    small = dataset.small_genres()
    if small:
        st.warning("Few tracks: " + ", ".join(f"{g} ({n})" for g, n in small.items()) + f". A genre needs at least "
                   f"{MIN_TRACKS} tracks to be learnt and tested honestly; leave it out or add clips.", icon="⚠️")


def clip_ui(dataset) -> None:
    st.subheader("Look at a clip")
    c1, c2 = st.columns(2)
    genre = c1.selectbox("Genre", dataset.genres, key="clip_genre")
    files = dataset.files[dataset.genres.index(genre)]
    path = c2.selectbox("Clip", files, format_func=lambda p: p.name, key="clip_file")
    st.session_state["preview_clip"] = str(path)
    try:
        with st.spinner("Decoding..."):
            y = clip_audio(str(path), PREVIEW_SR)
    except GenreError as exc:
        st.error(str(exc))
        return
    st.audio(y, sample_rate=PREVIEW_SR)
    st.caption(f"{len(y) / PREVIEW_SR:.1f} s, shown resampled to {PREVIEW_SR} Hz mono.")
    wave, mel, mfcc = st.tabs(["Waveform", "Mel spectrogram", "MFCCs"])
    with wave:
        st.pyplot(plots.waveform_figure(y, sample_rate=PREVIEW_SR, title=path.name))
    with mel:
        with st.spinner("Computing the mel spectrogram..."):
            st.pyplot(plots.melspectrogram_figure(y, sample_rate=PREVIEW_SR, title=path.name))
    with mfcc:
        m = clip_mfccs(y, sample_rate=PREVIEW_SR)
        st.pyplot(plots.mfcc_figure(m, sample_rate=PREVIEW_SR, hop_length=512, title=f"{path.name}: 13 MFCCs"))


root = folder_ui()
dataset, error = ui.try_scan(root, exclude=exclude_ui(root))
if error:
    st.error(error)
    st.stop()
state.set_dataset_root(str(dataset.root))
ui.status_strip(strip)
overview_ui(dataset)
with st.spinner("Checking every file can be read..."):
    bad = unreadable(str(dataset.root), dataset, dataset.stamp())  # names, sizes, mtimes
if bad:
    st.warning(f"{len(bad)} file(s) cannot be read and will be skipped when extracting features:")
    st.dataframe(pd.DataFrame(bad, columns=["file", "reason"]), hide_index=True)
clip_ui(dataset)
