"""AppTest: the Workspace page (what takes space, unused feature caches removed, runs deleted in bulk)."""

from __future__ import annotations

from genre.data import workspace
from genre.jobs.runs import list_runs
from tests.app_fixtures import TINY_MODEL, TINY_TRAIN, button, by_label, open_page, texts


def _failed_run(tiny):
    from genre.jobs.runs import create_run
    from genre.learn.config import ModelConfig, TrainConfig

    run = create_run(workspace.runs_dir(), features_path=tiny.store, features=tiny.features,
                     model_config=ModelConfig(**TINY_MODEL), train_config=TrainConfig(**TINY_TRAIN), name="broken")
    run._update_status(state="failed", message="a test's failure")
    return run


def test_the_page_shows_the_workspace_by_kind_removes_unused_caches_and_deletes_runs_in_bulk(home, tiny):
    (workspace.home() / "features").mkdir(parents=True, exist_ok=True)
    stale = workspace.home() / "features" / "stale.npz"
    stale.write_bytes(b"x" * 2_000_000)
    _failed_run(tiny)
    at = open_page("workspace").run()
    assert not at.exception and not at.error
    usage = at.dataframe[0].value
    assert {"run records", "saved models", "feature caches", "demo dataset"} <= set(usage["what"])
    assert "1 cache file (1.9 MB)" in texts(at.caption)
    button(at, "Remove them (1.9 MB)").click().run()
    assert not at.exception and not stale.exists()
    runs = at.dataframe[1].value
    assert list(runs["run"]) == ["broken"] and list(runs["state"]) == ["failed"]
    assert button(at, "Delete").disabled
    at.checkbox(key="confirm_bulk").check().run()
    button(at, "Delete").click().run()
    assert not at.exception and list_runs(workspace.runs_dir()) == []
    assert "Deleted" in at.success[0].value and "No run matches." in texts(at.caption)
    assert by_label(at.multiselect, "State").value == ["failed"]
