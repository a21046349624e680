"""Home: what the workbench does, where things stand, and a one-click demo set-up."""

import streamlit as st

from genre.data import workspace
from workbench import runtime, state, ui

runtime.through_navigation()  # a page opened by URL on a fresh server runs through the entry script

st.title("🎵 genre workbench")
strip = ui.status_strip()

st.markdown(
    """
Music-genre classification the classic way — **MFCCs per segment → a neural network** — with
every step live, so you can *see* what each choice does:

1. **Dataset** — a folder laid out like GTZAN (one sub-folder per genre). Listen to clips; look at the
   waveform, mel spectrogram and MFCCs.
2. **Features** — set `n_mfcc`, `n_fft`, `hop_length`, segments per track…; extract MFCCs (cached),
   or what **musicnn**, a network pretrained on a million songs, makes of each segment (transfer
   learning); see how separable the genres are on a map of the tracks (PCA, t-SNE), and click a track
   to hear it.
3. **Train** — the notebook's network (Flatten → 512/256/64 ReLU, L2, dropout → softmax), a CNN, an
   LSTM or plain logistic regression, with every remedy for overfitting (L1, L2, dropout, early stopping, standardised inputs,
   data augmentation); live curves, a Stop button and honest numbers: the test split is **by track**,
   segment accuracy is shown beside track (vote) accuracy, and the tracks it gets wrong can be heard.
4. **Classify** — upload clips or record one; see each segment's vote; import someone's model.
5. **Runs** — compare what each choice did; export a model or a one-page report.
6. **Experiments** — repeat a setting over seeds (or folds) and compare settings by mean ± std.
"""
)

st.subheader("Start here")
left, right = st.columns([2, 3])
with left:
    if st.button("Set up the demo dataset", type="primary", icon="✨",
                 help="Synthesises 6 made-up 'genres' × 12 clips of 30 s (takes a few seconds, once)."):
        path = ui.ensure_demo()
        state.set_dataset_root(str(path))
        ui.status_strip(strip)
        st.success(f"Demo dataset ready and selected: `{path}`. Next: **Features → Extract**.")
    st.page_link("pages/features.py", label="Go to Features", icon="🎛️")
with right:
    st.info(
        "The demo clips are **synthetic** (generated tones, chords and drum patterns in six made-up styles), "
        "not real music and not GTZAN. They exist so everything works on a fresh machine. "
        "Point the Dataset page at GTZAN's `genres_original` folder for the real thing.",
        icon="ℹ️",
    )
    if workspace.demo_ready():
        st.caption(f"Demo dataset: `{workspace.demo_dir()}`")
