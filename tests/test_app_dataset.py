"""AppTest: the Dataset page (folder checks, overview, unreadable files, clip preview)."""

from __future__ import annotations

from pathlib import Path

import pytest

from genre.data import workspace
from tests.app_fixtures import button, by_label, open_page, texts


def bad_folder(kind: str, tmp_path: Path) -> Path:
    if kind == "missing":
        return tmp_path / "no-such-folder"
    if kind == "file":
        path = tmp_path / "clip.wav"
        path.write_bytes(b"not a folder")
        return path
    if kind == "empty":
        (tmp_path / "empty").mkdir()
        return tmp_path / "empty"
    (tmp_path / "data" / "rock").mkdir(parents=True)  # "genre without audio": only a text file inside
    (tmp_path / "data" / "rock" / "notes.txt").write_text("no audio here")
    return tmp_path / "data"


@pytest.mark.parametrize("kind, message", [
    ("missing", "dataset folder not found"),
    ("file", "is a file, not a folder"),
    ("empty", "no genre sub-folders"),
    ("genre-without-audio", "with no audio files"),
])
def test_bad_dataset_folder_gives_a_clear_error(kind, message, home, tmp_path):
    root = bad_folder(kind, tmp_path)
    at = open_page("dataset", dataset_root=str(root)).run()
    assert not at.exception
    assert len(at.error) == 1
    assert message in at.error[0].value and str(root) in at.error[0].value
    assert not at.dataframe  # nothing past the error is drawn


def test_valid_dataset_shows_table_clip_pickers_audio_and_figures(home, tiny):
    at = open_page("dataset", dataset_root=str(tiny.root)).run()
    assert not at.exception and not at.error
    # 4 clips a genre: too few to learn and test honestly, and the page says so
    assert [w.value for w in at.warning] == ["Few tracks: ambient (4), chiptune (4), rock (4). A genre needs at least 5 "
                                             "tracks to be learnt and tested honestly; leave it out or add clips."]
    table = at.dataframe[0].value
    assert list(table["genre"]) == ["ambient", "chiptune", "rock"] and list(table["clips"]) == [4, 4, 4]
    assert at.selectbox(key="clip_genre").options == ["ambient", "chiptune", "rock"]
    assert len(at.selectbox(key="clip_file").options) == 4
    assert len(at.get("audio")) == 1
    assert len(at.image) == 3  # waveform, mel spectrogram, MFCCs
    at.selectbox(key="clip_genre").set_value("rock").run()
    assert not at.exception
    assert at.selectbox(key="clip_file").value.parent.name == "rock"


def test_typing_a_folder_switches_from_error_to_the_dataset(home, tiny, tmp_path):
    at = open_page("dataset", dataset_root=str(tmp_path / "missing")).run()
    assert at.error
    at.text_input(key="dataset_input").set_value(str(tiny.root)).run()
    assert not at.exception and not at.error
    assert at.dataframe and at.session_state["dataset_root"] == str(tiny.root)


def test_unreadable_file_is_listed_in_a_warning_and_its_preview_is_an_error(home, dataset_copy):
    (dataset_copy / "rock" / "x.wav").write_bytes(b"garbage, not a RIFF header" * 10)
    at = open_page("dataset", dataset_root=str(dataset_copy)).run()
    assert not at.exception
    assert "1 file(s) cannot be read" in texts(at.warning)
    assert "rock/x.wav" in list(at.dataframe[1].value["file"])
    at.selectbox(key="clip_genre").set_value("rock").run()
    at.selectbox(key="clip_file").set_value(dataset_copy / "rock" / "x.wav").run()
    assert not at.exception
    assert "x.wav" in texts(at.error)


def test_demo_button_selects_and_creates_the_demo_dataset(home, tmp_path, monkeypatch):
    monkeypatch.setitem(workspace.DEMO_ARGS, "clips_per_genre", 2)
    monkeypatch.setitem(workspace.DEMO_ARGS, "duration", 2.0)
    at = open_page("dataset", dataset_root=str(tmp_path / "missing")).run()
    button(at, "Use the demo dataset").click().run()
    assert not at.exception
    assert workspace.demo_ready()
    assert at.text_input(key="dataset_input").value == str(workspace.demo_dir())
    assert at.session_state["dataset_root"] == str(workspace.demo_dir())
    assert not at.error and list(at.dataframe[0].value["clips"]) == [2] * 6


def test_a_fresh_workspace_builds_no_demo_until_asked(home, monkeypatch):
    """Opened first on a fresh workspace, Dataset lets the user type a folder: the demo (14 s, 92 MB) waits."""
    monkeypatch.setitem(workspace.DEMO_ARGS, "clips_per_genre", 2)
    monkeypatch.setitem(workspace.DEMO_ARGS, "duration", 2.0)
    at = open_page("dataset").run()
    assert not at.exception and not workspace.demo_ready()
    assert "No dataset yet" in at.info[0].value and not at.error
    button(at, "Use the demo dataset").click().run()
    assert not at.exception and workspace.demo_ready() and list(at.dataframe[0].value["clips"]) == [2] * 6


def test_a_folder_that_is_not_a_genre_can_be_left_out_everywhere(home, dataset_copy):
    (dataset_copy / "unlabelled").mkdir()
    (dataset_copy / "unlabelled" / "x.wav").write_bytes((dataset_copy / "rock" / "rock.00000.wav").read_bytes())
    at = open_page("dataset", dataset_root=str(dataset_copy)).run()
    assert "unlabelled" in list(at.dataframe[0].value["genre"])
    by_label(at.multiselect, "Leave out folders").set_value(["unlabelled"]).run()
    assert not at.exception
    assert list(at.dataframe[0].value["genre"]) == ["ambient", "chiptune", "rock"]
    at.switch_page("pages/features.py").run()
    assert not at.exception
    clips = at.selectbox[0].options  # the preview's clips
    assert clips and not [c for c in clips if c.startswith("unlabelled/")]


def test_a_folder_outside_the_allowed_roots_is_refused(home, tiny, tmp_path, monkeypatch):
    monkeypatch.setenv("GENRE_DATA_ROOTS", str(tmp_path / "elsewhere"))
    at = open_page("dataset", dataset_root=str(tiny.root)).run()
    assert not at.exception
    assert "outside the folders this server reads datasets from" in at.error[0].value
    assert not at.dataframe
