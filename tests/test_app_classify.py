"""AppTest: the Classify page (model choice, uploads, recordings, bad clips, vanished bundles)."""

from __future__ import annotations

import shutil

import pytest

from tests.app_fixtures import (  # noqa: F401
    add_bundle, by_label, home, open_page, saved_bundle, texts, tiny, tiny_bundle, wav_bytes,
)

GENRES = ["ambient", "chiptune", "rock"]


@pytest.fixture
def at(saved_bundle):
    """The Classify page with the tiny bundle saved, after its first run."""
    return open_page("classify").run()


def predicted(at) -> list[str]:
    return [m.value for m in at.metric if m.label == "Predicted genre"]


def results(at) -> dict[str, tuple[list[str], list[str]]]:
    """Clip name -> (its errors, its predicted genre) from each clip's bordered container."""
    out = {}
    for box in at.container:
        names = [m.value.strip("*") for m in box.markdown if m.value.startswith("**")]
        if len(names) == 1:
            out[names[0]] = ([e.value for e in box.error], predicted(box))
    return out


def test_without_models_the_page_says_so(home):
    at = open_page("classify").run()
    assert not at.exception
    assert "No saved models yet" in at.info[0].value
    assert not at.file_uploader


def test_model_picker_uploader_and_recorder_exist(at, saved_bundle):
    assert not at.exception and not at.error
    assert by_label(at.selectbox, "Model").value == str(saved_bundle)
    assert at.session_state["bundle_path"] == str(saved_bundle)
    assert by_label(at.file_uploader, "Upload clips").accept_multiple_files
    assert by_label(at.audio_input, "Or record").sample_rate == 8000  # the model's rate
    assert not predicted(at)


def test_an_uploaded_clip_is_classified(at, tiny):
    data = (tiny.root / "rock" / "rock.00000.wav").read_bytes()
    at.file_uploader[0].upload("song.wav", data, "audio/wav").run()
    assert not at.exception and not at.error
    assert len(predicted(at)) == 1 and predicted(at)[0] in GENRES
    assert {m.label: m.value for m in at.metric}["Segments"] == "2 × 2.00 s"
    assert len(at.image) == 2  # probabilities and segment votes


def test_a_recording_is_classified(at):
    at.audio_input[0].upload("rec.wav", wav_bytes(5.0)).run()
    assert not at.exception and not at.error
    assert "**recording.wav**" in texts(at.markdown)
    assert len(predicted(at)) == 1


def test_bad_clips_are_errors_and_good_ones_still_classified(at, tiny):
    uploader = at.file_uploader[0]
    uploader.upload("bad.wav", b"definitely not audio" * 50, "audio/wav")
    uploader.upload("short.wav", wav_bytes(0.5), "audio/wav")
    uploader.upload("good.wav", (tiny.root / "ambient" / "ambient.00001.wav").read_bytes(), "audio/wav")
    at.run()
    assert not at.exception
    assert len(at.error) == 2 and len(predicted(at)) == 1
    found = results(at)
    assert list(found) == ["bad.wav", "short.wav", "good.wav"]
    assert "cannot decode" in found["bad.wav"][0][0] and not found["bad.wav"][1]
    assert "short.wav is 0.50 s long; this model needs at least 2.00 s" in found["short.wav"][0][0]
    assert not found["good.wav"][0] and found["good.wav"][1][0] in GENRES


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
    assert not at.file_uploader
