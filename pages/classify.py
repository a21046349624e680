"""Classify: pick a model, upload or record clips, see the genre and how each segment voted."""

from pathlib import Path

import streamlit as st

from genre import plots, workspace
from genre.audio import load_audio
from genre.bundle import list_bundles, load_bundle
from genre.errors import GenreError
from genre.predict import predict_signal
from workbench import state, ui

UPLOAD_TYPES = ["wav", "flac", "ogg", "mp3", "au"]

st.title("🎧 Classify")
strip = ui.status_strip()


@st.cache_resource(show_spinner=False, max_entries=4)
def cached_bundle(path: str, identity: tuple):
    """A loaded bundle (Keras model included), shared by every tab.

    ``identity`` (the bundle file's inode, size and modification time) is part of the cache key, so
    a bundle replaced or re-created at the same path is loaded afresh, never served from the cache.
    """
    return load_bundle(path)


def bundle_identity(path: str) -> tuple:
    s = (Path(path) / "bundle.json").stat()
    return (s.st_ino, s.st_size, s.st_mtime_ns)


def choose_model():
    bundles = list_bundles(workspace.models_dir())
    if not bundles:
        st.info("No saved models yet: train one first.")
        st.page_link("pages/train.py", label="Train", icon="🧠")
        st.stop()
    paths = [str(b.path) for b in bundles]
    wanted = state.bundle_path()
    index = paths.index(wanted) if wanted in paths else 0  # a deleted model is never chosen
    labels = {str(b.path): f"{b.name} · track acc {b.metrics.get('track_accuracy', float('nan')):.0%} · "
                           f"{len(b.genres)} genres · {b.info.get('created', '')}" for b in bundles}
    path = st.selectbox("Model", paths, index=index, format_func=labels.get)
    state.set_bundle_path(path)
    ui.status_strip(strip)
    try:
        with st.spinner("Loading the model (TensorFlow starts the first time)..."):
            bundle = cached_bundle(path, bundle_identity(path))
    except (GenreError, OSError) as exc:  # OSError: deleted meanwhile
        st.error(f"Cannot use this model: {exc}")
        st.stop()
    p = bundle.params
    st.caption(f"Genres: {', '.join(bundle.genres)}. Clips are resampled to {p.sample_rate} Hz and cut into "
               f"{p.segment_samples / p.sample_rate:.2f} s segments ({p.n_mfcc} MFCCs, n_fft {p.n_fft}, "
               f"hop {p.hop_length}); the clip's genre is the segments' mean-probability vote.")
    return bundle


def clips_ui(bundle) -> list[tuple[str, bytes]]:
    left, right = st.columns([3, 2])
    uploads = left.file_uploader("Upload clips", type=UPLOAD_TYPES, accept_multiple_files=True,
                                 help="Any length; at least one segment long.")
    recording = right.audio_input("Or record", sample_rate=bundle.params.sample_rate,
                                  help="Recorded at the model's sample rate.")
    clips = [(u.name, u.getvalue()) for u in uploads or []]
    if recording is not None:
        clips.append(("recording.wav", recording.getvalue()))
    return clips


def result_ui(bundle, name: str, data: bytes) -> None:
    with st.container(border=True):
        st.markdown(f"**{name}**")
        try:
            y = load_audio(data, sample_rate=bundle.params.sample_rate)
            pred = predict_signal(bundle, y, name=name)
        except GenreError as exc:
            st.error(str(exc))
            return
        st.audio(y, sample_rate=bundle.params.sample_rate)
        top = max(pred.probabilities, key=pred.probabilities.get)
        c1, c2, c3 = st.columns(3)
        c1.metric("Predicted genre", pred.genre)
        c2.metric("Probability", f"{pred.probabilities[top]:.0%}")
        c3.metric("Segments", f"{pred.n_segments} × {pred.segment_seconds:.2f} s")
        left, right = st.columns(2)
        left.pyplot(plots.probabilities_figure(pred.probabilities, title="Per-genre probability (mean of segments)"))
        right.pyplot(plots.segment_votes_figure(pred.segment_probabilities, genres=bundle.genres,
                                                segment_seconds=pred.segment_seconds, title="How each segment voted"))


bundle = choose_model()
clips = clips_ui(bundle)
if not clips:
    st.caption("Upload one or more clips (wav, flac, ogg, mp3, au) or record one to classify it.")
for name, data in clips:
    result_ui(bundle, name, data)
