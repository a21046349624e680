"""Classify: pick a model, upload or record clips, see the genre and how each segment voted."""

import contextlib
import hashlib
import time
from pathlib import Path

import pandas as pd
import streamlit as st

from genre import plots
from genre.data import workspace
from genre.data.demo import is_synthetic
from genre.errors import GenreError
from genre.learn.bundle import check_complete, list_bundles, load_bundle
from genre.learn.model import describe as describe_network
from workbench import exports, runtime, state, ui

runtime.through_navigation()  # a page opened by URL on a fresh server runs through the entry script

UPLOAD_TYPES = ["wav", "flac", "ogg", "mp3", "au", "aiff", "aif"]
AUDIO_MIME = {".wav": "audio/wav", ".flac": "audio/flac", ".ogg": "audio/ogg", ".mp3": "audio/mpeg",
              ".au": "audio/basic", ".aiff": "audio/aiff", ".aif": "audio/aiff"}

st.title("🎧 Classify")
strip = ui.status_strip()


@st.cache_resource(show_spinner=False, max_entries=16, ttl=3600)
def cached_bundle(path: str, identity: tuple):
    """A bundle's description (genres, parameters, metrics; not its Keras model: the predictor's worker loads
    that), shared by every tab. ``identity`` (the bundle file's inode, size and modification time) is part of
    the key, so a bundle re-created at the same path is read afresh."""
    check_complete(path)
    return load_bundle(path, load_model=False)


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
    labels = {str(b.path): f"{b.label} · {describe_network(b.model_config)} · {b.info.get('backend', 'tensorflow')} · "
                           f"track acc {ui.percent(b.metrics.get('track_accuracy'))} · "
                           f"{ui.count(len(b.genres), 'genre')} · {b.info.get('created', '')}" for b in bundles}
    path = left.selectbox("Model", paths, index=index, format_func=labels.get)
    state.set_bundle_path(path)
    ui.status_strip(strip)
    try:
        bundle = cached_bundle(path, bundle_identity(path))
    except (GenreError, OSError) as exc:  # OSError: deleted meanwhile
        st.error(f"Cannot use this model: {exc}")
        st.stop()
    p = bundle.params
    st.caption(f"Genres: {', '.join(bundle.genres)}. Clips are resampled to {p.sample_rate} Hz and cut into "
               f"{p.segment_samples / p.sample_rate:.2f} s segments ("
               + (f"{p.n_mfcc} MFCCs, n_fft {p.n_fft}, hop {p.hop_length}" if p.kind.grid else
                  f"musicnn's {p.layer} embeddings") + "); the clip's genre is the segments' mean-probability vote.")
    return bundle


CLEARED = "uploads_cleared"  # how many times "Clear all" was pressed: part of the uploader's key


def clear_all() -> None:
    """Empty the uploader and the recorder (new widget keys: Streamlit's way to reset a file uploader), and let go of
    what they held."""
    cleared = st.session_state.get(CLEARED, 0)
    runtime.forget_uploads(st.session_state.get(f"clips-{cleared}"), st.session_state.get(f"recording-{cleared}"))
    st.session_state[CLEARED] = cleared + 1


def clips_ui(bundle) -> list[tuple[str, bytes]]:
    cleared = st.session_state.get(CLEARED, 0)
    left, right = st.columns([3, 2])
    uploads = left.file_uploader("Upload clips", type=UPLOAD_TYPES, accept_multiple_files=True, key=f"clips-{cleared}",
                                 help="Any length: each clip is cut as the model's tracks were.")
    recording = right.audio_input("Or record", sample_rate=bundle.params.sample_rate, key=f"recording-{cleared}",
                                  help="Recorded at the model's sample rate.")
    clips = [(u.name, u.getvalue()) for u in uploads or []]
    if recording is not None:
        clips.append(("recording.wav", recording.getvalue()))
    return clips


@st.cache_resource(show_spinner=False, max_entries=256, ttl=3600)
def cached_prediction(path: str, identity: tuple, name: str, digest: str, _data: bytes):
    """One upload's prediction by one model (``digest`` of the bytes keys it): a widget change does
    not decode and classify every file again. A message instead when the file cannot be classified.
    The work is done by the predictor's worker process (the first time it starts, a few seconds)."""
    try:
        return state.predictor().predict(path, _data, name=name)
    except GenreError as exc:
        return str(exc)


@st.cache_resource(show_spinner=False, max_entries=64, ttl=3600)
def cached_hearing(name: str, digest: str, _data: bytes):
    """What the pretrained network hears in one upload (its bytes' ``digest`` keys it), or why it cannot say."""
    try:
        return state.predictor().hear(_data, name=name)
    except GenreError as exc:
        return str(exc)


def hears_ui(name: str, data: bytes) -> None:
    """musicnn's own tags for the clip: what a network trained on a million songs hears, beside our model's genre."""
    with st.spinner("Listening with the pretrained network (the first time it loads: a few seconds)..."):
        heard = cached_hearing(name, hashlib.sha256(data).hexdigest(), data)
    if isinstance(heard, str):
        st.caption(f"The pretrained network could not listen: {heard}")
        return
    st.markdown("**A network trained on a million songs hears:** "
                + ", ".join(f"{tag} {p:.2f}" for tag, p in heard["top"]))
    if len(heard["over_time"]) > 1:
        st.caption("Over time (the top tag of each 3 s): " + " · ".join(
            f"{int(t) // 60}:{int(t) % 60:02d} {tag}" for t, tag, _ in heard["over_time"][:40])
            + (" ..." if len(heard["over_time"]) > 40 else ""))
    st.caption("musicnn (Pons & Serra, 2019), trained on the Million Song Dataset's 50 most common tags: its "
               "words, not this model's genres.")


def rows(clips, results, heard=()) -> pd.DataFrame:
    """The summary table: one row per clip, its error in the note of a clip that could not be classified, and what
    the pretrained network hears in it (``heard``, when known)."""
    table = pd.DataFrame([r.row() if not isinstance(r, str) else {"file": name, "genre": "–", "weak": r}
                          for (name, _), r in zip(clips, results)]).rename(columns={"weak": "note"})
    if len(heard) == len(clips):
        table["musicnn hears"] = [", ".join(f"{t} {p:.2f}" for t, p in h["top"][:3]) if isinstance(h, dict) else ""
                                  for h in heard]  # a clip it could not hear (shorter than 3 s): nothing
    return table


def table_ui(slot, table: pd.DataFrame) -> None:
    slot.dataframe(table, hide_index=True, column_config={
        "probability": st.column_config.ProgressColumn(format="percent", min_value=0, max_value=1),
        "runner-up probability": st.column_config.NumberColumn(format="percent"),
        "segment agreement": st.column_config.ProgressColumn(
            format="percent", min_value=0, max_value=1, help="Share of the clip's segments that voted its genre"),
    })


def predict_all(bundle, clips) -> tuple:
    """Every clip's prediction (or message); the table is drawn as they arrive, with a progress bar. Also the table's
    slot and the slot of its CSV button, for :func:`hear_all`."""
    identity = bundle_identity(str(bundle.path))
    slot = st.empty()
    bar = st.progress(0.0, text=f"Classifying {ui.count(len(clips), 'clip')}...") if len(clips) > 1 else None
    out, drawn = [], 0.0
    for i, (name, data) in enumerate(clips):
        with (st.spinner(f"Classifying {name} (the model's process starts the first time: a few seconds)...")
              if bar is None else contextlib.nullcontext()):
            out.append(cached_prediction(str(bundle.path), identity, name, hashlib.sha256(data).hexdigest(), data))
        if bar is not None:
            bar.progress((i + 1) / len(clips), text=f"Classified {i + 1} of {len(clips)}: {name}")
            if time.monotonic() - drawn > 0.5:  # the rows so far, at most twice a second
                table_ui(slot, rows(clips[:i + 1], out))
                drawn = time.monotonic()
    if bar is not None:
        bar.empty()
    table_ui(slot, rows(clips, out))
    left, right, _ = st.columns([1, 1, 3])
    right.button("Clear all", icon="🧹", on_click=clear_all, help="Remove every upload and the recording.")
    failed = [(name, r) for (name, _), r in zip(clips, out) if isinstance(r, str)]
    if failed:
        st.warning(f"{ui.count(len(failed), 'clip')} of {len(clips)} could not be classified: "
                   + "; ".join(reason for _, reason in failed[:5]) + (" ..." if len(failed) > 5 else ""), icon="⚠️")
    return out, slot, left.empty()


def hear_all(clips, results, slot, csv_slot) -> None:
    """What the pretrained network hears in every clip, added to the table and its CSV: after the genres and the
    shown clip's detail are on screen, so that the model's answer never waits for it."""
    heard = []
    with st.spinner("Listening with the pretrained network (the first time it loads: a few seconds)..."):
        for name, data in clips:
            heard.append(cached_hearing(name, hashlib.sha256(data).hexdigest(), data))
    table_ui(slot, table := rows(clips, results, heard))
    csv_slot.download_button("Download as CSV", table.to_csv(index=False).encode(), file_name="predictions.csv",
                             mime="text/csv", icon="⬇️")


def detail_ui(bundle, name: str, data: bytes, pred) -> None:
    """One clip: the player, its genre, and how each segment voted (drawn only for the clip on screen)."""
    st.subheader(f"{name} — {pred.genre} ({pred.ranked[0][1]:.0%})")
    st.audio(data, format=AUDIO_MIME.get(Path(name).suffix.lower(), "audio/wav"))  # the bytes as uploaded
    c1, c2, c3 = st.columns(3)
    c1.metric("Predicted genre", pred.genre)
    c2.metric("Probability", f"{pred.ranked[0][1]:.0%}")
    c3.metric("Segments", f"{pred.n_segments} × {pred.segment_seconds:.2f} s")
    st.caption(f"Used: {pred.used}.")
    doubts = pred.doubts()
    if doubts:
        st.warning("A weak prediction: " + "; ".join(doubts) + ".", icon="🤔")
    hears_ui(name, data)
    left, right = st.columns(2)
    left.pyplot(plots.probabilities_figure(pred.probabilities, title="Per-genre probability (mean of segments)"))
    right.pyplot(plots.segment_votes_figure(pred.segment_probabilities, genres=bundle.genres,
                                            segment_seconds=pred.segment_seconds, title="How each segment voted"))


def pick_ui(clips, results) -> int | None:
    """The clip whose detail to draw: the only one, else the one chosen (a card each would draw them all)."""
    good = [i for i, r in enumerate(results) if not isinstance(r, str)]
    if len(good) <= 1:
        return good[0] if good else None
    return st.selectbox("Show a clip", good, format_func=lambda i: f"{clips[i][0]} — {results[i].genre}",
                        key="shown_clip", help="Its player, its probabilities and how each segment voted.")


bundle = choose_model()
if bundle.info.get("synthetic") or is_synthetic(bundle.info.get("dataset")):
    st.warning(f"This model was trained on the synthetic demo dataset: it knows only made-up styles "
               f"({', '.join(bundle.genres)}) and cannot name real genres.", icon="🧪")
clips = clips_ui(bundle)
if not clips:
    st.caption("Upload one or more clips (wav, flac, ogg, mp3, au) or record one to classify it.")
    st.stop()
results, table_slot, csv_slot = predict_all(bundle, clips)
shown = pick_ui(clips, results)
if shown is not None:
    detail_ui(bundle, *clips[shown], results[shown])
hear_all(clips, results, table_slot, csv_slot)
# The page's globals and its functions (clear_all, the callback above) form a cycle that only Python's cyclic
# collector frees, whenever it next runs: without this, the clips' bytes of the last run (a 5-minute song: 53 MB)
# outlived it in the server, after Clear all too. What is on screen keeps its own copies.
del clips
