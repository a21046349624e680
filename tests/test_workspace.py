"""Tests for genre.data.workspace: everything lives under $GENRE_HOME; the demo dataset is made once."""

from pathlib import Path

import pytest

from genre.data import workspace
from genre.data.params import FeatureParams


def test_home_follows_genre_home(genre_home):
    assert workspace.home() == genre_home.resolve()
    assert workspace.models_dir() == genre_home.resolve() / "models"
    assert workspace.demo_dir() == genre_home.resolve() / workspace.DEMO_NAME


def test_home_defaults_to_workspace_in_the_current_folder(tmp_path, monkeypatch):
    monkeypatch.delenv("GENRE_HOME", raising=False)
    monkeypatch.chdir(tmp_path)
    assert workspace.home() == tmp_path.resolve() / "workspace"


def test_features_path_is_per_dataset_and_parameters(genre_home, tmp_path):
    p = FeatureParams()
    a = workspace.features_path(tmp_path / "data", p)
    assert a.parent == genre_home.resolve() / "features" and a.suffix == ".npz"
    assert workspace.features_path(tmp_path / "data", p) == a
    assert workspace.features_path(tmp_path / "other", p) != a
    assert workspace.features_path(tmp_path / "data", p.replace(n_mfcc=20)) != a
    assert workspace.features_path(tmp_path / "data", p.replace(files_per_genre=3)) != a


def test_features_path_does_not_depend_on_how_the_root_is_spelt(genre_home, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").mkdir()
    p = FeatureParams()
    assert workspace.features_path("data", p) == workspace.features_path(tmp_path / "data" / ".", p)


def test_the_demo_dataset_is_generated_once(genre_home, monkeypatch):
    assert not workspace.demo_ready()
    calls = []
    root = workspace.ensure_demo_dataset(on_progress=lambda d, t: calls.append((d, t)), genres=2,
                                         clips_per_genre=1, duration=1.0, sample_rate=8000)
    assert root == workspace.demo_dir() and workspace.demo_ready()
    assert sorted(p.name for p in root.iterdir() if p.is_dir()) == ["ambient", "chiptune"]
    assert calls[-1] == (2, 2)
    assert [p.name for p in genre_home.resolve().iterdir()] == [workspace.DEMO_NAME]  # no temp folders left

    import genre.data.demo

    def boom(*a, **k):
        raise AssertionError("regenerated")

    monkeypatch.setattr(genre.data.demo, "make_demo_dataset", boom)
    assert workspace.ensure_demo_dataset() == root


def test_a_failed_demo_generation_leaves_nothing_behind(genre_home, monkeypatch):
    import genre.data.demo

    def fail(out_dir, **kwargs):
        (Path(out_dir) / "half").mkdir()
        raise KeyboardInterrupt

    monkeypatch.setattr(genre.data.demo, "make_demo_dataset", fail)
    with pytest.raises(KeyboardInterrupt):
        workspace.ensure_demo_dataset()
    assert not workspace.demo_ready()
    assert list(genre_home.iterdir()) == []


def test_data_roots_are_unrestricted_by_default(genre_home, tmp_path, monkeypatch):
    monkeypatch.delenv("GENRE_DATA_ROOTS", raising=False)
    assert workspace.data_roots() is None
    assert workspace.check_data_root(tmp_path / "anywhere") == (tmp_path / "anywhere").resolve()


def test_data_roots_refuse_other_folders_with_a_clear_message(genre_home, tmp_path, monkeypatch):
    import os

    from genre.errors import DatasetError

    allowed, other = tmp_path / "music", tmp_path / "secret"
    monkeypatch.setenv("GENRE_DATA_ROOTS", f"{allowed}{os.pathsep}{tmp_path / 'more'}")
    assert workspace.check_data_root(allowed / "gtzan") == (allowed / "gtzan").resolve()
    assert workspace.check_data_root(workspace.demo_dir()) == workspace.demo_dir()  # the workspace is allowed
    for bad in (other, allowed / ".." / "secret", tmp_path / "musicx"):
        with pytest.raises(DatasetError, match="outside the folders this server reads datasets from"):
            workspace.check_data_root(bad)


def test_the_demo_folder_follows_the_umask(genre_home, umask):
    umask(0o022)
    root = workspace.ensure_demo_dataset(genres=2, clips_per_genre=1, duration=1.0, sample_rate=8000)
    assert root.stat().st_mode & 0o777 == 0o755
    assert {p.stat().st_mode & 0o777 for p in root.rglob("*")} <= {0o755, 0o644}


def test_sweep_removes_what_killed_processes_left_and_spares_writes_in_progress(tmp_path, monkeypatch):
    import os
    import time

    monkeypatch.setenv("GENRE_HOME", str(tmp_path))
    from genre.data import workspace

    run = workspace.runs_dir() / "20260101-000000-abcdef"
    run.mkdir(parents=True)
    (run / "status.json").write_text("{}")
    files = [run / ".status.json.x1.tmp", workspace.models_dir() / ".m.x2.tmp", run / ".status.json.x3.tmp"]
    folders = [workspace.runs_dir() / ".20250101-000000-aaaaaa.deleting", workspace.models_dir() / "reserved-by-a-killed-run",
               workspace.models_dir() / "being-saved-now"]
    for p in folders:
        p.mkdir(parents=True)
    for p in files:
        p.write_text("half")
    old, fresh = files[:2] + folders[:2], [files[2], folders[2]]  # killed an hour ago; written just now
    hour_ago = time.time() - 3600
    for p in old:
        os.utime(p, (hour_ago, hour_ago))
    (workspace.models_dir() / "a-model").mkdir()
    (workspace.models_dir() / "a-model" / "bundle.json").write_text("{}")
    os.utime(workspace.models_dir() / "a-model", (hour_ago, hour_ago))
    assert sorted(workspace.sweep()) == sorted(old)
    assert all(p.exists() for p in fresh) and (run / "status.json").exists()
    assert (workspace.models_dir() / "a-model" / "bundle.json").exists()


def _entry_points():
    from genre.data.dataset import scan_dataset
    from genre.data.store import load_features
    from genre.learn.splits import read_lists

    return {"scan_dataset": scan_dataset, "read_lists (a lists folder)": read_lists,
            "load_features (a store a record names)": load_features}


@pytest.mark.parametrize("entry", list(_entry_points()))
def test_every_library_entry_point_refuses_a_path_outside_the_allowed_roots(tmp_path, monkeypatch, entry):
    """GENRE_DATA_ROOTS is enforced by the library, not only by the app's glue."""
    from genre.errors import DatasetError

    monkeypatch.setenv("GENRE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("GENRE_DATA_ROOTS", str(tmp_path / "allowed"))
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    with pytest.raises(DatasetError, match="outside the folders this server reads datasets from"):
        _entry_points()[entry](outside)


def test_the_bundled_lists_and_the_workspace_stay_readable_on_a_shared_server(tmp_path, monkeypatch):
    from genre.data import workspace
    from genre.learn.splits import GTZAN_LISTS, read_lists

    monkeypatch.setenv("GENRE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("GENRE_DATA_ROOTS", str(tmp_path / "allowed"))
    assert read_lists(GTZAN_LISTS)["train"]
    assert workspace.check_data_root(workspace.home() / "demo-synthetic")
