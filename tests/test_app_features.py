"""AppTest: the Features page (parameters, their checks, preview, cached extraction)."""

from __future__ import annotations

import pytest

from tests.app_fixtures import button, open_page, texts

DEFAULTS = {"n_mfcc": 13, "n_fft": 2048, "hop": 512, "segments": 5, "sr": 22050, "duration": 30,
            "files": -1}
WIDGET_KIND = {"n_mfcc": "slider", "n_fft": "select_slider", "hop": "select_slider", "segments": "slider",
               "sr": "selectbox", "duration": "slider", "files": "number_input"}


def widget(at, key):
    return getattr(at, WIDGET_KIND[key])(key=key)


def set_params(at, **values):
    for key, value in values.items():
        widget(at, key).set_value(value)
    return at.run()


@pytest.fixture
def at(home, tiny):
    """The Features page on the tiny dataset, after its first run."""
    return open_page("features", dataset_root=str(tiny.root)).run()


def test_without_a_dataset_the_page_points_to_the_dataset_page(home, tmp_path):
    at = open_page("features", dataset_root=str(tmp_path / "missing")).run()
    assert not at.exception
    assert "choose a dataset on the Dataset page" in at.error[0].value
    assert not at.slider


def test_widgets_start_at_the_notebooks_defaults(at):
    assert not at.exception
    assert {key: widget(at, key).value for key in DEFAULTS} == DEFAULTS
    assert "Input shape (frames × coefficients)" in [m.label for m in at.metric]
    assert at.info  # "No features yet"


def test_hop_length_is_never_offered_above_n_fft(at):
    set_params(at, hop=1024)
    set_params(at, n_fft=512)  # hop 1024 no longer fits: it comes down to the largest that does
    assert not at.exception and not at.error
    assert widget(at, "hop").value == 512 and widget(at, "hop").options[-1] == "512"


def test_parameters_that_drop_every_segment_are_explained(at):
    # 8000 Hz x 4 s in one segment = 32000 samples = 125 hops of 256 exactly: librosa gives 126 frames.
    set_params(at, sr=8000, duration=4, segments=1, hop=256)
    assert not at.exception
    assert "is a multiple of hop_length 256" in texts(at.error)
    assert not [b for b in at.button if b.label == "Extract features"]


def test_reset_restores_the_defaults(at):
    set_params(at, n_mfcc=20, n_fft=512, hop=256, segments=2, sr=8000, duration=4, files=2)
    assert widget(at, "sr").value == 8000
    button(at, "Reset to the notebook's defaults").click().run()
    assert not at.exception
    assert {key: widget(at, key).value for key in DEFAULTS} == DEFAULTS


def test_short_clips_get_a_warning_in_the_preview(at):
    # The tiny clips are 4 s: at the default 30 s / 5 segments a segment is 6 s.
    assert "shorter than one segment" in texts(at.warning)


def test_extract_sets_the_features_and_a_second_extract_is_a_cache_hit(at, tiny):
    set_params(at, sr=8000, duration=4, segments=2, n_fft=512, hop=256)
    assert not at.error and not at.exception
    assert len(at.image) == 2  # the preview: its MFCCs, and what musicnn hears (its log-mel)
    button(at, "Extract features").click().run()
    assert not at.exception
    assert at.success[0].value.startswith("Extracted 24 rows from 12 files")
    fs = at.session_state["features"]
    assert len(fs) == 24 and fs.params == tiny.params
    assert {m.label: m.value for m in at.metric}["Rows (segments)"] == "24"
    button(at, "Extract features").click().run()
    assert at.success[0].value.startswith("Cache hit")
    assert at.session_state["features"].key == fs.key


def test_the_features_just_extracted_are_shared_as_made_not_read_back(at, monkeypatch):
    from genre.data import store

    read, real = [], store.load_features
    monkeypatch.setattr(store, "load_features", lambda path: read.append(str(path)) or real(path))
    set_params(at, sr=8000, duration=4, segments=2, n_fft=512, hop=256)
    button(at, "Extract features").click().run()
    assert at.success[0].value.startswith("Extracted 24 rows") and not at.exception
    assert read == []  # a GTZAN-sized store takes 0.4 s to read again


def test_a_dataset_whose_every_file_is_unreadable_gives_an_error(home, tmp_path):
    for genre in ("blues", "rock"):
        (tmp_path / "data" / genre).mkdir(parents=True)
        (tmp_path / "data" / genre / "x.wav").write_bytes(b"garbage" * 100)
    at = open_page("features", dataset_root=str(tmp_path / "data")).run()
    assert not at.exception
    assert "is not an audio file" in texts(at.error)  # the preview of the first clip
    set_params(at, sr=8000, duration=4, segments=2, n_fft=512, hop=256)
    button(at, "Extract features").click().run()
    assert not at.exception
    assert "no MFCC rows were extracted" in texts(at.error)
    assert "features" not in at.session_state


def test_with_the_whole_track_the_labels_say_that_duration_and_count_set_the_segment_length(at):
    assert widget(at, "segments").label == "Segments per track" and widget(at, "duration").label == "Duration used (s)"
    at.radio(key="excerpt").set_value("whole").run()
    assert not at.exception
    assert widget(at, "segments").label == "Divide the duration into … (segment length)"
    assert widget(at, "duration").label == "Duration (s), for the segment length only"
    assert "Whole track: segments of 6.00 s (30 s ÷ 5), as many as fit in each track, at most 30" in texts(at.caption)


def test_a_rerun_with_the_same_clip_and_settings_does_not_draw_the_preview_again(at, monkeypatch):
    """The preview's two figures took ~0.6 s of every rerun of the page (each widget change, the click on Extract)."""
    from genre import plots

    drawn, real = [], plots.mfcc_figure
    monkeypatch.setattr(plots, "mfcc_figure", lambda *a, **k: drawn.append(1) or real(*a, **k))
    set_params(at, sr=8000, duration=4, segments=2, n_fft=512, hop=256, n_mfcc=17)
    first = len(drawn)
    assert first == 1 and len(at.image) == 2 and not at.exception  # settings no other test uses: drawn once
    at.run()
    assert len(drawn) == first and len(at.image) == 2 and not at.exception
    set_params(at, n_mfcc=18)  # other settings: drawn anew
    assert len(drawn) == first + 1 and len(at.image) == 2
