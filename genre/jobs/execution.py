"""How a run is executed: in this process (:func:`execute`, the CLI's way), or in processes of its own.

The processes are ``python -m genre.jobs.worker`` (:mod:`genre.jobs.worker`). In the app a run is
started with :func:`launch`: a small supervisor process (no TensorFlow) starts the training process with the
run's Keras backend set, waits for it and records its exit code, so even a SIGKILL (or the out-of-memory
killer) leaves an honest status. Both outlive the app's process, so reloads, other tabs and restarts never
lose a run.
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
from pathlib import Path

from genre.atomic import write_text
from genre.errors import Cancelled, GenreError, TrainingError
from genre.jobs.runs import (
    BRIEF_FILE,
    EPOCHS_FILE,
    FINAL_STATES,
    LOG_FILE,
    RESULT_FILE,
    STOP_FILE,
    RecordGone,
    Run,
    brief_of,
    describe_exit,
)
from genre.learn.config import ModelConfig, TrainConfig
from genre.process import ProcessId


class StopFlag:
    """A stop flag with ``threading.Event``'s ``is_set``: set by the stop file, or by SIGTERM/SIGINT."""

    def __init__(self, path: Path):
        self.path, self.flag, self._checked = path, False, 0.0

    def set(self) -> None:
        self.flag = True

    def is_set(self) -> bool:
        now = time.monotonic()
        if not self.flag and now - self._checked > 0.05:  # one stat per 50 ms at most, not one per batch
            self._checked = now
            self.flag = self.path.exists()
        return self.flag


def execute(run: Run, *, on_epoch=None) -> Run:
    """Train ``run`` in this process and record everything; returns the run in a final state.

    Never raises for a :class:`~genre.errors.GenreError`: it becomes the ``failed`` status. A run whose
    record is deleted meanwhile just ends, and writes nothing anew. The Keras backend of the run must be
    the process's (``KERAS_BACKEND`` is set here when Keras is not imported yet; :func:`launch` sets it
    for the training process).
    """
    try:
        return _execute(run, on_epoch=on_epoch)
    except (RecordGone, FileNotFoundError):
        if run.path.is_dir():
            raise  # not the record that went: a real error
        return run


def _execute(run: Run, *, on_epoch=None) -> Run:
    from genre.data.store import load_features
    from genre.learn.model import import_keras, model_summary
    from genre.learn.training import train

    spec = run.spec
    run._update_status(state="pending", pid=os.getpid(), process=ProcessId.current().to_dict(),
                       message="importing Keras and loading the features")
    stop = StopFlag(run.path / STOP_FILE)
    log = open(run.path / EPOCHS_FILE, "a", encoding="utf-8")
    try:
        import_keras(spec.get("backend", "tensorflow"))
        _, mc, tc = run.configs()
        fs = load_features(spec["features"])
        if spec.get("features_key") and fs.key != spec["features_key"]:
            raise TrainingError(f"the feature store {spec['features']} was re-extracted since this run was "
                                "started; start the run again")
        augmented = _augment(run, fs, tc, stop)
        started = time.time()
        run._update_status(state="running", started=started, message="")

        def hook(epoch: int, logs: dict) -> None:
            entry = {"epoch": epoch, **logs}  # seconds: since the network's build, as the result's
            log.write(json.dumps(entry) + "\n")  # one write of a whole line: readers never see half of one
            log.flush()
            if on_epoch is not None:
                on_epoch(epoch, {k: v for k, v in logs.items() if k != "seconds"})

        result = train(fs, mc, tc, augmented=augmented, on_epoch=hook, stop=stop)
        bundle = _save(run, spec, fs, mc, tc, result)
        outcome = {"metrics": result.metrics, "history": result.history, "seconds": result.seconds,
                   "stopped": result.stopped, "summary": model_summary(result.model), "bundle": str(bundle),
                   **result.info}
        write_text(run.path / BRIEF_FILE, json.dumps(brief_of(outcome)), parents=False)
        write_text(run.path / RESULT_FILE, json.dumps(outcome), parents=False)
        run._update_status(state="stopped" if result.stopped else "done", finished=time.time(),
                           bundle=str(bundle), message="")
    except Cancelled:
        run._update_status(state="stopped", finished=time.time(), message="stopped before training began: no model")
    except GenreError as exc:
        run._update_status(state="failed", finished=time.time(), message=str(exc))
    except FileNotFoundError as exc:  # the record deleted while it trained: nothing is written anew
        if not run.path.exists():
            raise RecordGone(f"the record of run {run.id} was deleted") from None
        run._update_status(state="failed", finished=time.time(), message=f"{exc.__class__.__name__}: {exc}")
    except KeyboardInterrupt:
        run._update_status(state="failed", finished=time.time(), message="interrupted (Ctrl-C)")
        raise
    except Exception as exc:  # a bug: recorded, so the app shows it rather than waiting forever
        import traceback

        traceback.print_exc()
        run._update_status(state="failed", finished=time.time(), message=f"{exc.__class__.__name__}: {exc}")
    finally:
        log.close()
    return run


def _augment(run: Run, fs, tc: TrainConfig, stop: StopFlag):
    """The augmented copies the run asks for (cached next to its features), reporting progress in its status."""
    from genre.learn.augment import load_or_augment

    if tc.augmentation() is None:
        return None
    shown = [0.0]

    def progress(done: int, total: int) -> None:
        if time.monotonic() - shown[0] > 0.5 or done == total:
            shown[0] = time.monotonic()
            run._update_status(message=f"augmenting the tracks: {done} of {total} (cached for the next run)")

    run._update_status(message="augmenting the tracks (or reading the copies from the cache)")
    return load_or_augment(fs, run.spec["features"], tc, on_progress=progress, stop=stop)


def _save(run: Run, spec: dict, fs, mc: ModelConfig, tc: TrainConfig, result) -> Path:
    from genre.learn.bundle import reserve_bundle_path, save_bundle
    from genre.learn.model import model_summary

    if spec.get("bundle_out"):
        path = Path(spec["bundle_out"])
    else:
        path = reserve_bundle_path(spec.get("models_dir") or run.path.parent, spec.get("name") or run.id)
    try:
        return save_bundle(path, model=result.model, genres=fs.genres, params=fs.params, model_config=mc,
                           train_config=tc, metrics=result.metrics, history=result.history, name=spec.get("name"),
                           extra={"seconds": result.seconds, "stopped": result.stopped, "run_id": run.id,
                                  "run_name": spec.get("name"), "backend": spec.get("backend", "tensorflow"),
                                  "summary": model_summary(result.model), "dataset": fs.root,
                                  "features": spec.get("features"), "synthetic": spec.get("synthetic", False),
                                  **({"standardization": result.info["standardization"]}
                                     if "standardization" in result.info else {})})
    except BaseException:
        with contextlib.suppress(OSError):
            path.rmdir()  # the reserved folder, if still empty
        raise


def launch(run: Run) -> subprocess.Popen:
    """Start ``run`` in processes of its own (a supervisor, which starts the training process).

    Returns at once. The processes outlive the caller's (their own session), so an app restart
    does not end the run; the caller reaps the supervisor in a thread so it leaves no zombie.
    """
    with open(run.path / LOG_FILE, "ab") as log:
        proc = subprocess.Popen([sys.executable, "-m", "genre.jobs.worker", "supervise", str(run.path)],
                                stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
                                env=child_env(run))
    threading.Thread(target=proc.wait, name=f"reap-{run.id}", daemon=True).start()
    return proc


def child_env(run: Run) -> dict:
    """The environment of a run's processes: its Keras backend, set before Keras is imported (JAX's compilation
    cache too: :func:`genre.learn.model.import_keras`)."""
    env = dict(os.environ)
    env["KERAS_BACKEND"] = run.spec.get("backend", "tensorflow")
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env["PYTHONUNBUFFERED"] = "1"
    return env


def supervise(run: Run) -> int:
    """Run the training process of ``run`` and wait; record its exit code, and a failure when it died."""
    def forward(signum, _frame):  # a polite stop for the supervisor is a stop for the run
        run.request_stop()

    signal.signal(signal.SIGTERM, forward)  # before the child starts: no window in which a stop is lost
    signal.signal(signal.SIGINT, forward)
    try:
        run._update_status(supervisor_pid=os.getpid(), supervisor=ProcessId.current().to_dict())
    except RecordGone:
        return 1  # deleted before it started: nothing to run, nothing to write
    with open(run.path / LOG_FILE, "ab") as log:
        proc = subprocess.Popen([sys.executable, "-m", "genre.jobs.worker", "train", str(run.path)],
                                stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=child_env(run))
    code = proc.wait()
    st = run.raw_status()
    with contextlib.suppress(RecordGone):  # deleted while it ran: the record is not made anew
        if st.get("state") in FINAL_STATES:
            run._update_status(exit_code=code)
        else:
            run._update_status(state="failed", finished=time.time(), exit_code=code, message=describe_exit(code))
    return code
