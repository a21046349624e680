"""AppTest: the export buttons (Runs, Features) and importing a bundle zip on Classify."""

from __future__ import annotations

import io
import json
import zipfile

import pytest

from genre.data import workspace
from genre.learn.config import ModelConfig, TrainConfig
from genre.learn.export import bundle_zip
from tests.app_fixtures import TINY_MODEL, TINY_TRAIN, by_label, open_page, texts


def downloads(at) -> list[str]:
    return [b.label for b in at.get("download_button")]


@pytest.fixture
def registered(monkeypatch) -> dict:
    """file id -> ``(file name, MIME type, callable)`` of every download button with a callable.

    AppTest cannot press a download button, and the media file manager it makes lives for one run
    only, so the callables are noted as buttons register them.
    """
    from streamlit.runtime.media_file_manager import MediaFileManager

    found, real = {}, MediaFileManager.add_deferred

    def add_deferred(self, data_callable, mimetype, coordinates, file_name=None, **kwargs):
        file_id = real(self, data_callable, mimetype, coordinates, file_name=file_name, **kwargs)
        found[file_id] = (file_name, mimetype, data_callable)
        return file_id

    monkeypatch.setattr(MediaFileManager, "add_deferred", add_deferred)
    return found


def made_on_click(registered: dict, button) -> tuple[str, str, bytes]:
    """What a download button would give when pressed: ``(file name, MIME type, bytes)``."""
    name, mime, make = registered[button.proto.deferred_file_id]
    data = make()
    return name, mime, data.encode() if isinstance(data, str) else data


def importer(at):
    return by_label(at.file_uploader, "Model bundle (.zip)")


def test_classify_imports_a_bundle_zip_and_chooses_it(home, tiny_bundle, tiny):
    at = open_page("classify").run()
    assert "No saved models yet" in texts(at.info)  # nothing to choose, yet the import is offered
    importer(at).upload("shared.zip", bundle_zip(tiny_bundle), "application/zip").run()
    assert not at.exception and not at.error
    imported = workspace.models_dir() / "tiny"
    assert "Imported shared.zip as model “tiny (imported)”" in texts(at.success)
    assert by_label(at.selectbox, "Model").value == str(imported)
    assert at.session_state["bundle_path"] == str(imported)
    by_label(at.file_uploader, "Upload clips").upload(
        "song.wav", (tiny.root / "rock" / "rock.00000.wav").read_bytes(), "audio/wav").run()
    assert not at.exception and not at.error
    assert [m.value for m in at.metric if m.label == "Predicted genre"][0] in ("ambient", "chiptune", "rock")
    assert [p.name for p in workspace.models_dir().iterdir()] == ["tiny"]  # imported once, not on every rerun


def test_classify_refuses_a_bad_zip_with_a_message(home, saved_bundle):
    at = open_page("classify").run()
    importer(at).upload("evil.zip", b"PK\x03\x04 not really", "application/zip").run()
    assert not at.exception
    assert "Cannot import evil.zip: not a readable zip" in texts(at.error)
    assert by_label(at.selectbox, "Model").value == str(saved_bundle)  # the model chosen before stays
    assert sorted(p.name for p in workspace.models_dir().iterdir()) == ["tiny"]


def _run(tiny, name):
    from genre.jobs.execution import execute
    from genre.jobs.runs import create_run

    run = create_run(workspace.runs_dir(), features_path=tiny.store, features=tiny.features,
                     model_config=ModelConfig(**TINY_MODEL), train_config=TrainConfig(**TINY_TRAIN), name=name,
                     models_dir=workspace.models_dir())
    return execute(run)


def test_runs_page_offers_the_bundle_zip_and_the_report_of_a_finished_run(home, tiny, registered):
    run = _run(tiny, "exported")
    at = open_page("runs").run()
    assert not at.exception and not at.error
    assert by_label(at.selectbox, "Run or saved model to export").value == f"run:{run.path}"
    assert downloads(at) == ["Model bundle (.zip)", "Report (.html)"]
    name, mime, data = made_on_click(registered, at.get("download_button")[0])
    assert (name, mime) == (f"{run.bundle_path.name}.zip", "application/zip")
    assert sorted(zipfile.ZipFile(io.BytesIO(data)).namelist()) == [f"{run.bundle_path.name}/bundle.json",
                                                                   f"{run.bundle_path.name}/model.keras"]
    name, mime, data = made_on_click(registered, at.get("download_button")[1])
    assert (name, mime) == ("exported-report.html", "text/html")
    assert data.decode().startswith("<!DOCTYPE html>") and "<h1>exported</h1>" in data.decode()


def test_runs_page_offers_the_zip_of_a_saved_model_without_a_record(home, saved_bundle, registered):
    at = open_page("runs").run()
    assert not at.exception and not at.error
    assert downloads(at) == ["Model bundle (.zip)"]
    name, _, data = made_on_click(registered, at.get("download_button")[0])
    assert name == "tiny.zip" and "tiny/model.keras" in zipfile.ZipFile(io.BytesIO(data)).namelist()


def test_features_page_offers_the_npz_and_the_notebooks_json(home, tiny, registered):
    at = open_page("features", dataset_root=str(tiny.root), features=tiny.features,
                   features_path=str(tiny.store)).run()
    assert not at.exception
    assert downloads(at) == ["Features (.npz)", "Notebook's JSON"]
    npz, notebook = at.get("download_button")
    name, _, data = made_on_click(registered, npz)
    assert name == "data-mfcc.npz" and data == tiny.store.read_bytes()
    name, mime, data = made_on_click(registered, notebook)
    assert (name, mime) == ("data-data.json", "application/json")
    assert json.loads(data)["mapping"] == list(tiny.features.genres)
