"""AppTest: the Classify page (model choice, uploads, recordings, bad clips, vanished bundles)."""

from __future__ import annotations

import shutil

import pytest

from genre.data import musicnn
from tests.app_fixtures import add_bundle, by_label, open_page, texts, wav_bytes

GENRES = ["ambient", "chiptune", "rock"]


@pytest.fixture
def at(saved_bundle):
    """The Classify page with the tiny bundle saved, after its first run."""
    return open_page("classify").run()


def clip_uploader(at):
    """The uploader of clips to classify (the page also has one for importing a model bundle)."""
    return by_label(at.file_uploader, "Upload clips")


def predicted(at) -> list[str]:
    return [m.value for m in at.metric if m.label == "Predicted genre"]


def results(at) -> dict[str, tuple[str, str]]:
    """Clip name -> (its note: the error, or why it is weak; its genre) from the summary table."""
    table = at.dataframe[0].value
    return {f: (str(n) if n == n else "", g) for f, n, g in zip(table["file"], table["note"], table["genre"])}


def test_without_models_the_page_says_so(home):
    at = open_page("classify").run()
    assert not at.exception
    assert "No saved models yet" in at.info[0].value
    assert not [u for u in at.file_uploader if u.label == "Upload clips"]


def test_model_picker_uploader_and_recorder_exist(at, saved_bundle):
    assert not at.exception and not at.error
    assert by_label(at.selectbox, "Model").value == str(saved_bundle)
    assert at.session_state["bundle_path"] == str(saved_bundle)
    assert by_label(at.file_uploader, "Upload clips").accept_multiple_files
    assert by_label(at.audio_input, "Or record").sample_rate == 8000  # the model's rate
    assert not predicted(at)


def test_an_uploaded_clip_is_classified(at, tiny):
    data = (tiny.root / "rock" / "rock.00000.wav").read_bytes()
    clip_uploader(at).upload("song.wav", data, "audio/wav").run()
    assert not at.exception and not at.error
    assert len(predicted(at)) == 1 and predicted(at)[0] in GENRES
    assert {m.label: m.value for m in at.metric}["Segments"] == "2 × 2.00 s"
    assert len(at.image) == 2  # probabilities and segment votes
    # The tiny clips are 4 s: one 3 s patch for the pretrained network, its words beside the model's genre.
    assert "A network trained on a million songs hears:" in texts(at.markdown)
    table = at.dataframe[0].value
    heard = table["musicnn hears"].iloc[0]  # in the table, and so in its CSV: its top three tags
    assert len(heard.split(", ")) == 3 and all(tag.rsplit(" ", 1)[0] in musicnn.TAGS for tag in heard.split(", "))


def test_a_recording_is_classified(at):
    at.audio_input[0].upload("rec.wav", wav_bytes(5.0)).run()
    assert not at.exception and not at.error
    assert list(results(at)) == ["recording.wav"]
    assert len(predicted(at)) == 1


def test_bad_clips_are_errors_and_good_ones_still_classified(at, tiny):
    uploader = clip_uploader(at)
    uploader.upload("bad.wav", b"definitely not audio" * 50, "audio/wav")
    uploader.upload("short.wav", wav_bytes(0.5), "audio/wav")
    uploader.upload("good.wav", (tiny.root / "ambient" / "ambient.00001.wav").read_bytes(), "audio/wav")
    at.run()
    assert not at.exception
    assert "2 clips of 3 could not be classified" in texts(at.warning) and len(predicted(at)) == 1
    found = results(at)
    assert list(found) == ["bad.wav", "short.wav", "good.wav"]
    assert "bad.wav is not an audio file" in found["bad.wav"][0] and found["bad.wav"][1] == "–"
    assert "short.wav is 0.50 s long; this model needs at least 2.00 s" in found["short.wav"][0]
    assert found["good.wav"][1] in GENRES and predicted(at) == [found["good.wav"][1]]


def test_a_deleted_bundle_disappears_from_the_list(home, tiny_bundle):
    keep, gone = add_bundle(home, tiny_bundle, "keep"), add_bundle(home, tiny_bundle, "gone")
    at = open_page("classify", bundle_path=str(gone)).run()
    assert by_label(at.selectbox, "Model").value == str(gone)
    shutil.rmtree(gone)
    at.run()
    assert not at.exception and not at.error
    model = by_label(at.selectbox, "Model")
    assert len(model.options) == 1 and model.value == str(keep)
    assert at.session_state["bundle_path"] == str(keep)


def test_the_only_bundle_deleted_while_selected_says_there_are_no_models(at, saved_bundle):
    shutil.rmtree(saved_bundle)
    at.run()
    assert not at.exception
    assert "No saved models yet" in at.info[0].value


def test_a_bundle_without_its_model_file_is_an_error(home, tiny_bundle):
    path = add_bundle(home, tiny_bundle)
    (path / "model.keras").unlink()
    at = open_page("classify").run()
    assert not at.exception
    assert "Cannot use this model" in at.error[0].value and "model.keras is missing" in at.error[0].value
    assert not [u for u in at.file_uploader if u.label == "Upload clips"]


def test_many_clips_get_a_summary_table_first_and_a_csv(at, tiny):
    uploader = clip_uploader(at)
    names = []
    for genre in ("ambient", "chiptune", "rock"):
        for k in range(2):
            names.append(f"{genre}{k}.wav")
            uploader.upload(names[-1], (tiny.root / genre / f"{genre}.0000{k}.wav").read_bytes(), "audio/wav")
    uploader.upload("bad.wav", b"nope" * 100, "audio/wav")
    at.run()
    assert not at.exception
    table = at.dataframe[0].value
    assert list(table["file"]) == [*names, "bad.wav"]
    assert set(table.columns) >= {"file", "genre", "probability", "runner-up", "segment agreement", "note"}
    assert "is not an audio file" in table["note"].iloc[-1]
    assert [b.label for b in at.get("download_button")] == ["Download as CSV"]
    # One clip's detail at a time (86 players and 172 figures took 43 s to draw): the one chosen.
    assert len(at.get("audio")) == 1 and len(at.image) == 2
    assert by_label(at.selectbox, "Show a clip").value == 0
    by_label(at.selectbox, "Show a clip").set_value(3).run()
    assert not at.exception and len(at.get("audio")) == 1
    assert at.subheader[-1].value.startswith(f"{names[3]} — ")


def test_clear_all_empties_the_uploads(at, tiny):
    uploader = clip_uploader(at)
    for genre in ("ambient", "rock"):
        uploader.upload(f"{genre}.wav", (tiny.root / genre / f"{genre}.00000.wav").read_bytes(), "audio/wav")
    at.audio_input[0].upload("rec.wav", wav_bytes(3.0))
    at.run()
    assert list(at.dataframe[0].value["file"]) == ["ambient.wav", "rock.wav", "recording.wav"]
    [b for b in at.button if b.label == "Clear all"][0].click().run()
    assert not at.exception
    assert not at.dataframe and not clip_uploader(at).value and at.audio_input[0].value is None  # the recording too
    assert "Upload one or more clips" in texts(at.caption)


def test_a_long_upload_is_cut_as_the_models_tracks_were_and_the_page_says_so(at):
    clip_uploader(at).upload("song.wav", wav_bytes(60.0), "audio/wav").run()  # the model learned from 4 s
    assert not at.exception and not at.error
    assert {m.label: m.value for m in at.metric}["Segments"] == "2 × 2.00 s"
    assert "Used: 2 segments of 2.00 s from the first 4 s of the 60 s clip, as the model was trained" in texts(at.caption)
    assert "from the first 4 s" in at.dataframe[0].value["part used"].iloc[0]


def test_a_widget_change_does_not_classify_the_uploads_again(at, tiny, monkeypatch):
    from genre.jobs.predictor import Predictor

    calls = []
    real = Predictor.predict
    monkeypatch.setattr(Predictor, "predict", lambda self, *a, **k: (calls.append(k.get("name")), real(self, *a, **k))[1])
    clip_uploader(at).upload("song.wav", (tiny.root / "rock" / "rock.00000.wav").read_bytes(), "audio/wav").run()
    assert calls == ["song.wav"]
    at.run()
    at.run()
    assert not at.exception and calls == ["song.wav"]


def test_a_weak_prediction_says_why(at, monkeypatch):
    import numpy as np

    from genre.learn.predict import Prediction

    weak = Prediction(name="x", genre="rock", probabilities={"ambient": 0.3, "chiptune": 0.3, "rock": 0.4},
                      segment_probabilities=np.array([[0.2, 0.2, 0.6], [0.5, 0.3, 0.2], [0.2, 0.6, 0.2]]),
                      segment_seconds=2.0, duration=6.0)
    assert weak.doubts() == ["the top probability is only 40% (ambient is close behind at 30%)",
                             "only 33% of its 3 segments voted rock"]
    assert weak.row()["runner-up"] == "ambient" and weak.row()["segment agreement"] == 1 / 3


def test_a_model_of_the_synthetic_demo_says_it_cannot_name_real_genres(home, tiny_bundle):
    import json

    path = add_bundle(home, tiny_bundle)
    info = json.loads((path / "bundle.json").read_text())
    (path / "bundle.json").write_text(json.dumps({**info, "synthetic": True}))
    at = open_page("classify").run()
    assert "cannot name real genres" in texts(at.warning)


def test_a_bundle_replaced_at_the_same_path_is_loaded_afresh(home, tiny_bundle):
    import json

    path = add_bundle(home, tiny_bundle)
    at = open_page("classify").run()
    assert "Genres: ambient, chiptune, rock" in texts(at.caption)
    shutil.rmtree(path)
    add_bundle(home, tiny_bundle)
    info = json.loads((path / "bundle.json").read_text())
    (path / "bundle.json").write_text(json.dumps({**info, "genres": ["x", "y", "z"]}))
    at.run()
    assert not at.exception
    assert "Genres: x, y, z" in texts(at.caption)  # not the model cached for the folder that was deleted


def test_the_clip_shown_survives_uploads_that_change_under_it(at, tiny):
    uploader = clip_uploader(at)
    for genre in ("ambient", "chiptune", "rock"):
        uploader.upload(f"{genre}.wav", (tiny.root / genre / f"{genre}.00000.wav").read_bytes(), "audio/wav")
    at.run()
    by_label(at.selectbox, "Show a clip").set_value(2).run()
    [b for b in at.button if b.label == "Clear all"][0].click().run()
    uploader = clip_uploader(at)
    for genre in ("rock", "ambient"):  # two clips now: the third one shown before is gone
        uploader.upload(f"{genre}.wav", (tiny.root / genre / f"{genre}.00001.wav").read_bytes(), "audio/wav")
    at.run()
    assert not at.exception
    assert by_label(at.selectbox, "Show a clip").value in (0, 1) and len(at.get("audio")) == 1
