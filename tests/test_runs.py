"""Tests for genre.jobs.runs: a training run is a process of its own plus a record on disk any reader follows.

Each launched run starts Python processes that import Keras (seconds each), so the launched runs are
few and tiny; everything that needs no process (reading records, reserving folders, failures) runs
in this process. The ``start`` fixture kills whatever a test launched and left running.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from conftest import TINY_MODEL, until

from genre.data.store import save_features
from genre.errors import ParameterError
from genre.jobs import runs
from genre.jobs.execution import execute, launch
from genre.jobs.runs import create_run, list_runs, open_run, wait
from genre.learn.bundle import list_bundles, load_bundle, reserve_bundle_path
from genre.learn.config import ModelConfig, TrainConfig

TINY = ModelConfig(**TINY_MODEL)
EPOCH_KEYS = {"epoch", "seconds", "loss", "accuracy", "val_loss", "val_accuracy"}
TIMEOUT = 120.0  # seconds: generous, a run here takes a few


def _one_genre(fs):
    keep = fs.y == 0
    return replace(fs, X=fs.X[keep], y=fs.y[keep], track=fs.track[keep], segment=fs.segment[keep])


def _no_folders(models_dir: Path) -> bool:
    return not models_dir.exists() or not any(models_dir.iterdir())


def _worker_of(run, pid) -> bool:
    """Whether ``pid`` is still a ``genre.jobs.worker`` process of ``run`` (not a reused pid)."""
    try:
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return b"genre.jobs.worker" in cmd and (str(run.path).encode() in cmd or b"spare" in cmd)


@pytest.fixture
def store(features, tmp_path) -> Path:
    """The tiny dataset's features, saved where a training process can read them."""
    return save_features(features, tmp_path / "features.npz")


@pytest.fixture
def runs_dir(tmp_path) -> Path:
    return tmp_path / "runs"


@pytest.fixture
def models_dir(tmp_path) -> Path:
    return tmp_path / "models"


@pytest.fixture
def new_run(features, store, runs_dir, models_dir):
    """``new_run(**overrides)``: a tiny run's record (pending, not started)."""

    def make(*, epochs=3, seed=0, **kw):
        kw = {"features_path": store, "features": features, "model_config": TINY,
              "train_config": TrainConfig(epochs=epochs, batch_size=8, seed=seed), "models_dir": models_dir, **kw}
        return create_run(runs_dir, **kw)

    return make


class Launched:
    """A launched run's supervisor, as ``subprocess.Popen`` would show it: the warm process that took the run from
    the queue and its supervisor are not this process's children, so they are known by the identity they record."""

    def __init__(self, run):
        self.run, self.seen = run, None

    def supervisor(self):
        from genre.process import ProcessId

        ident = ProcessId.from_dict(self.run.raw_status().get("supervisor"))
        self.seen = ident or self.seen  # a deleted record's supervisor is still known
        return self.seen

    def poll(self):
        ident, st = self.supervisor(), self.run.raw_status()
        if ident is not None and ident.alive():
            return None
        if not self.run.path.exists():  # deleted: its processes (if it had any) have ended
            return st.get("exit_code", -signal.SIGKILL)
        if ident is None and st.get("state") not in runs.FINAL_STATES:  # still queued: not started yet
            return None
        return st.get("exit_code", 0 if st.get("state") in runs.FINAL_STATES else None)

    def wait(self, timeout=None):
        until(lambda: self.poll() is not None, "the run's supervisor to end", timeout=timeout or TIMEOUT)
        return self.poll()


@pytest.fixture
def start():
    """``start(run)`` launches it; on teardown nothing it started is left running."""
    started = []

    def _start(run):
        launch(run)
        started.append(Launched(run))
        return started[-1]

    yield _start
    for launched in started:
        ident = launched.supervisor()
        if ident is not None and ident.alive():  # the supervisor leads the process group its training process is in
            with contextlib.suppress(ProcessLookupError):
                os.killpg(ident.pid, signal.SIGKILL)
        pid = launched.run.raw_status().get("pid")
        if pid and _worker_of(launched.run, pid):
            os.kill(pid, signal.SIGKILL)


# --- launched runs ---------------------------------------------------------------------------------

def test_a_launched_run_goes_pending_running_done_and_leaves_a_complete_record(new_run, start, models_dir, runs_dir,
                                                                               features):
    run = new_run(epochs=5, name="lifecycle run")
    assert run.state == "pending" and run.running and run.epochs() == [] and run.result() is None
    assert list_runs(runs_dir) == [run] and open_run(runs_dir, run.id) == run

    supervisor = start(run)
    states, epoch_counts, deadline = [], [], time.monotonic() + TIMEOUT
    while True:
        st = run.status()
        if not states or states[-1] != st["state"]:
            states.append(st["state"])
        logged = run.epochs()  # read while the run writes: always whole lines, in order
        assert [e["epoch"] for e in logged] == list(range(1, len(logged) + 1))
        epoch_counts.append(len(logged))
        if st["state"] in runs.FINAL_STATES:
            break
        assert time.monotonic() < deadline, f"the run never ended: {st}"
        time.sleep(0.01)
    assert states == ["queued", "pending", "running", "done"], run.status()
    assert epoch_counts == sorted(epoch_counts)

    logged = run.epochs()
    assert [e["epoch"] for e in logged] == [1, 2, 3, 4, 5]
    assert len((run.path / runs.EPOCHS_FILE).read_text().splitlines()) == 5
    assert all(set(e) == EPOCH_KEYS for e in logged)
    assert [e["seconds"] for e in logged] == sorted(e["seconds"] for e in logged)

    result = run.result()
    assert 0 <= result["metrics"]["segment_accuracy"] <= 1 and 0 <= result["metrics"]["track_accuracy"] <= 1
    assert result["metrics"]["epochs_run"] == 5 and result["stopped"] is False
    assert result["history"] == run.history()  # the epoch log is the whole history, exactly

    assert run.bundle_path == models_dir / "lifecycle-run" and str(run.bundle_path) == result["bundle"]
    b = load_bundle(run.bundle_path)
    assert b.model is not None and b.genres == features.genres
    assert b.info["run_id"] == run.id and b.info["backend"] == "tensorflow" and b.history == result["history"]

    # The supervisor records the exit code right after the final state.
    assert until(lambda: "exit_code" in run.raw_status(), "the exit code")
    assert run.status()["exit_code"] == 0 and supervisor.wait(timeout=30) == 0

    # Deleting the run removes its record and its bundle.
    bundle = run.bundle_path
    run.delete()
    assert not run.path.exists() and not bundle.exists()
    assert list_runs(runs_dir) == [] and open_run(runs_dir, run.id) is None and list_bundles(models_dir) == []


def test_a_stop_request_ends_a_long_run_as_stopped_with_its_model_saved(new_run, start):
    run = new_run(epochs=10000, name="long")
    start(run)
    until(lambda: run.epochs() or not run.running, "the first epoch")
    assert run.state == "running" and run.eta_seconds() is not None
    run.request_stop()
    assert run.stop_requested
    st = wait(run, timeout=TIMEOUT)
    assert st["state"] == "stopped", st

    result = run.result()
    assert result["stopped"] is True and result["metrics"]["epochs_run"] < 10000
    assert result["metrics"]["epochs_run"] == len(run.epochs()) and result["history"] == run.history()
    assert (run.bundle_path / "model.keras").is_file()
    assert load_bundle(run.bundle_path, load_model=False).info["stopped"] is True
    assert run.eta_seconds() is None


def test_a_run_that_cannot_train_ends_failed_with_the_reason_and_no_bundle(features, tmp_path, new_run, start,
                                                                           models_dir):
    bad = save_features(_one_genre(features), tmp_path / "one-genre.npz")
    run = new_run(features_path=bad, features=_one_genre(features), name="bad")
    start(run)
    st = wait(run, timeout=TIMEOUT)
    assert st["state"] == "failed" and "at least two genres" in st["message"]
    assert until(lambda: "exit_code" in run.raw_status(), "the exit code")
    st = run.status()
    assert st["exit_code"] == 1 and "at least two genres" in st["message"]  # the supervisor keeps the reason
    assert run.result() is None and run.bundle_path is None and _no_folders(models_dir)


def test_a_killed_training_process_reads_as_failed_by_sigkill_and_leaves_no_bundle(new_run, start, models_dir):
    run = new_run(epochs=10000, name="killed")
    start(run)
    until(lambda: run.epochs() or not run.running, "the first epoch")
    pid = run.status()["pid"]
    assert _worker_of(run, pid)
    os.kill(pid, signal.SIGKILL)
    st = wait(run, timeout=TIMEOUT)
    assert st["state"] == "failed" and "SIGKILL" in st["message"], st
    assert st["exit_code"] == -signal.SIGKILL
    assert run.result() is None and run.bundle_path is None
    assert list_bundles(models_dir) == [] and _no_folders(models_dir)


def test_deleting_a_running_run_ends_it_and_leaves_nothing_behind(new_run, start, runs_dir, models_dir):
    run = new_run(epochs=10000, name="deleted while running")
    supervisor = start(run)
    until(lambda: run.epochs() or not run.running, "the first epoch")
    run.delete()
    assert not run.path.exists()
    # A stop takes the current batch and a save; 8 s is ample. With the bug the run trains on, its stop unseen.
    until(lambda: supervisor.poll() is not None, "the run's processes to end", timeout=8)
    assert sorted(p.name for p in runs_dir.iterdir()) == [] and list_bundles(models_dir) == []


def test_runs_in_separate_processes_with_one_seed_agree_exactly_while_another_trains(new_run, start, models_dir):
    a, b, c = (new_run(epochs=4, seed=seed, name="same name") for seed in (0, 1, 0))
    for run in (a, b, c):
        start(run)
    for run in (a, b, c):
        st = wait(run, timeout=TIMEOUT)
        assert st["state"] == "done", st
    ra, rb, rc = a.result(), b.result(), c.result()
    assert ra["history"] == rc["history"] and ra["metrics"] == rc["metrics"]
    strip = lambda run: [{k: v for k, v in e.items() if k != "seconds"} for e in run.epochs()]  # noqa: E731
    assert strip(a) == strip(c)
    assert ra["history"] != rb["history"]  # the seed is what made them agree
    # Three runs of one name finishing together: three bundles, none overwritten.
    assert {a.bundle_path.name, b.bundle_path.name, c.bundle_path.name} == {"same-name", "same-name-2", "same-name-3"}
    assert {x.info["run_id"] for x in list_bundles(models_dir)} == {a.id, b.id, c.id}


def test_a_jax_run_trains_in_its_own_process_and_its_bundle_predicts_alike_on_tensorflow(new_run, start, store,
                                                                                       features, tmp_path):
    import keras

    run = new_run(backend="jax", name="on jax")
    start(run)
    st = wait(run, timeout=TIMEOUT)
    assert st["state"] == "done", (st, (run.path / runs.LOG_FILE).read_text()[-2000:])
    assert load_bundle(run.bundle_path, load_model=False).info["backend"] == "jax"

    out = tmp_path / "jax-probabilities.npy"
    script = ("import sys, keras, numpy as np\n"
              "from genre.learn.bundle import load_bundle\nfrom genre.data.store import load_features\n"
              "assert keras.backend.backend() == 'jax', keras.backend.backend()\n"
              "model = load_bundle(sys.argv[1]).model\n"
              "np.save(sys.argv[3], np.asarray(model.predict(load_features(sys.argv[2]).X[:10], verbose=0)))\n")
    env = {**os.environ, "KERAS_BACKEND": "jax"}
    proc = subprocess.run([sys.executable, "-c", script, str(run.bundle_path), str(store), str(out)], env=env,
                          capture_output=True, text=True, timeout=TIMEOUT)
    assert proc.returncode == 0, proc.stderr
    on_jax = np.load(out)

    assert keras.backend.backend() == "tensorflow"
    on_tf = load_bundle(run.bundle_path).model.predict(features.X[:10], verbose=0)
    assert on_jax.shape == on_tf.shape == (10, len(features.genres))
    assert np.max(np.abs(on_jax - on_tf)) < 1e-5


# --- runs trained in this process --------------------------------------------------------------------

def test_two_runs_of_one_name_save_two_bundles(new_run, models_dir, features):
    first, second = execute(new_run(epochs=1, name="twin")), execute(new_run(epochs=1, name="twin"))
    assert first.state == second.state == "done"
    assert (first.bundle_path, second.bundle_path) == (models_dir / "twin", models_dir / "twin-2")
    assert {b.info["run_id"] for b in list_bundles(models_dir)} == {first.id, second.id}
    assert load_bundle(second.bundle_path).genres == features.genres
    # The model carries its run's name, not its folder's: "twin-2" is a folder, not a name anyone chose.
    assert [b.name for b in list_bundles(models_dir)] == ["twin", "twin"]


def test_a_finished_run_keeps_a_brief_without_the_per_track_rows_and_an_older_record_gets_one(new_run):
    """Lists read the brief: the per-track rows of the error analysis are most of a result."""
    run = execute(new_run(epochs=1))
    result, brief = run.result(), json.loads((run.path / "brief.json").read_text())
    assert result["tracks"] and "tracks" not in brief and brief == {k: v for k, v in result.items() if k != "tracks"}
    assert run.brief() == brief and len(json.dumps(brief)) < len(json.dumps(result))
    (run.path / "brief.json").unlink()  # a record written before briefs
    assert run.brief() == brief and (run.path / "brief.json").is_file()
    assert execute(new_run(epochs=1, name="x")).brief()["metrics"]["epochs_run"] == 1
    assert new_run(epochs=1).brief() is None  # not finished: nothing to brief


def test_the_epoch_log_and_the_result_keep_one_clock(new_run):
    """epochs.jsonl's seconds once started before the network was built, result.json's at the build (67 vs 64 s)."""
    run = execute(new_run(epochs=3))
    epochs, result = run.epochs(), run.result()
    assert [e["epoch"] for e in epochs] == [1, 2, 3]
    assert 0 < epochs[0]["seconds"] < epochs[-1]["seconds"] <= result["seconds"]
    assert result["seconds"] - epochs[-1]["seconds"] < 2.0  # after the last epoch: only the test rows' predictions


@pytest.mark.parametrize("case, message", [
    ("one genre", "at least two genres"),
    ("store re-extracted", "re-extracted since this run was started"),
    ("store missing", "feature store not found"),
])
def test_execute_records_a_failure_as_failed_and_never_raises(features, tmp_path, new_run, models_dir, case, message):
    fs, path = features, tmp_path / "store.npz"
    if case == "one genre":
        fs = _one_genre(features)
    save_features(fs, path)
    run = new_run(features_path=path, features=fs)
    if case == "store re-extracted":
        save_features(replace(features, key="another key"), path)
    elif case == "store missing":
        path.unlink()
    assert execute(run) is run
    st = run.status()
    assert st["state"] == "failed" and message in st["message"] and st["finished"] >= st["created"]
    assert run.result() is None and _no_folders(models_dir)


def test_an_unexpected_error_in_execute_is_recorded_as_failed(new_run, monkeypatch):
    import genre.learn.training

    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(genre.learn.training, "train", broken)
    run = execute(new_run())
    assert run.state == "failed" and run.status()["message"] == "RuntimeError: a bug"


def test_the_cli_trains_through_a_run_record_listed_with_the_apps(genre_home, store, tmp_path, capsys):
    from genre.cli import main
    from genre.data import workspace

    out = tmp_path / "cli-model"
    assert main(["train", str(store), "--out", str(out), "--epochs", "2", "--batch-size", "8"]) == 0
    assert "(run " in capsys.readouterr().err
    (run,) = list_runs(workspace.runs_dir())
    assert run.spec["source"] == "cli" and run.name == "cli-model" and run.state == "done"
    assert run.bundle_path == out.resolve() and len(run.epochs()) == 2
    assert load_bundle(out, load_model=False).info["run_id"] == run.id


def test_a_jax_run_executed_in_a_tensorflow_process_fails_rather_than_train_on_the_wrong_backend(new_run):
    from genre.learn.model import import_keras

    assert import_keras().backend.backend() == "tensorflow"  # this process's Keras, loaded before the run
    run = execute(new_run(backend="jax"))
    st = run.status()
    assert st["state"] == "failed" and "needs a process of its own" in st["message"]


# --- reading records ---------------------------------------------------------------------------------

def test_a_run_just_created_reads_as_pending_during_the_start_grace(new_run):
    run = new_run()
    assert "pid" not in run.raw_status() and run.state == "pending" and run.running


def _ended_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", ""])
    proc.wait()
    return proc.pid


@pytest.mark.parametrize("status, state, message", [
    ({"state": "running", "pid": "dead", "supervisor_pid": "dead"}, "failed", "ended without a final status"),
    ({"state": "running", "pid": "dead", "exit_code": -9}, "failed", "SIGKILL"),
    ({"state": "pending", "pid": "dead"}, "failed", "ended without a final status"),
    ({"state": "pending", "created": "long ago"}, "failed", "ended without a final status"),
    ({"state": "running", "process": "alive"}, "running", None),
    ({"state": "running", "process": "gone"}, "failed", "ended without a final status"),
    ({"state": "running", "supervisor": "alive", "process": "gone"}, "running", None),
    ({"state": "done", "pid": "dead"}, "done", None),
])
def test_a_non_final_state_is_believed_only_while_a_process_of_the_run_lives(new_run, status, state, message):
    from genre.process import ProcessId

    run = new_run()
    gone = subprocess.Popen([sys.executable, "-c", ""])
    gone_id = ProcessId.of(gone.pid).to_dict()
    gone.wait()
    pids = {"dead": _ended_pid(), "alive": ProcessId.current().to_dict(), "gone": gone_id}
    created = {"long ago": time.time() - runs.START_GRACE_S - 1}
    status = {"created": time.time(), **{k: pids.get(v, created.get(v, v)) for k, v in status.items()}}
    (run.path / runs.STATUS_FILE).write_text(json.dumps(status))
    st = run.status()
    assert st["state"] == state and run.running == (state == "running")
    assert st.get("orphaned", False) == (message is not None)
    if message:
        assert message in st["message"]


@pytest.mark.parametrize("recorded", ["bare pid", "identity of another process"])
def test_a_record_whose_pid_now_belongs_to_another_process_reads_failed_and_delete_spares_that_process(
        new_run, bystander, recorded):
    """After a reboot or pid reuse, a stale 'running' record names some unrelated process's pid."""
    from genre.process import ProcessId

    run = new_run()
    stale = {"state": "running", "created": time.time() - 3600, "pid": bystander.pid,
             "supervisor_pid": bystander.pid}
    if recorded != "bare pid":
        stale["process"] = stale["supervisor"] = {**ProcessId.of(bystander.pid).to_dict(), "start": 1}
    (run.path / runs.STATUS_FILE).write_text(json.dumps(stale))
    assert run.state == "failed" and not run.running
    run.delete()
    assert not run.path.exists()
    time.sleep(0.2)
    assert bystander.poll() is None  # not killed


def test_deleting_a_pending_run_leaves_nothing_behind_even_when_its_supervisor_starts_later(new_run, runs_dir,
                                                                                           models_dir):
    """Delete while the run is pending (its supervisor not up yet): the supervisor finds no record and writes none."""
    from genre.jobs.execution import supervise

    run = new_run()
    run.delete()
    assert supervise(run) == 1  # what the late supervisor does: it starts nothing
    assert sorted(p.name for p in runs_dir.iterdir()) == [] and _no_folders(models_dir)
    run.request_stop()  # a Stop from a tab still showing it
    assert not run.path.exists()


def test_epochs_ignore_a_last_line_still_being_written(new_run):
    run = new_run()
    lines = [json.dumps({"epoch": i, "seconds": 0.5 * i, "loss": 1.0 / i, "accuracy": 0.1 * i}) for i in (1, 2)]
    (run.path / runs.EPOCHS_FILE).write_text("\n".join(lines) + '\n{"epoch": 3, "seconds": 1.5, "lo')
    assert [e["epoch"] for e in run.epochs()] == [1, 2]
    assert run.history() == {"loss": [1.0, 0.5], "accuracy": [0.1, 0.2]}
    (run.path / runs.EPOCHS_FILE).unlink()
    assert run.epochs() == [] and run.history() == {}


def test_list_runs_is_newest_first_even_within_one_second_and_skips_what_is_not_a_run(new_run, runs_dir,
                                                                                     monkeypatch):
    hexes = iter(["ffffff", "800000", "000000"])  # ids of one second whose random part sorts backwards
    monkeypatch.setattr(runs.time, "strftime", lambda fmt, *a: "20240101-000000")
    monkeypatch.setattr(runs.secrets, "token_hex", lambda n: next(hexes))
    made = [new_run() for _ in range(3)]
    (runs_dir / "junk").mkdir()
    (runs_dir / "junk" / runs.RUN_FILE).write_text("{}")
    (runs_dir / "20990101-000000-abcdef").mkdir()  # a run's name, but no run.json
    (runs_dir / ".20990101-000000-abcdef.deleting").mkdir()
    (runs_dir / "20990101-000000-fedcba").write_text("a file")
    assert list_runs(runs_dir) == made[::-1]
    assert list_runs(runs_dir / "nowhere") == []


@pytest.mark.parametrize("run_id", ["../x", "..", "", "20240101-000000-abcdef/../..", "20240101-000000-abcdef",
                                    "junk", None, 42])
def test_open_run_returns_none_for_a_malformed_or_unknown_id(new_run, runs_dir, run_id):
    new_run()
    (runs_dir / "junk").mkdir()
    (runs_dir / "junk" / runs.RUN_FILE).write_text("{}")
    assert open_run(runs_dir, run_id) is None


def test_open_run_finds_a_run_by_its_id(new_run, runs_dir):
    run = new_run(name="found")
    assert open_run(runs_dir, run.id) == run and open_run(runs_dir, run.id).name == "found"


@pytest.mark.parametrize("kw, message", [
    ({"backend": "torch"}, "backend must be one of auto, tensorflow, jax"),
    ({"train_config": TrainConfig(epochs=0)}, "epochs"),
    ({"model_config": ModelConfig(dropout=2.0)}, "dropout"),
])
def test_create_run_rejects_bad_settings_before_writing_a_record(new_run, runs_dir, kw, message):
    with pytest.raises(ParameterError, match=message):
        new_run(**kw)
    assert list_runs(runs_dir) == []


def test_reserve_bundle_path_gives_concurrent_callers_distinct_new_folders(tmp_path):
    n = 16
    barrier = threading.Barrier(n)

    def reserve(_):
        barrier.wait()
        return reserve_bundle_path(tmp_path / "models", "my run")

    with ThreadPoolExecutor(n) as pool:
        paths = list(pool.map(reserve, range(n)))
    assert len(set(paths)) == n and all(p.is_dir() and not any(p.iterdir()) for p in paths)
    assert sorted(p.name for p in paths) == sorted(["my-run"] + [f"my-run-{i}" for i in range(2, n + 1)])


def test_an_augmented_run_makes_its_copies_then_trains_on_them(new_run, features):
    run = new_run(epochs=1, train_config=TrainConfig(epochs=1, batch_size=8, augment_copies=1, time_mask=2))
    execute(run)
    assert run.state == "done", run.status()
    m = run.result()["metrics"]
    assert m["n_augmented_rows"] == m["n_train_segments"] > 0
    assert len(list(Path(run.spec["features"]).parent.glob("features.aug-*.npz"))) == 1  # cached beside the store


def test_a_stop_while_the_copies_are_made_ends_the_run_as_stopped_without_a_model(new_run, models_dir):
    run = new_run(train_config=TrainConfig(epochs=1, batch_size=8, augment_copies=1, pitch_shift=1.0))
    run.request_stop()
    execute(run)
    st = run.status()
    assert st["state"] == "stopped" and "before training began" in st["message"]
    assert run.result() is None and not list_bundles(models_dir)


def test_deleting_a_finished_run_signals_nothing_even_when_its_process_lives_on(new_run):
    """A run executed in this process (the CLI's way) names this process: deleting it later must not end it."""
    run = execute(new_run(epochs=1))
    assert run.state == "done" and run.raw_status()["process"]["pid"] == os.getpid()
    run.delete()  # with the bug, this test process is killed here
    assert not run.path.exists()
