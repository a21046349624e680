"""The overfitting lab's controls on the Train page: the network and its knobs, regularisation,
standardisation, and data augmentation with the training rows before and after.

The widgets are drawn with :func:`workbench.settings.keep`, so every choice sticks; the values reach
the configs through :func:`workbench.settings.configs`.
"""

from __future__ import annotations

import json

import streamlit as st

from genre import plots
from genre.data.store import load_features
from genre.errors import GenreError
from genre.learn.augment import SUGGESTED, augmented_path, preview, training_copies
from genre.learn.model import MODEL_KINDS
from workbench import settings, state, ui

KNOBS = {  # a ModelConfig knob -> its widget (drawn for the kinds of genre.learn.model.MODEL_KINDS that read it)
    "hidden_units": lambda c: c.text_input("Hidden layers (units)", **settings.keep("layers"),
                                           help="Comma-separated units per Dense+ReLU layer, e.g. 512, 256, 64."),
    "filters": lambda c: c.select_slider("Filters per Conv2D block", settings.WIDTHS, **settings.keep("filters")),
    "lstm_units": lambda c: c.select_slider("Units per LSTM layer", settings.WIDTHS, **settings.keep("lstm_units")),
    "dense_units": lambda c: c.select_slider("Dense units", settings.WIDTHS, **settings.keep("dense_units")),
    "dropout": lambda c: c.slider("Dropout", *settings.span("dropout"), step=0.05, **settings.keep("dropout")),
}


def model_ui() -> str:
    """The kind of network and its own knobs, then the regularisation every kind shares; the kind."""
    keep = settings.keep
    kind = st.radio("Network", list(MODEL_KINDS), horizontal=True, **keep("kind"))
    st.caption(MODEL_KINDS[kind].about)
    knobs = MODEL_KINDS[kind].knobs
    for knob, column in zip(knobs, st.columns(len(knobs)) if knobs else ()):  # logistic regression has none
        KNOBS[knob](column)
    c1, c2, c3, c4 = st.columns(4, vertical_alignment="bottom")
    c1.select_slider("L1", settings.L1S, format_func=lambda v: f"{v:g}", **keep("l1"),
                     help="Pushes weights to exactly 0 (sparse): every hidden layer's kernel.")
    c2.select_slider("L2", settings.L2S, format_func=lambda v: f"{v:g}", **keep("l2"),
                     help="Pushes weights towards 0 (small): every hidden layer's kernel. The notebook's: 0.001.")
    c3.select_slider("Learning rate (Adam)", settings.LEARNING_RATES, format_func=lambda v: f"{v:g}", **keep("lr"))
    c4.checkbox("Standardise inputs", **keep("standardize"),
                help="Subtract each coefficient's mean and divide by its std, both from the training rows only; "
                     "the model keeps them, so prediction applies them too.")
    return kind


# The augmentation's widgets: setting key -> label (also what a message about them names).
AUG_LABELS = {"pitch": "Pitch shift (± semitones)", "stretch": "Time stretch (rate 1 ± …)", "noise": "Add noise",
              "time_mask": "Mask up to … frames", "coef_mask": "Mask up to … coefficients"}


def _start_augmenting() -> None:
    """Copies turned on with no transform chosen: start from the suggested one (a callback, before the widgets)."""
    if st.session_state.get("aug_copies") and not any(st.session_state.get(k) for k in AUG_LABELS):
        st.session_state.update(pitch=SUGGESTED["pitch_shift"], stretch=SUGGESTED["time_stretch"], noise=True,
                                snr=int(SUGGESTED["noise_snr"]), time_mask=SUGGESTED["time_mask"],
                                coef_mask=SUGGESTED["coef_mask"])


def augmentation_ui() -> str | None:
    """K altered copies of each training track: the audio transforms and SpecAugment's masks.

    Returns what is wrong with them in the words on screen (copies with no transform), else None.
    """
    keep = settings.keep
    with st.expander("Data augmentation (training tracks only)", icon="🎚️",
                     # Open when a session starts with augmentation on; then left to the user (an
                     # `expanded` that changed with the copies would snap it shut as they reach 0).
                     expanded=st.session_state.setdefault("_aug_open", bool(st.session_state.get("aug_copies")))):
        copies = st.slider("Copies per training track", *settings.span("aug_copies"), on_change=_start_augmenting, **keep("aug_copies"),
                           help="0: off. Each copy gets the transforms below, drawn at random per copy; turned on, "
                                "it starts from pitch ±2, stretch ±0.1, noise at 30 dB and small masks.")
        off = copies == 0
        c1, c2, c3 = st.columns(3, vertical_alignment="bottom")
        c1.slider(AUG_LABELS["pitch"], *settings.span("pitch"), step=0.5, disabled=off, **keep("pitch"))
        c2.slider(AUG_LABELS["stretch"], *settings.span("stretch"), step=0.05, disabled=off, **keep("stretch"))
        noise = c3.checkbox(AUG_LABELS["noise"], disabled=off, **keep("noise"))
        c4, c5, c6 = st.columns(3)
        c4.slider("Noise SNR (dB)", *settings.span("snr"), disabled=off or not noise, **keep("snr"),
                  help="How far below the music the white noise sits: lower is noisier.")
        c5.slider(AUG_LABELS["time_mask"], *settings.span("time_mask"), disabled=off, **keep("time_mask"),
                  help="SpecAugment: one band of frames of every copy's rows takes the row's mean.")
        c6.slider(AUG_LABELS["coef_mask"], *settings.span("coef_mask"), disabled=off, **keep("coef_mask"),
                  help="SpecAugment: one band of MFCC coefficients likewise.")
        st.caption("Copies are made once per setting for every track and cached next to the features; a run uses "
                   "only the copies of its training rows — never of a test or validation track.")
    if copies and not any(st.session_state.get(k) for k in AUG_LABELS):
        return (f"{ui.count(copies, 'copy')} per training track but no transform to alter them: choose at least one "
                f"of {', '.join(AUG_LABELS.values())} (unaltered copies would only repeat the training rows).")
    return None


def rows_note(fs, split, tc) -> None:
    """The training rows before and after augmentation (exact once the copies are cached)."""
    before = len(split.train)
    if tc.augmentation() is None:
        st.caption(f"Training on {before:,} rows; {len(split.test):,} test rows"
                   + (f", {len(split.val):,} validation rows." if split.val is not None else "."))
        return
    path = augmented_path(state.features_path(), fs, tc.augmentation())
    aug = cached_augmentation(str(path), path.stat().st_mtime_ns) if path.is_file() else None
    if aug is not None:
        added, how = len(training_copies(aug, fs, split.train)), ""
    else:
        added, how = before * tc.augment_copies, "about "
    st.info(f"Training rows: **{before:,}** → {how}**{before + added:,}** with augmentation "
            f"({ui.count(tc.augment_copies, 'copy')} of each training track's rows"
            f"{'; a faster copy may lose its last segment' if tc.time_stretch else ''}). Test rows: {len(split.test):,}, never augmented"
            + (f"; validation rows: {len(split.val):,}, never augmented." if split.val is not None else ".")
            + ("" if aug is not None else " The copies are made when the run starts (then cached)."), icon="🎚️")
    if st.toggle("Preview a copy", key="aug_preview"):
        preview_ui(fs, split, tc)


@st.cache_data(max_entries=2, ttl=600, show_spinner=False)  # whole augmented stores: large
def cached_augmentation(path: str, mtime_ns: int):
    """The cached copies in ``path`` (never computes them: the run does); None when unreadable."""
    try:
        return load_features(path)
    except GenreError:
        return None


@st.cache_data(max_entries=8, ttl=3600, show_spinner=False)
def cached_preview(features_key: str, track: int, settings_json: str, _fs):
    """:func:`genre.learn.augment.preview`, once per features, track and setting (not on every rerun of the page)."""
    return preview(_fs, track, json.loads(settings_json))


def preview_ui(fs, split, tc) -> None:
    """One training track's first segment beside the same segment of one augmented copy."""
    track = int(fs.track[split.train[0]])
    with st.spinner("Making one copy of one track..."):
        try:
            original, copy = cached_preview(fs.key, track, json.dumps(tc.augmentation(), sort_keys=True), fs)
        except GenreError as exc:
            st.error(str(exc))
            return
    hop, sr = fs.params.hop_length, fs.params.sample_rate
    left, right = st.columns(2)
    left.pyplot(plots.mfcc_figure(original, sample_rate=sr, hop_length=hop, title=f"{fs.files[track]}: original"))
    right.pyplot(plots.mfcc_figure(copy, sample_rate=sr, hop_length=hop, title="an augmented copy"))
