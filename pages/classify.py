"""Classify: pick a model, upload or record clips, see the genre and how each segment voted."""

import hashlib
from pathlib import Path

import pandas as pd
import streamlit as st

from genre import plots, workspace
from genre.bundle import list_bundles, load_bundle
from genre.model import describe as describe_network
from genre.errors import GenreError
from genre.demo import is_synthetic
from genre.predict import predict_file
from workbench import exports, runtime, state, ui

runtime.through_navigation()  # a page opened by URL on a fresh server runs through the entry script

UPLOAD_TYPES = ["wav", "flac", "ogg", "mp3", "au", "aiff", "aif"]
AUDIO_MIME = {".wav": "audio/wav", ".flac": "audio/flac", ".ogg": "audio/ogg", ".mp3": "audio/mpeg",
              ".au": "audio/basic", ".aiff": "audio/aiff", ".aif": "audio/aiff"}

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
    left, right = st.columns([5, 1], vertical_alignment="bottom")
    with right.popover("Import", icon="📦", help="Add a model bundle (.zip) from elsewhere", width="stretch"):
        exports.import_bundle_ui()  # before the models are listed, so an imported one is among them
    bundles = list_bundles(workspace.models_dir())
    if not bundles:
        left.info("No saved models yet: train one first, or import a model bundle (.zip).")
        st.page_link("pages/train.py", label="Train", icon="🧠")
        st.stop()
    paths = [str(b.path) for b in bundles]
    wanted = state.bundle_path()
    index = paths.index(wanted) if wanted in paths else 0  # a deleted model is never chosen
    labels = {str(b.path): f"{b.name} · {describe_network(b.model_config)} · "
                           f"track acc {b.metrics.get('track_accuracy', float('nan')):.0%} · "
                           f"{ui.count(len(b.genres), 'genre')} · {b.info.get('created', '')}" for b in bundles}
    path = left.selectbox("Model", paths, index=index, format_func=labels.get)
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


@st.cache_resource(show_spinner=False, max_entries=256)
def cached_prediction(path: str, identity: tuple, name: str, digest: str, _data: bytes):
    """One upload's prediction by one model (``digest`` of the bytes keys it): a widget change does
    not decode and classify every file again. A message instead when the file cannot be classified."""
    try:
        return predict_file(cached_bundle(path, identity), _data, name=name)
    except GenreError as exc:
        return str(exc)


def predict_all(bundle, clips) -> list:
    identity = bundle_identity(str(bundle.path))
    out = []
    with st.spinner(f"Classifying {len(clips)} clip(s)..."):
        for name, data in clips:
            digest = hashlib.sha256(data).hexdigest()
            out.append(cached_prediction(str(bundle.path), identity, name, digest, data))
    return out


def summary_ui(clips, results) -> None:
    rows = [r.row() if not isinstance(r, str) else {"file": name, "genre": "–", "weak": r}
            for (name, _), r in zip(clips, results)]
    table = pd.DataFrame(rows).rename(columns={"weak": "note"})
    st.dataframe(table, hide_index=True, column_config={
        "probability": st.column_config.ProgressColumn(format="percent", min_value=0, max_value=1),
        "runner-up probability": st.column_config.NumberColumn(format="percent"),
        "segment agreement": st.column_config.ProgressColumn(
            format="percent", min_value=0, max_value=1, help="Share of the clip's segments that voted its genre"),
    })
    st.download_button("Download as CSV", table.to_csv(index=False).encode(), file_name="predictions.csv",
                       mime="text/csv", icon="⬇️")


def card_ui(bundle, name: str, data: bytes, pred, *, expanded: bool) -> None:
    title = f"{name} — {pred.genre} ({pred.ranked[0][1]:.0%})" if not isinstance(pred, str) else f"{name} — error"
    with st.expander(title, expanded=expanded):
        if isinstance(pred, str):
            st.error(pred)
            return
        st.audio(data, format=AUDIO_MIME.get(Path(name).suffix.lower(), "audio/wav"))  # the bytes as uploaded
        c1, c2, c3 = st.columns(3)
        c1.metric("Predicted genre", pred.genre)
        c2.metric("Probability", f"{pred.ranked[0][1]:.0%}")
        c3.metric("Segments", f"{pred.n_segments} × {pred.segment_seconds:.2f} s")
        doubts = pred.doubts()
        if doubts:
            st.warning("A weak prediction: " + "; ".join(doubts) + ".", icon="🤔")
        left, right = st.columns(2)
        left.pyplot(plots.probabilities_figure(pred.probabilities, title="Per-genre probability (mean of segments)"))
        right.pyplot(plots.segment_votes_figure(pred.segment_probabilities, genres=bundle.genres,
                                                segment_seconds=pred.segment_seconds, title="How each segment voted"))


bundle = choose_model()
if bundle.info.get("synthetic") or is_synthetic(bundle.info.get("dataset")):
    st.warning(f"This model was trained on the synthetic demo dataset: it knows only made-up styles "
               f"({', '.join(bundle.genres)}) and cannot name real genres.", icon="🧪")
clips = clips_ui(bundle)
if not clips:
    st.caption("Upload one or more clips (wav, flac, ogg, mp3, au) or record one to classify it.")
    st.stop()
results = predict_all(bundle, clips)
summary_ui(clips, results)
for (name, data), pred in zip(clips, results):
    card_ui(bundle, name, data, pred, expanded=len(clips) == 1)
