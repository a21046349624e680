"""The app's one adjustment to Streamlit's runtime (workbench/runtime.py)."""

from __future__ import annotations

import sys

from streamlit.runtime.scriptrunner import script_runner
from streamlit.testing.v1 import AppTest

from tests.app_fixtures import APP, TIMEOUT


def test_after_a_script_run_keras_session_is_not_cleared_but_figures_are_closed(home, monkeypatch):
    import keras
    import matplotlib.pyplot as plt

    cleared = []
    monkeypatch.setattr(keras.backend, "clear_session", lambda *a, **k: cleared.append(1))
    monkeypatch.setattr(script_runner, "_clean_problem_modules", script_runner._clean_problem_modules)
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()  # the entry script installs the adjustment
    assert not at.exception
    assert "keras" in sys.modules
    assert script_runner._clean_problem_modules.__module__ == "workbench.runtime"
    cleared.clear()
    plt.figure()
    script_runner._clean_problem_modules()  # what Streamlit calls after every run, fragments included
    assert cleared == []  # 0.22 s of the server's CPU per call with a model loaded, for nothing
    assert plt.get_fignums() == []


def test_forgetting_uploads_gives_their_bytes_back_to_the_server(monkeypatch):
    """Classify's Clear all resets the uploader with a new key, which deletes nothing in Streamlit's upload manager:
    every cleared clip stayed in the server until the tab closed."""
    from types import SimpleNamespace

    from streamlit.proto.Common_pb2 import FileURLs
    from streamlit.runtime.memory_uploaded_file_manager import MemoryUploadedFileManager
    from streamlit.runtime.uploaded_file_manager import UploadedFile, UploadedFileRec

    from workbench import runtime

    manager = MemoryUploadedFileManager("/upload")
    recs = [UploadedFileRec(f"id{i}", f"clip{i}.wav", "audio/wav", bytes(1000)) for i in range(3)]
    for rec in recs:
        manager.add_file("session", rec)
    ctx = SimpleNamespace(uploaded_file_mgr=manager, session_id="session")
    monkeypatch.setattr("streamlit.runtime.scriptrunner.get_script_run_ctx", lambda *a, **k: ctx)
    uploads = [UploadedFile(rec, FileURLs()) for rec in recs]
    assert runtime.forget_uploads(uploads[:2], uploads[2], None) == 3
    assert manager.get_files("session", [r.file_id for r in recs]) == [] and manager._total_bytes == 0
    monkeypatch.setattr("streamlit.runtime.scriptrunner.get_script_run_ctx", lambda *a, **k: None)
    assert runtime.forget_uploads(uploads) == 0  # outside a script run: nothing to do, no error


def test_classifys_clear_all_forgets_what_the_uploader_and_the_recorder_hold():
    import ast

    source = (APP.parent / "pages" / "classify.py").read_text()
    clear_all = next(n for n in ast.walk(ast.parse(source)) if isinstance(n, ast.FunctionDef) and n.name == "clear_all")
    assert "runtime.forget_uploads" in ast.unparse(clear_all)
