"""Tests for genre.jobs: training in a background thread that logs epochs, stops on request, never raises."""

import threading
import time
from dataclasses import replace

import numpy as np
import pytest

from conftest import TINY_MODEL
from genre.bundle import load_bundle
from genre.config import ModelConfig, TrainConfig
from genre.jobs import TrainingJob

TINY = ModelConfig(**TINY_MODEL)


def _wait(predicate, timeout=120.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.02)


def test_a_job_trains_in_a_thread_logs_each_epoch_and_saves_a_bundle(features, tmp_path):
    job = TrainingJob(features, TINY, TrainConfig(epochs=3, batch_size=8), name="my run",
                      models_dir=tmp_path / "models", extra={"note": "from a test"})
    assert job.status == "pending" and job.running and job.eta_seconds() is None
    main = threading.get_ident()
    seen = []
    original = job._on_epoch
    job._on_epoch = lambda e, logs: (seen.append(threading.get_ident()), original(e, logs))
    job.start()
    job.join(timeout=180)
    assert job.status == "done", job.error
    assert not job.running and job.error is None
    assert seen and all(t != main for t in seen)  # epochs ran off the calling thread
    assert [entry["epoch"] for entry in job.logs] == [1, 2, 3] == list(range(1, job.epochs_done + 1))
    assert all({"loss", "accuracy", "val_loss", "val_accuracy", "seconds"} <= set(e) for e in job.logs)
    seconds = [e["seconds"] for e in job.logs]
    assert seconds == sorted(seconds)
    history = job.history()
    assert set(history) >= {"loss", "val_accuracy"} and len(history["loss"]) == 3
    assert history["loss"] == pytest.approx(job.result.history["loss"])
    assert job.bundle_path == tmp_path / "models" / "my-run"
    b = load_bundle(job.bundle_path, load_model=False)
    assert b.genres == features.genres and b.info["note"] == "from a test" and b.info["stopped"] is False
    assert b.info["dataset"] == features.root
    assert job.elapsed > 0


def test_stop_ends_the_job_as_stopped_with_a_saved_bundle(features, tmp_path):
    job = TrainingJob(features, TINY, TrainConfig(epochs=2000, batch_size=8), name="long",
                      models_dir=tmp_path / "models").start()
    _wait(lambda: job.epochs_done >= 1 or not job.running)
    assert job.running and job.eta_seconds() is not None
    job.stop()
    job.join(timeout=120)
    assert job.status == "stopped", job.error
    assert job.epochs_done < 2000
    assert job.result.stopped and job.result.metrics["epochs_run"] == job.epochs_done
    assert (job.bundle_path / "model.keras").is_file()
    assert load_bundle(job.bundle_path, load_model=False).info["stopped"] is True


def _one_genre(fs):
    keep = fs.y == 0
    return replace(fs, X=fs.X[keep], y=fs.y[keep], track=fs.track[keep], segment=fs.segment[keep])


def _no_tracks(fs):
    return replace(fs, track=np.full(len(fs), -1, np.int32))


@pytest.mark.parametrize("make, message", [
    (_one_genre, "at least two genres"),
    (_no_tracks, "do not record which track"),
])
def test_a_failing_job_ends_failed_with_a_message_and_no_exception(features, tmp_path, make, message):
    errors = []
    previous = threading.excepthook
    threading.excepthook = lambda args: errors.append(args)
    try:
        job = TrainingJob(make(features), TINY, TrainConfig(epochs=2), name="bad", models_dir=tmp_path).start()
        job.join(timeout=60)
    finally:
        threading.excepthook = previous
    assert job.status == "failed" and message in job.error
    assert errors == [] and job.bundle_path is None and job.finished is not None
    assert list(tmp_path.iterdir()) == []


def test_an_unexpected_error_is_reported_as_failed_too(features, tmp_path, monkeypatch):
    import genre.jobs

    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(genre.jobs, "train", broken)
    job = TrainingJob(features, TINY, TrainConfig(epochs=1), name="bug").start()
    job.join(timeout=30)
    assert job.status == "failed" and job.error == "RuntimeError: a bug"
