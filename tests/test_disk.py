"""genre.jobs.disk: what takes space in a workspace, feature caches no run needs, runs picked for a bulk delete."""

from __future__ import annotations

import json
import time

import pytest

from genre.data import workspace
from genre.jobs import disk
from genre.jobs.runs import Run, list_runs, new_run_id


def _run(home, name, *, state="done", features=None, created=None, bundle=None):
    path = home / "runs" / new_run_id()
    path.mkdir(parents=True)
    (path / "run.json").write_text(json.dumps({"name": name, "features": str(features) if features else None,
                                               "created": created or time.time()}))
    (path / "status.json").write_text(json.dumps({"state": state, "bundle": bundle, "created": time.time()}))
    return Run(path)


@pytest.fixture
def filled(genre_home):
    home = genre_home
    (home / "features").mkdir(parents=True)
    used, unused = home / "features" / "a.npz", home / "features" / "b.npz"
    used.write_bytes(b"x" * 1000)
    unused.write_bytes(b"y" * 3000)
    (home / "features" / "b.aug-123.npz").write_bytes(b"z" * 500)  # the unused store's copies
    (home / "features" / "a.aug-456.npz").write_bytes(b"z" * 200)
    (home / "features" / "gone.aug-789.npz").write_bytes(b"z" * 100)  # copies of a store removed by hand
    (home / "models" / "m").mkdir(parents=True)
    (home / "models" / "m" / "model.keras").write_bytes(b"m" * 5000)
    _run(home, "old-failed", state="failed", features=used, created=time.time() - 10 * 86400)
    _run(home, "new-failed", state="failed", features=used)
    _run(home, "done", features=used)
    return home, used, unused


def test_usage_names_each_kind_of_thing_by_size(filled):
    home, *_ = filled
    rows = {r["what"]: r for r in disk.usage()}
    assert rows["saved models"]["bytes"] == 5000 and rows["saved models"]["items"] == 1
    assert rows["feature caches"] == {"what": "feature caches", "items": 2, "bytes": 4000}
    assert rows["augmentation caches"]["items"] == 3 and rows["augmentation caches"]["bytes"] == 800
    assert rows["run records"]["items"] == 3
    assert [r["bytes"] for r in disk.usage()] == sorted((r["bytes"] for r in disk.usage()), reverse=True)


def test_unused_caches_are_those_no_run_trained_on_and_not_in_use(filled):
    home, used, unused = filled
    found = {p.name for p in disk.unused_feature_caches()}
    assert found == {"b.npz", "b.aug-123.npz", "gone.aug-789.npz"}
    assert "b.npz" not in {p.name for p in disk.unused_feature_caches(keep=[unused])}  # the features in use
    freed = disk.remove(disk.unused_feature_caches())
    assert freed == 3000 + 500 + 100 and used.exists() and not unused.exists()


def test_runs_are_picked_by_state_and_age_never_in_flight(filled):
    home, *_ = filled
    _run(home, "running", state="running")
    runs = list_runs(home / "runs")
    assert {r.name for r in disk.select_runs(runs, states=["failed"])} == {"old-failed", "new-failed"}
    assert {r.name for r in disk.select_runs(runs, states=["failed"], older_than_days=5)} == {"old-failed"}
    assert "running" not in {r.name for r in disk.select_runs(runs)}  # in flight (within its start grace)
    assert workspace.home() == home
