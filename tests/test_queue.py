"""The workspace's queue of runs and its warm processes (genre.jobs.queue, genre.jobs.execution.launch):
order and priority, the cap, Stop on a queued run, a warm spare taking the run, a dying process failing only
its run."""

from __future__ import annotations

import json
import os
import signal
import time

import pytest
from conftest import TINY_MODEL, until

from genre.data.store import save_features
from genre.jobs import queue
from genre.jobs.execution import ensure_spare, launch, prewarm
from genre.jobs.runs import create_run, wait
from genre.learn.config import ModelConfig, TrainConfig
from genre.process import ProcessId

TIMEOUT = 120


def test_the_queue_serves_a_users_runs_before_trials_then_first_come_first_served(genre_home, tmp_path):
    for run_id, backend, priority in [("t1", "jax", 1), ("a1", "jax", 0), ("t2", "tensorflow", 1), ("a2", "jax", 0)]:
        queue.enqueue(tmp_path / run_id, run_id, backend, priority)
        time.sleep(0.001)
    assert [p.name.split(".")[1] for p in queue.entries()] == ["a1", "a2", "t1", "t2"]
    assert (queue.position("a2"), queue.position("t2"), queue.position("zz")) == (1, 3, None)
    assert queue.cancel("a2") and not queue.cancel("a2") and not queue.is_queued("a2")
    first = queue.claim("jax")
    assert first[1] == tmp_path / "a1" and queue.is_claimed("a1") and not queue.is_queued("a1")
    assert queue.claim("jax")[1] == tmp_path / "t1" and queue.claim("jax") is None
    queue.done(first[0])
    assert not queue.is_claimed("a1") and queue.claim("tensorflow")[1] == tmp_path / "t2"


def test_the_cap_is_a_number_of_slots_held_while_a_run_trains(genre_home, monkeypatch):
    monkeypatch.setenv("GENRE_MAX_RUNS", "2")
    a, b = queue.take_slot(), queue.take_slot()
    assert a is not None and b is not None and queue.take_slot() is None
    os.close(a)  # a process that ends gives its slot back the same way
    c = queue.take_slot()
    assert c is not None
    os.close(b), os.close(c)
    monkeypatch.setenv("GENRE_MAX_RUNS", "nonsense")
    assert queue.max_runs() == max(1, (os.cpu_count() or 1) // 2)


@pytest.fixture
def make_run(features, tmp_path, genre_home):
    store = save_features(features, tmp_path / "features.npz")

    def make(epochs=3, seed=0, name="queued", backend="tensorflow"):
        return create_run(genre_home / "runs", features_path=store, features=features, backend=backend,
                          model_config=ModelConfig(**TINY_MODEL), name=name, models_dir=genre_home / "models",
                          train_config=TrainConfig(epochs=epochs, batch_size=8, seed=seed))

    yield make
    for entry in (genre_home / "queue" / "spares").glob("*.json"):  # nothing left waiting
        ident = ProcessId.from_dict(json.loads(entry.read_text() or "{}"))
        if ident is not None and ident.alive():
            os.killpg(ident.pid, signal.SIGKILL)


def _kill_run(run):
    st = run.raw_status()
    for key in ("supervisor", "process"):
        ident = ProcessId.from_dict(st.get(key))
        if ident is not None and ident.alive():
            os.kill(ident.pid, signal.SIGKILL)


def test_beyond_the_cap_a_run_waits_its_turn_and_stop_takes_it_out_of_the_queue(make_run, monkeypatch):
    monkeypatch.setenv("GENRE_MAX_RUNS", "1")
    first, second, third = make_run(epochs=10000, name="first"), make_run(name="second"), make_run(name="third")
    for run in (first, second, third):
        launch(run)
    until(lambda: first.epochs() or not first.running, "the first run's first epoch", timeout=TIMEOUT)
    assert first.state == "running"
    assert (second.state, second.queue_position(), third.queue_position()) == ("queued", 0, 1)
    third.request_stop()  # Stop on a queued run: out of the queue, ended at once
    assert third.status()["state"] == "stopped" and "while queued" in third.status()["message"]
    assert second.queue_position() == 0
    first.request_stop()
    assert wait(first, TIMEOUT)["state"] == "stopped"
    assert wait(second, TIMEOUT)["state"] == "done"  # its turn came: the slot was given back
    assert third.state == "stopped" and not third.epochs() and third.bundle_path is None


def _spares(backend="tensorflow"):
    return sorted((queue.folder() / "spares").glob(f"{backend}.*.json"))


@pytest.mark.parametrize("backend", ["tensorflow", "jax"])
def test_a_warm_worker_takes_runs_one_after_another_each_as_in_a_process_of_its_own(make_run, features, monkeypatch,
                                                                                    backend):
    """The worker that waited takes the run, then the next ones (no other process starts), and nothing of one run
    reaches the next: each run's numbers are those of the same run trained alone, seeds and all."""
    from genre.learn.training import train

    monkeypatch.setenv("GENRE_WARM_SPARES", "1")
    monkeypatch.setenv("GENRE_SPARE_IDLE_S", "120")
    monkeypatch.setenv("GENRE_MAX_RUNS", "1")
    prewarm(backend)
    (waiting,) = _spares(backend)
    spare = ProcessId.from_dict(json.loads(waiting.read_text()))  # the supervisor of the worker waiting
    runs = [make_run(epochs=3, seed=1, name="one", backend=backend),
            make_run(epochs=2, seed=2, name="two", backend=backend),
            make_run(epochs=3, seed=1, name="three", backend=backend)]  # the first again, after another
    for run in runs:
        launch(run)  # a worker is busy, and may take the next: no other starts
        assert len(_spares(backend)) == 1
    for run in runs:
        assert wait(run, TIMEOUT)["state"] == "done"
        assert until(lambda: run.raw_status().get("exit_code") == 0, "its exit code, recorded by the supervisor")
    processes = {ProcessId.from_dict(run.raw_status()["process"]) for run in runs}
    assert {ProcessId.from_dict(run.raw_status()["supervisor"]) for run in runs} == {spare} and len(processes) == 1
    assert until(lambda: _spares(backend) == [waiting] and "busy" not in json.loads(waiting.read_text()),
                 "the worker waiting again", timeout=30)
    ensure_spare(backend)  # one is waiting already: none more
    assert _spares(backend) == [waiting]
    one, two, three = (run.result()["history"] for run in runs)
    assert three["loss"] == pytest.approx(one["loss"], rel=1e-6) and three["val_loss"] == one["val_loss"]
    if backend == "tensorflow":  # this process's backend: the first run as trained alone, too
        _, mc, tc = runs[0].configs()
        assert one["loss"] == pytest.approx(train(features, mc, tc).history["loss"], rel=1e-5)


def test_a_worker_is_replaced_after_its_runs(make_run, monkeypatch):
    monkeypatch.setenv("GENRE_WARM_SPARES", "0")
    monkeypatch.setenv("GENRE_WORKER_RUNS", "1")
    first, second = make_run(epochs=1, name="first"), make_run(epochs=1, name="second")
    launch(first)
    launch(second)
    for run in (first, second):
        assert wait(run, TIMEOUT)["state"] == "done"
    one, two = (ProcessId.from_dict(run.raw_status()["process"]) for run in (first, second))
    assert one != two  # a worker takes one run here, then a fresh one takes the next
    assert until(lambda: not _spares(), "no worker left waiting (none is kept warm)", timeout=30)


def test_a_process_that_dies_fails_its_run_only_and_the_queue_goes_on(make_run, monkeypatch):
    monkeypatch.setenv("GENRE_MAX_RUNS", "1")
    doomed, next_one = make_run(epochs=10000, name="doomed"), make_run(epochs=2, name="next")
    launch(doomed)
    launch(next_one)
    until(lambda: doomed.epochs() or not doomed.running, "the doomed run's first epoch", timeout=TIMEOUT)
    os.kill(ProcessId.from_dict(doomed.raw_status()["process"]).pid, signal.SIGKILL)
    st = wait(doomed, 30)
    assert st["state"] == "failed" and until(lambda: doomed.raw_status().get("exit_code") == -signal.SIGKILL,
                                             "its exit code")
    assert wait(next_one, TIMEOUT)["state"] == "done"
    _kill_run(doomed)


# --- a run its own process trains (the CLI's train) shares the queue and the cap ------------------------------

def _turn_in_thread(run, seen):
    import threading

    from genre.jobs.execution import queue_turn

    entered, outcome = threading.Event(), {}

    def go():
        try:
            with queue_turn(run, on_wait=seen.append, poll_s=0.02):
                entered.set()
                outcome["held"] = queue.take_slot()  # the cap is 1 and this run holds it
        except Exception as exc:  # noqa: BLE001 - what the thread raised, for the test to read
            outcome["error"] = exc

    thread = threading.Thread(target=go)
    thread.start()
    return thread, entered, outcome


def test_a_cli_run_waits_for_a_slot_then_trains_holding_it(make_run, monkeypatch):
    monkeypatch.setenv("GENRE_MAX_RUNS", "1")
    run, seen = make_run(), []
    busy = queue.take_slot()  # another run trains
    thread, entered, outcome = _turn_in_thread(run, seen)
    until(lambda: seen == [0], "the wait said", timeout=10)
    assert run.status()["state"] == "queued" and run.queue_position() == 0 and not entered.is_set()
    os.close(busy)
    thread.join(timeout=10)
    assert entered.is_set() and outcome.get("held") is None and "error" not in outcome
    assert not queue.entries() and not queue.is_claimed(run.id)
    later = queue.take_slot()
    assert later is not None  # given back
    os.close(later)


def test_a_cli_run_waits_behind_queued_runs_and_stop_takes_it_out(make_run, monkeypatch):
    from genre.errors import Cancelled

    monkeypatch.setenv("GENRE_MAX_RUNS", "1")
    queue.enqueue(make_run(name="first").path, "first-in-line", "nobackend", 0)
    run, seen = make_run(name="cli"), []
    thread, entered, outcome = _turn_in_thread(run, seen)
    until(lambda: seen == [1], "one run ahead", timeout=10)
    run.request_stop()  # the Runs page's Stop, or Ctrl-C in the terminal
    thread.join(timeout=10)
    assert isinstance(outcome.get("error"), Cancelled) and not entered.is_set()
    assert run.status()["state"] == "stopped" and "never started" in run.status()["message"]


def test_a_dead_cli_runs_entry_does_not_hold_the_line(make_run, monkeypatch):
    import subprocess
    import sys

    monkeypatch.setenv("GENRE_MAX_RUNS", "1")
    dead = make_run(name="dead")
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    ident = ProcessId.of(proc.pid).to_dict()
    proc.wait()
    dead._update_status(state="queued", process=ident)
    queue.enqueue(dead.path, dead.id, queue.HERE, 0)
    run, seen = make_run(name="alive"), []
    thread, entered, outcome = _turn_in_thread(run, seen)
    thread.join(timeout=10)
    assert entered.is_set() and "error" not in outcome
    assert dead.status()["state"] == "failed" and "ended while it was queued" in dead.status()["message"]


# --- a spare warmed for the run the Train page is about to start ------------------------------------------------

def test_a_spare_warmed_for_the_pages_run_gives_the_run_the_same_numbers(make_run, features, monkeypatch):
    """Warming fits the very network on random rows first: nothing of it may reach the run (the run's numbers are
    those of the same run trained in a process of its own)."""
    from genre.jobs.execution import HINTS, warm_hint
    from genre.learn.training import split_rows, train

    monkeypatch.setenv("GENRE_WARM_SPARES", "1")
    monkeypatch.setenv("GENRE_SPARE_IDLE_S", "60")
    run = make_run(epochs=3)
    _, mc, tc = run.configs()
    hint = warm_hint(features, split_rows(features, tc), mc, tc)
    assert hint["rows"] + hint["test_rows"] == len(features) and hint["input_shape"] == list(features.X.shape[1:])
    prewarm("tensorflow", hint)
    assert json.loads((queue.folder() / HINTS / "tensorflow.json").read_text()) == hint
    time.sleep(8)  # the spare imports TensorFlow and warms up for the hint
    launch(run)
    assert wait(run, TIMEOUT)["state"] == "done"
    alone = train(features, mc, tc)
    assert run.result()["history"]["loss"] == pytest.approx(alone.history["loss"], rel=1e-5)


@pytest.mark.parametrize("model", [dict(TINY_MODEL), dict(TINY_MODEL, standardize=True), dict(kind="cnn", filters=8)])
def test_warming_for_a_hint_fits_that_network(features, model):
    from genre.jobs.execution import _warm_for, warm_hint
    from genre.learn.model import import_keras
    from genre.learn.training import split_rows

    tc = TrainConfig(epochs=1, batch_size=8)
    hint = warm_hint(features, split_rows(features, tc), ModelConfig(**model), tc)
    _warm_for(import_keras(), json.loads(json.dumps(hint)))  # as the spare reads it: JSON
