"""How a run is executed: in this process (:func:`execute`, the CLI's way), or in processes of its own.

The processes are ``python -m genre.jobs.worker`` (:mod:`genre.jobs.worker`). In the app a run is
started with :func:`launch`: a small supervisor process (no TensorFlow) starts the training process with the
run's Keras backend set, waits for it and records its exit code, so even a SIGKILL (or the out-of-memory
killer) leaves an honest status. Both outlive the app's process, so reloads, other tabs and restarts never
lose a run.
"""

from __future__ import annotations

import contextlib
import gc
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


def launch(run: Run) -> None:
    """Queue ``run`` for the workspace's warm processes (:mod:`genre.jobs.queue`); returns at once.

    A warm worker of the run's backend (a process that has imported Keras already, with a supervisor that imports
    none; a *spare* while it waits) takes it when a slot is free: its first epoch comes without the 3-4 s of
    importing TensorFlow.
    The processes outlive the caller's (their own session), so an app restart does not end the run.
    """
    from genre.jobs import queue

    backend = run.spec.get("backend", "tensorflow")
    run._update_status(state="queued", queued=time.time(), message="")
    queue.enqueue(run.path, run.id, backend, queue.PRIORITY.get(run.spec.get("source", "app"), 0))
    ensure_spare(backend)


@contextlib.contextmanager
def queue_turn(run: Run, *, on_wait=None, poll_s: float = 0.2):
    """Wait in the workspace's queue for ``run``'s turn and a free slot, then hold the slot while the caller
    trains ``run`` in this process (the CLI's ``train``: its runs share the cap and the queue with the app's and
    the experiments'). ``on_wait(ahead)`` is called when the number of runs ahead changes.

    Raises
    ------
    Cancelled
        The run was stopped while queued (the Runs page's Stop, or Ctrl-C here).
    """
    from genre.jobs import queue

    me = ProcessId.current().to_dict()
    run._update_status(state="queued", queued=time.time(), message="", process=me, pid=os.getpid())
    queue.enqueue(run.path, run.id, queue.HERE, queue.PRIORITY.get(run.spec.get("source", "cli"), 0))
    slot, claimed, shown = None, None, None
    try:
        while True:
            _drop_dead_entries_ahead(run.id)
            ahead = queue.position(run.id)
            if ahead is None:
                raise Cancelled("stopped while queued: it never started, no model")
            if ahead == 0:
                slot = queue.take_slot()
                if slot is not None:
                    claimed = queue.claim_own(run.id)
                    if claimed is None:
                        raise Cancelled("stopped while queued: it never started, no model")
                    break
            if on_wait is not None and ahead != shown:
                on_wait(ahead)
                shown = ahead
            time.sleep(poll_s)
        yield
    finally:
        queue.cancel(run.id)
        if claimed is not None:
            queue.done(claimed)
        if slot is not None:
            os.close(slot)


def _drop_dead_entries_ahead(run_id: str) -> None:
    """Entries of processes that train their own run (``queue.HERE``) and have died while queued (killed): they
    would hold the line for ever. Their runs end failed."""
    from genre.jobs import queue
    from genre.process import recorded_alive

    for entry in queue.entries(queue.HERE):
        if entry.name.split(".")[1] == run_id:
            return
        try:
            other = Run(Path(entry.read_text().strip()))
            st = other.raw_status()
        except (OSError, GenreError):  # claimed or cancelled meanwhile, or its record gone
            continue
        if st.get("state") == "queued" and not recorded_alive(st.get("process"), names=str(other.path)):
            if queue.cancel(other.id):
                with contextlib.suppress(RecordGone, FileNotFoundError):
                    other._update_status(state="failed", finished=time.time(),
                                         message="its process ended while it was queued")


SPARES = "spares"  # queue/spares/<backend>.<pid>.json: a warm worker's supervisor: a spare while it waits for a run,
# "busy" while one of its runs trains


def spare_idle_s() -> float:
    """How long a warm worker waits for a run before it ends (``$GENRE_SPARE_IDLE_S``, else 10 minutes): an idle
    TensorFlow process holds ~650 MB."""
    return _setting("GENRE_SPARE_IDLE_S", 600.0, 1.0)


def worker_max_runs() -> int:
    """How many runs a warm worker trains before it is replaced by a fresh one (``$GENRE_WORKER_RUNS``, else 20)."""
    return int(_setting("GENRE_WORKER_RUNS", 20, 1))


def worker_max_mb() -> float:
    """Above this resident memory (MB) after a run, a warm worker is replaced (``$GENRE_WORKER_MAX_MB``, else 3,000:
    an idle TensorFlow worker holds ~650 MB, one that trained on GTZAN-sized features ~1,200 MB)."""
    return _setting("GENRE_WORKER_MAX_MB", 3000.0, 1.0)


def _setting(name: str, default: float, least: float) -> float:
    try:
        return max(least, float(os.environ.get(name, "")))
    except ValueError:
        return default


def warm_spares() -> bool:
    """Whether a spare is kept waiting for the next run (``$GENRE_WARM_SPARES``, default 1; the tests set 0: a
    spare then starts only for a queued run, cold)."""
    return os.environ.get("GENRE_WARM_SPARES", "1").strip() not in ("0", "false", "no")


HINTS = "hints"  # queue/hints/<backend>.json: the run a Train page is about to start, for its spare to warm up for


def prewarm(backend: str, hint: dict | None = None) -> None:
    """Have a spare of ``backend`` waiting (the Train page's visit: the first Start then finds it warm).

    ``hint`` (:func:`warm_hint`): the run the page would start now. The spare fits that very network on random rows
    of the same shapes once, so that the run's first epoch finds its steps traced and compiled (a first fit in a
    process costs ~1 s more than the next identical one; other row counts or shapes trace again).
    """
    if not warm_spares():
        return
    if hint is not None:
        from genre.jobs import queue

        path = queue.folder() / HINTS / f"{backend}.json"
        if _read(path) != hint:  # written when it changes: a spare re-warms on a change
            write_text(path, json.dumps(hint, sort_keys=True))
    ensure_spare(backend)


def warm_hint(features, split, model_config: ModelConfig, train_config: TrainConfig) -> dict:
    """What a spare needs to warm up for the run ``model_config`` x ``train_config`` would be on ``features``
    split as ``split`` (:func:`genre.learn.training.split_rows`): shapes, row counts, the network, the batch size."""
    val = split.val if split.val is not None else split.test
    return json.loads(json.dumps({  # as JSON has it (the spare reads it so)
        "input_shape": list(features.X.shape[1:]), "classes": len(features.genres), "model": model_config.to_dict(),
        "batch_size": train_config.batch_size, "rows": int(len(split.train)), "val_rows": int(len(val)),
        "test_rows": int(len(split.test))}))


def ensure_spare(backend: str) -> None:
    """Start a warm worker for ``backend`` unless one is waiting already, or as many as may train at once are busy
    (one of them takes the next run when its own ends). The Train page calls this on a visit, so that the first Start
    finds one warm; :func:`launch` for every queued run."""
    from genre.jobs import queue

    spares = queue.folder() / SPARES
    with queue.locked("spares"):
        spares.mkdir(parents=True, exist_ok=True)
        busy = 0
        for entry in spares.glob(f"{backend}.*.json"):
            record = _read(entry)
            ident = ProcessId.from_dict(record)
            if ident is None or not ident.alive():
                entry.unlink(missing_ok=True)  # a worker that died
            elif not record.get("busy"):
                return
            else:
                busy += 1
        if busy >= queue.max_runs():
            return
        env = {**os.environ, "KERAS_BACKEND": backend, "PYTHONUNBUFFERED": "1"}
        env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        with open(spares / f"{backend}.log", "ab") as log:
            proc = subprocess.Popen([sys.executable, "-m", "genre.jobs.worker", "supervise-spare", backend],
                                    stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True, env=env)
        ident = ProcessId.of(proc.pid)
        write_text(spares / f"{backend}.{proc.pid}.json", json.dumps(ident.to_dict() if ident else {}))
    threading.Thread(target=proc.wait, name=f"reap-spare-{proc.pid}", daemon=True).start()


def _read(path: Path) -> dict:
    with contextlib.suppress(OSError, ValueError):
        return json.loads(path.read_text())
    return {}


def supervise_spare(backend: str) -> int:
    """A warm worker's supervisor (imports no Keras): start the warm process, then, for every run: wait until a slot
    is free and the first queued run of ``backend`` can be claimed, hand it to the process, record how it ended, give
    the slot back. The worker is replaced after :func:`worker_max_runs` runs or above :func:`worker_max_mb`; a worker
    that dies fails only its run (another is started for the runs still queued). Ends when no run came for
    :func:`spare_idle_s`."""
    from genre.jobs import queue
    from genre.process import rss_mb

    me = queue.folder() / SPARES / f"{backend}.{os.getpid()}.json"
    ident = ProcessId.current().to_dict()
    child = subprocess.Popen([sys.executable, "-m", "genre.jobs.worker", "spare", backend], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, env={**os.environ, "KERAS_BACKEND": backend})
    current: list[Run] = []  # the run it trains now, if any

    def forward(signum, _frame):  # between runs: the worker just ends; with one: a polite stop for it
        if not current:
            child.kill()
            me.unlink(missing_ok=True)
            os._exit(0)
        current[0].request_stop()

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    born, served = time.monotonic(), 0
    while True:
        taken = _claim_next(backend, child, me, born)
        if taken is None:
            return 0
        entry, run_dir, slot = taken
        run = Run(run_dir)
        try:
            run._update_status(state="pending", supervisor=ident, supervisor_pid=os.getpid(),
                               process=ProcessId.of(child.pid).to_dict(), pid=child.pid, claimed=time.time(),
                               message="loading the features")
        except RecordGone:  # deleted while queued: nothing to run
            queue.done(entry)
            os.close(slot)
            continue
        write_text(me, json.dumps({**ident, "busy": True}))
        if warm_spares() and queue.max_runs() > 1:  # another may train beside this one: have it warm
            ensure_spare(backend)
        current[:] = [run]
        try:
            child.stdin.write(f"{run.path}\n".encode())
            child.stdin.flush()
            reply = child.stdout.readline()  # the run's exit code, once the worker has reset for the next one
        except BrokenPipeError:
            reply = b""
        code = int(reply) if reply.strip().lstrip(b"-").isdigit() else child.wait()
        record_exit(run, code)
        current.clear()
        queue.done(entry)
        os.close(slot)
        served += 1
        if not reply or served >= worker_max_runs() or (rss_mb(child.pid) or 0) > worker_max_mb():
            me.unlink(missing_ok=True)  # retired: a fresh worker for the runs still queued (or the next one)
            with contextlib.suppress(OSError):
                child.stdin.close()
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.wait(timeout=10)
            child.kill()
            if warm_spares() or queue.entries(backend):
                ensure_spare(backend)
            return 0
        write_text(me, json.dumps(ident))  # waiting again


def _claim_next(backend: str, child: subprocess.Popen, me: Path, born: float):
    """Wait for a free slot and the first queued run of ``backend``: ``(claimed entry, run folder, slot)``, or None
    when the warm process died or no run came for :func:`spare_idle_s` (the worker then ends)."""
    from genre.jobs import queue

    deadline = time.monotonic() + spare_idle_s()
    while True:
        if child.poll() is not None or time.monotonic() > deadline:  # died while waiting, or idle too long
            # Under the lock ensure_spare() checks for a worker with: a run queued meanwhile is seen here (this one
            # stays, or is replaced), or ensure_spare() sees no worker and starts one. No run is left without one.
            with queue.locked("spares"):
                waiting = bool(queue.entries(backend))
                if waiting and child.poll() is None:
                    deadline = time.monotonic() + spare_idle_s()
                    continue
                me.unlink(missing_ok=True)
            child.kill()
            if waiting and time.monotonic() - born > 10:  # died with runs waiting: another (not in a crash loop)
                ensure_spare(backend)
            return None
        slot = queue.take_slot()
        if slot is not None:
            claimed = queue.claim(backend)
            if claimed is not None:
                return (*claimed, slot)
            os.close(slot)
        time.sleep(0.1)


def spare(backend: str) -> int:
    """The warm process: import Keras (and build and fit a tiny network, so that the backend's first-use costs are
    paid), then, for every run folder the supervisor sends on stdin, execute that run and answer its exit code on
    stdout once Keras is reset for the next. Between runs: the Keras session cleared, memory collected, the signals
    as they were; each run sets its own seed, so its numbers are those of a process of its own (tested). Ends on
    end of input."""
    from genre.learn.model import import_keras

    keras = import_keras(backend)
    reply = os.fdopen(os.dup(1), "w", buffering=1)  # the supervisor's pipe; what is printed goes to the log
    os.dup2(2, 1)
    log = os.dup(2)
    _warm_up(keras)
    warmed: list[dict] = []
    while line := _wait_for_run(keras, backend, warmed):
        run = Run(Path(line))
        sys.stdout.flush(), sys.stderr.flush()
        with contextlib.suppress(OSError):  # what it prints while it trains is the run's log
            fd = os.open(run.path / LOG_FILE, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            os.dup2(fd, 1), os.dup2(fd, 2)
            os.close(fd)
        try:
            code = train_here(run)
        finally:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            sys.stdout.flush(), sys.stderr.flush()
            os.dup2(log, 1), os.dup2(log, 2)
        keras.backend.clear_session()  # what the run built is freed (its numbers never needed this: tested)
        gc.collect()
        try:
            reply.write(f"{code}\n")
        except BrokenPipeError:  # the supervisor is gone: nobody hands out runs any more
            return 0
    return 0


def train_here(run: Run) -> int:
    """The training process's part: execute ``run`` here, SIGTERM a stop after the current batch; its exit code."""
    def stop(signum, _frame):
        with contextlib.suppress(OSError):  # the record may be gone (deleted)
            (run.path / STOP_FILE).touch()

    signal.signal(signal.SIGTERM, stop)
    execute(run)
    return 0 if run.raw_status().get("state") in ("done", "stopped") else 1


def _wait_for_run(keras, backend: str, warmed: list[dict], poll_s: float = 0.25) -> str:
    """The run folder the supervisor sends (empty: none comes); meanwhile, warm up for the Train page's hint
    whenever it differs from the last one warmed for (``warmed``, kept across runs)."""
    import select

    from genre.jobs import queue

    hint_path = queue.folder() / HINTS / f"{backend}.json"
    while True:
        hint = _read(hint_path) or None
        if hint is not None and hint not in warmed:
            warmed[:] = [hint]
            with contextlib.suppress(Exception):  # a hint this process cannot warm for costs the run nothing more
                _warm_for(keras, hint)
        if select.select([sys.stdin], [], [], poll_s)[0]:
            return sys.stdin.readline().strip()


def _warm_for(keras, hint: dict) -> None:
    """Fit the hinted network once on random rows of the hinted shapes, in batches of the shapes the run's will have
    (a few whole ones and the same last part), predict likewise, then forget it: the run's own fit then reuses the
    traced and compiled steps, whatever the dataset's size."""
    import numpy as np

    from genre.learn.model import build_model

    shape, classes, batch = tuple(hint["input_shape"]), int(hint["classes"]), int(hint["batch_size"])
    config = ModelConfig.from_dict(hint["model"])
    standardization = (np.zeros(shape[-1], np.float32), np.ones(shape[-1], np.float32)) if config.standardize else None
    def rows(n: int, per_batch: int) -> int:  # the same batch shapes (whole ones, and the last part), few batches
        return n % per_batch + per_batch * min(n // per_batch, 2)

    keras.utils.set_random_seed(0)
    model = build_model(shape, classes, config, standardization=standardization)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((rows(int(hint["rows"]), batch), *shape)).astype(np.float32)
    xv = rng.standard_normal((rows(int(hint["val_rows"]), batch), *shape)).astype(np.float32)
    model.fit(x, rng.integers(0, classes, len(x)), validation_data=(xv, rng.integers(0, classes, len(xv))), epochs=1,
              batch_size=batch, verbose=0, shuffle=True)
    model.predict(rng.standard_normal((rows(int(hint["test_rows"]), 1024), *shape)).astype(np.float32),
                  batch_size=1024, verbose=0)
    keras.backend.clear_session()


def _warm_up(keras) -> None:
    """Seed, build, fit and predict a tiny network once: what the first model of a process pays (~1 s with
    TensorFlow, ~2 s with JAX), and import what a run needs."""
    import numpy as np
    import sklearn.metrics  # noqa: F401  (the split and the scores: ~1.5 s of imports, paid now, not after Start)
    import sklearn.model_selection  # noqa: F401

    from genre.data.store import load_features  # noqa: F401
    from genre.learn.augment import training_copies  # noqa: F401
    from genre.learn.config import ModelConfig
    from genre.learn.model import build_model
    from genre.learn.training import train  # noqa: F401

    keras.utils.set_random_seed(0)  # its first call costs 1.7 s under JAX (the backend's random state): paid now
    model = build_model((4, 3), 2, ModelConfig(hidden_units=(4,)))
    x, y = np.zeros((8, 4, 3), np.float32), np.zeros(8, np.int64)
    model.fit(x, y, epochs=1, batch_size=4, verbose=0, validation_data=(x, y))
    model.predict(x, verbose=0)
    keras.backend.clear_session()


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
    record_exit(run, code)
    return code


def record_exit(run: Run, code: int) -> None:
    """Record how the training process of ``run`` ended: its exit code, and a failure with the reason when it ended
    before the run did (killed, out of memory). A record deleted meanwhile is not made anew."""
    st = run.raw_status()
    with contextlib.suppress(RecordGone):
        if st.get("state") in FINAL_STATES:
            run._update_status(exit_code=code)
        else:
            run._update_status(state="failed", finished=time.time(), exit_code=code, message=describe_exit(code))
